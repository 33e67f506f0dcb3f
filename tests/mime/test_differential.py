"""Differential tests: mailproto vs CPython's ``email`` (policy.default) on the corpus.

Every message of ``../shared/corpus`` (relative to the repository root) is
parsed by both, once with CRLF and once with LF line endings, and compared:
tree shape and content types, decoded header values (unstructured and
address fields as strings, Date as a datetime), filenames, decoded payloads
and, for text parts, decoded text.

Where mailproto deliberately differs (it follows the RFC, or is more
tolerant the way mail clients are), the difference is listed in ``KNOWN``
below, per message, by kind.  Each kind is recognised by an *explainer* in
``tests/mime/_differential.py`` that checks the disagreement is exactly that
difference (the docstrings there give the reason for each).  The test fails
on any unexplained difference, and also when a listed difference no longer
occurs, so the list stays exact.

flanker/enclosed-endless.eml (3,043 parts) is marked ``slow``: CPython
needs seconds for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailproto import mime
from tests.mime._differential import differences

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

# Known, documented differences: message -> kinds (see _differential.py for
# the reason behind each kind).  Identical for CRLF and LF line endings.
KNOWN: dict[str, set[str]] = {
    "cpython-email/msg_15.txt": {"qp-trailing-whitespace"},
    "cpython-email/msg_37.txt": {"empty-body-part"},
    "flanker/bilingual-simple.eml": {"qp-trailing-whitespace"},
    "flanker/disposition-notification.eml": {"date-zone"},
    "flanker/enclosed-bad-encoding.eml": {"latin1-header-fallback"},
    "flanker/enclosed-broken-body.eml": {"lenient-base64"},
    "flanker/from-encoding.eml": {"latin1-header-fallback"},
    "flanker/mailformed-headers.eml": {"latin1-header-fallback"},
    "flanker/spam/broken-ctype.eml": {"charset-fallback"},
    "flanker/spam/broken-headers.eml": {"latin1-header-fallback"},
    "flanker/torture.eml": {"qp-trailing-whitespace"},
    "mikel-mail/attachment_emails/attachment_message_rfc822_inline_image.eml": {
        "qp-trailing-whitespace"
    },
    "mikel-mail/attachment_emails/attachment_with_base64_encoded_name.eml": {
        "bare-encoded-word-param"
    },
    "mikel-mail/attachment_emails/attachment_with_unquoted_name.eml": {
        "unquoted-filename-with-spaces"
    },
    "mikel-mail/error_emails/bad_subject.eml": {"encoded-word-whitespace"},
    "mikel-mail/error_emails/content_transfer_encoding_empty.eml": {"charset-fallback"},
    "mikel-mail/error_emails/content_transfer_encoding_plain.eml": {"charset-fallback"},
    "mikel-mail/error_emails/invalid_subject_characters.eml": {"latin1-header-fallback"},
    "mikel-mail/error_emails/trademark_character_in_subject.eml": {"date-zone"},
    "mikel-mail/mime_emails/raw_email_with_binary_encoded.eml": {"tolerant-boundary"},
    "mikel-mail/mime_emails/raw_email_with_illegal_boundary.eml": {"tolerant-boundary"},
    "mikel-mail/plain_emails/raw_email5.eml": {"charset-fallback"},
    "mikel-mail/plain_emails/raw_email6.eml": {"charset-fallback"},
    "mikel-mail/plain_emails/raw_email_bad_time.eml": {"tolerant-boundary"},
    "mikel-mail/plain_emails/raw_email_double_at_in_header.eml": {"message-id-verbatim"},
    "mikel-mail/rfc2822/example13.eml": {"obs-wsp-before-colon"},
    "mimekit/disposition-notification.anonymized.eml": {"date-zone"},
    "mimekit/disposition-notification.txt": {"date-zone"},
    "mimekit/feedback-report.txt": {"charset-fallback"},
    "mimekit/stack-overflow.txt": {"specials-in-decoded-word"},
    "nodemailer-mailparser/large_text.eml": {"date-zone"},
    "nodemailer-mailparser/nested.eml": {"qp-trailing-whitespace"},
    "stalwart-mail-parser/legacy/009.eml": {"8bit-in-encoded-word", "latin1-header-fallback"},
    "stalwart-mail-parser/legacy/010.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/011.eml": {"encoded-word-whitespace"},
    "stalwart-mail-parser/legacy/015.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/016.eml": {
        "8bit-in-encoded-word",
        "latin1-filename",
        "latin1-header-fallback",
    },
    "stalwart-mail-parser/legacy/017.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/018.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/020.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/022.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/023.eml": {
        "8bit-in-encoded-word",
        "latin1-filename",
        "latin1-header-fallback",
    },
    "stalwart-mail-parser/legacy/024.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/025.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/026.eml": {"latin1-filename", "latin1-header-fallback"},
    "stalwart-mail-parser/legacy/027.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/050.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/051.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/legacy/052.eml": {"latin1-header-fallback"},
    "stalwart-mail-parser/malformed/000.eml": {"empty-body-part"},
    "stalwart-mail-parser/malformed/017.eml": {"invalid-content-type"},
    "stalwart-mail-parser/malformed/019.eml": {"obs-wsp-before-colon"},
    "stalwart-mail-parser/thirdparty/002.eml": {"lenient-base64"},
    "stalwart-mail-parser/thirdparty/003.eml": {"cte-whitespace"},
    "stalwart-mail-parser/thirdparty/010.eml": {"charset-fallback"},
}


def corpus_files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    skip = {"COPYING", "SOURCES.md"}
    return sorted(
        str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.name not in skip
    )


FILES = corpus_files()
DIFFERENTIAL = [
    pytest.param(f, marks=pytest.mark.slow) if f.endswith("enclosed-endless.eml") else f
    for f in FILES
]


def with_eol(raw: bytes, eol: str) -> bytes:
    lf = raw.replace(b"\r\n", b"\n")
    return lf.replace(b"\n", b"\r\n") if eol == "crlf" else lf


def test_corpus_present() -> None:
    # The corpus lives beside the repository (../shared/corpus); without it
    # the differential tests below would silently test nothing.
    assert len(FILES) > 300, f"corpus not found at {CORPUS}"


@pytest.mark.parametrize("eol", ["crlf", "lf"])
@pytest.mark.parametrize("name", DIFFERENTIAL)
def test_agrees_with_stdlib(name: str, eol: str) -> None:
    raw = with_eol((CORPUS / name).read_bytes(), eol)
    found = differences(raw)
    kinds = {kind for kind, _ in found}
    unexplained = [item for item in found if item[0].startswith("unexplained")]
    assert unexplained == []
    assert kinds == KNOWN.get(name, set()), found


@pytest.mark.parametrize("eol", ["crlf", "lf", "as-is"])
@pytest.mark.parametrize("name", FILES)
def test_round_trip_and_walk(name: str, eol: str) -> None:
    data = (CORPUS / name).read_bytes()
    raw = data if eol == "as-is" else with_eol(data, eol)
    msg = mime.parse(raw)
    assert bytes(msg) == raw
    for part in msg.walk():
        start, end = part.span
        assert bytes(part) == raw[start:end]
        part.decoded()
        if part.maintype == "text":
            part.text()


def test_known_list_names_real_files() -> None:
    assert set(KNOWN) <= set(FILES)
