"""The trio IMAP server example, under ``trio.run``, against imaplib and our client.

imaplib is blocking, so each client session runs in a worker thread
(``trio.to_thread.run_sync``) while trio serves on the main thread.
"""

from __future__ import annotations

import asyncio
import imaplib
import socket
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
import trio  # type: ignore[import-untyped,unused-ignore]
from transports.asyncio_imap_idle import wait_for_mail
from transports.blocking_imap_client import fetch_mailbox
from transports.imap_inbox import Inboxes
from transports.trio_imap_server import serve

from tests.transports.conftest import HOST

T = TypeVar("T")

MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: hello over trio\r\n"
    b"Date: Tue, 1 Oct 2024 10:00:00 +0000\r\n"
    b"Message-ID: <t1@example.org>\r\n"
    b"\r\n"
    b"first line\r\n"
    b"second line\r\n"
)
MULTIPART = (
    b"Subject: two parts\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n'
    b"\r\n"
    b"--b\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
    b"--b\r\nContent-Type: text/html\r\n\r\n<p>two</p>\r\n"
    b"--b--\r\n"
)


def _store() -> Inboxes:
    store = Inboxes(users={"alice": "wonder land", "bob": "builder"})
    store.add("alice", MESSAGE)
    store.add("alice", MULTIPART, flags=("\\Flagged",))
    return store


def _with_server(
    store: Inboxes, client: Callable[[int], T], tls: ssl.SSLContext | None = None
) -> T:
    """Serve *store* under trio; run ``client(port)`` in a thread; return its result."""
    result: list[T] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: serve(store, tls=tls, task_status=task_status)
            )
            result.append(await trio.to_thread.run_sync(client, port))
            nursery.cancel_scope.cancel()

    trio.run(main)
    return result[0]


def test_imaplib_session() -> None:
    store = _store()

    def client(port: int) -> None:
        imap: Any = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        assert {"IMAP4REV1", "UNSELECT", "AUTH=PLAIN"} <= set(imap.capabilities)
        assert "STARTTLS" not in imap.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("alice", "wrong")
        assert imap.login("alice", "wonder land")[0] == "OK"
        typ, boxes = imap.list()
        assert typ == "OK" and boxes == [b'() "/" INBOX']
        typ, data = imap.status("INBOX", "(MESSAGES UNSEEN)")
        assert data == [b"INBOX (MESSAGES 2 UNSEEN 2)"]
        typ, data = imap.select("INBOX")
        assert typ == "OK" and data == [b"2"]
        typ, data = imap.fetch("1", "(UID RFC822.SIZE ENVELOPE BODY.PEEK[])")
        head, body = data[0]
        assert body == MESSAGE
        assert b"UID 1" in head and b"RFC822.SIZE %d" % len(MESSAGE) in head
        assert b'"hello over trio"' in head and b'(("Alice" NIL "alice" "example.org"))' in head
        typ, data = imap.fetch("2", "(BODYSTRUCTURE BODY[2] FLAGS)")
        head, body = data[0]
        assert body == b"<p>two</p>"
        assert b'("text" "html"' in head and b'"mixed"' in head
        assert b"\\Seen" in data[1] or b"\\Seen" in head  # BODY[2] (not PEEK) set \Seen
        typ, data = imap.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1] == b"Subject: hello over trio\r\n\r\n"
        typ, data = imap.uid("FETCH", "2", "(RFC822.HEADER)")
        assert data[0][1].startswith(b"Subject: two parts\r\n")
        assert imap.search(None, "ALL") == ("OK", [b"1 2"])
        # BODY[2] and BODY[HEADER.FIELDS ...] (not PEEK) set \\Seen on both.
        assert imap.search(None, "UNSEEN") == ("OK", [b""])
        assert imap.search(None, "FLAGGED") == ("OK", [b"2"])
        assert imap.search(None, 'SUBJECT "OVER TRIO"') == ("OK", [b"1"])
        assert imap.search(None, "OR FROM alice LARGER 100000") == ("OK", [b"1"])
        assert imap.search(None, "NOT FLAGGED SMALLER 1000") == ("OK", [b"1"])
        assert imap.search(None, 'HEADER Content-Type "multipart"') == ("OK", [b"2"])
        assert imap.uid("SEARCH", "UID 2:*") == ("OK", [b"2"])
        assert imap.search(None, "SINCE 1-Jan-2020")[0] == "NO"  # refused, not ignored
        assert imap.search("ISO-8859-1", "ALL")[0] == "NO"  # [BADCHARSET]
        typ, data = imap.store("1", "+FLAGS", "(\\Deleted)")
        assert typ == "OK" and b"\\Deleted" in data[0]
        typ, data = imap.expunge()
        assert typ == "OK" and data == [b"1"]
        typ, data = imap.fetch("1", "(UID)")
        assert data == [b"1 (UID 2)"]
        imap.close()
        assert imap.logout()[0] == "BYE"

    _with_server(store, client)
    assert [m.uid for m in store.boxes["alice"]] == [2]
    assert store.boxes["alice"][0].flags == {"\\Flagged", "\\Seen"}


def test_imaplib_examine_is_read_only_and_authenticate_plain() -> None:
    store = _store()

    def client(port: int) -> None:
        imap: Any = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        typ, _ = imap.authenticate("PLAIN", lambda _challenge: b"\0alice\0wonder land")
        assert typ == "OK" and imap.state == "AUTH"
        typ, _ = imap.select("INBOX", readonly=True)
        assert typ == "OK"
        typ, data = imap.fetch("1", "(BODY[TEXT])")
        assert data[0][1] == b"first line\r\nsecond line\r\n"
        typ, _ = imap.store("1", "+FLAGS", "(\\Deleted)")
        assert typ == "NO"
        assert imap.select("Other")[0] == "NO"
        imap.logout()

    _with_server(store, client)
    assert all("\\Seen" not in m.flags for m in store.boxes["alice"][:1])


def test_imaplib_starttls(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
    store = _store()

    def client(port: int) -> list[bytes]:
        imap: Any = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        assert {"STARTTLS", "LOGINDISABLED"} <= set(imap.capabilities)
        assert "AUTH=PLAIN" not in imap.capabilities  # RFC 9051 §6.2.3
        with pytest.raises(imaplib.IMAP4.error):
            imap.login("alice", "wonder land")  # refused before TLS
        imap.starttls(ssl_context=client_ctx)
        assert "LOGINDISABLED" not in imap.capabilities
        assert imap.login("alice", "wonder land")[0] == "OK"
        imap.select("INBOX")
        _typ, data = imap.fetch("1:*", "(RFC822)")
        imap.logout()
        return [item[1] for item in data if isinstance(item, tuple)]

    assert _with_server(store, client, server_ctx) == [MESSAGE, MULTIPART]


def test_blocking_client_against_trio_server(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    store = _store()
    got = _with_server(
        store,
        lambda port: fetch_mailbox(
            "127.0.0.1",
            port,
            "alice",
            "wonder land",
            tls=client_ctx,
            server_hostname=HOST,
        ),
        server_ctx,
    )
    assert [(m.uid, m.data) for m in got] == [(1, MESSAGE), (2, MULTIPART)]
    assert got[1].flags == ("\\Flagged",)
    assert all(m.flags == {"\\Flagged"} or not m.flags for m in store.boxes["alice"])  # PEEK


def test_blocking_client_refuses_clear_text_login(client_ctx: ssl.SSLContext) -> None:
    # The server offers no STARTTLS: the client must not send the password.
    def client(port: int) -> str:
        try:
            fetch_mailbox("127.0.0.1", port, "alice", "wonder land", tls=client_ctx)
        except ConnectionError as exc:
            return str(exc)
        return "logged in"

    assert _with_server(_store(), client) == "server does not offer STARTTLS"


def test_starttls_injection_is_not_executed(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # RFC 9051 §11.1: a LOGIN pipelined after STARTTLS in clear text must not
    # run after the handshake; if it did, the SELECT would succeed.
    def client(port: int) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
            reader = raw.makefile("rb")
            assert reader.readline().startswith(b"* OK")
            raw.sendall(b'a STARTTLS\r\nb LOGIN alice "wonder land"\r\n')
            assert reader.readline().startswith(b"a OK")
            with client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls_reader = tls.makefile("rb")
                tls.sendall(b"c SELECT INBOX\r\nd LOGOUT\r\n")
                return [line for line in iter(tls_reader.readline, b"")]

    lines = _with_server(_store(), client, server_ctx)
    assert lines[0].startswith(b"c BAD")  # not authenticated: the LOGIN was dropped
    assert lines[-1].startswith(b"d OK")


def test_pipelined_commands_behind_a_barrier_are_answered() -> None:
    # LOGIN and SELECT change the state, so the connection holds the commands
    # behind them until they are answered; the server loop must drain again
    # after answering (answer_all) or the pipelined FETCH would never run.
    def client(port: int) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            reader = sock.makefile("rb")
            assert reader.readline().startswith(b"* OK")
            sock.sendall(
                b'a LOGIN alice "wonder land"\r\nb SELECT INBOX\r\n'
                b"c FETCH 1:* (UID FLAGS)\r\nd LOGOUT\r\n"
            )
            return list(iter(reader.readline, b""))

    lines = _with_server(_store(), client)
    tagged = [line.split(b" ", 2)[:2] for line in lines if not line.startswith(b"* ")]
    assert tagged == [[b"a", b"OK"], [b"b", b"OK"], [b"c", b"OK"], [b"d", b"OK"]]
    assert b"* 1 FETCH (UID 1 FLAGS ())\r\n" in lines
    assert b"* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n" in lines


def test_hostile_client_gets_bye_and_the_server_keeps_serving() -> None:
    # A line over IMAPLimits.line_length is a framing error: the connection
    # queues "* BYE", the loop sends it and closes; the listener lives on.
    def client(port: int) -> tuple[list[bytes], str]:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            reader = sock.makefile("rb")
            reader.readline()
            lines: list[bytes] = []
            try:
                sock.sendall(b"a NOOP " + b"x" * 100_000)
                lines.extend(iter(reader.readline, b""))
            except ConnectionResetError:
                # Closing with unread input makes the kernel send RST, which
                # may overtake the BYE: the close itself is what must happen.
                pass
        imap: Any = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        typ, _ = imap.login("alice", "wonder land")
        imap.logout()
        return lines, typ

    lines, typ = _with_server(_store(), client)
    assert all(line.startswith(b"* BYE") for line in lines) and len(lines) <= 1
    assert typ == "OK"


NEW_MAIL = b"Subject: pushed\r\n\r\nnew mail\r\n"


def test_idle_push_and_noop_poll_with_imaplib() -> None:
    store = _store()

    def client(port: int) -> None:
        imap: Any = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        assert "IDLE" in imap.capabilities
        imap.login("alice", "wonder land")
        imap.select("INBOX")
        tag = imap._new_tag()  # imaplib has no IDLE helper before 3.14: drive it by hand
        imap.send(tag + b" IDLE\r\n")
        assert imap.readline() == b"+ idling\r\n"
        # Deliver on trio's thread, as a real store would.
        trio.from_thread.run_sync(store.add, "alice", NEW_MAIL)
        assert imap.readline() == b"* 3 EXISTS\r\n"  # pushed while idling
        imap.send(b"DONE\r\n")
        assert imap.readline().startswith(tag + b" OK")
        _typ, data = imap.fetch("3", "(BODY.PEEK[])")
        assert data[0][1] == NEW_MAIL
        # Not idling: the next delivery waits for the client to poll.
        trio.from_thread.run_sync(store.add, "alice", NEW_MAIL)
        assert imap.noop()[0] == "OK"
        assert imap.response("EXISTS")[1][-1] == b"4"  # after SELECT's "2"
        imap.logout()

    _with_server(store, client)
    assert store.watchers == []  # the session unregistered itself


def test_asyncio_idle_client_against_trio_server(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # The asyncio IDLE example (written against Dovecot) against this server.
    store = _store()

    def client(port: int) -> int:
        async def deliver() -> None:
            trio.from_thread.run_sync(store.add, "alice", NEW_MAIL)

        return asyncio.run(
            asyncio.wait_for(
                wait_for_mail(
                    "127.0.0.1",
                    port,
                    "alice",
                    "wonder land",
                    tls=client_ctx,
                    server_hostname=HOST,
                    idling=deliver,
                ),
                60,
            )
        )

    assert _with_server(store, client, server_ctx) == 3
