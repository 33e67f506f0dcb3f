"""Message identifiers (RFC 5322 §3.6.4) and the ``References``/``In-Reply-To`` lists.

::

    msg-id      = [CFWS] "<" id-left "@" id-right ">" [CFWS]
    id-left     = dot-atom-text / obs-id-left        ; obs: local-part
    id-right    = dot-atom-text / no-fold-literal / obs-id-right   ; obs: domain
    in-reply-to = 1*msg-id       ; obs-in-reply-to = *(phrase / msg-id)
    references  = 1*msg-id       ; obs-references  = *(phrase / msg-id)

Identifiers are returned *with* their angle brackets and without CFWS
(``"<1234@local.machine.example>"``): that is the form threading code
compares and the form ``In-Reply-To`` repeats.  Parsing is tolerant, as
real mail needs:

* the obsolete phrases of §4.5.4 (``In-Reply-To: <a@b> (Joe's message of
  ...)``, ``"Joe" <a@b>``) are skipped, and comments are removed;
* ids without an ``@`` (``<12345>``) are kept — :mod:`email` keeps them too —
  as are quoted local parts and domain literals;
* a value with no ``<...>`` at all that looks like a bare ``left@right`` id
  (some mailers drop the brackets) gives that id, wrapped in brackets;
* ids are separated by whitespace, commas (common) or nothing.

One regex ``findall`` does the work: linear, no per-character loop.
"""

from __future__ import annotations

import re

from mailproto.imf._tokens import mask_comments

__all__ = ["parse_message_id", "parse_message_id_list"]

# "<" ... ">" with no nested angle brackets; CFWS inside (obsolete) is removed
# afterwards.
_BRACKETED = re.compile(r"<([^<>]*)>")
# Bare ids are found by splitting (linear); a regex "x+@x+" searched over a
# long run without "@" would be quadratic.
_SEPARATORS = re.compile(r"[\s<>()\",;]+")
_WS = re.compile(r"\s+")


def _clean(inner: str) -> str | None:
    if "(" in inner:
        inner = mask_comments(inner)
    if " " in inner or "\t" in inner or "\n" in inner or "\r" in inner:
        # Obsolete syntax allows CFWS around the dots and the "@" (§4.5.4).
        if '"' not in inner:
            inner = _WS.sub("", inner)
        else:
            inner = inner.strip()
    if not inner:
        return None
    return "<" + inner + ">"


def parse_message_id(value: str) -> str | None:
    """The first message id in *value* (``Message-ID``, ``Content-ID``), or None."""
    m = _BRACKETED.search(value)
    if m is not None:
        cleaned = _clean(m.group(1))
        if cleaned is not None:
            return cleaned
        # "<>" then perhaps a real one after it.
        rest = parse_message_id_list(value[m.end() :])
        return rest[0] if rest else None
    bare = _bare_ids(value)
    return bare[0] if bare else None


def parse_message_id_list(value: str) -> list[str]:
    """All message ids in a ``References`` or ``In-Reply-To`` value, in order.

    Duplicates are kept (the caller decides; :mod:`email` keeps them too).
    """
    if "<" in value:
        out: list[str] = []
        for inner in _BRACKETED.findall(value):
            cleaned = _clean(inner)
            if cleaned is not None:
                out.append(cleaned)
        return out
    return _bare_ids(value)


def _bare_ids(value: str) -> list[str]:
    """``left@right`` words of a value without angle brackets, bracketed."""
    out = []
    for word in _SEPARATORS.split(mask_comments(value)):
        at = word.find("@")
        if 0 < at < len(word) - 1:
            out.append("<" + word + ">")
    return out
