"""Defects found reviewing session 7's changes (each test failed before its fix).

Kept apart from the modules' own test files so that the review's findings
stay together: the pump's stall detection (``Link.drain``), the IMAP
server connection's literal approval (``LiteralRequest``), and the
reference server's literal budget.
"""

from __future__ import annotations

import asyncio
import imaplib
import re
import smtplib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailserver.cli import EVENT_LOOPS
from mailserver.maildir import Store
from mailserver.pump import WRITE_PIECE, Link
from tests.examples.test_e2e_support import (
    PASSWORDS,
    PEPE,
    A,
    ServerThread,
    demo_config,
    recv_until,
    unverified,
    wait_for,
)
from tests.examples.test_pump import FakeTransport, Session, start_unread
from tests.examples.test_store_dovecot import _chown_tree
from tests.interop.dovecot import DovecotServer, dovecot_fixture

#: Larger than the kernel's socket buffers on both sides (tcp_wmem's 4 MiB).
BIG = 12 * 1024 * 1024
MSG_EAST = b"From: a@example.org\r\nSubject: east\r\n\r\nbody\r\n"
MSG_WEST = b"From: b@example.org\r\nSubject: west\r\n\r\nbody\r\n"


def test_a_stalled_reader_is_cut_off_even_when_woken_meanwhile() -> None:
    """``Link.drain`` measured stalling per wake-up: any wake-up restarted the
    idle timeout.  A peer that reads nothing but sends a byte now and then
    (or whose mailbox gets mail: ``Link.notify``) was never cut off."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        link, transport, task = await start_unread(Session())  # never read
        for _ in range(40):  # 2 s of wake-ups, faster than the idle timeout
            if task.done():
                break
            await asyncio.sleep(0.05)
            link.notify()
        assert task.done(), "the stalled peer was never cut off"
        assert 0.15 <= loop.time() - t0 < 1.5
        assert transport.aborted and link.stalled

    asyncio.run(main())


def test_a_slow_reader_woken_meanwhile_is_not_cut_off() -> None:
    async def main() -> None:
        link, transport, task = await start_unread(Session())
        for _ in range(12):  # 0.6 s, three idle timeouts, reading all along
            await asyncio.sleep(0.05)
            transport.buffered -= 10_000
            link.notify()
        assert not task.done() and not transport.aborted and not link.stalled
        link.resume_writing()
        link.data_received(b"QUIT\r\n")
        await asyncio.wait_for(task, 2)

    asyncio.run(main())


class PausingTransport(FakeTransport):
    """Pauses the link's writing once a write leaves more than a piece buffered."""

    #: The peer reads everything at once from now on.
    fast_peer = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        super().write(data)
        self.buffered += len(data)
        if self.buffered > WRITE_PIECE and not self.fast_peer:
            self.link.pause_writing()


def test_a_large_write_reaches_the_transport_in_pieces_with_flow_control() -> None:
    """``Link.write`` gave the transport a whole large answer at once.  Over
    TLS that is all encrypted into the socket transport's buffer while the
    latter is not paused, so ``Link.drain`` (which sees only the TLS layer)
    saw no progress until the peer had read the whole message: a client
    reading a large FETCH steadily but slowly was cut off as stalled (two
    4 MiB messages over TLS read at 0.5 MB/s, stall timeout 3 s: cut off
    after 3.8 MB before, complete after)."""

    async def main() -> None:
        link = Link()
        transport = PausingTransport(link)
        link.connection_made(transport)
        data = bytes(range(256)) * ((3 * WRITE_PIECE + 1000) // 256)
        writer = asyncio.get_running_loop().create_task(link.write(data))
        await asyncio.sleep(0.01)
        # Two pieces went (the second one paused the link); the rest waits.
        assert [len(w) for w in transport.writes] == [WRITE_PIECE, WRITE_PIECE]
        assert not writer.done()
        transport.buffered = 0  # the peer read it all, and reads on
        transport.fast_peer = True
        link.resume_writing()
        await asyncio.wait_for(writer, 2)
        assert max(len(w) for w in transport.writes) <= WRITE_PIECE
        assert b"".join(transport.writes) == data

    asyncio.run(main())


# -- a FETCH reader that stalls holds others' room: the literal stall timeout --------


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config()
    with ServerThread(text, tmp_path_factory.mktemp("review_fetch")) as s:
        body = b"".join(b"line %08d of a large message\r\n" % i for i in range(BIG // 32))
        with smtplib.SMTP("127.0.0.1", s.port(A, "smtp"), timeout=30) as c:
            c.sendmail("x@example.org", [PEPE], b"Subject: big\r\n\r\n" + body)
        yield s


def test_a_fetch_reader_that_stalls_is_cut_off_after_the_literal_stall_timeout(
    big_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large FETCH answer counts in the literal budget until the client has
    taken it (``cmd_fetch``), as an APPEND's literal does until it is read.  A
    client stalled in a literal is logged out after ``LITERAL_STALL_TIMEOUT``
    because it keeps others waiting for room; one that stops reading a large
    FETCH answer kept its room for the whole idle timeout (30 minutes)."""
    import mailserver.imap_service as imap_service

    monkeypatch.setattr(imap_service, "LITERAL_STALL_TIMEOUT", 0.5)
    assert big_server.server is not None
    budget = big_server.server.sites[A].literal_budget
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(("127.0.0.1", big_server.port(A, "imap")))
    try:
        recv_until(s, b"\r\n")
        s.sendall(f'l LOGIN {PEPE} "{PASSWORDS[PEPE]}"\r\ns SELECT INBOX\r\n'.encode())
        recv_until(s, b"s OK")
        s.sendall(b"f FETCH 1 BODY.PEEK[]\r\n")
        assert wait_for(lambda: budget.in_use > 0, 10)
        # Read nothing: the room comes back within seconds (the stall
        # timeout), not after the 30 idle minutes.
        assert wait_for(lambda: budget.in_use == 0, 8), budget.in_use
    finally:
        s.close()


# -- the ,Z= file-name field and Dovecot ----------------------------------------------

dovecot = dovecot_fixture(scope="module")


@pytest.mark.interop
def test_dovecot_serves_messages_with_a_zone_field_and_keeps_it(dovecot: DovecotServer) -> None:
    """Dovecot parses ``,S=`` and ``,W=`` of a base name and skips other
    fields; a ``,Z=+HHMM`` / ``,Z=-HHMM`` field (``+`` and ``-`` in the base
    name) must neither break its size parsing nor be lost when Dovecot
    renames the file for a flag change."""
    user = sorted(dovecot.users)[0]
    store = Store(dovecot.runtime_dir / "mail")
    folder = store.mailbox(user).folder("INBOX")
    east = folder.append(MSG_EAST, internaldate=1_700_000_000, offset=120)
    west = folder.append(MSG_WEST, internaldate=1_700_000_000, offset=-330)
    names = [p.name for d in ("new", "cur") for p in (folder.path / d).iterdir()]
    assert any(",Z=+0200" in n for n in names) and any(",Z=-0530" in n for n in names), names
    _chown_tree(dovecot, store.mailbox(user).path)
    imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    try:
        imap.login(user, dovecot.users[user])
        typ, _ = imap.select("INBOX")
        assert typ == "OK"
        typ, data = imap.fetch("1:*", "(RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK", data
        items = [x for x in data if isinstance(x, tuple)]
        assert [body for _, body in items] == [MSG_EAST, MSG_WEST]
        sizes = [int(re.search(rb"RFC822.SIZE (\d+)", head)[1]) for head, _ in items]  # type: ignore[index]
        assert sizes == [len(MSG_EAST), len(MSG_WEST)]
        typ, _ = imap.store("1:*", "+FLAGS", "(\\Seen)")
        assert typ == "OK"
        imap.logout()
    except BaseException:
        print(dovecot.log_text()[-3000:])
        raise
    # Dovecot renamed both files (the flag): our zones are still there.
    again = Store(dovecot.runtime_dir / "mail").mailbox(user).folder("INBOX")
    infos = [again.get(u) for u in (east, west)]
    assert [i.internaldate_offset for i in infos if i is not None] == [120, -330]
    assert all(i is not None and "\\Seen" in i.flags for i in infos)


@pytest.mark.slow
@pytest.mark.parametrize("event_loop", EVENT_LOOPS)
def test_a_slow_tls_reader_of_a_large_fetch_is_not_cut_off(
    event_loop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end over implicit TLS, both event loops: a client that reads two
    6 MiB messages steadily at about 1 MB/s gets all of them although the
    stall timeout (shortened to 4 s) is shorter than reading one message
    takes (6 s).  Before ``Link.write`` wrote in pieces it was cut off after
    the first message (the TLS layer showed no progress until then).  (4 s,
    not less: the kernel reports progress in steps of up to about 1 MB, and
    a loaded machine may pause this reader.)"""
    import mailserver.imap_service as imap_service

    monkeypatch.setattr(imap_service, "LITERAL_STALL_TIMEOUT", 4.0)
    size = 6 * 1024 * 1024
    text, _ = demo_config()
    with ServerThread(text, tmp_path, event_loop=event_loop) as server:
        body = b"".join(b"line %08d of a large message\r\n" % i for i in range(size // 32))
        with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=30) as c:
            for _ in range(2):
                c.sendmail("x@example.org", [PEPE], b"Subject: big\r\n\r\n" + body)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port(A, "imaps")))
        s = unverified().wrap_socket(raw, server_hostname="localhost")
        try:
            s.settimeout(20)
            recv_until(s, b"\r\n")
            s.sendall(f'l LOGIN {PEPE} "{PASSWORDS[PEPE]}"\r\ns SELECT INBOX\r\n'.encode())
            recv_until(s, b"s OK")
            s.sendall(b"f FETCH 1:2 BODY.PEEK[]\r\n")
            received, tail = 0, b""
            while b"f OK" not in tail:
                data = s.recv(16384)
                assert data, f"cut off after {received} octets"
                received += len(data)
                tail = (tail + data)[-64:]
                time.sleep(0.015)  # at most 16 KiB per 15 ms: about 1 MB/s
        finally:
            s.close()
    assert received > 2 * size


# -- DSN at intake: a list is "expanded" -----------------------------------------------


def _list_mda(tmp_path: Path) -> tuple[object, list[object]]:
    from mailserver.directory import Directory, make_account
    from mailserver.mda import MDA
    from mailserver.queue import Queue

    directory = Directory(
        domains=["a.example"],
        accounts=[make_account("ann@a.example", "pw"), make_account("bob@a.example", "pw")],
        lists={
            "mixed@a.example": ["ann@a.example", "bob@a.example", "carl@b.example"],
            "away@a.example": ["carl@b.example", "dora@b.example"],
            "one@a.example": ["carl@b.example"],
            "solo@a.example": ["ann@a.example"],
        },
    )
    mda = MDA(
        Store(tmp_path / "mail"), directory, queue=Queue(tmp_path / "queue"), use_executor=False
    )
    calls: list[object] = []

    async def hook(*args: object) -> None:
        calls.append(args[1])

    mda.on_success_dsn = hook
    return mda, calls


@pytest.mark.parametrize(
    ("rcpt", "action"),
    [
        ("ann@a.example", "delivered"),
        # RFC 3464 §2.3.3: "expanded" — delivered to the address the sender
        # gave and forwarded from there to several others; the members get
        # no NOTIFY of their own (they carry none, RFC 3461).  It said
        # "delivered" for a list with a local member, and nothing at all for
        # a list whose members are all remote (the sender asked for a notice
        # and never got one).
        ("mixed@a.example", "expanded"),
        ("away@a.example", "expanded"),
        ("one@a.example", "expanded"),
        # A list of one local member is still a list (RFC 3461 §6.2.7.2);
        # it said "delivered", as for the member's own address.
        ("solo@a.example", "expanded"),
        ("Ann@A.example", "delivered"),
    ],
)
def test_a_success_notice_for_a_list_says_expanded(tmp_path: Path, rcpt: str, action: str) -> None:
    from mailproto import smtp
    from mailserver.mda import MDA, DsnRequest

    mda, calls = _list_mda(tmp_path)
    assert isinstance(mda, MDA)
    dsn = DsnRequest(notify={rcpt: frozenset({smtp.NotifyCondition.SUCCESS})})
    results = asyncio.run(mda.deliver("s@c.example", [rcpt], b"Subject: x\r\n\r\nx\r\n", dsn=dsn))
    assert [r.ok for r in results] == [True]
    assert calls == [[(rcpt, action)]]


def test_a_remote_recipient_is_left_to_the_relay(tmp_path: Path) -> None:
    from mailproto import smtp
    from mailserver.mda import MDA, DsnRequest

    mda, calls = _list_mda(tmp_path)
    assert isinstance(mda, MDA)
    dsn = DsnRequest(notify={"Carl@b.example": frozenset({smtp.NotifyCondition.SUCCESS})})
    results = asyncio.run(mda.deliver("s@c.example", ["Carl@b.example"], b"x\r\n", dsn=dsn))
    assert [r.ok for r in results] == [True]
    assert calls == []  # queued with its NOTIFY: "relayed" or the next hop's notice


def test_a_list_asked_notify_never_gets_no_notice(tmp_path: Path) -> None:
    from mailserver.mda import MDA, DsnRequest

    mda, calls = _list_mda(tmp_path)
    assert isinstance(mda, MDA)
    dsn = DsnRequest(notify={"away@a.example": frozenset()})  # NOTIFY=NEVER
    asyncio.run(mda.deliver("s@c.example", ["away@a.example"], b"x\r\n", dsn=dsn))
    assert calls == []


def test_the_notice_for_a_list_reports_action_expanded_end_to_end(tmp_path: Path) -> None:
    text, _ = demo_config()
    with ServerThread(text, tmp_path) as server:
        subject = "review-list-expanded"
        msg = f"From: {PEPE}\r\nTo: profes@iesfbmoll.example\r\nSubject: {subject}\r\n\r\nx\r\n"
        with smtplib.SMTP("127.0.0.1", server.port(A, "submission"), timeout=20) as client:
            client.login(PEPE, PASSWORDS[PEPE])
            client.sendmail(
                PEPE, ["profes@iesfbmoll.example"], msg, rcpt_options=["NOTIFY=SUCCESS"]
            )
        marker = f"Subject: {subject}\r\n".encode()

        def notices() -> list[bytes]:
            return [m for m in server.messages(A, PEPE) if marker in m and b"multipart/report" in m]

        assert wait_for(lambda: len(notices()) == 1)
        (notice,) = notices()
        assert b"Action: expanded" in notice
        assert b"Subject: Successful Mail Delivery Report" in notice
        assert b"passed it on" in notice
        assert b"Final-Recipient: rfc822; profes@iesfbmoll.example" in notice


# -- budget accounting: paths the module's own tests do not take ------------------------


@pytest.fixture(scope="module")
def budget_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config(
        extra=lambda t: t.replace(
            "[server.ports]",
            "[server.limits]\nmax_message_size = 100000\nliteral_memory = 150000\n\n[server.ports]",
            1,
        )
    )
    with ServerThread(text, tmp_path_factory.mktemp("review_budget")) as s:
        yield s


def _login(server: ServerThread) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=20)
    recv_until(s, b"\r\n")
    s.sendall(f'l LOGIN {PEPE} "{PASSWORDS[PEPE]}"\r\n'.encode())
    recv_until(s, b"l OK")
    return s


@pytest.mark.parametrize(
    "after",
    [
        b" (\\Seen\r\n",  # the command is malformed after its literal: BAD
        b"\r\n",  # well formed, but the mailbox does not exist: NO [TRYCREATE]
    ],
)
def test_room_of_an_approved_literal_comes_back_whatever_the_answer(
    budget_server: ServerThread, after: bytes
) -> None:
    assert budget_server.server is not None
    budget = budget_server.server.sites[A].literal_budget
    s = _login(budget_server)
    try:
        mailbox = b"INBOX" if after != b"\r\n" else b"Nowhere"
        s.sendall(b"a APPEND " + mailbox + b" {90000}\r\n")
        assert recv_until(s, b"\r\n").startswith(b"+")
        s.sendall(b"x" * 90_000)
        assert wait_for(lambda: budget.in_use == 90_000)
        s.sendall(after)
        answer = recv_until(s, b"\r\n")
        assert answer.startswith((b"a BAD", b"a NO")), answer
        assert wait_for(lambda: budget.in_use == 0), budget.in_use
        s.sendall(b"n NOOP\r\n")
        assert b"n OK" in recv_until(s, b"n OK")
    finally:
        s.close()
    assert wait_for(lambda: budget.in_use == 0)
