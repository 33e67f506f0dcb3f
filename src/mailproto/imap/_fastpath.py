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

import datetime
import re
import sys
from typing import Any

from mailproto.imap.types._literal import LiteralChunks, literal_bytes
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
from mailproto.imap.types.responses import FetchResponse as _FetchResponse

__all__ = ["fast_fetch"]

# How the regexes are written (they are most of the fast path's time):
#
# * sre pays for a "complex" repeat (a repeated group, not one character
#   class): each one entered allocates a repeat context, and every
#   alternation tried inside it saves all the capture marks so far.  A
#   quoted string's escapes are rare, so their repeat is only entered after
#   a backslash: "text" takes the first alternative without it.
# * Repeats whose end is fixed by the next character (an address list ends
#   at ")", a quoted string at '"') are possessive where the engine has them
#   (Python 3.11): giving back an iteration can never let the pattern match,
#   so the result is the same and nothing is saved for backtracking.  On
#   3.10 they are plain greedy repeats: same matches, a little slower.
# * Alternatives start with the likelier one (a quoted string, a list, then
#   NIL), each beginning with a literal or a class the engine tests before
#   trying the branch.
_P = "+" if sys.version_info >= (3, 11) else ""
_QTEXT = r'[^"\\\r\n\x00]*'
_Q = rf'"{_QTEXT}(?:"|(?:\\["\\]{_QTEXT})+{_P}")'
_NIL = r"[Nn][Ii][Ll]"
# An optional part (each starts with SP and is followed by SP or ")").
_O = "?" + _P
# A quoted string whose group is its content (quotes outside the group).
_QC = rf'"({_QTEXT}(?:\\["\\]{_QTEXT})*{_P})"'
_NS = f"(?:{_Q}|{_NIL})"
_ADDR = rf"\({_NS} {_NS} {_NS} {_NS}\)"
_ALIST = rf"(?:\({_ADDR}(?: ?{_ADDR})*{_P}\)|{_NIL})"
# 18 digits stay below 2**63 (number64); longer numbers go to the slow path.
_NUM = r"[0-9]{1,18}"
_PARAMS = rf"(?:\({_Q} {_Q}(?: {_Q} {_Q})*{_P}\)|{_NIL})"
_DSP = rf"(?:\({_Q} {_PARAMS}\)|{_NIL})"
_LANG = rf"(?:{_Q}|\({_Q}(?: {_Q})*{_P}\)|{_NIL})"

_ADDR_RE = re.compile(rf"\(({_NS}) ({_NS}) ({_NS}) ({_NS})\)")
# An address of an already-matched list holding no backslash and no "": each
# field is NIL or '"' [^"]+ '"', and the group captures the content.
_NIL_OR_CONTENT = rf'(?:"([^"]*)"|{_NIL})'
_ADDR_PLAIN_RE = re.compile(
    rf"\({_NIL_OR_CONTENT} {_NIL_OR_CONTENT} {_NIL_OR_CONTENT} {_NIL_OR_CONTENT}\)"
)
_ENV_RE = re.compile(
    rf"\(({_NS}) ({_NS}) ({_ALIST}) ({_ALIST}) ({_ALIST}) ({_ALIST}) ({_ALIST}) ({_ALIST})"
    rf" ({_NS}) ({_NS})\)"
)
_PARAM_RE = re.compile(_Q)
_LEAF_HEAD = re.compile(rf"\(({_Q}) ({_Q}) ({_PARAMS}) ({_NS}) ({_NS}) ({_Q}) ({_NUM})")
# After the head: [SP lines] [SP md5 [SP dsp [SP lang [SP loc]]]] ")"
# The extension fields after the first: [SP dsp [SP lang [SP loc]]].
_EXT3 = rf"(?: ({_DSP})(?: ({_LANG})(?: ({_NS})){_O}){_O}){_O}"
_LEAF_TAIL = re.compile(rf"(?: ({_NUM})){_O}(?: ({_NS}){_EXT3}){_O}\)")
# A whole non-message leaf in one match: head, then the tail; type, subtype
# and encoding captured without their quotes.
_LEAF = re.compile(
    rf"\({_QC} {_QC} ({_PARAMS}) ({_NS}) ({_NS}) {_QC} ({_NUM})" + _LEAF_TAIL.pattern
)
_MSG_TAIL = re.compile(rf" ({_NUM})(?: ({_NS}){_EXT3}){_O}\)")
_MP_TAIL = re.compile(rf" {_QC}(?: ({_PARAMS}){_EXT3}){_O}\)")
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
    # date-time (RFC 9051 §9), its fields captured: the value is built here
    # instead of parsing the text a second time (parse_datetime's regex).
    r' INTERNALDATE "([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4})'
    r' ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-][0-9]{4})" RFC822\.SIZE ([0-9]{1,18}) '
)
_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
# Zones by their text (e.g. "+0100"): a few per mailbox; bounded by size.
_ZONES: dict[str, datetime.timezone] = {}


def _zone(text: str) -> datetime.timezone | None:
    """The timezone of a ``zone`` ("+hhmm"), or None when it is out of range."""
    minutes = int(text[1:3]) * 60 + int(text[3:5])
    if minutes >= 24 * 60:
        return None
    tz = datetime.timezone(datetime.timedelta(minutes=-minutes if text[0] == "-" else minutes))
    if len(_ZONES) < 2000:
        _ZONES[text] = tz
    return tz


_VALUE_RE = re.compile(rf"{_NIL}|{_Q}|\x00[0-9]+\x00")
# Every literal marker (see _parser.flatten), literal8 ones included: the
# scan must consume each marker whole, left to right.  A pattern that skipped
# some markers (say, by look-behind) would restart inside them, and the
# closing NUL of one marker, the digits of an atom and the opening NUL of the
# next ("\x000\x002\x001\x00" for "{4}...2{3}") would read as a marker of
# its own.  Which markers stand where a *string* is expected is decided per
# match, in _inline_strings.
_STRING_MARKER = re.compile(r"\x00(~?[0-9]+)\x00")
# What precedes a marker that is message data, not a string: the value of
# BODY[...]/BINARY[...] (after "] " or "> ") or of RFC822, RFC822.HEADER,
# RFC822.TEXT (kept as bytes).
_DATA_BEFORE = ("] ", "> ", "RFC822 ", "HEADER ", "TEXT ")


def _inline_strings(s: str, literals: tuple[bytes | LiteralChunks, ...]) -> str:
    """*s* with every string literal that can be quoted written as a quoted string.

    Servers send 8-bit header text (a subject, a display name, a file name)
    as a literal inside ENVELOPE or BODYSTRUCTURE (RFC 3501 quoted strings
    are 7-bit); without this, one such string sends the whole response to
    the generic path.  A literal and a quoted string are the same ``string``
    (RFC 9051 §4.3), so the value is unchanged: the literal's octets decoded
    as the generic path decodes them, with backslash and ``"`` escaped.  A literal
    holding CR, LF or NUL stays a marker, and the regexes give up on it.
    """

    def quoted(m: re.Match[str]) -> str:
        index = m.group(1)
        if index[0] == "~" or s.endswith(_DATA_BEFORE, 0, m.start()):
            return m.group()  # literal8, or message data: stays a marker
        data = literal_bytes(literals[int(index)])
        if b"\r" in data or b"\n" in data or b"\x00" in data:
            return m.group()
        text = data.decode("utf-8", "surrogateescape")
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'

    return _STRING_MARKER.sub(quoted, s)


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


def _unescape(inner: str) -> str:
    return _UNESCAPE.sub(r"\1", inner) if "\\" in inner else inner


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


(
    _F_SEQ,
    _F_UID,
    _F_FLAGS,
    _F_DATE,
    _F_SIZE,
    _F_ENVELOPE,
    _F_BODYSTRUCTURE,
    _F_BODY,
    _F_MODSEQ,
    _F_EMAIL_ID,
    _F_THREAD_ID,
    _F_PREVIEW,
    _F_SAVE_DATE,
    _F_BINARY_SIZES,
    _F_SECTIONS,
    _F_EXTRA,
) = _setters(
    _FetchResponse,
    "seq uid flags internal_date rfc822_size envelope body_structure body modseq email_id"
    " thread_id preview save_date binary_sizes sections extra",
)
_SD_SET = _setters(SectionData, "section origin data binary legacy")


_NO_SECTION = Section()


def _section_data(
    section: Section,
    origin: int | None,
    data: bytes | LiteralChunks | None,
    binary: bool,
    legacy: str | None,
) -> Any:
    obj = _new(SectionData)
    _SD_SET[0](obj, section)
    _SD_SET[1](obj, origin)
    _SD_SET[2](obj, data)
    _SD_SET[3](obj, binary)
    _SD_SET[4](obj, legacy)
    return obj


def _data_value(
    s: str, pos: int, literals: tuple[bytes | LiteralChunks, ...]
) -> tuple[bytes | LiteralChunks | None, int] | None:
    """The nstring (or literal) message data at *pos*, and where it ends."""
    v = _VALUE_RE.match(s, pos)
    if v is None:
        return None
    token = v.group()
    if token[0] == "\x00":
        return literals[int(token[1:-1])], v.end()
    if token[0] == '"':
        return _s(token).encode("utf-8", "surrogateescape"), v.end()
    return None, v.end()


# Small caches of immutable sub-values that repeat across a mailbox (the same
# senders, the same Content-Type parameters, the all-NIL extension data).
# Values are frozen, so sharing them is safe; keys are bounded in length and
# the caches in size, so hostile input cannot grow them.
_CACHE_KEY_MAX = 300
_CACHE_SIZE = 4096
_ALIST_CACHE: dict[str, tuple[Address, ...]] = {}
_PARAMS_CACHE: dict[str, tuple[tuple[str, str], ...]] = {}
_EXT_CACHE: dict[tuple[str | None, ...], BodyExtension] = {}


def _alist(text: str) -> tuple[Address, ...]:
    # *text* is an address list the envelope regex has already matched, so
    # its shape is known; only its values are extracted here.
    if text[0] != "(":
        return ()
    got = _ALIST_CACHE.get(text)
    if got is not None:
        return got
    if "\\" in text or '""' in text:
        got = tuple(
            [_address(_ns(a), _ns(b), _ns(c), _ns(d)) for a, b, c, d in _ADDR_RE.findall(text)]
        )
    else:
        # The common case: no escapes and no empty string, so every quoted
        # string is '"' [^"]+ '"' and its content is captured by the regex
        # itself, and an empty capture can only be NIL.  About a third
        # cheaper than slicing the quotes off, and the loop builds each
        # Address in place (no call per address).
        out: list[Address] = []
        append = out.append
        for a, b, c, d in _ADDR_PLAIN_RE.findall(text):
            obj = _new(Address)
            _A_NAME(obj, a or None)
            _A_ADL(obj, b or None)
            _A_MBOX(obj, c or None)
            _A_HOST(obj, d or None)
            append(obj)
        got = tuple(out)
    if len(text) <= _CACHE_KEY_MAX:
        if len(_ALIST_CACHE) >= _CACHE_SIZE:
            _ALIST_CACHE.clear()
        _ALIST_CACHE[text] = got
    return got


def _envelope(g: tuple[str, ...]) -> Envelope:
    date, subject, frm_s, sender_s, reply_to_s, to_s, cc_s, bcc_s, in_reply_to, message_id = g
    # Sender and Reply-To are nearly always the From list again (RFC 9051
    # §7.5.2 tells servers to repeat it when the header is absent): shared.
    frm = _alist(frm_s) if frm_s[0] == "(" else ()
    obj = _new(Envelope)
    _E0(obj, _ns(date))
    _E1(obj, _ns(subject))
    _E2(obj, frm)
    _E3(obj, frm if sender_s == frm_s else _alist(sender_s))
    _E4(obj, frm if reply_to_s == frm_s else _alist(reply_to_s))
    _E5(obj, _alist(to_s) if to_s[0] == "(" else ())
    _E6(obj, _alist(cc_s) if cc_s[0] == "(" else ())
    _E7(obj, _alist(bcc_s) if bcc_s[0] == "(" else ())
    _E8(obj, _ns(in_reply_to))
    _E9(obj, _ns(message_id))
    return obj


def _params(text: str | None) -> tuple[tuple[str, str], ...]:
    if text is None or text[0] != "(":
        return ()
    got = _PARAMS_CACHE.get(text)
    if got is not None:
        return got
    got = _parse_params(text)
    if len(text) <= _CACHE_KEY_MAX:
        if len(_PARAMS_CACHE) >= _CACHE_SIZE:
            _PARAMS_CACHE.clear()
        _PARAMS_CACHE[text] = got
    return got


def _parse_params(text: str) -> tuple[tuple[str, str], ...]:
    """The pairs of a ``(...)`` parameter list (never cached: see _make_ext)."""
    items = _PARAM_RE.findall(text)
    if "\\" in text:
        return tuple([(_s(items[i]), _s(items[i + 1])) for i in range(0, len(items), 2)])
    return tuple([(items[i][1:-1], items[i + 1][1:-1]) for i in range(0, len(items), 2)])


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


def _ext(g: tuple[str | None, ...]) -> BodyExtension | None:
    """A single part's extension data from its groups (first, dsp, lang, loc)."""
    first, dsp, lang, loc = g
    if first is None:
        return None
    got = _EXT_CACHE.get(g)
    if got is not None:
        return got
    got = _make_ext(g, False)
    # (Three of the four are often NIL: lengths summed without a generator.)
    size = len(first) + len(dsp or "") + len(lang or "") + len(loc or "")
    if size <= _CACHE_KEY_MAX:
        if len(_EXT_CACHE) >= _CACHE_SIZE:
            _EXT_CACHE.clear()
        _EXT_CACHE[g] = got
    return got


def _make_ext(g: tuple[str | None, ...], multipart: bool) -> BodyExtension:
    first, dsp, lang, loc = g
    assert first is not None
    count = 1 if dsp is None else 2 if lang is None else 3 if loc is None else 4
    # Slot-level construction: count is 1-4 and extra is empty by the regex,
    # which is all BodyExtension's validation checks.
    obj = _new(BodyExtension)
    _X_COUNT(obj, count)
    if multipart:
        # A multipart's parameters hold its boundary, unique per message
        # (RFC 2046 §5.1.1): caching them (or this value) would only evict
        # entries that do repeat.
        _X_MD5(obj, None)
        _X_PARAMS(obj, _parse_params(first) if first[0] == "(" else ())
    else:
        _X_MD5(obj, _ns(first))
        _X_PARAMS(obj, ())
    # (Each of the three is most often NIL or absent: no call for those.)
    _X_DSP(obj, None if dsp is None or dsp[0] != "(" else _dsp(dsp))
    _X_LANG(obj, None if lang is None or lang[0] not in '("' else _lang(lang))
    _X_LOC(obj, None if loc is None or loc[0] != '"' else _s(loc))
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
        subtype, first, dsp, lang, loc = m.groups()
        if first is None:
            ext = None
        elif ext_ok:
            ext = _make_ext((first, dsp, lang, loc), True)
        else:
            return None
        multi = _new(MultipartBody)
        _M_PARTS(multi, tuple(parts))
        _M_SUBTYPE(multi, _unescape(subtype))
        _M_EXT(multi, ext)
        return multi, m.end()
    leaf = _LEAF.match(s, pos)
    if leaf is not None:
        mtype, sub, params, cid, desc, enc, size, lines_s, first, dsp, lang, loc = leaf.groups()
        # (An escape cannot spell TEXT, so the raw content is compared.)
        if (lines_s is not None) != (mtype.upper() == "TEXT"):
            return None  # lines where they do not belong, or missing: slow path judges
        if first is None:
            ext = None
        elif ext_ok:
            ext = _EXT_CACHE.get(g := (first, dsp, lang, loc)) or _ext(g)
        else:
            return None
        if "\\" in mtype or "\\" in sub or "\\" in enc:
            mtype, sub, enc = _unescape(mtype), _unescape(sub), _unescape(enc)
        # SinglePartBody, slot by slot (see _single), inline: this is the
        # commonest value of a BODYSTRUCTURE.
        obj = _new(SinglePartBody)
        _SP0(obj, mtype)
        _SP1(obj, sub)
        _SP2(obj, _PARAMS_CACHE.get(params) or _params(params))
        _SP3(obj, None if cid[0] != '"' else _s(cid))
        _SP4(obj, None if desc[0] != '"' else _s(desc))
        _SP5(obj, enc)
        _SP6(obj, int(size))
        _SP7(obj, None if lines_s is None else int(lines_s))
        _SP8(obj, None)
        _SP9(obj, None)
        _SP10(obj, ext)
        return obj, leaf.end()
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
    ext = _ext(tail.groups()[1:])
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
    seq: int,
    s: str,
    pos: int,
    literals: tuple[bytes | LiteralChunks, ...],
    max_depth: int,
    parse_datetime: Any,
    section_from: Any,
) -> Any:
    """Parse ``(...)`` FETCH data at *pos*: the :class:`FetchResponse`, or None."""
    if max_depth < 5 or not s.startswith("(", pos) or not s.endswith(")"):
        return None
    if literals:
        # (Markers only follow "FETCH (": pos stays valid.)
        s = _inline_strings(s, literals)
    pos += 1
    end = len(s) - 1
    # One local per field the fast path can fill (the rest keep their
    # defaults); "unset" is None for all of them, as in FetchResponse.
    uid = flags = date = size = envelope = bodystructure = body = modseq = None
    sections: list[SectionData] | None = None
    head = _COMMON_HEAD.match(s, pos)
    if head is not None:
        uid_s, content, day, mon, year, hh, mi, ss, zone, size_s = head.groups()
        uid = int(uid_s)
        flags = _flags(content)
        month = _MONTH_NUMBERS.get(mon.upper())
        tz = _ZONES.get(zone) or _zone(zone)
        if uid > _MAX32 or flags is None or month is None or tz is None:
            return None
        try:
            date = datetime.datetime(
                int(year), month, int(day), int(hh), int(mi), int(ss), tzinfo=tz
            )
        except ValueError:  # no such day (30-Feb), hour or minute
            return None
        size = int(size_s)
        pos = head.end()
    while True:
        # The two big items, spelt as servers spell them, skip the item
        # regex (a match costs about as much as a short item's value).
        if s.startswith("ENVELOPE ", pos):
            key = "ENVELOPE"
            bracket_text = None
            pos += 9
        elif s.startswith("BODYSTRUCTURE ", pos):
            key = "BODYSTRUCTURE"
            bracket_text = None
            pos += 14
        else:
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
            value = _data_value(s, pos, literals)
            if value is None:
                return None
            if sections is None:
                sections = []
            sections.append(
                _section_data(
                    section,
                    None if origin is None else int(origin),
                    value[0],
                    key == "BINARY",
                    None,
                )
            )
            pos = value[1]
        elif key == "ENVELOPE":
            v = _ENV_RE.match(s, pos)
            if v is None:
                return None
            envelope = _envelope(v.groups())
            pos = v.end()
        elif key == "BODYSTRUCTURE":
            got = _body(s, pos, 1, max_depth, True)
            if got is None:
                return None
            bodystructure, pos = got
        elif key == "UID":
            v = _NUM_RE.match(s, pos)
            if v is None or uid is not None:
                return None
            uid = int(v.group())
            if uid > _MAX32:
                return None
            pos = v.end()
        elif key == "FLAGS":
            v = _FLAGS_RE.match(s, pos)
            if v is None:
                return None
            flags = _flags(v.group(1))
            if flags is None:
                return None
            pos = v.end()
        elif key == "INTERNALDATE":
            v = _DATE_TIME_RE.match(s, pos)
            if v is None:
                return None
            date = _date(v.group(1), parse_datetime)
            if date is None:
                return None
            pos = v.end()
        elif key == "RFC822.SIZE":
            v = _NUM_RE.match(s, pos)
            if v is None:
                return None
            size = int(v.group())
            pos = v.end()
        elif key == "BODY":
            got = _body(s, pos, 1, max_depth, False)
            if got is None:
                return None
            body, pos = got
        elif key in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
            value = _data_value(s, pos, literals)
            if value is None:
                return None
            if sections is None:
                sections = []
            sections.append(_section_data(_NO_SECTION, None, value[0], False, key))
            pos = value[1]
        elif key == "MODSEQ":
            v = _MODSEQ_RE.match(s, pos)
            if v is None:
                return None
            modseq = int(v.group(1))
            pos = v.end()
        else:
            return None
        if pos == end:
            break
        if pos > end or s[pos] != " ":
            return None
        pos += 1
    # FetchResponse, slot by slot (it has no validators or converters): the
    # fields the fast path never fills get their defaults.
    obj = _new(_FetchResponse)
    _F_SEQ(obj, seq)
    _F_UID(obj, uid)
    _F_FLAGS(obj, flags)
    _F_DATE(obj, date)
    _F_SIZE(obj, size)
    _F_ENVELOPE(obj, envelope)
    _F_BODYSTRUCTURE(obj, bodystructure)
    _F_BODY(obj, body)
    _F_MODSEQ(obj, modseq)
    _F_EMAIL_ID(obj, None)
    _F_THREAD_ID(obj, None)
    _F_PREVIEW(obj, None)
    _F_SAVE_DATE(obj, None)
    _F_BINARY_SIZES(obj, ())
    _F_SECTIONS(obj, () if sections is None else tuple(sections))
    _F_EXTRA(obj, ())
    return obj
