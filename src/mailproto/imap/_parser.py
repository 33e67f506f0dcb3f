"""Parsing complete IMAP messages (commands and responses) into typed values.

Theory of operation
-------------------
The fragmentizer hands over a :class:`RawMessage`: line pieces and literals.
This module first *flattens* it into one :class:`str` in which every literal
announcement (``{5}\\r\\n`` plus its five octets) is replaced by a marker
``\\x00<index>\\x00`` (``\\x00~<index>\\x00`` for literal8).  NUL may not appear
in an IMAP line (RFC 9051 §9: CHAR8 and TEXT-CHAR exclude it), so a NUL in a
received line is refused up front and the marker can never be forged.  After
that, grammar code sees one string and a list of literal payloads, whatever
the framing was, so there is only one way to parse a string, quoted or not.

Two readers work on that string:

* A **tree tokenizer** for parenthesised data (FETCH items, BODYSTRUCTURE,
  ENVELOPE, ESEARCH, NAMESPACE ...): one compiled regex run by
  :meth:`re.Pattern.findall` over the rest of the message, in C, and one
  Python loop that builds nested lists.  Atoms stay :class:`str`, quoted
  strings stay in their quoted form (``'"x"'``, unescaped only when a typed
  field takes them: an atom can never begin with ``"``, so the two cannot be
  confused), ``NIL`` is ``None``, literals are :class:`bytes`.  This is the
  hot path for a client fetching metadata, and it never loops per byte.
* A **cursor** (:class:`_Cursor`) for the fixed-shape parts of the grammar
  (tags, command arguments, response codes), matching compiled regexes at a
  position.

Typed values are then built directly from the tree or by the cursor.  Every
failure is a :class:`~mailproto.errors.RemoteProtocolError` whose hint says
``BAD`` (commands: the session survives, ``fatal=False``); the nesting depth is
bounded by :attr:`IMAPLimits.nesting_depth`, checked as lists are opened, so
hostile input cannot exhaust the stack.
"""

from __future__ import annotations

import binascii
import datetime
import re
from typing import Any, NoReturn

from mailproto.codecs import imap_utf7
from mailproto.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError, ReplyHint
from mailproto.imap._fastpath import fast_fetch
from mailproto.imap._fragmentizer import RawMessage
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.imap.types._literal import LiteralChunks, literal_bytes
from mailproto.imap.types._seqset import SequenceSet
from mailproto.imap.types._values import (
    CODES_NUMBER,
    NIL,
    SEARCH_KEYS_DATE,
    SEARCH_KEYS_KEYWORD,
    SEARCH_KEYS_NOARG,
    SEARCH_KEYS_NUMBER,
    SEARCH_KEYS_OBJECTID,
    SEARCH_KEYS_STRING,
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
    Section,
    SectionData,
    SectionRequest,
    SinglePartBody,
)
from mailproto.limits import IMAPLimits

__all__ = ["ParseError", "flatten", "parse_command", "parse_response"]

_MAX32 = 4294967295
_MAX63 = 9223372036854775807


class ParseError(RemoteProtocolError):
    """A complete message that does not follow the grammar.

    Framing is intact, so the session can go on: a server answers ``BAD``
    with :attr:`tag` (or untagged when the tag itself is unreadable), a client
    may log and skip the response.
    """

    def __init__(self, message: str, *, tag: str | None = None) -> None:
        # No response code: PARSE (RFC 9051 §7.1) is about messages in the
        # mailbox, not commands; a command syntax error is a plain BAD.
        super().__init__(message, hint=ReplyHint(text=message[:200], fatal=False))
        #: The tag of the command, when it could be read.
        self.tag = tag


# ---------------------------------------------------------------------------
# Flattening
# ---------------------------------------------------------------------------

_ANNOUNCE_TAIL = re.compile(rb"~?\{[0-9]+[+-]?\}\r?\n\Z")


def flatten(message: RawMessage) -> tuple[str, tuple[bytes | LiteralChunks, ...]]:
    """The message as one string with literal markers, and the literals.

    A literal is :class:`bytes`, or :class:`LiteralChunks` when the decoder
    runs in zero-copy mode and it is large: such a value stays as it is where
    it is message data (``BODY[...]``, ``BINARY[...]``, ``RFC822*``) and is
    joined (:func:`literal_bytes`) where the grammar makes it a string.
    """
    segments = message.segments
    last = segments[-1]
    if last.endswith(b"\r\n"):
        last = last[:-2]
    elif last.endswith(b"\n"):
        last = last[:-1]
    if len(segments) == 1:
        if b"\x00" in last:
            raise ParseError("NUL octet in a line")
        return last.decode("utf-8", "surrogateescape"), ()
    parts: list[str] = []
    for index, segment in enumerate(segments[:-1]):
        # The fragmentizer only splits after an announcement, so the last "{"
        # starts it (a search from the start would scan the whole line).
        start = segment.rfind(b"{")
        binary = ""
        if start > 0 and segment[start - 1] == 0x7E:  # "~"
            start -= 1
            binary = "~"
        assert _ANNOUNCE_TAIL.match(segment, start) is not None
        head = segment[:start]
        if b"\x00" in head:
            raise ParseError("NUL octet in a line")
        parts.append(head.decode("utf-8", "surrogateescape"))
        parts.append(f"\x00{binary}{index}\x00")
    if b"\x00" in last:
        raise ParseError("NUL octet in a line")
    parts.append(last.decode("utf-8", "surrogateescape"))
    return "".join(parts), message.literals


# ---------------------------------------------------------------------------
# The tree tokenizer (hot path)
# ---------------------------------------------------------------------------

# One token per match, with at most one leading SP.  Groups:
#   1 "("   2 ")"   3 quoted string, quotes included
#   4 literal marker index ("~" prefix for literal8)
#   5 atom, number, or section token (BODY[...]<n>, BINARY.SIZE[...]; a
#     header-fld-name in it is an astring, so it may be a literal)
#   6 anything else: an error
# Atoms are 7-bit: ATOM-CHAR is "any CHAR except atom-specials" and CHAR is
# %x01-7F (RFC 3501 §9, RFC 9051 §9).  Neither IMAP4rev2 nor UTF8=ACCEPT
# (RFC 6855 §3) lets 8-bit octets into an atom: UTF-8 travels only in quoted
# strings and literals.  So an atom token is any printable ASCII character
# but the ones that end a token here (SP ( ) " {); the typed conversion below
# narrows it further where the grammar says atom, astring or flag.  An 8-bit
# octet outside a string falls into group 6 and is a ParseError.
_TOKEN = re.compile(
    r" ?(?:"
    r"(\()|(\))"
    r'|("[^"\\\r\n\x00]*(?:\\["\\][^"\\\r\n\x00]*)*")'
    r"|\x00(~?[0-9]+)\x00"
    r"|((?:[Bb][Oo][Dd][Yy]|[Bb][Ii][Nn][Aa][Rr][Yy])(?:\.[A-Za-z]+)?"
    r'\[(?:[^\]"\x00]|"(?:[^"\\\x00]|\\.)*"|\x00[0-9]+\x00)*\](?:<[0-9]+(?:\.[0-9]+)?>)?'
    r"|[!#-'*-z|-~]+)"
    r"|([\s\S])"
    r")"
)
_NILS = frozenset({"NIL", "NIl", "NiL", "Nil", "nIL", "nIl", "niL", "nil"})
_UNESCAPE = re.compile(r"\\([\"\\])")
# The tokenizer's atom tokens are wider than the grammar's atoms (they also
# carry "\\", "%", "*", "[" and "]" so that one token class serves flags,
# sections and list patterns); these narrow a token where a typed field needs
# exactly an atom, an astring or a flag, so that whatever parses can be
# written back (the writer checks the same classes).
_ATOM_CLASS = r"!#$&'+-\[^-z|}~"
_ATOM_FULL = re.compile(rf"[{_ATOM_CLASS}]+").fullmatch
_ASTRING_ATOM_FULL = re.compile(rf"[{_ATOM_CLASS}\]]+").fullmatch
_FLAG_FULL = re.compile(rf"\\?[{_ATOM_CLASS}]+|\\\*").fullmatch

Tree = list[Any]


def build_tree(
    s: str, pos: int, literals: tuple[bytes | LiteralChunks, ...], max_depth: int
) -> Tree:
    """Tokenize ``s[pos:]`` into nested lists (see the module docstring)."""
    root: Tree = []
    cur = root
    stack: list[Tree] = []
    append = cur.append
    for op, cl, quoted, lit, atom, err in _TOKEN.findall(s, pos):
        if atom:
            append(None if atom in _NILS else atom)
        elif quoted:
            append(quoted)
        elif op:
            new: Tree = []
            append(new)
            stack.append(cur)
            if len(stack) > max_depth:
                raise LimitExceeded(
                    f"lists nested deeper than {max_depth}",
                    limit="nesting_depth",
                    bound=max_depth,
                    hint=ReplyHint(text="Nesting too deep", response_code="LIMIT", fatal=False),
                )
            cur = new
            append = cur.append
        elif cl:
            if not stack:
                raise ParseError("unbalanced ')'")
            cur = stack.pop()
            append = cur.append
        elif lit:
            index = int(lit[1:]) if lit[0] == "~" else int(lit)
            append(literals[index])
        else:
            raise ParseError(f"unexpected character {err!r}")
    if stack:
        raise ParseError("unbalanced '('")
    return root


# -- typed conversion of tree nodes ------------------------------------------


def _fail(what: str, node: object) -> NoReturn:
    shown = repr(node)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise ParseError(f"expected {what}, got {shown}")


def _literal_text(data: bytes | LiteralChunks) -> str:
    """A literal used as a string → str.

    ``literal = "{" number64 ["+"] "}" CRLF *CHAR8`` and CHAR8 is %x01-FF
    (RFC 9051 §9): a string never holds NUL, which no serialisation could
    give back (only message data — literal8, or BODY[] octets kept as
    :class:`bytes` — may carry it).  A :class:`LiteralChunks` (zero-copy
    mode) used as a string is joined first: it becomes a ``str`` anyway.
    """
    if data.__class__ is not bytes:
        data = literal_bytes(data)
    if b"\x00" in data:
        raise ParseError("NUL octet in a string literal")
    return data.decode("utf-8", "surrogateescape")


def _unquote(token: str) -> str:
    inner = token[1:-1]
    if "\\" in inner:
        return _UNESCAPE.sub(r"\1", inner)
    return inner


def _nstr(node: object) -> str | None:
    """nstring → str or None."""
    if node is None:
        return None
    if node.__class__ is str:
        if node[0] == '"':
            return _unquote(node)
        _fail("a string or NIL", node)
    if node.__class__ is bytes or node.__class__ is LiteralChunks:
        return _literal_text(node)
    _fail("a string or NIL", node)


def _str(node: object) -> str:
    """string → str."""
    if node.__class__ is str:
        if node[0] == '"':
            return _unquote(node)
    elif node.__class__ is bytes or node.__class__ is LiteralChunks:
        return _literal_text(node)
    _fail("a string", node)


def _astr(node: object) -> str:
    """astring → str (atom or string)."""
    if node.__class__ is str:
        if node[0] == '"':
            return _unquote(node)
        if _ASTRING_ATOM_FULL(node):
            return node
        _fail("an astring", node)
    if node.__class__ is bytes or node.__class__ is LiteralChunks:
        return _literal_text(node)
    _fail("an astring", node)


def _nbytes(node: object) -> bytes | LiteralChunks | None:
    """nstring → bytes or None (message data; a zero-copy literal stays as it is)."""
    if node is None:
        return None
    if node.__class__ is bytes or node.__class__ is LiteralChunks:
        return node
    if node.__class__ is str and node[0] == '"':
        return _unquote(node).encode("utf-8", "surrogateescape")
    _fail("a string or NIL", node)


def _num(node: object, bound: int = _MAX32) -> int:
    if node.__class__ is str and node.isdigit() and node.isascii() and len(node) <= 20:
        value = int(node)
        if value <= bound:
            return value
    _fail("a number", node)


def _atom(node: object) -> str:
    if node.__class__ is str and _ATOM_FULL(node):
        return node
    _fail("an atom", node)


def _list(node: object) -> list[Any]:
    if node.__class__ is list:
        return node
    _fail("a parenthesised list", node)


def _flags(node: object) -> tuple[str, ...]:
    items = _list(node)
    for item in items:
        if item.__class__ is not str or not _FLAG_FULL(item):
            _fail("a flag", item)
    return tuple(items)


def _addresses(node: object) -> tuple[Address, ...]:
    if node is None:
        return ()
    out = []
    for item in _list(node):
        if item.__class__ is not list or len(item) != 4:
            _fail("an address", item)
        name, adl, mailbox, host = item
        out.append(
            Address(name=_nstr(name), adl=_nstr(adl), mailbox=_nstr(mailbox), host=_nstr(host))
        )
    return tuple(out)


def _envelope(node: object) -> Envelope:
    if node.__class__ is not list or len(node) != 10:
        _fail("an envelope (10 fields)", node)
    d, subj, fr, se, rt, to, cc, bcc, irt, mid = node
    return Envelope(
        date=_nstr(d),
        subject=_nstr(subj),
        from_=_addresses(fr),
        sender=_addresses(se),
        reply_to=_addresses(rt),
        to=_addresses(to),
        cc=_addresses(cc),
        bcc=_addresses(bcc),
        in_reply_to=_nstr(irt),
        message_id=_nstr(mid),
    )


def _params(node: object) -> tuple[tuple[str, str], ...]:
    if node is None:
        return ()
    items = _list(node)
    if len(items) % 2:
        _fail("parameter pairs", node)
    return tuple((_str(items[i]), _str(items[i + 1])) for i in range(0, len(items), 2))


def _disposition(node: object) -> Disposition | None:
    if node is None:
        return None
    items = _list(node)
    if len(items) != 2:
        _fail("a disposition", node)
    return Disposition(type=_str(items[0]), params=_params(items[1]))


def _language(node: object) -> tuple[str, ...] | None:
    if node is None:
        return None
    if node.__class__ is list:
        if not node:
            _fail("a language list", node)
        return tuple(_str(x) for x in node)
    return (_str(node),)


def ext_value(node: object) -> ExtensionValue:
    """A generic value: nstring → str/None, number → int, list → tuple."""
    if node is None:
        return None
    if isinstance(node, str):
        if node[0] == '"':
            return _unquote(node)
        if node.isdigit() and node.isascii():
            return _num(node, _MAX63)
        # An atom where a string belongs (extensions this codec does not
        # know may use atoms): kept as its text.
        return node
    if isinstance(node, (bytes, LiteralChunks)):
        return _literal_text(node)
    items = _list(node)
    if not items:
        # body-extension and tagged-ext-comp lists hold at least one value
        # (RFC 9051 §9, RFC 4466 §2.1): "()" is not an extension value.
        _fail("a non-empty extension list", node)
    return tuple([ext_value(x) for x in items])


def _extension(items: list[Any], start: int, multipart: bool) -> BodyExtension | None:
    count = len(items) - start
    if count <= 0:
        return None
    first = items[start]
    return BodyExtension(
        count=min(count, 4),
        md5=None if multipart else _nstr(first),
        params=_params(first) if multipart else (),
        disposition=_disposition(items[start + 1]) if count > 1 else None,
        language=_language(items[start + 2]) if count > 2 else None,
        location=_nstr(items[start + 3]) if count > 3 else None,
        extra=tuple(ext_value(x) for x in items[start + 4 :]),
    )


def body_structure(node: object, extensible: bool) -> BodyStructure:
    """Convert a BODY/BODYSTRUCTURE tree (RFC 9051 §9 ``body``)."""
    items = _list(node)
    if not items:
        _fail("a body", node)
    if items[0].__class__ is list:
        parts = []
        i = 0
        n = len(items)
        while i < n and items[i].__class__ is list:
            parts.append(body_structure(items[i], extensible))
            i += 1
        if i >= n:
            _fail("a multipart subtype", node)
        subtype = _str(items[i])
        ext = _extension(items, i + 1, True)
        if ext is not None and not extensible:
            _fail("no extension data in BODY", node)
        return MultipartBody(parts=tuple(parts), subtype=subtype, extension=ext)
    if len(items) < 7:
        _fail("a body part (7 or more fields)", node)
    mtype = _str(items[0])
    subtype = _str(items[1])
    upper = mtype.upper()
    i = 7
    lines = envelope = body = None
    if upper == "TEXT":
        if len(items) < 8:
            _fail("body-fld-lines for a text part", node)
        lines = _num(items[7], _MAX63)
        i = 8
    elif (
        upper == "MESSAGE"
        and subtype.upper() in ("RFC822", "GLOBAL")
        and len(items) >= 10
        and items[7].__class__ is list
    ):
        envelope = _envelope(items[7])
        body = body_structure(items[8], extensible)
        lines = _num(items[9], _MAX63)
        i = 10
    ext = _extension(items, i, False)
    if ext is not None and not extensible:
        _fail("no extension data in BODY", node)
    return SinglePartBody(
        type=mtype,
        subtype=subtype,
        params=_params(items[2]),
        id=_nstr(items[3]),
        description=_nstr(items[4]),
        encoding=_str(items[5]),
        size=_num(items[6], _MAX63),
        lines=lines,
        envelope=envelope,
        body=body,
        extension=ext,
    )


# -- dates ---------------------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_DATETIME = re.compile(
    r"([ 0-9]?[0-9])-([A-Za-z]{3})-([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
_DATE = re.compile(r'([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})|"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})"')
_TZ_CACHE: dict[str, datetime.timezone] = {}


def parse_datetime(text: str) -> datetime.datetime:
    """``date-time`` without the quotes → aware datetime; ValueError if bad."""
    m = _DATETIME.fullmatch(text)
    if m is None:
        raise ValueError(f"bad date-time {text!r}")
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    month = _MONTHS.get(mon.upper())
    if month is None:
        raise ValueError(f"bad month in {text!r}")
    key = sign + zh + zm
    tz = _TZ_CACHE.get(key)
    if tz is None:
        minutes = int(zh) * 60 + int(zm)
        if minutes >= 24 * 60:
            raise ValueError(f"bad zone in {text!r}")
        tz = datetime.timezone(datetime.timedelta(minutes=-minutes if sign == "-" else minutes))
        if len(_TZ_CACHE) < 2000:
            _TZ_CACHE[key] = tz
    return datetime.datetime(
        int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=tz
    )  # ValueError on impossible dates


def _datetime_node(node: object) -> datetime.datetime:
    text = _str(node)
    try:
        return parse_datetime(text)
    except ValueError as exc:
        raise ParseError(str(exc)) from None


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------

_SECTION = re.compile(
    r"((?:[1-9][0-9]{0,9})(?:\.[1-9][0-9]{0,9})*)?"
    r"(?:(?<=[0-9])\.|(?<![0-9]))?"
    r"(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?",
    re.IGNORECASE,
)
_FETCH_ITEM_NAME = re.compile(
    r"(BODY\.PEEK|BODY|BINARY\.PEEK|BINARY\.SIZE|BINARY)\[(.*)\](?:<([0-9]{1,20})(?:\.([0-9]{1,20}))?>)?\Z",
    re.IGNORECASE | re.DOTALL,
)


def _section_from(
    text: str, literals: tuple[bytes | LiteralChunks, ...], limits: IMAPLimits
) -> Section:
    """Parse the text between ``[`` and ``]``."""
    m = _SECTION.match(text)
    assert m is not None  # every group is optional
    part_s, kind = m.groups()
    if m.end() == 0 and text:
        raise ParseError(f"bad section {text[:50]!r}")
    part = tuple(int(p) for p in part_s.split(".")) if part_s else ()
    if part_s and kind is not None and text[len(part_s)] != ".":
        raise ParseError(f"bad section {text[:50]!r}")
    fields: tuple[str, ...] = ()
    rest = text[m.end() :]
    text_kind = kind.upper() if kind else None
    if text_kind in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        if not rest.startswith(" ("):
            raise ParseError("HEADER.FIELDS needs a header list")
        tree = build_tree(rest, 1, literals, 2)
        if len(tree) != 1 or tree[0].__class__ is not list or not tree[0]:
            raise ParseError("bad header list")
        fields = tuple(_astr(x) for x in tree[0])
    elif rest:
        raise ParseError(f"bad section {text[:50]!r}")
    if (text_kind == "MIME" and not part) or any(p > _MAX32 for p in part):
        raise ParseError(f"bad section {text[:50]!r}")
    try:
        return Section(part=part, text=text_kind, fields=fields)  # type: ignore[arg-type]
    except LocalProtocolError as exc:
        raise ParseError(str(exc)) from None


# ---------------------------------------------------------------------------
# The cursor
# ---------------------------------------------------------------------------

# ATOM-CHAR = any CHAR (%x01-7F) except atom-specials: ( ) { SP CTL % * " \ ]
# (RFC 9051 §9): printable ASCII only, also under UTF8=ACCEPT (see _TOKEN).
_ATOM_RE = re.compile(rf"[{_ATOM_CLASS}]+")
# ASTRING-CHAR = ATOM-CHAR / resp-specials ("]").
_ASTRING_ATOM_RE = re.compile(rf"[{_ATOM_CLASS}\]]+")
# list-char = ATOM-CHAR / list-wildcards / resp-specials.
_LIST_MAILBOX_RE = re.compile(rf"[{_ATOM_CLASS}%*\]]+")
_QUOTED_RE = re.compile(r'"((?:[^"\\\r\n\x00]|\\["\\])*)"')
_LITERAL_RE = re.compile(r"\x00(~?)([0-9]+)\x00")
_NUMBER_RE = re.compile(r"[0-9]{1,20}")
_TAG_RE = re.compile(r"[!#$&',-\[\]^-z|}~]+")
_SEQSET_RE = re.compile(
    r"\$|(?:[0-9]{1,10}|\*)(?::(?:[0-9]{1,10}|\*))?(?:,(?:[0-9]{1,10}|\*)(?::(?:[0-9]{1,10}|\*))?)*"
)
# flag = "\" atom / atom (keywords), flag-perm adds "\*" (RFC 9051 §9).
_FLAG_RE = re.compile(rf"\\?[{_ATOM_CLASS}]+|\\\*")
_TEXT_RE = re.compile(r"[^\r\n\x00]*")
# Lone surrogates: where surrogateescape decoding kept octets that are not UTF-8.
_UNDECODABLE = re.compile("[\ud800-\udfff]")


class _Cursor:
    __slots__ = ("limits", "literals", "pos", "s", "tag", "utf8")

    def __init__(
        self, s: str, literals: tuple[bytes | LiteralChunks, ...], limits: IMAPLimits, utf8: bool
    ) -> None:
        self.s = s
        self.pos = 0
        self.literals = literals
        self.limits = limits
        self.utf8 = utf8
        self.tag: str | None = None

    def error(self, what: str) -> NoReturn:
        near = self.s[self.pos : self.pos + 30].replace("\x00", "{literal}")
        raise ParseError(f"expected {what} at offset {self.pos}, near {near!r}", tag=self.tag)

    def at_end(self) -> bool:
        return self.pos >= len(self.s)

    def peek(self, text: str) -> bool:
        return self.s.startswith(text, self.pos)

    def peek_keyword(self, word: str) -> bool:
        end = self.pos + len(word)
        return self.s[self.pos : end].upper() == word and (
            end == len(self.s) or self.s[end] in " ()[]"
        )

    def take(self, text: str) -> bool:
        if self.s.startswith(text, self.pos):
            self.pos += len(text)
            return True
        return False

    def take_keyword(self, word: str) -> bool:
        if self.peek_keyword(word):
            self.pos += len(word)
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.take(text):
            self.error(repr(text))

    def expect_keyword(self, word: str) -> None:
        if not self.take_keyword(word):
            self.error(word)

    def sp(self) -> None:
        if not self.take(" "):
            self.error("a space")

    def end(self) -> None:
        if self.pos != len(self.s):
            self.error("the end of the line")

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        m = pattern.match(self.s, self.pos)
        if m is None:
            self.error(what)
        self.pos = m.end()
        return m.group()

    def atom(self) -> str:
        return self.match(_ATOM_RE, "an atom")

    def number(self, bound: int = _MAX32) -> int:
        value = int(self.match(_NUMBER_RE, "a number"))
        if value > bound:
            self.error("a smaller number")
        return value

    def nz_number(self, bound: int = _MAX32) -> int:
        value = self.number(bound)
        if value == 0:
            self.error("a non-zero number")
        return value

    def _literal(self) -> tuple[bytes | LiteralChunks, bool] | None:
        m = _LITERAL_RE.match(self.s, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return self.literals[int(m.group(2))], bool(m.group(1))

    def string_or_none(self) -> str | None:
        s = self.s
        pos = self.pos
        if s.startswith('"', pos):
            m = _QUOTED_RE.match(s, pos)
            if m is None:
                self.error("a quoted string")
            self.pos = m.end()
            inner = m.group(1)
            return _UNESCAPE.sub(r"\1", inner) if "\\" in inner else inner
        lit = self._literal()
        if lit is not None:
            return _literal_text(lit[0])
        return None

    def string(self) -> str:
        value = self.string_or_none()
        if value is None:
            self.error("a string")
        return value

    def astring(self) -> str:
        value = self.string_or_none()
        if value is None:
            return self.match(_ASTRING_ATOM_RE, "an astring")
        return value

    def nstring(self) -> str | None:
        if self.take_keyword("NIL"):
            return None
        return self.string()

    def mailbox(self) -> str:
        return self.decode_mailbox(self.astring())

    def decode_mailbox(self, name: str) -> str:
        if not name.isascii() and _UNDECODABLE.search(name):
            # Octets that are not UTF-8 (kept as surrogate escapes): a mailbox
            # name is Unicode text — modified UTF-7 (RFC 3501 §5.1.3) or, with
            # UTF8=ACCEPT / IMAP4rev2, UTF-8 (RFC 6855 §3, RFC 9051 §5.1) — so
            # these bytes name no mailbox, and no serialisation could give
            # them back.  Valid UTF-8 is tolerated even without UTF8=ACCEPT
            # (it is sent back as modified UTF-7).
            self.error("a mailbox name in UTF-8")
        if self.utf8 or "&" not in name:
            return name
        try:
            return imap_utf7.decode(name)
        except ValueError:
            return name  # not modified UTF-7: keep it as it came

    def list_mailbox(self) -> str:
        value = self.string_or_none()
        if value is None:
            value = self.match(_LIST_MAILBOX_RE, "a mailbox pattern")
        return self.decode_mailbox(value)

    def seqset(self) -> SequenceSet:
        text = self.match(_SEQSET_RE, "a sequence set")
        try:
            return SequenceSet.parse(text)
        except ValueError as exc:
            raise ParseError(str(exc), tag=self.tag) from None

    def uid_set_in_order(self) -> tuple[SequenceSet, tuple[tuple[int, int], ...]]:
        """A uid-set, normalised and as written (ranges in order, RFC 4315 §3)."""
        start = self.pos
        normalised = self.seqset()
        text = self.s[start : self.pos]
        if "*" in text or "$" in text:
            return normalised, normalised.ranges
        ranges = []
        for item in text.split(","):
            lo, _, hi = item.partition(":")
            ranges.append((int(lo), int(hi or lo)))
        return normalised, tuple(ranges)

    def flag(self) -> str:
        return self.match(_FLAG_RE, "a flag")

    def flag_list(self) -> tuple[str, ...]:
        self.expect("(")
        flags: list[str] = []
        if not self.take(")"):
            while True:
                flags.append(self.flag())
                if self.take(")"):
                    break
                self.sp()
        return tuple(flags)

    def paren_atoms(self, upper: bool = True) -> tuple[str, ...]:
        self.expect("(")
        out: list[str] = []
        if not self.take(")"):
            while True:
                word = self.atom()
                out.append(word.upper() if upper else word)
                if self.take(")"):
                    break
                self.sp()
        return tuple(out)

    def text(self) -> str:
        return self.match(_TEXT_RE, "text")

    def tree_rest(self) -> Tree:
        tree = build_tree(self.s, self.pos, self.literals, self.limits.nesting_depth)
        self.pos = len(self.s)
        return tree

    def date(self) -> datetime.date:
        m = _DATE.match(self.s, self.pos)
        if m is None:
            self.error("a date")
        self.pos = m.end()
        g = m.groups()
        day, mon, year = (g[0], g[1], g[2]) if g[0] else (g[3], g[4], g[5])
        month = _MONTHS.get(mon.upper())
        try:
            if month is None:
                raise ValueError("bad month")
            return datetime.date(int(year), month, int(day))
        except ValueError:
            self.error("a valid date")

    def datetime(self) -> datetime.datetime:
        m = _QUOTED_RE.match(self.s, self.pos)
        if m is None:
            self.error("a date-time")
        try:
            value = parse_datetime(m.group(1))
        except ValueError:
            self.error("a valid date-time")
        self.pos = m.end()
        return value


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------

_UNTAGGED = re.compile(r"\* (?:([0-9]{1,10}) )?([A-Za-z][A-Za-z0-9.\-_]*)(?: |\Z)")
_CODE_RAW = re.compile(r"[^\]\r\n\x00]*")


def _response_code(cur: _Cursor) -> ResponseCode:
    """``"[" resp-text-code "]"`` with the cursor after ``[``."""
    name = cur.match(re.compile(r"[A-Za-z0-9.\-_]+"), "a response code").upper()
    value: Any = None
    if cur.take("]"):
        if name in ("CAPABILITY", "PERMANENTFLAGS", "APPENDUID", "COPYUID") or name in CODES_NUMBER:
            cur.error(f"arguments for {name}")
        return ResponseCode(name=name, value=None)
    cur.sp()
    if name in CODES_NUMBER:
        value = cur.number(_MAX63)
    elif name == "CAPABILITY":
        caps = [cur.atom()]
        while cur.take(" "):
            caps.append(cur.atom())
        value = tuple(caps)
    elif name == "PERMANENTFLAGS":
        value = cur.flag_list()
    elif name == "BADCHARSET" and not cur.peek("("):
        # Not the grammar (RFC 9051 §7.1 wants a parenthesised list), but
        # RFC 9051's own §6.4.4 example sends "[BADCHARSET UTF-8]": kept
        # as raw text like an unknown code rather than failing the response.
        value = cur.match(_CODE_RAW, "code text")
    elif name == "BADCHARSET":
        cur.expect("(")
        charsets = [cur.astring()]
        while cur.take(" "):
            charsets.append(cur.astring())
        cur.expect(")")
        value = tuple(charsets)
    elif name == "APPENDUID":
        validity = cur.nz_number()
        cur.sp()
        value = AppendUid(uidvalidity=validity, uids=cur.seqset())
    elif name == "COPYUID":
        # RFC 4315 §3: the two uid-sets pair up in the order written, so
        # the order is kept beside the normalised sets.
        validity = cur.nz_number()
        cur.sp()
        source, source_order = cur.uid_set_in_order()
        cur.sp()
        dest, dest_order = cur.uid_set_in_order()
        value = CopyUid(
            uidvalidity=validity,
            source=source,
            dest=dest,
            source_order=source_order,
            dest_order=dest_order,
        )
    elif name == "MODIFIED":
        value = cur.seqset()
    elif name == "MAILBOXID":
        cur.expect("(")
        value = cur.match(re.compile(r"[A-Za-z0-9_\-]{1,255}"), "an objectid")
        cur.expect(")")
    else:
        # Unknown (or argument-less code with text): kept as raw text.
        value = cur.match(_CODE_RAW, "code text")
    cur.expect("]")
    return ResponseCode(name=name, value=value)


def _resp_text(cur: _Cursor) -> tuple[ResponseCode | None, str]:
    code = None
    if cur.take("["):
        code = _response_code(cur)
        if not cur.take(" "):
            cur.end()
            return code, ""
    text = cur.text()
    cur.end()
    return code, text


def _fetch_response(seq: int, cur: _Cursor) -> R.FetchResponse:
    fast = fast_fetch(
        seq, cur.s, cur.pos, cur.literals, cur.limits.nesting_depth, parse_datetime, _section_from
    )
    if fast is not None:
        return fast  # type: ignore[no-any-return]
    tree = cur.tree_rest()
    if len(tree) != 1 or tree[0].__class__ is not list:
        raise ParseError("FETCH data must be one parenthesised list")
    items = tree[0]
    n = len(items)
    if n % 2 or not n:
        raise ParseError("FETCH data must be name/value pairs")
    kw: dict[str, Any] = {}
    sections: list[SectionData] = []
    binary_sizes: list[tuple[tuple[int, ...], int]] = []
    extra: list[tuple[str, ExtensionValue]] = []
    for i in range(0, n, 2):
        name = items[i]
        value = items[i + 1]
        if name.__class__ is not str or name[0] == '"':
            _fail("a FETCH item name", name)
        key = name.upper()
        if key == "UID":
            kw["uid"] = _num(value)
        elif key == "FLAGS":
            kw["flags"] = _flags(value)
        elif key == "INTERNALDATE":
            kw["internal_date"] = _datetime_node(value)
        elif key == "RFC822.SIZE":
            kw["rfc822_size"] = _num(value, _MAX63)
        elif key == "ENVELOPE":
            kw["envelope"] = _envelope(value)
        elif key == "BODYSTRUCTURE":
            kw["body_structure"] = body_structure(value, True)
        elif key == "BODY":
            kw["body"] = body_structure(value, False)
        elif key == "MODSEQ":
            inner = _list(value)
            if len(inner) != 1:
                _fail("(mod-sequence)", value)
            kw["modseq"] = _num(inner[0], _MAX63)
        elif key in ("EMAILID", "THREADID"):
            if value is None and key == "THREADID":
                kw["thread_id"] = NIL
            else:
                inner = _list(value)
                if len(inner) != 1:
                    _fail("(objectid)", value)
                kw["email_id" if key == "EMAILID" else "thread_id"] = _atom(inner[0])
        elif key == "PREVIEW":
            kw["preview"] = NIL if value is None else _str(value)
        elif key == "SAVEDATE":
            kw["save_date"] = NIL if value is None else _datetime_node(value)
        elif key in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
            sections.append(SectionData(data=_nbytes(value), legacy=key))
        elif "[" in key:
            m = _FETCH_ITEM_NAME.match(name)
            if m is None:
                _fail("a FETCH data item", name)
            kind = m.group(1).upper()
            if kind == "BINARY.SIZE":
                part = _section_from(m.group(2), cur.literals, cur.limits)
                if part.text is not None or m.group(3) is not None:
                    _fail("BINARY.SIZE[part]", name)
                binary_sizes.append((part.part, _num(value, _MAX63)))
                continue
            if kind not in ("BODY", "BINARY") or m.group(4) is not None:
                _fail("BODY[section]<origin> or BINARY[part]<origin>", name)
            section = _section_from(m.group(2), cur.literals, cur.limits)
            if kind == "BINARY" and section.text is not None:
                _fail("BINARY[part]", name)
            origin = int(m.group(3)) if m.group(3) is not None else None
            sections.append(
                SectionData(
                    section=section, origin=origin, data=_nbytes(value), binary=kind == "BINARY"
                )
            )
        else:
            # An extension this codec does not know: keep it, typed generically.
            # Its name must still be an atom (msg-att-dynamic/-static names are
            # atoms in every extension, RFC 9051 §9), or it could not be sent.
            if not _ATOM_FULL(key):
                _fail("a FETCH item name", name)
            extra.append((key, ext_value(value)))
    if sections:
        kw["sections"] = tuple(sections)
    if binary_sizes:
        kw["binary_sizes"] = tuple(binary_sizes)
    if extra:
        kw["extra"] = tuple(extra)
    return R.FetchResponse(seq=seq, **kw)


def _namespace_group(node: object) -> tuple[R.NamespaceDescription, ...]:
    if node is None:
        return ()
    out = []
    for item in _list(node):
        desc = _list(item)
        if len(desc) < 2 or len(desc) % 2:
            _fail("a namespace description", item)
        delim = _nstr(desc[1])
        exts = []
        for j in range(2, len(desc), 2):
            values = _list(desc[j + 1])
            exts.append((_str(desc[j]), tuple(_str(v) for v in values)))
        out.append(
            R.NamespaceDescription(prefix=_str(desc[0]), delimiter=delim, extensions=tuple(exts))
        )
    return tuple(out)


def _id_params(node: object) -> tuple[tuple[str, str | None], ...] | None:
    if node is None:
        return None
    items = _list(node)
    if len(items) % 2:
        _fail("ID field/value pairs", node)
    return tuple((_str(items[i]), _nstr(items[i + 1])) for i in range(0, len(items), 2))


def _untagged(cur: _Cursor) -> R.Response:
    m = _UNTAGGED.match(cur.s)
    if m is None:
        cur.error("an untagged response")
    number_s, name_raw = m.groups()
    name = name_raw.upper()
    cur.pos = m.end()
    if number_s is not None:
        number = int(number_s)
        if name == "FETCH":
            if number == 0:
                cur.error("a non-zero message number")
            return _fetch_response(number, cur)
        if name in ("EXISTS", "RECENT", "EXPUNGE"):
            cur.end()
            if name == "EXISTS":
                return R.Exists(count=number)
            if name == "RECENT":
                return R.Recent(count=number)
            if number == 0:
                cur.error("a non-zero message number")
            return R.ExpungeResponse(seq=number)
        return R.UnknownResponse(name=name, number=number, text=_raw_rest(cur))
    if name in ("OK", "NO", "BAD", "PREAUTH", "BYE"):
        code, text = _resp_text(cur)
        return R.StatusResponse(tag=None, status=name, code=code, text=text)  # type: ignore[arg-type]
    if name in ("CAPABILITY", "ENABLED"):
        caps: list[str] = []
        while not cur.at_end():
            caps.append(cur.atom())
            if not cur.take(" "):
                break
        cur.end()
        if name == "CAPABILITY":
            return R.CapabilityResponse(capabilities=tuple(caps))
        return R.Enabled(capabilities=tuple(caps))
    if name == "FLAGS":
        tree = cur.tree_rest()
        if len(tree) != 1:
            cur.error("one flag list")
        return R.FlagsResponse(flags=_flags(tree[0]))
    if name in ("LIST", "LSUB"):
        attributes = cur.flag_list()
        cur.sp()
        if cur.take_keyword("NIL"):
            delimiter = None
        else:
            delimiter = cur.string()
            if len(delimiter) != 1:
                cur.error("a one-character delimiter")
        cur.sp()
        mailbox = cur.mailbox()
        extended: list[tuple[str, ExtensionValue]] = []
        if cur.take(" "):
            tree = cur.tree_rest()
            if len(tree) != 1:
                cur.error("extended LIST data")
            items = _list(tree[0])
            if len(items) % 2:
                cur.error("extended LIST data pairs")
            for i in range(0, len(items), 2):
                extended.append((_astr(items[i]).upper(), ext_value(items[i + 1])))
        cur.end()
        return R.ListResponse(
            attributes=attributes,
            delimiter=delimiter,
            mailbox=mailbox,
            extended=tuple(extended),
            lsub=name == "LSUB",
        )
    if name == "STATUS":
        mailbox = cur.mailbox()
        cur.sp()
        tree = cur.tree_rest()
        if len(tree) != 1:
            cur.error("a status item list")
        items = _list(tree[0])
        if len(items) % 2:
            cur.error("status item pairs")
        status_items: list[tuple[str, int | str | None]] = []
        for i in range(0, len(items), 2):
            key = _atom(items[i]).upper()
            raw = items[i + 1]
            value: int | str | None
            if key == "MAILBOXID":
                inner = _list(raw)
                if len(inner) != 1:
                    _fail("(objectid)", raw)
                value = _atom(inner[0])
            elif raw is None:
                value = None
            else:
                value = _num(raw, _MAX63)
            status_items.append((key, value))
        return R.StatusData(mailbox=mailbox, items=tuple(status_items))
    if name == "SEARCH":
        tree = cur.tree_rest()
        numbers: list[int] = []
        modseq = None
        for j, item in enumerate(tree):
            if item.__class__ is list:
                if j != len(tree) - 1 or len(item) != 2 or str(item[0]).upper() != "MODSEQ":
                    _fail("(MODSEQ n)", item)
                modseq = _num(item[1], _MAX63)
            else:
                numbers.append(_num(item))
        return R.SearchResponse(numbers=tuple(numbers), modseq=modseq)
    if name == "ESEARCH":
        return _esearch(cur)
    if name == "NAMESPACE":
        tree = cur.tree_rest()
        if len(tree) != 3:
            cur.error("three namespace groups")
        return R.NamespaceResponse(
            personal=_namespace_group(tree[0]),
            other=_namespace_group(tree[1]),
            shared=_namespace_group(tree[2]),
        )
    if name == "ID":
        tree = cur.tree_rest()
        if len(tree) != 1:
            cur.error("ID parameters")
        return R.IdResponse(params=_id_params(tree[0]))
    if name == "VANISHED":
        earlier = cur.take("(EARLIER) ") or cur.take("(earlier) ")
        uids = cur.seqset()
        cur.end()
        return R.Vanished(earlier=earlier, uids=uids)
    if name == "QUOTA":
        root = cur.astring()
        cur.sp()
        tree = cur.tree_rest()
        if len(tree) != 1:
            cur.error("quota resources")
        items = _list(tree[0])
        if len(items) % 3:
            cur.error("resource usage limit triples")
        resources = tuple(
            (_atom(items[i]).upper(), _num(items[i + 1], _MAX63), _num(items[i + 2], _MAX63))
            for i in range(0, len(items), 3)
        )
        return R.QuotaResponse(root=root, resources=resources)
    if name == "QUOTAROOT":
        mailbox = cur.mailbox()
        roots = []
        while cur.take(" "):
            roots.append(cur.astring())
        cur.end()
        return R.QuotaRootResponse(mailbox=mailbox, roots=tuple(roots))
    return R.UnknownResponse(name=name, text=_raw_rest(cur))


def _raw_rest(cur: _Cursor) -> str:
    return _raw_from(cur, cur.pos)


def _raw_from(cur: _Cursor, start: int) -> str:
    """The rest of the message as sent, literals put back in place."""
    text = cur.s[start:]
    cur.pos = len(cur.s)
    if "\x00" not in text:
        return text

    def put_back(m: re.Match[str]) -> str:
        data = literal_bytes(cur.literals[int(m.group(2))])
        return f"{m.group(1)}{{{len(data)}}}\r\n" + data.decode("utf-8", "surrogateescape")

    text = _LITERAL_RE.sub(put_back, text)
    if text.endswith("}") and _ENDS_AS_ANNOUNCEMENT.search(text):
        # The last literal's octets and the final line read together as
        # "{n}" (e.g. a literal ending in "{2" and a last line "}"): written
        # back, that line would announce a literal (RFC 9051 §4.3), so this
        # text cannot stand for what was received.
        raise ParseError("response text would end in a literal announcement")
    return text


_ENDS_AS_ANNOUNCEMENT = re.compile(r"\{[0-9]+[+-]?\}\Z")


def _esearch(cur: _Cursor) -> R.Esearch:
    tree = cur.tree_rest()
    kw: dict[str, Any] = {}
    i = 0
    if tree and tree[0].__class__ is list:
        corr = tree[0]
        if len(corr) != 2 or _atom(corr[0]).upper() != "TAG":
            _fail('(TAG "tag")', corr)
        kw["tag"] = _str(corr[1])
        i = 1
    if i < len(tree) and tree[i].__class__ is str and tree[i].upper() == "UID":
        kw["uid"] = True
        i += 1
    extra: list[tuple[str, ExtensionValue]] = []
    if (len(tree) - i) % 2:
        raise ParseError("ESEARCH return data must be name/value pairs")
    for j in range(i, len(tree), 2):
        key = _atom(tree[j]).upper()
        value = tree[j + 1]
        if key in ("MIN", "MAX", "COUNT"):
            kw[key.lower()] = _num(value)
        elif key == "ALL":
            if value.__class__ is not str or value[0] == '"':
                _fail("a sequence set", value)
            try:
                kw["all"] = SequenceSet.parse(value)
            except ValueError as exc:
                raise ParseError(str(exc)) from None
        elif key == "MODSEQ":
            kw["modseq"] = _num(value, _MAX63)
        else:
            extra.append((key, ext_value(value)))
    if extra:
        kw["extra"] = tuple(extra)
    return R.Esearch(**kw)


_TAGGED = re.compile(r"([!#$&',-\[\]^-z|}~]+) (OK|NO|BAD)(?: |\Z)", re.IGNORECASE)


def parse_response(
    message: RawMessage, *, limits: IMAPLimits | None = None, utf8: bool = False
) -> R.Response:
    """Parse one framed response.  Raises :class:`ParseError` on bad grammar."""
    try:
        return _parse_response(message, limits, utf8)
    except LocalProtocolError as exc:  # a value constructor refused a parsed field
        raise ParseError(f"invalid response: {exc}") from None


_DEFAULT_LIMITS = IMAPLimits()
_FETCH_HEAD = re.compile(r"\* ([1-9][0-9]{0,9}) FETCH ")


def _parse_response(message: RawMessage, limits: IMAPLimits | None, utf8: bool) -> R.Response:
    s, literals = flatten(message)
    # The hot case first: "* n FETCH (...)" straight to the fast path.
    head = _FETCH_HEAD.match(s)
    if head is not None:
        seq = int(head.group(1))
        if seq <= _MAX32:
            depth = (limits if limits is not None else _DEFAULT_LIMITS).nesting_depth
            fast = fast_fetch(seq, s, head.end(), literals, depth, parse_datetime, _section_from)
            if fast is not None:
                return fast  # type: ignore[no-any-return]
    cur = _Cursor(s, literals, limits if limits is not None else IMAPLimits(), utf8)
    if s.startswith("* "):
        return _untagged(cur)
    if s.startswith("+"):
        cur.pos = 1
        if cur.at_end():
            return R.Continuation(text="")
        cur.sp()
        code, text = _resp_text(cur)
        return R.Continuation(code=code, text=text)
    m = _TAGGED.match(s)
    if m is None:
        cur.error("a tagged status response")
    cur.pos = m.end()
    code, text = _resp_text(cur)
    return R.StatusResponse(tag=m.group(1), status=m.group(2).upper(), code=code, text=text)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

# tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 §9): 7-bit only.
_TAG_CHARS = r"[!#$&',-\[\]^-z|}~]"
# The command name: letters for every command of the RFCs, but an X
# command (RFC 3501 §6.5.1) is "X" followed by any atom.
_COMMAND = re.compile(rf"({_TAG_CHARS}+) ([Xx][!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|~]+|[A-Za-z]+)")
_OBJECTID = re.compile(r"[A-Za-z0-9_\-]{1,255}")
_PREVIEW_MODIFIERS = re.compile(r" \(((?i:LAZY)(?: (?i:LAZY))*)\)")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_FETCH_ATT = re.compile(
    r"(BODY\.PEEK|BODY|BINARY\.PEEK|BINARY\.SIZE|BINARY)\[|[A-Za-z0-9.]+", re.IGNORECASE
)
_PARTIAL = re.compile(r"<([0-9]{1,10})\.([0-9]{1,10})>")


def _b64(text: str, tag: str | None) -> bytes:
    if not _BASE64.fullmatch(text):
        raise ParseError("invalid base64", tag=tag)
    return binascii.a2b_base64(text)


def _section_in_command(cur: _Cursor) -> Section:
    """Parse a section with the cursor after ``[``; leaves it after ``]``."""
    start = cur.pos
    depth = 0
    s = cur.s
    # Find the closing "]" outside quoted strings (header names may be quoted).
    while True:
        m = re.compile(r'[^\]"]*').match(s, cur.pos)
        assert m is not None
        cur.pos = m.end()
        if cur.peek('"'):
            cur.match(_QUOTED_RE, "a quoted string")
            continue
        if cur.take("]"):
            break
        cur.error("']'")
    del depth
    return _section_from(s[start : cur.pos - 1], cur.literals, cur.limits)


def _fetch_att(cur: _Cursor) -> FetchAttribute:
    m = _FETCH_ATT.match(cur.s, cur.pos)
    if m is None:
        cur.error("a FETCH attribute")
    cur.pos = m.end()
    kind = m.group(1)
    if kind is None:
        name = m.group().upper()
        if name not in SIMPLE_FETCH_ATTRIBUTES:
            cur.error("a FETCH attribute")
        if name == "PREVIEW":
            # RFC 8970 §6: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"];
            # only LAZY exists, so "(CHANGEDSINCE ...)" after a lone PREVIEW
            # stays the FETCH modifier list.
            pm = _PREVIEW_MODIFIERS.match(cur.s, cur.pos)
            if pm is not None:
                cur.pos = pm.end()
                return PreviewRequest(modifiers=tuple(pm.group(1).upper().split()))
        return name
    kind = kind.upper()
    section = _section_in_command(cur)
    if kind == "BINARY.SIZE":
        if section.text is not None:
            cur.error("BINARY.SIZE[part]")
        return BinarySizeRequest(part=section.part)
    partial = None
    pm = _PARTIAL.match(cur.s, cur.pos)
    if pm is not None:
        cur.pos = pm.end()
        origin, length = int(pm.group(1)), int(pm.group(2))
        if length == 0:
            cur.error("a non-zero partial length")
        partial = (origin, length)
    binary = kind.startswith("BINARY")
    if binary and section.text is not None:
        cur.error("BINARY[part]")
    return SectionRequest(
        section=section, peek=kind.endswith(".PEEK"), binary=binary, partial=partial
    )


def _search_key(cur: _Cursor, depth: int) -> SearchKey:
    if depth > cur.limits.nesting_depth:
        raise LimitExceeded(
            "search keys nested too deeply",
            limit="nesting_depth",
            bound=cur.limits.nesting_depth,
            hint=ReplyHint(text="Nesting too deep", response_code="LIMIT", fatal=False),
        )
    if cur.take("("):
        keys = [_search_key(cur, depth + 1)]
        while cur.take(" "):
            keys.append(_search_key(cur, depth + 1))
        cur.expect(")")
        return SearchKey(op="AND", value=tuple(keys))
    s = cur.s
    if cur.pos < len(s) and (s[cur.pos] in "0123456789*$"):
        return SearchKey(op="SEQ", value=cur.seqset())
    op = cur.match(re.compile(r"[A-Za-z]+"), "a search key").upper()
    if op in SEARCH_KEYS_NOARG:
        return SearchKey(op=op)
    cur.sp()
    if op in SEARCH_KEYS_STRING:
        return SearchKey(op=op, value=cur.astring())
    if op in SEARCH_KEYS_DATE:
        return SearchKey(op=op, value=cur.date())
    if op in SEARCH_KEYS_NUMBER:
        return SearchKey(op=op, value=cur.number(_MAX63))
    if op in SEARCH_KEYS_KEYWORD:
        return SearchKey(op=op, value=cur.atom())
    if op in SEARCH_KEYS_OBJECTID:
        return SearchKey(op=op, value=cur.match(_OBJECTID, "an objectid"))
    if op == "UID":
        return SearchKey(op=op, value=cur.seqset())
    if op == "HEADER":
        field = cur.astring()
        cur.sp()
        return SearchKey(op=op, value=(field, cur.astring()))
    if op == "NOT":
        return SearchKey(op=op, value=_search_key(cur, depth + 1))
    if op == "OR":
        a = _search_key(cur, depth + 1)
        cur.sp()
        return SearchKey(op=op, value=(a, _search_key(cur, depth + 1)))
    if op == "MODSEQ":
        entry = entry_type = None
        if cur.peek('"') or cur.peek("\x00"):
            entry = cur.string()
            cur.sp()
            entry_type = cur.match(
                re.compile(r"priv|shared|all", re.IGNORECASE), "priv, shared or all"
            ).lower()
            cur.sp()
        return SearchKey(
            op=op, value=ModSeqSearch(modseq=cur.number(_MAX63), entry=entry, entry_type=entry_type)
        )
    cur.pos -= len(op) + 1
    cur.error("a known search key")


def _select_params(cur: _Cursor) -> tuple[bool, C.QResync | None]:
    condstore = False
    qresync = None
    if not cur.take(" "):
        return condstore, qresync
    cur.expect("(")
    while True:
        if cur.take_keyword("CONDSTORE"):
            condstore = True
        elif cur.take_keyword("QRESYNC"):
            cur.sp()
            cur.expect("(")
            validity = cur.nz_number()
            cur.sp()
            modseq = cur.number(_MAX63)
            known = match = None
            if cur.take(" "):
                if not cur.peek("("):
                    known = cur.seqset()
                    if cur.take(" "):
                        cur.expect("(")
                        seqs = cur.seqset()
                        cur.sp()
                        match = (seqs, cur.seqset())
                        cur.expect(")")
                else:
                    cur.expect("(")
                    seqs = cur.seqset()
                    cur.sp()
                    match = (seqs, cur.seqset())
                    cur.expect(")")
            cur.expect(")")
            qresync = C.QResync(
                uidvalidity=validity, modseq=modseq, known_uids=known, seq_match=match
            )
        else:
            cur.error("CONDSTORE or QRESYNC")
        if cur.take(")"):
            break
        cur.sp()
    return condstore, qresync


def _command_body(cur: _Cursor, tag: str, name: str) -> C.Command:
    if name in _NOARG_COMMANDS:
        cur.end()
        return _NOARG_COMMANDS[name](tag=tag)  # type: ignore[no-any-return]
    uid = False
    if name == "UID":
        cur.sp()
        name = cur.match(re.compile(r"[A-Za-z]+"), "a UID command").upper()
        if name not in ("FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE"):
            cur.error("FETCH, STORE, COPY, MOVE, SEARCH or EXPUNGE after UID")
        uid = True
    elif name == "EXPUNGE":
        cur.end()
        return C.Expunge(tag=tag)
    cur.sp()
    cmd: C.Command
    if name == "FETCH":
        seqset = cur.seqset()
        cur.sp()
        attributes: str | tuple[FetchAttribute, ...]
        if cur.take("("):
            atts = [_fetch_att(cur)]
            while cur.take(" "):
                atts.append(_fetch_att(cur))
            cur.expect(")")
            attributes = tuple(atts)
        else:
            for macro in ("ALL", "FAST", "FULL"):
                if cur.take_keyword(macro):
                    attributes = macro
                    break
            else:
                attributes = (_fetch_att(cur),)
        changed = None
        vanished = False
        if cur.take(" "):
            cur.expect("(")
            while True:
                if cur.take_keyword("CHANGEDSINCE"):
                    cur.sp()
                    changed = cur.number(_MAX63)
                elif cur.take_keyword("VANISHED"):
                    vanished = True
                else:
                    cur.error("CHANGEDSINCE or VANISHED")
                if cur.take(")"):
                    break
                cur.sp()
        cmd = C.Fetch(
            tag=tag,
            sequence_set=seqset,
            attributes=attributes,
            uid=uid,
            changed_since=changed,
            vanished=vanished,
        )
    elif name == "STORE":
        seqset = cur.seqset()
        cur.sp()
        unchanged = None
        if cur.take("("):
            cur.expect_keyword("UNCHANGEDSINCE")
            cur.sp()
            unchanged = cur.number(_MAX63)
            cur.expect(")")
            cur.sp()
        mode = "+" if cur.take("+") else "-" if cur.take("-") else ""
        if not cur.take_keyword("FLAGS.SILENT"):
            cur.expect_keyword("FLAGS")
            silent = False
        else:
            silent = True
        cur.sp()
        if cur.peek("("):
            flags = cur.flag_list()
        else:
            items = [cur.flag()]
            while cur.take(" "):
                items.append(cur.flag())
            flags = tuple(items)
        cmd = C.Store(
            tag=tag,
            sequence_set=seqset,
            mode=mode,  # type: ignore[arg-type]
            flags=flags,
            silent=silent,
            uid=uid,
            unchanged_since=unchanged,
        )
    elif name in ("COPY", "MOVE"):
        seqset = cur.seqset()
        cur.sp()
        cls = C.Copy if name == "COPY" else C.Move
        cmd = cls(tag=tag, sequence_set=seqset, mailbox=cur.mailbox(), uid=uid)
    elif name == "SEARCH":
        return_options = None
        charset = None
        if cur.take_keyword("RETURN"):
            cur.sp()
            return_options = cur.paren_atoms()
            cur.sp()
        if cur.take_keyword("CHARSET"):
            cur.sp()
            charset = cur.astring()
            cur.sp()
        keys = [_search_key(cur, 1)]
        while cur.take(" "):
            keys.append(_search_key(cur, 1))
        cmd = C.Search(
            tag=tag, keys=tuple(keys), uid=uid, charset=charset, return_options=return_options
        )
    elif name == "EXPUNGE":  # UID EXPUNGE
        cmd = C.Expunge(tag=tag, uids=cur.seqset())
    elif name == "LOGIN":
        user = cur.astring()
        cur.sp()
        cmd = C.Login(tag=tag, username=user, password=cur.astring())
    elif name == "AUTHENTICATE":
        mech = cur.atom().upper()
        initial = None
        if cur.take(" "):
            if cur.take("="):
                initial = b""
            else:
                initial = _b64(cur.match(re.compile(r"[A-Za-z0-9+/=]+"), "base64"), tag)
        cmd = C.Authenticate(tag=tag, mechanism=mech, initial_response=initial)
    elif name == "ENABLE":
        caps = [cur.atom()]
        while cur.take(" "):
            caps.append(cur.atom())
        cmd = C.Enable(tag=tag, capabilities=tuple(caps))
    elif name in ("SELECT", "EXAMINE"):
        mailbox = cur.mailbox()
        condstore, qresync = _select_params(cur)
        cls2 = C.Select if name == "SELECT" else C.Examine
        cmd = cls2(tag=tag, mailbox=mailbox, condstore=condstore, qresync=qresync)
    elif name == "CREATE":
        mailbox = cur.mailbox()
        use: tuple[str, ...] = ()
        if cur.take(" "):
            cur.expect("(")
            cur.expect_keyword("USE")
            cur.sp()
            use = cur.flag_list()
            cur.expect(")")
        cmd = C.Create(tag=tag, mailbox=mailbox, special_use=use)
    elif name in ("DELETE", "SUBSCRIBE", "UNSUBSCRIBE"):
        mailbox = cur.mailbox()
        if name == "DELETE":
            cmd = C.Delete(tag=tag, mailbox=mailbox)
        elif name == "SUBSCRIBE":
            cmd = C.Subscribe(tag=tag, mailbox=mailbox)
        else:
            cmd = C.Unsubscribe(tag=tag, mailbox=mailbox)
    elif name == "RENAME":
        old = cur.mailbox()
        cur.sp()
        cmd = C.Rename(tag=tag, mailbox=old, new_name=cur.mailbox())
    elif name == "LIST":
        selection = None
        if cur.peek("("):
            selection = cur.paren_atoms()
            cur.sp()
        reference = cur.mailbox()
        cur.sp()
        if cur.take("("):
            patterns = [cur.list_mailbox()]
            while cur.take(" "):
                patterns.append(cur.list_mailbox())
            cur.expect(")")
        else:
            patterns = [cur.list_mailbox()]
        return_options = None
        return_status = None
        if cur.take(" "):
            cur.expect_keyword("RETURN")
            cur.sp()
            cur.expect("(")
            opts: list[str] = []
            if not cur.take(")"):
                while True:
                    if cur.take_keyword("STATUS"):
                        cur.sp()
                        return_status = cur.paren_atoms()
                        if not return_status:
                            # RFC 5819 §6: return-option =/ "STATUS" SP "("
                            # status-att *(SP status-att) ")" - at least one.
                            cur.error("at least one status item")
                    else:
                        opts.append(cur.atom().upper())
                    if cur.take(")"):
                        break
                    cur.sp()
            return_options = tuple(opts)
        cmd = C.List(
            tag=tag,
            reference=reference,
            patterns=tuple(patterns),
            selection=selection,
            return_options=return_options,
            return_status=return_status,
        )
    elif name == "LSUB":
        reference = cur.mailbox()
        cur.sp()
        cmd = C.Lsub(tag=tag, reference=reference, pattern=cur.list_mailbox())
    elif name == "STATUS":
        mailbox = cur.mailbox()
        cur.sp()
        status_atts = cur.paren_atoms()
        if not status_atts:
            # RFC 9051 §9: "(" status-att *(SP status-att) ")" - at least one.
            cur.error("at least one status item")
        cmd = C.Status(tag=tag, mailbox=mailbox, items=status_atts)
    elif name == "APPEND":
        mailbox = cur.mailbox()
        messages = []
        while cur.take(" "):
            flags_opt = None
            date = None
            if cur.peek("("):
                flags_opt = cur.flag_list()
                cur.sp()
            if cur.peek('"'):
                date = cur.datetime()
                cur.sp()
            lit = cur._literal()
            if lit is None:
                cur.error("a literal")
            messages.append(
                C.AppendMessage(
                    data=literal_bytes(lit[0]), flags=flags_opt, date=date, binary=lit[1]
                )
            )
        if not messages:
            cur.error("a message")
        cmd = C.Append(tag=tag, mailbox=mailbox, messages=tuple(messages))
    elif name == "ID":
        if cur.take_keyword("NIL"):
            params = None
        else:
            cur.expect("(")
            pairs: list[tuple[str, str | None]] = []
            if not cur.take(")"):
                while True:
                    key = cur.string()
                    cur.sp()
                    pairs.append((key, cur.nstring()))
                    if cur.take(")"):
                        break
                    cur.sp()
            params = tuple(pairs)
        cmd = C.Id(tag=tag, params=params)
    elif name == "COMPRESS":
        cmd = C.Compress(tag=tag, mechanism=cur.atom().upper())
    elif name == "GETQUOTA":
        cmd = C.GetQuota(tag=tag, root=cur.astring())
    elif name == "GETQUOTAROOT":
        cmd = C.GetQuotaRoot(tag=tag, mailbox=cur.mailbox())
    elif name == "SETQUOTA":
        root = cur.astring()
        cur.sp()
        cur.expect("(")
        limits: list[tuple[str, int]] = []
        if not cur.take(")"):
            while True:
                resource = cur.atom().upper()
                cur.sp()
                limits.append((resource, cur.number(_MAX63)))
                if cur.take(")"):
                    break
                cur.sp()
        cmd = C.SetQuota(tag=tag, root=root, limits=tuple(limits))
    else:
        cur.pos -= 1
        cur.error("a known command")
    cur.end()
    return cmd


_NOARG_COMMANDS: dict[str, type] = {
    "CAPABILITY": C.Capability,
    "NOOP": C.Noop,
    "LOGOUT": C.Logout,
    "STARTTLS": C.StartTLS,
    "NAMESPACE": C.Namespace,
    "IDLE": C.Idle,
    "CHECK": C.Check,
    "CLOSE": C.Close,
    "UNSELECT": C.Unselect,
}


def parse_command(
    message: RawMessage, *, limits: IMAPLimits | None = None, utf8: bool = False
) -> C.Command | C.Done:
    """Parse one framed command.  Raises :class:`ParseError` (with the tag) on bad grammar."""
    s, literals = flatten(message)
    cur = _Cursor(s, literals, limits if limits is not None else IMAPLimits(), utf8)
    if s.upper() == "DONE":
        return C.Done()
    m = _COMMAND.match(s)
    if m is None:
        tag_m = _TAG_RE.match(s)
        raise ParseError("expected a tag and a command name", tag=tag_m.group() if tag_m else None)
    tag = m.group(1)
    cur.tag = tag
    cur.pos = m.end()
    try:
        if m.group(2)[0] in "Xx":
            return _experimental(cur, tag, m.group(2))
        return _command_body(cur, tag, m.group(2).upper())
    except ParseError as exc:
        exc.tag = tag
        raise
    except LocalProtocolError as exc:  # a value constructor refused a parsed field
        raise ParseError(f"invalid command: {exc}", tag=tag) from None


def _experimental(cur: _Cursor, tag: str, name: str) -> C.Experimental:
    """``X<atom> [SP arguments]`` (RFC 3501 §6.5.1): arguments by the generic grammar."""
    if cur.pos == len(cur.s):
        return C.Experimental(tag=tag, name=name)
    cur.sp()
    arguments = tuple(ext_value(node) for node in cur.tree_rest())
    if _holds_nul(arguments):
        # A literal inside a bracketed token ("BODY[... {3}\r\nabc]") stays
        # a placeholder in the generic tree; no generic value can carry it
        # (string literals never hold NUL: RFC 9051 §4.3), so it is refused.
        cur.error("X command arguments without a literal inside brackets")
    return C.Experimental(tag=tag, name=name, arguments=arguments)


def _holds_nul(values: tuple[ExtensionValue, ...]) -> bool:
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, tuple) and _holds_nul(value):
            return True
    return False


def parse_authenticate_data(line: bytes) -> C.AuthenticateData:
    """Parse a client line during AUTHENTICATE: base64, or ``*`` to cancel."""
    text = line.rstrip(b"\r\n")
    if text == b"*":
        return C.AuthenticateData(data=None)
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        raise ParseError("invalid base64") from None
    return C.AuthenticateData(data=_b64(decoded, None))
