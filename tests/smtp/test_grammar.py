"""RFC 5321 §4.1 grammar: paths, parameters, replies, EHLO keywords."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import LocalProtocolError
from mailproto.smtp import (
    Bdat,
    Body,
    ByMode,
    DeliverBy,
    Ehlo,
    Extensions,
    MailAuth,
    Mailbox,
    MailFrom,
    MailParameters,
    NotifyCondition,
    ORcpt,
    RcptParameters,
    RcptTo,
    Reply,
    Ret,
    parse_mailbox,
    parse_path,
    replies,
    xtext_decode,
    xtext_encode,
)
from mailproto.smtp._readers import CommandError, ReplyParser, parse_command
from mailproto.smtp._state import Verb
from mailproto.smtp._writers import write_command
from mailproto.smtp.extensions import ServerConfig

ALL = ServerConfig(
    starttls=True, tls_active=True, auth_mechanisms=("PLAIN",), deliverby=0, mt_priority=""
).extensions(tls_active=True, message_size=1000)

# ------------------------------------------------------------------ paths


@pytest.mark.parametrize(
    ("text", "local", "domain"),
    [
        ("<user@example.org>", "user", "example.org"),
        ("<first.last+tag@sub.example.org>", "first.last+tag", "sub.example.org"),
        ('<"john doe"@example.org>', "john doe", "example.org"),
        ('<"a\\"b\\\\c"@example.org>', 'a"b\\c', "example.org"),
        ("<user@[192.0.2.1]>", "user", "[192.0.2.1]"),
        ("<user@[IPv6:2001:db8::1]>", "user", "[IPv6:2001:db8::1]"),
        ("<user@[x-tag:abc]>", "user", "[x-tag:abc]"),
        # RFC 5321 §4.1.2: source routes MUST be accepted and SHOULD be ignored.
        ("<@hosta.int,@jkl.org:userc@d.bar.org>", "userc", "d.bar.org"),
        ("<用户@例子.广告>", "用户", "例子.广告"),
    ],
)
def test_valid_paths(text: str, local: str, domain: str) -> None:
    mailbox, rest = parse_path(text)
    assert rest == ""
    assert mailbox == Mailbox(local_part=local, domain=domain)


def test_null_and_postmaster() -> None:
    assert parse_path("<> SIZE=1", null_ok=True) == (None, " SIZE=1")
    with pytest.raises(ValueError):
        parse_path("<>")
    mb, _ = parse_path("<Postmaster>", postmaster_ok=True)
    assert mb is not None and mb.is_postmaster and str(mb) == "Postmaster"
    with pytest.raises(ValueError):
        parse_path("<Postmaster>")


@pytest.mark.parametrize(
    "text",
    [
        "user@example.org",  # no brackets
        "<user>",
        "<user@>",
        "<@example.org>",
        "<us er@example.org>",
        "<user@exa mple.org>",
        "<.user@example.org>",
        "<user.@example.org>",
        "<user..x@example.org>",
        "<user@-example.org>",
        "<user@example-.org>",
        "<user@[300.1.1.1]>",
        "<user@[IPv6:zz::1]>",
        "<user@example.org",
        '<"unterminated@example.org>',
        "<user@example.org>>",
    ],
)
def test_invalid_paths(text: str) -> None:
    with pytest.raises(ValueError):
        _, rest = parse_path(text)
        if rest:  # trailing garbage is the caller's error: simulate MAIL's check
            raise ValueError(rest)


def test_mailbox_rendering_quotes_when_needed() -> None:
    assert str(Mailbox(local_part="john doe", domain="x.org")) == '"john doe"@x.org'
    assert str(Mailbox(local_part='a"b', domain="x.org")) == '"a\\"b"@x.org'
    assert str(Mailbox(local_part="a.b", domain="x.org")) == "a.b@x.org"
    with pytest.raises(LocalProtocolError):
        Mailbox(local_part="a\r\nb", domain="x.org")
    with pytest.raises(LocalProtocolError):
        Mailbox(local_part="a", domain="bad domain")


_local = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=0, max_size=30
)
_domain = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}", fullmatch=True)


@given(local=_local, domain=_domain)
def test_mailbox_round_trip(local: str, domain: str) -> None:
    mb = Mailbox(local_part=local, domain=domain)
    assert parse_mailbox(str(mb)) == mb


# ------------------------------------------------------------------ xtext


@given(st.text(max_size=40))
def test_xtext_round_trip(value: str) -> None:
    enc = xtext_encode(value)
    assert enc.isascii() and " " not in enc and "=" not in enc
    assert xtext_decode(enc) == value


def test_xtext_examples() -> None:
    # RFC 3461 §4: "+" and "=" must be encoded, as hexchar with upper case.
    assert xtext_encode("a+b=c") == "a+2Bb+3Dc"
    assert xtext_decode("user+40example.org") == "user@example.org"
    for bad in ("a+2b", "a b", "a=b", "a+"):
        with pytest.raises(ValueError):
            xtext_decode(bad)


# ------------------------------------------------------------------ commands


def parse(line: bytes, utf8: bool = True) -> object:
    return parse_command(line, extensions=ALL, utf8=utf8)[1]


def test_mail_parameters_typed() -> None:
    ev = parse(
        b"MAIL FROM:<a@b.org> SIZE=12345 BODY=8bitmime SMTPUTF8 RET=HDRS "
        b"ENVID=QQ314159+2B AUTH=e+3Dmc2@example.com REQUIRETLS\r\n"
    )
    assert ev == MailFrom(
        sender=Mailbox(local_part="a", domain="b.org"),
        parameters=MailParameters(
            size=12345,
            body=Body.EIGHT_BIT_MIME,
            smtputf8=True,
            ret=Ret.HDRS,
            envid="QQ314159+",
            auth=MailAuth(mailbox="e=mc2@example.com"),
            requiretls=True,
        ),
    )


def test_rcpt_parameters_typed() -> None:
    ev = parse(b"RCPT TO:<c@d.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40d.org\r\n")
    assert ev == RcptTo(
        recipient=Mailbox(local_part="c", domain="d.org"),
        parameters=RcptParameters(
            notify=frozenset({NotifyCondition.SUCCESS, NotifyCondition.FAILURE}),
            orcpt=ORcpt(addr_type="rfc822", address="c@d.org"),
        ),
    )
    never = parse(b"RCPT TO:<c@d.org> NOTIFY=NEVER\r\n")
    assert isinstance(never, RcptTo) and never.parameters.notify == frozenset()


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"FOO bar\r\n", 500),
        (b"MAIL FROM:<a@b.org> SIZE=abc\r\n", 501),
        (b"MAIL FROM:<a@b.org> BODY=9BIT\r\n", 501),
        (b"MAIL FROM:<a@b.org> XFOO=1\r\n", 555),
        (b"MAIL FROM:<a@b.org> SIZE=1 SIZE=2\r\n", 501),
        (b"MAIL FROM:<a@b.org> RET=ALL\r\n", 501),
        (b"MAIL FROM:<a@b.org>SIZE=1\r\n", 501),
        (b"MAIL TO:<a@b.org>\r\n", 501),
        (b"MAIL FROM:a@b.org\r\n", 501),
        (b"RCPT TO:<c@d.org> NOTIFY=NEVER,SUCCESS\r\n", 501),
        (b"RCPT TO:<c@d.org> ORCPT=rfc822\r\n", 501),
        (b"RCPT TO:<>\r\n", 501),
        (b"DATA now\r\n", 501),
        (b"EHLO\r\n", 501),
        (b"EHLO a b\r\n", 501),
        (b"BDAT x\r\n", 501),
        (b"BDAT 10 FIRST\r\n", 501),
        (b"NOOP\x00\r\n", 500),
        (b"NOOP a\rb\r\n", 500),
        (b"NOOP\n", 500),
        (b"AUTH PL@IN\r\n", 501),
    ],
)
def test_command_errors(line: bytes, code: int) -> None:
    with pytest.raises(CommandError) as info:
        parse(line)
    assert info.value.reply.code == code


def test_parameters_of_unadvertised_extensions_refused() -> None:
    # After HELO nothing is advertised: every parameter gets 555.
    with pytest.raises(CommandError) as info:
        parse_command(b"MAIL FROM:<a@b.org> SIZE=10\r\n", extensions=Extensions(), utf8=False)
    assert info.value.reply.code == 555


def test_non_ascii_needs_utf8() -> None:
    with pytest.raises(CommandError) as info:
        parse("MAIL FROM:<ü@b.org>\r\n".encode(), utf8=False)
    assert info.value.reply.code == 500
    with pytest.raises(CommandError):
        parse(b"MAIL FROM:<\xff@b.org>\r\n")  # not UTF-8


def test_verbs_case_insensitive_and_lenient_space() -> None:
    assert parse(b"mail from: <a@b.org>\r\n") == MailFrom(
        sender=Mailbox(local_part="a", domain="b.org")
    )
    assert parse(b"bdat 10 last\r\n") == Bdat(size=10, last=True)
    assert parse_command(b"ehlo x.org\r\n", extensions=ALL, utf8=False)[0] is Verb.EHLO


_commands = st.one_of(
    st.builds(Ehlo, domain=_domain),
    st.builds(
        MailFrom,
        sender=st.one_of(st.none(), st.builds(Mailbox, local_part=_local, domain=_domain)),
        parameters=st.builds(
            MailParameters,
            size=st.one_of(st.none(), st.integers(0, 10**12)),
            body=st.one_of(st.none(), st.sampled_from(Body)),
            smtputf8=st.booleans(),
            ret=st.one_of(st.none(), st.sampled_from(Ret)),
            envid=st.one_of(st.none(), st.text(min_size=1, max_size=10)),
            auth=st.one_of(
                st.none(), st.builds(MailAuth, mailbox=st.one_of(st.none(), _local.filter(bool)))
            ),
            by=st.one_of(
                st.none(),
                st.builds(
                    DeliverBy,
                    seconds=st.integers(1, 999_999_999),
                    mode=st.sampled_from(ByMode),
                    trace=st.booleans(),
                ),
            ),
            mt_priority=st.one_of(st.none(), st.integers(-9, 9)),
        ),
    ),
    st.builds(
        RcptTo,
        recipient=st.builds(Mailbox, local_part=_local, domain=_domain),
        parameters=st.builds(
            RcptParameters,
            notify=st.one_of(st.none(), st.frozensets(st.sampled_from(NotifyCondition))),
            orcpt=st.one_of(
                st.none(),
                st.builds(ORcpt, addr_type=st.just("rfc822"), address=st.text(max_size=20)),
            ),
        ),
    ),
    st.builds(Bdat, size=st.integers(0, 10**9), last=st.booleans()),
)


@given(_commands)
def test_write_parse_round_trip(event: object) -> None:
    line = write_command(event)  # type: ignore[arg-type]
    assert parse(line) == event


# ------------------------------------------------------------------ replies


def test_reply_serialisation() -> None:
    r = Reply(code=250, lines=("first", "second"), enhanced_status="2.0.0")
    assert r.to_bytes() == b"250-2.0.0 first\r\n250 2.0.0 second\r\n"
    assert r.to_bytes(enhanced=False) == b"250-first\r\n250 second\r\n"
    assert Reply(code=250, lines="").to_bytes() == b"250\r\n"
    with pytest.raises(LocalProtocolError):
        Reply(code=250, lines="a\r\n250 injected")
    with pytest.raises(LocalProtocolError):
        Reply(code=250, enhanced_status="5.0.0")
    with pytest.raises(LocalProtocolError):
        Reply(code=600)


def feed_reply(data: bytes) -> Reply:
    parser = ReplyParser(max_lines=10)
    out = None
    for line in data.splitlines(keepends=True):
        out = parser.feed(line)
    assert out is not None
    return out


def test_reply_parsing_enhanced_and_multiline() -> None:
    r = feed_reply(b"550-5.1.1 No such\r\n550 5.1.1 user here\r\n")
    assert r == Reply(code=550, lines=("No such", "user here"), enhanced_status="5.1.1")
    assert feed_reply(b"250\r\n") == Reply(code=250, lines=("",))
    # A status whose class does not match the code is plain text.
    assert feed_reply(b"250 5.0.0 odd\r\n").enhanced_status is None


@pytest.mark.parametrize(
    "data",
    [b"25 short\r\n", b"250-a\r\n251 b\r\n", b"250 no crlf\n", b"600 x\r\n", b"250\x00\r\n"],
)
def test_bad_replies(data: bytes) -> None:
    with pytest.raises(ValueError):
        feed_reply(data)


@given(
    code=st.integers(200, 559).filter(lambda c: (c // 10) % 10 <= 5),
    lines=st.lists(
        st.text(st.characters(min_codepoint=32, max_codepoint=126)), min_size=1, max_size=5
    ),
)
def test_reply_round_trip(code: int, lines: list[str]) -> None:
    reply = Reply(code=code, lines=tuple(lines))
    back = feed_reply(reply.to_bytes())
    # Trailing-space-free texts survive exactly (an enhanced-looking prefix
    # may be split off, so compare the serialised form instead).
    assert back.to_bytes() == reply.to_bytes()


# ------------------------------------------------------------------ EHLO keywords


def test_extensions_from_lines() -> None:
    ext = Extensions.from_lines(
        [
            "PIPELINING",
            "SIZE 35882577",
            "AUTH LOGIN PLAIN",
            "AUTH=LOGIN XOAUTH2",
            "8bitmime",
            "!bad",
        ]
    )
    assert ext.pipelining and ext.eightbitmime and "8BITMIME" in ext
    assert ext.size == 35882577
    assert ext.auth_mechanisms == ("LOGIN", "PLAIN", "XOAUTH2")
    assert "!BAD" not in ext.keywords
    assert Extensions.from_lines(["SIZE"]).size is None
    assert Extensions.from_lines(ext.to_lines()) == ext


def test_server_config_advertises() -> None:
    cfg = ServerConfig(starttls=True, auth_mechanisms=("plain",))
    plain = cfg.extensions(tls_active=False, message_size=100)
    assert plain.starttls and "AUTH" not in plain and not plain.requiretls
    assert plain.size == 100
    tls = cfg.extensions(tls_active=True, message_size=None)
    assert not tls.starttls and tls.auth_mechanisms == ("PLAIN",) and tls.requiretls
    assert "SIZE" in tls and tls.size is None


def test_reply_constants_valid() -> None:
    for name in dir(replies):
        value = getattr(replies, name)
        if isinstance(value, Reply):
            assert value.to_bytes().endswith(b"\r\n")


def test_orcpt_utf8_addr_type_rfc6533() -> None:
    ev = parse("RCPT TO:<c@d.org> ORCPT=utf-8;用户\\x{2B}x@例子.广告\r\n".encode())
    assert isinstance(ev, RcptTo) and ev.parameters.orcpt == ORcpt(
        addr_type="utf-8", address="用户+x@例子.广告"
    )
    ascii_form = parse(b"RCPT TO:<c@d.org> ORCPT=utf-8;\\x{7528}a\\x{3D}b@x\r\n")
    assert isinstance(ascii_form, RcptTo) and ascii_form.parameters.orcpt is not None
    assert ascii_form.parameters.orcpt.address == "用a=b@x"
    with pytest.raises(CommandError):
        parse(b"RCPT TO:<c@d.org> ORCPT=utf-8;a\\x{D800}b\r\n")  # a surrogate


@given(st.text(min_size=1, max_size=30))
def test_utf8_addr_round_trip(value: str) -> None:
    from mailproto.smtp.extensions import utf8_addr_decode, utf8_addr_encode

    for unitext in (False, True):
        enc = utf8_addr_encode(value, unitext=unitext)
        assert unitext or enc.isascii()
        assert utf8_addr_decode(enc) == value


def test_deliverby_and_mt_priority() -> None:
    ev = parse(b"MAIL FROM:<a@b.org> BY=-30;NT MT-PRIORITY=-4\r\n")
    assert isinstance(ev, MailFrom)
    assert ev.parameters.by == DeliverBy(seconds=-30, mode=ByMode.NOTIFY, trace=True)
    assert ev.parameters.mt_priority == -4
    for bad in (b"BY=0;R", b"BY=10", b"BY=10;X", b"BY=1234567890;N", b"MT-PRIORITY=10"):
        with pytest.raises(CommandError) as info:
            parse(b"MAIL FROM:<a@b.org> " + bad + b"\r\n")
        assert info.value.reply.code == 501
    # Not advertised: 555.
    with pytest.raises(CommandError) as info:
        parse_command(
            b"MAIL FROM:<a@b.org> BY=10;R\r\n",
            extensions=ServerConfig().extensions(tls_active=False, message_size=None),
            utf8=False,
        )
    assert info.value.reply.code == 555


def test_parameterless_mail_and_rcpt_equal_the_general_parse() -> None:
    # MAIL/RCPT without parameters take a shortcut (a shared empty value);
    # it must be indistinguishable from parsing an empty parameter list.
    from mailproto.smtp import ServerConfig
    from mailproto.smtp._connection import _advertised
    from mailproto.smtp._readers import parse_command
    from mailproto.smtp.extensions import (
        parse_mail_parameters,
        parse_rcpt_parameters,
        split_parameters,
    )

    ext, _ = _advertised(ServerConfig(), False, 1000)
    for line in (b"MAIL FROM:<a@b.example>\r\n", b"MAIL FROM:<>  \r\n"):
        _, mail = parse_command(line, extensions=ext, utf8=True)
        assert isinstance(mail, MailFrom)
        assert mail.parameters == parse_mail_parameters(split_parameters(""), ext, frozenset())
    _, rcpt = parse_command(b"RCPT TO:<c@d.example> \r\n", extensions=ext, utf8=True)
    assert isinstance(rcpt, RcptTo)
    assert rcpt.parameters == parse_rcpt_parameters(split_parameters(""), ext, frozenset())
    _, mail = parse_command(b"MAIL FROM:<a@b.example> SIZE=10\r\n", extensions=ext, utf8=True)
    assert isinstance(mail, MailFrom) and mail.parameters.size == 10
