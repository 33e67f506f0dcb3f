"""Serialising commands and responses (the inverse of :mod:`._parser`).

Every function writes into a :class:`~mailproto.imap._writer.Writer`, which
picks atom / quoted / literal per string and splits commands into fragments
at literals.  The output is canonical (single spaces, upper-case keywords,
normalised sequence sets), so ``parse(serialize(x)) == x`` for every value
and ``serialize(parse(b)) == b`` for canonical input.
"""

from __future__ import annotations

import re
from typing import Any

from mailproto.errors import LocalProtocolError
from mailproto.imap._writer import Writer, check_atom, check_flag, format_date, section_text
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.imap.types._literal import LiteralChunks
from mailproto.imap.types._seqset import SequenceSet
from mailproto.imap.types._values import (
    NIL,
    SIMPLE_FETCH_ATTRIBUTES,
    Address,
    AppendUid,
    BinarySizeRequest,
    BodyExtension,
    BodyStructure,
    CopyUid,
    Disposition,
    Envelope,
    ExtensionValue,
    FetchAttribute,
    ModSeqSearch,
    MultipartBody,
    PreviewRequest,
    ResponseCode,
    SearchKey,
    SectionRequest,
)

__all__ = ["write_command", "write_response"]


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


def _params(w: Writer, params: tuple[tuple[str, str], ...]) -> None:
    # body-fld-param (RFC 9051 §9): NIL for none, else string pairs.
    _pairs(w, params or None)


def _pairs(w: Writer, params: tuple[tuple[str, str | None], ...] | None) -> None:
    """``NIL`` or ``(key value key value ...)``; a ``None`` value is NIL."""
    if params is None:
        w.raw(b"NIL")
        return
    w.raw(b"(")
    for i, (k, v) in enumerate(params):
        if i:
            w.sp()
        w.string(k)
        w.sp()
        w.nstring(v)
    w.raw(b")")


# Printable ASCII but '"' and "\\": such a string is a quoted string as it is,
# in every mode (RFC 9051 §4.3, §9 QUOTED-CHAR), and a server writes almost
# nothing else in ENVELOPE and BODYSTRUCTURE.  The writers below first try
# to write a whole structure from such strings as one ``str`` (one encode,
# no per-string method calls) and fall back to the general path (which picks
# quoted, escaped or literal per string) when one does not fit; both give
# the same octets.
_PLAIN = re.compile(r"[ !#-\[\]-~]*").fullmatch


def _plain(value: str | None) -> str | None:
    """``NIL`` or the quoted string, when *value* needs neither escape nor literal."""
    if value is None:
        return "NIL"
    if _PLAIN(value):
        return '"' + value + '"'
    return None


def _plain_address_list(addresses: tuple[Address, ...]) -> str | None:
    if not addresses:
        return "NIL"
    out = ["("]
    append = out.append
    for a in addresses:
        name, adl, mailbox, host = _plain(a.name), _plain(a.adl), _plain(a.mailbox), _plain(a.host)
        if name is None or adl is None or mailbox is None or host is None:
            return None
        append(f"({name} {adl} {mailbox} {host})")
    append(")")
    return "".join(out)


def _plain_envelope(env: Envelope) -> str | None:
    fields = [
        _plain(env.date),
        _plain(env.subject),
        _plain_address_list(env.from_),
        _plain_address_list(env.sender),
        _plain_address_list(env.reply_to),
        _plain_address_list(env.to),
        _plain_address_list(env.cc),
        _plain_address_list(env.bcc),
        _plain(env.in_reply_to),
        _plain(env.message_id),
    ]
    if None in fields:
        return None
    return "(" + " ".join(fields) + ")"  # type: ignore[arg-type]


def _plain_params(params: tuple[tuple[str, str], ...]) -> str | None:
    if not params:
        return "NIL"
    out = []
    for key, value in params:
        k, v = _plain(key), _plain(value)
        if k is None or v is None:
            return None
        out.append(f"{k} {v}")
    return "(" + " ".join(out) + ")"


def _plain_extension(ext: BodyExtension, multipart: bool) -> str | None:
    if ext.extra:
        return None
    out = [_plain_params(ext.params) if multipart else _plain(ext.md5)]
    if ext.count > 1:
        dsp = ext.disposition
        if dsp is None:
            out.append("NIL")
        else:
            dtype, dparams = _plain(dsp.type), _plain_params(dsp.params)
            if dtype is None or dparams is None:
                return None
            out.append(f"({dtype} {dparams})")
    if ext.count > 2:
        lang = ext.language
        if lang is None:
            out.append("NIL")
        elif len(lang) == 1:
            out.append(_plain(lang[0]))
        else:
            tags = [_plain(t) for t in lang]
            if None in tags:
                return None
            out.append("(" + " ".join(tags) + ")")  # type: ignore[arg-type]
    if ext.count > 3:
        out.append(_plain(ext.location))
    if None in out:
        return None
    return " " + " ".join(out)  # type: ignore[arg-type]


def _plain_body(body: BodyStructure, extensible: bool) -> str | None:
    """The whole body structure as one string of plain strings, or None."""
    ext = body.extension if extensible else None
    if isinstance(body, MultipartBody):
        if not body.parts:
            return None
        out = ["("]
        for part in body.parts:
            text = _plain_body(part, extensible)
            if text is None:
                return None
            out.append(text)
        subtype = _plain(body.subtype)
        if subtype is None:
            return None
        out.append(" " + subtype)
    else:
        if body.size < 0:
            return None
        fields = [
            _plain(body.type),
            _plain(body.subtype),
            _plain_params(body.params),
            _plain(body.id),
            _plain(body.description),
            _plain(body.encoding),
        ]
        if None in fields:
            return None
        out = ["(", " ".join(fields), f" {body.size}"]  # type: ignore[arg-type]
        if body.envelope is not None:
            if body.body is None or body.lines is None or body.lines < 0:
                return None
            envelope = _plain_envelope(body.envelope)
            inner = _plain_body(body.body, extensible)
            if envelope is None or inner is None:
                return None
            out.append(f" {envelope} {inner} {body.lines}")
        elif body.lines is not None:
            if body.lines < 0:
                return None
            out.append(f" {body.lines}")
    if ext is not None:
        text = _plain_extension(ext, isinstance(body, MultipartBody))
        if text is None:
            return None
        out.append(text)
    out.append(")")
    return "".join(out)


def _address_list(w: Writer, addresses: tuple[Address, ...]) -> None:
    if not addresses:
        w.raw(b"NIL")
        return
    w.raw(b"(")
    for a in addresses:
        w.raw(b"(")
        w.nstring(a.name)
        w.sp()
        w.nstring(a.adl)
        w.sp()
        w.nstring(a.mailbox)
        w.sp()
        w.nstring(a.host)
        w.raw(b")")
    w.raw(b")")


def write_envelope(w: Writer, env: Envelope) -> None:
    plain = _plain_envelope(env)
    if plain is not None:
        w.raw(plain.encode("ascii"))
        return
    w.raw(b"(")
    w.nstring(env.date)
    w.sp()
    w.nstring(env.subject)
    for addresses in (env.from_, env.sender, env.reply_to, env.to, env.cc, env.bcc):
        w.sp()
        _address_list(w, addresses)
    w.sp()
    w.nstring(env.in_reply_to)
    w.sp()
    w.nstring(env.message_id)
    w.raw(b")")


def write_ext_value(w: Writer, value: ExtensionValue) -> None:
    if value is None:
        w.raw(b"NIL")
    elif isinstance(value, bool):
        raise LocalProtocolError("booleans are not IMAP values")
    elif isinstance(value, int):
        w.number(value)
    elif isinstance(value, str):
        w.string(value)
    else:
        if not value:
            raise LocalProtocolError("an extension list cannot be empty")
        w.raw(b"(")
        for i, item in enumerate(value):
            if i:
                w.sp()
            write_ext_value(w, item)
        w.raw(b")")


def _disposition(w: Writer, dsp: Disposition | None) -> None:
    if dsp is None:
        w.raw(b"NIL")
        return
    w.raw(b"(")
    w.string(dsp.type)
    w.sp()
    _params(w, dsp.params)
    w.raw(b")")


def _extension(w: Writer, ext: BodyExtension, multipart: bool) -> None:
    w.sp()
    if multipart:
        _params(w, ext.params)
    else:
        w.nstring(ext.md5)
    if ext.count > 1:
        w.sp()
        _disposition(w, ext.disposition)
    if ext.count > 2:
        w.sp()
        lang = ext.language
        if lang is None:
            w.raw(b"NIL")
        elif len(lang) == 1:
            w.string(lang[0])
        else:
            w.raw(b"(")
            for i, tag in enumerate(lang):
                if i:
                    w.sp()
                w.string(tag)
            w.raw(b")")
    if ext.count > 3:
        w.sp()
        w.nstring(ext.location)
    for value in ext.extra:
        w.sp()
        write_ext_value(w, value)


def write_body(w: Writer, body: BodyStructure, extensible: bool, *, plain: bool = True) -> None:
    if plain:
        text = _plain_body(body, extensible)
        if text is not None:
            w.raw(text.encode("ascii"))
            return
    # (The parts below are written without trying the plain form again: it
    # already failed for this subtree, and retrying at every level would be
    # quadratic in the nesting depth.)
    w.raw(b"(")
    if isinstance(body, MultipartBody):
        if not body.parts:
            raise LocalProtocolError("a multipart needs at least one part")
        for part in body.parts:
            write_body(w, part, extensible, plain=False)
        w.sp()
        w.string(body.subtype)
        if extensible and body.extension is not None:
            _extension(w, body.extension, True)
    else:
        w.string(body.type)
        w.sp()
        w.string(body.subtype)
        w.sp()
        _params(w, body.params)
        w.sp()
        w.nstring(body.id)
        w.sp()
        w.nstring(body.description)
        w.sp()
        w.string(body.encoding)
        w.sp()
        w.number(body.size)
        if body.envelope is not None:
            if body.body is None or body.lines is None:
                raise LocalProtocolError("message/rfc822 parts need body and lines")
            w.sp()
            write_envelope(w, body.envelope)
            w.sp()
            write_body(w, body.body, extensible, plain=False)
            w.sp()
            w.number(body.lines)
        elif body.lines is not None:
            w.sp()
            w.number(body.lines)
        if extensible and body.extension is not None:
            _extension(w, body.extension, False)
    w.raw(b")")


def _uid_set(normalised: SequenceSet, order: tuple[tuple[int, int], ...]) -> bytes:
    """A COPYUID uid-set: in the order given when it differs from the sorted one."""
    if order == normalised.ranges:
        return str(normalised).encode()
    return b",".join(b"%d" % lo if lo == hi else b"%d:%d" % (lo, hi) for lo, hi in order)


def _code(w: Writer, code: ResponseCode) -> None:
    name = check_atom(code.name, "response code")
    value: Any = code.value
    w.raw(b"[" + name.encode("ascii"))
    if value is None:
        pass
    elif isinstance(value, AppendUid):
        w.raw(b" %d %s" % (value.uidvalidity, str(value.uids).encode()))
    elif isinstance(value, CopyUid):
        w.raw(
            b" %d %s %s"
            % (
                value.uidvalidity,
                _uid_set(value.source, value.source_order),
                _uid_set(value.dest, value.dest_order),
            )
        )
    elif isinstance(value, SequenceSet):
        w.raw(b" " + str(value).encode())
    elif isinstance(value, bool):
        raise LocalProtocolError("bad response code value")
    elif isinstance(value, int):
        w.sp()
        w.number(value)
    elif isinstance(value, tuple):
        w.sp()
        if name == "PERMANENTFLAGS":
            w.flags(value)
        elif name == "BADCHARSET":
            w.paren([lambda v=v: w.astring(v) for v in value])
        else:
            w.raw(" ".join(check_atom(v) for v in value).encode("ascii"))
    elif name == "MAILBOXID":
        w.raw(b" (" + check_atom(value).encode("ascii") + b")")
    else:
        if "]" in value or "\r" in value or "\n" in value:
            raise LocalProtocolError("response code text cannot hold ']', CR or LF")
        w.sp()
        w.text(value)
    w.raw(b"]")


def _resp_text(w: Writer, code: ResponseCode | None, text: str) -> None:
    if "\r" in text or "\n" in text or "\x00" in text:
        raise LocalProtocolError("response text cannot hold CR, LF or NUL")
    if code is not None:
        _code(w, code)
        if text:
            w.sp()
    elif text.startswith("["):
        raise LocalProtocolError("response text cannot begin with '[' without a code")
    w.text(text)


def _mailbox_status_value(w: Writer, key: str, value: int | str | None) -> None:
    if value is None:
        w.raw(b"NIL")
    elif isinstance(value, str):
        w.raw(b"(" + check_atom(value).encode("ascii") + b")")
    else:
        w.number(value)


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------


# NUL in message data makes BINARY[] data a literal8 (RFC 3516 §4.2).  The
# regex searches any buffer, so the pieces of a LiteralChunks are searched
# where they are, without joining them.
_NUL_SEARCH = re.compile(b"\x00").search


def _has_nul(data: bytes | LiteralChunks) -> bool:
    if data.__class__ is bytes:
        return b"\x00" in data
    return any(_NUL_SEARCH(piece) is not None for piece in data.chunks)  # type: ignore[union-attr]


def _fetch(w: Writer, r: R.FetchResponse) -> None:
    w.raw(b"* %d FETCH (" % r.seq)
    items: list[bytes] = []
    parts = w.parts
    first = True

    def sep() -> None:
        nonlocal first
        if not first:
            w.sp()
        first = False

    del items, parts
    if r.uid is not None:
        sep()
        w.raw(b"UID %d" % r.uid)
    if r.flags is not None:
        sep()
        w.raw(b"FLAGS ")
        w.flags(r.flags)
    if r.internal_date is not None:
        sep()
        w.raw(b"INTERNALDATE ")
        w.datetime(r.internal_date)
    if r.rfc822_size is not None:
        sep()
        w.raw(b"RFC822.SIZE %d" % r.rfc822_size)
    if r.envelope is not None:
        sep()
        w.raw(b"ENVELOPE ")
        write_envelope(w, r.envelope)
    if r.body_structure is not None:
        sep()
        w.raw(b"BODYSTRUCTURE ")
        write_body(w, r.body_structure, True)
    if r.body is not None:
        sep()
        w.raw(b"BODY ")
        write_body(w, r.body, False)
    if r.modseq is not None:
        sep()
        w.raw(b"MODSEQ (%d)" % r.modseq)
    if r.email_id is not None:
        sep()
        w.raw(b"EMAILID (" + check_atom(r.email_id).encode() + b")")
    if r.thread_id is not None:
        sep()
        if r.thread_id is NIL:
            w.raw(b"THREADID NIL")
        else:
            w.raw(b"THREADID (" + check_atom(r.thread_id).encode() + b")")
    if r.preview is not None:
        sep()
        w.raw(b"PREVIEW ")
        w.nstring(None if r.preview is NIL else r.preview)
    if r.save_date is not None:
        sep()
        w.raw(b"SAVEDATE ")
        if r.save_date is NIL:
            w.raw(b"NIL")
        else:
            w.datetime(r.save_date)
    for part, size in r.binary_sizes:
        sep()
        w.raw(b"BINARY.SIZE[" + ".".join(map(str, part)).encode() + b"] %d" % size)
    for sec in r.sections:
        sep()
        if sec.legacy is not None:
            if sec.legacy not in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                raise LocalProtocolError(f"bad legacy section {sec.legacy!r}")
            w.raw(sec.legacy.encode() + b" ")
        else:
            w.raw(b"BINARY[" if sec.binary else b"BODY[")
            w.text(section_text(sec.section))
            w.raw(b"]")
            if sec.origin is not None:
                w.raw(b"<%d>" % sec.origin)
            w.sp()
        if sec.data is None:
            w.raw(b"NIL")
        else:
            w.literal(sec.data, binary=sec.binary and _has_nul(sec.data))
    for key, value in r.extra:
        sep()
        w.atom(key)
        w.sp()
        write_ext_value(w, value)
    if first:
        raise LocalProtocolError("a FETCH response needs at least one item")
    w.raw(b")\r\n")


def write_response(w: Writer, r: R.Response) -> None:
    """Write one response (with its CRLF)."""
    cls = r.__class__
    if cls is R.FetchResponse:
        _fetch(w, r)  # type: ignore[arg-type]
        return
    if cls is R.StatusResponse:
        assert isinstance(r, R.StatusResponse)
        if r.tag is None:
            w.raw(b"* ")
        else:
            if r.status not in ("OK", "NO", "BAD"):
                raise LocalProtocolError(f"{r.status} is never tagged")
            from mailproto.imap._writer import check_tag

            check_tag(r.tag)
            w.text(r.tag)
            w.sp()
        if r.status not in ("OK", "NO", "BAD", "PREAUTH", "BYE"):
            raise LocalProtocolError(f"bad status {r.status!r}")
        w.raw(r.status.encode() + b" ")
        _resp_text(w, r.code, r.text)
    elif cls is R.Continuation:
        assert isinstance(r, R.Continuation)
        w.raw(b"+ ")
        _resp_text(w, r.code, r.text)
    elif isinstance(r, R.Exists):
        w.raw(b"* %d EXISTS" % r.count)
    elif isinstance(r, R.Recent):
        w.raw(b"* %d RECENT" % r.count)
    elif isinstance(r, R.ExpungeResponse):
        w.raw(b"* %d EXPUNGE" % r.seq)
    elif isinstance(r, (R.CapabilityResponse, R.Enabled)):
        caps = r.capabilities
        w.raw(b"* CAPABILITY" if cls is R.CapabilityResponse else b"* ENABLED")
        for cap in caps:
            w.sp()
            w.atom(cap)
    elif isinstance(r, R.FlagsResponse):
        w.raw(b"* FLAGS ")
        w.flags(r.flags)
    elif cls is R.ListResponse:
        assert isinstance(r, R.ListResponse)
        w.raw(b"* LSUB " if r.lsub else b"* LIST ")
        w.flags(r.attributes)
        w.sp()
        if r.delimiter is None:
            w.raw(b"NIL")
        else:
            if len(r.delimiter) != 1:
                raise LocalProtocolError("a delimiter is one character")
            w.string(r.delimiter)
        w.sp()
        w.mailbox(r.mailbox)
        if r.extended:
            w.raw(b" (")
            for i, (tag, value) in enumerate(r.extended):
                if i:
                    w.sp()
                w.string(tag)
                w.sp()
                write_ext_value(w, value)
            w.raw(b")")
    elif cls is R.StatusData:
        assert isinstance(r, R.StatusData)
        w.raw(b"* STATUS ")
        w.mailbox(r.mailbox)
        w.raw(b" (")
        for i, (key, value) in enumerate(r.items):
            if i:
                w.sp()
            w.atom(key)
            w.sp()
            _mailbox_status_value(w, key, value)
        w.raw(b")")
    elif cls is R.SearchResponse:
        assert isinstance(r, R.SearchResponse)
        w.raw(b"* SEARCH")
        for n in r.numbers:
            w.raw(b" %d" % n)
        if r.modseq is not None:
            w.raw(b" (MODSEQ %d)" % r.modseq)
    elif cls is R.Esearch:
        assert isinstance(r, R.Esearch)
        w.raw(b"* ESEARCH")
        if r.tag is not None:
            w.raw(b" (TAG ")
            w.string(r.tag)
            w.raw(b")")
        if r.uid:
            w.raw(b" UID")
        for key in ("min", "max", "count"):
            value = getattr(r, key)
            if value is not None:
                w.raw(b" %s %d" % (key.upper().encode(), value))
        if r.all is not None:
            w.raw(b" ALL " + str(r.all).encode())
        if r.modseq is not None:
            w.raw(b" MODSEQ %d" % r.modseq)
        for key, value in r.extra:
            w.sp()
            w.atom(key)
            w.sp()
            write_ext_value(w, value)
    elif cls is R.NamespaceResponse:
        assert isinstance(r, R.NamespaceResponse)
        w.raw(b"* NAMESPACE")
        for group in (r.personal, r.other, r.shared):
            w.sp()
            if not group:
                w.raw(b"NIL")
                continue
            w.raw(b"(")
            for desc in group:
                w.raw(b"(")
                w.string(desc.prefix)
                w.sp()
                w.nstring(desc.delimiter)
                for name, values in desc.extensions:
                    w.sp()
                    w.string(name)
                    w.raw(b" (")
                    for i, v in enumerate(values):
                        if i:
                            w.sp()
                        w.string(v)
                    w.raw(b")")
                w.raw(b")")
            w.raw(b")")
    elif cls is R.IdResponse:
        w.raw(b"* ID ")
        _id_params(w, r.params)  # type: ignore[union-attr]
    elif cls is R.Vanished:
        assert isinstance(r, R.Vanished)
        w.raw(b"* VANISHED " + (b"(EARLIER) " if r.earlier else b"") + str(r.uids).encode())
    elif cls is R.QuotaResponse:
        assert isinstance(r, R.QuotaResponse)
        w.raw(b"* QUOTA ")
        w.astring(r.root)
        w.raw(b" (")
        for i, (res, usage, limit) in enumerate(r.resources):
            if i:
                w.sp()
            w.atom(res)
            w.raw(b" %d %d" % (usage, limit))
        w.raw(b")")
    elif cls is R.QuotaRootResponse:
        assert isinstance(r, R.QuotaRootResponse)
        w.raw(b"* QUOTAROOT ")
        w.mailbox(r.mailbox)
        for root in r.roots:
            w.sp()
            w.astring(root)
    elif cls is R.UnknownResponse:
        assert isinstance(r, R.UnknownResponse)
        w.raw(b"* ")
        if r.number is not None:
            w.raw(b"%d " % r.number)
        w.atom(r.name)
        if r.text:
            w.sp()
            w.text(r.text)
    else:
        raise LocalProtocolError(f"not a response: {r!r}")
    w.crlf()


def _id_params(w: Writer, params: tuple[tuple[str, str | None], ...] | None) -> None:
    # RFC 2971 id-params-list: NIL, or pairs whose values may be NIL.
    _pairs(w, params)


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def _fetch_att(w: Writer, att: FetchAttribute) -> None:
    if isinstance(att, str):
        if att not in SIMPLE_FETCH_ATTRIBUTES:
            raise LocalProtocolError(f"unknown FETCH attribute {att!r}")
        w.raw(att.encode())
    elif isinstance(att, BinarySizeRequest):
        w.raw(b"BINARY.SIZE[" + ".".join(map(str, att.part)).encode() + b"]")
    elif isinstance(att, PreviewRequest):
        w.raw(b"PREVIEW (" + " ".join(att.modifiers).encode("ascii") + b")")
    elif isinstance(att, SectionRequest):
        name = b"BINARY" if att.binary else b"BODY"
        w.raw(name + (b".PEEK[" if att.peek else b"["))
        w.text(section_text(att.section))
        w.raw(b"]")
        if att.partial is not None:
            w.raw(b"<%d.%d>" % att.partial)
    else:
        raise LocalProtocolError(f"not a FETCH attribute: {att!r}")


def _search_key(w: Writer, key: SearchKey) -> None:
    op = key.op
    value: Any = key.value
    if op == "AND":
        if not value:
            raise LocalProtocolError("an AND list needs keys")
        w.raw(b"(")
        for i, k in enumerate(value):
            if i:
                w.sp()
            _search_key(w, k)
        w.raw(b")")
        return
    if op == "SEQ":
        w.seqset(value)
        return
    w.raw(op.encode("ascii"))
    if op == "NOT":
        w.sp()
        _search_key(w, value)
    elif op == "OR":
        w.sp()
        _search_key(w, value[0])
        w.sp()
        _search_key(w, value[1])
    elif op == "HEADER":
        w.sp()
        w.astring(value[0])
        w.sp()
        w.astring(value[1])
    elif op == "MODSEQ":
        assert isinstance(value, ModSeqSearch)
        if value.entry is not None:
            w.sp()
            w.string(value.entry)
            w.sp()
            w.raw((value.entry_type or "all").encode("ascii"))
        w.raw(b" %d" % value.modseq)
    elif op == "UID":
        w.sp()
        w.seqset(value)
    elif value is None:
        pass
    elif isinstance(value, bool):
        raise LocalProtocolError("bad search value")
    elif isinstance(value, int):
        w.raw(b" %d" % value)
    elif hasattr(value, "year"):
        w.sp()
        w.raw(format_date(value).encode("ascii"))
    elif op in ("KEYWORD", "UNKEYWORD", "EMAILID", "THREADID"):
        w.sp()
        w.atom(value)
    else:
        w.sp()
        w.astring(value)


def write_command(w: Writer, cmd: C.Command | C.Done) -> None:
    """Write one command (with its CRLF)."""
    if isinstance(cmd, C.Done):
        w.raw(b"DONE\r\n")
        return
    w.text(cmd.tag)
    w.sp()
    uid = getattr(cmd, "uid", False)
    if uid:
        w.raw(b"UID ")
    cls = cmd.__class__
    if cls in _NOARG:
        w.raw(_NOARG[cls])
    elif isinstance(cmd, C.Fetch):
        w.raw(b"FETCH ")
        w.seqset(cmd.sequence_set)
        w.sp()
        if isinstance(cmd.attributes, str):
            if cmd.attributes not in ("ALL", "FAST", "FULL"):
                raise LocalProtocolError("FETCH macros are ALL, FAST and FULL")
            w.raw(cmd.attributes.encode())
        else:
            if not cmd.attributes:
                raise LocalProtocolError("FETCH needs attributes")
            w.raw(b"(")
            for i, att in enumerate(cmd.attributes):
                if i:
                    w.sp()
                _fetch_att(w, att)
            w.raw(b")")
        if cmd.changed_since is not None or cmd.vanished:
            mods = []
            if cmd.changed_since is not None:
                mods.append(b"CHANGEDSINCE %d" % cmd.changed_since)
            if cmd.vanished:
                mods.append(b"VANISHED")
            w.raw(b" (" + b" ".join(mods) + b")")
    elif isinstance(cmd, C.Store):
        w.raw(b"STORE ")
        w.seqset(cmd.sequence_set)
        if cmd.unchanged_since is not None:
            w.raw(b" (UNCHANGEDSINCE %d)" % cmd.unchanged_since)
        if cmd.mode not in ("+", "-", ""):
            raise LocalProtocolError("STORE mode is '+', '-' or ''")
        w.raw(b" " + cmd.mode.encode() + (b"FLAGS.SILENT " if cmd.silent else b"FLAGS "))
        w.flags(cmd.flags)
    elif isinstance(cmd, (C.Copy, C.Move)):
        w.raw(b"COPY " if isinstance(cmd, C.Copy) else b"MOVE ")
        w.seqset(cmd.sequence_set)
        w.sp()
        w.mailbox(cmd.mailbox)
    elif isinstance(cmd, C.Search):
        w.raw(b"SEARCH")
        if cmd.return_options is not None:
            w.raw(b" RETURN (" + " ".join(map(check_atom, cmd.return_options)).encode() + b")")
        if cmd.charset is not None:
            w.raw(b" CHARSET ")
            w.astring(cmd.charset)
        if not cmd.keys:
            raise LocalProtocolError("SEARCH needs at least one key")
        for key in cmd.keys:
            w.sp()
            _search_key(w, key)
    elif isinstance(cmd, C.Expunge):
        if cmd.uids is None:
            w.raw(b"EXPUNGE")
        else:
            w.raw(b"UID EXPUNGE ")
            w.seqset(cmd.uids)
    elif isinstance(cmd, C.Login):
        w.raw(b"LOGIN ")
        w.astring(cmd.username)
        w.sp()
        w.astring(cmd.password)
    elif isinstance(cmd, C.Authenticate):
        w.raw(b"AUTHENTICATE ")
        w.atom(cmd.mechanism)
        if cmd.initial_response is not None:
            if cmd.initial_response == b"":
                w.raw(b" =")
            else:
                import binascii

                w.raw(b" " + binascii.b2a_base64(cmd.initial_response, newline=False))
    elif isinstance(cmd, C.Enable):
        if not cmd.capabilities:
            raise LocalProtocolError("ENABLE needs capabilities")
        w.raw(b"ENABLE")
        for cap in cmd.capabilities:
            w.sp()
            w.atom(cap)
    elif isinstance(cmd, (C.Select, C.Examine)):
        w.raw(b"SELECT " if isinstance(cmd, C.Select) else b"EXAMINE ")
        w.mailbox(cmd.mailbox)
        params: list[bytes] = []
        if cmd.condstore:
            params.append(b"CONDSTORE")
        if cmd.qresync is not None:
            q = cmd.qresync
            text = b"QRESYNC (%d %d" % (q.uidvalidity, q.modseq)
            if q.known_uids is not None:
                text += b" " + str(q.known_uids).encode()
            if q.seq_match is not None:
                text += b" (%s %s)" % (str(q.seq_match[0]).encode(), str(q.seq_match[1]).encode())
            params.append(text + b")")
        if params:
            w.raw(b" (" + b" ".join(params) + b")")
    elif isinstance(cmd, C.Create):
        w.raw(b"CREATE ")
        w.mailbox(cmd.mailbox)
        if cmd.special_use:
            w.raw(b" (USE ")
            w.flags(cmd.special_use)
            w.raw(b")")
    elif isinstance(cmd, (C.Delete, C.Subscribe, C.Unsubscribe)):
        w.raw(
            b"DELETE "
            if isinstance(cmd, C.Delete)
            else b"SUBSCRIBE "
            if isinstance(cmd, C.Subscribe)
            else b"UNSUBSCRIBE "
        )
        w.mailbox(cmd.mailbox)
    elif isinstance(cmd, C.Rename):
        w.raw(b"RENAME ")
        w.mailbox(cmd.mailbox)
        w.sp()
        w.mailbox(cmd.new_name)
    elif isinstance(cmd, C.List):
        w.raw(b"LIST ")
        if cmd.selection is not None:
            w.raw(b"(" + " ".join(map(check_atom, cmd.selection)).encode() + b") ")
        w.mailbox(cmd.reference)
        w.sp()
        if not cmd.patterns:
            raise LocalProtocolError("LIST needs a pattern")
        if len(cmd.patterns) == 1:
            w.list_mailbox(cmd.patterns[0])
        else:
            w.raw(b"(")
            for i, p in enumerate(cmd.patterns):
                if i:
                    w.sp()
                w.list_mailbox(p)
            w.raw(b")")
        if cmd.return_options is not None or cmd.return_status is not None:
            opts = [check_atom(o).encode() for o in cmd.return_options or ()]
            if cmd.return_status is not None:
                if not cmd.return_status:
                    # RFC 5819 §6: the STATUS return option lists at least
                    # one status-att, as the STATUS command does.
                    raise LocalProtocolError("LIST RETURN STATUS needs items")
                opts.append(
                    b"STATUS (" + " ".join(map(check_atom, cmd.return_status)).encode() + b")"
                )
            w.raw(b" RETURN (" + b" ".join(opts) + b")")
    elif isinstance(cmd, C.Lsub):
        w.raw(b"LSUB ")
        w.mailbox(cmd.reference)
        w.sp()
        w.list_mailbox(cmd.pattern)
    elif isinstance(cmd, C.Status):
        w.raw(b"STATUS ")
        w.mailbox(cmd.mailbox)
        if not cmd.items:
            raise LocalProtocolError("STATUS needs items")
        w.raw(b" (" + " ".join(map(check_atom, cmd.items)).encode() + b")")
    elif isinstance(cmd, C.Append):
        w.raw(b"APPEND ")
        w.mailbox(cmd.mailbox)
        if not cmd.messages:
            raise LocalProtocolError("APPEND needs a message")
        for msg in cmd.messages:
            w.sp()
            if msg.flags is not None:
                w.flags(msg.flags)
                w.sp()
            if msg.date is not None:
                w.datetime(msg.date)
                w.sp()
            w.literal(msg.data, binary=msg.binary)
    elif isinstance(cmd, C.Id):
        w.raw(b"ID ")
        _id_params(w, cmd.params)
    elif isinstance(cmd, C.Compress):
        w.raw(b"COMPRESS ")
        w.atom(cmd.mechanism)
    elif isinstance(cmd, C.GetQuota):
        w.raw(b"GETQUOTA ")
        w.astring(cmd.root)
    elif isinstance(cmd, C.GetQuotaRoot):
        w.raw(b"GETQUOTAROOT ")
        w.mailbox(cmd.mailbox)
    elif isinstance(cmd, C.SetQuota):
        w.raw(b"SETQUOTA ")
        w.astring(cmd.root)
        w.raw(
            b" (" + b" ".join(b"%s %d" % (check_atom(r).encode(), n) for r, n in cmd.limits) + b")"
        )
    elif isinstance(cmd, C.Experimental):
        w.raw(cmd.name.encode("ascii"))
        for argument in cmd.arguments:
            w.sp()
            write_ext_value(w, argument)
    else:
        raise LocalProtocolError(f"not a command: {cmd!r}")
    w.crlf()


_NOARG: dict[type, bytes] = {
    C.Capability: b"CAPABILITY",
    C.Noop: b"NOOP",
    C.Logout: b"LOGOUT",
    C.StartTLS: b"STARTTLS",
    C.Namespace: b"NAMESPACE",
    C.Idle: b"IDLE",
    C.Check: b"CHECK",
    C.Close: b"CLOSE",
    C.Unselect: b"UNSELECT",
}

# Flags are validated where they are written; keep the import used.
_ = check_flag
