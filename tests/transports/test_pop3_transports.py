"""The asyncio POP3 server example against Python's poplib and our client.

poplib (the peer a user meets) talks USER/PASS, plain and after STLS; our
blocking client does SASL PLAIN.  The server runs on its own event loop
thread, as a real server would.
"""

from __future__ import annotations

import poplib
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from transports.asyncio_pop3_server import start_server
from transports.pop3_maildrop import Maildrops
from transports.pump import Pump

from mailproto import sasl
from mailproto.pop3 import (
    Auth,
    ClientConnection,
    ErrResponse,
    Greeting,
    OkResponse,
    Quit,
    Stat,
    StatResponse,
)
from tests.transports.conftest import asyncio_server_thread

MESSAGES = [
    b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n..two dots\r\n",
    b"Subject: two\r\n\r\n" + (b"x" * 70 + b"\r\n") * 300 + b".\r\nafter a lone dot\r\n",
    b"Subject: three\r\n\r\nline1\r\nline2\r\nline3\r\n",
]
USERS = {"alice": "wonder land", "bob": "builder"}


def _drops() -> Maildrops:
    drops = Maildrops(users=dict(USERS))
    for message in MESSAGES:
        drops.add("alice", message)
    return drops


@pytest.fixture
def served(server_ctx: ssl.SSLContext) -> Iterator[tuple[int, Maildrops]]:
    drops = _drops()
    with asyncio_server_thread(lambda: start_server(drops, tls=server_ctx)) as (port, _loop):
        yield port, drops


def _retr(pop: poplib.POP3, n: int) -> bytes:
    _resp, lines, _octets = pop.retr(n)
    return b"".join(line + b"\r\n" for line in lines)


def _wait_unlocked(drops: Maildrops) -> None:
    deadline = time.monotonic() + 10
    while drops.locked and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not drops.locked


def test_poplib_plain_session(served: tuple[int, Maildrops]) -> None:
    port, drops = served
    pop = poplib.POP3("127.0.0.1", port, timeout=20)
    assert pop.getwelcome().startswith(b"+OK POP3 ready <")
    caps = pop.capa()
    assert {"USER", "UIDL", "TOP", "STLS", "PIPELINING"} <= set(caps)
    assert caps["SASL"] == ["PLAIN"]
    pop.user("alice")
    pop.pass_("wonder land")
    assert pop.stat() == (3, sum(len(m) for m in MESSAGES))
    _resp, listing, _ = pop.list()
    assert listing == [b"%d %d" % (i, len(m)) for i, m in enumerate(MESSAGES, 1)]
    _resp, uids, _ = pop.uidl()
    assert [u.split()[0] for u in uids] == [b"1", b"2", b"3"]
    assert len({u.split()[1] for u in uids}) == 3
    _resp, top, _ = pop.top(1, 1)
    assert top == [b"From: a@example.org", b"Subject: one", b"", b"Hello"]
    for n, message in enumerate(MESSAGES, 1):
        assert _retr(pop, n) == message
    pop.dele(2)
    with pytest.raises(poplib.error_proto) as info:
        pop.retr(2)
    assert info.value.args[0] == b"-ERR message is deleted"  # bytes: no match= under -bb
    pop.quit()
    assert [m.data for m in drops.boxes["alice"]] == [MESSAGES[0], MESSAGES[2]]
    _wait_unlocked(drops)


def test_poplib_stls(served: tuple[int, Maildrops], client_ctx: ssl.SSLContext) -> None:
    port, drops = served
    pop = poplib.POP3("127.0.0.1", port, timeout=20)
    pop.stls(client_ctx)  # verifies the trustme certificate (issued for 127.0.0.1 too)
    assert isinstance(pop.sock, ssl.SSLSocket)
    assert "STLS" not in pop.capa()  # RFC 2595 §4: not offered again
    pop.user("alice")
    pop.pass_("wonder land")
    assert _retr(pop, 1) == MESSAGES[0]
    pop.quit()
    assert len(drops.boxes["alice"]) == 3


def test_wrong_password_and_lock(served: tuple[int, Maildrops]) -> None:
    port, drops = served
    pop = poplib.POP3("127.0.0.1", port, timeout=20)
    pop.user("alice")
    with pytest.raises(poplib.error_proto) as info:
        pop.pass_("wrong")
    assert info.value.args[0].startswith(b"-ERR [AUTH] ")
    pop.user("alice")
    pop.pass_("wonder land")
    other = poplib.POP3("127.0.0.1", port, timeout=20)
    other.user("alice")
    with pytest.raises(poplib.error_proto) as info:
        other.pass_("wonder land")
    assert info.value.args[0].startswith(b"-ERR [IN-USE] ")
    other.quit()
    pop.quit()
    _wait_unlocked(drops)


def test_apop(served: tuple[int, Maildrops]) -> None:
    # The greeting carries a timestamp, so APOP must be answered (an
    # unanswered command would leave the client waiting forever).
    port, drops = served
    pop = poplib.POP3("127.0.0.1", port, timeout=20)
    with pytest.raises(poplib.error_proto) as info:
        pop.apop("alice", "wrong")
    assert info.value.args[0].startswith(b"-ERR [AUTH] ")
    pop.apop("alice", "wonder land")
    assert pop.stat()[0] == 3
    pop.quit()
    _wait_unlocked(drops)


def test_dropped_connection_deletes_nothing(served: tuple[int, Maildrops]) -> None:
    port, drops = served
    pop = poplib.POP3("127.0.0.1", port, timeout=20)
    pop.user("alice")
    pop.pass_("wonder land")
    pop.dele(1)
    pop.sock.shutdown(socket.SHUT_RDWR)
    pop.sock.close()
    _wait_unlocked(drops)  # the session saw the close and released the lock
    assert len(drops.boxes["alice"]) == 3


def _sasl_login(port: int, user: str, password: str) -> tuple[object, int | None]:
    """Our own blocking client: AUTH PLAIN, then STAT."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        pump = Pump(ClientConnection(), sock.recv, sock.sendall)
        assert isinstance(pump.next_event(), Greeting)
        mech = sasl.client_mechanism("PLAIN", username=user, password=password)
        pump.send(Auth(mechanism=mech))
        answer = pump.next_event()
        count = None
        if isinstance(answer, OkResponse):
            pump.send(Stat())
            stat = pump.next_event()
            assert isinstance(stat, StatResponse)
            count = stat.count
        pump.send(Quit())
        assert isinstance(pump.next_event(), OkResponse)
        return answer, count


def test_sasl_plain_with_our_client(served: tuple[int, Maildrops]) -> None:
    port, drops = served
    answer, count = _sasl_login(port, "alice", "wonder land")
    assert isinstance(answer, OkResponse) and count == 3
    answer, count = _sasl_login(port, "alice", "nope")
    assert isinstance(answer, ErrResponse) and count is None
    answer, count = _sasl_login(port, "bob", "builder")
    assert isinstance(answer, OkResponse) and count == 0
    _wait_unlocked(drops)


def test_maildrop_from_directory(tmp_path: Path) -> None:
    # Files with Unix line ends (as an MDA writes them) are served with CRLF,
    # and a message deleted at QUIT is removed from the directory.
    box = tmp_path / "carol"
    box.mkdir()
    (box / "0001.eml").write_bytes(b"Subject: first\n\n.hidden dot\n")
    (box / "0002.eml").write_bytes(b"Subject: second\n\nbody\n")
    drops = Maildrops.from_directory(tmp_path, {"carol": "pw"})
    with asyncio_server_thread(lambda: start_server(drops)) as (port, _loop):
        pop = poplib.POP3("127.0.0.1", port, timeout=20)
        pop.user("carol")
        pop.pass_("pw")
        _resp, uids, _ = pop.uidl()
        assert uids == [b"1 0001", b"2 0002"]
        assert _retr(pop, 1) == b"Subject: first\r\n\r\n.hidden dot\r\n"
        pop.dele(1)
        pop.quit()
    assert sorted(p.name for p in box.iterdir()) == ["0002.eml"]


def test_stls_injection_is_not_executed(
    served: tuple[int, Maildrops], client_ctx: ssl.SSLContext
) -> None:
    # RFC 2595 §4 (the STARTTLS command injection of CVE-2011-0411): a
    # command pipelined after STLS, in clear text, must not run once TLS is
    # up.  If "USER alice" were kept, the PASS after the handshake would log in.
    port, drops = served
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"+OK")
        raw.sendall(b"STLS\r\nUSER alice\r\n")
        assert reader.readline().startswith(b"+OK")
        with client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls_reader = tls.makefile("rb")
            tls.sendall(b"PASS wonder land\r\n")
            assert tls_reader.readline().startswith(b"-ERR")
            tls.sendall(b"QUIT\r\n")
            assert tls_reader.readline().startswith(b"+OK")
    assert not drops.locked


def test_file_names_that_are_no_unique_id_get_a_stable_digest(tmp_path: Path) -> None:
    # RFC 1939 §7: 1-70 characters in 0x21-0x7E.  A space or a long name is
    # replaced by a digest that is the same in every session.
    box = tmp_path / "dave"
    box.mkdir()
    for name in ("ok-name.eml", "with space.eml", "x" * 80 + ".eml"):
        (box / name).write_bytes(MESSAGE_LF)
    first = [m.uid for m in Maildrops.from_directory(tmp_path, {"dave": "pw"}).boxes["dave"]]
    again = [m.uid for m in Maildrops.from_directory(tmp_path, {"dave": "pw"}).boxes["dave"]]
    assert first == again and first[0] == "ok-name"
    assert len(set(first)) == 3
    assert all(re.fullmatch(r"[\x21-\x7e]{1,70}", uid) for uid in first)


MESSAGE_LF = b"Subject: lf\n\nbody\n"
