"""MIME messages (RFC 2045–2049): a lazy, lossless tree over the original bytes.

::

    from mailproto import mime

    msg = mime.parse(raw_bytes)        # never raises on malformed mail
    msg.headers.get("Subject")        # decoded, unfolded str or None
    for part in msg.walk():           # depth first
        part.content_type, part.filename, part.decoded()
    assert bytes(msg) == raw_bytes     # byte for byte, for any input

See :class:`Message` for the whole interface and
:mod:`mailproto.imf.headers` for header sections.
"""

from mailproto.mime._message import Message, parse
from mailproto.mime._params import parse_disposition, parse_media_type

__all__ = ["Message", "parse", "parse_disposition", "parse_media_type"]
