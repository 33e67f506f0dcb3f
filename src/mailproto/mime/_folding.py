"""Header field formatting for builders: validation, encoding and folding.

Theory of operation
-------------------
Every header field a builder (or the editor) emits goes through this module,
so the output rules live in one place:

* **Injection** is impossible by construction.  Every string a caller hands
  in — field names, values, display names, parameter names and values,
  filenames — is checked by :func:`check_text` / :func:`check_name` *before*
  anything is formatted, and a CR, LF or NUL anywhere raises
  :class:`HeaderInjectionError` (a :class:`ValueError`).  A CR or LF in the
  output can therefore only come from this module's own folding.

* **Values are token lists.**  A formatter turns a value into a list of
  :class:`Token`: a piece of text that must never be split (an encoded word,
  a quoted string, an addr-spec, a parameter) and the whitespace that
  precedes it.  RFC 5322 §2.2.3 allows a fold (CRLF) only *before* existing
  whitespace, and unfolding removes just the CRLF, so folding at a token's
  whitespace never changes the value; and because folds happen only between
  tokens, no encoded word (RFC 2047 §2) and no quoted string is ever split.

* **Line lengths** (RFC 5322 §2.1.1): lines SHOULD be at most 78 characters
  and MUST be at most 998 octets, CRLF excluded.  :func:`fold` packs tokens
  greedily into 78-character lines and starts a new line before a token that
  would not fit; a token longer than the soft limit gets a line of its own.
  Formatters make sure no token can break the hard limit (an over-long
  word in unstructured text is turned into encoded words, which can be
  split), and :func:`fold` checks it anyway and raises rather than emit an
  invalid line.

* **Non-ASCII text** becomes RFC 2047 encoded words by default (via
  :func:`mailproto.codecs.encoded_words.encode_header_text`), or stays raw
  UTF-8 when the policy says the output is for an RFC 6532 / SMTPUTF8
  (RFC 6531) transport.  Lengths are counted in octets either way.

Unstructured text (RFC 5322 §3.2.5, ``Subject`` and unknown fields) is
split into words at whitespace; each word is written as is unless it must be
encoded (non-ASCII in ASCII mode, control characters, something that looks
like an encoded word — RFC 2047 §6.2 would otherwise decode it — or a word
too long for one line).  Consecutive words that must be encoded are encoded
*together with the whitespace between them*, because a decoder drops the
whitespace between two adjacent encoded words (RFC 2047 §6.2).  Leading and
trailing whitespace, which parsers strip, is kept inside an encoded word so
the value survives a round trip exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from mailproto.codecs.encoded_words import encode_header_text
from mailproto.codecs.rfc2231 import encode_param

if TYPE_CHECKING:
    from mailproto.imf.addresses import Address, Group

__all__ = [
    "HARD_LIMIT",
    "HeaderInjectionError",
    "InvalidAddressError",
    "Token",
    "addr_spec_text",
    "address_tokens",
    "check_name",
    "check_text",
    "coerce_addresses",
    "field_bytes",
    "fold",
    "format_params",
    "phrase_tokens",
    "unstructured_tokens",
]

#: RFC 5322 §2.1.1: "Each line of characters MUST be no more than 998
#: characters ... excluding the CRLF."  (Octets, for RFC 6532 UTF-8.)
HARD_LIMIT = 998


class HeaderInjectionError(ValueError):
    """A caller-supplied header name, value or parameter contains CR, LF or NUL.

    Raised before anything is emitted: a value with a line break would let
    the caller's data start new header fields or the body (header injection).
    """


class InvalidAddressError(ValueError):
    """An address given to a builder is not a valid RFC 5322 mailbox or group."""


# CR, LF and NUL: never allowed in caller text (RFC 5322 §2.2 field bodies
# are printable characters and WSP; CR and LF only as part of a fold).
_FORBIDDEN = re.compile(r"[\r\n\x00]")
# A field name: printable US-ASCII except ":" (RFC 5322 §3.6.8 ftext).
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")
# Characters that may not appear raw in an unstructured value: controls other
# than HTAB, and DEL (RFC 5322 §3.2.5 allows VCHAR and WSP only).
# The C1 controls (U+0080-U+009F) are refused raw too: RFC 6532 §3.2 only
# adds UTF8-non-ascii to VCHAR, and RFC 5198 forbids them in net text.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_WORDS = re.compile(r"([ \t]*)([^ \t]+)")
# RFC 5322 §3.2.3 atext (plus "." for obs-phrase words is NOT allowed here:
# a display name with a "." is quoted, as email.headerregistry does).
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
# RFC 6532 §3.2 adds UTF8-non-ascii to atext.  Unicode whitespace (NBSP,
# U+2028...) is excluded: readers split words on it, so such names are quoted.
_ATEXT_UTF8 = r"(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]|[^\x00-\x9f\s])"
_PHRASE_ASCII = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")
_PHRASE_UTF8 = re.compile(rf"{_ATEXT_UTF8}+(?: {_ATEXT_UTF8}+)*")


def check_text(value: str, what: str = "header value") -> str:
    """Return ``value`` unchanged, or raise :class:`HeaderInjectionError`.

    ``what`` names the thing in the error message ("display name",
    "filename", ...).  Also refuses non-``str`` values with a ``TypeError``,
    so ``bytes`` cannot sneak past the check.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    m = _FORBIDDEN.search(value)
    if m is not None:
        raise HeaderInjectionError(
            f"{what} contains {m.group()!r} at index {m.start()}: "
            "CR, LF and NUL are refused (header injection)"
        )
    return value


def check_name(name: str) -> str:
    """Validate a header field name (RFC 5322 §3.6.8 ftext); return it.

    CR/LF/NUL raise :class:`HeaderInjectionError`; any other character
    outside ftext (space, ``:``, non-ASCII, controls) a plain ``ValueError``.
    """
    check_text(name, "header name")
    if _FIELD_NAME.fullmatch(name) is None:
        raise ValueError(f"invalid header name {name!r}: printable ASCII without ':' required")
    return name


class Token(NamedTuple):
    """One unsplittable piece of a header value and the whitespace before it.

    A named tuple rather than an attrs class: a long address list makes
    thousands of them, and tuple creation is the cheapest there is.
    """

    #: The text (an atom, a quoted string, an encoded word, ``name=value;``…).
    text: str
    #: The whitespace that precedes it: a fold may be inserted before this
    #: whitespace.  ``""`` glues the token to the previous one.
    space: str = " "


def fold(name: str, tokens: Sequence[Token], *, max_line: int = 78, linesep: str = "\r\n") -> str:
    """Lay out ``name: tokens`` in lines of at most ``max_line`` characters.

    The result ends with ``linesep``.  Folds are placed only before a
    token's (non-empty) whitespace.  The first token's whitespace after the
    colon is used as given (normally one space).  Raises ``ValueError`` if a
    line would exceed the RFC 5322 hard limit of 998 octets.
    """
    lines: list[str] = []
    line = name + ":"
    first = used = len(line)
    for text, space in tokens:
        piece = space + text
        # Octets, not characters: RFC 6532 UTF-8 counts per byte.
        size = len(piece) if piece.isascii() else len(piece.encode("utf-8"))
        if space and used + size > max_line and used > first:
            # Start a new line: the fold goes before the whitespace.
            lines.append(line)
            line, used = piece, size
        else:
            line += piece
            used += size
        if used > HARD_LIMIT:
            raise ValueError(
                f"header {name!r}: an unbreakable piece makes a line longer than "
                f"{HARD_LIMIT} octets (RFC 5322 §2.1.1)"
            )
    lines.append(line)
    return linesep.join(lines) + linesep


def _octets(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def field_bytes(
    name: str, tokens: Sequence[Token], *, max_line: int = 78, linesep: str = "\r\n"
) -> bytes:
    """:func:`fold` encoded to bytes (UTF-8; ASCII unless raw UTF-8 was allowed)."""
    return fold(name, tokens, max_line=max_line, linesep=linesep).encode("utf-8")


# Longest whitespace run kept as folding whitespace in unstructured text.
_MAX_PLAIN_SPACE = 200


def _needs_encoding(word: str, utf8: bool, budget: int) -> bool:
    if "=?" in word or _CONTROL.search(word) is not None:
        return True
    if not word.isascii():
        return not utf8
    return len(word) > budget


def _encoded(text: str, max_line: int) -> list[Token]:
    """Encoded words for ``text``, separated by folding spaces."""
    words = encode_header_text(text, max_line=max_line - 1)
    return [Token(w, " ") for w in words]


def unstructured_tokens(
    value: str, *, utf8: bool = False, max_line: int = 78, name_length: int = 0
) -> list[Token]:
    """Tokens for unstructured text (RFC 5322 §3.2.5), encoding only what must be.

    ``name_length`` is the length of the field name, used to decide which
    plain words are too long for a line (they become encoded words, which
    can be split; otherwise long words are kept on a line of their own).
    """
    check_text(value)
    if not value:
        return [Token("", " ")]
    # The longest plain word we keep: it must fit a line after "Name: " and a
    # folding space, below the hard limit.
    budget = HARD_LIMIT - max(name_length + 2, 1) - 1
    words = [(m.group(1), m.group(2)) for m in _WORDS.finditer(value)]
    trailing = value[len(value.rstrip(" \t")) :]
    if not words:
        # Only whitespace: keep it inside one encoded word.
        return _encoded(value, max_line)
    flags = [_needs_encoding(w, utf8, budget) for _, w in words]
    # Leading and trailing whitespace is stripped by readers: carry it inside
    # an encoded word so the value survives.
    if words[0][0]:
        flags[0] = True
    if trailing:
        flags[-1] = True
    # A whitespace run too long for a line cannot be folded (a fold only
    # goes before it): carry it inside an encoded run, which can be split.
    for i in range(1, len(words)):
        if len(words[i][0]) > _MAX_PLAIN_SPACE:
            flags[i - 1] = flags[i] = True
    tokens: list[Token] = []
    i = 0
    n = len(words)
    while i < n:
        space, word = words[i]
        if not flags[i]:
            tokens.append(Token(word, space or " "))
            i += 1
            continue
        # A run of words to encode, with the whitespace between them.
        j = i
        text = (space if i == 0 else "") + word
        while j + 1 < n and flags[j + 1]:
            j += 1
            text += words[j][0] + words[j][1]
        if j == n - 1:
            text += trailing
        enc = _encoded(text, max_line)
        if i:
            # The whitespace before the run separates it from plain text.
            enc[0] = Token(enc[0].text, space)
        tokens.extend(enc)
        i = j + 1
    return tokens


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def phrase_tokens(text: str, *, utf8: bool = False, max_line: int = 78) -> list[Token]:
    """Tokens for a phrase (a display name, RFC 5322 §3.2.5).

    Atoms separated by single spaces are written as they are; other printable
    text is one quoted string; text that cannot be written as either
    (non-ASCII in ASCII mode, control characters, something that looks like
    an encoded word, a quoted string too long for a line) becomes encoded
    words, which RFC 2047 §5 (3) allows in a phrase.  The Q encoding used
    leaves only characters legal in a phrase unescaped.
    """
    check_text(text, "display name")
    pattern = _PHRASE_UTF8 if utf8 else _PHRASE_ASCII
    if pattern.fullmatch(text) is not None and "=?" not in text:
        return [Token(w) for w in text.split(" ")]
    encodable = "=?" in text or _CONTROL.search(text) is not None
    if not encodable and (utf8 or text.isascii()):
        quoted = _quote(text)
        if _octets(quoted) < HARD_LIMIT - 100:
            return [Token(quoted)]
    return _encoded(text, max_line)


def format_params(
    head: str,
    params: Iterable[tuple[str, str]],
    *,
    utf8: bool = False,
    legacy: Iterable[str] = (),
    max_line: int = 78,
) -> list[Token]:
    """Tokens for ``head; name=value; ...`` (RFC 2045 §5.1, RFC 2183, RFC 2231).

    Values that are not printable ASCII use RFC 2231 (``name*=utf-8''...``,
    in sections when long) — or, in UTF-8 mode, a quoted string with raw
    UTF-8 (RFC 6532 §3.2 extends quoted strings).  Parameter names in
    ``legacy`` also get the RFC 2047 form that pre-2231 clients read
    (``filename="=?utf-8?q?...?="``), *after* the RFC 2231 one so that
    readers which keep the first of two same-named parameters (CPython's
    ``email`` does) get the exact value; it is left out when it would not
    fit on one line.
    """
    tokens = [Token(head)]
    pieces: list[str] = []
    legacy_names = {n.lower() for n in legacy}
    for name, value in params:
        check_text(name, "parameter name")
        check_text(value, f"parameter {name!r}")
        if re.fullmatch(r"[!#$&+\-.^_`|~0-9A-Za-z]+", name) is None:
            raise ValueError(f"invalid parameter name {name!r}")
        plain = value.isascii() and value.isprintable()
        if utf8 and not plain and _CONTROL.search(value) is None:
            pieces.append(f"{name}={_quote(value)}")
        else:
            pieces.extend(encode_param(name, value, max_line=max_line))
        if not plain and name.lower() in legacy_names:
            words = encode_header_text(value, max_line=max_line)
            piece = f'{name}="{" ".join(words)}"'
            if len(piece) < HARD_LIMIT - 100:
                pieces.append(piece)
    for piece in pieces:
        # Each parameter follows a ";" glued to the previous token.
        prev = tokens[-1]
        tokens[-1] = Token(prev.text + ";", prev.space)
        tokens.append(Token(piece, " "))
    return tokens


# -- addresses (RFC 5322 §3.4) -------------------------------------------------

_DOT_ATOM_ASCII = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_DOT_ATOM_UTF8 = re.compile(rf"{_ATEXT_UTF8}+(?:\.{_ATEXT_UTF8}+)*")
# domain-literal = "[" *dtext "]"; dtext = %d33-90 / %d94-126 (§3.4.1).
_DOMAIN_LITERAL = re.compile(r"\[[\x21-\x5a\x5e-\x7e]*\]")
# RFC 5321 §4.5.3.1.3 bounds a path to 256 octets; anything near the header
# hard limit is certainly not an address.
_MAX_ADDR_SPEC = 512


def addr_spec_text(local_part: str, domain: str, *, utf8: bool = False) -> str:
    """``local@domain`` for output, validated; raises :class:`InvalidAddressError`.

    The local part is written as a dot-atom when it is one and as a quoted
    string otherwise.  Non-ASCII is allowed only in UTF-8 mode (RFC 6532
    §3.2), except in the domain, which is converted to its IDNA A-label form
    (RFC 5890) in ASCII mode.
    """
    check_text(local_part, "address local part")
    check_text(domain, "address domain")
    if not local_part:
        raise InvalidAddressError("an address needs a local part")
    if not domain:
        raise InvalidAddressError(f"address {local_part!r} has no domain")
    dot_atom = _DOT_ATOM_UTF8 if utf8 else _DOT_ATOM_ASCII
    if not utf8 and not local_part.isascii():
        raise InvalidAddressError(
            f"non-ASCII local part {local_part!r} needs RFC 6532 output (utf8=True)"
        )
    if dot_atom.fullmatch(local_part) is not None:
        local = local_part
    elif _CONTROL.search(local_part) is None:
        local = _quote(local_part)
    else:
        raise InvalidAddressError(f"control character in local part {local_part!r}")
    if _DOMAIN_LITERAL.fullmatch(domain) is not None:
        pass
    elif not utf8 and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidAddressError(f"domain {domain!r} is not a valid IDN: {exc}") from None
        if _DOT_ATOM_ASCII.fullmatch(domain) is None:
            raise InvalidAddressError(f"invalid domain {domain!r}")
    elif dot_atom.fullmatch(domain) is None:
        raise InvalidAddressError(f"invalid domain {domain!r}")
    spec = f"{local}@{domain}"
    if len(spec) > _MAX_ADDR_SPEC:
        raise InvalidAddressError(f"address longer than {_MAX_ADDR_SPEC} characters")
    return spec


def _mailbox_tokens(item: Address, utf8: bool, max_line: int) -> list[Token]:
    spec = addr_spec_text(item.local_part, item.domain, utf8=utf8)
    if not item.display_name:
        return [Token(spec)]
    return [*phrase_tokens(item.display_name, utf8=utf8, max_line=max_line), Token(f"<{spec}>")]


def _glue(tokens: list[Token], suffix: str) -> None:
    last = tokens[-1]
    tokens[-1] = Token(last.text + suffix, last.space)


def address_tokens(
    items: Sequence[Address | Group], *, utf8: bool = False, max_line: int = 78
) -> list[Token]:
    """Tokens for an address list (``From``, ``To``, ``Cc``…), folding between words.

    Groups are written ``Name: a@b, c@d;`` (RFC 5322 §3.4).  Raises
    :class:`InvalidAddressError` for an invalid mailbox and
    :class:`HeaderInjectionError` for CR/LF/NUL anywhere.
    """
    from mailproto.imf.addresses import Group

    tokens: list[Token] = []
    for n, item in enumerate(items):
        if n:
            _glue(tokens, ",")
        if isinstance(item, Group):
            if not item.display_name:
                raise InvalidAddressError("a group needs a display name")
            tokens.extend(phrase_tokens(item.display_name, utf8=utf8, max_line=max_line))
            if tokens[-1].text.startswith("=?"):
                # RFC 2047 §5 (3): an encoded word in a phrase is separated
                # from a following special by whitespace.
                tokens.append(Token(":", " "))
            else:
                _glue(tokens, ":")
            for m, member in enumerate(item.members):
                if m:
                    _glue(tokens, ",")
                tokens.extend(_mailbox_tokens(member, utf8, max_line))
            _glue(tokens, ";")
        else:
            tokens.extend(_mailbox_tokens(item, utf8, max_line))
    if not tokens:
        raise InvalidAddressError("an empty address list")
    return tokens


def coerce_addresses(value: object) -> list[Address | Group]:
    """Turn a string, an :class:`Address`/:class:`Group` or an iterable of them into items.

    Strings are parsed with :func:`mailproto.imf.parse_address_list` and must
    parse without defects; every part of every address is checked for CR,
    LF and NUL.
    """
    from mailproto.imf.addresses import Address, Group, parse_address_list

    if isinstance(value, (str, Address, Group)):
        values: Iterable[object] = [value]
    elif isinstance(value, Iterable):
        values = value
    else:
        raise TypeError(f"expected an address, a string or an iterable, not {type(value)!r}")
    items: list[Address | Group] = []
    for v in values:
        if isinstance(v, str):
            check_text(v, "address")
            parsed = parse_address_list(v)
            # The obsolete syntax (e.g. "J. Smith <j@x>", a "." in a phrase,
            # RFC 5322 §4.1) is accepted: the address is re-written in the
            # current syntax.  Anything else the parser had to repair is refused.
            bad = [d for d in parsed.defects if d.kind != "obsolete-syntax"]
            if bad or not parsed.items:
                detail = bad[0].message if bad else "no address"
                raise InvalidAddressError(f"invalid address {v!r}: {detail}")
            items.extend(parsed.items)
        elif isinstance(v, Address):
            check_text(v.display_name, "display name")
            items.append(v)
        elif isinstance(v, Group):
            check_text(v.display_name, "group name")
            for member in v.members:
                check_text(member.display_name, "display name")
            items.append(v)
        else:
            raise TypeError(f"not an address: {v!r}")
    return items
