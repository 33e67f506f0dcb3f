"""The base64 framing helpers and the :class:`~mailproto.sasl.Secret` wrapper."""

from __future__ import annotations

import contextlib
import pickle

import pytest
from hypothesis import given, reporting, settings
from hypothesis import strategies as st

from mailproto import ProtocolError, RemoteProtocolError, sasl

# -- transport -----------------------------------------------------------------


def test_empty_initial_response_is_equals_sign() -> None:
    # RFC 4954 §4: "=" is an initial response of zero length.
    assert sasl.encode_response(b"", initial=True) == b"="
    assert sasl.decode_response(b"=", initial=True) == b""
    # In a continuation line an empty response is simply empty.
    assert sasl.encode_response(b"") == b""
    assert sasl.decode_response(b"") == b""
    assert sasl.decode_response(b"\r\n") == b""


def test_equals_sign_is_not_valid_outside_initial_response() -> None:
    with pytest.raises(sasl.SASLError):
        sasl.decode_response(b"=")


@pytest.mark.parametrize("line", [b"*", b"*\r\n", b"*\n"])
def test_star_cancels(line: bytes) -> None:
    with pytest.raises(sasl.SASLCancelled) as info:
        sasl.decode_response(line)
    assert isinstance(info.value, sasl.SASLError)
    assert isinstance(info.value, RemoteProtocolError)
    with pytest.raises(sasl.SASLCancelled):
        sasl.decode_response(line, initial=True)


@pytest.mark.parametrize(
    "line",
    [
        b"dGlt!",  # outside the alphabet
        b"dGl",  # bad length
        b"dG==dGlt",  # padding in the middle
        b"dGltIA= ",  # trailing space
        b" dGlt",  # leading space
        b"dGlt\r\n\r\n",  # two terminators
        b"d=lt",
        b"dGltI===",
        b"-_8=",  # URL-safe alphabet is not base64
    ],
)
def test_malformed_base64_is_a_clean_error(line: bytes) -> None:
    with pytest.raises(sasl.SASLError):
        sasl.decode_response(line)
    with pytest.raises(sasl.SASLError):
        sasl.decode_challenge(line)


@given(st.binary(max_size=300))
def test_round_trip(data: bytes) -> None:
    assert sasl.decode_response(sasl.encode_response(data)) == data
    assert sasl.decode_response(sasl.encode_response(data, initial=True), initial=True) == data
    assert sasl.decode_challenge(sasl.encode_challenge(data)) == data


@given(st.binary(max_size=200))
def test_arbitrary_lines_decode_or_raise_sasl_error(line: bytes) -> None:
    for initial in (False, True):
        with contextlib.suppress(sasl.SASLError):
            sasl.decode_response(line, initial=initial)


# -- Secret --------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    secret = sasl.Secret("hunter2")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>20}"):
        assert "hunter2" not in text
        assert text == "Secret(***)"
    assert "hunter2" not in repr([secret, {"k": secret}])
    assert secret.reveal() == "hunter2"
    assert secret.reveal_bytes() == b"hunter2"
    assert sasl.Secret(b"\x00\xff").reveal_bytes() == b"\x00\xff"
    assert sasl.Secret("é").reveal_bytes() == "é".encode()


def test_secret_equality() -> None:
    assert sasl.Secret("a") == sasl.Secret("a")
    assert sasl.Secret("a") != sasl.Secret("b")
    assert sasl.Secret("a") != sasl.Secret(b"a")  # str and bytes secrets differ
    assert sasl.Secret("a") != "a"  # never equal to a plain value
    assert sasl.Secret("a") != sasl.Secret("aa")
    assert sasl.Secret("é") == sasl.Secret("é")
    assert hash(sasl.Secret("a")) == hash(sasl.Secret("a"))
    assert len(sasl.Secret("abc")) == 3


def test_secret_is_immutable_and_typed() -> None:
    secret = sasl.Secret("x")
    with pytest.raises(AttributeError):
        secret.__setattr__("_value", "y")
    with pytest.raises(TypeError):
        sasl.Secret(3)  # type: ignore[type-var]
    assert pickle.loads(pickle.dumps(secret)) == secret


def test_hypothesis_failure_report_does_not_show_secrets() -> None:
    # What hypothesis prints for a falsifying example is the repr (or the
    # pretty-printer hook) of the generated value: it must stay hidden.
    reports: list[str] = []

    @settings(database=None, max_examples=5)
    @given(st.builds(sasl.Secret, st.just("hunter2-plaintext")), st.just("x").map(sasl.Secret))
    def falsified(built: sasl.Secret[str], mapped: sasl.Secret[str]) -> None:
        raise AssertionError("fail on purpose")

    with (
        reporting.with_reporter(lambda value: reports.append(str(value))),
        pytest.raises(AssertionError) as info,
    ):
        falsified()
    text = "\n".join(reports) + "\n" + "\n".join(getattr(info.value, "__notes__", []))
    assert "Secret(***)" in text
    assert "hunter2" not in text


def test_steps_and_questions_hide_secrets() -> None:
    steps: list[object] = [
        sasl.CheckPassword(
            mechanism="PLAIN", authcid="u", authzid=None, password=sasl.Secret("hunter2")
        ),
        sasl.CheckToken(mechanism="XOAUTH2", authzid="u", token=sasl.Secret("hunter2")),
        sasl.CheckCramDigest(username="u", challenge=b"<1@x>", digest=sasl.Secret("hunter2")),
        sasl.ScramCredentials(
            salt=b"s", iterations=4096, stored_key=b"hunter2", server_key=b"hunter2"
        ),
        sasl.ChannelBinding(type="tls-exporter", data=b"hunter2"),
    ]
    for step in steps:
        assert "hunter2" not in repr(step)
        assert "hunter2" not in str(step)


def test_errors_are_protocol_errors() -> None:
    assert issubclass(sasl.SASLError, ProtocolError)
    assert issubclass(sasl.SASLprepError, ValueError)
