"""The RFCs' own example exchanges, byte for byte, on both sides.

Each test replays the messages printed in the RFC: the client must produce
exactly the client lines and the server exactly the server lines, given the
RFC's nonces, salts and challenges.  These are the tests that do not depend
on our reading of the specification.
"""

from __future__ import annotations

import base64
from typing import NamedTuple

import pytest

from mailproto import sasl


class ScramExample(NamedTuple):
    client_nonce: str
    server_nonce: str
    salt: str
    client_first: bytes
    server_first: bytes
    client_final: bytes
    server_final: bytes


# RFC 5802 §5 (SCRAM-SHA-1), user "user", password "pencil".
RFC5802 = ScramExample(
    client_nonce="fyko+d2lbbFgONRv9qkxdawL",
    server_nonce="3rfcNHYJY1ZVvWVs7j",
    salt="QSXCR+Q6sek8bf92",
    client_first=b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    server_first=b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    client_final=(
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    ),
    server_final=b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
)

# RFC 7677 §3 (SCRAM-SHA-256), same user and password.
RFC7677 = ScramExample(
    client_nonce="rOprNGfwEbeRWgbNEkqO",
    server_nonce="%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt="W22ZaJ0SNY7soEsUEjb6gQ==",
    client_first=b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    server_first=(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    ),
    client_final=(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    ),
    server_final=b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
)

SCRAM_CASES = [
    pytest.param(sasl.ScramSHA1Client, sasl.ScramSHA1Server, "sha1", RFC5802, id="RFC5802"),
    pytest.param(sasl.ScramSHA256Client, sasl.ScramSHA256Server, "sha256", RFC7677, id="RFC7677"),
]
ARGS = ("client_cls", "server_cls", "hash_name", "ex")


@pytest.mark.parametrize(ARGS, SCRAM_CASES)
def test_scram_client_side(
    client_cls: type[sasl.ScramClient],
    server_cls: type[sasl.ScramServer],
    hash_name: str,
    ex: ScramExample,
) -> None:
    client = client_cls(username="user", password="pencil", nonce=ex.client_nonce)
    assert client.initial_response() == ex.client_first
    assert client.respond(ex.server_first) == ex.client_final
    # Server-final delivered as a challenge: the client answers with nothing...
    assert client.respond(ex.server_final) == b""
    assert not client.complete
    # ...and completes when the protocol reports success.
    client.verify_final()
    assert client.complete


@pytest.mark.parametrize(ARGS, SCRAM_CASES)
def test_scram_client_side_success_data(
    client_cls: type[sasl.ScramClient],
    server_cls: type[sasl.ScramServer],
    hash_name: str,
    ex: ScramExample,
) -> None:
    client = client_cls(username="user", password="pencil", nonce=ex.client_nonce)
    client.initial_response()
    client.respond(ex.server_first)
    client.verify_final(ex.server_final)
    assert client.complete


@pytest.mark.parametrize(ARGS, SCRAM_CASES)
def test_scram_server_side(
    client_cls: type[sasl.ScramClient],
    server_cls: type[sasl.ScramServer],
    hash_name: str,
    ex: ScramExample,
) -> None:
    # The server works from stored keys only, derived once at enrolment.
    creds = sasl.scram_credentials("pencil", base64.b64decode(ex.salt), 4096, hash_name)
    server = server_cls(nonce=ex.server_nonce)
    assert server.step(None) == sasl.Challenge(data=b"")
    question = server.step(ex.client_first)
    assert question == sasl.LookupScramCredentials(
        mechanism=server.name, username="user", authzid=None
    )
    assert server.pending == question
    assert server.answer(creds) == sasl.Challenge(data=ex.server_first)
    assert server.step(ex.client_final) == sasl.Challenge(data=ex.server_final)
    assert server.step(b"") == sasl.Success(authcid="user", authzid=None)
    assert server.complete


@pytest.mark.parametrize(ARGS, SCRAM_CASES)
def test_scram_server_side_success_data(
    client_cls: type[sasl.ScramClient],
    server_cls: type[sasl.ScramServer],
    hash_name: str,
    ex: ScramExample,
) -> None:
    creds = sasl.scram_credentials("pencil", base64.b64decode(ex.salt), 4096, hash_name)
    server = server_cls(nonce=ex.server_nonce, success_data=True)
    server.step(ex.client_first)
    server.answer(creds)
    assert server.step(ex.client_final) == sasl.Success(
        authcid="user", authzid=None, data=ex.server_final
    )


def test_scram_sha1_rfc5802_wire_transcript() -> None:
    # The same exchange through the base64 helpers, as IMAP would carry it.
    server = sasl.ScramSHA1Server(nonce=RFC5802.server_nonce)
    client = sasl.ScramSHA1Client(username="user", password="pencil", nonce=RFC5802.client_nonce)
    creds = sasl.scram_credentials("pencil", base64.b64decode(RFC5802.salt), 4096, "sha1")
    line = sasl.encode_response(client.initial_response() or b"", initial=True)
    step = server.step(sasl.decode_response(line, initial=True))
    while not isinstance(step, (sasl.Success, sasl.Failure)):
        if isinstance(step, sasl.LookupScramCredentials):
            step = server.answer(creds)
            continue
        assert isinstance(step, sasl.Challenge)
        wire = sasl.encode_challenge(step.data)
        response = client.respond(sasl.decode_challenge(wire))
        step = server.step(sasl.decode_response(sasl.encode_response(response) + b"\r\n"))
    assert step == sasl.Success(authcid="user", authzid=None)
    client.verify_final()
    assert client.complete


# RFC 4616 §4: two example PLAIN messages.
@pytest.mark.parametrize(
    ("message", "authzid", "authcid", "password"),
    [
        (b"\x00tim\x00tanstaaftanstaaf", None, "tim", "tanstaaftanstaaf"),
        (b"Ursel\x00Kurt\x00xipj3plmq", "Ursel", "Kurt", "xipj3plmq"),
    ],
)
def test_plain_rfc4616(message: bytes, authzid: str | None, authcid: str, password: str) -> None:
    client = sasl.PlainClient(username=authcid, password=password, authzid=authzid)
    assert client.initial_response() == message
    server = sasl.PlainServer()
    question = server.step(message)
    assert isinstance(question, sasl.CheckPassword)
    assert (question.authcid, question.authzid) == (authcid, authzid)
    assert question.password.reveal() == password
    assert question.matches(password)
    assert not question.matches(password + "x")
    assert server.answer(True) == sasl.Success(authcid=authcid, authzid=authzid)


def test_plain_rfc4616_without_initial_response() -> None:
    # RFC 4616 §4's IMAP example: AUTHENTICATE "PLAIN", S: + "", C: message.
    server = sasl.PlainServer()
    client = sasl.PlainClient(username="tim", password="tanstaaftanstaaf")
    challenge = server.step(None)
    assert challenge == sasl.Challenge(data=b"")
    response = client.respond(b"")
    assert response == b"\x00tim\x00tanstaaftanstaaf"
    assert isinstance(server.step(response), sasl.CheckPassword)
    assert server.answer(False) == sasl.Failure(reason="credentials rejected by the application")


# RFC 2195 §2: the IMAP example.
CRAM_CHALLENGE_B64 = b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
CRAM_RESPONSE_B64 = b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"


def test_cram_md5_rfc2195() -> None:
    challenge = sasl.decode_challenge(CRAM_CHALLENGE_B64)
    assert challenge == b"<1896.697170952@postoffice.reston.mci.net>"
    assert sasl.cram_md5_digest("tanstaaftanstaaf", challenge) == "b913a602c7eda7a495b4e6e7334d3890"

    client = sasl.CramMD5Client(username="tim", password="tanstaaftanstaaf")
    assert client.initial_response() is None
    assert sasl.encode_response(client.respond(challenge)) == CRAM_RESPONSE_B64

    server = sasl.CramMD5Server(challenge=challenge)
    assert server.step(None) == sasl.Challenge(data=challenge)
    question = server.step(sasl.decode_response(CRAM_RESPONSE_B64))
    assert isinstance(question, sasl.CheckCramDigest)
    assert question.username == "tim"
    assert question.challenge == challenge
    assert question.matches("tanstaaftanstaaf")
    assert not question.matches("tanstaaftanstaafX")
    assert server.answer(True) == sasl.Success(authcid="tim", authzid=None)


# RFC 4013 §3 examples.
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("I\u00adX", "IX"),  # 1: SOFT HYPHEN mapped to nothing
        ("user", "user"),  # 2: no transformation
        ("USER", "USER"),  # 3: case preserved
        ("\u00aa", "a"),  # 4: output is NFKC
        ("\u2168", "IX"),  # 5: output is NFKC, matches #1
    ],
)
def test_saslprep_rfc4013_outputs(given: str, expected: str) -> None:
    assert sasl.saslprep(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "\u0007",  # 6: prohibited character
        "\u0627\u0031",  # 7: bidirectional check
    ],
)
def test_saslprep_rfc4013_errors(given: str) -> None:
    with pytest.raises(sasl.SASLprepError):
        sasl.saslprep(given)


def test_saslprep_example_1_matches_5() -> None:
    # "#5 ... will match #1": both prepare to the same string.
    assert sasl.saslprep("I\u00adX") == sasl.saslprep("\u2168")


# RFC 7628 §4.1: successful OAUTHBEARER over IMAP, with initial response.
OAUTHBEARER_IR_B64 = (
    b"bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9"
    b"QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
)
OAUTHBEARER_IR = (
    b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
    b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
)
OAUTHBEARER_TOKEN = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
# RFC 7628 §4.3: the failure, a JSON error challenge and the dummy response.
OAUTHBEARER_ERROR_B64 = (
    b"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3Vy"
    b"YXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0="
)
OAUTHBEARER_DUMMY_B64 = b"AQ=="


def test_oauthbearer_rfc7628_success() -> None:
    assert sasl.decode_response(OAUTHBEARER_IR_B64, initial=True) == OAUTHBEARER_IR
    client = sasl.OAuthBearerClient(
        token=OAUTHBEARER_TOKEN, authzid="user@example.com", host="server.example.com", port=143
    )
    assert sasl.encode_response(client.initial_response() or b"", initial=True) == (
        OAUTHBEARER_IR_B64
    )
    server = sasl.OAuthBearerServer()
    question = server.step(OAUTHBEARER_IR)
    assert isinstance(question, sasl.CheckToken)
    assert question.mechanism == "OAUTHBEARER"
    assert question.authzid == "user@example.com"
    assert question.token.reveal() == OAUTHBEARER_TOKEN
    assert (question.host, question.port, question.extensions) == ("server.example.com", 143, ())
    assert server.answer(True) == sasl.Success(
        authcid="user@example.com", authzid="user@example.com"
    )


def test_oauthbearer_rfc7628_failure() -> None:
    server = sasl.OAuthBearerServer()
    server.step(OAUTHBEARER_IR)
    error = sasl.OAuthError(
        status="invalid_token",
        scope="example_scope",
        openid_configuration="https://example.com/.well-known/openid-configuration",
    )
    challenge = server.answer(error)
    assert challenge == sasl.Challenge(data=base64.b64decode(OAUTHBEARER_ERROR_B64))
    assert isinstance(challenge, sasl.Challenge)
    assert sasl.encode_challenge(challenge.data) == OAUTHBEARER_ERROR_B64

    client = sasl.OAuthBearerClient(token=OAUTHBEARER_TOKEN, authzid="user@example.com")
    client.initial_response()
    dummy = client.respond(sasl.decode_challenge(OAUTHBEARER_ERROR_B64))
    assert sasl.encode_response(dummy) == OAUTHBEARER_DUMMY_B64
    assert client.error == {
        "status": "invalid_token",
        "scope": "example_scope",
        "openid-configuration": "https://example.com/.well-known/openid-configuration",
    }
    outcome = server.step(sasl.decode_response(OAUTHBEARER_DUMMY_B64))
    assert isinstance(outcome, sasl.Failure)
