"""ENVELOPE, BODYSTRUCTURE and BODY[section] from a parsed message.

A server must describe stored messages in IMAP's own terms (RFC 9051
§7.5.2): the ENVELOPE (the main header fields, parsed), the BODYSTRUCTURE
(the MIME tree with sizes, line counts and extension data), and arbitrary
pieces of the message by *section* (``BODY[1.2.MIME]``, ``BODY[HEADER.FIELDS
(From To)]``, ``BINARY[2]<0.1024>``).  Every rule here is computed from a
:mod:`mailproto.mime` tree, so a server author writes::

    msg = mime.parse(stored_bytes)
    FetchResponse(seq=n, envelope=envelope(msg), body_structure=body_structure(msg))
    section_data(msg, request)          # for each BODY[...] / BINARY[...] asked

Rules implemented (with the RFC that sets them)
-----------------------------------------------
ENVELOPE (RFC 3501 §7.4.2, RFC 9051 §7.5.2)
    Date, Subject, In-Reply-To and Message-ID are the field values as they
    are in the header, unfolded, *encoded words not decoded*; NIL when the
    field is absent, ``""`` when present but empty.  Sender and Reply-To
    default to From when absent or empty.  Each address is (name, adl,
    mailbox, host); a group is a start marker (NIL, NIL, group name, NIL),
    its members, and an end marker (NIL, NIL, NIL, NIL).  Display names are
    given as 7-bit text: a name that needs non-ASCII characters is sent as
    RFC 2047 encoded words, as the header carried it.

BODYSTRUCTURE (RFC 9051 §7.5.2, grammar in §9)
    Type and subtype (defaults text/plain, RFC 2045 §5.2; message/rfc822 in
    a multipart/digest, RFC 2046 §5.1.5), parameters, Content-ID,
    Content-Description, Content-Transfer-Encoding, the body size *in octets
    as stored* (still transfer-encoded), and for ``text/*`` and
    ``message/rfc822`` the size in *lines*; for message/rfc822 also the
    enclosed message's ENVELOPE and BODYSTRUCTURE.  Extension data: MD5,
    disposition, language and location for single parts; parameters,
    disposition, language and location for multiparts.

Sections (RFC 9051 §6.4.5)
    Part numbers walk the tree: the parts of a multipart are numbered from
    1; a message/rfc822 part's numbers are those of the enclosed message;
    a message that is not multipart has one part, number 1, its body.
    ``HEADER``, ``HEADER.FIELDS``, ``HEADER.FIELDS.NOT`` and ``TEXT`` apply
    to the whole message or to a message/rfc822 part (its enclosed message);
    ``MIME`` is the header of a body part.  Header sections include the
    empty line that ends them; HEADER.FIELDS keeps the matched fields as
    written (folds included) in their original order.  ``<origin.length>``
    cuts octets; an origin past the end gives an empty string.
    ``BINARY[part]`` (RFC 3516) is the part with its transfer encoding
    removed; an encoding we cannot undo makes it None (the server answers
    ``NO [UNKNOWN-CTE]``).
"""

from __future__ import annotations

from mailproto.codecs.encoded_words import encode_header_text
from mailproto.imap.types import (
    Address,
    BodyExtension,
    BodyStructure,
    Disposition,
    Envelope,
    MultipartBody,
    Section,
    SectionData,
    SectionRequest,
    SinglePartBody,
)
from mailproto.imf.addresses import Group, parse_address_list
from mailproto.mime import Message

__all__ = [
    "binary_section",
    "body_structure",
    "envelope",
    "section_bytes",
    "section_data",
]

_KNOWN_CTE = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable"})
_LINE_TYPES = ("text/",)
_ENCLOSING = frozenset({"message/rfc822", "message/global", "message/news"})


# ---------------------------------------------------------------------------
# ENVELOPE


def _raw_value(msg: Message, name: str) -> str | None:
    """The field's unfolded value as written (no decoding), or None when absent."""
    value = msg.headers.value(name)
    if value is None:
        return None
    return value.strip()


def _name(display: str) -> str | None:
    if not display:
        return None
    if display.isascii():
        return display
    return " ".join(encode_header_text(display))


def _addresses(msg: Message, name: str) -> tuple[Address, ...]:
    value = msg.headers.value(name)
    if value is None or not value.strip():
        return ()
    out: list[Address] = []
    for item in parse_address_list(value).items:
        if isinstance(item, Group):
            out.append(Address(name=None, adl=None, mailbox=item.display_name, host=None))
            out.extend(_address(a) for a in item.members)
            out.append(Address())
        else:
            out.append(_address(item))
    return tuple(out)


def _address(addr: object) -> Address:
    from mailproto.imf.addresses import Address as ImfAddress

    assert isinstance(addr, ImfAddress)
    adl = ",".join("@" + d for d in addr.route) if addr.route else None
    return Address(
        name=_name(addr.display_name),
        adl=adl,
        mailbox=addr.local_part,
        # An address without a domain is still a mailbox, not a group
        # marker: host NIL would mean group syntax (RFC 9051 §7.5.2).
        host=addr.domain,
    )


def envelope(msg: Message) -> Envelope:
    """The ENVELOPE of *msg* (RFC 9051 §7.5.2)."""
    from_ = _addresses(msg, "From")
    sender = _addresses(msg, "Sender") or from_
    reply_to = _addresses(msg, "Reply-To") or from_
    return Envelope(
        date=_raw_value(msg, "Date"),
        subject=_raw_value(msg, "Subject"),
        from_=from_,
        sender=sender,
        reply_to=reply_to,
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        bcc=_addresses(msg, "Bcc"),
        in_reply_to=_raw_value(msg, "In-Reply-To"),
        message_id=_raw_value(msg, "Message-ID"),
    )


# ---------------------------------------------------------------------------
# BODYSTRUCTURE


def _lines(body: bytes) -> int:
    # Lines as IMAP servers count them: line ends in the body, plus one for
    # a last line that has no line end (Dovecot agrees).
    n = body.count(b"\n")
    if body and not body.endswith(b"\n"):
        n += 1
    return n


def _params(params: object) -> tuple[tuple[str, str], ...]:
    assert hasattr(params, "items")
    return tuple((k, v) for k, v in params.items())


def _language(msg: Message) -> tuple[str, ...] | None:
    value = msg.headers.value("Content-Language")
    if value is None:
        return None
    tags = tuple(t.strip() for t in value.split(",") if t.strip())
    return tags or None


def _disposition(msg: Message) -> Disposition | None:
    kind = msg.disposition
    if kind is None:
        return None
    return Disposition(type=kind, params=_params(msg.disposition_params))


def body_structure(msg: Message, *, extensible: bool = True) -> BodyStructure:
    """The BODYSTRUCTURE (*extensible*) or BODY (not) of *msg*."""
    ctype = msg.content_type
    maintype, _, subtype = ctype.partition("/")
    if maintype == "multipart" and msg.is_multipart:
        parts = tuple(body_structure(p, extensible=extensible) for p in msg.parts)
        ext = None
        if extensible:
            ext = BodyExtension(
                count=4,
                params=_params(msg.params),
                disposition=_disposition(msg),
                language=_language(msg),
                location=_raw_value(msg, "Content-Location"),
            )
        return MultipartBody(parts=parts, subtype=subtype, extension=ext)
    if maintype == "multipart":
        # A multipart we could not split (no boundary, no delimiter): RFC 9051
        # wants at least one part; describe it as opaque data, as Dovecot does.
        maintype, subtype = "application", "octet-stream"
    body = msg.raw_body
    lines: int | None = None
    env: Envelope | None = None
    inner: BodyStructure | None = None
    if ctype in _ENCLOSING and msg.is_multipart:
        enclosed = msg.parts[0]
        env = envelope(enclosed)
        inner = body_structure(enclosed, extensible=extensible)
        lines = _lines(body)
    elif maintype == "text":
        lines = _lines(body)
    ext = None
    if extensible:
        ext = BodyExtension(
            count=4,
            md5=_raw_value(msg, "Content-MD5"),
            disposition=_disposition(msg),
            language=_language(msg),
            location=_raw_value(msg, "Content-Location"),
        )
    return SinglePartBody(
        type=maintype,
        subtype=subtype,
        params=_params(msg.params),
        id=_raw_value(msg, "Content-ID"),
        description=_raw_value(msg, "Content-Description"),
        encoding=msg.content_transfer_encoding,
        size=len(body),
        lines=lines,
        envelope=env,
        body=inner,
        extension=ext,
    )


# ---------------------------------------------------------------------------
# Sections


def _header_block(msg: Message) -> bytes:
    """The header section of *msg* including the empty line that ends it."""
    start, _end = msg.span
    body_start, _ = msg.body_span
    return bytes(msg)[: body_start - start]


def _is_enclosing(msg: Message) -> bool:
    return msg.content_type in _ENCLOSING and msg.is_multipart


def _resolve(msg: Message, part: tuple[int, ...]) -> tuple[Message, bool] | None:
    """The node *part* names and whether it is a message (root or enclosed).

    For a message that is not multipart, part 1 is the message itself
    (meaning its body); returned with ``False`` so that BODY[1] gives the body.
    """
    node = msg
    is_message = True
    for n in part:
        if not is_message and _is_enclosing(node):
            node = node.parts[0]
            is_message = True
        if node.content_type.startswith("multipart/") and node.is_multipart:
            children = node.parts
            if not 1 <= n <= len(children):
                return None
            node = children[n - 1]
            is_message = False
        elif n == 1 and is_message:
            is_message = False  # the body of a single-part message
        else:
            return None
    return node, is_message


def section_bytes(msg: Message, section: Section) -> bytes | None:
    """The octets *section* names (before any partial range), or None if it does not exist."""
    resolved = _resolve(msg, section.part)
    if resolved is None:
        return None
    node, is_message = resolved
    text = section.text
    if text is None:
        if not section.part:
            return bytes(node)
        return node.raw_body
    if text == "MIME":
        if not section.part:
            return None
        return _header_block(node)
    # HEADER / HEADER.FIELDS[.NOT] / TEXT: of the message itself, or of the
    # message a message/rfc822 part encloses.
    if not is_message:
        if _is_enclosing(node):
            node = node.parts[0]
        elif section.part:
            return None
    if text == "TEXT":
        return node.raw_body
    if text == "HEADER":
        return _header_block(node)
    wanted = {f.lower() for f in section.fields}
    keep = text == "HEADER.FIELDS"
    fields = [f.raw for f in node.headers.fields if (f.name.lower() in wanted) is keep]
    return b"".join(fields) + b"\r\n"


def binary_section(msg: Message, part: tuple[int, ...]) -> bytes | None:
    """``BINARY[part]`` (RFC 3516): the part without its transfer encoding.

    None when the part does not exist or its encoding is unknown (the server
    answers ``NO [UNKNOWN-CTE]``).
    """
    resolved = _resolve(msg, part)
    if resolved is None:
        return None
    node, _is_message = resolved
    if not part:
        return bytes(node)
    if node.content_transfer_encoding not in _KNOWN_CTE:
        return None
    if node.is_multipart and not _is_enclosing(node):
        return node.raw_body
    return node.decoded()


def section_data(msg: Message, request: SectionRequest) -> SectionData:
    """The FETCH item answering *request* (``BODY[...]``/``BINARY[...]``, partial applied)."""
    if request.binary:
        data = binary_section(msg, request.section.part)
    else:
        data = section_bytes(msg, request.section)
    origin: int | None = None
    if data is None:
        # RFC 9051 §6.4.5: a section that does not exist is an empty string
        # for BODY; BINARY of an unknown encoding is the server's NO.
        data = b"" if not request.binary else None
    if request.partial is not None and data is not None:
        origin, length = request.partial
        data = data[origin : origin + length]
    return SectionData(section=request.section, origin=origin, data=data, binary=request.binary)
