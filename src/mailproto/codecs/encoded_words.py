"""RFC 2047 encoded words ("MIME Part Three: Message Header Extensions").

An encoded word carries non-ASCII text in a header::

    encoded-word = "=?" charset "?" encoding "?" encoded-text "?="   ; RFC 2047 §2
    charset      = token [ "*" language ]                              ; RFC 2231 §5

with encoding ``B`` (base64) or ``Q`` (quoted-printable with ``_`` for space).
This module decodes them in *unstructured* text (``Subject``, ``Comments``,
and the phrases and comments of structured headers once the structured
parser has found them) and encodes text into words for builders.

Decoding rules, with the RFC where we follow it and :mod:`email` (``policy.
default``) where real mail needs it:

* Linear whitespace between two adjacent encoded words is dropped (§6.2);
  whitespace between an encoded word and ordinary text is kept.
* Adjacent encoded words in the same charset are concatenated as *bytes*
  before charset decoding, so a multi-byte character split across two words
  (which §5 forbids, and many encoders do anyway) decodes correctly.
  :mod:`email` decodes each word on its own and yields U+FFFD there.
* An encoded word not separated from surrounding text by whitespace (§5
  requires it) is still decoded, as :mod:`email` does, with an
  ``encoded-word-not-delimited`` defect.  Whitespace inside an encoded word
  (forbidden by §2) is tolerated too (``whitespace-in-encoded-word``).
* RFC 2231 §5 language suffixes (``=?utf-8*en?Q?...?=``) are accepted and the
  language dropped.
* An unknown charset keeps the encoded word as-is in the output and records
  ``unknown-charset`` (:mod:`email` instead decodes the bytes as ASCII with
  surrogates, which it later shows as U+FFFD) — unless the decoded bytes are
  plain ASCII, which any charset would read the same way: then the word is
  decoded (still with the defect), as :mod:`email` does.  The
  RFC 1428 ``unknown-8bit`` label decodes as UTF-8 (with U+FFFD for invalid
  bytes) without a defect, as in :mod:`email`.
* Bytes invalid in the declared charset become U+FFFD with a
  ``charset-decode-error`` defect; 8-bit bytes in a ``us-ascii`` word are
  decoded as UTF-8 when valid (see :mod:`mailproto.codecs.charsets`).

The fast path — no ``=?`` in the text — returns the text unchanged after one
substring search; otherwise a single compiled regex finds the words (no
per-character Python loop).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mailproto.codecs import b64, charsets
from mailproto.codecs import quoted_printable as qp

if TYPE_CHECKING:
    from mailproto.imf.defects import Defect

__all__ = ["ENCODED_WORD_RE", "decode_header_text", "decode_word", "encode_header_text"]

#: One encoded word.  The charset may not contain "?" or whitespace; the
#: encoded text may not contain "?" (§2) but may contain whitespace, which
#: real encoders sometimes leave in Q words.
ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")

_WSP = " \t\r\n"
# Characters after which an encoded word counts as delimited (§5: whitespace,
# or the "(" opening a comment).
_WSP_OPEN = _WSP + "("


def _add_defect(defects: list[Defect] | None, kind: str, message: str, offset: int | None) -> None:
    if defects is not None:
        from mailproto.imf.defects import Defect

        defects.append(Defect(kind=kind, message=message, offset=offset))


def _payload(encoding: str, encoded: str, defects: list[Defect] | None) -> bytes:
    """CTE-decode the encoded text of one word."""
    # Encoded text is ASCII by definition; a raw 8-bit byte that slipped in
    # (RFC 6532 headers decoded from UTF-8) is carried through as UTF-8.
    raw = encoded.encode("utf-8", "surrogateescape")
    if encoding in "bB":
        return b64.decode(raw, defects)
    return qp.decode(raw, defects, header=True)


def decode_word(word: str, defects: list[Defect] | None = None) -> str | None:
    """Decode one complete encoded word; None if it is not one or its charset is unknown."""
    m = ENCODED_WORD_RE.fullmatch(word)
    if m is None:
        return None
    label = m.group(1).partition("*")[0]
    if charsets.lookup(label) is None and label.lower() not in charsets.UNKNOWN_8BIT_LABELS:
        _add_defect(defects, "unknown-charset", f"unknown charset {label!r} in encoded word", 0)
        return None
    return charsets.decode_text(_payload(m.group(2), m.group(3), defects), label, defects)


def decode_header_text(
    text: str, defects: list[Defect] | None = None, *, max_words: int = 10_000
) -> str:
    """Decode the RFC 2047 encoded words in an unstructured header value.

    *text* is the unfolded value.  Never raises; problems are appended to
    *defects* when a list is given.  At most *max_words* encoded words are
    decoded (the default is :attr:`mailproto.limits.MessageLimits.encoded_words`);
    the rest of the text is kept as it is, with an ``too-many-encoded-words``
    defect.
    """
    if "=?" not in text:
        return text
    if text.startswith("=?") and max_words >= 1:
        # The commonest case, a value (or display name) that is exactly one
        # encoded word in a known charset: what the loop below computes for
        # it (nothing before or after the word, one run of one word), without
        # its bookkeeping.  Words with whitespace inside take the loop, which
        # records the defect.
        m = ENCODED_WORD_RE.fullmatch(text)
        if m is not None:
            label = m.group(1).partition("*")[0]
            encoded = m.group(3)
            if charsets.lookup(label) is not None and " " not in encoded and "\t" not in encoded:
                return charsets.decode_text(_payload(m.group(2), encoded, defects), label, defects)
    out: list[str] = []
    pos = 0
    # The current run of adjacent words in one charset: its label, its codec,
    # and the CTE-decoded bytes gathered so far.
    run_label = ""
    run_codec: str | None = None
    run_bytes: list[bytes] = []
    # True while the previous token was a (decodable) encoded word.
    after_word = False
    count = 0
    for m in ENCODED_WORD_RE.finditer(text):
        start = m.start()
        count += 1
        if count > max_words:
            _add_defect(
                defects,
                "too-many-encoded-words",
                f"more than {max_words} encoded words; the rest is not decoded",
                start,
            )
            break
        between = text[pos:start]
        label = m.group(1).partition("*")[0]  # RFC 2231 §5: drop "*lang"
        codec = charsets.lookup(label)
        payload: bytes | None = None
        if codec is None and label.lower() not in charsets.UNKNOWN_8BIT_LABELS:
            _add_defect(
                defects, "unknown-charset", f"unknown charset {label!r} in encoded word", start
            )
            # Unknown charset: keep the whole word literally -- unless its
            # bytes are plain ASCII, which every charset used in mail agrees
            # on (real mail has "=?NONE?B?VEVTVA==?=").
            payload = _payload(m.group(2), m.group(3), defects)
            if payload.isascii():
                label, codec = "us-ascii", "ascii"
        if codec is None and label.lower() not in charsets.UNKNOWN_8BIT_LABELS:
            if run_bytes:
                out.append(charsets.decode_text(b"".join(run_bytes), run_label, defects))
                run_bytes = []
            out.append(between)
            out.append(m.group(0))
            pos = m.end()
            after_word = False
            continue
        encoded = m.group(3)
        if " " in encoded or "\t" in encoded:
            _add_defect(
                defects, "whitespace-in-encoded-word", "whitespace inside encoded word", start
            )
        if payload is None:
            payload = _payload(m.group(2), encoded, defects)
        adjacent = after_word and between.strip(_WSP) == ""
        if not adjacent:
            if between and between[-1] not in _WSP_OPEN:
                _add_defect(
                    defects,
                    "encoded-word-not-delimited",
                    "encoded word not preceded by whitespace",
                    start,
                )
            if run_bytes:
                out.append(charsets.decode_text(b"".join(run_bytes), run_label, defects))
                run_bytes = []
            out.append(between)
        elif run_bytes and codec != run_codec:
            out.append(charsets.decode_text(b"".join(run_bytes), run_label, defects))
            run_bytes = []
        if not run_bytes:
            run_label, run_codec = label, codec
        run_bytes.append(payload)
        pos = m.end()
        after_word = True
    if run_bytes:
        out.append(charsets.decode_text(b"".join(run_bytes), run_label, defects))
    out.append(text[pos:])
    return "".join(out)


def encode_header_text(
    text: str, *, charset: str = "utf-8", max_line: int = 76, first_line_used: int = 0
) -> list[str]:
    """Encode *text* as a list of RFC 2047 encoded words, for a builder to fold.

    Every word is at most 75 characters (§2) and holds whole characters only
    (§5).  The first word also fits in ``max_line - first_line_used``
    characters when that leaves room for at least one character; later words
    fit in ``max_line - 1`` (they follow a folding space).  The builder
    separates the words with folding whitespace, which decoders drop (§6.2),
    so ``decode_header_text(" ".join(words)) == text``.

    The shorter of Q and B is chosen for the whole text.  Q words only leave
    letters, digits and ``!*+-/`` literal, so they are valid in any header
    context (§5 (3): phrases; also comments and unstructured text).  If
    *charset* is unknown or cannot represent *text*, UTF-8 is used.
    """
    if not text:
        return []
    codec = charsets.lookup(charset)
    try:
        if codec is None:
            raise LookupError(charset)
        data = text.encode(codec)
    except (LookupError, UnicodeEncodeError):
        charset, codec = "utf-8", "utf-8"
        data = text.encode("utf-8", "surrogatepass")
    q_len = qp.header_length(data)
    b_len = (len(data) + 2) // 3 * 4
    encoding = "Q" if q_len <= b_len else "B"
    prefix = f"=?{charset}?{encoding}?"
    overhead = len(prefix) + 2
    first_room = min(75, max_line - first_line_used) - overhead
    later_room = min(75, max_line - 1) - overhead
    later_room = max(later_room, 8)  # a silly max_line still makes progress
    if first_room < 4:
        first_room = later_room

    if codec == "utf-8":
        return _split_utf8(data, prefix, encoding, first_room, later_room)

    def enc(chunk: str) -> str:
        raw = chunk.encode(codec, "surrogatepass")
        if encoding == "Q":
            return qp.encode(raw, header=True).decode("ascii")
        return b64.encode(raw, line_length=0).decode("ascii")

    stateless = codec.replace("-", "_") not in _STATEFUL
    words: list[str] = []
    room = first_room
    start = 0
    n = len(text)
    while start < n:
        # Grow the chunk greedily using per-character costs, then verify.
        size = 0
        end = start
        while end < n:
            c = text[end]
            nbytes = len(c.encode(codec, "surrogatepass")) if stateless else 4
            if encoding == "Q":
                cost = qp.header_length(c.encode(codec, "surrogatepass")) if stateless else 12
                if size + cost > room:
                    break
                size += cost
            else:
                if (size + nbytes + 2) // 3 * 4 > room:
                    break
                size += nbytes
            end += 1
        end = max(end, start + 1)
        body = enc(text[start:end])
        while len(body) > room and end > start + 1:
            end -= 1
            body = enc(text[start:end])
        if not stateless:
            # Stateful codecs: also try to grow, since the estimate was pessimistic.
            while end < n:
                nxt = enc(text[start : end + 1])
                if len(nxt) > room:
                    break
                end += 1
                body = nxt
        words.append(prefix + body + "?=")
        start = end
        room = later_room
    return words


def _is_continuation_escape(enc: str, i: int) -> bool:
    """True when the Q unit at *i* is ``=8X``..``=BX``: a UTF-8 continuation byte."""
    return enc.startswith("=", i) and enc[i + 1 : i + 2] in ("8", "9", "A", "B")


def _split_utf8(
    data: bytes, prefix: str, encoding: str, first_room: int, later_room: int
) -> list[str]:
    """Cut UTF-8 *data* into encoded words without a loop per character.

    The whole text is encoded once (C); cuts are then placed by arithmetic
    and moved back at most a few units so that no escape and no multi-byte
    character is split (§5).  B words hold ``room // 4 * 3`` bytes; a cut
    never lands before a continuation byte (``0x80``-``0xBF``).
    """
    words: list[str] = []
    room = first_room
    n = len(data)
    if encoding == "B":
        pos = 0
        while pos < n:
            end = min(pos + max(room // 4 * 3, 3), n)
            while pos < end < n and 0x80 <= data[end] <= 0xBF:
                end -= 1
            if end == pos:  # room for less than one character: take one anyway
                end = pos + 1
                while end < n and 0x80 <= data[end] <= 0xBF:
                    end += 1
            words.append(prefix + b64.encode(data[pos:end], line_length=0).decode("ascii") + "?=")
            pos = end
            room = later_room
        return words
    enc = qp.encode(data, header=True).decode("ascii")
    total = len(enc)
    pos = 0
    while pos < total:
        end = pos + room
        if end >= total:
            end = total
        else:
            # Never cut inside "=XX" ("=" only ever starts an escape in Q).
            if enc[end - 1] == "=":
                end -= 1
            elif enc[end - 2] == "=":
                end -= 2
            # Never cut before a continuation byte; each step back is one
            # escape, since every byte of a multi-byte character is escaped.
            while end > pos and _is_continuation_escape(enc, end):
                end -= 3
            if end <= pos:  # room for less than one character: take one anyway
                end = pos + (3 if enc[pos] == "=" else 1)
                while end < total and _is_continuation_escape(enc, end):
                    end += 3
        words.append(prefix + enc[pos:end] + "?=")
        pos = end
        room = later_room
    return words


_STATEFUL = frozenset(
    {
        "iso2022_jp",
        "iso2022_jp_1",
        "iso2022_jp_2",
        "iso2022_jp_2004",
        "iso2022_jp_3",
        "iso2022_jp_ext",
        "iso2022_kr",
        "utf_7",
        "utf_16",
        "utf_32",
        "hz",
    }
)
