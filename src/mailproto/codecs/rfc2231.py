"""RFC 2231 parameter value continuations, charsets and languages.

RFC 2231 extends MIME parameters (``Content-Type``, ``Content-Disposition``)::

    filename*=utf-8'en'%E2%82%AC%20rates.txt          ; §4: charset'lang'pct-encoded
    filename*0*=utf-8''%E2%82%AC;  filename*1=" rates.txt"   ; §3 + §4.1: sections

:func:`collapse_params` joins the sections of each parameter and decodes the
extended ones; :func:`encode_param` produces them for builders.

Error recovery (defect kinds), following :mod:`email` where it has a rule:

``rfc2231-missing-section``
    Section numbers have gaps (``*0``, ``*2``): the sections present are
    joined in order.
``rfc2231-duplicate-section``
    The same section number twice: the first is kept.
``duplicate-parameter``
    The same parameter name twice (without sections): the first is kept, as
    :mod:`email` does — except that an RFC 2231 extended value (``name*`` or
    ``name*0*``) wins over a plain ``name`` given alongside it as a fallback
    for old readers.  :mod:`email` keeps whichever came first; RFC 2231 §4
    intends the extended value for readers that understand it, so we follow
    the RFC.
``unknown-charset``, ``charset-decode-error``
    From :func:`mailproto.codecs.charsets.decode_text`: unknown charsets decode
    as UTF-8 with U+FFFD.
``rfc2231-missing-charset``
    An extended first section without the ``charset'lang'`` prefix: the
    percent-decoded bytes are decoded as UTF-8 if valid.

RFC 2047 encoded words inside *plain* parameter values are forbidden by RFC
2047 §5, and sent by many real mailers (``filename="=?utf-8?B?...?="``); like
:mod:`email` and every mail client, we decode them — after joining sections,
since some mailers split one encoded word across ``name*0``/``name*1``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mailproto.codecs import charsets, encoded_words

if TYPE_CHECKING:
    from mailproto.imf.defects import Defect

__all__ = ["collapse_params", "encode_param"]

# "name*3*" -> base "name", section 3, extended.  "name*" -> extended, no section.
_SECTION = re.compile(r"^(.*?)\*(?:(\d{1,4})(\*)?)?$")
# RFC 2045 token characters (attribute-char of RFC 2231 is the same minus "*'%").
_TOKEN = re.compile(r"[!#$&+\-.^_`|~0-9A-Za-z]+")
_ATTR_SAFE = frozenset(
    b"!#$&+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)


def _add_defect(defects: list[Defect] | None, kind: str, message: str) -> None:
    if defects is not None:
        from mailproto.imf.defects import Defect

        defects.append(Defect(kind=kind, message=message))


def collapse_params(
    params: Sequence[tuple[str, str]], defects: list[Defect] | None = None
) -> dict[str, str]:
    """Join and decode raw ``(name, value)`` parameter pairs.

    *params* are as they appear in the header: names lower-cased, values
    already unquoted.  The result maps each base name to its decoded value,
    in order of first appearance.  Never raises.
    """
    # name -> value for plain parameters; name -> {section: (extended, value)}
    plain: dict[str, str] = {}
    sectioned: dict[str, dict[int, tuple[bool, str]]] = {}
    order: dict[str, None] = {}
    for raw_name, value in params:
        name = raw_name.strip().lower()
        if "*" not in name:
            order.setdefault(name, None)
            if name in plain:
                _add_defect(defects, "duplicate-parameter", f"duplicate parameter {name!r}")
                continue
            plain[name] = value
            continue
        m = _SECTION.match(name)
        if m is None:  # pragma: no cover - the regex matches anything containing "*"
            continue
        base = m.group(1)
        order.setdefault(base, None)
        if m.group(2) is None:
            # "name*": one extended section (§4).
            section, extended = 0, True
        else:
            section, extended = int(m.group(2)), m.group(3) is not None
        sections = sectioned.setdefault(base, {})
        if section in sections:
            _add_defect(
                defects,
                "rfc2231-duplicate-section",
                f"parameter {base!r} section {section} given twice; first kept",
            )
            continue
        sections[section] = (extended, value)
    result: dict[str, str] = {}
    for name in order:
        if name in sectioned:
            if name in plain and plain[name] != "":
                # A plain fallback beside the RFC 2231 value: normal, not a defect.
                pass
            result[name] = _join_sections(name, sectioned[name], defects)
        else:
            value = plain[name]
            if "=?" in value:
                value = encoded_words.decode_header_text(value, defects)
            result[name] = value
    return result


def _join_sections(
    name: str, sections: dict[int, tuple[bool, str]], defects: list[Defect] | None
) -> str:
    numbers = sorted(sections)
    if numbers != list(range(len(numbers))):
        _add_defect(
            defects,
            "rfc2231-missing-section",
            f"parameter {name!r} has sections {numbers}; joined what is there",
        )
    charset: str | None = None
    pieces: list[bytes | str] = []
    any_extended = False
    for i, number in enumerate(numbers):
        extended, value = sections[number]
        if extended:
            any_extended = True
            if i == 0:
                # §4: the first extended section starts charset'language'.
                parts = value.split("'", 2)
                if len(parts) == 3:
                    charset = parts[0] or None
                    value = parts[2]
                else:
                    _add_defect(
                        defects,
                        "rfc2231-missing-charset",
                        f"parameter {name!r}: no charset'language' prefix",
                    )
            pieces.append(urllib.parse.unquote_to_bytes(value))
        else:
            pieces.append(value)
    if not any_extended:
        joined = "".join(p for p in pieces if isinstance(p, str))
        if "=?" in joined:
            joined = encoded_words.decode_header_text(joined, defects)
        return joined
    # Mixed sections: plain ones are ASCII text in the same charset (§4.1).
    data = b"".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in pieces)
    if charset is None:
        return charsets.decode_text(data, "us-ascii", defects)
    return charsets.decode_text(data, charset, defects)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_param(name: str, value: str, *, max_line: int = 78) -> list[str]:
    """Encode one parameter for a builder: a list of ``name=value`` pieces.

    ASCII values give one piece: ``name=value`` (a token) or ``name="..."``
    (quoted, backslash-escaped).  Values with non-ASCII characters or
    control characters (CR/LF can never appear raw) use RFC 2231
    ``name*=utf-8''%XX...``, split into ``name*0*=``, ``name*1*=``... sections
    when one piece would be longer than ``max_line - 2`` (leaving room for the
    leading space and the ``;`` separator).  The builder joins the pieces
    with ``;`` and folding whitespace.
    """
    room = max(max_line - 2, 24)
    # "=?" in a plain value would be read back as an RFC 2047 encoded word by
    # lenient readers (ours included), so such values use the extended form.
    if value.isascii() and value.isprintable() and "=?" not in value:
        piece = f"{name}={value}" if _TOKEN.fullmatch(value) else f"{name}={_quote(value)}"
        if len(piece) <= room:
            return [piece]
        return _sections_plain(name, value, room)
    data = value.encode("utf-8")
    single = f"{name}*=utf-8''{_pct(data)}"
    if len(single) <= room:
        return [single]
    pieces: list[str] = []
    start = 0
    n = 0
    while start < len(data):
        head = f"{name}*{n}*=" + ("utf-8''" if n == 0 else "")
        budget = room - len(head)
        end = start
        used = 0
        while end < len(data):
            cost = 1 if data[end] in _ATTR_SAFE else 3
            if used + cost > budget:
                break
            used += cost
            end += 1
        # Cut between characters, not inside a UTF-8 sequence: RFC 2231 allows
        # either, but readers that decode each section alone do better.
        cut = end
        while start < cut < len(data) and 0x80 <= data[cut] <= 0xBF:
            cut -= 1
        end = cut if cut > start else max(end, start + 1)
        pieces.append(head + _pct(data[start:end]))
        start = end
        n += 1
    return pieces


def _sections_plain(name: str, value: str, room: int) -> list[str]:
    pieces: list[str] = []
    start = 0
    n = 0
    while start < len(value):
        head = f"{name}*{n}="
        budget = max(room - len(head) - 2, 8)
        chunk = value[start : start + budget]
        # Escapes lengthen the piece; shrink until it fits.
        while len(_quote(chunk)) + len(head) > room and len(chunk) > 1:
            chunk = chunk[:-1]
        pieces.append(head + _quote(chunk))
        start += len(chunk)
        n += 1
    return pieces


def _pct(data: bytes) -> str:
    return "".join([chr(b) if b in _ATTR_SAFE else f"%{b:02X}" for b in data])
