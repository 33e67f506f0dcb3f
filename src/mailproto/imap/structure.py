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
    its members, and an end marker (NIL, NIL, NIL, NIL).  Display names and
    group names are the phrases as the header wrote them, quotes and
    comments removed, encoded words *not* decoded (so their charset is the
    header's; Dovecot does the same).  Only a name that cannot be found as
    written (a malformed list the parser repaired) is re-encoded from its
    decoded form, as UTF-8 encoded words.

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

import re

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
from mailproto.mime._params import split_params, strip_comments

__all__ = [
    "binary_section",
    "binary_size",
    "body_structure",
    "envelope",
    "section_bytes",
    "section_data",
]

_KNOWN_CTE = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable"})
_LINE_TYPES = ("text/",)
# Types whose BODYSTRUCTURE carries an envelope and a nested body: RFC 9051
# §9 body-type-msg is MESSAGE/RFC822 (and MESSAGE/GLOBAL, RFC 6532 §3.7);
# message/news is a basic type to IMAP.
_ENCLOSING = frozenset({"message/rfc822", "message/global"})


# ---------------------------------------------------------------------------
# ENVELOPE


_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n\Z")


_LAST_WINS = frozenset({"Date", "Subject", "In-Reply-To", "Message-ID"})


def _raw_value(msg: Message, name: str) -> str | None:
    """The field's value as written, unfolded, or None when absent.

    No decoding of any kind: octets that are not UTF-8 are kept with
    ``surrogateescape`` (the codec's representation of raw strings), so the
    client gets the header's bytes.  Unfolding removes the line breaks only
    (RFC 5322 §2.2.3); leading white space after the colon is dropped.
    """
    field = msg.headers.get_field(name)
    if field is None:
        return None
    if name in _LAST_WINS:
        # RFC 5322 §3.6 allows one of each; with duplicates, Dovecot (and so
        # most clients' experience) uses the last one, and so do we.
        lname = name.lower()
        for candidate in msg.headers.fields:
            if candidate.name.lower() == lname:
                field = candidate
    text = field.raw_value.decode("utf-8", "surrogateescape")
    return _FOLD.sub("", text).lstrip(" \t")


class _RawGroup:
    """A group as written: its display name and its members' raw items."""

    __slots__ = ("members", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: list[str] = []


def _split_items(value: str) -> list[str | _RawGroup]:
    """Top-level items of an address list, as written.

    A mailbox is its text (``"name" <a@b>``); a group (``name: a, b;``) is a
    :class:`_RawGroup` with its members' texts.  Quoted strings, comments
    and angle brackets are skipped over, so a comma or colon inside them
    splits nothing.  Nothing is decoded: this is what lets ENVELOPE give the
    phrases exactly as the header carried them.
    """
    items: list[str | _RawGroup] = []
    group: _RawGroup | None = None
    depth = 0  # comment nesting
    quoted = angle = False
    start = 0
    i = 0
    n = len(value)

    def close(end: int) -> None:
        text = value[start:end]
        if text.strip():
            if group is not None:
                group.members.append(text)
            else:
                items.append(text)

    while i < n:
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif depth:
            if ch == "\\":
                i += 1
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif angle:
            pass
        elif ch == ":" and group is None:
            group = _RawGroup(value[start:i])
            items.append(group)
            start = i + 1
        elif ch == ";" and group is not None:
            close(i)
            group = None
            start = i + 1
        elif ch == ",":
            close(i)
            start = i + 1
        i += 1
    close(n)
    return items


def _raw_text(text: str) -> str | None:
    """A phrase as written: comments dropped, quotes removed, nothing decoded."""
    phrase = _COMMENT.sub(lambda m: m.group() if m.group()[0] == '"' else " ", text).strip()
    phrase = re.sub(r"[ \t]+", " ", phrase)
    if len(phrase) >= 2 and phrase[0] == '"' and phrase[-1] == '"':
        phrase = re.sub(r"\\(.)", r"\1", phrase[1:-1])
    return phrase or None


def _raw_phrase(item: str) -> str | None:
    """The display name of one address as written: quotes removed, nothing decoded."""
    lt = item.find("<")
    if lt < 0:
        return None
    return _raw_text(item[:lt])


# A comment (no nesting beyond one level, which covers real mail) or a
# quoted string, which is kept: comments are CFWS, not part of the phrase
# (RFC 5322 §3.4), while a quoted "(x)" is text.
_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)')


def _name(display: str) -> str | None:
    if not display:
        return None
    if display.isascii():
        return display
    return " ".join(encode_header_text(display))


def _addresses(msg: Message, name: str) -> tuple[Address, ...]:
    # RFC 5322 §3.6 allows one field of each kind; messages with several
    # (``Cc:`` three times) exist, and servers (Dovecot, UW) list them all.
    lname = name.lower()
    values = [
        _FOLD.sub("", f.raw_value.decode("utf-8", "surrogateescape")).strip(" \t")
        for f in msg.headers.fields
        if f.name.lower() == lname
    ]
    value = ", ".join(v for v in values if v)
    if not value:
        return ()
    items = parse_address_list(value).items
    # RFC 3501 §7.4.2: addr-name is the phrase "after removing quoting", and
    # a group's name is its phrase: neither is decoded.  Take each phrase
    # from the text as written (encoded words stay in their own charset, as
    # Dovecot sends them) wherever the raw split lines up with the parsed
    # list; only where it does not (a malformed list the parser repaired) is
    # a decoded name re-encoded.
    raw = _split_items(value)
    aligned = len(raw) == len(items) and all(
        isinstance(r, _RawGroup) == isinstance(item, Group) for r, item in zip(raw, items)
    )
    out: list[Address] = []
    for index, item in enumerate(items):
        written = raw[index] if aligned else None
        if isinstance(item, Group):
            assert written is None or isinstance(written, _RawGroup)
            group_name = _raw_text(written.name) if written is not None else None
            if group_name is None:
                display = item.display_name
                group_name = display if display.isascii() else _name(display)
            out.append(Address(name=None, adl=None, mailbox=group_name, host=None))
            members = written.members if written is not None else []
            same = len(members) == len(item.members)
            for m_index, member in enumerate(item.members):
                out.append(_address(member, _raw_phrase(members[m_index]) if same else None))
            out.append(Address())
        else:
            phrase = _raw_phrase(written) if isinstance(written, str) else None
            out.append(_address(item, phrase))
    return tuple(out)


def _address(addr: object, phrase: str | None = None) -> Address:
    from mailproto.imf.addresses import Address as ImfAddress

    assert isinstance(addr, ImfAddress)
    adl = ",".join("@" + d for d in addr.route) if addr.route else None
    return Address(
        name=phrase if phrase is not None else _name(addr.display_name),
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
    # Lines as IMAP servers count them: the line ends in the body.  A last
    # line without a line end (text right before a multipart delimiter,
    # whose CRLF belongs to the delimiter, RFC 2046 §5.1.1) is not counted;
    # Dovecot and UW imapd agree.
    return body.count(b"\n")


def _encoding(msg: Message) -> str:
    """body-fld-enc: the Content-Transfer-Encoding as written, without comments.

    RFC 9051 §9 allows any string, so an unusual or misspelt mechanism
    reaches the client intact (case included, as in Dovecot); the comments
    a structured field may carry (RFC 2045 §6.1) are not part of it, and a
    field that holds nothing else is the default, ``7bit``.
    """
    value = _raw_value(msg, "Content-Transfer-Encoding") or ""
    if "(" in value:
        value = strip_comments(value)
    return value.strip() or "7bit"


def _raw_params(msg: Message, name: str) -> tuple[tuple[str, str], ...]:
    """Parameters of a Content-Type/-Disposition field as written.

    IMAP passes parameters through: RFC 2231 continuations and charsets
    (``title*0*=...``) are the client's to decode (RFC 2231 §1 asks IMAP
    servers to leave them alone), so names and values are not decoded.
    """
    value = _raw_value(msg, name)
    if value is None:
        return ()
    return tuple(split_params(value)[1])


def _language(msg: Message) -> tuple[str, ...] | None:
    value = msg.headers.value("Content-Language")
    if value is None:
        return None
    tags = tuple(t.strip() for t in value.split(",") if t.strip())
    return tags or None


def _disposition(msg: Message) -> Disposition | None:
    kind = msg.disposition
    if not kind:
        # Absent or empty Content-Disposition: NIL (an empty body-fld-dsp
        # type is not a disposition).
        return None
    return Disposition(type=kind, params=_raw_params(msg, "Content-Disposition"))


def body_structure(msg: Message, *, extensible: bool = True) -> BodyStructure:
    """The BODYSTRUCTURE (*extensible*) or BODY (not) of *msg*."""
    ctype = msg.content_type
    maintype, _, subtype = ctype.partition("/")
    children = msg.parts if maintype == "multipart" else []
    if children:
        parts = tuple(body_structure(p, extensible=extensible) for p in children)
        ext = None
        if extensible:
            ext = BodyExtension(
                count=4,
                params=_raw_params(msg, "Content-Type"),
                disposition=_disposition(msg),
                language=_language(msg),
                location=_raw_value(msg, "Content-Location"),
            )
        return MultipartBody(parts=parts, subtype=subtype, extension=ext)
    if maintype == "multipart":
        # A multipart in which no body part was found (no boundary, no
        # delimiter): the grammar wants at least one part (RFC 9051 §9
        # body-type-mpart = 1*body ...), so describe it, as Dovecot does,
        # as a multipart with one empty text/plain part.
        empty = SinglePartBody(
            type="text",
            subtype="plain",
            params=(("charset", "us-ascii"),),
            size=0,
            lines=0,
            extension=BodyExtension(count=4) if extensible else None,
        )
        ext = None
        if extensible:
            ext = BodyExtension(
                count=4,
                params=_raw_params(msg, "Content-Type"),
                disposition=_disposition(msg),
                language=_language(msg),
                location=_raw_value(msg, "Content-Location"),
            )
        return MultipartBody(parts=(empty,), subtype=subtype, extension=ext)
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
    params = _raw_params(msg, "Content-Type")
    if maintype == "text" and not any(k == "charset" for k, _v in params):
        # RFC 2045 §5.2: text without a charset is us-ascii; servers say so
        # (RFC 3501 §7.4.2's example, Dovecot, UW imapd).
        params += (("charset", "us-ascii"),)
    return SinglePartBody(
        type=maintype,
        subtype=subtype,
        params=params,
        id=_raw_value(msg, "Content-ID"),
        description=_raw_value(msg, "Content-Description"),
        encoding=_encoding(msg),
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


def binary_size(msg: Message, part: tuple[int, ...]) -> int | None:
    """``BINARY.SIZE[part]`` (RFC 3516 §4.2): the size of ``BINARY[part]``, or None."""
    data = binary_section(msg, part)
    return None if data is None else len(data)


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
