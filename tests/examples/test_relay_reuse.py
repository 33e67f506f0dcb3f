"""Connection reuse per hop: a backlog for one next hop shares SMTP sessions.

The peer is aiosmtpd with a handler that records, per message, which
session (TCP connection) carried it, and counts RSETs and QUITs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from mailserver.relay import SessionPool, open_session
from tests.examples.relay_support import (
    MSG,
    Clock,
    Sink,
    dsn_fields,
    free_port,
    make_relay,
    read_inbox,
)

pytestmark = pytest.mark.interop


class CountingSink(Sink):
    """Sink that also knows the session of every message, and counts RSET/QUIT."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[object] = []  # the session object of each message, in order
        self.rsets = 0
        self.quits = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sessions.append(session)
        return await super().handle_DATA(server, session, envelope)

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self.rsets += 1
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"

    def distinct_sessions(self) -> int:
        return len({id(s) for s in self.sessions})


@pytest.fixture
def counting() -> Iterator[tuple[CountingSink, int]]:
    handler = CountingSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _message(i: int) -> bytes:
    return MSG.replace(b"Subject: relay test", b"Subject: relay test %d" % i)


def test_backlog_goes_over_one_session_with_rset_between(
    tmp_path: Path, counting: tuple[CountingSink, int]
) -> None:
    handler, port = counting
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock, connections_per_hop=1)
    for i in range(6):
        queue.enqueue("ann@a.example", [f"r{i}@remote.example"], _message(i), now=clock.now)
    asyncio.run(relay.run_once())
    assert len(queue) == 0
    assert read_inbox(store) == []  # no bounce
    # Every message arrived intact, with its own envelope ...
    assert sorted((m[1][0], m[2]) for m in handler.messages) == sorted(
        (f"r{i}@remote.example", _message(i)) for i in range(6)
    )
    assert all(m[0] == "ann@a.example" for m in handler.messages)
    # ... over one connection, RSET before each reuse, one QUIT at the end.
    assert handler.distinct_sessions() == 1
    assert handler.rsets == 5
    assert handler.quits == 1
    assert relay.sessions.reused == 5


def test_sessions_per_hop_are_bounded(tmp_path: Path, counting: tuple[CountingSink, int]) -> None:
    handler, port = counting
    clock = Clock()
    relay, queue, _ = make_relay(tmp_path, port, clock, connections_per_hop=2)
    for i in range(8):
        queue.enqueue("ann@a.example", [f"r{i}@remote.example"], _message(i), now=clock.now)
    asyncio.run(relay.run_once())
    assert len(handler.messages) == 8
    assert 1 <= handler.distinct_sessions() <= 2
    assert handler.quits == handler.distinct_sessions()


def test_a_failed_transaction_does_not_spoil_the_session(
    tmp_path: Path, counting: tuple[CountingSink, int]
) -> None:
    # The first message's only recipient is refused (MAIL accepted, no
    # DATA): RSET clears that transaction and the next message goes through
    # on the same session; the refused one bounces.
    handler, port = counting
    handler.reject.add("bad@remote.example")
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, port, clock, connections_per_hop=1)
    queue.enqueue("ann@a.example", ["bad@remote.example"], _message(1), now=clock.now)
    queue.enqueue("ann@a.example", ["good@remote.example"], _message(2), now=clock.now)
    asyncio.run(relay.run_once())
    assert [(m[1], m[2]) for m in handler.messages] == [(["good@remote.example"], _message(2))]
    assert handler.rsets == 1
    (bounce,) = read_inbox(store)
    assert "Final-Recipient: rfc822; bad@remote.example" in dsn_fields(bounce)[1]
    assert len(queue) == 0


def test_pool_drops_a_session_the_peer_closed(tmp_path: Path) -> None:
    handler = CountingSink()
    port = free_port()

    async def main() -> tuple[bool, int]:
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        pool = SessionPool(idle_timeout=30)
        hop = ("127.0.0.1", port)
        session = await open_session(*hop, helo="mx.a.example", starttls=False, timeout=5)
        await session.transaction(sender="a@a.example", recipients=["x@remote.example"], data=MSG)
        pool.give(hop, session)
        # The peer goes away (and comes back): the idle session is dead.
        controller.stop()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            stale = await pool.take(hop)
            fresh = await open_session(*hop, helo="mx.a.example", starttls=False, timeout=5)
            await fresh.transaction(sender="a@a.example", recipients=["y@remote.example"], data=MSG)
            await fresh.close()
        finally:
            controller.stop()
        return stale is None, pool.reused

    dropped, reused = asyncio.run(main())
    assert dropped
    assert reused == 0
    assert [m[1] for m in handler.messages] == [["x@remote.example"], ["y@remote.example"]]


def test_idle_sessions_are_closed_after_the_idle_timeout(
    counting: tuple[CountingSink, int],
) -> None:
    handler, port = counting

    async def main() -> bool:
        pool = SessionPool(idle_timeout=0.05)
        hop = ("127.0.0.1", port)
        session = await open_session(*hop, helo="mx.a.example", starttls=False, timeout=5)
        pool.give(hop, session)
        await asyncio.sleep(0.3)
        await pool.close_all()  # waits for the closing started by the timer
        return await pool.take(hop) is None

    assert asyncio.run(main())
    assert handler.quits == 1


def test_connections_per_hop_config_key() -> None:
    from mailserver.config import ConfigError, parse_config

    base = 'hostname = "mx.a.example"\ndomains = ["a.example"]\n[relay]\n'
    (server,) = parse_config(base + "connections_per_hop = 3\n").servers
    assert server.relay.connections_per_hop == 3
    assert parse_config(base).servers[0].relay.connections_per_hop == 4
    with pytest.raises(ConfigError) as err:
        parse_config(base + "timeout = 5\nconnections_per_hop = 0\n")
    assert "connections_per_hop must be at least 1" in err.value.message
    assert err.value.line == 5
