"""The RFC 5322 lexical layer (§3.2): CFWS, quoted strings, atoms, domain literals.

Structured header values (addresses, message IDs, trace fields) are made of
a handful of lexical tokens::

    atext          = ALPHA / DIGIT / "!" / "#" / ... / "~"   ; §3.2.3, plus UTF-8 (RFC 6532 §3.2)
    atom           = [CFWS] 1*atext [CFWS]
    dot-atom       = [CFWS] dot-atom-text [CFWS]
    quoted-string  = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]   ; §3.2.4
    comment        = "(" *([FWS] ccontent) [FWS] ")"          ; §3.2.2, nests
    domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS]  ; §3.4.1
    specials       = "(" / ")" / "<" / ">" / "[" / "]" / ":" / ";" / "@" / "\\" / "," / "." / DQUOTE

:func:`tokenize` turns a value into a flat list of :class:`Token` in one
left-to-right pass driven by a compiled regex: one Python iteration per
*token*, never per character.  Comments nest, so they are scanned with a
regex that jumps from one parenthesis or backslash to the next, keeping a
depth counter: still linear, however deep the nesting (1 MB of ``(`` is one
unterminated comment, found in one pass).

Tokenizing never fails.  What is wrong is recorded and repaired:

``unterminated-quoted-string``, ``unterminated-comment``,
``unterminated-domain-literal``
    The construct runs to the end of the value.
``unexpected-character``
    A character that cannot start any token (a stray ``\\``, ``)`` or ``]``)
    becomes a one-character ``"other"`` token for the grammar layer to judge.

Obsolete syntax (§4.1, §4.4) — CFWS between the dots of a dot-atom, quoted
pairs anywhere, control characters — is left for the grammar layer: the
tokens carry enough to accept it.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mailproto.imf.defects import Defect

__all__ = ["ATEXT", "Token", "quote_string", "tokenize"]

#: One ``atext`` character, extended to any non-ASCII character (RFC 6532 §3.2)
#: and to control characters, which obsolete syntax allows in atoms' places.
ATEXT = r"[^\s()<>\[\]:;@\\,.\"]"

# Kinds: "ws", "atom", "qs", "dl", "comment", "special", "other".
_MASTER = re.compile(
    r"""
     (?P<ws>[ \t\r\n]+)
    |(?P<ew>=\?[^?\s()<>@,;:"\\\[\]]+\?[bBqQ]\?[^?\s]*\?=)
    |(?P<atom>[^\s()<>\[\]:;@\\,."]+)
    |(?P<qs>"[^"\\]*(?:\\.[^"\\]*)*(?:"|(?P<qs_open>\\?\Z)))
    |(?P<dl>\[[^\[\]\\]*(?:\\.[^\[\]\\]*)*(?:\]|(?P<dl_open>[\\\[]?)))
    |(?P<comment>\()
    |(?P<special>[<>@,:;.])
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# A hostile value can hold 100 000 stray characters; one defect per
# character would be noise (and memory).  Beyond this many, they are counted
# only.
_MAX_REPEATED_DEFECTS = 20
_COMMENT_STOP = re.compile(r"[()\\]")
_UNQUOTE = re.compile(r"\\(.)", re.DOTALL)


class Token(NamedTuple):
    """One lexical token of a structured header value.

    A named tuple rather than an attrs class: tokens are private, short-lived
    and created once per token of every structured header, so construction
    cost matters (hostile headers have hundreds of thousands of them).
    """

    #: ``"atom"``, ``"qs"`` (quoted string), ``"dl"`` (domain literal),
    #: ``"comment"``, ``"special"`` (one of ``<>@,:;.``) or ``"other"``.
    kind: str
    #: The meaning: an atom's text; a quoted string's or comment's content
    #: with quoted pairs resolved; a domain literal as written, brackets
    #: included; the character for ``special``/``other``.
    value: str
    #: Offset of the token's first character in the value.
    start: int
    #: True when whitespace or a comment came between this token and the
    #: previous one (phrases keep one space there; addr-specs ignore it).
    spaced: bool


def _unquote(text: str) -> str:
    return _UNQUOTE.sub(r"\1", text) if "\\" in text else text


def quote_string(value: str) -> str:
    """Quote *value* as an RFC 5322 quoted-string (backslash before ``\\`` and ``"``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tokenize(value: str, defects: list[Defect], *, keep_comments: bool = False) -> list[Token]:
    """Split *value* into tokens; whitespace is folded into the ``spaced`` flags.

    Comments are dropped (they only mark spacing) unless *keep_comments* is
    true.  Never raises; problems are appended to *defects*.
    """
    tokens: list[Token] = []
    append = tokens.append
    pos = 0
    n = len(value)
    spaced = False
    unexpected = 0
    match = _MASTER.match
    while pos < n:
        m = match(value, pos)
        assert m is not None  # "other" matches any character
        kind = m.lastgroup
        end = m.end()
        if kind == "ws":
            spaced = True
        elif kind in {"atom", "ew"}:
            # An RFC 2047 encoded word is one atom even when its encoded text
            # holds specials (":" or "." in Q text, as real encoders leave
            # them); the phrase layer decodes it.  email does the same.
            append(Token("atom", m.group(), pos, spaced))
            spaced = False
        elif kind in {"qs", "qs_open"}:
            text = m.group("qs")
            if m.group("qs_open") is not None:
                defects.append(
                    Defect(
                        kind="unterminated-quoted-string",
                        message="quoted string runs to the end of the value",
                        offset=pos,
                    )
                )
                inner = text[1:]
                if inner.endswith("\\"):
                    inner = inner[:-1]
            else:
                inner = text[1:-1]
            append(Token("qs", _unquote(inner), pos, spaced))
            spaced = False
        elif kind in {"dl", "dl_open"}:
            text = m.group("dl")
            if m.group("dl_open") is not None:
                # Unterminated, or a nested "[": close it here.
                unexpected += 1
                if unexpected <= _MAX_REPEATED_DEFECTS:
                    defects.append(
                        Defect(
                            kind="unterminated-domain-literal",
                            message="domain literal is not closed",
                            offset=pos,
                        )
                    )
                text = text.rstrip("[\\") + "]"
                end = m.end()
            append(Token("dl", text, pos, spaced))
            spaced = False
        elif kind == "comment":
            end, content = _scan_comment(value, pos, defects)
            if keep_comments:
                append(Token("comment", content, pos, spaced))
                spaced = False
            else:
                spaced = True
        elif kind == "special":
            append(Token("special", m.group(), pos, spaced))
            spaced = False
        else:
            ch = m.group()
            unexpected += 1
            if unexpected <= _MAX_REPEATED_DEFECTS:
                defects.append(
                    Defect(
                        kind="unexpected-character",
                        message=f"unexpected {ch!r} in structured header",
                        offset=pos,
                    )
                )
            if ch == "\\" and pos + 1 < n:
                # An obsolete quoted-pair outside quotes: keep the char as an atom.
                append(Token("atom", value[pos + 1], pos, spaced))
                end = pos + 2
            else:
                append(Token("other", ch, pos, spaced))
            spaced = False
        pos = end
    return tokens


def _scan_comment(value: str, pos: int, defects: list[Defect]) -> tuple[int, str]:
    """Scan the comment starting at ``value[pos] == "("``; return (end, content)."""
    depth = 0
    search = _COMMENT_STOP.search
    i = pos
    while True:
        m = search(value, i)
        if m is None:
            defects.append(
                Defect(
                    kind="unterminated-comment",
                    message="comment runs to the end of the value",
                    offset=pos,
                )
            )
            return len(value), _unquote(value[pos + 1 :])
        ch = m.group()
        i = m.end()
        if ch == "\\":
            i += 1  # quoted-pair: skip the escaped character
        elif ch == "(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return i, _unquote(value[pos + 1 : i - 1])


_PAREN_OR_ESCAPE = re.compile(r"[()\\]")


def mask_comments(text: str) -> str:
    """Replace every comment (nested ones included) by spaces of the same length.

    Offsets into the result are offsets into *text*, so callers can find
    structure in the masked text and slice the original.  An unterminated
    comment is masked to the end; a stray ``)`` is left alone.  A backslash
    escapes the next character (a quoted-pair).  One pass over the
    parentheses and backslashes only (linear, also for ``(\\(\\(\\(...``,
    which makes a regex-based comment remover quadratic).
    """
    if "(" not in text:
        return text
    out: list[str] = []
    depth = 0
    last = 0  # end of the text copied so far
    start = 0  # where the current outermost comment began
    skip_until = -1
    for m in _PAREN_OR_ESCAPE.finditer(text):
        i = m.start()
        if i < skip_until:
            continue  # the character after a backslash
        ch = m.group()
        if ch == "\\":
            skip_until = i + 2
        elif ch == "(":
            if depth == 0:
                out.append(text[last:i])
                start = i
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append(" " * (i + 1 - start))
                last = i + 1
    if depth:
        out.append(" " * (len(text) - start))
        last = len(text)
    out.append(text[last:])
    return "".join(out)
