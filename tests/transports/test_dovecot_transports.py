"""The POP3 and IMAP transport examples against a real Dovecot over loopback."""

from __future__ import annotations

import asyncio

import pytest
import trio  # type: ignore[import-untyped,unused-ignore]
from transports.asyncio_imap_idle import wait_for_mail
from transports.asyncio_pop3_client import fetch_new
from transports.blocking_imap_client import fetch_mailbox
from transports.blocking_pop3_client import fetch_all
from transports.trio_pop3_client import Summary, list_headers

from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop
dovecot = dovecot_fixture(scope="module")

MESSAGE = b"From: a@example.org\r\nSubject: transport test\r\n\r\n.dot line\r\nbody\r\n"


def test_blocking_pop3_client_with_stls(dovecot: DovecotServer) -> None:
    user = "alice"
    dovecot.deliver(user, MESSAGE)
    got = fetch_all(
        dovecot.host,
        dovecot.pop3_port,
        user,
        dovecot.users[user],
        tls=dovecot.client_ssl_context(),
        server_hostname="localhost",
    )
    assert MESSAGE in got


def test_asyncio_imap_client_idles_until_new_mail(dovecot: DovecotServer) -> None:
    user = sorted(dovecot.users)[-1]

    async def deliver() -> None:
        await asyncio.sleep(0.2)
        dovecot.deliver(user, MESSAGE)

    async def main() -> int:
        return await asyncio.wait_for(
            wait_for_mail(
                dovecot.host,
                dovecot.imap_port,
                user,
                dovecot.users[user],
                tls=dovecot.client_ssl_context(),
                server_hostname="localhost",
                idling=deliver,
            ),
            timeout=60,
        )

    count = asyncio.run(main())
    assert count >= 1


def test_blocking_imap_client_with_starttls(dovecot: DovecotServer) -> None:
    # bob's password has a space and a double quote: LOGIN must quote it.
    user = "bob"
    second = b"Subject: second\r\n\r\n" + b"x" * 5000 + b"\r\n"
    dovecot.deliver(user, MESSAGE)
    dovecot.deliver(user, second, flags="F")
    got = fetch_mailbox(
        dovecot.host,
        dovecot.imap_port,
        user,
        dovecot.users[user],
        tls=dovecot.client_ssl_context(),
        server_hostname="localhost",
    )
    assert [m.data for m in got][-2:] == [MESSAGE, second]
    assert "\\Flagged" in got[-1].flags
    assert all("\\Seen" not in m.flags for m in got)  # BODY.PEEK[] left them unread
    assert got[-2].uid < got[-1].uid


def test_asyncio_pop3_client_fetches_only_new_mail(dovecot: DovecotServer) -> None:
    user = "alice"
    first = b"Subject: new one\r\n\r\nfirst\r\n"
    second = b"Subject: new two\r\n\r\n" + b".dotted\r\n" * 2000

    def fetch(seen: set[str], delete: bool = False) -> dict[str, bytes]:
        return asyncio.run(
            fetch_new(
                dovecot.host,
                dovecot.pop3_port,
                user,
                dovecot.users[user],
                seen=seen,
                delete=delete,
                tls=dovecot.client_ssl_context(),
                server_hostname="localhost",
            )
        )

    dovecot.deliver(user, first)
    dovecot.deliver(user, second)
    got = fetch(set())
    assert first in got.values() and second in got.values()
    seen = set(got)
    assert fetch(seen) == {}  # nothing new: nothing downloaded
    third = b"Subject: new three\r\n\r\nthird\r\n"
    dovecot.deliver(user, third)
    assert list(fetch(seen).values()) == [third]
    # --delete: everything downloaded is removed at QUIT.
    assert third in fetch(set(), delete=True).values()
    assert fetch(set()) == {}


def test_trio_pop3_client_lists_headers_over_implicit_tls(dovecot: DovecotServer) -> None:
    user = "bob"  # a password with a space and a quote: PASS takes the rest of the line
    subjects = [f"pipelined {i}" for i in range(30)]
    for i, subject in enumerate(subjects):
        body = b"x" * (100 * i) + b"\r\n"
        dovecot.deliver(
            user,
            f"From: Sender {i} <s{i}@example.org>\r\nSubject: {subject}\r\n\r\n".encode() + body,
        )

    async def main() -> list[Summary]:
        with trio.fail_after(60):
            return await list_headers(
                dovecot.host,
                dovecot.pop3s_port,
                user,
                dovecot.users[user],
                tls=dovecot.client_ssl_context(),
                server_hostname="localhost",
            )

    got = trio.run(main)
    assert [s.number for s in got] == list(range(1, len(got) + 1))
    mine = [s for s in got if (s.subject or "").startswith("pipelined ")]
    assert [s.subject for s in mine] == subjects
    assert mine[7].sender == "Sender 7 <s7@example.org>"
