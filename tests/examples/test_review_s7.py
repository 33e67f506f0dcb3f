"""Defects found reviewing session 7's changes (each test failed before its fix).

Kept apart from the modules' own test files so that the review's findings
stay together: the pump's stall detection (``Link.drain``), the IMAP
server connection's literal approval (``LiteralRequest``), and the
reference server's literal budget.
"""

from __future__ import annotations

import asyncio

from tests.examples.test_pump import Session, start


def test_a_stalled_reader_is_cut_off_even_when_woken_meanwhile() -> None:
    """``Link.drain`` measured stalling per wake-up: any wake-up restarted the
    idle timeout.  A peer that reads nothing but sends a byte now and then
    (or whose mailbox gets mail: ``Link.notify``) was never cut off."""

    async def main() -> None:
        session = Session()
        link, transport, task = await start(session, idle_timeout=0.2)
        transport.buffered = 5_000_000  # a large response, never read
        link.pause_writing()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        link.data_received(b"NOOP\r\n")
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
        session = Session()
        link, transport, task = await start(session, idle_timeout=0.2)
        transport.buffered = 5_000_000
        link.pause_writing()
        link.data_received(b"NOOP\r\n")
        for _ in range(12):  # 0.6 s, three idle timeouts, reading all along
            await asyncio.sleep(0.05)
            transport.buffered -= 10_000
            link.notify()
        assert not task.done() and not transport.aborted and not link.stalled
        link.resume_writing()
        link.data_received(b"QUIT\r\n")
        await asyncio.wait_for(task, 2)

    asyncio.run(main())
