"""Content-Type and Content-Disposition values (RFC 2045 §5.1, RFC 2183, RFC 2231).

Grammar (RFC 2045 §5.1, with RFC 2183 §2 for dispositions)::

    content   := "Content-Type" ":" type "/" subtype *(";" parameter)
    parameter := attribute "=" value
    value     := token / quoted-string
    disposition := "Content-Disposition" ":" disposition-type *(";" parameter)

Real mail adds comments, stray semicolons, unquoted values with spaces,
unterminated quoted strings, ``name="=?utf-8?...?="`` (RFC 2047 inside a
quoted string, which RFC 2047 §5 forbids and every mail client writes) and
RFC 2231 continuations (``filename*0*=utf-8''...``).  Parsing is therefore
tolerant: one compiled regex pulls ``attribute = value`` pairs out of the
value, and the RFC 2231 and RFC 2047 decoding of the pairs is left to
:func:`mailproto.codecs.rfc2231.collapse_params`.  An unparsable type is
reported as ``None`` with an ``invalid-content-type`` defect; the caller
falls back to ``text/plain`` as RFC 2045 §5.2 and CPython's ``email`` do.
"""

from __future__ import annotations

import re

from mailproto.imf.defects import Defect

__all__ = ["parse_disposition", "parse_media_type", "split_params", "strip_comments"]

# RFC 2045 §5.1 token: any US-ASCII char except SPACE, CTLs and tspecials.
_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_MEDIA_TYPE = re.compile(rf"\s*({_TOKEN})\s*/\s*({_TOKEN})\s*\Z")
_DISPOSITION = re.compile(rf"\s*({_TOKEN})\s*\Z")
# A comment (RFC 5322 §3.2.2), one level of nesting, outside quoted strings.
_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"?|\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)?')
# The parameter list is cut into ";"-separated segments, with quoted strings
# (possibly unterminated) kept whole.  The alternatives start with different
# characters, so the match never backtracks: linear in the value.
_SEGMENT = re.compile(r'(?:[^;"]|"(?:[^"\\]|\\.)*"?)+', re.DOTALL)
# Inside one segment: attribute, "=", then a quoted string or a bare value
# (tolerating spaces, which real mail puts in unquoted filenames).  Matched
# at the start of the segment only.
_PARAM = re.compile(r'\s*([^\s=;"]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"?|(.*))', re.DOTALL)
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def strip_comments(value: str) -> str:
    """Drop comments, keeping quoted strings (which may contain parentheses)."""
    if "(" not in value:
        return value
    return _COMMENT.sub(lambda m: m.group() if m.group().startswith('"') else " ", value)


def split_params(value: str) -> tuple[str, list[tuple[str, str]]]:
    """Split ``value`` into its leading word and raw ``(lower-case name, value)`` pairs.

    Values are unquoted (quoted pairs resolved) but otherwise undecoded.
    """
    semi = value.find(";")
    head = value if semi < 0 else value[:semi]
    pairs: list[tuple[str, str]] = []
    if semi >= 0:
        rest = strip_comments(value[semi + 1 :])
        for segment in _SEGMENT.finditer(rest):
            m = _PARAM.match(segment.group())
            if m is None:
                continue  # a stray word or an empty segment: ignored
            quoted = m.group(2)
            if quoted is not None:
                val = _QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted
            else:
                val = m.group(3).strip()
            pairs.append((m.group(1).lower(), val))
    return head, pairs


def _collapse(pairs: list[tuple[str, str]], defects: list[Defect] | None) -> dict[str, str]:
    from mailproto.codecs.rfc2231 import collapse_params

    return collapse_params(pairs, defects)


def parse_media_type(
    value: str, defects: list[Defect] | None = None
) -> tuple[str | None, dict[str, str]]:
    """Parse a Content-Type value into ``("type/subtype", params)``.

    The media type is lower-cased; it is ``None`` (with an
    ``invalid-content-type`` defect) when it is not ``token/token``.
    Parameters are RFC 2231 decoded, names lower-cased.
    """
    head, pairs = split_params(value)
    m = _MEDIA_TYPE.match(strip_comments(head))
    media: str | None
    if m is None:
        media = None
        if defects is not None:
            defects.append(
                Defect(
                    kind="invalid-content-type",
                    message=f"invalid Content-Type {head.strip()[:80]!r}; using text/plain",
                )
            )
    else:
        media = f"{m.group(1)}/{m.group(2)}".lower()
    return media, (_collapse(pairs, defects) if pairs else {})


def parse_disposition(
    value: str, defects: list[Defect] | None = None
) -> tuple[str | None, dict[str, str]]:
    """Parse a Content-Disposition value into ``(type, params)`` (RFC 2183 §2)."""
    head, pairs = split_params(value)
    m = _DISPOSITION.match(strip_comments(head))
    return (
        m.group(1).lower() if m is not None else None,
        _collapse(pairs, defects) if pairs else {},
    )
