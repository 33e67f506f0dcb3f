"""The IMAP literals in flight share one memory budget (``[limits] literal_memory``).

A connection holds a command's literals until the command is complete, so
without a server-wide bound many logged-in clients each sending a maximal
APPEND would make the server hold that many messages at once.  Here the
budget (150,000 octets) holds one APPEND of 90,000 octets but not two: the
second client's ``+`` comes only once the first one's command is answered,
or, after the budget's wait, its command is refused with ``NO [UNAVAILABLE]``
(RFC 5530) and the session goes on.  Clients speak on plain sockets so that
they can stop in the middle of a literal.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.examples.test_e2e_support import (
    ANA,
    PASSWORDS,
    PEPE,
    A,
    ServerThread,
    demo_config,
    recv_until,
    wait_for,
)

SIZE = 90_000
CAPACITY = 150_000


def _message(subject: str) -> bytes:
    head = f"From: ana@iesfbmoll.example\r\nSubject: {subject}\r\n\r\n".encode()
    return head + b"x" * (SIZE - len(head) - 2) + b"\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config(
        extra=lambda t: t.replace(
            "[server.ports]",
            f"[server.limits]\nmax_message_size = 100000\nliteral_memory = {CAPACITY}\n\n"
            "[server.ports]",
            1,
        )
    )
    with ServerThread(text, tmp_path_factory.mktemp("literal_budget")) as s:
        yield s


def _budget(server: ServerThread) -> object:
    assert server.server is not None
    return server.server.sites[A].literal_budget


def _in_use(server: ServerThread) -> int:
    budget = _budget(server)
    return int(budget.in_use)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _budget_wait(server: ServerThread) -> Iterator[None]:
    budget = _budget(server)
    before = budget.wait  # type: ignore[attr-defined]
    yield
    budget.wait = before  # type: ignore[attr-defined]
    # Every test leaves the budget as it found it: nothing held.
    assert wait_for(lambda: _in_use(server) == 0, 10), _in_use(server)


def _invited(sock: socket.socket, tag: bytes, size: int = SIZE) -> None:
    """Send ``APPEND INBOX {size}`` with *tag*; the server must invite the literal."""
    sock.sendall(b"%s APPEND INBOX {%d}\r\n" % (tag, size))
    assert recv_until(sock, b"\r\n").startswith(b"+")


def _login(server: ServerThread, user: str = ANA) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=20)
    recv_until(s, b"\r\n")
    s.sendall(f'l LOGIN {user} "{PASSWORDS[user]}"\r\n'.encode())
    assert b"l OK" in recv_until(s, b"l OK")
    return s


def _silent(s: socket.socket, seconds: float) -> bytes:
    """What *s* receives within *seconds* (b"" when nothing)."""
    s.settimeout(seconds)
    try:
        return s.recv(65536)
    except TimeoutError:
        return b""


def _count(server: ServerThread, subject: bytes, user: str = ANA) -> int:
    return sum(subject in m for m in server.messages(A, user))


def test_a_second_large_append_waits_for_the_first_then_both_are_stored(
    server: ServerThread,
) -> None:
    first, second = _login(server), _login(server, PEPE)
    try:
        one, two = _message("budget-one"), _message("budget-two")
        _invited(first, b"a")
        first.sendall(one[: SIZE // 2])  # half of it: its room stays taken
        assert wait_for(lambda: _in_use(server) == SIZE)
        second.sendall(b"b APPEND INBOX {%d}\r\n" % SIZE)
        # No room for a second one: no "+" (and no refusal) yet.
        assert _silent(second, 1.0) == b""
        first.sendall(one[SIZE // 2 :] + b"\r\n")
        assert b"a OK" in recv_until(first, b"a OK")
        # The first command is answered: its octets are released, and the
        # waiting client is invited.
        assert recv_until(second, b"\r\n").startswith(b"+")
        second.sendall(two + b"\r\n")
        assert b"b OK" in recv_until(second, b"b OK")
    finally:
        first.close()
        second.close()
    assert _count(server, b"Subject: budget-one") == 1
    assert _count(server, b"Subject: budget-two", PEPE) == 1


def test_no_room_within_the_wait_refuses_with_unavailable_and_the_session_goes_on(
    server: ServerThread,
) -> None:
    _budget(server).wait = 0.5  # type: ignore[attr-defined]
    holder, other = _login(server), _login(server, PEPE)
    try:
        _invited(holder, b"a")
        assert wait_for(lambda: _in_use(server) == SIZE)
        started = time.monotonic()
        other.sendall(b"b APPEND INBOX {%d}\r\n" % SIZE)
        answer = recv_until(other, b"\r\n")
        assert answer == b"b NO [UNAVAILABLE] Server busy, try again later\r\n"
        assert time.monotonic() - started >= 0.4
        # RFC 9051 §7.5: the client gave the command up; the next one works.
        other.sendall(b"c NOOP\r\n")
        assert b"c OK" in recv_until(other, b"c OK")
        holder.sendall(_message("budget-holder") + b"\r\n")
        assert b"a OK" in recv_until(holder, b"a OK")
        # Room again: the refused client's retry goes through.
        _invited(other, b"d")
        other.sendall(_message("budget-retry") + b"\r\n")
        assert b"d OK" in recv_until(other, b"d OK")
    finally:
        holder.close()
        other.close()
    assert _count(server, b"Subject: budget-holder") == 1
    assert _count(server, b"Subject: budget-retry", PEPE) == 1


def test_a_refused_non_synchronising_literal_is_dropped_unread(server: ServerThread) -> None:
    _budget(server).wait = 0.3  # type: ignore[attr-defined]
    holder, other = _login(server), _login(server, PEPE)
    try:
        _invited(holder, b"a")
        # LITERAL+: the octets come at once, whatever the server says; they
        # look like commands, and must be neither kept nor executed.
        junk = b"z DELETE INBOX\r\n" * (SIZE // 16)
        junk += b"q" * (SIZE - len(junk))
        other.sendall(b"b APPEND INBOX {%d+}\r\n" % SIZE + junk + b"\r\nc NOOP\r\n")
        answer = recv_until(other, b"c OK")
        assert b"b BAD [UNAVAILABLE] Server busy, try again later\r\n" in answer
        assert b"c OK" in answer and b"z " not in answer
        holder.sendall(b"\r\n" * 0 + _message("budget-plus-holder") + b"\r\n")
        assert b"a OK" in recv_until(holder, b"a OK")
    finally:
        holder.close()
        other.close()
    assert not any(b"z DELETE" in m for m in server.messages(A, PEPE))


def test_a_client_leaving_mid_literal_releases_its_room(server: ServerThread) -> None:
    s = _login(server)
    _invited(s, b"a")
    s.sendall(b"x" * 1000)
    assert wait_for(lambda: _in_use(server) == SIZE)
    s.close()
    assert wait_for(lambda: _in_use(server) == 0)


def test_a_stalled_literal_is_timed_out_sooner_than_an_idle_client(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mailserver.imap_service as imap_service

    monkeypatch.setattr(imap_service, "LITERAL_STALL_TIMEOUT", 0.5)
    idle, stalled = _login(server), _login(server, PEPE)
    try:
        _invited(stalled, b"a")
        stalled.sendall(b"x" * 100)
        # The stalled client is logged out, its room released ...
        assert b"* BYE" in recv_until(stalled, b"* BYE", timeout=10)
        assert wait_for(lambda: _in_use(server) == 0)
        # ... while a client idle between commands keeps its 30 minutes.
        idle.sendall(b"n NOOP\r\n")
        assert b"n OK" in recv_until(idle, b"n OK")
    finally:
        idle.close()
        stalled.close()


def test_a_later_literal_that_does_not_fit_refuses_its_command_at_once(
    server: ServerThread,
) -> None:
    # A MULTIAPPEND already holding room for its first message does not wait
    # for room for the next (two such commands would wait for each other):
    # the command is refused at once, and everything it held is released.
    holder, multi = _login(server), _login(server, PEPE)
    try:
        held = _message("budget-multi-holder")[: 70_000 - 2] + b"\r\n"
        _invited(holder, b"a", len(held))
        assert wait_for(lambda: _in_use(server) == 70_000)
        first = _message("budget-multi")[: 70_000 - 2] + b"\r\n"
        _invited(multi, b"m", len(first))  # 140,000 of 150,000
        started = time.monotonic()
        multi.sendall(first + b" {20000}\r\n")  # 160,000: no room
        answer = recv_until(multi, b"\r\n")
        assert answer == b"m NO [UNAVAILABLE] Server busy, try again later\r\n"
        assert time.monotonic() - started < 5  # not the budget's 30 s wait
        assert wait_for(lambda: _in_use(server) == 70_000)
        holder.sendall(held + b"\r\n")
        assert b"a OK" in recv_until(holder, b"a OK")
    finally:
        holder.close()
        multi.close()
    # All or none (RFC 3502): nothing of the refused command is stored.
    assert _count(server, b"Subject: budget-multi", PEPE) == 0
    assert _count(server, b"Subject: budget-multi-holder") == 1


def test_a_large_fetch_waits_for_room_and_is_refused_when_none_comes(
    server: ServerThread,
) -> None:
    # A large message's file and answer count in the same budget: with an
    # APPEND holding 90,000 of 150,000 octets, FETCHing a 90,000-octet
    # message (180,000 held, capped at the capacity) must wait for room.
    deliverer = _login(server)
    try:
        _invited(deliverer, b"a")
        deliverer.sendall(_message("budget-fetched") + b"\r\n")
        assert b"a OK" in recv_until(deliverer, b"a OK")
    finally:
        deliverer.close()
    _budget(server).wait = 0.5  # type: ignore[attr-defined]
    holder, reader = _login(server, PEPE), _login(server)
    try:
        reader.sendall(b"s SELECT INBOX\r\n")
        recv_until(reader, b"s OK")
        _invited(holder, b"h")
        assert wait_for(lambda: _in_use(server) == SIZE)
        reader.sendall(b"f UID FETCH 1:* (UID BODY.PEEK[])\r\n")
        answer = recv_until(reader, b"f NO")
        assert b"f NO [UNAVAILABLE] Server busy, try again later\r\n" in answer
        holder.sendall(_message("budget-fetch-holder") + b"\r\n")
        assert b"h OK" in recv_until(holder, b"h OK")
        # Room again: the same FETCH goes through, the whole message in it.
        reader.sendall(b"g UID FETCH 1:* (UID BODY.PEEK[])\r\n")
        answer = recv_until(reader, b"g OK")
        assert b"Subject: budget-fetched" in answer and b"g OK FETCH completed" in answer
    finally:
        holder.close()
        reader.close()


def test_literal_memory_below_the_message_size_is_a_config_error() -> None:
    from mailserver.config import ConfigError, parse_config

    text, _ = demo_config(
        extra=lambda t: t.replace(
            "[server.ports]",
            "[server.limits]\nmax_message_size = 100000\nliteral_memory = 50000\n\n[server.ports]",
            1,
        )
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert "literal_memory must be at least max_message_size" in str(info.value)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("literal_memory"))
    assert info.value.line == line


# -- the budget itself ------------------------------------------------------------------


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_budget_grants_in_order_and_never_past_capacity() -> None:
    from mailserver.budget import MemoryBudget

    async def main() -> list[str]:
        budget = MemoryBudget(100)
        order: list[str] = []
        assert await budget.reserve(70)

        async def want(name: str, size: int) -> None:
            assert await budget.reserve(size, timeout=5)
            order.append(name)
            assert budget.in_use <= budget.capacity

        big = asyncio.ensure_future(want("big", 60))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(want("small", 10))
        await asyncio.sleep(0.05)
        # 10 would fit now, but the larger request came first.
        assert order == [] and budget.waiting == 2
        budget.release(70)
        await asyncio.gather(big, small)
        assert budget.in_use == 70
        return order

    assert _run(main()) == ["big", "small"]


def test_budget_refuses_more_than_capacity_and_times_out() -> None:
    from mailserver.budget import MemoryBudget

    async def main() -> None:
        budget = MemoryBudget(100)
        assert not await budget.reserve(101)
        assert await budget.reserve(100)
        assert not await budget.reserve(1, timeout=0.05)
        assert budget.waiting == 0 and budget.in_use == 100
        with pytest.raises(ValueError):
            budget.release(101)

    _run(main())


def test_budget_waiter_cancelled_holds_nothing_and_lets_others_in() -> None:
    from mailserver.budget import MemoryBudget

    async def main() -> None:
        budget = MemoryBudget(100)
        assert await budget.reserve(50)
        big = asyncio.ensure_future(budget.reserve(80, timeout=5))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(budget.reserve(40, timeout=5))
        await asyncio.sleep(0.01)
        assert not small.done()  # behind the big one
        big.cancel()
        assert await small  # the head left: the small one fits
        assert budget.in_use == 90 and budget.waiting == 0

    _run(main())


def test_budget_timeout_of_the_head_lets_smaller_requests_in() -> None:
    from mailserver.budget import MemoryBudget

    async def main() -> None:
        budget = MemoryBudget(100)
        assert await budget.reserve(50)
        big = asyncio.ensure_future(budget.reserve(80, timeout=0.05))
        await asyncio.sleep(0)
        small = asyncio.ensure_future(budget.reserve(40, timeout=5))
        assert not await big
        assert await small
        assert budget.in_use == 90

    _run(main())


def test_server_uses_the_configured_capacity(server: ServerThread) -> None:
    assert _budget(server).capacity == CAPACITY  # type: ignore[attr-defined]


def test_literal_memory_defaults_to_at_least_the_message_size(tmp_path: Path) -> None:
    from mailserver.config import parse_config

    text, _ = demo_config(
        extra=lambda t: t.replace(
            "[server.ports]", "[server.limits]\nmax_message_size = 400000000\n\n[server.ports]", 1
        )
    )
    config = parse_config(text)
    assert all(s.literal_memory >= 400_000_000 for s in config.servers if s.hostname == A)
    text, _ = demo_config()
    assert all(s.literal_memory == 256 * 1024 * 1024 for s in parse_config(text).servers)


# -- the budget under any schedule (property) -------------------------------------------

_OPS = st.lists(
    st.one_of(
        # (size, steps held once granted, wait at most: None = long, 0 = not at all)
        st.tuples(
            st.just("reserve"),
            st.integers(0, 120),
            st.integers(0, 5),
            st.sampled_from([None, 0.0]),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 30), st.just(0), st.just(None)),
        st.tuples(st.just("step"), st.integers(1, 4), st.just(0), st.just(None)),
    ),
    max_size=40,
)


@given(ops=_OPS)
@example(ops=[("reserve", 77, 1, None), ("reserve", 24, 0, None), ("step", 2, 0, None)])
def test_budget_never_overcommits_never_leaks_and_never_strands_a_waiter(
    ops: list[tuple[str, int, int, float | None]],
) -> None:
    """Any interleaving of reservations (waiting or not), holds, releases and
    cancellations: what is granted never passes the capacity and covers what
    the holders hold; in the end nothing is held and nobody waits."""
    from mailserver.budget import MemoryBudget

    async def main() -> None:
        budget = MemoryBudget(100)
        holding: dict[int, int] = {}  # task number -> octets it holds
        tasks: list[asyncio.Task[None]] = []
        violations: list[str] = []

        async def client(n: int, size: int, hold: int, wait: float | None) -> None:
            # A long wait (longer than the whole run may take) or none at all.
            if not await budget.reserve(size, 60.0 if wait is None else wait):
                return
            holding[n] = size
            try:
                for _ in range(hold):
                    await asyncio.sleep(0)
            finally:
                del holding[n]
                budget.release(size)

        def check() -> None:
            if budget.in_use > budget.capacity:
                violations.append(f"over capacity: {budget.in_use}")
            # At least what the holders hold: a release grants a waiter its
            # room at once, and the waiter counts it when it next runs.
            if budget.in_use < sum(holding.values()):
                violations.append(f"in use {budget.in_use}, held {sum(holding.values())}")

        for op, a, b, wait in ops:
            if op == "reserve":
                tasks.append(asyncio.ensure_future(client(len(tasks), a, b, wait)))
            elif op == "cancel" and tasks:
                tasks[a % len(tasks)].cancel()
            else:
                for _ in range(a):
                    await asyncio.sleep(0)
                    check()
            check()
        _, pending = await asyncio.wait(tasks, timeout=5) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        assert not pending, "a waiter was stranded (room came back, nobody was told)"
        check()
        assert violations == []
        assert budget.in_use == 0 and budget.waiting == 0

    asyncio.run(main())
