"""A literal's octets held as the pieces they arrived in: :class:`LiteralChunks`.

Why
---
A client fetching bodies (``BODY[] {4194304}``) receives mostly literal
octets.  By default the decoder hands each literal out as one :class:`bytes`
object, which costs one copy of it: the literal arrives in many ``recv``
chunks and ``b"".join`` makes it contiguous.  That copy is the whole cost of
the literal stream (framing never scans literal octets), and it is often
wasted: a client that writes the body to a file, hashes it, or forwards it
to another server needs the octets in order, not in one block.

With the decoder's opt-in zero-copy mode
(``ResponseDecoder(zero_copy_literals=True)``, also on
:class:`~mailproto.imap.client.ClientConnection`), a literal larger than a
threshold is instead a :class:`LiteralChunks`: an immutable value holding the
received chunks themselves — whole ``bytes`` chunks, or zero-copy
:class:`memoryview` slices of them for the chunks the literal shares with the
lines around it.  Nothing is copied until a consumer asks for contiguous
bytes (``bytes(value)``), and :attr:`LiteralChunks.chunks` can go straight to
``file.writelines`` or ``os.writev``.

Memory
------
Each piece *pins* the whole chunk it is a slice of: a 64 KiB ``recv`` chunk
holding the last 100 octets of a literal stays alive as long as the value
does.  That is why only literals above a threshold (default 64 KiB) take
this form — below it a small copy is cheaper than pinning a chunk — and why
the pinned overhead is at most one chunk at each end of a literal.  Calling
``bytes(value)`` makes the one contiguous copy; once the caller drops the
:class:`LiteralChunks`, the chunks are released.

Equality and hashing
--------------------
A :class:`LiteralChunks` equals a :class:`bytes` (or :class:`bytearray`, or
another :class:`LiteralChunks`) with the same octets, and hashes like the
equal :class:`bytes`, so typed values holding either compare and hash the
same whichever mode decoded them.  Comparing with ``bytes`` walks the pieces
with :meth:`bytes.startswith` (no copy); hashing and comparing two
:class:`LiteralChunks` make the contiguous copy (hashing caches the result,
not the copy).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from mailproto.errors import LocalProtocolError

__all__ = ["ZERO_COPY_THRESHOLD", "LiteralChunks", "literal_bytes"]

#: The default threshold of the zero-copy mode: literals of more than this
#: many octets become :class:`LiteralChunks`.  64 KiB is the size of a typical
#: ``recv`` buffer: a smaller literal fits in one chunk or two, and copying
#: it is cheaper than keeping up to two 64 KiB chunks alive for it.
ZERO_COPY_THRESHOLD = 65536


def _piece(piece: object) -> bytes | memoryview:
    """Validate one piece given by a user: immutable, contiguous octets."""
    if piece.__class__ is bytes:
        return piece
    if isinstance(piece, memoryview):
        # Only a read-only view over contiguous octets: a view of a
        # bytearray could change under the value, which is immutable.
        if not piece.readonly:
            raise LocalProtocolError("LiteralChunks pieces must be read-only (a view of bytes)")
        if not piece.c_contiguous:
            raise LocalProtocolError("LiteralChunks pieces must be contiguous")
        if piece.format != "B" or piece.ndim != 1:
            piece = piece.cast("B")
        return piece
    if isinstance(piece, bytes):  # a bytes subclass: keep the octets only
        return bytes(piece)
    raise LocalProtocolError(f"LiteralChunks pieces are bytes or memoryview, not {type(piece)!r}")


def _chunks(value: Iterable[bytes | memoryview]) -> tuple[bytes | memoryview, ...]:
    # Empty pieces carry nothing and would only cost a write call each.
    return tuple(p for p in map(_piece, value) if len(p))


@attrs.frozen(kw_only=True, eq=False, repr=False)
class LiteralChunks:
    """A literal's octets as the received pieces, in order, never joined.

    Immutable and bytes-like where it is cheap: ``len()``, ``bytes()``,
    equality with :class:`bytes`, a hash equal to the bytes' hash.  It is
    deliberately *not* a full :class:`bytes` clone (no indexing, no
    searching): those would need the contiguous copy this type exists to
    avoid — take ``bytes(value)`` for them.
    """

    #: The pieces (:class:`bytes`, or read-only one-dimensional
    #: :class:`memoryview` slices of received ``bytes`` chunks), in order,
    #: none empty.  Write them with ``file.writelines(value.chunks)`` or
    #: ``os.writev(fd, value.chunks)`` to avoid any copy.
    chunks: tuple[bytes | memoryview, ...] = attrs.field(converter=_chunks)
    #: The number of octets (also ``len(value)``).
    size: int = attrs.field(init=False)
    # The hash of the octets, computed on the first ``hash()``.
    _hash: int | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "size", sum(map(len, self.chunks)))

    @classmethod
    def _trusted(cls, chunks: tuple[bytes | memoryview, ...], size: int) -> LiteralChunks:
        """Build from pieces the fragmentizer made (already valid), without checks."""
        value = object.__new__(cls)
        _SET_CHUNKS(value, chunks)
        _SET_SIZE(value, size)
        _SET_HASH(value, None)
        return value

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        chunks = self.chunks
        if len(chunks) == 1 and chunks[0].__class__ is bytes:
            return chunks[0]
        return b"".join(chunks)

    def tobytes(self) -> bytes:
        """The octets as one :class:`bytes` (the one copy; same as ``bytes(value)``)."""
        return self.__bytes__()

    def _equals_buffer(self, other: bytes | bytearray) -> bool:
        # bytes.startswith takes any buffer and compares with memcmp: the
        # pieces are compared where they are, with no copy of either side.
        if len(other) != self.size:
            return False
        pos = 0
        for piece in self.chunks:
            if not other.startswith(piece, pos):
                return False
            pos += len(piece)
        return True

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (bytes, bytearray)):
            return self._equals_buffer(other)
        if isinstance(other, LiteralChunks):
            if other is self:
                return True
            if other.size != self.size:
                return False
            return self._equals_buffer(other.tobytes())
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        # Equal values must hash alike, and a LiteralChunks equals the bytes
        # with the same octets, so the hash is that of the bytes.
        cached = self._hash
        if cached is None:
            cached = hash(self.tobytes())
            _SET_HASH(self, cached)
        return cached

    # Immutable: a copy is the value itself.  Pickling sends the octets
    # (a memoryview cannot be pickled) and rebuilds a one-piece value.
    def __copy__(self) -> LiteralChunks:
        return self

    def __deepcopy__(self, memo: object) -> LiteralChunks:
        return self

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        return (_from_octets, (self.tobytes(),))

    def __repr__(self) -> str:
        # Bounded whatever the size: a literal can be hundreds of megabytes.
        return f"LiteralChunks(<{self.size} octets in {len(self.chunks)} chunks>)"


def _from_octets(data: bytes) -> LiteralChunks:
    """Rebuild a pickled :class:`LiteralChunks` (one piece)."""
    return LiteralChunks(chunks=(data,))


_SET_CHUNKS, _SET_SIZE, _SET_HASH = (
    LiteralChunks.__dict__[f].__set__ for f in ("chunks", "size", "_hash")
)


def literal_bytes(value: bytes | LiteralChunks) -> bytes:
    """*value* as :class:`bytes`: itself if it is, else the one contiguous copy.

    For the codec's text paths: a literal that is a *string* (a mailbox
    name, a header field in ENVELOPE) is decoded to :class:`str` anyway, so
    joining it first costs nothing extra.
    """
    if value.__class__ is bytes:
        return value
    return value.tobytes()  # type: ignore[union-attr]
