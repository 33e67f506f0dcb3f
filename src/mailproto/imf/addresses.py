"""Addresses (RFC 5322 §3.4) with the obsolete syntax (§4.4) and RFC 6532 UTF-8.

Grammar implemented (RFC 5322; ``obs-`` rules from §4.4)::

    address-list    = (address *("," address)) / obs-addr-list
    obs-addr-list   = *([CFWS] ",") address *("," [address / CFWS])
    address         = mailbox / group
    mailbox         = name-addr / addr-spec
    name-addr       = [display-name] angle-addr
    angle-addr      = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    obs-angle-addr  = [CFWS] "<" obs-route addr-spec ">" [CFWS]
    obs-route       = obs-domain-list ":"
    obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])
    group           = display-name ":" [group-list] ";" [CFWS]
    group-list      = mailbox-list / CFWS / obs-group-list
    display-name    = phrase            ; phrase = 1*word / obs-phrase
    obs-phrase      = word *(word / "." / CFWS)
    addr-spec       = local-part "@" domain
    local-part      = dot-atom / quoted-string / obs-local-part   ; word *("." word)
    domain          = dot-atom / domain-literal / obs-domain      ; atom *("." atom)

Two layers make it fast and total:

1. A **fast path**: one compiled regex recognises whole lists made only of
   the common forms (``addr@domain``, ``Name <addr@domain>``,
   ``"Quoted Name" <addr@domain>``) and extracts them with ``finditer``;
   no Python loop per character, and for most real headers no tokenizer.
2. The **full parser** runs on the tokens of :mod:`mailproto.imf._tokens`
   (one iteration per token) and implements every rule above.  It never
   raises: what cannot be parsed is skipped up to the next top-level comma
   and recorded as a defect; everything else is returned.

Display names: runs of whitespace and comments between words become one
space; quoted strings keep their whitespace; RFC 2047 encoded words are
decoded (§5 (3)) with whitespace between adjacent encoded words dropped
(§6.2).  Like :mod:`email` we also decode encoded words inside a quoted
display name (forbidden by RFC 2047 §5, common in real mail).  *Where we
differ from email* (``policy.default``), deliberately:

* whitespace between adjacent encoded words in a display name is dropped
  (RFC 2047 §6.2); :mod:`email` keeps one space there;
* a ``;`` outside a group separates addresses (Outlook writes lists that
  way); :mod:`email` drops everything after it;
* the obsolete route (``<@a,@b:user@c>``) is kept in :attr:`Address.route`.

Defect kinds: those of the tokenizer, plus ``obsolete-syntax``,
``missing-at-sign``, ``missing-domain``, ``unterminated-angle-addr``,
``unterminated-group``, ``unexpected-token``, ``empty-address``,
``semicolon-separator``, ``nested-group``, ``missing-local-part``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import attrs

from mailproto.codecs import encoded_words as _ew
from mailproto.imf._tokens import Token, quote_string, tokenize
from mailproto.imf.defects import Defect

__all__ = [
    "Address",
    "AddressList",
    "Group",
    "format_address_list",
    "parse_address",
    "parse_address_list",
]

# Characters that force quoting of a display name (RFC 5322 specials, as
# email.headerregistry uses) or of a local part (not a dot-atom).
_SPECIALS = frozenset('()<>@,:;."[]\\')
# A local part is written unquoted unless it has specials other than "." or
# whitespace (so "a..b" and "a." stay unquoted, as in email's output; they
# parse back identically through obs-local-part).
_LOCAL_QUOTE = frozenset('()<>@,:;"[]\\ \t')


@attrs.frozen(kw_only=True)
class Address:
    """One mailbox: an optional display name and an addr-spec."""

    #: The display name, decoded (encoded words, quoting and comments
    #: resolved); ``""`` when there is none.
    display_name: str = ""
    #: The local part, unquoted (``"a b"@c`` has local part ``a b``).
    local_part: str = ""
    #: The domain: a dot-atom (``example.com``; CFWS removed) or a domain
    #: literal with its brackets (``[192.0.2.1]``); ``""`` when missing.
    domain: str = ""
    #: The obsolete source route of an obs-angle-addr (RFC 5322 §4.4), as
    #: domains without the ``@``; ``()`` almost always.  It is obsolete and
    #: should be ignored for delivery (RFC 5321 §4.1.2 and §C).
    route: tuple[str, ...] = ()

    @property
    def addr_spec(self) -> str:
        """``local@domain``, the local part quoted when it is not a dot-atom.

        ``"<>"`` for an empty address (the null reverse path).
        """
        return _format_addr_spec(self.local_part, self.domain)

    def __str__(self) -> str:
        """``Name <addr>`` (name quoted when it contains specials) or ``addr``.

        The same text as :mod:`email`'s ``Address`` gives; non-ASCII is left
        as is (encoding it is a builder's job).
        """
        return _format_mailbox(self.display_name, self.local_part, self.domain)


@attrs.frozen(kw_only=True)
class Group:
    """A named group of mailboxes (``Friends: a@b, c@d;``), possibly empty."""

    #: The group's display name, decoded.
    display_name: str
    #: The members, in order; ``()`` for an empty group (``Undisclosed:;``).
    members: tuple[Address, ...] = ()

    def __str__(self) -> str:
        disp = self.display_name
        if not _SPECIALS.isdisjoint(disp):
            disp = quote_string(disp)
        inner = ", ".join(str(a) for a in self.members)
        return f"{disp}: {inner};" if inner else f"{disp}:;"


@attrs.frozen(kw_only=True)
class AddressList:
    """The result of :func:`parse_address_list`."""

    #: Mailboxes and groups in header order.
    items: tuple[Address | Group, ...] = ()
    #: What was wrong with the value and how it was repaired.
    defects: tuple[Defect, ...] = ()

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Every mailbox, group members flattened in place."""
        out: list[Address] = []
        for item in self.items:
            if isinstance(item, Group):
                out.extend(item.members)
            else:
                out.append(item)
        return tuple(out)

    def __iter__(self) -> Iterator[Address | Group]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __str__(self) -> str:
        return format_address_list(self.items)


def format_address_list(items: Iterable[Address | Group]) -> str:
    """Format like :mod:`email`'s ``str(header)`` for an address header.

    ``Name <a@b>, c@d, Group: e@f;`` — decoded text, not wire form.
    """
    return ", ".join(str(i) for i in items)


# --------------------------------------------------------------------------
# Fast path
# --------------------------------------------------------------------------

_ATEXT = r"[^\s()<>\[\]:;@\\,.\"]"
_DOTATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
# One simple item; groups: name (unquoted words), qname (quoted, no escapes),
# al/ad (local part and domain inside <>), bl/bd (a bare addr-spec).
_ITEM = (
    rf"[ \t]*(?:(?:(?P<name>{_ATEXT}+(?:[ \t]+{_ATEXT}+)*)|\"(?P<qname>[^\"\\]*)\")?[ \t]*"
    rf"<(?P<al>{_DOTATOM})@(?P<ad>{_DOTATOM})>|(?P<bl>{_DOTATOM})@(?P<bd>{_DOTATOM}))[ \t]*"
    # A trailing comment, "a@b (Name)" as old mailers write it: ignored, as
    # by email (comments are not display names in RFC 5322).
    r"(?:\([^()\\]*\)[ \t]*)?"
)
_ITEM_ANON = re.sub(r"\?P<\w+>", "?:", _ITEM)
_SIMPLE_ONE = re.compile(_ITEM)
assert _SIMPLE_ONE.groupindex == {"name": 1, "qname": 2, "al": 3, "ad": 4, "bl": 5, "bd": 6}
_SIMPLE_LIST = re.compile(rf"{_ITEM_ANON}(?:,{_ITEM_ANON})+")
_WS_RUN = re.compile(r"[ \t]+")
_NO_DEFECTS: tuple[Defect, ...] = ()


def _simple_address(m: re.Match[str], defects: list[Defect]) -> Address:
    # One C call for all six groups (in pattern order) rather than six lookups
    # by name: this runs once per address of every To list.
    name, qname, local, domain, bare_local, bare_domain = m.groups()
    if local is None:
        return Address(local_part=bare_local, domain=bare_domain)
    if name is not None:
        if "  " in name or "\t" in name:
            name = _WS_RUN.sub(" ", name)
    else:
        name = qname or ""
    if "=?" in name:
        name = _ew.decode_header_text(name, defects)
    return Address(display_name=name, local_part=local, domain=domain)


def _format_addr_spec(lp: str, domain: str) -> str:
    """:attr:`Address.addr_spec` from its parts (the one place this rule lives)."""
    if not _LOCAL_QUOTE.isdisjoint(lp) or (not lp and domain):
        lp = quote_string(lp)
    return lp + "@" + domain if domain else lp or "<>"


def _format_mailbox(disp: str, lp: str, domain: str) -> str:
    """``str(Address(...))`` from its parts: used by :class:`Address` and by the
    fast path that formats simple lists without building objects."""
    spec = _format_addr_spec(lp, domain)
    if disp:
        if not _SPECIALS.isdisjoint(disp):
            disp = quote_string(disp)
        return f"{disp} <{'' if spec == '<>' else spec}>"
    return spec


def _format_simple(m: re.Match[str]) -> str:
    """``str(_simple_address(m, ...))`` (defects not wanted), without the object."""
    name, qname, local, domain, bare_local, bare_domain = m.groups()
    if local is None:
        return _format_mailbox("", bare_local, bare_domain)
    if name is not None:
        if "  " in name or "\t" in name:
            name = _WS_RUN.sub(" ", name)
    else:
        name = qname or ""
    if "=?" in name:
        name = _ew.decode_header_text(name)
    return _format_mailbox(name, local, domain)


def _format_simple_address_list(value: str) -> str | None:
    """``format_address_list(parse_address_list(value).items)`` for the forms the
    regex fast path parses (None for any other value), without building the
    :class:`Address` objects: what ``Headers.get`` needs for From and To.
    ``tests/imf`` and the differential tests hold it to the full path."""
    if not value or value.isspace():
        return ""
    m = _SIMPLE_ONE.fullmatch(value)
    if m is not None:
        return _format_simple(m)
    if "," not in value or _SIMPLE_LIST.fullmatch(value) is None:
        return None
    return ", ".join([_format_simple(m) for m in _SIMPLE_ONE.finditer(value)])


def _fast(value: str) -> AddressList | None:
    """The common forms, by regex only; None when the full parser is needed."""
    if not value or value.isspace():
        return _EMPTY
    defects: list[Defect] = []
    m = _SIMPLE_ONE.fullmatch(value)
    if m is not None:
        # One address: the usual From/To/Sender/Reply-To.
        item = _simple_address(m, defects)
        return AddressList(items=(item,), defects=tuple(defects) if defects else _NO_DEFECTS)
    if "," not in value or _SIMPLE_LIST.fullmatch(value) is None:
        return None
    items = tuple([_simple_address(m, defects) for m in _SIMPLE_ONE.finditer(value)])
    return AddressList(items=items, defects=tuple(defects) if defects else _NO_DEFECTS)


# --------------------------------------------------------------------------
# Full parser
# --------------------------------------------------------------------------


class _Parser:
    """Recursive-descent parser over the token list (one pass, no backtracking
    beyond a bounded look-ahead for the phrase that starts each address)."""

    def __init__(self, tokens: list[Token], defects: list[Defect]) -> None:
        self.toks = tokens
        self.n = len(tokens)
        self.i = 0
        self.defects = defects

    # -- helpers -------------------------------------------------------------

    def defect(self, kind: str, message: str, tok: Token | None = None) -> None:
        self.defects.append(Defect(kind=kind, message=message, offset=tok.start if tok else None))

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < self.n else None

    def is_special(self, ch: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "special" and t.value == ch

    def skip_to_separator(self, in_group: bool) -> None:
        """Error recovery: skip tokens up to the next top-level ``,`` (or ``;``)."""
        first = self.peek()
        if first is not None:
            self.defect("unexpected-token", f"unexpected {first.value!r}; skipped", first)
        depth = 0
        while self.i < self.n:
            t = self.toks[self.i]
            if t.kind == "special":
                if t.value == "<":
                    depth += 1
                elif t.value == ">":
                    depth = max(depth - 1, 0)
                elif depth == 0 and (t.value == "," or (in_group and t.value == ";")):
                    return
            self.i += 1

    # -- grammar ---------------------------------------------------------------

    def address_list(self) -> list[Address | Group]:
        items: list[Address | Group] = []
        while self.i < self.n:
            t = self.toks[self.i]
            if t.kind == "special" and t.value in ",;":
                # obs-addr-list allows empty elements: ", ," (§4.4).
                if t.value == ";":
                    self.defect("semicolon-separator", "';' used to separate addresses", t)
                self.i += 1
                continue
            item = self.address(in_group=False)
            if item is not None:
                items.append(item)
            if isinstance(item, Group):
                # A group ends with its own ";": what follows needs no comma
                # (and commonly has none after a broken nested group).
                continue
            t2 = self.peek()
            if t2 is None:
                break
            if t2.kind == "special" and t2.value in ",;":
                continue
            self.skip_to_separator(in_group=False)
        return items

    def phrase(self) -> tuple[list[Token], int]:
        """Collect a phrase (words, obsolete dots) starting here; returns the
        tokens and the index after them, without consuming."""
        j = self.i
        toks = self.toks
        while j < self.n:
            t = toks[j]
            if t.kind in ("atom", "qs") or (t.kind == "special" and t.value == "."):
                j += 1
                continue
            break
        return toks[self.i : j], j

    def address(self, in_group: bool) -> Address | Group | None:
        words, j = self.phrase()
        nxt = self.toks[j] if j < self.n else None
        if nxt is not None and nxt.kind == "special":
            if nxt.value == "<":
                self.i = j
                name = self.display_name(words)
                return self.angle_addr(name)
            if nxt.value == ":" and words:
                if in_group:
                    # Groups do not nest (§3.4): drop the inner group's name
                    # and read its members as members of the outer group.
                    self.defect("nested-group", "group inside a group", nxt)
                    self.i = j + 1
                    return self.address(in_group=True)
                self.i = j + 1
                return self.group(self.display_name(words))
            if nxt.value == "@":
                if not words:
                    # "@domain": no local part.  Keep the domain if there is
                    # one; a lone "@" is noise.
                    save = self.i
                    self.i = j + 1
                    domain = self.domain()
                    if not domain:
                        self.i = save
                        self.skip_to_separator(in_group)
                        return None
                    self.defect("missing-local-part", "addr-spec without local part", nxt)
                    return Address(domain=domain)
                return self.addr_spec_here("")
        if not words:
            if nxt is not None:
                self.skip_to_separator(in_group)
            return None
        # A phrase with no "@": a local part without domain (email keeps it the
        # same way), e.g. "undisclosed-recipients" without the ":;".
        self.i = j
        self.defect("missing-at-sign", "address without '@'", words[0])
        local = self.local_part_text(words)
        if "=?" in local:
            # Really a display name without an address; email decodes its
            # encoded words too.
            local = _ew.decode_header_text(local, self.defects)
        return Address(local_part=local)

    def display_name(self, words: list[Token]) -> str:
        parts: list[str] = []
        for k, t in enumerate(words):
            if k and t.spaced:
                parts.append(" ")
            parts.append(t.value)
        name = "".join(parts)
        if "=?" in name:
            name = _ew.decode_header_text(name, self.defects)
        if any(t.kind == "special" for t in words):
            self.defect("obsolete-syntax", "'.' in a display name (obs-phrase)", words[0])
        return name

    def local_part_text(self, words: list[Token]) -> str:
        # obs-local-part = word *("." word): CFWS around the dots is dropped.
        # Words with only whitespace between them are not valid at all; like
        # email we keep them, separated by one space ("Foo Bar a@b").
        parts: list[str] = []
        prev_dot = True
        for t in words:
            is_dot = t.kind == "special"
            if t.spaced and not prev_dot and not is_dot:
                parts.append(" ")
            parts.append(t.value)
            prev_dot = is_dot
        return "".join(parts)

    def addr_spec_here(self, name: str) -> Address:
        words, j = self.phrase()
        # A local part is words and dots; the phrase collector is the same shape.
        local = self.local_part_text(words)
        if any(t.spaced for t in words[1:]):
            self.defect("obsolete-syntax", "CFWS inside a local part (obs-local-part)", words[0])
        self.i = j
        if self.is_special("@"):
            if not words:
                self.defect("missing-local-part", "addr-spec without local part", self.peek())
            self.i += 1
            domain = self.domain()
            if not domain:
                self.defect("missing-domain", "no domain after '@'", self.peek())
        else:
            domain = ""
            self.defect("missing-at-sign", "addr-spec without '@'", self.peek())
        return Address(display_name=name, local_part=local, domain=domain)

    def domain(self) -> str:
        parts: list[str] = []
        toks = self.toks
        j = self.i
        spaced_dots = False
        while j < self.n:
            t = toks[j]
            if t.kind in {"atom", "dl"}:
                if parts and parts[-1] != ".":
                    break  # two atoms in a row: the domain ended
                parts.append(t.value)
            elif t.kind == "special" and t.value == ".":
                if parts and parts[-1] == ".":
                    break
                parts.append(".")
            else:
                break
            if j > self.i and t.spaced:
                spaced_dots = True
            j += 1
        self.i = j
        if spaced_dots:
            self.defect("obsolete-syntax", "CFWS inside a domain (obs-domain)", toks[j - 1])
        return "".join(parts)

    def angle_addr(self, name: str) -> Address:
        start = self.toks[self.i]
        self.i += 1  # "<"
        route: list[str] = []
        # obs-route: "@a,@b:" before the addr-spec (§4.4).
        if self.is_special("@") or self.is_special(","):
            save = self.i
            while True:
                if self.is_special(","):
                    self.i += 1
                    continue
                if self.is_special("@"):
                    self.i += 1
                    route.append(self.domain())
                    continue
                break
            if self.is_special(":"):
                self.i += 1
                self.defect("obsolete-syntax", "source route in angle-addr (obs-route)", start)
            else:
                self.i = save
                route = []
        if self.is_special(">"):
            # "<>" : the null address.
            self.i += 1
            return Address(display_name=name, route=tuple(route))
        addr = self.addr_spec_here(name)
        if route:
            addr = attrs.evolve(addr, route=tuple(route))
        if self.is_special(">"):
            self.i += 1
        else:
            self.defect("unterminated-angle-addr", "'<' without '>'", start)
            # Resynchronise on the ">" if it is further on in this item.
            j = self.i
            while j < self.n:
                t = self.toks[j]
                if t.kind == "special" and t.value in ",;":
                    break
                if t.kind == "special" and t.value == ">":
                    self.i = j + 1
                    break
                j += 1
        return addr

    def group(self, name: str) -> Group:
        members: list[Address] = []
        while True:
            t = self.peek()
            if t is None:
                self.defect("unterminated-group", f"group {name!r} has no ';'", None)
                break
            if t.kind == "special" and t.value == ";":
                self.i += 1
                break
            if t.kind == "special" and t.value == ",":
                self.i += 1
                continue
            item = self.address(in_group=True)
            if isinstance(item, Address):
                members.append(item)
            t2 = self.peek()
            if t2 is not None and not (t2.kind == "special" and t2.value in ",;"):
                self.skip_to_separator(in_group=True)
        return Group(display_name=name, members=tuple(members))


_EMPTY = AddressList()


def parse_address_list(value: str) -> AddressList:
    """Parse an address-list header value (``To``, ``Cc``, ``From``...).

    *value* is the unfolded value (line breaks in it are treated as
    whitespace).  Never raises: returns everything that could be recovered,
    with :attr:`AddressList.defects` saying what was wrong.
    """
    fast = _fast(value)
    if fast is not None:
        return fast
    defects: list[Defect] = []
    tokens = tokenize(value, defects)
    items = _Parser(tokens, defects).address_list()
    return AddressList(items=tuple(items), defects=tuple(defects))


def parse_address(value: str) -> Address | None:
    """Parse a single mailbox (``Sender``, ``Return-Path``-like values).

    Returns the first mailbox found (the first group member if the value is
    a group), or None when there is none.  Use :func:`parse_address_list` to
    see defects.
    """
    result = parse_address_list(value)
    addrs = result.addresses
    return addrs[0] if addrs else None
