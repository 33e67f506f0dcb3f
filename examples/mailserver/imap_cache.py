"""What the IMAP service remembers about message files between FETCHes.

Why a cache
-----------
Clients FETCH the same few things over and over: a mail client opening a
folder asks for the header section (or ENVELOPE, or some HEADER.FIELDS) of
every message, every time.  Reading each file whole to cut its header off
costs an ``open``/``read``/``close`` of up to megabytes per message; Dovecot
avoids it with ``dovecot.index.cache``, which keeps fetched header fields.
This module is the reference server's equivalent, in memory:

* :meth:`MessageCache.header` returns the header section (with the empty
  line that ends it, exactly what ``BODY[HEADER]`` is, RFC 9051 §6.4.5) and
  reads only the first :data:`HEAD_READ` octets of the file, unless the
  header section is longer;
* :meth:`MessageCache.read` reads a whole message, remembering the file's
  path, which otherwise costs a :class:`pathlib.Path` construction per
  message;
* :meth:`MessageCache.derived` keeps values computed from a message —
  ENVELOPE, BODYSTRUCTURE — which cost a MIME parse and address parsing
  each time otherwise.

Why it can never be stale: Maildir message files are immutable (the
Maildir protocol only ever renames them: new→cur, flag letters), and the
unique base name (:attr:`~mailserver.maildir.MessageInfo.key`) names one
file's contents forever.  Header sections are keyed by (folder, base name).
Paths change when flags change, so a remembered path is keyed by the UID and
the MODSEQ it had (a flag change always raises MODSEQ, RFC 7162 §3.1.1); a
rename that keeps the MODSEQ (``new/`` to ``cur/``) makes the remembered path
fail with ``FileNotFoundError``, and the path is looked up again.

Memory is bounded: oldest entries go first once :attr:`MessageCache.max_bytes`
of header sections, :attr:`MessageCache.max_paths` paths or
:attr:`MessageCache.max_derived` derived values are held.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar, cast

from mailproto.imf.headers import split_header_section

from .maildir import Folder, MessageInfo

__all__ = ["CACHE", "HEAD_READ", "MessageCache", "read_header"]

T = TypeVar("T")

#: Octets read to find the end of a header section; most header sections
#: of real mail are well under this (the benchmark's are ~250 octets).
HEAD_READ = 8192


def read_header(path: str) -> bytes:
    """The header section of the message file at *path* (FileNotFoundError if gone).

    The same bytes as ``raw[:body_start]`` with ``split_header_section(raw)``
    on the whole file: a prefix is trusted only when the separator line was
    found inside it (a header section cut by the read could end differently
    in the full file); otherwise the whole file is read.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        head = os.read(fd, HEAD_READ)
        if len(head) == HEAD_READ:
            _, body_start, defects = split_header_section(head)
            if defects or body_start >= len(head):
                # No separator inside the prefix: read the rest.
                chunks = [head]
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
                head = b"".join(chunks)
            else:
                return head[:body_start]
    finally:
        os.close(fd)
    _, body_start, _ = split_header_section(head)
    return head[:body_start]


class MessageCache:
    """Header sections and file paths of messages, shared by every IMAP session."""

    def __init__(
        self, *, max_bytes: int = 32 << 20, max_paths: int = 100_000, max_derived: int = 20_000
    ) -> None:
        #: Octets of header sections kept at most.
        self.max_bytes = max_bytes
        #: Paths kept at most.
        self.max_paths = max_paths
        #: Derived values (an ENVELOPE is about 1 KB in memory) kept at most.
        self.max_derived = max_derived
        self._headers: dict[tuple[str, str], bytes] = {}
        self._size = 0
        self._paths: dict[tuple[str, int], tuple[int, str]] = {}
        self._derived: dict[tuple[str, str, str], object] = {}

    def __len__(self) -> int:
        return len(self._headers)

    def _path(self, folder: Folder, where: str, info: MessageInfo) -> str:
        key = (where, info.uid)
        known = self._paths.get(key)
        if known is not None and known[0] == info.modseq:
            return known[1]
        path = str(folder.file_path(info.uid))
        if len(self._paths) >= self.max_paths:
            del self._paths[next(iter(self._paths))]
        self._paths[key] = (info.modseq, path)
        return path

    def _forget_path(self, where: str, uid: int) -> None:
        self._paths.pop((where, uid), None)

    def header(self, folder: Folder, info: MessageInfo, where: str | None = None) -> bytes:
        """The header section of *info*'s message (KeyError when it was expunged).

        *where* is ``str(folder.path)``; pass it when calling in a loop.
        """
        where = where if where is not None else str(folder.path)
        key = (where, info.key)
        data = self._headers.get(key)
        if data is not None:
            return data
        try:
            data = read_header(self._path(folder, where, info))
        except FileNotFoundError:
            self._forget_path(where, info.uid)
            data = read_header(self._path(folder, where, info))
        self._size += len(data)
        self._headers[key] = data
        while self._size > self.max_bytes and self._headers:
            oldest = next(iter(self._headers))
            self._size -= len(self._headers.pop(oldest))
        return data

    def derived(self, kind: str, where: str, info: MessageInfo, compute: Callable[[], T]) -> T:
        """The value *kind* (``"ENVELOPE"``...) of *info*'s message, computed once.

        *compute* makes it when it is not cached; it must depend only on the
        message's bytes (which never change for one base name).
        """
        key = (kind, where, info.key)
        if key in self._derived:
            return cast(T, self._derived[key])
        value = compute()
        if len(self._derived) >= self.max_derived:
            del self._derived[next(iter(self._derived))]
        self._derived[key] = value
        return value

    def read(self, folder: Folder, info: MessageInfo, where: str | None = None) -> bytes:
        """The whole message of *info*, as stored (KeyError when it was expunged)."""
        where = where if where is not None else str(folder.path)
        try:
            with open(self._path(folder, where, info), "rb", buffering=0) as f:
                return f.readall()
        except FileNotFoundError:
            self._forget_path(where, info.uid)
            with open(self._path(folder, where, info), "rb", buffering=0) as f:
                return f.readall()


#: The cache of this process (keys carry the folder's path, so all accounts
#: and configured servers can share it).
CACHE = MessageCache()
