"""The store's writer process (``[store] writer = "process"``).

With ``[store] sync = "filesystem"`` a folder's group commit leader writes
the batch's message files in ``tmp/``, logs their records, makes both
durable with one ``syncfs`` and renames the files into place
(:meth:`.maildir.GroupCommit._write_files`).  By default that leader is a
thread of the server's own process, so it shares the interpreter lock
with the event loop: each of its system calls gives the lock up and takes
it back (``strace``: 15.7 ``futex`` calls a message with twenty SMTP
sessions), and the reference server delivered 14 % more messages a second
without them (median of six alternating pairs, docs/performance/server.rst,
session 11).

Here the same leader code runs in a child process, as Postfix's ``smtpd``
hands mail to a delivery agent of its own.  The event loop sends each
delivery as a request over a socket pair and reads the outcomes from it
in a reader callback: the server's process runs no store thread.  What
stays in the server is everything a client can see: UIDs, modseqs, the
index's other records, notifications.  The child only writes, logs,
syncs and renames, in that order, and answers a request once its file
is durable under its final name.

**The wire** (both ways on one ``AF_UNIX`` stream): a request is a ``!I``
length (of what follows), then ``!IdQB``: its id, the internal date (NaN
for none), the message size and whether the server's own last append to
that index was torn; then four fields, each a ``!I`` length and octets:
the index path, the ``tmp/`` path, the final path and the index record;
then the message's parts, each a ``!BI`` kind (``B`` octets, ``F`` a file
to copy, :class:`.maildir.Spooled`) and length, and the octets (a path for
``F``).  A reply is ``!IIB``: the id, 0 or an ``errno``, and whether the
child's last append to that index was torn (so that the server's next
append starts with a :data:`~.maildir.TORN_MARK`).

**Failure**: if the child dies (a bug, a kill), every request in flight
fails with ``EIO`` — the SMTP client gets a ``451`` and sends again; a
delivery whose batch was logged and synced before the death is placed by
the next load, at least once (RFC 5321 §6.1) — and the next delivery
starts a new child.  The child ends when the server closes its end or
dies: it never outlives its server.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import math
import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import attrs

from .maildir import GroupCommit, Spooled, _Ticket, _Unwritten, write_unsynced

log = logging.getLogger("mailserver.store_writer")

#: The most either side reads at once (the child batches the requests it
#: finds).  Below glibc's mmap threshold (128 KiB): each ``recv`` allocates
#: a buffer of this size, which a larger value would map and unmap, with
#: its page faults, at every call.
RECV_SIZE = 64 * 1024
#: Index paths whose commit state (:attr:`GroupCommit.torn`) the child keeps.
MAX_GROUPS = 4096

_LEN = struct.Struct("!I")
_META = struct.Struct("!IdQB")  # id, internal date, size, torn
_PART = struct.Struct("!BI")
_REPLY = struct.Struct("!IIB")
_OCTETS, _FILE = ord("B"), ord("F")

#: Where a request's outcome goes, on the event loop: None (durable under
#: its final name) or the error, and whether the child's append was torn.
Outcome = Callable[[OSError | None, bool], None]


@attrs.frozen
class Request:
    """One message for the child to write, log and place (file names as octets)."""

    index: bytes
    tmp: bytes
    final: bytes
    #: The index record (a line, newline included).
    record: bytes
    data: bytes | Spooled
    size: int
    internaldate: float | None
    #: The server's last append to *index* was torn.
    torn: bool = False


def encode(rid: int, req: Request) -> bytes:
    """*req* with id *rid* on the wire."""
    date = math.nan if req.internaldate is None else req.internaldate
    out = [_META.pack(rid, date, req.size, req.torn)]
    for field in (req.index, req.tmp, req.final, req.record):
        out += (_LEN.pack(len(field)), field)
    for part in (req.data,) if isinstance(req.data, bytes) else req.data.parts:
        if isinstance(part, bytes):
            out += (_PART.pack(_OCTETS, len(part)), part)
        else:
            raw = os.fsencode(part)
            out += (_PART.pack(_FILE, len(raw)), raw)
    body = b"".join(out)
    return _LEN.pack(len(body)) + body


def decode(body: bytes) -> tuple[int, Request]:
    """The id and request of one frame's *body* (without its length).

    Raises ``ValueError`` for a body that is not one whole request.
    """
    try:
        rid, date, size, torn = _META.unpack_from(body)
        pos = _META.size
        fields: list[bytes] = []
        for _ in range(4):
            (n,) = _LEN.unpack_from(body, pos)
            pos += _LEN.size + n
            fields.append(body[pos - n : pos])
        parts: list[bytes | Path] = []
        while pos < len(body):
            kind, n = _PART.unpack_from(body, pos)
            pos += _PART.size + n
            raw = body[pos - n : pos]
            parts.append(raw if kind == _OCTETS else Path(os.fsdecode(raw)))
    except struct.error:
        raise ValueError("a malformed request") from None
    if pos != len(body) or not parts:
        raise ValueError("a malformed request")
    index, tmp, final, record = fields
    one = parts[0] if len(parts) == 1 else None
    return rid, Request(
        index=index,
        tmp=tmp,
        final=final,
        record=record,
        data=one if isinstance(one, bytes) else Spooled(tuple(parts)),
        size=size,
        internaldate=None if math.isnan(date) else date,
        torn=bool(torn),
    )


def split_frames(buffer: bytes | bytearray) -> tuple[list[bytes], int]:
    """The complete frames' bodies at the start of *buffer*, and the octets they use."""
    frames: list[bytes] = []
    pos = 0
    view = memoryview(buffer)
    while len(buffer) - pos >= _LEN.size:
        (n,) = _LEN.unpack_from(buffer, pos)
        end = pos + _LEN.size + n
        if end > len(buffer):
            break
        frames.append(bytes(view[pos + _LEN.size : end]))
        pos = end
    return frames, pos


# -- the child ---------------------------------------------------------------------------


def commit(groups: dict[bytes, GroupCommit], requests: list[tuple[int, Request]]) -> bytes:
    """Write, log, sync and place one batch; the replies, in request order.

    One :class:`~.maildir.GroupCommit` per index path does the work, with
    the very code a leader thread runs (``_write_files``), so that its
    tests cover this process too.
    """
    errors: dict[int, OSError | None] = {}
    by_index: dict[bytes, list[_Ticket]] = {}
    torn_before: set[bytes] = set()
    for rid, req in requests:
        errors[rid] = None
        # The names stay octets (os.open and os.rename take them) and the
        # callbacks are partials: a Path and two closures per message were a
        # third of this process's Python time.
        final = req.final
        write = functools.partial(write_unsynced, req.tmp, req.data, req.size, req.internaldate)
        by_index.setdefault(req.index, []).append(
            _Ticket(
                req.record,
                final.rsplit(b"/", 2)[-2].decode(),  # new/ or cur/
                functools.partial(errors.__setitem__, rid),
                0,
                0,
                _Unwritten(req.tmp, final, write),
            )
        )
        if req.torn:
            torn_before.add(req.index)
    torn_after: dict[bytes, bool] = {}
    for index, tickets in by_index.items():
        group = groups.get(index)
        if group is None:
            if len(groups) >= MAX_GROUPS:
                groups.clear()
            path = Path(os.fsdecode(index))
            group = groups[index] = GroupCommit(path.parent, path)
        if index in torn_before:
            group.torn = True
        group._write_files(tickets)
        torn_after[index] = group.torn
    replies = []
    for rid, req in requests:
        error = errors[rid]
        code = 0 if error is None else (error.errno or errno.EIO)
        replies.append(_REPLY.pack(rid, code, torn_after[req.index]))
    return b"".join(replies)


def serve(sock: socket.socket) -> None:
    """The child's loop: read what requests there are, commit them, answer; until EOF."""
    groups: dict[bytes, GroupCommit] = {}
    buffer = bytearray()
    eof = False
    while not eof:
        chunk = sock.recv(RECV_SIZE)
        if not chunk:
            return
        buffer += chunk
        while True:  # and whatever else is there: one batch
            try:
                chunk = sock.recv(RECV_SIZE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if not chunk:
                eof = True
                break
            buffer += chunk
        frames, used = split_frames(buffer)
        del buffer[:used]
        if frames:
            try:
                sock.sendall(commit(groups, [decode(f) for f in frames]))
            except BrokenPipeError:
                return  # the server went away


def main(fd: int) -> None:
    """Entry point of the child (see :class:`StoreWriter`)."""
    # A Ctrl-C at the terminal reaches the whole process group: the server
    # then shuts down cleanly, finishing its deliveries, which need this
    # process until the server closes its end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with socket.socket(fileno=fd) as sock:
        serve(sock)


# -- the server's end ----------------------------------------------------------------------

# How the child starts: this package, imported from where it lies.
_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from mailserver.store_writer import main; main(int(sys.argv[2]))"
)


class StoreWriter:
    """The server's end of the writer process: one child per event loop, started on first use.

    :meth:`submit` is called on the event loop; each request's *outcome*
    is called there too, once.  :meth:`close` ends the child.
    """

    def __init__(self) -> None:
        self._link: _Link | None = None

    def submit(
        self,
        outcome: Outcome,
        *,
        index: bytes,
        tmp: bytes,
        final: bytes,
        record: bytes,
        data: bytes | Spooled,
        size: int,
        internaldate: float | None,
        torn: bool,
    ) -> None:
        """Send a :class:`Request`; call ``outcome(error, torn)`` when the child answers (or dies).

        Raises ``OSError`` when no child can be started (nothing is sent).
        """
        request = Request(index, tmp, final, record, data, size, internaldate, torn)
        loop = asyncio.get_running_loop()
        link = self._link
        if link is None or link.loop is not loop or link.closed:
            if link is not None:
                link.close()
            link = self._link = _Link(loop)
        link.submit(request, outcome)

    @property
    def pid(self) -> int | None:
        """The running child's process id (for tests), else None."""
        link = self._link
        return None if link is None or link.closed else link.proc.pid

    def close(self) -> None:
        """End the child; requests still in flight fail with ``EIO``."""
        if self._link is not None:
            self._link.close()
            self._link = None


class _Link:
    """One child process and its socket, served by the loop's callbacks."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _CHILD,
                    str(Path(__file__).parents[1]),
                    str(theirs.fileno()),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        self.closed = False
        self._fd = ours.fileno()
        self._next = 0
        self._waiting: dict[int, Outcome] = {}
        self._out = bytearray()  # what the socket did not take at once
        self._in = b""
        loop.add_reader(self._fd, self._on_readable)

    def submit(self, request: Request, outcome: Outcome) -> None:
        self._next = (self._next + 1) & 0xFFFF_FFFF
        rid = self._next
        frame = encode(rid, request)
        self._waiting[rid] = outcome
        if self._out:
            self._out += frame
            return
        try:
            sent = self.sock.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._end()
            return
        if sent < len(frame):
            self._out += frame[sent:]
            self.loop.add_writer(self._fd, self._on_writable)

    def _on_writable(self) -> None:
        try:
            sent = self.sock.send(self._out)
        except BlockingIOError:
            return
        except OSError:
            self._end()
            return
        del self._out[:sent]
        if not self._out:
            self.loop.remove_writer(self._fd)

    def _on_readable(self) -> None:
        try:
            chunk = self.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._end()
            return
        data = self._in + chunk
        end = len(data) - len(data) % _REPLY.size
        self._in = data[end:]
        for rid, code, torn in _REPLY.iter_unpack(data[:end]):
            outcome = self._waiting.pop(rid, None)
            if outcome is None:
                continue
            error = None if code == 0 else OSError(code, os.strerror(code))
            try:
                outcome(error, bool(torn))
            except Exception:
                log.exception("store writer outcome failed")

    def _end(self) -> None:
        """The child is gone (or its socket failed): fail what is in flight."""
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self._fd)
        if self._out:
            self.loop.remove_writer(self._fd)
        self.sock.close()
        waiting, self._waiting = self._waiting, {}
        if waiting:
            log.error("store writer process ended with %d deliveries in flight", len(waiting))
        for outcome in waiting.values():
            try:
                outcome(OSError(errno.EIO, "the store's writer process ended"), False)
            except Exception:
                log.exception("store writer outcome failed")
        self._reap()

    def _reap(self) -> None:
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        # The child sees the end of its input and exits.
        self._end()
