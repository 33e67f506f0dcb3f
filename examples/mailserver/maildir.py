"""The mail store: Maildir with Maildir++ folders, plus the IMAP metadata.

On-disk layout (one directory per account under the store root)::

    <root>/<account>/                 INBOX (a Maildir: tmp/ new/ cur/)
    <root>/<account>/.Sent/           folder "Sent" (Maildir++: a Maildir whose
    <root>/<account>/.Archive.2024/   name is "." + the IMAP name in modified UTF-7,
    <root>/<account>/.Caf&AOk-/       hierarchy separator "."; each has a
                                      ``maildirfolder`` file) -- folder "Café"
    <root>/<account>/*/mailproto-index    per-folder UID/MODSEQ log (below)
    <root>/<account>/mailproto-subscriptions, mailproto-uidvalidity, mailproto-pop3.lock

**Folder names on disk** are IMAP modified UTF-7 (RFC 3501 §5.1.3, the
codec :mod:`mailproto.codecs.imap_utf7`), as Courier's Maildir++ and
Dovecot's default Maildir++ layout store them, so that either server can
work on the same Maildir: ``Café`` is ``.Caf&AOk-``, ``R&D`` is ``.R&-D``.
The encoding never produces ``.`` or ``/`` (its base64 alphabet is
``A-Za-z0-9+,``), so the hierarchy separator on disk is exactly the one of
the IMAP name and every name is one directory component.  See
``Mailbox._dir`` (name -> directory) and ``_folder_of_dir`` (directory ->
name); earlier versions of this server wrote UTF-8 directory names, which
``Mailbox._migrate_legacy_dirs`` renames when the account is opened.

Message files follow the Maildir conventions (D. J. Bernstein's maildir(5)
and Courier's Maildir++): a unique base name
``<sec>.M<usec>P<pid>R<random>.<host>,S=<size>[,I=<delivery id>]``, written
in ``tmp/``, fsynced, renamed into ``new/`` (delivered, unseen by any IMAP
session) or ``cur/`` with an info suffix ``:2,<flags>``.  Flags are letters
in ASCII order: ``D`` \\Draft, ``F`` \\Flagged, ``P`` passed ($Forwarded),
``R`` \\Answered, ``S`` \\Seen, ``T`` \\Deleted, and ``a``-``z`` for IMAP
keywords (the letter -> keyword table is in the folder's index, at most 26
keywords per folder, as with Dovecot's ``dovecot-keywords``).

**The index** (``mailproto-index``, one per folder) is an append-only text
log; each line is one record:

* ``mailproto-index 1 <uidvalidity>`` — the first line;
* ``N <uidnext> <highestmodseq>`` — counters (written at compaction);
* ``K <letter> <keyword>`` — a keyword letter assignment;
* ``A <uid> <modseq> <internaldate> <base>`` — a message got a UID;
* ``M <uid> <modseq>`` — its flags changed (the flags are in the file name);
* ``X <uid> <modseq>`` — it was expunged (kept, bounded, for QRESYNC);
* ``R <uid> <modseq>`` — a reservation: every UID below and modseq up to
  these may have been handed out by deliveries whose records are not synced
  (see :class:`GroupCommit`).

Appends are ``write`` + ``fdatasync`` — except a delivery's ``A`` record
inside the reservation, which is synced by the next append that syncs (the
file is append-only, so a sync covers everything before it); a crash can
only lose a tail of the log and leave a partial last line, which loading
drops.  When the log grows past twice its live size it is
rewritten to a temporary file, fsynced, and renamed over the old one (then the
directory is fsynced): at every instant either the old or the new log is
complete.  Files found on disk without an index record (a crash between the
rename into ``new/`` and the log append, or an external MDA) get fresh UIDs
when the folder is loaded or :meth:`Folder.rescan` runs; records whose file
is gone become expunges.

**\\Recent** (RFC 3501 §2.3.2; RFC 9051 removed it) is Maildir's ``new/``:
:meth:`Folder.claim_recent` moves every file of ``new/`` to ``cur/`` and
returns their UIDs, so exactly one session (the first to select) sees each
message as recent.

**MODSEQ** (RFC 7162): every change (append, flag change, expunge) takes the
next value of the folder's HIGHESTMODSEQ; messages changed by one call share
it.  Expunges are remembered with their modseq (the last
:data:`VANISHED_HISTORY` of them) for ``VANISHED (EARLIER)``.

**POP3 and IMAP** (RFC 1939 §8): :meth:`Mailbox.pop3_lock` takes an
exclusive ``flock`` on the account (so a second POP3 session gets
:class:`MailboxLocked`).  The POP3 session works on a snapshot; its deletions
are applied by :meth:`Pop3Lock.commit` in the UPDATE state, which expunges
through the folder, so IMAP sessions watching INBOX are notified then and only
then.  While the lock is held, expunging INBOX from elsewhere raises
:class:`MailboxLocked` (answer ``NO [INUSE]``, RFC 5530), so POP3 message
numbers stay valid; deliveries and flag changes go on.

**Threads**: the store is used from the event-loop thread only, except
:meth:`Folder.stage`, which touches nothing shared and may run in an
executor, and the file work of :meth:`Folder.deliver`, which runs on
:func:`io_executor` and commits through the folder's :class:`GroupCommit`:
concurrent deliveries into one folder share one directory fsync per batch
(and an index fdatasync when the batch passes the folder's UID reservation),
and each returns only when its batch is durable.

**Change notification**: :meth:`Mailbox.watch` registers a callback that is
called (synchronously, in the mutating call) with a :class:`Change` after
every append, delivery, flag change or expunge of any folder of the account
— IMAP IDLE wakes on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import errno
import fcntl
import functools
import logging
import os
import queue
import random
import re
import shutil
import socket
import sys
import threading
import time
import unicodedata
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import attrs

from mailproto.codecs import imap_utf7

if TYPE_CHECKING:
    from .store_writer import StoreWriter

__all__ = [
    "SPECIAL_USE",
    "STANDARD_FLAGS",
    "STORAGE_FULL",
    "SYNC_MODES",
    "VANISHED_HISTORY",
    "Change",
    "Folder",
    "FolderInfo",
    "FolderNameError",
    "GroupCommit",
    "Mailbox",
    "MailboxLocked",
    "MessageInfo",
    "Pop3Lock",
    "Spooled",
    "Store",
    "StoreResult",
    "UnsyncedWrite",
    "atomic_write",
    "fsync_dir",
    "io_executor",
    "size_of",
    "sync_executor",
    "sync_mode_problem",
    "syncfs",
    "syncfs_unavailable",
    "unique_token",
    "validate_folder_name",
]

#: IMAP system flags that are stored (``\\Recent`` is per session, not stored).
STANDARD_FLAGS = ("\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen")
#: Folders every account gets, with their RFC 6154 attribute.
SPECIAL_USE = {"Drafts": "\\Drafts", "Sent": "\\Sent", "Trash": "\\Trash", "Junk": "\\Junk"}
#: How many expunged UIDs each folder remembers for QRESYNC.
VANISHED_HISTORY = 10_000
#: Most keywords a folder can hold (letters a-z).
MAX_KEYWORDS = 26
#: Threads of :func:`io_executor` (deliveries in flight at once).
IO_THREADS = 32
#: UIDs and modseqs a folder's index reserves ahead of its deliveries: the
#: index is fdatasync'ed for a delivery only when it passes the reservation
#: (see :class:`GroupCommit`), so about once per this many deliveries.
RESERVE = 1024
#: What an index append writes first after one that failed: a NUL (which no
#: record holds) and a newline, so the failed append's fragment becomes a
#: line that loading drops instead of a shorter record.
TORN_MARK = b"\0\n"
#: errno values that mean "the disk or the quota is full": SMTP answers them
#: ``452 4.3.1`` (RFC 3463 X.3.1 "mail system full"), IMAP ``NO [OVERQUOTA]``
#: (RFC 5530 §3), where other I/O errors get 451 4.3.0 and ``[UNAVAILABLE]``.
STORAGE_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
#: How a delivery's message file is made durable (``[store] sync``):
#: ``"file"`` fsyncs each file in its delivering thread; ``"filesystem"``
#: makes a whole commit batch's files durable with one ``syncfs(2)`` (see
#: :class:`GroupCommit`).
SYNC_MODES = ("file", "filesystem")
#: Who commits the batches of ``sync = "filesystem"`` (``[store] writer``):
#: ``"thread"``, a leader thread of the server's process; ``"process"``, the
#: store's writer process (:mod:`mailserver.store_writer`).
WRITERS = ("thread", "process")

log = logging.getLogger("mailserver.maildir")
_log = log  # for methods with a local named ``log``

_INDEX = "mailproto-index"
_INDEX_OCTETS = _INDEX.encode()
_SUBSCRIPTIONS = "mailproto-subscriptions"
_UIDVALIDITY = "mailproto-uidvalidity"
_POP3_LOCK = "mailproto-pop3.lock"
_SEP = "."
# Longest directory name most file systems take (NAME_MAX on Linux, BSDs,
# macOS); a folder's directory is "." + its modified UTF-7 name.
_NAME_MAX = 255
# Scratch directories (a folder being created or deleted).  ".." + anything
# is never the directory of a valid folder name (names cannot start with
# "."), so a leftover from a crash can never show up as a folder.
_SCRATCH = "..tmp-"

# Maildir info letters <-> IMAP flags.  "P" (passed) has no IMAP system flag;
# it maps to the registered keyword $Forwarded, as Dovecot does.
_LETTER_TO_FLAG = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "P": "$Forwarded",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
_FLAG_TO_LETTER = {v.lower(): k for k, v in _LETTER_TO_FLAG.items()}
# An IMAP flag-keyword is an atom (RFC 3501 §9): no atom-specials.
_KEYWORD_RE = re.compile(r"[!#$&'+,\-.0-9:;<=>?@A-Z^_`a-z|}~]{1,100}\Z")
_DELIVERY_ID_RE = re.compile(r"[A-Za-z0-9_\-]{1,64}\Z")
_HOST = socket.gethostname().replace("/", "\\057").replace(":", "\\072").replace(",", "\\054")


class FolderNameError(ValueError):
    """A folder name that is not allowed (traversal, control characters ...)."""


class MailboxLocked(Exception):
    """The mailbox is locked by a POP3 session (RFC 1939 §8)."""


# -- small helpers ----------------------------------------------------------------


def _on_dir(path: Path, call: Callable[[int], None]) -> None:
    """``call(fd)`` on a descriptor of the directory *path*, closed after."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        call(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """fsync a directory, so that a rename or unlink in it is durable."""
    _on_dir(path, os.fsync)


def _own_copy(error: OSError) -> OSError:
    # One exception object per delivery: raising a shared one in several
    # coroutines would splice their tracebacks together.
    return OSError(error.errno, error.strerror or str(error))


def syncfs_unavailable() -> str | None:
    """Why ``[store] sync = "filesystem"`` cannot be used here, or None if it can.

    ``syncfs(2)`` is Linux's; before Linux 5.8 it did not report errors
    of the writeback it waits for (they were lost, and a failed write would
    have been acknowledged), so older kernels are refused.
    """
    if not sys.platform.startswith("linux"):
        return f"syncfs(2) is Linux-only, not on {sys.platform}"
    release = os.uname().release
    try:
        major, minor = (int(part) for part in release.split(".")[:2])
    except ValueError:
        return f"cannot read the kernel version {release!r}"
    if (major, minor) < (5, 8):
        return f"syncfs(2) reports write errors from Linux 5.8 on; this is {release}"
    if _syncfs_call() is None:
        return "the C library has no syncfs"
    return None


def writer_problem(writer: str, sync: str) -> str | None:
    """What is wrong with *writer* as ``[store] writer`` beside *sync*, or None."""
    if writer not in WRITERS:
        return "writer must be one of " + ", ".join(f'"{w}"' for w in WRITERS)
    if writer == "process" and sync != "filesystem":
        return 'writer = "process" needs sync = "filesystem"'
    return None


def sync_mode_problem(mode: str) -> str | None:
    """What is wrong with *mode* as ``[store] sync`` here, or None."""
    if mode not in SYNC_MODES:
        return "sync must be one of " + ", ".join(f'"{m}"' for m in SYNC_MODES)
    if mode == "filesystem" and (why := syncfs_unavailable()) is not None:
        return f'sync = "filesystem": {why}'
    return None


@functools.cache
def _syncfs_call() -> Callable[[int], int] | None:
    try:
        call: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return call


def syncfs(fd: int) -> None:
    """``syncfs(2)``: make everything written on *fd*'s file system durable.

    All dirty data and metadata of that file system (not only one file's):
    one call covers a whole batch of new message files, where an fsync
    each would make the journal commit and flush the disk's cache once per
    file.  Raises ``OSError`` when the kernel reports a write error.
    """
    call = _syncfs_call()
    if call is None:
        raise OSError(errno.ENOSYS, "syncfs is not available")
    if call(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@attrs.frozen
class Spooled:
    """A message as a sequence of parts: bytes in memory and spool files on disk.

    What the SMTP service hands over for a large message: the trace fields
    it prepended (bytes) followed by the body it streamed into a spool file
    as ``DATA`` arrived.  Writers (:meth:`Folder.deliver`, the relay queue)
    put the parts into the new file with ``writev`` and the kernel's
    ``copy_file_range``/``sendfile``, so the message is never assembled in
    memory; prepending another field (``Return-Path:``) is :meth:`prefixed`,
    not a copy.  Spool files must not change while a delivery runs.
    """

    #: The parts, in order.
    parts: tuple[bytes | Path, ...]

    @property
    def size(self) -> int:
        """Total size in octets."""
        return sum(len(p) if isinstance(p, bytes) else p.stat().st_size for p in self.parts)

    def prefixed(self, prefix: bytes) -> Spooled:
        """The same message with *prefix* in front."""
        return Spooled((prefix, *self.parts))

    def read(self) -> bytes:
        """The whole message in memory (for the rare callers that need it)."""
        return b"".join(p if isinstance(p, bytes) else p.read_bytes() for p in self.parts)


def size_of(data: bytes | Spooled) -> int:
    """Size in octets of message *data* given either way."""
    return len(data) if isinstance(data, bytes) else data.size


def _write_all(fd: int, data: bytes | Spooled) -> int:
    parts = (data,) if isinstance(data, bytes) else data.parts
    written = 0
    pending: list[bytes] = []
    for part in (*parts, None):
        if isinstance(part, bytes):
            if part:
                pending.append(part)
            continue
        if pending:
            _writev_all(fd, pending)
            written += sum(len(b) for b in pending)
            pending = []
        if part is not None:
            written += _copy_file(fd, part)
    return written


def _writev_all(fd: int, buffers: list[bytes]) -> None:
    # One writev for the usual case; loop on short writes.
    views = [memoryview(b) for b in buffers]
    while views:
        n = os.writev(fd, views[:1024])
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]


def _copy_file(fd: int, source: Path) -> int:
    # In the kernel (no round trip through Python memory): copy_file_range
    # where available, sendfile otherwise.
    with open(source, "rb") as src:
        remaining = os.fstat(src.fileno()).st_size
        copied = 0
        copy = getattr(os, "copy_file_range", None)
        while remaining > 0:
            chunk = min(remaining, 1 << 30)
            try:
                n = (
                    copy(src.fileno(), fd, chunk)
                    if copy
                    else os.sendfile(fd, src.fileno(), None, chunk)
                )
            except OSError as exc:
                if copy is None or exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL):
                    raise
                copy = None
                continue
            if n == 0:
                raise OSError(errno.EIO, f"{source} shrank while being copied")
            remaining -= n
            copied += n
    return copied


def _write_file_durably(
    path: Path | bytes, data: bytes | Spooled, size: int | None = None, *, sync: bool = True
) -> None:
    """Write *path* (a new file) and fsync it (unless not *sync*).

    With *size*, the octets written must be exactly that many (the size is
    in a Maildir file name): a spool file that changed raises ``OSError``.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        written = _write_all(fd, data)
        if size is not None and written != size:
            raise OSError(errno.EIO, f"wrote {written} octets where {size} were expected")
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_unsynced(
    tmp: Path | bytes, data: bytes | Spooled, size: int, internaldate: float | None
) -> None:
    """Write the new file *tmp* of a commit batch, not synced (see :class:`GroupCommit`).

    With *internaldate*, the file's times are set to it (what loading
    reads as INTERNALDATE).
    """
    _write_file_durably(tmp, data, size, sync=False)
    if internaldate is not None:
        os.utime(tmp, (internaldate, internaldate))


class UnsyncedWrite(OSError):
    """:func:`atomic_write` replaced the file but could not sync its directory.

    The new contents are in place — every reader sees them from now on —
    but the rename may not survive a crash (the old file could come back).
    A plain :class:`OSError` from :func:`atomic_write` means the opposite:
    nothing changed.  The errno and message are those of the failed
    directory ``fsync``.
    """


def atomic_write(path: Path, data: bytes) -> None:
    """Replace *path* with *data*: temp file, fsync, rename, fsync the directory.

    Two ways to fail, which callers must tell apart (a change that is
    visible must not be reported as not made):

    * :class:`OSError` — raised before the rename: *path* is untouched (the
      temporary file is removed);
    * :class:`UnsyncedWrite` (an :class:`OSError` too, so a caller that
      does not care fails safe) — raised after it: the new contents are in
      place, only their durability is unknown.

    Which answer an ``UnsyncedWrite`` deserves is the caller's business:
    a value that must never be handed out twice (the UIDVALIDITY counter)
    or a state whose loss would repeat work (the relay queue's ``.env``)
    treats it as a failure and writes again later; a client-visible
    preference (IMAP subscriptions) or a file that is rebuilt when lost
    (a folder's index) counts the change as made and logs the sync failure
    — rolling back would need a second rename whose own durability is just
    as unknown, and would report "not done" for a state every reader has
    already seen.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        _write_file_durably(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    try:
        fsync_dir(path.parent)
    except OSError as exc:
        raise UnsyncedWrite(exc.errno, exc.strerror or str(exc), str(path.parent)) from exc


def validate_folder_name(name: str) -> str:
    """Check an IMAP folder name from a client; return it (``INBOX`` canonical).

    Names are untrusted: refuse anything that could leave the account's
    directory or confuse the Maildir++ mapping — empty names or components
    (``a..b``, leading or trailing ``.``), ``/`` and ``\\``, a leading ``~``,
    NUL and other control characters, the LIST wildcards ``%`` and ``*``,
    children of INBOX, names longer than 200 bytes in UTF-8, and names whose
    directory (``"." +`` the modified UTF-7 form) would be longer than the
    file system's 255-character limit (up to twice the UTF-8 length: ``é``
    alone is ``&AOk-``).  Raises :class:`FolderNameError`.
    """
    if not name:
        raise FolderNameError("empty folder name")
    if name.upper() == "INBOX":
        return "INBOX"
    if len(name.encode("utf-8", "surrogatepass")) > 200:
        raise FolderNameError("folder name too long")
    # Cc: C0 and C1 controls and DEL; Cs: lone surrogates (undecodable bytes).
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        raise FolderNameError("control characters in folder name")
    for bad in ("/", "\\", "%", "*"):
        if bad in name:
            raise FolderNameError(f"{bad!r} is not allowed in a folder name")
    if name.startswith("~"):
        raise FolderNameError("folder name may not start with '~'")
    parts = name.split(_SEP)
    if any(not p or p.strip() != p for p in parts):
        raise FolderNameError("empty or space-padded hierarchy level in folder name")
    if parts[0].upper() == "INBOX":
        raise FolderNameError("INBOX cannot have children here")
    if len(imap_utf7.encode(name)) + 1 > _NAME_MAX:
        raise FolderNameError("folder name too long once encoded for the file system")
    return name


def _folder_of_dir(dirname: str) -> str | None:
    """The IMAP name of Maildir++ folder directory *dirname*, or None.

    None for anything that is not the canonical directory of a valid
    folder name: not ``"."`` + modified UTF-7 (``.Café`` from an older
    version of this server, which ``Mailbox._migrate_legacy_dirs``
    renames), a name :func:`validate_folder_name` refuses (``.a&AAk-b`` is
    ``a<TAB>b``), INBOX (the account root is INBOX), scratch directories, and
    non-canonical encodings (``&AGEA6Q-`` for ``aé``, whose canonical form
    is ``a&AOk-``): a name must map back to the very directory it came
    from, or :meth:`Mailbox.folder` would not find it.
    """
    if not dirname.startswith(".") or dirname.startswith(_SCRATCH):
        return None
    encoded = dirname[1:]
    try:
        name = validate_folder_name(imap_utf7.decode(encoded))
    except ValueError:  # FolderNameError is one too
        return None
    if name == "INBOX" or imap_utf7.encode(name) != encoded:
        return None
    return name


def _flags_to_letters(flags: Iterable[str], keyword_letter: Callable[[str], str | None]) -> str:
    letters: set[str] = set()
    for flag in flags:
        letter = _FLAG_TO_LETTER.get(flag.lower())
        if letter is None:
            letter = keyword_letter(flag)
        if letter is not None:
            letters.add(letter)
    return "".join(sorted(letters))


# -- values -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MessageInfo:
    """One message of a folder, as of the call that returned it."""

    #: The message's UID (RFC 3501 §2.3.1.1).
    uid: int
    #: Its mod-sequence (RFC 7162).
    modseq: int
    #: IMAP flags and keywords (``\\Seen``, ``$Forwarded``, ``work`` ...),
    #: without ``\\Recent``.
    flags: frozenset[str]
    #: Size in octets (RFC822.SIZE).
    size: int
    #: INTERNALDATE as a POSIX timestamp.
    internaldate: float
    #: The Maildir base name (also a stable POP3 UIDL: unique, printable).
    key: str

    @property
    def internaldate_offset(self) -> int:
        """The zone INTERNALDATE is given in, in minutes east of UTC.

        What the client wrote in APPEND's date-time (RFC 9051 §6.3.12; a
        COPY or MOVE keeps it), else 0: UTC.  RFC 3501 and 9051 only
        require the instant, but a client that said ``+0200`` gets
        ``+0200`` back.  Kept in the message's file name (a ``,Z=+0200``
        field of the base name, as ``,S=`` keeps the size), so the index
        format is unchanged and a rebuilt index still knows it.
        """
        return _offset_from_base(self.key)


@attrs.frozen(kw_only=True)
class Change:
    """What one operation changed in a folder (for IDLE and other sessions)."""

    #: The folder's name.
    folder: str
    #: UIDs added (delivered, appended, copied or moved in).
    added: tuple[int, ...] = ()
    #: UIDs expunged.
    expunged: tuple[int, ...] = ()
    #: UIDs whose flags changed.
    flags: tuple[int, ...] = ()
    #: The folder's HIGHESTMODSEQ after the change.
    modseq: int = 0


@attrs.frozen(kw_only=True)
class StoreResult:
    """The outcome of :meth:`Folder.store_flags`."""

    #: Messages whose flags changed, with their new flags and modseq.
    changed: tuple[MessageInfo, ...]
    #: UIDs not changed because their modseq was above UNCHANGEDSINCE
    #: (RFC 7162 §3.1.3: report them in ``[MODIFIED ...]``).
    modified: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class FolderInfo:
    """One entry of :meth:`Mailbox.list_folders`."""

    #: The IMAP name (hierarchy separator ".").
    name: str
    #: RFC 6154 attribute (``\\Sent`` ...) or None.
    special_use: str | None = None
    #: True when some other folder's name starts with ``name + "."``.
    has_children: bool = False
    #: True when the folder is in the subscription list.
    subscribed: bool = False
    #: False for a level that exists only because it has children (its own
    #: folder was deleted, or never created): LIST shows it ``\\Noselect``
    #: (RFC 3501 §6.3.8) / ``\\NonExistent`` (RFC 9051 §7.3.1).
    selectable: bool = True


@attrs.define(eq=False)
class _Record:
    uid: int
    modseq: int
    internaldate: float
    base: str
    subdir: str  # "new" or "cur"
    letters: str  # info flags, sorted
    size: int


def _parse_name(filename: str) -> tuple[str, str | None]:
    """Split a Maildir file name into (base, letters or None for no info)."""
    base, sep, info = filename.partition(":")
    if not sep:
        return base, None
    if info.startswith("2,"):
        return base, "".join(sorted(set(info[2:])))
    return base, ""


def _size_from_base(base: str) -> int | None:
    for field in base.split(",")[1:]:
        if field.startswith("S=") and field[2:].isdigit():
            return int(field[2:])
    return None


def _delivery_id(base: str) -> str | None:
    for field in base.split(",")[1:]:
        if field.startswith("I="):
            return field[2:]
    return None


# Uniqueness, not secrecy: a generator seeded once from os.urandom (and
# again in a forked child) spares the event loop a getrandom() system call,
# and the GIL hand-over around it, for every message.
_unique = random.Random(os.urandom(16))
os.register_at_fork(after_in_child=lambda: _unique.seed(os.urandom(16)))


def unique_token(nbytes: int) -> str:
    """*nbytes* random bytes as hex, for unique (not secret) names."""
    return f"{_unique.getrandbits(8 * nbytes):0{2 * nbytes}x}"


def new_base_name(size: int, delivery_id: str | None = None, *, offset: int = 0) -> str:
    """A unique Maildir base name (maildir(5): time, microseconds, pid, randomness, host).

    *offset* is the zone of the message's INTERNALDATE in minutes east of
    UTC (see :attr:`MessageInfo.internaldate_offset`): kept as a ``,Z=``
    field when not 0.
    """
    now = time.time()
    sec = int(now)
    usec = int((now - sec) * 1_000_000)
    base = f"{sec}.M{usec}P{os.getpid()}R{unique_token(6)}.{_HOST},S={size}"
    if delivery_id is not None:
        if not _DELIVERY_ID_RE.match(delivery_id):
            raise ValueError(f"bad delivery id {delivery_id!r}")
        base += f",I={delivery_id}"
    if offset:
        if not -_MAX_OFFSET < offset < _MAX_OFFSET:
            raise ValueError(f"zone offset out of range: {offset} minutes")
        hours, minutes = divmod(abs(offset), 60)
        base += f",Z={'+' if offset > 0 else '-'}{hours:02d}{minutes:02d}"
    return base


# A zone is less than a day away from UTC (what datetime.timezone accepts;
# RFC 9051's zone is "+"/"-" 4DIGIT, hours and minutes).
_MAX_OFFSET = 24 * 60
_ZONE_FIELD_RE = re.compile(r",Z=([+-])([0-2][0-9])([0-5][0-9])(?:,|\Z)")


def _offset_from_base(base: str) -> int:
    """The ``,Z=+HHMM`` field of a base name in minutes (0 when absent or bad)."""
    if ",Z=" not in base:  # the usual case (every delivery): no regex
        return 0
    m = _ZONE_FIELD_RE.search(base)
    if m is None:
        return 0
    offset = int(m.group(2)) * 60 + int(m.group(3))
    if offset >= _MAX_OFFSET:
        return 0
    return -offset if m.group(1) == "-" else offset


class GroupCommit:
    """Group commit for one folder's deliveries: many messages, one set of fsyncs.

    A delivering thread that has renamed its message into ``new/`` hands its
    index record to :meth:`submit` (or waits for it in :meth:`commit`).  The
    first thread to arrive while no commit is running becomes the *leader*:
    it takes every record waiting at that moment, appends them to the index
    in one ``write`` and makes the batch durable — the directory fsync(s)
    in the leader, the index ``fdatasync`` (when one is due, below) in
    parallel on :func:`sync_executor` (independent syncs; the file system
    can serve them with one journal commit, and on a busy disk two syncs in
    a row would wait for two).  Records that arrive meanwhile form the next
    batch, which the same leader commits as soon as the current one is
    done, until none is left.

    **What must be durable before** ``250``: the message — its file (synced
    by the delivering thread) and its name in ``new/`` (the directory
    fsync).  Its index record need not be: a message whose record a crash
    lost is still on disk, and loading finds it and gives it a UID again.
    What the index must guarantee is that such a message never gets a UID
    (or modseq) *lower* than one a client may have seen — UIDs are never
    reused within a UIDVALIDITY (RFC 9051 §2.3.1.1) and modseqs never go
    backwards (RFC 7162 §3.1.2).  So with *reserve* set, the index holds a
    durable reservation ``R <uid> <modseq>`` covering every UID below and
    every modseq up to those values; a batch whose records stay inside it
    is appended without an ``fdatasync``, and a batch that passes it writes
    a new reservation *reserve* ahead and syncs the index (as every batch
    does with *reserve* None).  Loading a folder gives files that have no
    record UIDs and a modseq above the last reservation (:meth:`Folder.rescan`).

    Followers do not wait: their thread goes back to the pool at once (to
    write the next message), and each record's *on_done* is called — in the
    leader's thread — only after the batch holding it is on disk, with the
    exception if the batch failed.  So the number of thread hand-overs per
    message does not grow with the number of deliveries in flight.

    An index record durable before its file is harmless: loading turns a
    record without a file into the expunge of a UID nobody was shown.

    **Files the leader writes** (``[store] sync = "filesystem"``,
    :meth:`submit_unwritten`): a ticket may instead carry a message file not
    written yet — how to write it in ``tmp/`` (under its final name) and
    where to rename it.  The leader writes every such file of the batch (no
    fsync), appends their records to the index, makes files and records
    durable with one :func:`syncfs` of the folder's file system, and renames
    the files into place (:meth:`_log_ahead`).  No directory fsync follows:
    the record is the durable promise of the rename, and a load after a
    crash that lost one redoes it (:meth:`Folder._place_logged`).  So a
    batch costs one flush of the disk, where a written ticket's batch costs
    two (its file's, then the directory's).  The file is durable before its
    name appears in ``new/`` (maildir(5): no reader, and no load after a
    crash, ever sees a partial file), and before *on_done*.  If the
    ``syncfs`` fails, no file of the batch is renamed: each is removed (its
    record, if it reached the disk, names no file: loading expunges a UID
    nobody was shown) and its *on_done* gets the error; a write or a rename
    that fails fails its own message only.
    """

    def __init__(self, path: Path, index: Path, *, reserve: int | None = None) -> None:
        self._path = path
        self._index = index
        self._reserve = reserve
        #: The durable reservation: UIDs below ``covered[0]`` and modseqs up
        #: to ``covered[1]`` are safe to hand out without an index sync.
        #: Only the leader changes it (after the sync), or the folder before
        #: any delivery.
        self.covered = (0, 0)
        self._lock = threading.Lock()
        self._waiting: list[_Ticket] = []
        self._leading = False
        #: The last append to the index failed and may have left a partial
        #: line (a short write on a full disk): the next append, here or by
        #: :meth:`Folder._append_log`, starts with :data:`TORN_MARK`, which
        #: ends the fragment as a line loading drops — so its first record
        #: is not glued to the fragment, and the fragment (``X 12`` of
        #: ``X 123 45``, say) is never read as a record of its own.
        self.torn = False
        #: The index was replaced (:meth:`Folder._replace_index`) but the
        #: directory holding it could not be synced: the next append, here
        #: or by :meth:`Folder._append_log`, syncs it first (:meth:`sync_name`).
        self.name_unsynced = False
        #: Batches committed and records they held (for tests and tuning).
        self.batches = 0
        self.records = 0

    def submit(
        self,
        line: bytes,
        subdir: str,
        on_done: Callable[[OSError | None], None],
        *,
        uid: int = 0,
        modseq: int = 0,
    ) -> None:
        """Append *line* to the index; call *on_done* once ``<subdir>/`` is durable.

        *line* is the index record of the message with *uid* and *modseq*;
        it is durable too by then unless it is inside the reservation (see
        above).  *on_done* gets None, or the error that failed the batch (its own
        ``OSError`` object), and runs in whichever thread committed the
        batch: it must not block for long.  This thread may become the
        leader, in which case ``submit`` returns after committing.
        """
        ticket = _Ticket(line, subdir, on_done, uid, modseq)
        with self._lock:
            self._waiting.append(ticket)
            if self._leading:
                return  # the running leader takes it with its next batch
            self._leading = True
        self._lead()

    def submit_unwritten(
        self,
        line: bytes,
        subdir: str,
        on_done: Callable[[OSError | None], None],
        *,
        uid: int,
        modseq: int,
        tmp: Path,
        final: Path,
        write: Callable[[], None],
        run: Callable[[Callable[[], None]], object],
    ) -> None:
        """:meth:`submit` from the event loop, for a file not written yet.

        *write* writes the file *tmp* (no fsync); the leader calls it, syncs
        the batch and renames *tmp* to *final* (see "Files the leader
        writes" above).  This thread never leads: when no leader is running,
        *run* (a pool's ``run`` or an executor's ``submit``) starts one, so a
        burst of deliveries costs one thread hand-over per batch, not one
        per message.  Raises what *run* raises (nothing is queued then).
        """
        ticket = _Ticket(line, subdir, on_done, uid, modseq, _Unwritten(tmp, final, write))
        with self._lock:
            self._waiting.append(ticket)
            if self._leading:
                return
            self._leading = True
        try:
            run(self._lead)
        except BaseException:
            with self._lock:
                self._leading = False
                self._waiting.remove(ticket)
            raise

    def commit(self, line: bytes, subdir: str, *, uid: int = 0, modseq: int = 0) -> None:
        """:meth:`submit`, blocking until the batch is durable (raises its error)."""
        finished = threading.Event()
        errors: list[OSError] = []

        def done(error: OSError | None) -> None:
            if error is not None:
                errors.append(error)
            finished.set()

        self.submit(line, subdir, done, uid=uid, modseq=modseq)
        finished.wait()
        if errors:
            raise errors[0]

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._waiting = self._waiting, []
                if not batch:
                    self._leading = False
                    return
            error: OSError | None = None
            placed: list[_Ticket] = []
            try:
                placed, batch = self._write_files(batch)
                if batch:
                    self._write(batch)
            except OSError as exc:
                error = exc
            except BaseException:
                # Not an I/O error (a bug): fail this batch, stop leading, and
                # let the next submitter lead.
                with self._lock:
                    self._leading = False
                for t in batch:
                    t.on_done(OSError(errno.EIO, "index commit failed"))
                raise
            with self._lock:
                self.batches += 1
                self.records += len(placed) + len(batch)
            for t in placed:
                try:
                    t.on_done(None)
                except Exception:
                    log.exception("group commit callback failed")
            for t in batch:
                try:
                    t.on_done(None if error is None else _own_copy(error))
                except Exception:
                    log.exception("group commit callback failed")

    def _write_files(self, batch: list[_Ticket]) -> tuple[list[_Ticket], list[_Ticket]]:
        """Write, log and place the batch's unwritten files, with one sync for all.

        Returns the tickets placed (durable: their *on_done* is owed) and
        the tickets going on to :meth:`_write` (those with files already
        written).  The tickets that failed here have had their *on_done*
        called.
        """
        unwritten = [(t, t.unwritten) for t in batch if t.unwritten is not None]
        if not unwritten:
            return [], batch
        rest = [t for t in batch if t.unwritten is None]
        failed: list[tuple[_Ticket, _Unwritten, OSError]] = []
        written: list[tuple[_Ticket, _Unwritten]] = []
        for t, u in unwritten:
            try:
                u.write()
            except OSError as write_error:
                failed.append((t, u, write_error))
            else:
                written.append((t, u))
        placed: list[_Ticket] = []
        try:
            if written:
                self._log_ahead([t for t, _ in written])
        except OSError as sync_error:
            failed += [(t, u, sync_error) for t, u in written]
        else:
            for t, u in written:
                try:
                    os.rename(u.tmp, u.final)
                except OSError as rename_error:
                    failed.append((t, u, rename_error))
                else:
                    placed.append(t)
        for t, u, exc in failed:
            # Not acknowledged: the file goes, so that no load finds it in
            # tmp/ beside its record and places it (Folder._place_logged).
            with contextlib.suppress(OSError):
                os.unlink(u.tmp)
            try:
                t.on_done(_own_copy(exc))
            except Exception:
                log.exception("group commit callback failed")
        return placed, rest

    def _log_ahead(self, batch: list[_Ticket]) -> None:
        """Append the records of files written in ``tmp/``; make both durable with one syncfs.

        The records go to the index *before* their files are renamed, and
        one :func:`syncfs` covers the files, their names in ``tmp/`` and
        the records: after it, a crash that loses a rename is repaired by
        the next load (:meth:`Folder._place_logged` renames a logged
        ``tmp/`` file into place), so no directory fsync is owed after the
        renames, and a delivery costs one flush of the disk, not two.
        """
        data, covered = self._records_data(batch)
        self.sync_name()
        fd = os.open(self._index, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            self._append(fd, data)
            syncfs(fd)
        finally:
            os.close(fd)
        self.covered = covered

    def sync_name(self) -> None:
        """Sync the index's directory if a replacement left that owed.

        Called before an append writes anything: a record made durable by
        ``fdatasync`` is durable only if the file's name is, and when that
        sync fails again the append fails cleanly, having written nothing.
        """
        if self.name_unsynced:
            fsync_dir(self._index.parent)
            self.name_unsynced = False

    def _records_data(self, batch: list[_Ticket]) -> tuple[bytes, tuple[int, int]]:
        """The batch's records for the index, and the reservation once they are durable.

        A batch passing the reservation gets a new one *reserve* ahead in
        the same append (see above); the reservation returned is then the
        new one, else the current.
        """
        data = b"".join(t.line for t in batch)
        covered = self.covered
        reserve = self._reserve
        if reserve is not None:
            top_uid = max(t.uid for t in batch)
            top_modseq = max(t.modseq for t in batch)
            if top_uid >= covered[0] or top_modseq > covered[1]:
                covered = (top_uid + 1 + reserve, top_modseq + reserve)
                data += b"R %d %d\n" % covered
        return data, covered

    def _append(self, fd: int, data: bytes) -> None:
        """Write *data* at the end of the index open on *fd* (after a :data:`TORN_MARK` if owed)."""
        if self.torn:
            data = TORN_MARK + data
        self.torn = True
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        self.torn = False

    def _write(self, batch: list[_Ticket]) -> None:
        self.sync_name()
        data, covered = self._records_data(batch)
        # The index needs its own sync when it has no reservation, or when
        # this batch passes it (the new one must be durable before use).
        sync_index = self._reserve is None or covered != self.covered
        fd = os.open(self._index, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            self._append(fd, data)
            subdirs = sorted({t.subdir for t in batch})
            if not sync_index:
                for sub in subdirs:
                    fsync_dir(self._path / sub)
                return
            index_synced = sync_executor().submit(os.fdatasync, fd)
            try:
                for sub in subdirs:
                    fsync_dir(self._path / sub)
            finally:
                # Always wait: the fd must stay open until the sync is done.
                index_synced.result()
            self.covered = covered
        finally:
            os.close(fd)


@attrs.define(eq=False)
class _Ticket:
    line: bytes
    subdir: str
    on_done: Callable[[OSError | None], None]
    uid: int
    modseq: int
    unwritten: _Unwritten | None = None


@attrs.frozen(eq=False)
class _Unwritten:
    """A message file the group commit's leader writes and places."""

    #: Where it is written (in ``tmp/``), and where it is renamed to (the
    #: writer process passes them as octets: no ``Path`` made per message).
    tmp: Path | bytes
    final: Path | bytes
    #: Writes *tmp* (no fsync).
    write: Callable[[], None]


class _Workers(concurrent.futures.Executor):
    """A small thread pool for the store's file work, with a lean hand-over.

    :meth:`run` queues a callable that reports its own outcome (a delivery
    calls back into its event loop); no :class:`concurrent.futures.Future`,
    work item or condition variable is made per call, which is most of what
    ``loop.run_in_executor`` costs beyond the thread switch itself.
    Threads start on demand, up to *max_threads*, and then stay (parked in
    a ``SimpleQueue.get``, which costs nothing).  :meth:`submit` (the
    :class:`concurrent.futures.Executor` interface) is there for callers that
    want a future.
    """

    def __init__(self, max_threads: int, name: str) -> None:
        self._max = max_threads
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], object]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def run(self, fn: Callable[[], object]) -> None:
        """Call *fn()* in a pool thread; its exceptions are logged, not returned."""
        with self._lock:
            if self._idle:
                self._idle -= 1  # a parked thread will take it
            elif self._threads < self._max:
                self._threads += 1
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}_{self._threads}", daemon=True
                )
                thread.start()
        self._queue.put(fn)

    def submit(  # type: ignore[override]
        self, fn: Callable[..., object], /, *args: object, **kwargs: object
    ) -> concurrent.futures.Future[object]:
        future: concurrent.futures.Future[object] = concurrent.futures.Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        self.run(call)
        return future

    def _work(self) -> None:
        get = self._queue.get
        while True:
            fn = get()
            try:
                fn()
            except BaseException:
                log.exception("store worker task failed")
            with self._lock:
                self._idle += 1


# Threads start on first use, so creating the pools costs nothing.  The
# store's workers are daemon threads: at interpreter exit a delivery still
# in flight was never acknowledged (the server waits for its sessions
# before the loop ends), and whatever it left is what a crash leaves —
# at most a file in tmp/, or a message that the next load registers.
_IO_POOL = _Workers(IO_THREADS, "maildir-io")
# One index fdatasync per folder committing at once: sized for many
# mailboxes receiving together (a leader waits for its index sync).
_SYNC_POOL = concurrent.futures.ThreadPoolExecutor(
    max_workers=16, thread_name_prefix="maildir-sync"
)


class _LoopInbox:
    """Calls from store threads into one event loop, one wake-up per burst.

    ``loop.call_soon_threadsafe`` writes to the loop's self-pipe on every
    call: a system call, and a wake-up that the loop thread takes the GIL
    back for.  A group commit reports a whole batch at once, so the first
    report of a burst schedules :meth:`_drain` and the ones that arrive
    before it runs only join the list.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[Callable[[BaseException | None], None], BaseException | None]]
        self._pending = []
        self._scheduled = False

    def call(self, fn: Callable[[BaseException | None], None], arg: BaseException | None) -> None:
        """Run ``fn(arg)`` on the loop soon; from any thread.

        Raises ``RuntimeError`` if the loop is closed (as
        ``call_soon_threadsafe`` does).
        """
        with self._lock:
            self._pending.append((fn, arg))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:
            with self._lock:
                self._scheduled = False
            raise

    def _drain(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._scheduled = False
        for fn, arg in batch:
            try:
                fn(arg)
            except Exception as exc:  # one failure must not strand the rest
                self._loop.call_exception_handler(
                    {"message": "store callback failed", "exception": exc}
                )


_INBOXES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopInbox] = (
    weakref.WeakKeyDictionary()
)


def _loop_inbox(loop: asyncio.AbstractEventLoop) -> _LoopInbox:
    # On the loop's own thread (from deliver), so no lock is needed.
    inbox = _INBOXES.get(loop)
    if inbox is None:
        inbox = _INBOXES[loop] = _LoopInbox(loop)
    return inbox


def io_executor() -> concurrent.futures.Executor:
    """The thread pool deliveries write in.

    Its threads spend their time blocked in ``fsync``, not on the CPU, so it
    is wider than the loop's default executor: with more deliveries in
    flight, more of them share each batch commit.
    """
    return _IO_POOL


def sync_executor() -> concurrent.futures.Executor:
    """The pool that runs index fdatasyncs beside a batch's directory fsync."""
    return _SYNC_POOL


# -- a folder ---------------------------------------------------------------------


class Folder:
    """One Maildir folder with its UIDs, flags and mod-sequences.

    Obtain it from :meth:`Mailbox.folder`; every session shares the same
    object, so changes made through it are seen by all of them at once.
    """

    #: Rewrite the index when it has this many more lines than twice the
    #: number of messages (so appends stay O(1) amortised).
    COMPACT_SLACK = 1000

    def __init__(self, mailbox: Mailbox, name: str, path: Path) -> None:
        #: The IMAP name.
        self.name = name
        #: The Maildir directory.
        self.path = path
        # Its name as octets with a slash (for the store's writer process).
        self._home_octets = os.fsencode(path) + b"/"
        self._mailbox = mailbox
        self._records: dict[int, _Record] = {}
        self._by_base: dict[str, int] = {}
        self._delivery_ids: set[str] = set()
        self._keywords: dict[str, str] = {}  # letter -> keyword
        self._flag_cache: dict[str, frozenset[str]] = {}  # info letters -> IMAP flags
        self._keyword_letters: dict[str, str] = {}  # keyword lower -> letter
        self._vanished: list[tuple[int, int]] = []  # (uid, modseq), oldest first
        self._vanished_floor = 0  # modseq below which history was dropped
        self.uidvalidity = 0
        self.uidnext = 1
        self._hms = 1  # the last modseq handed out
        self._reserved: set[int] = set()  # modseqs of deliveries still being written
        self._inflight: set[str] = set()  # their base names (rescan leaves them alone)
        # Batches deliveries' fsyncs, with a UID/modseq reservation.
        self._group = GroupCommit(path, path / _INDEX, reserve=RESERVE)
        # The reservation found by _load, for its rescan (see GroupCommit).
        self._recovery_floor: tuple[int, int] | None = None
        self._log_lines = 0
        # Index records of changes already made on disk whose append failed
        # (a full disk): written ahead of the next append (_append_log).
        self._unlogged: list[str] = []
        self._load()

    # -- loading ---------------------------------------------------------------

    def _index_path(self) -> Path:
        return self.path / _INDEX

    def _load(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        index = self._index_path()
        try:
            text = index.read_bytes()
        except FileNotFoundError:
            text = b""
        lines = text.split(b"\n")
        if lines and lines[-1]:
            # A partial last line from a crash mid-append: drop it, and cut
            # the file so the next append starts on a fresh line.
            good = len(text) - len(lines[-1])
            with open(index, "r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())
        lines = lines[:-1]
        header = lines[0].split() if lines else []
        valid = (
            len(header) == 3
            and header[0] == b"mailproto-index"
            and header[2].isdigit()
            and 0 < int(header[2]) < 2**32
        )
        if not valid:
            # No usable index: every file gets a new UID, so the folder must
            # get a new UIDVALIDITY too (RFC 3501 §2.3.1.1).
            self.uidvalidity = self._mailbox._next_uidvalidity()
            self._replace_index(f"mailproto-index 1 {self.uidvalidity}\n".encode())
            lines = []
        else:
            self.uidvalidity = int(header[2])
            lines = lines[1:]
        pending: dict[int, tuple[int, float, str]] = {}
        pending_bases: dict[str, int] = {}
        for raw in lines:
            if b"\0" in raw:
                continue  # the fragment of a failed append (TORN_MARK)
            parts = raw.decode("utf-8", "surrogateescape").split(" ", 4)
            kind = parts[0]
            try:
                if kind == "A":
                    uid, modseq = int(parts[1]), int(parts[2])
                    base = parts[4]
                    if uid <= 0 or modseq < 0 or "/" in base or base.startswith("."):
                        continue
                    older = pending_bases.get(base)
                    if older is not None:  # one file, one UID: the later record wins
                        pending.pop(older, None)
                    pending[uid] = (modseq, float(parts[3]), base)
                    pending_bases[base] = uid
                    self._bump(uid, modseq)
                elif kind == "M":
                    uid, modseq = int(parts[1]), int(parts[2])
                    if uid <= 0 or modseq < 0:
                        continue
                    if uid in pending:
                        pending[uid] = (modseq, *pending[uid][1:])
                    self._bump(uid, modseq)
                elif kind == "X":
                    uid, modseq = int(parts[1]), int(parts[2])
                    if uid <= 0 or modseq < 0:
                        continue
                    pending.pop(uid, None)
                    self._vanished.append((uid, modseq))
                    self._bump(uid, modseq)
                elif kind == "K":
                    if len(parts[1]) != 1 or not "a" <= parts[1] <= "z":
                        continue
                    self._keywords[parts[1]] = parts[2]
                    self._keyword_letters[parts[2].lower()] = parts[1]
                elif kind == "N":
                    self.uidnext = max(self.uidnext, int(parts[1]))
                    self._hms = max(self._hms, int(parts[2]))
                elif kind == "V":
                    self._vanished_floor = max(self._vanished_floor, int(parts[1]))
                elif kind == "R":
                    # A reservation (GroupCommit): not a UIDNEXT, only a
                    # floor for files whose records a crash lost.
                    floor = (int(parts[1]), int(parts[2]))
                    old = self._recovery_floor or (0, 0)
                    self._recovery_floor = (max(old[0], floor[0]), max(old[1], floor[1]))
            except (IndexError, ValueError):
                continue  # a damaged record: ignore it, rescan repairs
        self._log_lines = len(lines)
        for uid, (modseq, date, base) in pending.items():
            self._records[uid] = _Record(uid, modseq, date, base, "cur", "", -1)
            self._by_base[base] = uid
        if self._recovery_floor is not None:
            self._group.covered = self._recovery_floor
        self._place_logged({base for _, _, base in pending.values()})
        try:
            self.rescan(notify=False)
        finally:
            self._recovery_floor = None

    def _place_logged(self, logged: Collection[str]) -> None:
        """Rename into place the ``tmp/`` files whose records are *logged*.

        With ``[store] sync = "filesystem"`` a delivery's record and its
        file in ``tmp/`` are made durable together, and the rename into
        ``new/`` (or ``cur/``, when the name carries flags) is not synced
        by itself (:meth:`GroupCommit._log_ahead`): a crash may have lost
        it after the ``250``.  Such a file is complete (the sync came
        first); its size is checked against its name all the same, and a
        file that does not match is left alone, as is any ``tmp/`` file
        without a record (a delivery that was never acknowledged).
        """
        placed: set[str] = set()
        with os.scandir(self.path / "tmp") as it:
            for entry in it:
                base, letters = _parse_name(entry.name)
                if base not in logged:
                    continue
                size = _size_from_base(base)
                try:
                    if size is not None and entry.stat().st_size != size:
                        _log.warning("%s: %s in tmp/ is not complete", self.path, entry.name)
                        continue
                    sub = "new" if letters is None else "cur"
                    os.rename(entry.path, self.path / sub / entry.name)
                except FileNotFoundError:
                    continue
                placed.add(sub)
                _log.info("%s: placed %s, logged before a crash", self.path, entry.name)
        for sub in sorted(placed):
            fsync_dir(self.path / sub)

    def _replace_index(self, data: bytes) -> None:
        """Replace the index with *data* (:func:`atomic_write`).

        When only the directory sync fails the new index is in place, and
        it is the file every later append goes to: the change counts as
        made (the old log and the new one hold the same records), and the
        sync is owed — :attr:`GroupCommit.name_unsynced` makes the next
        append sync the directory *before* it writes, so no record is
        reported durable while the name of the file holding it is not.
        (Were the rename lost in a crash, the old log would come back
        complete, or no log for a new folder: a fresh UIDVALIDITY, RFC 3501
        §2.3.1.1.)
        """
        try:
            atomic_write(self._index_path(), data)
        except UnsyncedWrite:
            log.warning("%s: index replaced, directory not synced", self.path, exc_info=True)
            self._group.name_unsynced = True

    def _bump(self, uid: int, modseq: int) -> None:
        if uid >= self.uidnext:
            self.uidnext = uid + 1
        if modseq > self._hms:
            self._hms = modseq

    # -- the log ---------------------------------------------------------------

    def _append_log(self, lines: list[str]) -> None:
        # Records of changes already made on disk whose own append failed
        # (see _remove, rescan) go first: the log catches up with them.
        lines = [*self._unlogged, *lines]
        self._group.sync_name()
        data = "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")
        if self._group.torn:
            # The last append failed, maybe after a short write (ENOSPC):
            # end the partial line as one loading drops (GroupCommit.torn).
            data = TORN_MARK + data
        fd = os.open(self._index_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            self._group.torn = True
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fdatasync(fd)
            self._group.torn = False
        finally:
            os.close(fd)
        self._unlogged = []
        self._log_lines += len(lines)
        if not self._reserved and self._log_lines > 2 * len(self._records) + self.COMPACT_SLACK:
            # (Never while a delivery thread may be appending to the old file.)
            try:
                self._compact()
            except OSError:
                # The old log is intact (atomic_write) and the records just
                # appended are durable: the change the caller made stands,
                # so a failed compaction must not fail it.  Retried with the
                # next append.
                log.warning("%s: index compaction failed", self.path, exc_info=True)

    def _compact(self) -> None:
        if len(self._vanished) > VANISHED_HISTORY:
            dropped = self._vanished[:-VANISHED_HISTORY]
            self._vanished = self._vanished[-VANISHED_HISTORY:]
            self._vanished_floor = max(self._vanished_floor, *(m for _, m in dropped))
        out = [f"mailproto-index 1 {self.uidvalidity}", f"N {self.uidnext} {self._hms}"]
        if self._group.covered != (0, 0):
            # The reservation stands: records appended later are not synced.
            covered_uid, covered_modseq = self._group.covered
            out.append(f"R {covered_uid} {covered_modseq}")
        if self._vanished_floor:
            out.append(f"V {self._vanished_floor}")
        out.extend(f"K {letter} {kw}" for letter, kw in sorted(self._keywords.items()))
        out.extend(f"X {uid} {modseq}" for uid, modseq in self._vanished)
        out.extend(
            f"A {r.uid} {r.modseq} {r.internaldate:.6f} {r.base}"
            for r in sorted(self._records.values(), key=lambda r: r.uid)
        )
        data = "".join(line + "\n" for line in out).encode("utf-8", "surrogateescape")
        self._replace_index(data)
        self._log_lines = len(out) - 1
        self._group.torn = False
        self._unlogged = []  # the new log holds them (from memory)

    @property
    def highestmodseq(self) -> int:
        """HIGHESTMODSEQ (RFC 7162 §3.1.2.1).

        While a delivery is being written in a thread its modseq is taken
        but the message is not visible yet: report just below it, so that a
        client resynchronising from this value cannot miss that message.
        """
        if self._reserved:
            return min(self._reserved) - 1
        return self._hms

    def _next_modseq(self) -> int:
        self._hms += 1
        return self._hms

    def _notify(self, change: Change) -> None:
        self._mailbox._notify(change)

    # -- scanning --------------------------------------------------------------

    def rescan(self, *, notify: bool = True) -> Change | None:
        """Reconcile the index with the files on disk.

        Needed only for changes made outside this process (another MDA, a
        crash between a rename and its log record).  Files without a record
        get UIDs (in name order, so the result is deterministic); records
        whose file disappeared are expunged; flag letters changed on disk
        count as flag changes.  Returns the change (also notified), or None.
        """
        on_disk: dict[str, tuple[str, str | None, str]] = {}
        for sub in ("new", "cur"):
            with os.scandir(self.path / sub) as it:
                for entry in it:
                    if entry.name.startswith("."):
                        continue
                    base, letters = _parse_name(entry.name)
                    if base in self._inflight:
                        continue  # a delivery in a thread: it registers itself
                    on_disk[base] = (sub, letters, entry.name)
        added: list[int] = []
        expunged: list[int] = []
        flagged: list[int] = []
        log: list[str] = []
        for uid in list(self._records):
            rec = self._records[uid]
            found = on_disk.pop(rec.base, None)
            if found is None:
                expunged.append(uid)
                continue
            sub, letters, _ = found
            letters = letters or ""
            if rec.size < 0:  # freshly loaded: take the disk's state as is
                rec.subdir, rec.letters = sub, letters
                rec.size = self._size_of(rec.base, sub, found[2])
            elif rec.subdir != sub or rec.letters != letters:
                rec.subdir = sub
                if rec.letters != letters:
                    rec.letters = letters
                    flagged.append(uid)
        if on_disk and self._recovery_floor is not None:
            # Loading, and files without records: deliveries whose records
            # a crash lost, whose UIDs and modseq a client may have seen.
            # New ones above the reservation cannot collide with those.
            self.uidnext = max(self.uidnext, self._recovery_floor[0])
            self._hms = max(self._hms, self._recovery_floor[1])
        modseq = self._hms
        if added or expunged or flagged or on_disk:
            modseq = self._next_modseq()
        for uid in expunged:
            rec = self._records.pop(uid)
            self._by_base.pop(rec.base, None)
            if (d := _delivery_id(rec.base)) is not None:
                self._delivery_ids.discard(d)
            self._vanished.append((uid, modseq))
            log.append(f"X {uid} {modseq}")
        for uid in flagged:
            self._records[uid].modseq = modseq
            log.append(f"M {uid} {modseq}")
        for base in sorted(on_disk):
            sub, letters, fname = on_disk[base]
            uid = self.uidnext
            self.uidnext += 1
            try:
                st = os.stat(self.path / sub / fname)
            except FileNotFoundError:
                continue
            size = _size_from_base(base)
            rec = _Record(uid, modseq, st.st_mtime, base, sub, letters or "", size or st.st_size)
            self._records[uid] = rec
            self._by_base[base] = uid
            added.append(uid)
            log.append(f"A {uid} {modseq} {rec.internaldate:.6f} {base}")
        for rec in self._records.values():
            if (d := _delivery_id(rec.base)) is not None:
                self._delivery_ids.add(d)
        if not log:
            if self._unlogged:
                # Records a full disk held back (a UID a client has seen):
                # a rescan (SELECT, POP3 login) is a chance to write them.
                with contextlib.suppress(OSError):
                    self._append_log([])
            return None
        try:
            self._append_log(log)
        except OSError:
            # The records describe what is on disk and memory already holds
            # them: a full disk must not fail the SELECT or POP3 login that
            # rescanned.  Kept for the next append; lost by a crash, they are
            # found again by the next load (above the reservation).
            self._unlogged.extend(log)
            _log.warning("%s: cannot log a rescan", self.path, exc_info=True)
        change = Change(
            folder=self.name,
            added=tuple(added),
            expunged=tuple(expunged),
            flags=tuple(flagged),
            modseq=modseq,
        )
        if notify:
            self._notify(change)
        return change

    def _size_of(self, base: str, sub: str, fname: str) -> int:
        size = _size_from_base(base)
        if size is not None:
            return size
        try:
            return os.stat(self.path / sub / fname).st_size
        except FileNotFoundError:
            return 0

    # -- reading ---------------------------------------------------------------

    def _filename(self, rec: _Record) -> Path:
        if rec.subdir == "new":
            return self.path / "new" / rec.base
        return self.path / "cur" / f"{rec.base}:2,{rec.letters}"

    def _flags(self, letters: str) -> frozenset[str]:
        # Few distinct letter strings exist in a folder: memoise their flag sets.
        flags = self._flag_cache.get(letters)
        if flags is None:
            names = {_LETTER_TO_FLAG.get(c) or self._keywords.get(c, "") for c in letters}
            names.discard("")
            flags = self._flag_cache[letters] = frozenset(names)
        return flags

    def _info(self, rec: _Record) -> MessageInfo:
        return MessageInfo(
            uid=rec.uid,
            modseq=rec.modseq,
            flags=self._flags(rec.letters),
            size=rec.size,
            internaldate=rec.internaldate,
            key=rec.base,
        )

    def __len__(self) -> int:
        return len(self._records)

    def uids(self) -> list[int]:
        """Every UID, ascending (message sequence number n is ``uids()[n-1]``)."""
        return sorted(self._records)

    def messages(self) -> list[MessageInfo]:
        """Every message, by ascending UID."""
        return [self._info(self._records[uid]) for uid in sorted(self._records)]

    def get(self, uid: int) -> MessageInfo | None:
        """The message with *uid*, or None."""
        rec = self._records.get(uid)
        return self._info(rec) if rec is not None else None

    def file_path(self, uid: int) -> Path:
        """The current path of the message file (changes when flags change)."""
        rec = self._records.get(uid)
        if rec is None:
            raise KeyError(uid)
        return self._filename(rec)

    def read(self, uid: int) -> bytes:
        """The message's bytes, exactly as stored.  KeyError when expunged."""
        return self.file_path(uid).read_bytes()

    def open(self, uid: int) -> BinaryIO:
        """The message's file, open for reading.  KeyError when expunged.

        The open file stays readable whatever happens to its name later (a
        flag change renames it, an expunge unlinks it), so a reader can
        stream it without holding it all in memory.
        """
        return open(self.file_path(uid), "rb")

    def has_delivery(self, delivery_id: str) -> bool:
        """True when a message delivered with *delivery_id* is in this folder."""
        return delivery_id in self._delivery_ids

    @property
    def keywords(self) -> tuple[str, ...]:
        """Keywords defined in this folder (for FLAGS / PERMANENTFLAGS)."""
        return tuple(sorted(self._keywords.values()))

    @property
    def can_add_keywords(self) -> bool:
        """False when all 26 keyword letters are used (PERMANENTFLAGS without ``\\*``)."""
        return len(self._keywords) < MAX_KEYWORDS

    def unseen_count(self) -> int:
        """Messages without \\Seen (STATUS UNSEEN)."""
        return sum(1 for r in self._records.values() if "S" not in r.letters)

    def recent_count(self) -> int:
        """Messages still in ``new/`` (STATUS RECENT)."""
        return sum(1 for r in self._records.values() if r.subdir == "new")

    def first_unseen(self) -> int | None:
        """UID of the first message without \\Seen, or None."""
        for uid in sorted(self._records):
            if "S" not in self._records[uid].letters:
                return uid
        return None

    def changed_since(self, modseq: int) -> list[MessageInfo]:
        """Messages whose modseq is above *modseq* (CHANGEDSINCE, RFC 7162 §3.1.4)."""
        return [
            self._info(r)
            for r in sorted(self._records.values(), key=lambda r: r.uid)
            if r.modseq > modseq
        ]

    def vanished_since(self, modseq: int) -> list[int] | None:
        """UIDs expunged after *modseq* (``VANISHED (EARLIER)``, RFC 7162 §3.2.10).

        ``None`` when the history no longer reaches back that far: the caller
        then reports every UID below UIDNEXT that is not present (allowed by
        RFC 7162 §3.2.5.2).
        """
        if modseq < self._vanished_floor:
            return None
        return sorted({uid for uid, m in self._vanished if m > modseq})

    # -- writing ---------------------------------------------------------------

    def _keyword_letter(self, keyword: str, *, create: bool) -> str | None:
        letter = self._keyword_letters.get(keyword.lower())
        if letter is not None or not create:
            return letter
        if keyword.startswith("\\"):
            raise ValueError(f"unknown system flag {keyword}")
        if not _KEYWORD_RE.match(keyword):
            raise ValueError(f"invalid keyword {keyword!r}")
        free = [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in self._keywords]
        if not free:
            return None  # full: the keyword is not stored (PERMANENTFLAGS says so)
        letter = free[0]
        self._keywords[letter] = keyword
        self._flag_cache.clear()
        self._keyword_letters[keyword.lower()] = letter
        self._append_log([f"K {letter} {keyword}"])
        return letter

    def _letters(self, flags: Iterable[str]) -> str:
        return _flags_to_letters(flags, lambda k: self._keyword_letter(k, create=True))

    def stage(
        self,
        data: bytes | Spooled,
        *,
        delivery_id: str | None = None,
        flags: Iterable[str] = (),
        internaldate: float | None = None,
        offset: int = 0,
    ) -> str:
        """Durably write a message into this folder; return its file name.

        ``tmp/`` → fsync(file) → rename into ``new/`` (or ``cur/`` with an
        info suffix when *flags* are given) → fsync(directory).  Touches no
        shared state, so it may run in a thread; call :meth:`register` with
        the result on the event-loop thread to give it a UID.  *offset* is
        the zone of *internaldate* (:attr:`MessageInfo.internaldate_offset`).
        """
        size = size_of(data)
        base = new_base_name(size, delivery_id, offset=offset)
        tmp = self.path / "tmp" / base
        target: Path | None = None
        try:
            _write_file_durably(tmp, data, size)
            if internaldate is not None:
                os.utime(tmp, (internaldate, internaldate))
            flags = list(flags)
            if flags:
                letters = _flags_to_letters(flags, lambda k: self._keyword_letters.get(k.lower()))
                name = f"{base}:2,{letters}"
                target = self.path / "cur" / name
            else:
                name = base
                target = self.path / "new" / name
            os.rename(tmp, target)
            # Inside the try: a stage that fails is not acknowledged, so its
            # file must not stay in new/ or cur/ for a rescan to deliver.
            fsync_dir(target.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if target is not None:
                with contextlib.suppress(OSError):
                    target.unlink()
            raise
        return name

    def register(self, filename: str, *, internaldate: float | None = None) -> int:
        """Give the staged file *filename* a UID (logged durably) and notify."""
        return self.register_many([(filename, internaldate)])[0]

    def register_many(self, files: list[tuple[str, float | None]]) -> list[int]:
        """Give staged files UIDs, with one index append and one notification.

        *files* are ``(file name, internaldate or None)``; returns their UIDs
        in order (a file already registered keeps its UID).
        """
        uids: list[int] = []
        added: list[int] = []
        lines: list[str] = []
        records: list[_Record] = []
        modseq = self._hms + 1
        for filename, internaldate in files:
            base, letters = _parse_name(filename)
            existing = self._by_base.get(base)
            if existing is not None:
                uids.append(existing)
                continue
            uid = self.uidnext
            self.uidnext += 1
            when = time.time() if internaldate is None else internaldate
            size = _size_from_base(base)
            rec = _Record(
                uid,
                modseq,
                when,
                base,
                "new" if letters is None else "cur",
                letters or "",
                size if size is not None else 0,
            )
            if size is None:
                rec.size = os.stat(self._filename(rec)).st_size
            lines.append(f"A {uid} {modseq} {when:.6f} {base}")
            records.append(rec)
            uids.append(uid)
            added.append(uid)
        if not records:
            return uids
        self._hms = modseq
        self._append_log(lines)
        for rec in records:
            self._records[rec.uid] = rec
            self._by_base[rec.base] = rec.uid
            if (d := _delivery_id(rec.base)) is not None:
                self._delivery_ids.add(d)
        self._notify(Change(folder=self.name, added=tuple(added), modseq=modseq))
        return uids

    async def deliver(
        self,
        data: bytes | Spooled,
        *,
        delivery_id: str | None = None,
        flags: Iterable[str] = (),
        internaldate: float | None = None,
        offset: int = 0,
        executor: concurrent.futures.Executor | None = None,
    ) -> int:
        """Store *data* and return its UID; durable when it returns.

        Without *flags* the message goes to ``new/`` (a delivery: it will be
        ``\\Recent``); with them (IMAP APPEND) to ``cur/`` with those flags.
        The same steps as :meth:`stage` + :meth:`register`, but the event
        loop never waits on a disk: all the file work runs in one hop to
        *executor* (default: :func:`io_executor`, a pool sized for threads
        that mostly wait in fsync), and concurrent deliveries into this
        folder share their commits (**group commit**, see :class:`GroupCommit`):

        1. on the loop: the UID, modseq and file name are taken;
        2. in the thread, per message: write ``tmp/<name>``, fsync it, rename
           it into ``new/`` (or ``cur/``) — threads do this in parallel;
        3. still in the thread: join the folder's commit batch.  One
           directory fsync and one index append (with an fdatasync in
           parallel when the batch passes the folder's UID reservation)
           cover every message in the batch; while a batch commits,
           newcomers gather in the next one.

        It returns — and the message becomes visible and watchers are told —
        only after its batch is on disk, so "returned" still means "durable";
        what changes is the number of fsyncs per message when deliveries
        overlap.  The thread does not wait for the batch: the commit calls
        back into the event loop (one thread hand-over each way per message).
        A caller that is cancelled meanwhile (its client went away) does not
        stop the delivery: the message is registered all the same.
        *offset* is the zone of *internaldate*, as for :meth:`append`.

        With the store's writer process (``Store(writer="process")``) steps
        2 and 3 run there, one batch for whatever requests it finds waiting
        (:mod:`mailserver.store_writer`), and *executor* is not used.
        """
        letters = self._checked_letters(flags)
        size = size_of(data)
        base = new_base_name(size, delivery_id, offset=offset)
        uid = self.uidnext
        self.uidnext += 1
        modseq = self._next_modseq()
        when = time.time() if internaldate is None else internaldate
        name = base if letters is None else f"{base}:2,{letters}"
        subdir = "new" if letters is None else "cur"
        line = f"A {uid} {modseq} {when:.6f} {base}\n".encode("utf-8", "surrogateescape")
        self._reserved.add(modseq)
        self._inflight.add(base)
        if delivery_id is not None:
            # Claimed now, so a concurrent retry with the same id is a no-op.
            self._delivery_ids.add(delivery_id)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()

        def finish(error: BaseException | None) -> None:
            # On the loop, whether or not the caller still waits (a dropped
            # connection must not leave a durable message unregistered).
            self._reserved.discard(modseq)
            self._inflight.discard(base)
            if error is not None:
                if delivery_id is not None:
                    self._delivery_ids.discard(delivery_id)
                if not done.done():
                    done.set_exception(error)
                return
            rec = _Record(uid, modseq, when, base, subdir, letters or "", size)
            self._records[uid] = rec
            self._by_base[base] = uid
            self._log_lines += 1
            self._notify(Change(folder=self.name, added=(uid,), modseq=modseq))
            if not done.done():
                done.set_result(uid)

        writer = self._mailbox.writer
        if writer is not None:
            # sync = "filesystem" with the leader's work done by the store's
            # writer process (mailserver.store_writer), which takes file
            # names as octets (made here without a Path each).
            group = self._group
            home = self._home_octets
            octets = os.fsencode(name)
            final = home + subdir.encode() + b"/" + octets

            def written(error: OSError | None, torn: bool) -> None:
                if torn:
                    group.torn = True
                if error is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(final)
                finish(error)

            try:
                writer.submit(
                    written,
                    index=home + _INDEX_OCTETS,
                    tmp=home + b"tmp/" + octets,
                    final=final,
                    record=line,
                    data=data,
                    size=size,
                    internaldate=internaldate,
                    torn=group.torn,
                )
            except OSError as exc:  # no writer process could start
                finish(exc)
            return await done

        inbox = _loop_inbox(loop)

        def report(error: BaseException | None) -> None:
            # In a store thread: hand the outcome to the loop.  If the loop
            # is closed (the process is exiting), what is on disk is
            # registered by the next load, as after a crash.
            with contextlib.suppress(RuntimeError):
                inbox.call(finish, error)

        if self._mailbox.sync == "filesystem":
            # The file is written by the folder's commit leader too: no
            # thread hand-over per message (see GroupCommit.submit_unwritten).
            # Its name in tmp/ is its final name, flags included, so that a
            # load can place it after a crash (_place_logged).
            tmp = self.path / "tmp" / name
            target = self.path / subdir / name

            def write() -> None:
                write_unsynced(tmp, data, size, internaldate)

            def placed(error: OSError | None) -> None:
                if error is not None:
                    with contextlib.suppress(OSError):
                        target.unlink()
                report(error)

            try:
                self._group.submit_unwritten(
                    line,
                    subdir,
                    placed,
                    uid=uid,
                    modseq=modseq,
                    tmp=tmp,
                    final=target,
                    write=write,
                    run=_IO_POOL.run if executor is None else executor.submit,
                )
            except BaseException as exc:  # a shut-down pool: nothing was written
                finish(exc)
            return await done

        def work() -> None:
            target = self._write_message(base, subdir, name, data, size, internaldate, report)
            if target is None:
                return

            def committed(error: OSError | None) -> None:
                if error is not None:
                    # Not acknowledged: take the file away rather than let a
                    # later rescan deliver it behind the sender's back.
                    with contextlib.suppress(OSError):
                        target.unlink()
                report(error)

            self._group.submit(line, subdir, committed, uid=uid, modseq=modseq)

        try:
            if executor is None:
                _IO_POOL.run(work)
            else:
                executor.submit(work)
        except BaseException as exc:  # e.g. a shut-down executor: nothing was written
            finish(exc)
        return await done

    def _write_message(
        self,
        base: str,
        subdir: str,
        name: str,
        data: bytes | Spooled,
        size: int,
        internaldate: float | None,
        report: Callable[[BaseException | None], None],
    ) -> Path | None:
        # Runs in a thread.  The message file is this thread's own: write it
        # in tmp/, fsync it, rename it into place (maildir(5): a reader never
        # sees a partial file).  The rename and the index record become
        # durable with the folder's next batch commit.  Returns the final
        # path, or None after reporting the error.
        tmp = self.path / "tmp" / base
        target = self.path / subdir / name
        try:
            _write_file_durably(tmp, data, size)
            if internaldate is not None:
                os.utime(tmp, (internaldate, internaldate))
            os.rename(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            report(exc)
            return None
        return target

    def _checked_letters(self, flags: Iterable[str]) -> str | None:
        """Validate APPEND flags, create their keywords; None when there are none."""
        # \\Recent is the server's to set (RFC 3501 §2.3.2): ignored here.
        wanted = [f for f in flags if f.lower() != "\\recent"]
        if not wanted:
            return None
        for flag in wanted:
            if flag.startswith("\\") and flag.lower() not in _FLAG_TO_LETTER:
                raise ValueError(f"cannot store flag {flag}")
        return self._letters(wanted)

    def append(
        self,
        data: bytes,
        *,
        flags: Iterable[str] = (),
        internaldate: float | None = None,
        delivery_id: str | None = None,
        offset: int = 0,
    ) -> int:
        """Store a message (IMAP APPEND, or a delivery); return its UID.

        Durable when it returns.  Keywords in *flags* are created as needed.
        *offset* is the zone *internaldate* was given in, minutes east of
        UTC (:attr:`MessageInfo.internaldate_offset`).
        """
        # \Recent is the server's to set (RFC 3501 §2.3.2): ignored here.
        flags = [f for f in flags if f.lower() != "\\recent"]
        for flag in flags:
            if flag.startswith("\\") and flag.lower() not in _FLAG_TO_LETTER:
                raise ValueError(f"cannot store flag {flag}")
            if not flag.startswith("\\"):
                self._keyword_letter(flag, create=True)
        when = internaldate if internaldate is not None else time.time()
        name = self.stage(
            data, delivery_id=delivery_id, flags=flags, internaldate=when, offset=offset
        )
        try:
            return self.register(name, internaldate=when)
        except BaseException:
            # Not acknowledged (APPEND answers NO): the staged file must not
            # stay for a later rescan to show behind the client's back.
            with contextlib.suppress(OSError):
                (self.path / ("cur" if flags else "new") / name).unlink()
            raise

    def claim_recent(self) -> frozenset[int]:
        """Move every message of ``new/`` to ``cur/``; return their UIDs.

        The first session to call this (at SELECT) sees them as ``\\Recent``
        (RFC 3501 §2.3.2); later sessions get an empty set.
        """
        claimed = []
        for rec in self._records.values():
            if rec.subdir != "new":
                continue
            src = self._filename(rec)
            rec.subdir = "cur"
            try:
                os.rename(src, self._filename(rec))
            except FileNotFoundError:
                rec.subdir = "new"
                continue
            except OSError:
                # A disk error: the file is still in new/, so must the record
                # be (or the message could not be read).  It stays recent for
                # the next session; this SELECT goes on with those claimed.
                rec.subdir = "new"
                log.warning("%s: cannot claim recent messages", self.path, exc_info=True)
                break
            claimed.append(rec.uid)
        return frozenset(claimed)

    def store_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        mode: str = "set",
        *,
        unchangedsince: int | None = None,
    ) -> StoreResult:
        """Change flags (IMAP STORE): *mode* is ``"set"``, ``"add"`` or ``"remove"``.

        Only messages whose flags really change get a new modseq (all the
        same one).  With *unchangedsince* (RFC 7162 §3.1.3), messages whose
        modseq is higher are left alone and returned in
        :attr:`StoreResult.modified`.  Unknown UIDs are ignored.
        """
        if mode not in ("set", "add", "remove"):
            raise ValueError(f"mode must be set, add or remove, not {mode!r}")
        flags = list(flags)
        for flag in flags:
            if flag.startswith("\\") and flag.lower() not in _FLAG_TO_LETTER:
                if flag.lower() == "\\recent":
                    continue  # RFC 3501 §2.3.2: \Recent cannot be changed by a client
                raise ValueError(f"cannot store flag {flag}")
        wanted = set(self._letters(f for f in flags if f.lower() != "\\recent"))
        todo: list[tuple[_Record, str]] = []
        modified: list[int] = []
        for uid in uids:
            rec = self._records.get(uid)
            if rec is None:
                continue
            if unchangedsince is not None and rec.modseq > unchangedsince:
                modified.append(uid)
                continue
            current = set(rec.letters)
            if mode == "set":
                new = wanted
            elif mode == "add":
                new = current | wanted
            else:
                new = current - wanted
            letters = "".join(sorted(new))
            if letters != rec.letters or rec.subdir == "new":
                todo.append((rec, letters))
        will_change = [r for r, letters in todo if letters != r.letters]
        if not todo:
            return StoreResult(changed=(), modified=tuple(modified))
        modseq = self._next_modseq() if will_change else self._hms
        if will_change:
            # Log first: a crash after it costs only a spurious modseq bump.
            self._append_log([f"M {r.uid} {modseq}" for r in will_change])
        changed: list[_Record] = []
        error: OSError | None = None
        for rec, letters in todo:
            src = self._filename(rec)
            old = (rec.subdir, rec.letters)
            rec.subdir, rec.letters = "cur", letters
            try:
                os.rename(src, self._filename(rec))
            except FileNotFoundError:
                rec.subdir, rec.letters = old
                continue
            except OSError as exc:
                # The flags are in the file name: memory must say what the
                # disk says.  Stop here; the messages renamed so far keep
                # their new flags (and are announced), the caller gets NO.
                rec.subdir, rec.letters = old
                error = exc
                break
            if letters != old[1]:
                rec.modseq = modseq
                changed.append(rec)
        if changed:
            self._notify(
                Change(folder=self.name, flags=tuple(r.uid for r in changed), modseq=modseq)
            )
        if error is not None:
            raise error
        return StoreResult(changed=tuple(self._info(r) for r in changed), modified=tuple(modified))

    def _check_lock(self, lock: Pop3Lock | None) -> None:
        if self.name == "INBOX" and self._mailbox._pop3_holder not in (None, lock):
            raise MailboxLocked("a POP3 session holds this mailbox")

    def expunge(
        self, uids: Collection[int] | None = None, *, lock: Pop3Lock | None = None
    ) -> list[int]:
        """Remove messages flagged ``\\Deleted`` (all, or only those in *uids*).

        Returns the expunged UIDs, ascending.  INBOX cannot be expunged while
        a POP3 session other than *lock*'s holder has it (:class:`MailboxLocked`).
        """
        self._check_lock(lock)
        wanted = None if uids is None else set(uids)
        targets = [
            r
            for uid, r in sorted(self._records.items())
            if "T" in r.letters and (wanted is None or uid in wanted)
        ]
        return self._remove(targets)

    def remove(self, uids: Iterable[int], *, lock: Pop3Lock | None = None) -> list[int]:
        """Expunge *uids* whatever their flags (POP3 DELE, MOVE)."""
        self._check_lock(lock)
        targets = [self._records[u] for u in sorted(set(uids)) if u in self._records]
        return self._remove(targets)

    def withdraw(self, uids: Iterable[int]) -> list[int]:
        """Expunge messages just added by an operation that then failed.

        What an SMTP message answered 4xx, a MULTIAPPEND or a MOVE that
        failed half way use to take back their copies (so a retry does not
        duplicate them).  Unlike :meth:`remove` it is allowed while a POP3
        session holds INBOX: a message added after the lock was taken is in
        no POP3 snapshot, so the POP3 message numbers stay valid (RFC 1939
        §8).  Raises :class:`MailboxLocked` for a message that is in one.
        """
        wanted = set(uids)
        holder = self._mailbox._pop3_holder if self.name == "INBOX" else None
        if holder is not None and any(m.uid in wanted for m in holder.messages):
            raise MailboxLocked("a POP3 session holds this message")
        return self._remove([self._records[u] for u in sorted(wanted) if u in self._records])

    def _remove(self, targets: list[_Record], *, unlink: bool = True) -> list[int]:
        if not targets:
            return []
        dirs = set()
        error: OSError | None = None
        if unlink:
            # Unlink before logging: a crash between leaves a record whose
            # file is gone, which the next load turns into an expunge.
            gone: list[_Record] = []
            try:
                for rec in targets:
                    path = self._filename(rec)
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                    gone.append(rec)
                    dirs.add(path.parent)
                for directory in dirs:
                    fsync_dir(directory)
            except OSError as exc:
                # The files already unlinked are gone whatever we answer:
                # never keep (and serve) a record whose file is missing.
                # They are expunged below, the rest stay, and the caller
                # gets the error (POP3 "-ERR some deleted messages not
                # removed", IMAP NO with the EXPUNGEs of those that went).
                error, targets = exc, gone
                if not targets:
                    raise
        modseq = self._next_modseq()
        lines = [f"X {r.uid} {modseq}" for r in targets]
        try:
            self._append_log(lines)
        except OSError:
            if not unlink:
                raise
            # The files are gone (and the directory synced): the expunge
            # has happened.  Its records wait for the next append; a crash
            # before that loses nothing, as loading turns a record whose
            # file is missing into an expunge.
            self._unlogged.extend(lines)
            log.warning("%s: cannot log an expunge", self.path, exc_info=True)
        for rec in targets:
            del self._records[rec.uid]
            self._by_base.pop(rec.base, None)
            if (d := _delivery_id(rec.base)) is not None:
                self._delivery_ids.discard(d)
            self._vanished.append((rec.uid, modseq))
        expunged = tuple(r.uid for r in targets)
        self._notify(Change(folder=self.name, expunged=expunged, modseq=modseq))
        if error is not None:
            raise error
        return list(expunged)

    def copy(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        """Copy messages into *dest* with their flags (IMAP COPY; UIDPLUS COPYUID).

        Returns ``(source uid, destination uid)`` pairs.  Each copy is a new
        file (hard link when possible) made durable before it is registered.
        """
        sources: list[int] = []
        staged: list[tuple[str, float | None]] = []
        tmp: Path | None = None
        try:
            for uid in sorted(set(uids)):
                rec = self._records.get(uid)
                if rec is None:
                    continue
                src = self._filename(rec)
                letters = dest._letters(self._info(rec).flags)
                # The copy keeps the INTERNALDATE (RFC 9051 §6.4.7), zone included.
                base = new_base_name(rec.size, offset=_offset_from_base(rec.base))
                tmp = dest.path / "tmp" / base
                try:
                    os.link(src, tmp)  # same content, no copy: files are immutable
                except OSError:
                    try:
                        _write_file_durably(tmp, src.read_bytes())
                    except FileNotFoundError:
                        continue
                name = f"{base}:2,{letters}"
                os.rename(tmp, dest.path / "cur" / name)
                tmp = None
                sources.append(uid)
                staged.append((name, rec.internaldate))
            if not staged:
                return []
            # One directory fsync and one index append for the whole batch.
            fsync_dir(dest.path / "cur")
            return list(zip(sources, dest.register_many(staged)))
        except BaseException:
            # COPY is all or nothing (RFC 9051 §6.4.7: on failure the
            # destination is left as it was): remove what was staged, so no
            # later rescan shows copies the client was told had failed.
            for path in [tmp, *(dest.path / "cur" / name for name, _ in staged)]:
                if path is not None:
                    with contextlib.suppress(OSError):
                        path.unlink()
            raise

    def move(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        """Move messages to *dest* (RFC 6851): copy, then expunge here.

        Out of a POP3-locked INBOX it raises :class:`MailboxLocked` before
        copying anything.
        """
        self._check_lock(None)
        pairs = self.copy(uids, dest)
        try:
            self.remove([src for src, _ in pairs])
        except OSError:
            # Messages still here must not also stay there (a retried MOVE
            # would copy them twice): take their copies back.  Those whose
            # source did go are moved.
            dest.withdraw([d for s, d in pairs if s in self._records])
            raise
        return pairs


# -- one account ------------------------------------------------------------------


class Pop3Lock:
    """An exclusive POP3 hold on an account's INBOX (RFC 1939 §8).

    Get one from :meth:`Mailbox.pop3_lock`.  :attr:`messages` is the
    maildrop as of locking; :meth:`commit` applies the session's deletions
    (the UPDATE state); :meth:`release` (or leaving the ``with`` block)
    drops the lock without deleting anything.
    """

    def __init__(self, mailbox: Mailbox, fd: int) -> None:
        self._mailbox = mailbox
        self._fd: int | None = fd
        #: The INBOX folder.
        self.folder = mailbox.folder("INBOX")
        self.folder.rescan()
        #: The maildrop snapshot, in UID order (POP3 message n is messages[n-1]).
        self.messages: list[MessageInfo] = self.folder.messages()

    def read(self, index: int) -> bytes:
        """Message *index* (0-based) of the snapshot.  KeyError if gone."""
        return self.folder.read(self.messages[index].uid)

    def open(self, index: int) -> BinaryIO:
        """Message *index* (0-based) of the snapshot as an open file.  KeyError if gone."""
        return self.folder.open(self.messages[index].uid)

    def commit(self, deleted: Iterable[int]) -> list[int]:
        """Expunge the snapshot messages at 0-based *deleted* positions; release."""
        try:
            uids = [self.messages[i].uid for i in deleted]
            return self.folder.remove(uids, lock=self)
        finally:
            self.release()

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if self._mailbox._pop3_holder is self:
            self._mailbox._pop3_holder = None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> Pop3Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Mailbox:
    """An account's mailbox: INBOX plus Maildir++ folders.

    Obtain it from :meth:`Store.mailbox`.
    """

    def __init__(
        self, path: Path, *, sync: str = "file", writer: StoreWriter | None = None
    ) -> None:
        #: The account's Maildir root (INBOX).
        self.path = path
        #: How deliveries make their files durable: one of :data:`SYNC_MODES`.
        self.sync = sync
        #: The store's writer process, which commits the deliveries' batches
        #: (``[store] writer = "process"``), or None: a leader thread does.
        self.writer = writer
        self._folders: dict[str, Folder] = {}
        self._watchers: list[Callable[[Change], None]] = []
        self._pop3_holder: Pop3Lock | None = None
        fresh = not (path / "cur").exists()
        path.mkdir(parents=True, exist_ok=True)
        if fresh:
            # Before cur/ exists: if the disk fails anywhere in this first
            # open, the next open is "fresh" again and subscribes INBOX then
            # (made after, a failed first open lost the subscription).
            self.subscribe("INBOX")
        for sub in ("tmp", "new", "cur"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        for leftover in path.glob(f"{_SCRATCH}*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a crash mid-create/delete
        self._migrate_legacy_dirs()
        # The special-use folders always exist (Dovecot's "auto = subscribe"):
        # made, and subscribed, whenever one is missing at open.
        for name in SPECIAL_USE:
            if not self.exists(name):
                # Subscribed first (a name need not exist to be subscribed,
                # RFC 3501 §6.3.6): if the disk fails between the two, the
                # folder is still missing and the next open does both.
                self.subscribe(name)
                self.create_folder(name)

    # -- folders ---------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        """The directory of folder *name*: ``"." +`` its modified UTF-7 form."""
        name = validate_folder_name(name)
        if name == "INBOX":
            return self.path
        path = self.path / f".{imap_utf7.encode(name)}"
        # Belt and braces: whatever the validation missed, never leave the root.
        if path.resolve().parent != self.path.resolve():
            raise FolderNameError("folder name escapes the mailbox")
        return path

    def _migrate_legacy_dirs(self) -> None:
        """Rename folder directories not in canonical modified UTF-7.

        Earlier versions of this server stored a folder as ``"." +`` its
        IMAP name in UTF-8 (``.Café``, ``.R&D``).  We migrate rather than
        list such a directory under its raw name: the name <-> directory
        mapping must stay one function, or :meth:`folder` would need a
        second lookup path, ``.Café`` and ``.Caf&AOk-`` could both claim
        "Café", and Dovecot or Courier on the same Maildir would still show
        the folder under a garbled name.  A rename is atomic and keeps the
        folder's index, so UIDVALIDITY and UIDs survive and clients do not
        resynchronise.  Only directories with ``maildirfolder`` and ``cur/``
        (folders, not other files of the account) are touched.  A name that
        decodes as modified UTF-7 is read as such (``.Caf&AOk-`` is "Café"
        even if an old version wrote it for a folder literally named
        ``Caf&AOk-``: ambiguous, and the modified UTF-7 reading is the one
        every other Maildir++ server makes); a non-canonical encoding
        written by another tool is renamed to the canonical one.  When the
        canonical directory already exists, both are kept and the legacy
        one is logged and not listed (merging folders is a human's call).
        """
        with os.scandir(self.path) as it:
            candidates = [
                e.name
                for e in it
                if e.name.startswith(".")
                and not e.name.startswith(_SCRATCH)
                and e.is_dir()
                and _folder_of_dir(e.name) is None
            ]
        moved = False
        for dirname in candidates:
            raw = dirname[1:]
            try:
                name = imap_utf7.decode(raw)
            except ValueError:
                name = raw  # UTF-8 (or a bare "&") from an older version
            try:
                name = validate_folder_name(name)
            except FolderNameError:
                continue  # not a folder a client could have created
            source = self.path / dirname
            if name == "INBOX" or not (source / "maildirfolder").is_file():
                continue
            if not (source / "cur").is_dir():
                continue
            target = self._dir(name)
            if target.exists():
                log.warning("%s: not migrating %r: %s exists", self.path, dirname, target.name)
                continue
            try:
                os.rename(source, target)
            except OSError as exc:
                # ENOENT: another process opening the account migrated it;
                # ENOTEMPTY/EEXIST: the target appeared meanwhile (as above).
                # Either way the account must still open.
                if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
                    raise
                log.warning("%s: not migrating %r: %s", self.path, dirname, exc)
                continue
            log.info("%s: folder directory %r renamed to %r", self.path, dirname, target.name)
            moved = True
        if moved:
            fsync_dir(self.path)

    def exists(self, name: str) -> bool:
        """True when folder *name* exists (False for invalid names)."""
        try:
            path = self._dir(name)
        except FolderNameError:
            return False
        return (path / "cur").is_dir()

    def folder(self, name: str) -> Folder:
        """Open folder *name* (shared object).  KeyError when it does not exist."""
        name = validate_folder_name(name)
        folder = self._folders.get(name)
        if folder is not None:
            return folder
        path = self._dir(name)
        if not (path / "cur").is_dir():
            raise KeyError(name)
        folder = Folder(self, name, path)
        self._folders[name] = folder
        return folder

    def list_folders(self) -> list[FolderInfo]:
        """Every folder, INBOX first then by name."""
        names = ["INBOX"]
        with os.scandir(self.path) as it:
            for entry in it:
                # Directory -> IMAP name: decode modified UTF-7; anything
                # else is not something a client could have created.
                name = _folder_of_dir(entry.name)
                if name is None:
                    continue
                if entry.is_dir() and (Path(entry.path) / "maildirfolder").exists():
                    names.append(name)
        subscribed = set(self.subscriptions())
        existing = set(names)
        parents: set[str] = set()
        for name in names:
            parts = name.split(_SEP)
            parents.update(_SEP.join(parts[:i]) for i in range(1, len(parts)))
        out = []
        for name in ["INBOX", *sorted((existing | parents) - {"INBOX"})]:
            out.append(
                FolderInfo(
                    name=name,
                    special_use=SPECIAL_USE.get(name),
                    has_children=name in parents,
                    subscribed=name in subscribed,
                    selectable=name in existing,
                )
            )
        return out

    def create_folder(self, name: str) -> Folder:
        """Create folder *name* (FileExistsError when it exists)."""
        path = self._dir(name)
        if (path / "cur").is_dir():
            raise FileExistsError(name)
        tmp = self.path / f"{_SCRATCH}create-{os.urandom(6).hex()}"
        renamed = False
        try:
            for sub in ("tmp", "new", "cur"):
                (tmp / sub).mkdir(parents=True)
            (tmp / "maildirfolder").touch()
            os.rename(tmp, path)
            renamed = True
            fsync_dir(self.path)
            return self.folder(name)  # writes the index (a new UIDVALIDITY)
        except BaseException:
            # CREATE answers NO: the folder must not appear anyway (it is
            # new and empty, so taking it back loses nothing).
            self._folders.pop(validate_folder_name(name), None)
            if renamed:
                with contextlib.suppress(OSError):
                    os.rename(path, tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def delete_folder(self, name: str) -> None:
        """Delete folder *name* and its messages (not INBOX, not its children)."""
        name = validate_folder_name(name)
        if name == "INBOX":
            raise FolderNameError("INBOX cannot be deleted")
        path = self._dir(name)
        if not (path / "cur").is_dir():
            raise KeyError(name)
        # Rename out of sight first (atomic), then remove at leisure.
        doomed = self.path / f"{_SCRATCH}delete-{os.urandom(6).hex()}"
        os.rename(path, doomed)
        try:
            fsync_dir(self.path)
        except BaseException:
            # DELETE answers NO: put the folder back as it was.
            with contextlib.suppress(OSError):
                os.rename(doomed, path)
            raise
        folder = self._folders.pop(name, None)
        shutil.rmtree(doomed, ignore_errors=True)
        if folder is not None:
            self._notify(Change(folder=name, expunged=tuple(folder.uids())))
        # The subscription stays: RFC 9051 §6.3.7 "A server MUST NOT
        # unilaterally remove an existing mailbox name from the subscription
        # list even if a mailbox by that name no longer exists" (LIST
        # (SUBSCRIBED) then shows it \NonExistent, RFC 5258 §3).

    def rename_folder(self, old: str, new: str) -> None:
        """Rename a folder and its children (RFC 3501 §6.3.5).

        Renaming INBOX moves its messages into a new folder and leaves INBOX
        empty, as the RFC asks.
        """
        old, new = validate_folder_name(old), validate_folder_name(new)
        if new == "INBOX":
            raise FolderNameError("cannot rename to INBOX")
        if self.exists(new):
            raise FileExistsError(new)
        if old == "INBOX":
            src = self.folder("INBOX")
            dest = self.create_folder(new)
            try:
                src.move(src.uids(), dest)
            except BaseException:
                # All or nothing where it can be: the move took its copies
                # back, so a folder left empty goes again (a retried RENAME
                # would find it and fail).  One holding messages whose
                # sources did go stays: they live there now.
                if not dest.uids():
                    with contextlib.suppress(OSError):
                        self.delete_folder(new)
                raise
            return
        if not self.exists(old):
            raise KeyError(old)
        renames = [(old, new)]
        for info in self.list_folders():
            if info.name.startswith(old + _SEP):
                renames.append((info.name, new + info.name[len(old) :]))
        for _, b in renames:
            validate_folder_name(b)
        done: list[tuple[str, str]] = []
        try:
            for a, b in renames:
                os.rename(self._dir(a), self._dir(b))
                self._folders.pop(a, None)
                done.append((a, b))
            fsync_dir(self.path)
            subs = self.subscriptions()
            if old in subs:
                self._write_subscriptions([new if s == old else s for s in subs])
        except BaseException:
            # RENAME answers NO: no half-renamed hierarchy.  Undo in reverse.
            for a, b in reversed(done):
                self._folders.pop(b, None)
                with contextlib.suppress(OSError):
                    os.rename(self._dir(b), self._dir(a))
            with contextlib.suppress(OSError):
                fsync_dir(self.path)
            raise

    # -- subscriptions (IMAP SUBSCRIBE/LSUB) -------------------------------------

    def subscriptions(self) -> list[str]:
        """Subscribed folder names."""
        try:
            text = (self.path / _SUBSCRIPTIONS).read_text("utf-8")
        except FileNotFoundError:
            return []
        return [line for line in text.split("\n") if line]

    def _write_subscriptions(self, names: list[str]) -> None:
        try:
            atomic_write(self.path / _SUBSCRIPTIONS, "".join(n + "\n" for n in names).encode())
        except UnsyncedWrite:
            # The new list is in place and LSUB/LIST (SUBSCRIBED) show it:
            # SUBSCRIBE answering NO would deny a change every reader sees.
            # A crash before the directory reaches the disk may bring the
            # old list back — what a crash just before the command does.
            log.warning("%s: subscriptions written, directory not synced", self.path, exc_info=True)

    def subscribe(self, name: str) -> None:
        """Add *name* to the subscriptions (it need not exist, RFC 3501 §6.3.6)."""
        name = validate_folder_name(name)
        subs = self.subscriptions()
        if name not in subs:
            self._write_subscriptions([*subs, name])

    def unsubscribe(self, name: str) -> None:
        """Remove *name* from the subscriptions (KeyError when absent)."""
        subs = self.subscriptions()
        if name not in subs:
            raise KeyError(name)
        self._write_subscriptions([s for s in subs if s != name])

    # -- UIDVALIDITY ---------------------------------------------------------------

    def _next_uidvalidity(self) -> int:
        # RFC 3501 §2.3.1.1: a folder recreated under the same name must get
        # a different UIDVALIDITY; a per-account counter that is at least the
        # current time guarantees that even within one second.
        path = self.path / _UIDVALIDITY
        try:
            last = int(path.read_text().strip() or "0")
        except (FileNotFoundError, ValueError):
            last = 0
        value = max(int(time.time()), last + 1) & 0xFFFFFFFF
        # An UnsyncedWrite fails the caller too: a value handed out whose
        # counter a crash could roll back might be handed out again.
        atomic_write(path, f"{value}\n".encode())
        return value

    # -- POP3 lock -------------------------------------------------------------------

    def pop3_lock(self) -> Pop3Lock:
        """Take the exclusive POP3 lock, or raise :class:`MailboxLocked`.

        The lock is an ``flock`` on ``mailproto-pop3.lock``, so it also
        excludes POP3 sessions of other processes on the same store.
        """
        fd = os.open(self.path / _POP3_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise MailboxLocked("another POP3 session holds this maildrop") from None
            raise
        try:
            lock = Pop3Lock(self, fd)
        except BaseException:
            # (The snapshot's rescan failed: a disk error.)  Without this the
            # flock stayed held by a leaked descriptor and every later login
            # got "maildrop already locked" until the server restarted.
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise
        self._pop3_holder = lock
        return lock

    @property
    def pop3_locked(self) -> bool:
        """True while a POP3 session of this process holds the lock."""
        return self._pop3_holder is not None

    # -- change notification -------------------------------------------------------

    def watch(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call *callback* with every :class:`Change`; return an unsubscribe function."""
        self._watchers.append(callback)

        def cancel() -> None:
            with contextlib.suppress(ValueError):
                self._watchers.remove(callback)

        return cancel

    def _notify(self, change: Change) -> None:
        for callback in list(self._watchers):
            try:
                callback(change)
            except Exception:
                # The change is already durable: a failing watcher (one IMAP
                # session's bug) must not turn it into a reported failure.
                log.exception("change watcher failed for %s", change.folder)


class Store:
    """All accounts' mailboxes under one root directory."""

    def __init__(self, root: Path | str, *, sync: str = "file", writer: str = "thread") -> None:
        """*sync* is one of :data:`SYNC_MODES` (``[store] sync``), *writer* one of
        :data:`WRITERS` (``[store] writer``).

        An unknown mode, ``"filesystem"`` where :func:`syncfs_unavailable`
        says it cannot work, or a writer process without it, raises
        ``ValueError`` (:func:`sync_mode_problem`, :func:`writer_problem`).
        Call :meth:`close` when done: it ends the writer process.
        """
        if (problem := sync_mode_problem(sync) or writer_problem(writer, sync)) is not None:
            raise ValueError(problem)
        #: The store's root directory.
        self.root = Path(root)
        #: How deliveries make their files durable (:data:`SYNC_MODES`).
        self.sync = sync
        self._writer: StoreWriter | None = None
        if writer == "process":
            from .store_writer import StoreWriter  # (it imports this module)

            self._writer = StoreWriter()
        self.root.mkdir(parents=True, exist_ok=True)
        self._mailboxes: dict[str, Mailbox] = {}

    def mailbox(self, account: str) -> Mailbox:
        """The mailbox of *account* (its canonical address), created on first use."""
        box = self._mailboxes.get(account)
        if box is None:
            if not account or "/" in account or account.startswith(".") or "\0" in account:
                raise FolderNameError(f"bad account name {account!r}")
            box = Mailbox(self.root / account, sync=self.sync, writer=self._writer)
            self._mailboxes[account] = box
        return box

    def close(self) -> None:
        """End the writer process, if any (deliveries still in flight fail)."""
        if self._writer is not None:
            self._writer.close()

    def mailboxes(self) -> Iterator[Mailbox]:
        """The mailboxes opened so far."""
        return iter(list(self._mailboxes.values()))
