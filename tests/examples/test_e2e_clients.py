"""End to end: the demo's two domains against real clients (smtplib, poplib, imaplib, curl).

Every test starts the demo configuration on free loopback ports in a thread
and talks to it exactly as a mail client would; message bytes are compared
octet for octet with what was sent.
"""

from __future__ import annotations

import email
import imaplib
import poplib
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest

from mailserver.cli import EVENT_LOOPS
from tests.conftest import require_program
from tests.examples.test_e2e_support import (
    PASSWORDS,
    A,
    B,
    ServerThread,
    demo_config,
    maildir_files,
    recv_until,
    unverified,
    wait_for,
)

PEPE, MANOLO = "pepe@iesfbmoll.example", "manolo@correo.example"


def _message(subject: str, body: bytes = b"Hola Manolo,\r\n.una linea con punto\r\n") -> bytes:
    return (
        f"From: Pepe <{PEPE}>\r\nTo: Manolo <{MANOLO}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@iesfbmoll.example>\r\n\r\n"
    ).encode() + body


@pytest.fixture(scope="module", params=EVENT_LOOPS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    """The demo, once on each event loop the server supports (asyncio's, uvloop's).

    Everything below runs on both: the server is written against asyncio's
    interfaces only, and uvloop's transports are not asyncio's classes.
    """
    text, _ = demo_config(retry_base=1)
    with ServerThread(text, tmp_path_factory.mktemp("demo"), event_loop=request.param) as server:
        yield server


def _submit(server: ServerThread, host: str, user: str, rcpts: list[str], msg: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", server.port(host, "submission"), timeout=10) as s:
        s.starttls(context=unverified())
        s.login(user, PASSWORDS[user])
        refused = s.sendmail(user, rcpts, msg)
        assert refused == {}


def _pop3_messages(server: ServerThread, host: str, user: str) -> list[bytes]:
    p = poplib.POP3("127.0.0.1", server.port(host, "pop3"), timeout=10)
    try:
        p.stls(context=unverified())
        p.user(user)
        p.pass_(PASSWORDS[user])
        count, _ = p.stat()
        return [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(count)]
    finally:
        p.quit()


def _stored(server: ServerThread, host: str, user: str, folder: str = "") -> list[bytes]:
    # What the server's sessions see, not the files in new/: a delivered file
    # is there a moment before its UID is (group commit), and a fetch by UID
    # right after seeing the file could miss it.
    return server.messages(host, user, folder or "INBOX")


def _first(data: list[Any]) -> bytes:
    """The first untagged datum imaplib returned, as bytes."""
    item = data[0]
    if isinstance(item, tuple):
        item = item[0]
    assert isinstance(item, bytes)
    return item


def _with_subject(messages: list[bytes], subject: str) -> list[bytes]:
    return [m for m in messages if f"Subject: {subject}\r\n".encode() in m]


def test_pepe_to_manolo_relayed_then_fetched_by_pop3_and_imap(demo: ServerThread) -> None:
    msg = _message("transmision")
    _submit(demo, A, PEPE, [MANOLO], msg)
    assert wait_for(lambda: bool(_with_subject(_stored(demo, B, MANOLO), "transmision")))
    # POP3 (STLS + USER/PASS): the message ends with exactly what pepe sent,
    # after the trace fields both MTAs prepended.
    got = _with_subject(_pop3_messages(demo, B, MANOLO), "transmision")
    assert len(got) == 1
    assert got[0].endswith(msg)
    head = got[0][: -len(msg)]
    assert head.startswith(f"Return-Path: <{PEPE}>\r\n".encode())
    assert head.count(b"Received: ") == 2  # submission on A, MX on B
    assert b"by mx.iesfbmoll.example with ESMTPSA" in head
    assert b"by mx.correo.example with ESMTP" in head
    # IMAP: the same octets through BODY[] (imaplib, STARTTLS, LOGIN).
    m = imaplib.IMAP4("127.0.0.1", demo.port(B, "imap"), timeout=10)
    m.starttls(unverified())
    m.login(MANOLO, PASSWORDS[MANOLO])
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", "transmision")
    assert typ == "OK"
    num = data[0].split()[0]
    typ, fetched = m.fetch(num, "(BODY.PEEK[] ENVELOPE)")
    assert typ == "OK"
    item = fetched[0]
    assert isinstance(item, tuple)
    assert item[1] == got[0]
    assert b'"transmision"' in item[0]
    m.logout()


def test_mx_port_relays_nothing_for_strangers(demo: ServerThread) -> None:
    with smtplib.SMTP("127.0.0.1", demo.port(A, "smtp"), timeout=10) as s:
        s.ehlo("stranger.example")
        assert s.mail("someone@stranger.example")[0] == 250
        code, text = s.rcpt("victim@elsewhere.example")
        assert (code, text[:5]) == (550, b"5.7.1")
        code, text = s.rcpt("manolo@correo.example")  # another server's domain
        assert code == 550
        code, text = s.rcpt("nobody@iesfbmoll.example")
        assert (code, text[:5]) == (550, b"5.1.1")
        assert s.rcpt("ana@iesfbmoll.example")[0] == 250
        assert not s.has_extn("auth")


def test_submission_requires_auth_and_own_sender(demo: ServerThread) -> None:
    with smtplib.SMTP("127.0.0.1", demo.port(A, "submission"), timeout=10) as s:
        s.ehlo()
        code, _ = s.mail(PEPE)
        assert code == 530
        s.starttls(context=unverified())
        s.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login(PEPE, "wrong password")
        s.login(PEPE, PASSWORDS[PEPE])
        code, _ = s.mail("ana@iesfbmoll.example")  # not pepe's address
        assert code == 553


def test_implicit_tls_submission_and_scram(demo: ServerThread) -> None:
    # smtplib prefers CRAM-MD5/PLAIN/LOGIN; drive SCRAM-SHA-256 by hand through
    # mailproto's client side of SASL over smtplib's docmd.
    import base64

    from mailproto import sasl

    with smtplib.SMTP_SSL(
        "127.0.0.1", demo.port(A, "smtps"), context=unverified(), timeout=10
    ) as s:
        s.ehlo()
        assert "SCRAM-SHA-256" in s.esmtp_features["auth"]
        mech = sasl.client_mechanism("SCRAM-SHA-256", username=PEPE, password=PASSWORDS[PEPE])
        first = mech.initial_response()
        assert first is not None
        code, resp = s.docmd("AUTH", "SCRAM-SHA-256 " + base64.b64encode(first).decode())
        while code == 334:
            challenge = base64.b64decode(resp)
            answer = mech.respond(challenge)
            code, resp = s.docmd(base64.b64encode(answer).decode())
        assert code == 235


def test_alias_list_with_itself_and_remote_member_one_copy_each(demo: ServerThread) -> None:
    msg = _message("lista")
    # profes@ = pepe, ana, manolo@correo.example (remote) and profes@ itself.
    # dudas@ is an alias of informacion@; informacion@ also named directly.
    _submit(
        demo,
        A,
        PEPE,
        ["profes@iesfbmoll.example", "dudas@iesfbmoll.example", "informacion@iesfbmoll.example"],
        msg,
    )
    for user in (
        "pepe@iesfbmoll.example",
        "ana@iesfbmoll.example",
        "informacion@iesfbmoll.example",
    ):
        got = _with_subject(_stored(demo, A, user), "lista")
        assert len(got) == 1, user
        assert got[0].endswith(msg)
    assert wait_for(lambda: len(_with_subject(_stored(demo, B, MANOLO), "lista")) == 1)
    time.sleep(0.3)
    assert len(_with_subject(_stored(demo, B, MANOLO), "lista")) == 1


def test_bounce_for_unknown_remote_user(demo: ServerThread) -> None:
    msg = _message("rebote")
    _submit(
        demo,
        A,
        "ana@iesfbmoll.example",
        ["nadie@correo.example"],
        msg.replace(PEPE.encode(), b"ana@iesfbmoll.example"),
    )

    def bounced() -> list[bytes]:
        return [
            m
            for m in _stored(demo, A, "ana@iesfbmoll.example")
            if b"multipart/report" in m and b"nadie@correo.example" in m
        ]

    assert wait_for(lambda: bool(bounced()))
    report = email.message_from_bytes(bounced()[0], policy=policy.default)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    parts = list(report.iter_parts())
    assert parts[1].get_content_type() == "message/delivery-status"
    assert b"Return-Path: <>" in bounced()[0]  # a DSN has the null sender


def test_pop3_lock_apop_uidl_top(demo: ServerThread) -> None:
    _submit(demo, A, PEPE, ["ana@iesfbmoll.example"], _message("pop"))
    port = demo.port(A, "pop3")
    first = poplib.POP3("127.0.0.1", port, timeout=10)
    first.apop("ana@iesfbmoll.example", PASSWORDS["ana@iesfbmoll.example"])
    second = poplib.POP3("127.0.0.1", port, timeout=10)
    with pytest.raises(poplib.error_proto) as refused:
        second.apop("ana@iesfbmoll.example", PASSWORDS["ana@iesfbmoll.example"])
    assert refused.value.args[0].startswith(b"-ERR [IN-USE]")
    second.quit()
    uidls = first.uidl()[1]
    assert uidls and all(len(u.split()) == 2 for u in uidls)
    top = first.top(1, 0)[1]
    assert b"" in top and not top[-1]  # headers and the empty separator line only
    first.quit()
    # After QUIT the lock is free again and UIDL values are stable.
    third = poplib.POP3("127.0.0.1", port, timeout=10)
    third.user("ana@iesfbmoll.example")
    third.pass_(PASSWORDS["ana@iesfbmoll.example"])
    assert third.uidl()[1] == uidls
    third.quit()


def test_imap_idle_is_woken_by_a_delivery(demo: ServerThread) -> None:
    sock = socket.create_connection(("127.0.0.1", demo.port(A, "imap")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(b'a LOGIN "pepe@iesfbmoll.example" "pepe-demo-1"\r\n')
        assert b"a OK" in recv_until(sock, b"a ")
        sock.sendall(b"b SELECT INBOX\r\n")
        selected = recv_until(sock, b"b OK")
        exists = int(selected.split(b" EXISTS")[0].rsplit(b"* ", 1)[1])
        sock.sendall(b"c IDLE\r\n")
        assert recv_until(sock, b"+ ").startswith(b"+ ")
        _submit(demo, A, PEPE, [PEPE], _message("idle"))
        pushed = recv_until(sock, b"EXISTS\r\n", timeout=10)
        assert f"* {exists + 1} EXISTS".encode() in pushed
        sock.sendall(b"DONE\r\n")
        assert b"c OK" in recv_until(sock, b"c OK")
    finally:
        sock.close()


def test_imap_uidplus_move_condstore_special_use(demo: ServerThread) -> None:
    _submit(demo, A, PEPE, ["ana@iesfbmoll.example"], _message("carpetas"))
    m = imaplib.IMAP4("127.0.0.1", demo.port(A, "imap"), timeout=10)
    m.login("ana@iesfbmoll.example", PASSWORDS["ana@iesfbmoll.example"])
    typ, listing = m.list()
    names = b"\n".join(x for x in listing if isinstance(x, bytes))
    for flag, name in ((b"\\Sent", b"Sent"), (b"\\Trash", b"Trash"), (b"\\Junk", b"Junk")):
        assert flag in names and name in names
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    typ, data = m.uid("SEARCH", "SUBJECT", "carpetas")
    uid = _first(data).split()[-1].decode()
    typ, data = m.uid("STORE", uid, "+FLAGS", "(\\Flagged)")
    assert typ == "OK" and b"\\Flagged" in _first(data)
    typ, data = m.uid("FETCH", uid, "(MODSEQ FLAGS)")
    assert b"MODSEQ" in _first(data)
    typ, data = m.uid("MOVE", uid, "Trash")
    assert typ == "OK"
    typ, data = m.uid("SEARCH", "SUBJECT", "carpetas")
    assert _first(data) == b""  # gone from INBOX
    typ, data = m.status("Trash", "(MESSAGES HIGHESTMODSEQ)")
    assert typ == "OK" and b"MESSAGES 1" in _first(data)
    typ, data = m.append("Sent", "(\\Seen)", None, b"Subject: sent\r\n\r\nbody\r\n")
    assert typ == "OK" and b"APPENDUID" in _first(data)
    m.logout()


def test_plaintext_login_refused_before_tls_when_configured(tmp_path: Path) -> None:
    text, _ = demo_config(
        extra=lambda t: t.replace(
            'allow_plaintext_auth = "loopback"', "allow_plaintext_auth = false"
        )
    )
    with ServerThread(text, tmp_path) as server:
        with smtplib.SMTP("127.0.0.1", server.port(A, "submission"), timeout=10) as s:
            s.ehlo()
            assert not s.has_extn("auth")
            s.starttls(context=unverified())
            s.ehlo()
            assert s.has_extn("auth")
            s.login(PEPE, PASSWORDS[PEPE])
        m = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=10)
        assert "LOGINDISABLED" in m.capabilities
        with pytest.raises(imaplib.IMAP4.error):
            m.login(PEPE, PASSWORDS[PEPE])
        m.starttls(unverified())
        assert m.login(PEPE, PASSWORDS[PEPE])[0] == "OK"
        m.logout()
        p = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=10)
        assert "USER" not in p.capa()
        # Refused at USER (as Dovecot does): the password is never sent.
        with pytest.raises(poplib.error_proto) as refused:
            p.user(PEPE)
        assert refused.value.args[0].startswith(b"-ERR [AUTH]")
        p.stls(context=unverified())
        assert p.user(PEPE).startswith(b"+OK")
        assert p.pass_(PASSWORDS[PEPE]).startswith(b"+OK")
        p.quit()


def test_retry_after_the_remote_mta_was_down(tmp_path: Path) -> None:
    text, mapping = demo_config(retry_base=1)
    # Start only the first domain; its route to correo.example points at a
    # port where nothing listens yet.
    first, second = text.split("[[server]]")[1:]
    with ServerThread("[[server]]" + first, tmp_path / "a") as a:
        _submit(a, A, PEPE, [MANOLO], _message("reintento"))
        relay = a.server.relays[A] if a.server else None
        assert relay is not None
        assert wait_for(lambda: any(e.attempts >= 1 for e in relay.queue.entries()), 10)
        with ServerThread("[[server]]" + second, tmp_path / "b") as b:
            root = tmp_path / "b" / "correo.example"
            assert wait_for(
                lambda: (
                    len(
                        _with_subject(
                            [p.read_bytes() for p in maildir_files(root, MANOLO)], "reintento"
                        )
                    )
                    == 1
                ),
                30,
            )
            assert b.port(B, "smtp") == mapping[3525]


def test_curl_smtp_pop3_imap(demo: ServerThread, tmp_path: Path) -> None:
    curl = require_program("curl", "apt-get install curl")
    msg = _message("curl", b"Enviado con curl\r\n")
    upload = tmp_path / "msg.eml"
    upload.write_bytes(msg)
    run = [curl, "-sS", "--max-time", "20"]
    subprocess.run(
        [
            *run,
            f"smtp://127.0.0.1:{demo.port(A, 'submission')}",
            "--mail-from",
            PEPE,
            "--mail-rcpt",
            "lucia@correo.example",
            "--user",
            f"{PEPE}:{PASSWORDS[PEPE]}",
            "--upload-file",
            str(upload),
        ],
        check=True,
    )
    lucia = "lucia@correo.example"
    assert wait_for(lambda: bool(_with_subject(_stored(demo, B, lucia), "curl")))
    stored = _with_subject(_stored(demo, B, lucia), "curl")[0]
    user = ["--user", f"{lucia}:{PASSWORDS[lucia]}"]
    imap = subprocess.run(
        [*run, *user, f"imap://127.0.0.1:{demo.port(B, 'imap')}/INBOX;UID=1"],
        check=True,
        capture_output=True,
    ).stdout
    assert imap == stored
    pop = subprocess.run(
        [*run, *user, f"pop3://127.0.0.1:{demo.port(B, 'pop3')}/1"],
        check=True,
        capture_output=True,
    ).stdout
    assert pop == stored
    assert stored.endswith(msg)


def test_imap_rev2_enable_id_namespace_compress(demo: ServerThread) -> None:
    import zlib

    sock = socket.create_connection(("127.0.0.1", demo.port(A, "imap")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(b'a LOGIN "pepe@iesfbmoll.example" "pepe-demo-1"\r\n')
        assert b"a OK" in recv_until(sock, b"a OK")
        sock.sendall(b"b ENABLE IMAP4rev2 CONDSTORE\r\n")
        enabled = recv_until(sock, b"b OK")
        assert b"* ENABLED IMAP4rev2 CONDSTORE" in enabled
        sock.sendall(b"c SELECT INBOX\r\n")
        selected = recv_until(sock, b"c OK")
        assert b" RECENT" not in selected  # gone in IMAP4rev2 (RFC 9051 App. E)
        assert b"[HIGHESTMODSEQ " in selected and b"[UIDVALIDITY " in selected
        sock.sendall(b'd ID ("name" "test")\r\ne NAMESPACE\r\n')
        answers = recv_until(sock, b"e OK")
        assert b'* ID ("name" "mailproto-mailserver"' in answers
        assert b'* NAMESPACE (("" ".")) NIL NIL' in answers
        sock.sendall(b"f COMPRESS DEFLATE\r\n")
        assert b"f OK" in recv_until(sock, b"f OK")
        deflate = zlib.compressobj(wbits=-15)
        inflate = zlib.decompressobj(wbits=-15)
        sock.sendall(deflate.compress(b"g NOOP\r\n") + deflate.flush(zlib.Z_SYNC_FLUSH))
        out = b""
        while b"g OK" not in out:
            chunk = sock.recv(65536)
            assert chunk
            out += inflate.decompress(chunk)
    finally:
        sock.close()


def test_pop3_lock_is_coordinated_with_imap_expunge(demo: ServerThread) -> None:
    user = "informacion@iesfbmoll.example"
    _submit(demo, A, PEPE, [user], _message("bloqueo"))
    pop = poplib.POP3("127.0.0.1", demo.port(A, "pop3"), timeout=10)
    pop.user(user)
    pop.pass_(PASSWORDS[user])  # holds the maildrop lock (RFC 1939 §8)
    m = imaplib.IMAP4("127.0.0.1", demo.port(A, "imap"), timeout=10)
    try:
        m.login(user, PASSWORDS[user])
        m.select("INBOX")
        typ, data = m.uid("SEARCH", "SUBJECT", "bloqueo")
        uid = _first(data).split()[-1].decode()
        assert m.uid("STORE", uid, "+FLAGS", "(\\Deleted)")[0] == "OK"
        typ, data = m.expunge()
        assert typ == "NO" and b"[INUSE]" in _first(data)
        pop.quit()  # releases the lock, deletes nothing
        typ, data = m.expunge()
        assert typ == "OK"
        typ, data = m.uid("SEARCH", "SUBJECT", "bloqueo")
        assert _first(data) == b""
    finally:
        m.logout()


def test_implicit_tls_imaps_pop3s_and_imap_scram(demo: ServerThread) -> None:
    from mailproto import sasl

    m = imaplib.IMAP4_SSL("127.0.0.1", demo.port(B, "imaps"), ssl_context=unverified())
    mech = sasl.client_mechanism("SCRAM-SHA-256", username=MANOLO, password=PASSWORDS[MANOLO])
    first = mech.initial_response()
    state = {"first": True}

    def respond(challenge: bytes) -> bytes:
        if state["first"]:
            state["first"] = False
            assert first is not None
            return first
        return mech.respond(challenge)

    typ, _ = m.authenticate("SCRAM-SHA-256", respond)
    assert typ == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    p = poplib.POP3_SSL("127.0.0.1", demo.port(B, "pop3s"), context=unverified(), timeout=10)
    p.user(MANOLO)
    assert p.pass_(PASSWORDS[MANOLO]).startswith(b"+OK")
    p.quit()
