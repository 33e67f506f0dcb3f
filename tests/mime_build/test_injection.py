"""Header injection: CR, LF, CRLF or NUL in anything a caller passes is refused.

Every entry point that puts caller text into a header is called with each
bad sequence in each of its string arguments; each call must raise
:class:`HeaderInjectionError` (a ``ValueError``) — and nothing is emitted.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.imf.addresses import Address, Group
from mailproto.mime.builder import (
    HeaderInjectionError,
    MessageBuilder,
    Part,
    attachment,
    inline_part,
    make_msgid,
    message_part,
    multipart,
    text_part,
)

BAD = ["\r", "\n", "\r\n", "\x00", "\r\nBcc: victim@example.com", "\nX-Evil: 1\n\n<body>"]


def _b() -> MessageBuilder:
    return MessageBuilder()


def _inject(s: str) -> str:
    return "ok" + s + "ok"


# Each case: a name and a function taking the bad string and making one call.
CASES: list[tuple[str, Callable[[str], object]]] = [
    # Addresses: whole strings, display names, local parts, domains, groups.
    ("from str", lambda s: _b().from_(f"Name{s} <a@example.com>")),
    (
        "from display name",
        lambda s: _b().from_(Address(display_name=_inject(s), local_part="a", domain="x.org")),
    ),
    ("from local part", lambda s: _b().from_(Address(local_part=_inject(s), domain="x.org"))),
    ("from domain", lambda s: _b().from_(Address(local_part="a", domain=_inject(s)))),
    ("sender", lambda s: _b().sender(f"a{s}@x.org")),
    ("reply-to", lambda s: _b().reply_to([f"a@x.org{s}"])),
    ("to list", lambda s: _b().to(["ok@x.org", f"B{s} <b@x.org>"])),
    ("cc", lambda s: _b().cc(Address(display_name=_inject(s), local_part="c", domain="x.org"))),
    ("bcc", lambda s: _b().bcc(f"x{s}@y.org")),
    ("group name", lambda s: _b().to(Group(display_name=_inject(s), members=()))),
    (
        "group member",
        lambda s: _b().to(
            Group(
                display_name="G",
                members=(Address(display_name=_inject(s), local_part="a", domain="b.org"),),
            )
        ),
    ),
    (
        "utf8 display name",
        lambda s: MessageBuilder(utf8=True).to(
            Address(display_name="é" + s, local_part="a", domain="b.org")
        ),
    ),
    # Unstructured and structured fields.
    ("subject", lambda s: _b().subject(_inject(s))),
    ("subject utf8", lambda s: MessageBuilder(utf8=True).subject("é" + s)),
    ("message id value", lambda s: _b().message_id(f"<a{s}@b.org>")),
    ("message id domain", lambda s: _b().message_id(domain=_inject(s))),
    ("make_msgid domain", lambda s: make_msgid(_inject(s))),
    ("make_msgid left", lambda s: make_msgid("x.org", left=_inject(s))),
    ("in-reply-to str", lambda s: _b().in_reply_to(f"<a@b.org>{s}")),
    ("in-reply-to list", lambda s: _b().in_reply_to(["<a@b.org>", f"<c{s}@d.org>"])),
    ("custom header name", lambda s: _b().header(_inject(s), "value")),
    ("custom header value", lambda s: _b().header("X-Custom", _inject(s))),
    ("custom header value replace", lambda s: _b().header("X-Custom", _inject(s), replace=True)),
    ("address header via header()", lambda s: _b().header("Resent-To", f"a{s}@b.org")),
    ("references via header()", lambda s: _b().header("References", f"<a@b.org>{s}<c@d.org>")),
    ("message-id via header()", lambda s: _b().header("Message-ID", f"<a@b.org>{s}")),
    ("remove_header name", lambda s: _b().remove_header(_inject(s))),
    # Bodies: charsets, content types, filenames, parameters.
    ("text charset", lambda s: _b().text("x", charset="utf-8" + s)),
    ("text subtype", lambda s: _b().text("x", subtype="plain" + s)),
    ("html charset", lambda s: _b().html("x", charset="utf-8" + s)),
    ("attach filename", lambda s: _b().attach(b"x", filename=_inject(s))),
    ("attach content type", lambda s: _b().attach(b"x", "a.bin", "application/x" + s)),
    ("attach charset", lambda s: _b().attach(b"x", "a.txt", "text/plain", charset="utf-8" + s)),
    (
        "attach_message filename",
        lambda s: _b().attach_message(b"Subject: x\r\n\r\nx", filename=_inject(s)),
    ),
    (
        "inline image content id",
        lambda s: _b().inline_image(b"x", "image/png", content_id=f"<a{s}@b>"),
    ),
    ("inline image filename", lambda s: _b().inline_image(b"x", "image/png", filename=_inject(s))),
    ("inline image type", lambda s: _b().inline_image(b"x", "image/png" + s)),
    ("Part content type", lambda s: Part("application/x" + s, body=b"")),
    ("Part param name", lambda s: Part("application/x", body=b"", params={_inject(s): "v"})),
    ("Part param value", lambda s: Part("application/x", body=b"", params={"p": _inject(s)})),
    ("Part disposition", lambda s: Part("application/x", body=b"", disposition="inline" + s)),
    ("Part description", lambda s: Part("application/x", body=b"", description=_inject(s))),
    ("Part content id", lambda s: Part("application/x", body=b"", content_id=f"<a{s}@b>")),
    ("Part transfer encoding", lambda s: Part("text/plain", text="", transfer_encoding="7bit" + s)),
    ("Part header name", lambda s: Part("text/plain", text="").add_header(_inject(s), "v")),
    ("Part header value", lambda s: Part("text/plain", text="").add_header("X-A", _inject(s))),
    ("multipart boundary", lambda s: multipart("mixed", text_part("x"), boundary="b" + s)),
    ("attachment()", lambda s: attachment(b"", _inject(s))),
    ("inline_part()", lambda s: inline_part(b"", "image/gif", content_id=f"a{s}@b")),
    ("message_part()", lambda s: message_part(b"", filename=_inject(s))),
    ("text_part()", lambda s: text_part("", "plain" + s)),
]


@pytest.mark.parametrize("bad", BAD, ids=repr)
@pytest.mark.parametrize(("name", "call"), CASES, ids=[c[0] for c in CASES])
def test_injection_refused(name: str, call: Callable[[str], object], bad: str) -> None:
    with pytest.raises(HeaderInjectionError):
        call(bad)


def test_injection_error_is_value_error() -> None:
    assert issubclass(HeaderInjectionError, ValueError)


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_nothing_emitted_after_refusal(bad: str) -> None:
    """A refused call leaves the builder as it was: the output has no trace of it."""
    b = MessageBuilder().from_("a@x.org").subject("kept")
    with pytest.raises(HeaderInjectionError):
        b.subject("evil" + bad)
    with pytest.raises(HeaderInjectionError):
        b.header("X-Evil", "v" + bad)
    raw = b.as_bytes()
    assert b"evil" not in raw.lower()
    assert b"Subject: kept\r\n" in raw


def test_bytes_values_are_type_errors() -> None:
    with pytest.raises(TypeError):
        MessageBuilder().subject(b"x\r\ny")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MessageBuilder().header("X-A", b"x")


# -- properties ------------------------------------------------------------------

_any_text = st.text(st.characters(codec="utf-8"), max_size=60)
_names = st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True)


@given(value=_any_text, name=_names, utf8=st.booleans())
def test_header_values_never_create_fields(value: str, name: str, utf8: bool) -> None:
    """Any value either raises HeaderInjectionError (CR/LF/NUL in it) or
    becomes exactly one field with exactly that value."""
    b = MessageBuilder(utf8=utf8).subject("s")
    bad = any(c in value for c in "\r\n\x00")
    if bad:
        with pytest.raises(HeaderInjectionError):
            b.header(name, value)
        with pytest.raises(HeaderInjectionError):
            b.subject(value)
        return
    b.header(name, value).subject(value)
    msg = mime.parse(b.as_bytes())
    assert msg.headers.keys() == ["Subject", name, "MIME-Version", "Content-Type"]
    assert msg.headers.get(name) == value
    assert msg.headers.get("Subject") == value


@given(name=_any_text, local=_any_text)
def test_address_parts_never_create_fields(name: str, local: str) -> None:
    addr = Address(display_name=name, local_part=local or "x", domain="example.org")
    b = MessageBuilder(utf8=True)
    try:
        b.to(addr)
    except HeaderInjectionError:
        assert any(c in name + local for c in "\r\n\x00")
        return
    except ValueError:
        return  # invalid address (e.g. a control character in the local part)
    msg = mime.parse(b.as_bytes())
    assert msg.headers.keys() == ["To", "MIME-Version", "Content-Type"]
    [got] = msg.headers.addresses("To")
    assert (got.display_name, got.local_part) == (name, local or "x")
