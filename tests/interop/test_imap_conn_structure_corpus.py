"""Our ENVELOPE and BODYSTRUCTURE versus Dovecot's, for every message of the shared corpus.

Each corpus message is delivered to a real Dovecot; Dovecot's ENVELOPE and
BODYSTRUCTURE (parsed by our codec) are compared with what
:mod:`mailproto.imap.structure` computes from the very bytes Dovecot serves
(``BODY.PEEK[]``: Dovecot turns LF line ends into CRLF, so both sides see
the same octets).

Known, documented differences are normalised away before comparing
(``docs/api/imap_connections.rst`` explains each and which side follows the
RFC):

* Dovecot names an address by its comment when it has no phrase
  (``bbb@ddd.com (John X. Doe)``); RFC 3501 §7.4.2 says addr-name is the
  phrase, so ours is NIL.
* Dovecot puts ``MISSING_DOMAIN`` / ``MISSING_MAILBOX`` / ``SYNTAX_ERROR``
  where an address lacks a part; we send the empty string (nothing in the
  RFC asks for placeholders).
* Dovecot turns folding TABs into spaces and trims some values; RFC 5322
  §2.2.3 unfolding only removes the CRLF.
* Dovecot sizes message/* body parts two octets larger (the CRLF that
  RFC 2046 §5.1.1 assigns to the following delimiter).
* Dovecot joins RFC 2231 continuations (``title*0*``, ``title*1*`` →
  ``title*``); we pass the parameters through as written.
* Dovecot 2.3 treats message/global as opaque; RFC 9051 §9 gives it an
  envelope and a body like message/rfc822.

Messages that still differ after that are listed in :data:`KNOWN` with the
reason; a message that starts to differ for a new reason fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from mailproto import mime
from mailproto.imap.structure import body_structure, envelope
from mailproto.imap.types import (
    Address,
    BodyStructure,
    Envelope,
    MultipartBody,
    SectionRequest,
    SequenceSet,
    SinglePartBody,
)
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.limits import IMAPLimits
from tests.imap_conn.driver import BlockingClient
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop
dovecot = dovecot_fixture(scope="module")

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

#: Corpus files (relative paths) whose structures still differ, and why.
#: Almost all are MIME-parsing disagreements of mailproto.mime with
#: Dovecot on malformed input (reported to the mime owner), not IMAP rules.
_MIME = (
    "mailproto.mime and Dovecot split this malformed message differently (header/body"
    " boundary, multipart delimiters); a mime matter, not an IMAP rule"
)
_CTYPE = 'invalid Content-Type: ours is text/plain per RFC 2045 §5.2, Dovecot sends "" ""'
_CTE = "invalid Content-Transfer-Encoding: ours passes it as written, Dovecot says 7bit"
_DSP = 'empty Content-Disposition: ours NIL, Dovecot ("" NIL)'
_ADDR = "malformed address list: mailproto.imf and Dovecot repair it differently"
KNOWN: dict[str, str] = {
    "cpython-email/msg_15.txt": _MIME,
    "cpython-email/msg_19.txt": _MIME,
    "cpython-email/msg_33.txt": _MIME,
    "cpython-email/msg_35.txt": _MIME,
    "cpython-email/msg_38.txt": _MIME,
    "cpython-email/msg_39.txt": _MIME,
    "cpython-email/msg_47.txt": _MIME,
    "flanker/enclosed-broken.eml": _MIME,
    "flanker/missing-final-boundary.eml": _MIME,
    "mikel-mail/mime_emails/raw_email4.eml": _MIME,
    "mikel-mail/mime_emails/raw_email_with_binary_encoded.eml": _MIME,
    "mikel-mail/mime_emails/raw_email_with_illegal_boundary.eml": _MIME,
    "mikel-mail/plain_emails/raw_email_bad_time.eml": _MIME,
    "mikel-mail/plain_emails/raw_email_incorrect_header.eml": _MIME,
    "mikel-mail/rfc2822/example13.eml": _MIME,
    "mimekit/feedback-report.txt": _MIME,
    "mimekit/issue358.txt": _MIME,
    "stalwart-mail-parser/malformed/001.eml": _MIME,
    "stalwart-mail-parser/malformed/003.eml": _MIME,
    "stalwart-mail-parser/malformed/004.eml": _MIME,
    "stalwart-mail-parser/malformed/005.eml": _MIME,
    "stalwart-mail-parser/malformed/006.eml": _MIME,
    "stalwart-mail-parser/malformed/007.eml": _MIME,
    "stalwart-mail-parser/malformed/008.eml": _MIME,
    "stalwart-mail-parser/malformed/009.eml": _MIME,
    "stalwart-mail-parser/malformed/011.eml": _MIME,
    "stalwart-mail-parser/malformed/012.eml": _MIME,
    "stalwart-mail-parser/malformed/013.eml": _MIME,
    "stalwart-mail-parser/malformed/016.eml": _MIME,
    "stalwart-mail-parser/malformed/019.eml": _MIME,
    "stalwart-mail-parser/malformed/022.eml": _MIME,
    "stalwart-mail-parser/rfc/001.eml": _MIME,
    "stalwart-mail-parser/rfc/008.eml": _MIME,
    "stalwart-mail-parser/thirdparty/005.eml": _MIME,
    "stalwart-mail-parser/thirdparty/015.eml": _MIME,
    "cpython-email/msg_14.txt": _CTYPE,
    "flanker/spam/broken-ctype.eml": _CTYPE,
    "flanker/torture.eml": _CTYPE,
    "mimekit/missing-subtype.txt": _CTYPE,
    "stalwart-mail-parser/malformed/017.eml": _CTYPE,
    "mikel-mail/error_emails/content_transfer_encoding_qp_with_space.eml": _CTE,
    "mikel-mail/error_emails/content_transfer_encoding_text-html.eml": _CTE,
    "mikel-mail/error_emails/content_transfer_encoding_with_semi_colon.eml": _CTE,
    "stalwart-mail-parser/thirdparty/004.eml": _CTE,
    "mikel-mail/error_emails/missing_content_disposition.eml": _DSP,
    "mikel-mail/error_emails/multiple_invalid_content_dispositions.eml": _DSP,
    "mikel-mail/error_emails/weird_to_header.eml": _ADDR,
    "mikel-mail/plain_emails/mix_caps_content_type.eml": _ADDR,
    "mikel-mail/plain_emails/raw_email_with_at_display_name.eml": _ADDR,
    "mikel-mail/rfc2822/example11.eml": _ADDR,
    "mimekit/stack-overflow.txt": _ADDR,
    "stalwart-mail-parser/rfc/009.eml": _ADDR,
    "flanker/enclosed-global.eml": "message/global: RFC 9051 §9 gives it an envelope; Dovecot no",
    "mikel-mail/attachment_emails/attachment_with_unquoted_name.eml": (
        "unquoted parameter value with spaces: mime keeps it whole, Dovecot cuts at the space"
    ),
}

_PLACEHOLDERS = {"MISSING_DOMAIN", "MISSING_MAILBOX", "SYNTAX_ERROR"}


def _norm_addresses(ours: tuple[Address, ...], theirs: tuple[Address, ...]) -> tuple[Address, ...]:
    out = []
    for i, addr in enumerate(theirs):
        host = "" if addr.host is not None and addr.host.upper() in _PLACEHOLDERS else addr.host
        box = addr.mailbox
        if box is not None and box.upper() in _PLACEHOLDERS:
            box = ""
        name = addr.name
        if i < len(ours) and ours[i].name is None:
            name = None  # Dovecot used a comment as the name
        out.append(attrs.evolve(addr, host=host, mailbox=box, name=name))
    return tuple(out)


def _norm_text(value: str | None) -> str | None:
    return None if value is None else re.sub(r"[ \t]+", " ", value).strip()


def _norm_envelope(ours: Envelope, theirs: Envelope) -> tuple[Envelope, Envelope]:
    fields = ("from_", "sender", "reply_to", "to", "cc", "bcc")
    addresses: dict[str, Any] = {
        f: _norm_addresses(getattr(ours, f), getattr(theirs, f)) for f in fields
    }
    theirs = attrs.evolve(theirs, **addresses)
    texts = ("date", "subject", "in_reply_to", "message_id")
    norm_ours: dict[str, Any] = {f: _norm_text(getattr(ours, f)) for f in texts}
    norm_theirs: dict[str, Any] = {f: _norm_text(getattr(theirs, f)) for f in texts}
    ours = attrs.evolve(ours, **norm_ours)
    theirs = attrs.evolve(theirs, **norm_theirs)
    return ours, theirs


def _params(params: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    # RFC 2231 continuations: compare names only up to the "*".
    out: list[tuple[str, str]] = []
    for k, v in params:
        item = (k.lower().split("*")[0], "" if "*" in k else v)
        if item not in out:
            out.append(item)
    return tuple(out)


def _norm_body(ours: BodyStructure | None, theirs: BodyStructure | None) -> tuple[Any, Any]:
    """Both trees with the documented differences removed, as comparable values."""
    if isinstance(ours, MultipartBody) and isinstance(theirs, MultipartBody):
        pairs = [_norm_body(a, b) for a, b in zip(ours.parts, theirs.parts)]
        ext_a = ours.extension and attrs.evolve(
            ours.extension, params=_params(ours.extension.params)
        )
        ext_b = theirs.extension and attrs.evolve(
            theirs.extension, params=_params(theirs.extension.params)
        )
        return (
            ("multipart", ours.subtype.lower(), len(ours.parts), ext_a, [a for a, _ in pairs]),
            ("multipart", theirs.subtype.lower(), len(theirs.parts), ext_b, [b for _, b in pairs]),
        )
    if isinstance(ours, SinglePartBody) and isinstance(theirs, SinglePartBody):
        inner_a, inner_b = _norm_body(ours.body, theirs.body)
        env_a, env_b = ours.envelope, theirs.envelope
        if env_a is not None and env_b is not None:
            env_a, env_b = _norm_envelope(env_a, env_b)
        message = ours.type.lower() == "message"

        def one(b: SinglePartBody, env: Envelope | None, inner: Any) -> Any:
            return (
                b.type.lower(),
                b.subtype.lower(),
                _params(b.params),
                b.id,
                b.description,
                b.encoding.lower(),
                None if message else b.size,  # Dovecot: +2 for message/* parts
                None if message else b.lines,
                env,
                inner,
                b.extension
                and attrs.evolve(
                    b.extension,
                    params=(),
                    disposition=b.extension.disposition
                    and attrs.evolve(
                        b.extension.disposition, params=_params(b.extension.disposition.params)
                    ),
                ),
            )

        return one(ours, env_a, inner_a), one(theirs, env_b, inner_b)
    return ours, theirs


def _corpus() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    return sorted(
        p for p in CORPUS.rglob("*") if p.is_file() and p.name not in ("COPYING", "SOURCES.md")
    )


def _fetch_all(
    dovecot: DovecotServer, folder: str, items: tuple[str, ...]
) -> list[R.FetchResponse]:
    """Alice's *folder* on Dovecot: *items* and ``BODY.PEEK[]`` of every message."""
    limits = IMAPLimits(line_length=50_000_000, nesting_depth=100_000)
    client = BlockingClient(dovecot.host, dovecot.imap_port, timeout=120, limits=limits)
    client.run(C.Login(tag="l", username="alice", password=dovecot.users["alice"]))
    client.run(C.Select(tag="s", mailbox=folder))
    untagged, done = client.run(
        C.Fetch(
            tag="f",
            sequence_set=SequenceSet.of((1, "*")),
            attributes=(*items, SectionRequest(peek=True)),
        )
    )
    assert done.ok
    return [u.response for u in untagged if isinstance(u.response, R.FetchResponse)]


def test_envelope_and_bodystructure_agree_with_dovecot(dovecot: DovecotServer) -> None:
    files = _corpus()
    for path in files:
        dovecot.deliver("alice", path.read_bytes(), folder="Corpus")
    fetches = _fetch_all(dovecot, "Corpus", ("ENVELOPE", "BODYSTRUCTURE"))
    assert len(fetches) == len(files)
    # Dovecot numbers messages in delivery order, which is the file order.
    names = {i + 1: str(p.relative_to(CORPUS)) for i, p in enumerate(files)}
    differ: dict[str, str] = {}
    agree_env = agree_bs = 0
    for fetch in fetches:
        raw = fetch.sections[0].data
        assert raw is not None and fetch.envelope is not None
        msg = mime.parse(bytes(raw))
        ours_env, theirs_env = _norm_envelope(envelope(msg), fetch.envelope)
        env_ok = ours_env == theirs_env
        ours_bs, theirs_bs = _norm_body(body_structure(msg), fetch.body_structure)
        bs_ok = ours_bs == theirs_bs
        agree_env += env_ok
        agree_bs += bs_ok
        if not (env_ok and bs_ok):
            differ[names[fetch.seq]] = ("envelope " if not env_ok else "") + (
                "bodystructure" if not bs_ok else ""
            )
    print(f"\n{len(files)} messages: ENVELOPE agrees {agree_env}, BODYSTRUCTURE {agree_bs}")
    for name, what in sorted(differ.items()):
        print(f"  differs: {name}: {what}")
    unexplained = sorted(set(differ) - set(KNOWN))
    assert not unexplained, unexplained


#: Content-Transfer-Encoding values with comments (RFC 2045 §6.1 makes the
#: field structured), and the body-fld-enc both servers report for them.
COMMENTED_CTE = [
    (b"base64 (made by a scanner)", "base64"),
    (b"(comment) Quoted-Printable", "Quoted-Printable"),
    (b"BASE64", "BASE64"),
    (b"(nothing but a comment)", "7bit"),
    (b"x-weird (still unknown)", "x-weird"),
]


def test_commented_transfer_encodings_agree_with_dovecot(dovecot: DovecotServer) -> None:
    for value, _ in COMMENTED_CTE:
        dovecot.deliver(
            "alice",
            b"Subject: cte\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
            b"Content-Transfer-Encoding: " + value + b"\r\n\r\naGk=\r\n",
            folder="CTE",
        )
    fetches = _fetch_all(dovecot, "CTE", ("BODYSTRUCTURE",))
    assert len(fetches) == len(COMMENTED_CTE)
    for fetch in fetches:
        theirs = fetch.body_structure
        raw = fetch.sections[0].data
        assert isinstance(theirs, SinglePartBody) and raw is not None
        ours = body_structure(mime.parse(bytes(raw)))
        assert isinstance(ours, SinglePartBody)
        expected = COMMENTED_CTE[fetch.seq - 1][1]
        assert (ours.encoding, theirs.encoding) == (expected, expected)
