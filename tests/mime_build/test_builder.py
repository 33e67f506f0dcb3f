"""MessageBuilder and Part: output rules, encodings, structure, validation."""

from __future__ import annotations

import email
import email.policy
import re
import secrets
from datetime import datetime, timedelta, timezone

import pytest

from mailproto import mime
from mailproto.imf.addresses import Address, Group
from mailproto.mime.builder import (
    BuildPolicy,
    InvalidAddressError,
    MessageBuilder,
    Part,
    attachment,
    guess_content_type,
    html_part,
    inline_part,
    make_msgid,
    message_part,
    multipart,
    text_part,
)
from tests.mime_build.checker import check_message

DATE = datetime(2024, 2, 29, 13, 14, 15, tzinfo=timezone(timedelta(hours=-5)))


def _stdlib(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def _stdlib_leaves(raw: bytes) -> list[email.message.EmailMessage]:
    return [p for p in _stdlib(raw).walk() if not p.is_multipart()]


def _header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"


# -- headers --------------------------------------------------------------------


def test_simple_message_exact_bytes() -> None:
    b = MessageBuilder()
    b.from_("Alice <alice@example.com>").to("bob@example.org").subject("Hello")
    b.date(DATE).message_id("<1@example.com>").text("Hi\n")
    assert b.as_bytes() == (
        b"Date: Thu, 29 Feb 2024 13:14:15 -0500\r\n"
        b"From: Alice <alice@example.com>\r\n"
        b"To: bob@example.org\r\n"
        b"Subject: Hello\r\n"
        b"Message-ID: <1@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"Hi\r\n"
    )
    assert check_message(b.as_bytes()) == []
    assert bytes(b.build()) == b.as_bytes()


def test_long_subject_folds_at_78_and_round_trips() -> None:
    subject = " ".join(f"word{i}" for i in range(60))
    raw = MessageBuilder().subject(subject).as_bytes()
    lines = _header_block(raw).split(b"\r\n")
    assert max(len(line) for line in lines) <= 78
    assert sum(1 for line in lines if line.startswith(b" ")) >= 4
    assert mime.parse(raw).headers.get("Subject") == subject
    assert str(_stdlib(raw)["Subject"]) == subject


def test_unbreakable_word_longer_than_998_is_encoded() -> None:
    subject = "start " + "x" * 3000 + " end"
    raw = MessageBuilder().subject(subject).as_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"=?utf-8?" in raw
    assert mime.parse(raw).headers.get("Subject") == subject
    assert str(_stdlib(raw)["Subject"]) == subject
    assert check_message(raw) == []


def test_long_plain_word_kept_on_its_own_line() -> None:
    url = "https://example.com/" + "a" * 150
    raw = MessageBuilder().subject(f"see {url} now").as_bytes()
    assert ("\r\n " + url + "\r\n").encode() in raw
    assert check_message(raw) == []


def test_non_ascii_subject_uses_encoded_words_only_where_needed() -> None:
    raw = MessageBuilder().subject("Re: café au lait").as_bytes()
    line = _header_block(raw).split(b"\r\n")[0]
    assert line.startswith(b"Subject: Re: =?utf-8?")
    assert line.endswith(b" au lait")
    assert mime.parse(raw).headers.get("Subject") == "Re: café au lait"


@pytest.mark.parametrize(
    "subject",
    [
        "=?utf-8?q?not_an_encoded_word?=",
        "  leading",
        "trailing  ",
        "tab\tinside",
        "a  b",
        "",
        "   ",
        "a" + " " * 3000 + "b",
        "x " * 600,
        "\x01 control \x7f chars",
    ],
)
def test_subject_edge_cases_round_trip(subject: str) -> None:
    raw = MessageBuilder().subject(subject).as_bytes()
    assert mime.parse(raw).headers.get("Subject") == subject
    assert check_message(raw) == []


def test_utf8_output_keeps_raw_utf8() -> None:
    b = MessageBuilder(utf8=True)
    b.from_("Jöhn Dœ <jöhn@exämple.com>").subject("Grüße aus Köln")
    b.attach(b"data", "größe.txt", "application/octet-stream")
    raw = b.as_bytes()
    assert "Subject: Grüße aus Köln\r\n".encode() in raw
    assert "From: Jöhn Dœ <jöhn@exämple.com>\r\n".encode() in raw
    assert 'filename="größe.txt"'.encode() in raw
    assert b"=?" not in raw
    assert check_message(raw, utf8=True) == []
    msg = mime.parse(raw)
    assert msg.headers.get("Subject") == "Grüße aus Köln"
    [leaf] = [p for p in msg.walk() if p.filename]
    assert leaf.filename == "größe.txt"


def test_ascii_output_refuses_non_ascii_local_part_and_converts_idn() -> None:
    with pytest.raises(InvalidAddressError):
        MessageBuilder().to("jöhn@example.com")
    raw = MessageBuilder().to("x@bücher.example").as_bytes()
    assert b"To: x@xn--bcher-kva.example\r\n" in raw


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("Alice", b"Alice <a@x.org>"),
        ("Alice B. Smith", b'"Alice B. Smith" <a@x.org>'),
        ("Smith, John", b'"Smith, John" <a@x.org>'),
        ('Say "hi"', b'"Say \\"hi\\"" <a@x.org>'),
        ("back\\slash", b'"back\\\\slash" <a@x.org>'),
        ("two  spaces", b'"two  spaces" <a@x.org>'),
    ],
)
def test_display_names_quoted_when_needed(name: str, wire: bytes) -> None:
    raw = MessageBuilder().to(Address(display_name=name, local_part="a", domain="x.org")).as_bytes()
    assert b"To: " + wire + b"\r\n" in raw
    [addr] = mime.parse(raw).headers.addresses("To")
    assert addr.display_name == name
    assert _stdlib(raw)["To"].addresses[0].display_name == name


def test_local_part_quoted_when_not_dot_atom() -> None:
    raw = MessageBuilder().to(Address(local_part="john smith", domain="x.org")).as_bytes()
    assert b'To: "john smith"@x.org\r\n' in raw
    [addr] = mime.parse(raw).headers.addresses("To")
    assert addr.local_part == "john smith"


def test_address_lists_fold_between_addresses() -> None:
    rcpts = [f"Person Number {i} <person{i}@example.com>" for i in range(12)]
    raw = MessageBuilder().to(rcpts).as_bytes()
    lines = _header_block(raw).split(b"\r\n")
    assert max(len(line) for line in lines) <= 78
    got = mime.parse(raw).headers.addresses("To")
    assert [a.addr_spec for a in got] == [f"person{i}@example.com" for i in range(12)]
    for line in lines:
        # never inside an angle address
        assert line.count(b"<") == line.count(b">")


def test_groups() -> None:
    b = MessageBuilder().to(Group(display_name="Undisclosed recipients", members=()))
    b.cc([Group(display_name="Team", members=(Address(local_part="a", domain="x.org"),))])
    raw = b.as_bytes()
    assert b"To: Undisclosed recipients:;\r\n" in raw
    assert b"Cc: Team: a@x.org;\r\n" in raw
    assert _stdlib(raw)["Cc"].groups[0].display_name == "Team"
    named = MessageBuilder().to(
        Group(display_name="Équipe", members=(Address(local_part="a", domain="x.org"),))
    )
    raw = named.as_bytes()
    assert b"?= : a@x.org;" in raw
    [group] = mime.parse(raw).headers.address_list("To") or []
    assert isinstance(group, Group)
    assert group.display_name == "Équipe"
    assert _stdlib(raw)["To"].groups[0].display_name == "Équipe"


@pytest.mark.parametrize("bad", ["not an address", "a@", "@b.org", "Foo <a>", "a@b@c", ""])
def test_invalid_addresses_refused(bad: str) -> None:
    with pytest.raises(InvalidAddressError):
        MessageBuilder().to(bad)


def test_obsolete_phrase_accepted_and_rewritten() -> None:
    raw = MessageBuilder().from_("J. Smith <j@x.org>").as_bytes()
    assert b'From: "J. Smith" <j@x.org>\r\n' in raw


def test_sender_takes_one_mailbox() -> None:
    with pytest.raises(InvalidAddressError):
        MessageBuilder().sender(["a@x.org", "b@x.org"])  # type: ignore[arg-type]


def test_message_id_generation_and_validation() -> None:
    mid = make_msgid("mail.example.com")
    assert re.fullmatch(r"<[0-9a-f]{32}@mail\.example\.com>", mid)
    assert make_msgid("example.com") != make_msgid("example.com")
    raw = MessageBuilder().message_id(domain="example.com").as_bytes()
    assert re.search(rb"\r\nMessage-ID: <[0-9a-f]{32}@example\.com>\r\n", b"\r\n" + raw)
    for bad in ["no-at-sign", "<a@b", "<a b@c>", "<@c>"]:
        with pytest.raises(ValueError):
            MessageBuilder().message_id(bad)
    with pytest.raises(ValueError):
        make_msgid("bad domain")
    with pytest.raises(ValueError):
        MessageBuilder().message_id()


def test_date_now_and_given() -> None:
    raw = MessageBuilder().date(DATE).as_bytes()
    assert b"Date: Thu, 29 Feb 2024 13:14:15 -0500\r\n" in raw
    msg = mime.parse(MessageBuilder().date().as_bytes())
    when = msg.headers.date()
    assert when is not None
    assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 60


def test_reply_threading_from_parent() -> None:
    parent = mime.parse(
        b"Message-ID: <p3@x.org>\r\nReferences: <p1@x.org> <p2@x.org>\r\n"
        b"In-Reply-To: <p2@x.org>\r\n\r\nbody"
    )
    raw = MessageBuilder().in_reply_to(parent).as_bytes()
    msg = mime.parse(raw)
    assert msg.headers.get("In-Reply-To") == "<p3@x.org>"
    assert msg.headers.get("References") == "<p1@x.org> <p2@x.org> <p3@x.org>"
    # A parent without References but with a single In-Reply-To id.
    parent2 = mime.parse(b"Message-ID: <c@x.org>\r\nIn-Reply-To: <b@x.org>\r\n\r\n")
    msg2 = mime.parse(MessageBuilder().in_reply_to(parent2).as_bytes())
    assert msg2.headers.get("References") == "<b@x.org> <c@x.org>"
    with pytest.raises(ValueError):
        MessageBuilder().in_reply_to(mime.parse(b"Subject: no id\r\n\r\n"))


def test_references_fold_between_ids() -> None:
    ids = [f"<{'m' * 20}{i}@example.com>" for i in range(10)]
    raw = MessageBuilder().in_reply_to(ids).as_bytes()
    assert max(len(line) for line in _header_block(raw).split(b"\r\n")) <= 78
    assert mime.parse(raw).headers.get("References") == " ".join(ids)


def test_custom_headers_and_structured_routing() -> None:
    b = MessageBuilder()
    b.header("X-Mailer", "mailproto").header("X-Tag", "a").header("X-Tag", "b")
    b.header("Resent-To", "r@x.org").header("Resent-Date", DATE)
    b.header("X-Tag", "c", replace=True)
    with pytest.raises(ValueError):
        b.header("Resent-Date", "yesterday")
    b.header("Resent-Date", "Fri, 01 Mar 2024 00:00:00 +0000")
    raw = b.as_bytes()
    msg = mime.parse(raw)
    assert msg.headers.get_all("X-Tag") == ["c"]
    assert msg.headers.get("X-Mailer") == "mailproto"
    assert msg.headers.get("Resent-To") == "r@x.org"
    assert msg.headers.get_all("Resent-Date") == [
        "Thu, 29 Feb 2024 13:14:15 -0500",
        "Fri, 01 Mar 2024 00:00:00 +0000",
    ]
    for managed in ("Content-Type", "content-transfer-encoding", "MIME-Version"):
        with pytest.raises(ValueError):
            MessageBuilder().header(managed, "x")
    with pytest.raises(ValueError):
        MessageBuilder().header("Bad Name", "x")
    with pytest.raises(ValueError):
        MessageBuilder().header("Bad:Name", "x")
    b.remove_header("x-mailer")
    assert b"X-Mailer" not in b.as_bytes()


def test_bcc_written_or_left_out_and_recipients() -> None:
    b = MessageBuilder().to("a@x.org").cc("B <b@x.org>").bcc("c@x.org")
    assert b"Bcc: c@x.org\r\n" in b.as_bytes()
    assert b"Bcc" not in b.as_bytes(bcc=False)
    assert b.recipients() == ["a@x.org", "b@x.org", "c@x.org"]


# -- bodies and transfer encodings --------------------------------------------------


def _leaves(raw: bytes) -> list[mime.Message]:
    return [p for p in mime.parse(raw).walk() if not p.is_multipart]


@pytest.mark.parametrize(
    ("text", "policy", "cte"),
    [
        ("plain ascii\n", BuildPolicy(), "7bit"),
        ("mostly ascii with one é\n" * 5, BuildPolicy(), "quoted-printable"),
        ("日本語のテキストです。" * 5, BuildPolicy(), "base64"),
        ("x" * 2000, BuildPolicy(), "quoted-printable"),
        ("mostly ascii with one é\n", BuildPolicy(allow_8bit=True), "8bit"),
        ("x" * 2000 + "é", BuildPolicy(allow_8bit=True), "quoted-printable"),
        ("nul \x00 inside", BuildPolicy(), "quoted-printable"),
        ("x" * 2000 + "é", BuildPolicy(allow_binary=True), "binary"),
    ],
)
def test_transfer_encoding_choice(text: str, policy: BuildPolicy, cte: str) -> None:
    raw = MessageBuilder(policy=policy).text(text).as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.content_transfer_encoding == cte
    expected = text.replace("\n", "\r\n")
    assert leaf.text() == expected
    assert check_message(raw, binary_ok=cte == "binary") == []


def test_attachments_base64_by_default_binary_when_allowed() -> None:
    data = bytes(range(256)) * 10
    raw = MessageBuilder().attach(data, "blob.bin").as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.content_transfer_encoding == "base64"
    assert leaf.decoded() == data
    assert leaf.content_type == "application/octet-stream"
    raw2 = MessageBuilder(allow_binary=True).attach(data, "blob.bin").as_bytes()
    root = mime.parse(raw2)
    assert root.content_transfer_encoding == "binary"  # RFC 2045 §6.4: declared on the container
    [leaf2] = [p for p in root.walk() if not p.is_multipart]
    assert leaf2.content_transfer_encoding == "binary"
    assert leaf2.decoded() == data


def test_base64_lines_are_76() -> None:
    raw = MessageBuilder().attach(b"\xff" * 10_000, "x.bin").as_bytes()
    [leaf] = _leaves(raw)
    lines = leaf.raw_body.split(b"\r\n")
    assert {len(line) for line in lines[:-2]} == {76}


def test_line_endings_normalised_to_crlf() -> None:
    raw = MessageBuilder().text("a\nb\r\nc\rd").as_bytes()
    assert raw.endswith(b"\r\n\r\na\r\nb\r\nc\r\nd")
    assert check_message(raw) == []


def test_content_type_guessing() -> None:
    assert guess_content_type("report.PDF") == "application/pdf"
    assert guess_content_type("photo.jpeg") == "image/jpeg"
    assert guess_content_type("noext") == "application/octet-stream"
    assert guess_content_type(None) == "application/octet-stream"
    raw = MessageBuilder().attach(b"x", "a.png").as_bytes()
    assert _leaves(raw)[0].content_type == "image/png"


def test_text_attachment_with_charset() -> None:
    data = "Grüße\n".encode("latin-1")
    raw = MessageBuilder().attach(data, "g.txt", "text/plain", charset="iso-8859-1").as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.charset == "iso-8859-1"
    assert leaf.text() == "Grüße\r\n"
    assert leaf.filename == "g.txt"


def test_text_bytes_labelled_utf8_when_they_are() -> None:
    raw = MessageBuilder().attach("Grüße\n".encode(), "g.txt").as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.charset == "utf-8"
    assert leaf.text() == "Grüße\r\n"
    raw = MessageBuilder().attach(b"\xff\xfe latin junk", "j.txt").as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.charset is None
    assert leaf.decoded() == b"\xff\xfe latin junk"


def test_utf16_text_is_base64() -> None:
    raw = MessageBuilder().body(text_part("line one\nline two\n", charset="utf-16")).as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.content_transfer_encoding == "base64"
    assert leaf.charset == "utf-16"
    assert leaf.text() == "line one\r\nline two\r\n"


def test_non_ascii_filename_rfc2231_and_legacy_form() -> None:
    name = "Résumé — final version of the document with a long name.pdf"
    raw = MessageBuilder().attach(b"%PDF", name).as_bytes()
    assert b"filename*" in raw
    assert b"=?utf-8?" not in raw
    assert _leaves(raw)[0].filename == name
    assert _stdlib_leaves(raw)[0].get_filename() == name
    legacy = MessageBuilder(legacy_filenames=True).attach(b"%PDF", name).as_bytes()
    assert b"filename*" in legacy
    assert b'filename="=?utf-8?' in legacy
    assert b'name="=?utf-8?' in legacy
    assert check_message(legacy) == []
    leaf = _leaves(legacy)[0]
    assert leaf.filename == name
    assert leaf.params["name"] == name
    assert _stdlib_leaves(legacy)[0].get_filename() == name


def test_alternative_related_mixed_structure() -> None:
    b = MessageBuilder().text("plain").html('<img src="cid:x">')
    cid = b.inline_image(b"GIF89a", "image/gif", content_id="<logo@example.com>")
    assert cid == "logo@example.com"
    b.attach(b"data", "d.bin")
    raw = b.as_bytes()
    assert check_message(raw) == []
    msg = mime.parse(raw)
    shape = [(p.depth, p.content_type) for p in msg.walk()]
    assert shape == [
        (0, "multipart/mixed"),
        (1, "multipart/alternative"),
        (2, "text/plain"),
        (2, "multipart/related"),
        (3, "text/html"),
        (3, "image/gif"),
        (1, "application/octet-stream"),
    ]
    related = msg.parts[0].parts[1]
    assert related.params["type"] == "text/html"
    image = related.parts[1]
    assert image.headers.get("Content-ID") == "<logo@example.com>"
    assert image.disposition == "inline"


def test_inline_images_need_html() -> None:
    b = MessageBuilder().text("x")
    b.inline_image(b"x", "image/png")
    with pytest.raises(ValueError):
        b.as_bytes()


def test_generated_content_id_uses_message_domain() -> None:
    b = MessageBuilder().message_id(domain="example.net").html("<p>")
    cid = b.inline_image(b"x", "image/png")
    assert cid.endswith("@example.net")


def test_empty_message_is_empty_text() -> None:
    raw = MessageBuilder().as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.content_type == "text/plain"
    assert leaf.text() == ""


def test_attach_message_rfc822() -> None:
    inner = MessageBuilder().from_("x@y.org").subject("inner").text("inner body\n")
    b = MessageBuilder().text("see attached").attach_message(inner, filename="fwd.eml")
    raw = b.as_bytes()
    assert check_message(raw) == []
    msg = mime.parse(raw)
    att = msg.parts[1]
    assert att.content_type == "message/rfc822"
    assert att.content_transfer_encoding == "7bit"
    assert att.filename == "fwd.eml"
    [enclosed] = att.parts
    assert enclosed.headers.get("Subject") == "inner"
    assert bytes(enclosed) == inner.as_bytes()
    subjects = [p["Subject"] for p in _stdlib(raw).walk()]
    assert "inner" in subjects


def test_attach_8bit_message_needs_8bitmime() -> None:
    inner = "Subject: x\r\n\r\nGrüße\r\n".encode()
    with pytest.raises(ValueError, match="8BITMIME"):
        MessageBuilder().attach_message(inner).as_bytes()
    raw = MessageBuilder(allow_8bit=True).attach_message(inner).as_bytes()
    msg = mime.parse(raw)
    assert msg.content_transfer_encoding == "8bit"
    assert msg.parts[0].content_transfer_encoding == "8bit"
    assert bytes(msg.parts[0].parts[0]) == inner


def test_arbitrary_nesting_with_parts() -> None:
    tree = multipart(
        "mixed",
        multipart(
            "alternative",
            text_part("t"),
            multipart("related", html_part("<b>h</b>"), inline_part(b"i", "image/png")),
        ),
        multipart("mixed", attachment(b"1", "one.txt"), attachment(b"2", "two.txt")),
        message_part(b"Subject: m\r\n\r\nm"),
        Part("application/json", body=b'{"a": 1}', params={"profile": "x y"}),
    )
    tree.parts[0].add_header("X-Inner", "yes")
    raw = MessageBuilder().body(tree).as_bytes()
    assert check_message(raw) == []
    msg = mime.parse(raw)
    types = [p.content_type for p in msg.walk()]
    assert types.count("multipart/mixed") == 2
    assert msg.parts[0].headers.get("X-Inner") == "yes"
    assert msg.parts[3].params["profile"] == "x y"
    assert [p.filename for p in msg.parts[1].parts] == ["one.txt", "two.txt"]


def test_part_validation() -> None:
    with pytest.raises(ValueError):
        Part("multipart/mixed", body=b"")
    with pytest.raises(ValueError):
        Part("multipart/mixed", parts=[])
    with pytest.raises(ValueError):
        Part("text/plain", parts=[text_part("x")])
    with pytest.raises(ValueError):
        Part("nonsense", body=b"")
    with pytest.raises(ValueError):
        Part("text/plain", text="x", charset="no-such-charset")
    with pytest.raises(ValueError):
        Part("application/x", text="x")
    with pytest.raises(ValueError):
        Part("message/rfc822", body=b"", transfer_encoding="base64")
    with pytest.raises(ValueError):
        Part("text/plain", text="x", params={"charset": "x"})
    with pytest.raises(ValueError):
        text_part("é", transfer_encoding="7bit").add_header("X-A", "b")._render(BuildPolicy(), [])
    with pytest.raises(ValueError):
        text_part("é", transfer_encoding="8bit")._render(BuildPolicy(), [])
    with pytest.raises(ValueError):
        Part("text/plain", text="x").add_header("Content-Type", "x")
    with pytest.raises(ValueError):
        Part("text/plain", text="x").add_header("Content-ID", "<a@b>")
    with pytest.raises(ValueError):
        BuildPolicy(max_line_length=5)
    for bad_name in ("a b", "x*", "p%", "é", ""):
        with pytest.raises(ValueError):
            Part("application/x", body=b"", params={bad_name: "v"})


def test_forced_transfer_encodings() -> None:
    raw = MessageBuilder().body(text_part("abc", transfer_encoding="base64")).as_bytes()
    [leaf] = _leaves(raw)
    assert leaf.content_transfer_encoding == "base64"
    assert leaf.text() == "abc"


# -- boundaries ---------------------------------------------------------------------


def test_given_boundary_that_occurs_in_content_is_refused() -> None:
    tree = multipart("mixed", text_part("--frontier is here"), boundary="frontier")
    with pytest.raises(ValueError, match="boundary"):
        MessageBuilder().body(tree).as_bytes()
    ok = multipart("mixed", text_part("no collision"), boundary="frontier")
    raw = MessageBuilder().body(ok).as_bytes()
    assert b'boundary="frontier"' in raw or b"boundary=frontier" in raw


def test_generated_boundary_retries_on_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "token_hex", lambda n: "a" * (2 * n))
    stem = "a" * 24
    # The text contains the first candidate (as a prefix of a longer line).
    tree = multipart("mixed", text_part(f"--=_{stem}.001--tail"))
    raw = MessageBuilder().body(tree).as_bytes()
    assert f'boundary="=_{stem}.002"'.encode() in raw
    assert check_message(raw) == []
    assert len(mime.parse(raw).parts) == 1


def test_rendering_twice_gives_the_same_bytes() -> None:
    b = MessageBuilder().from_("a@x.org").text("t").html("h").attach(b"x", "x.bin")
    assert b.as_bytes() == b.as_bytes() == bytes(b.build())
    assert (
        MessageBuilder().text("t").html("h").as_bytes()
        != MessageBuilder().text("t").html("h").as_bytes()
    )


def test_values_that_cannot_fit_a_line_are_refused_at_the_call() -> None:
    with pytest.raises(ValueError):
        MessageBuilder().header("X-" + "n" * 995, "value")
    with pytest.raises(ValueError):
        MessageBuilder().message_id("<" + "a" * 950 + "@example.com>")


def test_nested_boundaries_never_prefix_each_other() -> None:
    inner = multipart("alternative", text_part("a"), html_part("b"))
    raw = MessageBuilder().body(multipart("mixed", inner, attachment(b"x", "x"))).as_bytes()
    bounds = [p.boundary for p in mime.parse(raw).walk() if p.boundary]
    assert len(bounds) == 2
    assert not bounds[0].startswith(bounds[1]) and not bounds[1].startswith(bounds[0])


# -- the checker itself can fail -------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        b"MIME-Version: 1.0\r\nSubject: " + b"x" * 1000 + b"\r\n\r\nbody",
        b"MIME-Version: 1.0\nSubject: bare lf\n\nbody",
        b"MIME-Version: 1.0\r\nSubject: caf\xc3\xa9\r\n\r\nbody",
        b"MIME-Version: 1.0\r\nSubject: a b c d e f g h i j k l m n o p q r s t u v w x y z "
        b"a b c d e f g h i j k l m\r\n\r\n",
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
        b"--b inside\r\n--b--\r\n",
        b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ntrailing \r\n",
        b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n",
        b"MIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n\r\n\xff\r\n",
        b"MIME-Version: 1.0\r\nSubject: =?utf-8?q?broken\r\n =?=\r\n\r\n",
        b"Subject: no mime version\r\n\r\n",
    ],
)
def test_checker_detects_violations(bad: bytes) -> None:
    assert check_message(bad) != []
