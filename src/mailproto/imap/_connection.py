"""What the IMAP client and server connections share: the byte pipelines.

Input
    bytes → (inflate, once COMPRESS is active) → fragmentizer (lines and
    literals, :mod:`mailproto.imap._fragmentizer`) → parser.  Inflation is
    *pulled*: :meth:`Input.next_message` inflates another chunk only when the
    fragmentizer needs more bytes, so a decompression bomb never inflates
    more than one chunk beyond what the line and literal limits allow.

Output
    queued bytes → (deflate with a sync flush per ``data_to_send()``, once
    COMPRESS is active) → the transport.  Bytes queued before compression
    started (the tagged OK to COMPRESS itself, on a server) leave as they
    are.

Both switch points are exact: RFC 4978 §3 says compression starts
"immediately after" the CRLF of the tagged OK, so when a client parses that
OK, whatever already followed it in the buffer is compressed data, and is
moved back in front of the inflater.  After STARTTLS the same bytes are
instead *dropped*: nothing that arrived before the TLS handshake may be
trusted afterwards (RFC 9051 §11.1, the STARTTLS injection of CVE-2011-0411).
"""

from __future__ import annotations

from mailproto._sentinels import NEED_DATA, Sentinel
from mailproto.imap._compress import Deflater, Inflater
from mailproto.imap._fragmentizer import Fragmentizer, LiteralAnnounced, RawMessage
from mailproto.limits import IMAPLimits

__all__ = ["Input", "Output"]

#: Octets inflated per step: large enough for throughput, small enough that
#: memory stays bounded (the fragmentizer limits bound the rest).
_INFLATE_CHUNK = 65536


class Input:
    """Received bytes → framed messages, with optional inflation."""

    __slots__ = ("fragmentizer", "inflater")

    def __init__(
        self, limits: IMAPLimits, *, server: bool, zero_copy_threshold: int | None = None
    ) -> None:
        #: The framing layer (zero_copy_threshold: see the codec's
        #: ResponseDecoder; only a client passes it).
        # A server judges every literal a client announces before reading
        # it, the non-synchronising ones too (server.py, "Literals").
        self.fragmentizer = Fragmentizer(
            limits=limits,
            report_sync_literals=server,
            report_non_sync_literals=server,
            zero_copy_threshold=zero_copy_threshold,
        )
        #: The inflater once COMPRESS is active, else None.
        self.inflater: Inflater | None = None

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        if self.inflater is not None:
            self.inflater.feed(data)
        else:
            self.fragmentizer.receive_data(data)

    def next_message(self) -> RawMessage | LiteralAnnounced | Sentinel:
        frag = self.fragmentizer
        while True:
            message = frag.next_message()
            if message is not NEED_DATA or self.inflater is None:
                return message
            chunk = self.inflater.read(_INFLATE_CHUNK)
            if not chunk:
                return NEED_DATA
            frag.receive_data(chunk)

    def start_compression(self) -> None:
        """Everything from now on (including what is buffered) is DEFLATE data."""
        leftover = self.fragmentizer.drain()
        self.inflater = Inflater()
        if leftover:
            self.inflater.feed(leftover)

    def discard_buffered(self) -> int:
        """Drop every received octet not yet framed (STARTTLS); return how many."""
        return len(self.fragmentizer.drain())

    @property
    def has_buffered(self) -> bool:
        """True when received octets wait to be framed."""
        return self.fragmentizer.buffered > 0 or (
            self.inflater is not None and self.inflater.has_input
        )


class Output:
    """Queued bytes → wire bytes, with optional deflation."""

    __slots__ = ("_parts", "_ready", "deflater")

    def __init__(self) -> None:
        self._parts: list[bytes | memoryview] = []
        # Bytes already in wire form (queued before compression started).
        self._ready = b""
        #: The deflater once COMPRESS is active, else None.
        self.deflater: Deflater | None = None

    def write(self, data: bytes) -> None:
        self._parts.append(data)

    def extend(self, pieces: list[bytes | memoryview]) -> None:
        """Queue *pieces* in order, unjoined: a large literal is copied only
        once, by :meth:`take`."""
        self._parts.extend(pieces)

    def start_compression(self) -> None:
        """Compress everything written from now on."""
        self._ready += b"".join(self._parts)
        self._parts = []
        self.deflater = Deflater()

    def __bool__(self) -> bool:
        return bool(self._parts) or bool(self._ready)

    def take(self) -> bytes:
        parts = self._parts
        data = parts[0] if len(parts) == 1 and parts[0].__class__ is bytes else b"".join(parts)
        self._parts = []
        if self.deflater is not None:
            data = self.deflater.compress(data)
        if self._ready:
            data = self._ready + data
            self._ready = b""
        return data
