"""Disk-fault injection for the reference-server tests (no tests here).

The test server (:class:`tests.examples.test_e2e_support.ServerThread`) runs
in the test process, so a fault can be injected by replacing functions of
the :mod:`os` module for a while: :func:`inject` makes chosen calls raise
``OSError`` with a chosen errno when they touch a path under a chosen
directory, a given number of times, and then restores the real functions.
The store reaches the disk through these functions (``os.write``,
``os.writev``, ``os.fsync``, ``os.fdatasync``, ``os.open``, ``os.rename``,
``os.replace``, ``os.unlink``, ``os.link``, ``os.mkdir``; ``pathlib`` uses
them too), so one injector covers every durable step.  ``syncfs`` is the
store's own :func:`mailserver.maildir.syncfs` (``os`` has none), replaced
there.

For a call on a file descriptor the path is the descriptor's target
(``/proc/self/fd``); for a call on paths, any of its path arguments.  The
returned :class:`Fault` counts how many calls it failed, so that a test can
check that the fault really hit the step it meant to test.
"""

from __future__ import annotations

import contextlib
import errno as errno_module
import os
import smtplib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from mailserver import maildir

__all__ = [
    "FD_CALLS",
    "PATH_CALLS",
    "SMTP_DISK_REPLIES",
    "Fault",
    "enhanced",
    "inject",
    "leftovers",
]

#: How SMTP answers a disk error at intake, by errno (for ``parametrize``):
#: ``452 4.3.1`` for a full disk (RFC 5321 §4.2.2, RFC 3463 X.3.1 "mail
#: system full"), ``451 4.3.0`` for any other I/O error.
SMTP_DISK_REPLIES = [
    (errno_module.ENOSPC, (452, "4.3.1")),
    (errno_module.EIO, (451, "4.3.0")),
]

#: Calls whose first argument is a file descriptor.
FD_CALLS = frozenset({"write", "writev", "fsync", "fdatasync", "ftruncate", "syncfs"})
#: Calls whose positional arguments are paths.
PATH_CALLS = frozenset(
    {"open", "rename", "replace", "unlink", "link", "mkdir", "rmdir", "utime", "truncate"}
)


def _fd_path(fd: object) -> str | None:
    if not isinstance(fd, int):
        return None
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


class Fault:
    """One injected fault: which calls, where, which error, how often."""

    def __init__(
        self,
        calls: Iterable[str],
        under: Path,
        *,
        err: int,
        times: int | None,
        skip: int,
        match: str | Callable[[str], bool] | None,
        short: bool = False,
    ) -> None:
        #: The names of the :mod:`os` functions that fail.
        self.calls = frozenset(calls)
        unknown = self.calls - FD_CALLS - PATH_CALLS
        if unknown:
            raise ValueError(f"cannot inject into {sorted(unknown)}")
        #: Only paths under this directory fail.
        self.under = str(Path(under).resolve())
        #: The errno raised.
        self.err = err
        #: How many calls fail (None: every one while the fault is active).
        self.times = times
        #: Matching calls let through before the first failure.
        self.skip = skip
        #: A substring the path must contain, or a test on the path (None:
        #: any path under *under*).
        self.match = match
        #: The first fault is a short write (``os.write`` writes half the
        #: octets and returns that count, as on a disk filling up) and the
        #: following ones raise.
        self.short = short
        self._shorted = False
        #: Calls failed so far (a short write counts).
        self.fired = 0
        #: Matching calls seen so far (failed or let through), by call name.
        self.seen: dict[str, int] = {}
        #: The paths of the failed calls.
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def _hits(self, path: str | None) -> bool:
        if path is None:
            return False
        if path != self.under and not path.startswith(self.under + os.sep):
            return False
        if self.match is None:
            return True
        return self.match(path) if callable(self.match) else self.match in path

    def _decide(self, name: str, paths: list[str | None]) -> str | None:
        hit = next((p for p in paths if self._hits(p)), None)
        if hit is None:
            return None
        with self._lock:
            self.seen[name] = self.seen.get(name, 0) + 1
            if self.skip > 0:
                self.skip -= 1
                return None
            if self.times is not None and self.fired >= self.times:
                return None
            self.fired += 1
            self.paths.append(hit)
        return hit

    def wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        """The replacement for ``os.<name>``."""

        def fd_call(*args: Any, **kwargs: Any) -> Any:
            hit = self._decide(name, [_fd_path(args[0]) if args else None])
            if hit is not None:
                if self.short and name == "write" and not self._shorted:
                    self._shorted = True
                    data = memoryview(args[1])
                    return real(args[0], data[: max(1, len(data) // 2)])
                raise OSError(self.err, os.strerror(self.err), hit)
            return real(*args, **kwargs)

        def path_call(*args: Any, **kwargs: Any) -> Any:
            candidates: list[str | None] = []
            for arg in args[:2] if name in ("rename", "replace", "link") else args[:1]:
                if isinstance(arg, (str, os.PathLike)) and kwargs.get("dir_fd") is None:
                    candidates.append(os.path.abspath(os.fspath(arg)))
            hit = self._decide(name, candidates)
            if hit is not None:
                raise OSError(self.err, os.strerror(self.err), hit)
            return real(*args, **kwargs)

        return fd_call if name in FD_CALLS else path_call


@contextlib.contextmanager
def inject(
    calls: str | Iterable[str],
    under: Path,
    *,
    err: int = errno_module.ENOSPC,
    times: int | None = 1,
    skip: int = 0,
    match: str | Callable[[str], bool] | None = None,
    short: bool = False,
) -> Iterator[Fault]:
    """Make ``os.<call>`` raise ``OSError(err)`` for paths under *under*.

    *calls* is one name or several (see :data:`FD_CALLS`, :data:`PATH_CALLS`);
    the first *skip* matching calls go through, then *times* of them fail
    (``None``: all, until the block ends).  *match* narrows the paths to
    those containing that substring (``"mailproto-index"``, ``"/cur/"``) or
    passing that test (a callable on the absolute path).  With *short*, the
    first fault of an ``os.write`` is a short write (half the octets really
    written, that count returned) and the next raises: what a filling disk
    does; *times* counts both.
    The real functions are back when the block ends, whatever happened.
    """
    names = [calls] if isinstance(calls, str) else list(calls)
    fault = Fault(names, under, err=err, times=times, skip=skip, match=match, short=short)
    originals = {name: getattr(_home(name), name) for name in fault.calls}
    try:
        for name, real in originals.items():
            setattr(_home(name), name, fault.wrap(name, real))
        yield fault
    finally:
        for name, real in originals.items():
            setattr(_home(name), name, real)


def _home(name: str) -> Any:
    """The module whose function *name* the store calls."""
    return maildir if name == "syncfs" else os


def leftovers(root: Path) -> list[Path]:
    """Files in any ``tmp/`` directory under *root* (partial writes left behind)."""
    return sorted(p for p in root.rglob("tmp/*") if p.is_file())


def enhanced(error: smtplib.SMTPResponseException) -> str:
    """The enhanced status code (RFC 3463) at the start of a reply's text."""
    text = error.smtp_error
    raw = text.decode() if isinstance(text, bytes) else text
    return raw.split(" ", 1)[0]


def error_text(exc: BaseException) -> bytes:
    """The server's answer carried by a stdlib client's exception, as bytes.

    ``poplib.error_proto`` and ``imaplib.IMAP4.error`` hold the server's
    line as bytes; ``str()`` of it (what ``pytest.raises(match=...)`` does)
    is a ``BytesWarning`` under ``python -bb``, as the suite runs.
    """
    arg = exc.args[0] if exc.args else b""
    return arg if isinstance(arg, bytes) else str(arg).encode("utf-8", "replace")
