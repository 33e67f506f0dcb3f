"""The fast path for FETCH responses: whole structures matched by one regex each.

Why a second parser
-------------------
The generic path (:func:`mailproto.imap._parser.build_tree`) tokenizes every
atom, string and parenthesis, then converts the tree: about 130 tokens and as
many Python-level steps for a typical ``UID FLAGS INTERNALDATE RFC822.SIZE
ENVELOPE BODYSTRUCTURE`` response.  Most of those tokens sit in two
structures whose shape is fixed by the grammar (RFC 9051 §9):

* an ENVELOPE is ten fields, eight of them ``nstring`` or address lists, an
  address being four ``nstring`` — so one compiled regex matches a whole
  envelope and hands back its ten fields, and one ``findall`` splits an
  address list into 4-tuples, all in C;
* a BODYSTRUCTURE leaf part (``type subtype params id description encoding
  size [lines] [md5 [disposition [language [location]]]]``) is likewise one
  regex; only multipart nesting and message/rfc822 need Python recursion.

The fast path handles what real servers send (quoted strings, NIL, numbers)
and gives up — returns ``None`` — on anything else: a literal inside a
structure, extension data beyond the four standard fields, an item it does
not know, a nesting deeper than the limit, anything malformed.  The caller
then runs the generic path on the same input, which is the reference: it
either produces the value or raises the precise error.  The two paths must
agree on every input the fast path accepts; ``tests/imap`` checks that with
hypothesis.
"""

from __future__ import annotations

import re
from typing import Any

from mailproto.imap.types._values import (
    Address,
    BodyExtension,
    BodyStructure,
    Disposition,
    Envelope,
    MultipartBody,
    Section,
    SectionData,
    SinglePartBody,
)

__all__ = ["fast_fetch", "make_fetch_response"]

_Q = r'"[^"\\\r\n\x00]*(?:\\["\\][^"\\\r\n\x00]*)*"'
_NIL = r"[Nn][Ii][Ll]"
_NS = f"(?:{_NIL}|{_Q})"
_ADDR = rf"\({_NS} {_NS} {_NS} {_NS}\)"
_ALIST = rf"(?:{_NIL}|\({_ADDR}(?: ?{_ADDR})*\))"
# 18 digits stay below 2**63 (number64); longer numbers go to the slow path.
_NUM = r"[0-9]{1,18}"
_PARAMS = rf"(?:{_NIL}|\({_Q} {_Q}(?: {_Q} {_Q})*\))"
_DSP = rf"(?:{_NIL}|\({_Q} {_PARAMS}\))"
_LANG = rf"(?:{_NIL}|{_Q}|\({_Q}(?: {_Q})*\))"

_ADDR_RE = re.compile(rf"\(({_NS}) ({_NS}) ({_NS}) ({_NS})\)")
_ENV_RE = re.compile(
    rf"\(({_NS}) ({_NS}) ({_ALIST}) ({_ALIST}) ({_ALIST}) ({_ALIST}) ({_ALIST}) ({_ALIST})"
    rf" ({_NS}) ({_NS})\)"
)
_PARAM_RE = re.compile(_Q)
_LEAF_HEAD = re.compile(rf"\(({_Q}) ({_Q}) ({_PARAMS}) ({_NS}) ({_NS}) ({_Q}) ({_NUM})")
# After the head: [SP lines] [SP md5 [SP dsp [SP lang [SP loc]]]] ")"
_LEAF_TAIL = re.compile(rf"(?: ({_NUM}))?(?: ({_NS})(?: ({_DSP})(?: ({_LANG})(?: ({_NS}))?)?)?)?\)")
# A whole non-message leaf in one match: head, then the tail.
_LEAF = re.compile(_LEAF_HEAD.pattern + _LEAF_TAIL.pattern)
_MSG_TAIL = re.compile(rf" ({_NUM})(?: ({_NS})(?: ({_DSP})(?: ({_LANG})(?: ({_NS}))?)?)?)?\)")
_MP_TAIL = re.compile(rf" ({_Q})(?: ({_PARAMS})(?: ({_DSP})(?: ({_LANG})(?: ({_NS}))?)?)?)?\)")
_ITEM = re.compile(
    r"([A-Za-z0-9.]+)"
    r"(\[(?:[^\]\"\x00]|\"[^\"\\\x00]*(?:\\.[^\"\\\x00]*)*\")*\](?:<([0-9]{1,10})>)?)? "
)
_NUM_RE = re.compile(_NUM)
# flag = "\\" atom / atom, and "\\*" (flag-perm); atoms are 7-bit (RFC 9051 §9).
_FLAG_FULL = re.compile(r"\\?[!#$&'+-\[^-z|}~]+|\\\*").fullmatch
# A flag token: printable ASCII but the token ends SP ( ) " { — 8-bit octets
# never (ATOM-CHAR is 7-bit, RFC 9051 §9); _flags narrows each to the flag
# grammar.
_FLAG_TOKEN = r"[!#-'*-z|-~]+"
_FLAGS_RE = re.compile(rf"\(((?:{_FLAG_TOKEN}(?: {_FLAG_TOKEN})*)?)\)")
_Q_RE = re.compile(_Q)
_DATE_TIME_RE = re.compile(r'"([ 0-9A-Za-z:+\-]{26})"')
_MODSEQ_RE = re.compile(r"\(([0-9]{1,18})\)")
# The items nearly every client asks for first, in the order servers send them
# (Dovecot, Cyrus, Gmail): one match instead of eight (four names, four
# values).  Upper case only — anything else goes through the item loop, which
# accepts every spelling; the value patterns are the loop's own.
_COMMON_HEAD = re.compile(
    rf"UID ([0-9]{{1,18}}) FLAGS \(((?:{_FLAG_TOKEN}(?: {_FLAG_TOKEN})*)?)\)"
    r' INTERNALDATE "([ 0-9A-Za-z:+\-]{26})" RFC822\.SIZE ([0-9]{1,18}) '
)
_VALUE_RE = re.compile(rf"{_NIL}|{_Q}|\x00[0-9]+\x00")
_LIT_RE = re.compile(r"\x00([0-9]+)\x00")
_UNESCAPE = re.compile(r"\\([\"\\])")
_NILS = frozenset({"NIL", "NIl", "NiL", "Nil", "nIL", "nIl", "niL", "nil"})
_MAX32 = 4294967295
_MAX63 = 9223372036854775807


def _ns(token: str) -> str | None:
    if token[0] != '"':
        return None
    inner = token[1:-1]
    if "\\" in inner:
        return _UNESCAPE.sub(r"\1", inner)
    return inner


def _s(token: str) -> str:
    inner = token[1:-1]
    if "\\" in inner:
        return _UNESCAPE.sub(r"\1", inner)
    return inner


# Construction without attrs' generated __init__: these classes have no
# validators or converters, so setting every slot through its descriptor is
# exactly what __init__ would do, minus the per-field frozen-setattr dance.
# Every field is always set (the slots must never stay empty).
_new = object.__new__


def _setters(cls: type, names: str) -> tuple[Any, ...]:
    fields = [f.name for f in cls.__attrs_attrs__]  # type: ignore[attr-defined]
    assert fields == names.split(), (cls, fields)
    return tuple(cls.__dict__[name].__set__ for name in fields)


_A_NAME, _A_ADL, _A_MBOX, _A_HOST = _setters(Address, "name adl mailbox host")


def _address(name: str | None, adl: str | None, mailbox: str | None, host: str | None) -> Address:
    obj = _new(Address)
    _A_NAME(obj, name)
    _A_ADL(obj, adl)
    _A_MBOX(obj, mailbox)
    _A_HOST(obj, host)
    return obj


_SP = _setters(
    SinglePartBody,
    "type subtype params id description encoding size lines envelope body extension",
)


_SP0, _SP1, _SP2, _SP3, _SP4, _SP5, _SP6, _SP7, _SP8, _SP9, _SP10 = _SP


def _single(  # noqa: PLR0917 (mirrors the field order)
    mtype: str,
    subtype: str,
    params: Any,
    cid: str | None,
    desc: str | None,
    enc: str,
    size: int,
    lines: int | None,
    envelope: Envelope | None,
    body: Any,
    ext: BodyExtension | None,
) -> SinglePartBody:
    obj = _new(SinglePartBody)
    _SP0(obj, mtype)
    _SP1(obj, subtype)
    _SP2(obj, params)
    _SP3(obj, cid)
    _SP4(obj, desc)
    _SP5(obj, enc)
    _SP6(obj, size)
    _SP7(obj, lines)
    _SP8(obj, envelope)
    _SP9(obj, body)
    _SP10(obj, ext)
    return obj


_X_COUNT, _X_MD5, _X_PARAMS, _X_DSP, _X_LANG, _X_LOC, _X_EXTRA = _setters(
    BodyExtension, "count md5 params disposition language location extra"
)
_D_TYPE, _D_PARAMS = _setters(Disposition, "type params")
_M_PARTS, _M_SUBTYPE, _M_EXT = _setters(MultipartBody, "parts subtype extension")
_ENV_SET = _setters(Envelope, "date subject from_ sender reply_to to cc bcc in_reply_to message_id")


_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9 = _ENV_SET


def _make_envelope(  # noqa: PLR0917 (mirrors the field order)
    date: str | None,
    subject: str | None,
    frm: tuple[Address, ...],
    sender: tuple[Address, ...],
    reply_to: tuple[Address, ...],
    to: tuple[Address, ...],
    cc: tuple[Address, ...],
    bcc: tuple[Address, ...],
    in_reply_to: str | None,
    message_id: str | None,
) -> Envelope:
    obj = _new(Envelope)
    _E0(obj, date)
    _E1(obj, subject)
    _E2(obj, frm)
    _E3(obj, sender)
    _E4(obj, reply_to)
    _E5(obj, to)
    _E6(obj, cc)
    _E7(obj, bcc)
    _E8(obj, in_reply_to)
    _E9(obj, message_id)
    return obj


def _fetch_maker() -> Any:
    from mailproto.imap.types.responses import FetchResponse

    fields = FetchResponse.__attrs_attrs__
    plan = tuple((FetchResponse.__dict__[f.name].__set__, f.name, f.default) for f in fields)

    def make(kw: dict[str, Any]) -> Any:
        obj = _new(FetchResponse)
        get = kw.get
        for setter, name, default in plan:
            setter(obj, get(name, default))
        return obj

    return make


# Small caches of immutable sub-values that repeat across a mailbox (the same
# senders, the same Content-Type parameters, the all-NIL extension data).
# Values are frozen, so sharing them is safe; keys are bounded in length and
# the caches in size, so hostile input cannot grow them.
_CACHE_KEY_MAX = 300
_CACHE_SIZE = 4096
_ALIST_CACHE: dict[str, tuple[Address, ...]] = {}
_PARAMS_CACHE: dict[str, tuple[tuple[str, str], ...]] = {}
_EXT_CACHE: dict[tuple[str | None, ...], BodyExtension] = {}
_EXT_CACHE_M: dict[tuple[str | None, ...], BodyExtension] = {}


def _alist(text: str) -> tuple[Address, ...]:
    if text[0] != "(":
        return ()
    got = _ALIST_CACHE.get(text)
    if got is not None:
        return got
    if "\\" in text:
        got = tuple(
            [_address(_ns(a), _ns(b), _ns(c), _ns(d)) for a, b, c, d in _ADDR_RE.findall(text)]
        )
    else:
        # No escapes anywhere: unquoting is a slice, done inline.
        got = tuple(
            [
                _address(
                    a[1:-1] if a[0] == '"' else None,
                    b[1:-1] if b[0] == '"' else None,
                    c[1:-1] if c[0] == '"' else None,
                    d[1:-1] if d[0] == '"' else None,
                )
                for a, b, c, d in _ADDR_RE.findall(text)
            ]
        )
    if len(text) <= _CACHE_KEY_MAX:
        if len(_ALIST_CACHE) >= _CACHE_SIZE:
            _ALIST_CACHE.clear()
        _ALIST_CACHE[text] = got
    return got


def _envelope(g: tuple[str, ...]) -> Envelope:
    frm = _alist(g[2])
    sender = frm if g[3] == g[2] else _alist(g[3])
    reply_to = frm if g[4] == g[2] else _alist(g[4])
    return _make_envelope(
        _ns(g[0]),
        _ns(g[1]),
        frm,
        sender,
        reply_to,
        _alist(g[5]),
        _alist(g[6]),
        _alist(g[7]),
        _ns(g[8]),
        _ns(g[9]),
    )


def _params(text: str | None) -> tuple[tuple[str, str], ...]:
    if text is None or text[0] != "(":
        return ()
    got = _PARAMS_CACHE.get(text)
    if got is not None:
        return got
    items = _PARAM_RE.findall(text)
    if "\\" in text:
        got = tuple([(_s(items[i]), _s(items[i + 1])) for i in range(0, len(items), 2)])
    else:
        got = tuple([(items[i][1:-1], items[i + 1][1:-1]) for i in range(0, len(items), 2)])
    if len(text) <= _CACHE_KEY_MAX:
        if len(_PARAMS_CACHE) >= _CACHE_SIZE:
            _PARAMS_CACHE.clear()
        _PARAMS_CACHE[text] = got
    return got


def _dsp(text: str | None) -> Disposition | None:
    if text is None or text[0] != "(":
        return None
    m = _Q_RE.match(text, 1)
    assert m is not None
    obj = _new(Disposition)
    _D_TYPE(obj, _s(m.group()))
    _D_PARAMS(obj, _params(text[m.end() + 1 : -1]))
    return obj


def _lang(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    if text[0] == '"':
        return (_s(text),)
    if text[0] == "(":
        return tuple([_s(t) for t in _PARAM_RE.findall(text)])
    return None


def _ext(g: tuple[str | None, ...], multipart: bool) -> BodyExtension | None:
    # g = (first, dsp, lang, loc): the groups of the optional extension fields.
    if g[0] is None:
        return None
    cache = _EXT_CACHE_M if multipart else _EXT_CACHE
    got = cache.get(g)
    if got is not None:
        return got
    got = _make_ext(g, multipart)
    if sum(len(x) for x in g if x is not None) <= _CACHE_KEY_MAX:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[g] = got
    return got


def _make_ext(g: tuple[str | None, ...], multipart: bool) -> BodyExtension:
    first, dsp, lang, loc = g
    assert first is not None
    count = 1 if dsp is None else 2 if lang is None else 3 if loc is None else 4
    # Slot-level construction: count is 1-4 and extra is empty by the regex,
    # which is all BodyExtension's validation checks.
    obj = _new(BodyExtension)
    _X_COUNT(obj, count)
    _X_MD5(obj, None if multipart else _ns(first))
    _X_PARAMS(obj, _params(first) if multipart else ())
    _X_DSP(obj, _dsp(dsp))
    _X_LANG(obj, _lang(lang))
    _X_LOC(obj, None if loc is None else _ns(loc))
    _X_EXTRA(obj, ())
    return obj


def _body(
    s: str, pos: int, depth: int, max_depth: int, ext_ok: bool
) -> tuple[BodyStructure, int] | None:
    # A body at recursion depth d has lists down to tree depth d + 4 (FETCH
    # list, then params/disposition/envelope/address lists): stay inside the
    # bound the slow path enforces, so the two paths never disagree.
    if depth + 4 > max_depth:
        return None
    if s.startswith("((", pos):
        parts: list[BodyStructure] = []
        pos += 1
        while s.startswith("(", pos):
            got = _body(s, pos, depth + 1, max_depth, ext_ok)
            if got is None:
                return None
            parts.append(got[0])
            pos = got[1]
        m = _MP_TAIL.match(s, pos)
        if m is None:
            return None
        ext = _ext(m.groups()[1:], True)
        if ext is not None and not ext_ok:
            return None
        multi = _new(MultipartBody)
        _M_PARTS(multi, tuple(parts))
        _M_SUBTYPE(multi, _s(m.group(1)))
        _M_EXT(multi, ext)
        return multi, m.end()
    leaf = _LEAF.match(s, pos)
    if leaf is not None:
        g = leaf.groups()
        mtype = g[0]
        lines_s = g[7]
        if (lines_s is not None) != (mtype.upper() == '"TEXT"'):
            return None  # lines where they do not belong, or missing: slow path judges
        ext = _ext(g[8:], False) if g[8] is not None else None
        if ext is not None and not ext_ok:
            return None
        cid = g[3]
        desc = g[4]
        sub = g[1]
        enc = g[5]
        if "\\" in mtype or "\\" in sub or "\\" in enc:
            mtype, sub, enc = '"' + _s(mtype) + '"', '"' + _s(sub) + '"', '"' + _s(enc) + '"'
        return (
            _single(
                mtype[1:-1],
                sub[1:-1],
                _params(g[2]),
                None if cid[0] != '"' else _s(cid),
                None if desc[0] != '"' else _s(desc),
                enc[1:-1],
                int(g[6]),
                None if lines_s is None else int(lines_s),
                None,
                None,
                ext,
            ),
            leaf.end(),
        )
    head = _LEAF_HEAD.match(s, pos)
    if head is None:
        return None
    mtype, subtype, params, cid, desc, enc, size = head.groups()
    upper = mtype.upper()
    pos = head.end()
    envelope = None
    inner = None
    if (
        upper == '"MESSAGE"'
        and subtype.upper() in ('"RFC822"', '"GLOBAL"')
        and s.startswith(" (", pos)
    ):
        env = _ENV_RE.match(s, pos + 1)
        if env is None or not s.startswith(" ", env.end()):
            return None
        envelope = _envelope(env.groups())
        got = _body(s, env.end() + 1, depth + 1, max_depth, ext_ok)
        if got is None:
            return None
        inner, pos = got
        tail = _MSG_TAIL.match(s, pos)
    else:
        tail = _LEAF_TAIL.match(s, pos)
    if tail is None:
        return None
    lines_s = tail.group(1)
    if (lines_s is not None) != (upper == '"TEXT"' or envelope is not None):
        return None  # lines where they do not belong, or missing: let the slow path judge
    ext = _ext(tail.groups()[1:], False)
    if ext is not None and not ext_ok:
        return None
    return (
        SinglePartBody(
            type=_s(mtype),
            subtype=_s(subtype),
            params=_params(params),
            id=_ns(cid),
            description=_ns(desc),
            encoding=_s(enc),
            size=int(size),
            lines=None if lines_s is None else int(lines_s),
            envelope=envelope,
            body=inner,
            extension=ext,
        ),
        tail.end(),
    )


_SECTION_CACHE: dict[str, Section] = {}
# FLAGS lists and INTERNALDATE values repeat across a mailbox (a handful of
# flag combinations; messages delivered in the same second): cache the parsed
# values by their text.  Both are immutable (tuple of str, aware datetime);
# keys are bounded by the regexes (dates are 26 characters) or by length
# (flags), and the caches by size, so hostile input cannot grow them.
_FLAGS_CACHE: dict[str, tuple[str, ...] | None] = {}
_DATE_CACHE: dict[str, Any] = {}


def _flags(content: str) -> tuple[str, ...] | None:
    """The flags of a FLAGS list's content, or None (slow path: a NIL, a non-flag)."""
    got = _FLAGS_CACHE.get(content, False)
    if got is not False:
        return got  # type: ignore[return-value]
    flags: tuple[str, ...] | None = tuple(content.split(" ")) if content else ()
    assert flags is not None
    if not _NILS.isdisjoint(flags) or not all(map(_FLAG_FULL, flags)):
        flags = None
    if len(content) <= _CACHE_KEY_MAX:
        if len(_FLAGS_CACHE) >= _CACHE_SIZE:
            _FLAGS_CACHE.clear()
        _FLAGS_CACHE[content] = flags
    return flags


def _date(text: str, parse_datetime: Any) -> Any:
    """The aware datetime of an INTERNALDATE's text, or None when it is invalid."""
    got = _DATE_CACHE.get(text)
    if got is not None:
        return got
    try:
        got = parse_datetime(text)
    except ValueError:
        return None
    if len(_DATE_CACHE) >= _CACHE_SIZE:
        _DATE_CACHE.clear()
    _DATE_CACHE[text] = got
    return got


def fast_fetch(  # noqa: PLR0917 (internal hot path: positional on purpose)
    s: str,
    pos: int,
    literals: tuple[bytes, ...],
    max_depth: int,
    parse_datetime: Any,
    section_from: Any,
) -> dict[str, Any] | None:
    """Parse ``(...)`` FETCH data at *pos*; the keyword arguments of FetchResponse, or None."""
    if max_depth < 5 or not s.startswith("(", pos) or not s.endswith(")"):
        return None
    pos += 1
    end = len(s) - 1
    kw: dict[str, Any] = {}
    sections: list[SectionData] = []
    head = _COMMON_HEAD.match(s, pos)
    if head is not None:
        uid_s, content, date_s, size_s = head.groups()
        number = int(uid_s)
        flags = _flags(content)
        date = _date(date_s, parse_datetime)
        if number > _MAX32 or flags is None or date is None:
            return None
        kw["uid"] = number
        kw["flags"] = flags
        kw["internal_date"] = date
        kw["rfc822_size"] = int(size_s)
        pos = head.end()
    while True:
        m = _ITEM.match(s, pos)
        if m is None:
            return None
        name, bracket_text, origin = m.groups()
        key = name.upper()
        pos = m.end()
        if bracket_text is not None:
            if key not in ("BODY", "BINARY"):
                return None
            spec = bracket_text[1 : bracket_text.rindex("]")]
            section = _SECTION_CACHE.get(spec)
            if section is None:
                section = section_from(spec, literals, None)
                if len(_SECTION_CACHE) < 512:
                    _SECTION_CACHE[spec] = section
            if key == "BINARY" and section.text is not None:
                return None
            v = _VALUE_RE.match(s, pos)
            if v is None:
                return None
            token = v.group()
            if token[0] == "\x00":
                data: bytes | None = literals[int(token[1:-1])]
            elif token[0] == '"':
                data = _s(token).encode("utf-8", "surrogateescape")
            else:
                data = None
            sections.append(
                SectionData(
                    section=section,
                    origin=None if origin is None else int(origin),
                    data=data,
                    binary=key == "BINARY",
                )
            )
            pos = v.end()
        elif key == "UID":
            v = _NUM_RE.match(s, pos)
            if v is None or "uid" in kw:
                return None
            number = int(v.group())
            if number > _MAX32:
                return None
            kw["uid"] = number
            pos = v.end()
        elif key == "FLAGS":
            v = _FLAGS_RE.match(s, pos)
            if v is None:
                return None
            got_flags = _flags(v.group(1))
            if got_flags is None:
                return None
            kw["flags"] = got_flags
            pos = v.end()
        elif key == "INTERNALDATE":
            v = _DATE_TIME_RE.match(s, pos)
            if v is None:
                return None
            got_date = _date(v.group(1), parse_datetime)
            if got_date is None:
                return None
            kw["internal_date"] = got_date
            pos = v.end()
        elif key == "RFC822.SIZE":
            v = _NUM_RE.match(s, pos)
            if v is None:
                return None
            kw["rfc822_size"] = int(v.group())
            pos = v.end()
        elif key == "ENVELOPE":
            v = _ENV_RE.match(s, pos)
            if v is None:
                return None
            kw["envelope"] = _envelope(v.groups())
            pos = v.end()
        elif key in ("BODYSTRUCTURE", "BODY"):
            got = _body(s, pos, 1, max_depth, key == "BODYSTRUCTURE")
            if got is None:
                return None
            kw["body_structure" if key == "BODYSTRUCTURE" else "body"] = got[0]
            pos = got[1]
        elif key == "MODSEQ":
            v = _MODSEQ_RE.match(s, pos)
            if v is None:
                return None
            kw["modseq"] = int(v.group(1))
            pos = v.end()
        else:
            return None
        if pos == end:
            break
        if pos > end or s[pos] != " ":
            return None
        pos += 1
    if sections:
        kw["sections"] = tuple(sections)
    return kw


#: Build a FetchResponse from the keyword arguments fast_fetch returns (plus
#: ``seq``), every slot set, without attrs' per-field frozen setattr.
make_fetch_response = _fetch_maker()
