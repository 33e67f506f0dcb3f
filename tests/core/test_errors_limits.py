"""The error tree and the limits objects."""

from __future__ import annotations

import attrs
import pytest

import mailproto
from mailproto import (
    NEED_DATA,
    PAUSED,
    LimitExceeded,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    ReplyHint,
    Sentinel,
)
from mailproto.limits import IMAPLimits, MessageLimits, POP3Limits, SMTPLimits


def test_error_tree_is_split_by_fault() -> None:
    assert issubclass(LocalProtocolError, ProtocolError)
    assert issubclass(RemoteProtocolError, ProtocolError)
    assert issubclass(LimitExceeded, RemoteProtocolError)
    assert not issubclass(LocalProtocolError, RemoteProtocolError)


def test_remote_error_carries_reply_hint() -> None:
    hint = ReplyHint(text="Syntax error", code=500, enhanced_status="5.5.2")
    err = RemoteProtocolError("bad command", hint=hint)
    assert err.message == "bad command"
    assert err.hint is hint and err.hint.fatal
    assert str(err) == "bad command"
    assert LocalProtocolError("x").hint is None


def test_limit_exceeded_names_the_limit() -> None:
    err = LimitExceeded("too long", limit="line_length", bound=10)
    assert (err.limit, err.bound) == ("line_length", 10)


def test_reply_hint_is_frozen_and_keyword_only() -> None:
    hint = ReplyHint(text="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        hint.text = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ReplyHint("x")  # type: ignore[call-arg]


def test_sentinels() -> None:
    assert NEED_DATA is Sentinel.NEED_DATA and PAUSED is Sentinel.PAUSED
    assert repr(NEED_DATA) == "NEED_DATA"
    assert mailproto.NEED_DATA is not mailproto.PAUSED


@pytest.mark.parametrize("cls", [SMTPLimits, POP3Limits, IMAPLimits, MessageLimits])
def test_limits_defaults_are_positive_and_overridable(cls: type) -> None:
    limits = cls()
    for field in attrs.fields(cls):
        value = getattr(limits, field.name)
        assert value is None or (isinstance(value, int) and value > 0), field.name
        assert field.metadata is not None
    first = attrs.fields(cls)[0]
    changed = attrs.evolve(limits, **{first.name: 12345})
    assert getattr(changed, first.name) == 12345


@pytest.mark.parametrize("cls", [SMTPLimits, POP3Limits, IMAPLimits, MessageLimits])
def test_limits_refuse_nonpositive(cls: type) -> None:
    first = attrs.fields(cls)[0]
    with pytest.raises(ValueError):
        cls(**{first.name: 0})


def test_rfc_minimums_are_respected_by_defaults() -> None:
    smtp = SMTPLimits()
    assert smtp.command_line_length >= 512  # RFC 5321 §4.5.3.1.4
    assert smtp.recipients >= 100  # RFC 5321 §4.5.3.1.8
    assert smtp.message_size is None or smtp.message_size >= 65536  # §4.5.3.1.7
    assert smtp.auth_line_length >= 12288  # RFC 4954 §4
    assert POP3Limits().command_line_length >= 255  # RFC 2449 §4
    assert POP3Limits().response_line_length >= 512  # RFC 2449 §4
    assert IMAPLimits().line_length >= 8192  # RFC 7162 §4
