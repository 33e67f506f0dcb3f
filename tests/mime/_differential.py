"""Compare mailproto with CPython's ``email`` (policy.default) on one message.

:func:`differences` returns every disagreement as ``(kind, detail)``.  A raw
disagreement is first offered to the *explainers* below: each recognises one
documented way in which mailproto deliberately differs, and only claims a
disagreement after checking that it is *exactly* that difference (for
example: "the payloads are equal once trailing whitespace is removed from
every line, and the part is quoted-printable").  What no explainer claims is
reported with kind ``"unexplained-..."`` and fails the test.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import re
from collections.abc import Callable
from typing import Any

from mailproto import mime

# Header fields compared as decoded strings (unstructured and address
# fields, which CPython presents the same way we document for ``get``).
# Date is compared as a datetime; Content-* fields through content_type,
# params and filename; others (Message-ID, Received, References) as the
# unfolded value.
_DATE_FIELDS = frozenset({"date", "resent-date"})
_SKIPPED_FIELDS = frozenset(
    {
        # CPython re-serialises these from its token tree (normalising
        # quoting and spacing); mailproto returns them as written and
        # exposes the parsed form as content_type / params / filename.
        "content-type",
        "content-disposition",
        "content-transfer-encoding",
        "mime-version",
    }
)
_ENCLOSING = frozenset({"message/rfc822", "message/global", "message/news"})


def std_parts(msg: Any) -> list[Any]:
    """CPython's walk, not descending into message/* types we keep as leaves.

    CPython parses message/delivery-status bodies as header blocks and any
    other message/* body as an enclosed message; mailproto encloses only
    message/rfc822, message/global and message/news (RFC 2046 §5.2, RFC 6532
    §3.7) and keeps the others as leaves (documented difference, normalised
    here rather than listed per message).
    """
    out = [msg]
    ctype = msg.get_content_type()
    if ctype.startswith("message/") and ctype not in _ENCLOSING:
        return out
    if msg.is_multipart():
        for child in msg.get_payload():
            out.extend(std_parts(child))
    return out


def _std_str(msg: email.message.Message, name: str) -> str | None:
    try:
        value = msg[name]
        return None if value is None else str(value)
    except Exception:  # CPython's header parser itself fails on some input
        return None


def _std_all(msg: email.message.Message, name: str) -> list[str] | None:
    try:
        return [str(v) for v in msg.get_all(name, [])]
    except Exception:
        return None


# -- explainers: each returns True when the difference is exactly its kind ----

_LINE_TRAILING_WS = re.compile(rb"[ \t]+(?=\r?\n|\Z)")


def _qp_trailing_whitespace(ours: mime.Message, theirs: bytes, mine: bytes) -> bool:
    """RFC 2045 §6.7 rule (3): trailing whitespace on a QP line is deleted
    when decoding ("it must be deleted"); CPython's quopri keeps it."""
    return ours.content_transfer_encoding == "quoted-printable" and _LINE_TRAILING_WS.sub(
        b"", theirs
    ) == _LINE_TRAILING_WS.sub(b"", mine)


def _cte_whitespace(ours: mime.Message, theirs: bytes, mine: bytes) -> bool:
    """A Content-Transfer-Encoding value with surrounding whitespace
    (``quoted-printable   ``): whitespace around a token is allowed
    (RFC 2045 §6.1 / RFC 822 lexical rules), mailproto strips it and decodes;
    CPython compares the raw value and returns the body undecoded."""
    value = ours.headers.value("Content-Transfer-Encoding") or ""
    return value != value.strip() and theirs == ours.raw_body


def _lenient_base64(ours: mime.Message, theirs: bytes, mine: bytes) -> bool:
    """Base64 with characters outside the alphabet or data after the
    padding: RFC 2045 §6.8 says decoders ignore characters outside the
    alphabet; mailproto decodes what it can (with a defect) where CPython's
    strict decoder fails and returns the body undecoded, or stops at the
    first padding."""
    if ours.content_transfer_encoding != "base64":
        return False
    if theirs in (ours.raw_body, b"".join(ours.raw_body.splitlines())):
        return mine != theirs  # CPython gave up and returned the encoded text
    # Data after "=" padding: CPython stops there, mailproto goes on.
    return mine.startswith(theirs) and b"=" in ours.raw_body.rstrip().rstrip(b"=")


_OBS_FIELD = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]+:", re.MULTILINE)


def _has_obs_field(data: bytes) -> bool:
    """Whether the header section of ``data`` has a field with WSP before the colon."""
    end = re.search(rb"\n\r?\n", data)
    return _OBS_FIELD.search(data, 0, end.start() if end else len(data)) is not None


def _obs_wsp_before_colon(ours: mime.Message, theirs: bytes, mine: bytes) -> bool:
    """A field with white space before the colon (``Subject  : x``), which
    RFC 5322 §4.5.3 (obs-optional) allows: mailproto reads it as a field,
    CPython's feedparser ends the header section there, so its body starts
    earlier (ours is a suffix of its)."""
    return _has_obs_field(bytes(ours)) and theirs.endswith(mine) and theirs != mine


PAYLOAD_EXPLAINERS: dict[str, Callable[[mime.Message, bytes, bytes], bool]] = {
    "obs-wsp-before-colon": _obs_wsp_before_colon,
    "qp-trailing-whitespace": _qp_trailing_whitespace,
    "cte-whitespace": _cte_whitespace,
    "lenient-base64": _lenient_base64,
}


def _latin1_fallback(ours: mime.Message, name: str, theirs: str, mine: str) -> bool:
    """8-bit header bytes that are not UTF-8: mailproto decodes them as
    Latin-1 (documented in imf.headers), CPython replaces each with U+FFFD."""
    raw = ours.headers.raw(name) or b""
    try:
        as_bytes = mine.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return bool(re.search(rb"[\x80-\xff]", raw)) and (as_bytes.decode("utf-8", "replace") == theirs)


def _eight_bit_in_encoded_word(ours: mime.Message, name: str, theirs: str, mine: str) -> bool:
    """Raw 8-bit bytes inside an encoded word (``=?iso-8859-1?Q?Fr\\xf6sche?=``),
    which RFC 2047 §5 forbids: CPython decodes the byte with the word's
    charset, mailproto with its 8-bit header fallback, so non-ASCII letters
    differ while everything else agrees."""
    raw = ours.headers.raw(name) or b""
    if not re.search(rb"=\?[^?]*\?[qQbB]\?[^?]*[\x80-\xff]", raw):
        return False
    strip = re.compile(r"[^\x00-\x7f]+|\s+")  # (whitespace: see encoded-word-whitespace)
    return strip.sub("", theirs) == strip.sub("", mine)


def _encoded_word_whitespace(ours: mime.Message, name: str, theirs: str, mine: str) -> bool:
    """White space between adjacent encoded words in a display name:
    RFC 2047 §6.2 says it is ignored ("=?..?= =?..?=" joins), and mailproto
    drops it; CPython keeps it inside address phrases (``MySurvey .com``),
    though not in unstructured fields."""
    raw = ours.headers.raw(name) or b""
    if not re.search(rb"\?=\s+=\?", raw):
        return False
    return re.sub(r"\s+", "", theirs) == re.sub(r"\s+", "", mine)


def _message_id_verbatim(ours: mime.Message, name: str, theirs: str, mine: str) -> bool:
    """Message-ID is returned as written (unfolded); CPython re-renders it
    from its parse tree, dropping what it cannot parse
    (``<a@b@c>`` becomes ``<a@b>``)."""
    return name == "message-id" and mine == ours.headers.value(name)


def _specials_in_decoded_word(ours: mime.Message, name: str, theirs: str, mine: str) -> bool:
    """An "address" without "@" made of encoded words that decode to text
    with specials (``=?utf-8?Q?date=3E2017...?=``, mimekit's
    stack-overflow.txt): mailproto.imf.addresses keeps the decoded text as
    one quoted display name; CPython's parser stops at the first special
    and keeps the word before it."""
    raw = ours.headers.raw(name) or b""
    head, _, last = theirs.rpartition(", ")
    prefix = (head + ", " if head else "") + '"' + last
    return (
        b"=?" in raw
        and mine.startswith(prefix)
        and mine[len(prefix) : len(prefix) + 1] in set('<>()[]:;@\\,."')
    )


HEADER_EXPLAINERS: dict[str, Callable[[mime.Message, str, str, str], bool]] = {
    "specials-in-decoded-word": _specials_in_decoded_word,
    "encoded-word-whitespace": _encoded_word_whitespace,
    "message-id-verbatim": _message_id_verbatim,
    "latin1-header-fallback": _latin1_fallback,
    "8bit-in-encoded-word": _eight_bit_in_encoded_word,
}


def _unquoted_spaces(ours: mime.Message, theirs: str | None, mine: str | None) -> bool:
    """An unquoted filename with spaces (``name=This is a test.txt``):
    mailproto keeps the whole value as mail clients show it; CPython keeps
    the first word."""
    return theirs is not None and mine is not None and mine.split()[0] == theirs != mine


def _bare_encoded_word(ours: mime.Message, theirs: str | None, mine: str | None) -> bool:
    """An unquoted parameter that is one RFC 2047 encoded word
    (``name==?utf-8?B?...?=``): CPython's token parser stops at the "=",
    mailproto decodes it as mail clients do."""
    raw = (ours.headers.value("Content-Type") or "") + (
        ours.headers.value("Content-Disposition") or ""
    )
    return theirs is None and mine is not None and re.search(r"name\s*==\?", raw) is not None


def _eight_bit_filename(ours: mime.Message, theirs: str | None, mine: str | None) -> bool:
    """An 8-bit (non-UTF-8) filename: Latin-1 in mailproto, U+FFFD in CPython."""
    if theirs is None or mine is None:
        return False
    try:
        return mine.encode("latin-1").decode("utf-8", "replace") == theirs
    except UnicodeEncodeError:
        return False


FILENAME_EXPLAINERS: dict[str, Callable[[mime.Message, str | None, str | None], bool]] = {
    "unquoted-filename-with-spaces": _unquoted_spaces,
    "bare-encoded-word-param": _bare_encoded_word,
    "latin1-filename": _eight_bit_filename,
}


def _tolerant_boundary(theirs: list[Any], ours: list[mime.Message]) -> bool:
    """An unquoted boundary containing tspecials (``boundary=----=_Part_1``),
    which RFC 2045 §5.1 forbids but mail clients write: CPython's parameter
    parser cuts it at the "=" and finds no delimiter, mailproto takes the
    whole value and splits the multipart."""
    root = theirs[0]
    value = ours[0].headers.value("Content-Type") or ""
    return (
        len(theirs) == 1
        and not root.is_multipart()
        and ours[0].is_multipart
        and re.search(r"boundary\s*=\s*[^\"\s;]*[=/?]", value) is not None
    )


def _invalid_content_type(theirs: list[Any], ours: list[mime.Message]) -> bool:
    """A Content-Type that is not ``type/subtype`` followed by parameters
    (``multipart/mixed<TAB>boundary=...``, no ";"): RFC 2045 §5.2 says to
    treat it as text/plain, as mailproto does (with a defect); CPython
    returns the whole lower-cased value as the type."""
    ours_invalid = any("invalid-content-type" in [d.kind for d in p.defects] for p in ours)
    theirs_garbage = any(re.search(r"\s", p.get_content_type()) for p in theirs)
    return ours_invalid and theirs_garbage


def _shape_obs_field(theirs: list[Any], ours: list[mime.Message]) -> bool:
    """See ``obs-wsp-before-colon``: CPython's header section ends at the
    first ``Name  :`` line, so the Content-Type below it is body to it."""
    return _has_obs_field(bytes(ours[0])) and any(
        type(d).__name__ == "MissingHeaderBodySeparatorDefect" for d in theirs[0].defects
    )


def _empty_body_part(theirs: list[Any], ours: list[mime.Message]) -> bool:
    """Two delimiter lines in a row enclose an empty body part (RFC 2046
    §5.1.1: the CRLF before a delimiter belongs to it, and a body part may be
    empty); mailproto keeps it, CPython drops it."""
    kept = [p for p in ours if p.span[0] != p.span[1]]
    return len(kept) < len(ours) and [p.content_type for p in kept] == [
        p.get_content_type() for p in theirs
    ]


SHAPE_EXPLAINERS: dict[str, Callable[[list[Any], list[mime.Message]], bool]] = {
    "obs-wsp-before-colon": _shape_obs_field,
    "empty-body-part": _empty_body_part,
    "tolerant-boundary": _tolerant_boundary,
    "invalid-content-type": _invalid_content_type,
}


def _date_zone(theirs: Any, mine: Any) -> bool:
    """CPython returns a *naive* datetime when the zone is ``-0000``,
    unknown (``H0500``) or follows a comment (``(EDT) -0400``);
    mailproto.imf.dates returns an aware one (the numeric zone, or UTC for
    -0000 as RFC 5322 §3.3 describes it).  The wall-clock time agrees."""
    return theirs.tzinfo is None and mine is not None and mine.replace(tzinfo=None) == theirs


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _charset_fallback(theirs: str, mine: str, data: bytes, charset: str | None) -> bool:
    """Bytes that are invalid in the declared charset (8-bit text labelled
    us-ascii, a BOM, bytes outside a Big5 table): CPython decodes with
    errors="replace" (U+FFFD), mailproto.codecs.charsets.decode_text falls
    back to a wider codec (UTF-8, windows-1252, Big5-HKSCS) and records a
    defect.  Only non-ASCII text differs (for Big5: exactly the HKSCS
    superset decoding)."""
    if "\ufffd" not in theirs:
        return False
    if charset == "big5":
        return mine == data.decode("big5hkscs", "replace")
    return _NON_ASCII.sub("", theirs) == _NON_ASCII.sub("", mine)


def differences(raw: bytes) -> list[tuple[str, str]]:
    """Every way mailproto and CPython disagree on ``raw``, classified."""
    found: list[tuple[str, str]] = []
    theirs_root = email.message_from_bytes(raw, policy=email.policy.default)
    ours_root = mime.parse(raw)
    theirs = std_parts(theirs_root)
    ours = list(ours_root.walk())
    shape_theirs = [p.get_content_type() for p in theirs]
    shape_ours = [p.content_type for p in ours]
    if shape_theirs != shape_ours:
        for kind, explain in SHAPE_EXPLAINERS.items():
            if explain(theirs, ours):
                found.append((kind, f"{shape_theirs[:4]} vs {shape_ours[:4]}"))
                break
        else:
            found.append(("unexplained-shape", f"{shape_theirs[:6]} vs {shape_ours[:6]}"))
        return found  # parts no longer correspond one to one
    a: Any
    for index, (a, b) in enumerate(zip(theirs, ours)):
        where = f"part {index} ({b.content_type})"
        # Headers.
        for name in dict.fromkeys(k.lower() for k in a):
            if name in _SKIPPED_FIELDS:
                continue
            if name in _DATE_FIELDS:
                try:
                    header = a[name]
                    expected = getattr(header, "datetime", None)
                except Exception:
                    continue
                got = b.headers.date(name)
                if expected is not None and got != expected:
                    if _date_zone(expected, got):
                        found.append(("date-zone", f"{where} {name}"))
                    else:
                        found.append(("unexplained-date", f"{where} {name}: {expected} vs {got}"))
                continue
            theirs_all = _std_all(a, name)
            if theirs_all is None:
                continue
            ours_all = b.headers.get_all(name)
            for t_value, o_value in zip(theirs_all, ours_all):
                if t_value == o_value:
                    continue
                for kind, explain_h in HEADER_EXPLAINERS.items():
                    if explain_h(b, name, t_value, o_value):
                        found.append((kind, f"{where} {name}"))
                        break
                else:
                    found.append(
                        (
                            "unexplained-header",
                            f"{where} {name}: {t_value[:120]!r} vs {o_value[:120]!r}",
                        )
                    )
            if len(theirs_all) != len(ours_all):
                found.append(("unexplained-header-count", f"{where} {name}"))
        # Filename.
        try:
            t_name = a.get_filename()
        except Exception:
            t_name = None
        if t_name != b.filename:
            for kind, explain_f in FILENAME_EXPLAINERS.items():
                if explain_f(b, t_name, b.filename):
                    found.append((kind, where))
                    break
            else:
                found.append(("unexplained-filename", f"{where}: {t_name!r} vs {b.filename!r}"))
        # Decoded payload of leaves.  Multipart bodies that could not be
        # split have no meaningful "payload" in either library.
        if a.is_multipart() or b.is_multipart or b.maintype == "multipart":
            continue
        t_payload = a.get_payload(decode=True)
        if not isinstance(t_payload, bytes):
            continue
        mine = b.decoded()
        if t_payload == mine and b.maintype == "text":
            # Same bytes: the text must agree too, up to the charset fallbacks.
            try:
                t_text = a.get_content()
            except Exception:  # CPython raises on some unknown charsets
                t_text = None
            m_text = b.text()
            if t_text is not None and t_text != m_text:
                if _charset_fallback(t_text, m_text, mine, b.charset):
                    found.append(("charset-fallback", where))
                else:
                    found.append(
                        ("unexplained-text", f"{where}: {t_text[:80]!r} vs {m_text[:80]!r}")
                    )
        if t_payload != mine:
            for kind, explain_p in PAYLOAD_EXPLAINERS.items():
                if explain_p(b, t_payload, mine):
                    found.append((kind, where))
                    break
            else:
                found.append(
                    ("unexplained-payload", f"{where}: {t_payload[:80]!r} vs {mine[:80]!r}")
                )
    return found
