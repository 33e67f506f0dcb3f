"""COMPRESS=DEFLATE (RFC 4978) as a byte transform inside the connection.

Theory
------
RFC 4978 §3: after the server's tagged OK to ``COMPRESS DEFLATE``, both
directions carry a raw DEFLATE stream (RFC 1951, no zlib or gzip wrapper:
``wbits=-15``).  The server starts compressing right after the OK it sent;
the client starts compressing what it sends right after it received that OK
and inflates everything that follows it.

Because the transform lives inside the state machine and not in a socket
wrapper, compression works over any transport (a socket, TLS, an asyncio
stream, a test pipe): the application keeps moving bytes as before.

Flushing
    RFC 4978 §4: "each output buffer should be flushed" so the peer can act
    on a command or response without waiting for more: every call to
    :meth:`Deflater.compress` ends with ``Z_SYNC_FLUSH``.  That costs a few
    bytes per write, not per command, because the connection compresses all
    it has queued in one call to ``data_to_send()``.

Decompression bombs
    A few hundred compressed octets can inflate to gigabytes.  The inflater
    never inflates more than it is asked for: :meth:`Inflater.read` takes a
    *max_length* and keeps the rest of the input in ``unconsumed_tail``
    (zlib's own mechanism), and the connection only reads when its framing
    layer needs more bytes - which is itself bounded by the line and literal
    limits of :class:`~mailproto.limits.IMAPLimits`.  Memory therefore stays
    bounded however the input is crafted.
"""

from __future__ import annotations

import zlib

from mailproto.errors import RemoteProtocolError, ReplyHint

__all__ = ["Deflater", "Inflater"]

#: Raw DEFLATE: negative window bits mean "no header, no checksum" (zlib
#: manual); 15 is the largest window, which RFC 4978 §3 does not restrict.
_WBITS = -15


class Deflater:
    """Compresses outgoing bytes; each call's output can be decoded at once."""

    __slots__ = ("_z",)

    def __init__(self, level: int = 6) -> None:
        # Level 6 is zlib's default; RFC 4978 §4 leaves the choice to the
        # implementation.
        self._z = zlib.compressobj(level, zlib.DEFLATED, _WBITS)

    def compress(self, data: bytes) -> bytes:
        """Compress *data* and sync-flush, so the peer can inflate all of it now."""
        if not data:
            return b""
        return self._z.compress(data) + self._z.flush(zlib.Z_SYNC_FLUSH)


class Inflater:
    """Inflates incoming bytes on demand, never more than asked for."""

    __slots__ = ("_pending", "_z")

    def __init__(self) -> None:
        self._z = zlib.decompressobj(_WBITS)
        # Compressed input not yet given to zlib.  zlib keeps its own
        # unconsumed_tail; we give it one chunk at a time.
        self._pending = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add compressed bytes from the peer."""
        self._pending += data

    @property
    def has_input(self) -> bool:
        """True while compressed input remains (in our queue or zlib's tail)."""
        return bool(self._pending) or bool(self._z.unconsumed_tail)

    def read(self, max_length: int) -> bytes:
        """Inflate up to *max_length* octets (``b""`` when no input is left).

        Raises :class:`~mailproto.errors.RemoteProtocolError` (fatal) on a
        corrupt stream, or when the peer ended the DEFLATE stream (RFC 4978
        has no way to stop compressing).
        """
        z = self._z
        if z.eof:
            raise RemoteProtocolError(
                "the peer ended the compressed stream",
                hint=ReplyHint(text="Compressed stream ended", fatal=True),
            )
        if z.unconsumed_tail:
            data = z.unconsumed_tail
        elif self._pending:
            data = bytes(self._pending)
            self._pending.clear()
        else:
            return b""
        try:
            out = z.decompress(data, max_length)
        except zlib.error as exc:
            raise RemoteProtocolError(
                f"corrupt compressed stream: {exc}",
                hint=ReplyHint(text="Corrupt compressed stream", fatal=True),
            ) from None
        if z.unused_data:
            # Bytes after the end of the DEFLATE stream: the stream ended.
            raise RemoteProtocolError(
                "data after the end of the compressed stream",
                hint=ReplyHint(text="Compressed stream ended", fatal=True),
            )
        return out
