"""MIME messages (RFC 2045–2049): a lazy, lossless tree over the original bytes.

::

    from mailproto import mime

    msg = mime.parse(raw_bytes)        # never raises on malformed mail
    msg.headers.get("Subject")        # decoded, unfolded str or None
    for part in msg.walk():           # depth first
        part.content_type, part.filename, part.decoded()
    assert bytes(msg) == raw_bytes     # byte for byte, for any input

See :class:`Message` for the whole interface and
:mod:`mailproto.imf.headers` for header sections.  Building
(:class:`MessageBuilder`, :func:`text_part`, ...) and lossless editing
(:func:`edit`) use the same tree: see :mod:`mailproto.mime.builder` and
:mod:`mailproto.mime.editing`.
"""

from mailproto.mime._message import Message, parse
from mailproto.mime._params import parse_disposition, parse_media_type
from mailproto.mime.builder import (
    BuildPolicy,
    HeaderInjectionError,
    InvalidAddressError,
    MessageBuilder,
    Part,
    attachment,
    format_header,
    html_part,
    inline_part,
    make_msgid,
    message_part,
    multipart,
    text_part,
)
from mailproto.mime.editing import MessageEditor, edit
from mailproto.mime.stdlib_bridge import from_email_message, to_email_message

__all__ = [
    "BuildPolicy",
    "HeaderInjectionError",
    "InvalidAddressError",
    "Message",
    "MessageBuilder",
    "MessageEditor",
    "Part",
    "attachment",
    "edit",
    "format_header",
    "from_email_message",
    "html_part",
    "inline_part",
    "make_msgid",
    "message_part",
    "multipart",
    "parse",
    "parse_disposition",
    "parse_media_type",
    "text_part",
    "to_email_message",
]
