"""SMTP message data in memory is bounded across sessions (``[limits] spool_memory``).

Each SMTP transaction keeps its data in memory up to 256 KiB before it goes
to a spool file; without a server-wide bound, a thousand clients each
sending that much and then stalling before the final dot would make the
server hold 250 MiB.  The sessions take that memory from one budget, in
steps of 64 KiB, and never wait for it: a transaction that finds no room
writes its data to its spool file at once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailserver.budget import MemoryBudget
from mailserver.config import DEFAULT_SPOOL_MEMORY, ConfigError, parse_config
from mailserver.smtp_service import SPOOL_STEP, Spool
from tests.examples.test_e2e_support import ANA, A, ServerThread, demo_config, recv_until, wait_for

HEAD = b"Received: by mx.a.example; Thu, 1 Jan 2026 00:00:00 +0000\r\n"


def _on_disk(spool: Spool) -> bool:
    return spool.path is not None


def _whole(spool: Spool) -> bytes:
    message = spool.message(HEAD)
    return message if isinstance(message, bytes) else message.read()


# -- the spool and its budget ------------------------------------------------------------


def test_a_transaction_that_finds_no_room_goes_to_its_file(tmp_path: Path) -> None:
    budget = MemoryBudget(SPOOL_STEP)
    first, second = Spool(tmp_path, budget=budget), Spool(tmp_path, budget=budget)
    first.write(b"Subject: one\r\n\r\n")
    assert not _on_disk(first) and budget.in_use == SPOOL_STEP  # one step covers it
    second.write(b"Subject: two\r\n\r\n")
    assert _on_disk(second)  # no room: on disk from its first octet
    second.write(b"more\r\n")
    assert budget.in_use == SPOOL_STEP
    assert _whole(first) == HEAD + b"Subject: one\r\n\r\n"
    assert _whole(second) == HEAD + b"Subject: two\r\n\r\nmore\r\n"
    first.close()
    assert budget.in_use == 0
    third = Spool(tmp_path, budget=budget)
    third.write(b"x")
    assert not _on_disk(third)  # room again
    second.close()
    third.close()
    assert budget.in_use == 0 and os.listdir(tmp_path) == []


def test_a_growing_transaction_takes_steps_and_gives_all_back_when_it_spills(
    tmp_path: Path,
) -> None:
    budget = MemoryBudget(3 * SPOOL_STEP)
    spool = Spool(tmp_path, budget=budget)
    piece = b"y" * (SPOOL_STEP // 2)
    spool.write(piece)
    assert budget.in_use == SPOOL_STEP
    spool.write(piece + b"z")  # one octet past the first step
    assert budget.in_use == 2 * SPOOL_STEP and not _on_disk(spool)
    other = Spool(tmp_path, budget=budget)
    other.write(b"w")  # takes the last step
    spool.write(piece * 2)  # needs a third step of its own: none left
    assert _on_disk(spool)
    assert budget.in_use == SPOOL_STEP  # everything it held is back
    assert _whole(spool) == HEAD + piece + piece + b"z" + piece * 2
    spool.close()
    other.close()
    assert budget.in_use == 0


def test_a_budget_of_nothing_spools_everything_to_disk(tmp_path: Path) -> None:
    spool = Spool(tmp_path, budget=MemoryBudget(0))
    spool.write(b"a")
    assert _on_disk(spool)
    assert _whole(spool) == HEAD + b"a"
    spool.close()


def test_the_in_memory_limit_still_applies_with_room_in_the_budget(tmp_path: Path) -> None:
    budget = MemoryBudget(10 * SPOOL_STEP)
    spool = Spool(tmp_path, in_memory=100, budget=budget)
    spool.write(b"q" * 101)
    assert _on_disk(spool) and budget.in_use == 0
    spool.close()


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=3), st.binary(max_size=SPOOL_STEP // 3)),
        max_size=30,
    ),
    st.integers(min_value=0, max_value=4),
)
def test_spools_sharing_a_budget_keep_every_octet_and_leak_nothing(
    writes: list[tuple[int, bytes]], steps: int
) -> None:
    budget = MemoryBudget(steps * SPOOL_STEP)
    with tempfile.TemporaryDirectory() as d:
        spools = [Spool(Path(d), budget=budget) for _ in range(4)]
        sent: list[list[bytes]] = [[] for _ in spools]
        for index, data in writes:
            spools[index].write(data)
            sent[index].append(data)
            # Never over capacity, and what is in use is exactly what the
            # spools still in memory hold.
            assert budget.in_use <= budget.capacity
            held = sum(
                -(-sum(map(len, chunks)) // SPOOL_STEP) * SPOOL_STEP
                for spool, chunks in zip(spools, sent)
                if not _on_disk(spool)
            )
            assert budget.in_use == held
        for spool, chunks in zip(spools, sent):
            assert _whole(spool) == HEAD + b"".join(chunks)
            spool.close()
        assert budget.in_use == 0
        assert os.listdir(d) == []


def test_try_reserve_never_waits_and_never_passes_a_waiter() -> None:
    async def main() -> None:
        budget = MemoryBudget(100, wait=5)
        assert budget.try_reserve(60)
        assert not budget.try_reserve(41)  # no room
        waiter = asyncio.ensure_future(budget.reserve(50))
        await asyncio.sleep(0)
        assert budget.waiting == 1
        assert not budget.try_reserve(10)  # room, but someone was first
        budget.release(60)
        assert await waiter
        assert budget.try_reserve(50)
        assert budget.in_use == 100
        with pytest.raises(ValueError, match="negative"):
            budget.try_reserve(-1)

    asyncio.run(main())


# -- configuration -------------------------------------------------------------------


def _with_limits(limits: str) -> str:
    table = f"[server.limits]\n{limits}\n\n[server.ports]"
    text, _ = demo_config(extra=lambda t: t.replace("[server.ports]", table, 1))
    return text


def test_spool_memory_is_read_from_the_config() -> None:
    config = parse_config(_with_limits("spool_memory = 123456"))
    assert config.servers[0].spool_memory == 123456
    text, _ = demo_config()
    assert parse_config(text).servers[0].spool_memory == DEFAULT_SPOOL_MEMORY


def test_a_negative_spool_memory_is_a_config_error() -> None:
    text = _with_limits("spool_memory = -1")
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert "spool_memory cannot be negative" in str(info.value)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("spool_memory"))
    assert info.value.line == line


# -- end to end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    # Room for one transaction's first step, not two.
    with ServerThread(
        _with_limits(f"spool_memory = {SPOOL_STEP + 1000}"), tmp_path_factory.mktemp("spool")
    ) as s:
        yield s


def _start_message(server: ServerThread, subject: str) -> tuple[socket.socket, bytes]:
    s = socket.create_connection(("127.0.0.1", server.port(A, "smtp")), timeout=20)
    recv_until(s, b"220 ")
    s.sendall(b"EHLO client.example\r\n")
    recv_until(s, b"250 ")
    s.sendall(b"MAIL FROM:<someone@elsewhere.example>\r\n")
    recv_until(s, b"250 ")
    s.sendall(f"RCPT TO:<{ANA}>\r\n".encode())
    recv_until(s, b"250 ")
    s.sendall(b"DATA\r\n")
    recv_until(s, b"354 ")
    start = f"Subject: {subject}\r\n\r\n".encode() + b"first half\r\n" * 80
    s.sendall(start)
    return s, start


def _finish_message(s: socket.socket, start: bytes) -> bytes:
    rest = b"second half\r\n" * 3
    s.sendall(rest + b".\r\n")
    assert b"250 " in recv_until(s, b"250 ")
    s.sendall(b"QUIT\r\n")
    recv_until(s, b"221 ")
    s.close()
    return start + rest


def test_stalled_transactions_hold_at_most_the_budget_and_the_rest_spool_to_disk(
    server: ServerThread,
) -> None:
    assert server.server is not None
    site = server.server.sites[A]
    budget, spool_dir = site.spool_budget, site.spool

    def spool_files() -> list[str]:
        return [n for n in os.listdir(spool_dir) if n.endswith(".spool")]

    assert budget.in_use == 0 and spool_files() == []
    first, first_start = _start_message(server, "spool-budget-first")
    # The first transaction stalls in the middle of its data, holding a step.
    assert wait_for(lambda: budget.in_use == SPOOL_STEP, 10), budget.in_use
    assert spool_files() == []
    second, second_start = _start_message(server, "spool-budget-second")
    # No room for a second step: the second one's data is in its spool file.
    assert wait_for(lambda: len(spool_files()) == 1, 10), spool_files()
    assert budget.in_use == SPOOL_STEP
    bodies = [_finish_message(second, second_start), _finish_message(first, first_start)]
    assert wait_for(lambda: budget.in_use == 0, 10), budget.in_use
    assert spool_files() == []
    stored = server.messages(A, ANA)
    for body in bodies:
        # Byte for byte after the trace fields the MTA added in front.
        assert sum(1 for m in stored if m.endswith(body)) == 1
