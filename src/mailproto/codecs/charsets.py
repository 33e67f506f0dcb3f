"""Charset labels as they appear in mail, mapped to Python codecs.

Mail declares character sets with IANA labels (``charset=`` parameters,
RFC 2047 encoded words).  Python's :mod:`codecs` registry knows most of them,
but real mail also uses labels Python does not know (``x-unknown``,
``iso-8859-8-i``, ``windows-874``, ``x-mac-roman``...) and labels whose
strict meaning is narrower than what senders actually put in the bytes
(``gb2312`` text is routinely GBK, ``ks_c_5601-1987`` is Windows code page 949,
``shift_jis`` from Windows is code page 932).  :func:`lookup` maps a label to
the Python codec that decodes what real senders meant, following the WHATWG
Encoding Standard's superset choices for those labels.

Only *text* encodings are ever returned: a label on the wire must never select
one of Python's bytes-to-bytes or special codecs (``base64``, ``zlib``,
``rot13``, ``unicode_escape``, ``idna``...), which would turn a hostile header
into an exception or a decompression bomb.

Decoding policy (:func:`decode_text`), documented because it differs in small
ways from :mod:`email`:

* a known charset is decoded strictly; if the bytes are not valid in it, a
  ``charset-decode-error`` defect is recorded and invalid bytes become
  U+FFFD (``errors="replace"``, as :mod:`email` does for text bodies);
* ``us-ascii`` (declared, or implied because no charset is given) whose bytes
  are in fact 8-bit is decoded as UTF-8 when that is valid UTF-8 — the usual
  cause is an unlabelled UTF-8 body — and with U+FFFD replacement otherwise
  (``email`` gives U+FFFD for every 8-bit byte of a body, and decodes headers
  the same way we do);
* an unknown charset records ``unknown-charset`` and decodes as UTF-8 with
  U+FFFD replacement (what ``email`` does for bodies); the ``unknown-8bit``
  family of labels (RFC 1428) means "8-bit of unknown charset" and is treated
  like us-ascii above without a defect.

We never return surrogate escapes: callers get a clean ``str``.  The
original bytes are always still available from the raw message.
"""

from __future__ import annotations

import codecs
import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailproto.imf.defects import Defect

__all__ = ["decode_text", "lookup"]

#: Labels whose Python codec is not what real mail means, or that Python does
#: not know at all.  Keys are normalised (lower case, ``_`` and spaces -> ``-``).
_ALIASES: dict[str, str] = {
    # WHATWG: GB2312 and GBK labels decode with the GB18030 decoder (a superset).
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    # WHATWG: every Korean label is Windows-949.
    "ks-c-5601-1987": "cp949",
    "ks-c-5601-1989": "cp949",
    "ks-c-5601": "cp949",
    "ksc5601": "cp949",
    "ksc-5601": "cp949",
    "euc-kr": "cp949",
    "x-euc-kr": "cp949",
    "korean": "cp949",
    "csksc56011987": "cp949",
    # Japanese: Windows senders label CP932 as Shift_JIS.
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "ms-kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "x-euc-jp": "euc_jp",
    # Big5: WHATWG decodes with Big5-HKSCS.
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    # Hebrew logical/visual ordering variants (RFC 1556) use the same bytes.
    "iso-8859-8-i": "iso8859_8",
    "iso-8859-8-e": "iso8859_8",
    "csiso88598i": "iso8859_8",
    "csiso88598e": "iso8859_8",
    "visual": "iso8859_8",
    "logical": "iso8859_8",
    "iso-8859-6-i": "iso8859_6",
    "iso-8859-6-e": "iso8859_6",
    # Thai.
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    # Mac and DOS spellings.
    "x-mac-roman": "mac_roman",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "x-mac-ce": "mac_latin2",
    "x-mac-centraleurroman": "mac_latin2",
    "x-user-defined": "latin_1",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "x-cp1253": "cp1253",
    "x-cp1254": "cp1254",
    "x-cp1255": "cp1255",
    "x-cp1256": "cp1256",
    "x-cp1257": "cp1257",
    "x-cp1258": "cp1258",
    "cp-850": "cp850",
    "cp-1252": "cp1252",
    "dos-862": "cp862",
    "dos-866": "cp866",
    "iso-10646-ucs-2": "utf_16_be",
    "ucs-2": "utf_16",
    "iso-10646": "utf_16",
    "utf8": "utf-8",
    "utf-8-sig": "utf_8_sig",
    "unicode-1-1-utf-7": "utf_7",
    "x-unicode20utf8": "utf-8",
    "_iso-2022-jp$esc": "iso2022_jp",
    "_iso-2022-jp$sio": "iso2022_jp",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
}

#: Labels meaning "8-bit text of unknown charset" (RFC 1428 ``unknown-8bit``
#: and the common spellings of the same idea).
UNKNOWN_8BIT_LABELS = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-unknown-8bit", "8bit"})

#: Python codecs that must never be selected by a label on the wire.
_FORBIDDEN = frozenset(
    {
        "unicode_escape",
        "raw_unicode_escape",
        "undefined",
        "idna",
        "punycode",
        "mbcs",
        "oem",
        "charmap",
        "palmos",
    }
)

_ASCII = "ascii"


def _normalise(name: str) -> str:
    return name.strip().strip("\"'").lower().replace("_", "-").replace(" ", "-")


@functools.lru_cache(maxsize=512)
def lookup(name: str) -> str | None:
    """Map a charset label from mail to a Python text codec name.

    Returns ``None`` when the label is unknown, names a non-text codec, or is
    one of the "unknown 8-bit" labels (:data:`UNKNOWN_8BIT_LABELS`), which
    name no charset at all.  Lookups are cached.

    >>> lookup("UTF8"), lookup("latin1"), lookup("ks_c_5601-1987")
    ('utf-8', 'iso8859-1', 'cp949')
    """
    key = _normalise(name)
    if not key or len(key) > 64 or key in UNKNOWN_8BIT_LABELS:
        return None
    alias = _ALIASES.get(key)
    try:
        info = codecs.lookup(alias or key)
    except (LookupError, ValueError):
        # Labels like "iso-8859-1-windows-3.1-latin-1" or "windows-1252 "
        # carry trailing junk; the leading part is usually right.
        return None
    # CodecInfo._is_text_encoding is False for bytes-to-bytes codecs.
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _FORBIDDEN:
        return None
    return info.name


def _add_defect(defects: list[Defect] | None, kind: str, message: str) -> None:
    if defects is not None:
        # Imported here: mailproto.imf imports the codecs, so the codecs must not
        # import mailproto.imf at module load time.
        from mailproto.imf.defects import Defect

        defects.append(Defect(kind=kind, message=message))


def decode_text(data: bytes, charset: str | None, defects: list[Defect] | None = None) -> str:
    """Decode *data* declared as *charset* (a label from the mail, or None).

    Never raises; see the module docstring for the fallback policy.  Defects
    recorded: ``unknown-charset``, ``charset-decode-error``.
    """
    if charset is None or _normalise(charset) in UNKNOWN_8BIT_LABELS:
        codec = _ASCII
    else:
        found = lookup(charset)
        if found is None:
            _add_defect(
                defects, "unknown-charset", f"unknown charset {charset!r}; decoded as UTF-8"
            )
            return data.decode("utf-8", "replace")
        codec = found
    if codec == _ASCII:
        if data.isascii():
            return data.decode(_ASCII)
        # 8-bit text labelled (or defaulted to) us-ascii: UTF-8 if it is valid.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            if charset is not None and _normalise(charset) in UNKNOWN_8BIT_LABELS:
                return data.decode("utf-8", "replace")
            _add_defect(
                defects,
                "charset-decode-error",
                "8-bit bytes in us-ascii text are not valid UTF-8; replaced with U+FFFD",
            )
            return data.decode("utf-8", "replace")
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        _add_defect(
            defects,
            "charset-decode-error",
            f"bytes not valid in charset {charset!r}; replaced with U+FFFD",
        )
        return data.decode(codec, "replace")
    except Exception:  # pragma: no cover - exotic codec failures (e.g. utf-7 state)
        _add_defect(defects, "charset-decode-error", f"codec {codec!r} failed")
        return data.decode("utf-8", "replace")
