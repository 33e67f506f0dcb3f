"""Bounds on memory that sessions share: IMAP literals, SMTP message data.

Both directions: APPEND messages being received (below) and the answers of
FETCHes of large messages being sent (``IMAPSession.cmd_fetch`` reserves a
message's file and answer until the client's side has taken them).

An IMAP connection holds a command's literals until the command is complete
(an APPEND's message, every message of a MULTIAPPEND), and
:attr:`~mailproto.limits.IMAPLimits.command_size` bounds that per
connection only: a thousand logged-in clients each sending a maximal APPEND
would make the server hold a thousand messages.  A :class:`MemoryBudget` is
the server-wide bound.  The IMAP session asks it before the connection
invites a large literal (:class:`mailproto.imap.LiteralRequest`); a client
that does not fit waits — its ``+`` simply comes later (RFC 9051 §7.5) —
and after :data:`WAIT` seconds is refused with ``NO [UNAVAILABLE]`` (RFC
5530: a temporary failure), so it can try again.

Grants are first come, first served: a large request at the head of the
line is not overtaken by smaller ones forever.

The SMTP sessions share a second budget (``[limits] spool_memory``) for the
message data they keep in memory while it arrives; they never wait for it
(:meth:`MemoryBudget.try_reserve`): data that does not fit goes to the
transaction's spool file at once (``smtp_service.Spool``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib

__all__ = ["WAIT", "MemoryBudget"]

#: Seconds a session waits for room before its literal is refused (the
#: default of :attr:`MemoryBudget.wait`).
WAIT = 30.0


class MemoryBudget:
    """*capacity* octets that sessions reserve before they buffer, and release after."""

    def __init__(self, capacity: int, *, wait: float = WAIT) -> None:
        if capacity < 0:
            raise ValueError("a budget cannot have a negative capacity")
        #: The most octets granted at once.
        self.capacity = capacity
        #: Seconds :meth:`reserve` waits for room by default.
        self.wait = wait
        self._used = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    @property
    def in_use(self) -> int:
        """Octets granted and not yet released."""
        return self._used

    @property
    def waiting(self) -> int:
        """Requests waiting for room."""
        return len(self._waiters)

    async def reserve(self, size: int, timeout: float | None = None) -> bool:
        """Take *size* octets; False when there was no room within *timeout* seconds.

        *timeout* defaults to :attr:`wait`.  Also False at once for more
        than the whole capacity.  A caller that is cancelled while waiting
        holds nothing.
        """
        if timeout is None:
            timeout = self.wait
        if size < 0:
            raise ValueError("negative size")
        if size > self.capacity:
            return False
        if not self._waiters and self._used + size <= self.capacity:
            self._used += size
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait({future}, timeout=timeout)
        except BaseException:
            self._forget(entry)
            raise
        if future.done() and not future.cancelled():
            return True
        self._forget(entry)
        return False

    def try_reserve(self, size: int) -> bool:
        """Take *size* octets if they are free now; False, at once, if not.

        Never waits, and never passes a request that :meth:`reserve` has
        waiting (first come, first served holds for these too).
        """
        if size < 0:
            raise ValueError("negative size")
        if self._waiters or self._used + size > self.capacity:
            return False
        self._used += size
        return True

    def release(self, size: int) -> None:
        """Give back *size* octets of an earlier :meth:`reserve`."""
        if size < 0 or size > self._used:
            raise ValueError(f"releasing {size} octets of {self._used} in use")
        self._used -= size
        self._grant()

    def _forget(self, entry: tuple[int, asyncio.Future[None]]) -> None:
        size, future = entry
        if future.done() and not future.cancelled():
            self.release(size)  # granted just as the caller gave up
            return
        future.cancel()
        with contextlib.suppress(ValueError):  # (already granted or dropped)
            self._waiters.remove(entry)
        # A large request that leaves the head of the line may let the
        # smaller ones behind it in.
        self._grant()

    def _grant(self) -> None:
        waiters = self._waiters
        while waiters and self._used + waiters[0][0] <= self.capacity:
            size, future = waiters.popleft()
            if future.done():
                continue
            self._used += size
            future.set_result(None)
