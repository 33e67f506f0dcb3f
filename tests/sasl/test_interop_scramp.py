"""SCRAM against an independent implementation: scramp (the SCRAM library
behind pg8000), both directions, with and without channel binding.

Dovecot (``test_interop_dovecot.py``) checks our client on non-PLUS SCRAM;
scramp adds our *server* against a foreign client and both ``-PLUS``
variants, which Dovecot 2.3 does not offer.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailproto import sasl
from tests.conftest import REQUIRE_PEERS

pytestmark = pytest.mark.interop


def _scramp() -> ModuleType:
    try:
        return importlib.import_module("scramp")
    except ImportError:
        msg = "scramp is not installed (pip install scramp)"
        if REQUIRE_PEERS:
            pytest.fail(msg + "; MAILPROTO_REQUIRE_PEERS=1 forbids skipping")
        pytest.skip(msg)


HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}
CB_DATA = bytes(range(32))

CASES = [
    pytest.param("SCRAM-SHA-1", None, id="SHA-1"),
    pytest.param("SCRAM-SHA-256", None, id="SHA-256"),
    pytest.param("SCRAM-SHA-1-PLUS", "tls-server-end-point", id="SHA-1-PLUS"),
    pytest.param("SCRAM-SHA-256-PLUS", "tls-server-end-point", id="SHA-256-PLUS-endpoint"),
    pytest.param("SCRAM-SHA-256-PLUS", "tls-unique", id="SHA-256-PLUS-unique"),
]
USERS = [("user", "pencil"), ("caröl", "pässwörd ünïcode"), ("a,b=c", "p=,w")]


def _base(mechanism: str) -> str:
    return mechanism.removesuffix("-PLUS")


def our_client_vs_scramp_server(mechanism: str, cb_type: str | None, user: str, pw: str) -> None:
    scramp = _scramp()
    binding = sasl.ChannelBinding(type=cb_type, data=CB_DATA) if cb_type else None
    scramp_mech = scramp.ScramMechanism(mechanism)
    # scramp's server stores the same four values ours does.
    auth_info = scramp_mech.make_auth_info(pw, iteration_count=4096)
    server = scramp_mech.make_server(
        lambda username: auth_info, channel_binding=(cb_type, CB_DATA) if cb_type else None
    )
    client_cls = sasl.CLIENT_MECHANISMS[mechanism]
    assert issubclass(client_cls, sasl.ScramClient)
    client = client_cls(username=user, password=pw, channel_binding=binding)

    first = client.initial_response()
    assert first is not None
    server.set_client_first(first.decode())
    final = client.respond(server.get_server_first().encode())
    server.set_client_final(final.decode())
    client.verify_final(server.get_server_final().encode())
    assert client.complete


def scramp_client_vs_our_server(mechanism: str, cb_type: str | None, user: str, pw: str) -> None:
    scramp = _scramp()
    client = scramp.ScramClient(
        [mechanism], user, pw, channel_binding=(cb_type, CB_DATA) if cb_type else None
    )
    bindings = [sasl.ChannelBinding(type=cb_type, data=CB_DATA)] if cb_type else []
    server = sasl.server_mechanism(mechanism, channel_bindings=bindings, success_data=True)
    creds = sasl.scram_credentials(pw, hash=HASHES[_base(mechanism)])

    question = server.step(client.get_client_first().encode())
    assert isinstance(question, sasl.LookupScramCredentials), question
    assert question.username == sasl.saslprep(user)
    challenge = server.answer(creds)
    assert isinstance(challenge, sasl.Challenge)
    client.set_server_first(challenge.data.decode())
    outcome = server.step(client.get_client_final().encode())
    assert isinstance(outcome, sasl.Success), outcome
    assert outcome.data is not None
    client.set_server_final(outcome.data.decode())  # raises if the signature is bad


@pytest.mark.parametrize(("user", "pw"), USERS)
@pytest.mark.parametrize(("mechanism", "cb_type"), CASES)
def test_our_client_against_scramp_server(
    mechanism: str, cb_type: str | None, user: str, pw: str
) -> None:
    our_client_vs_scramp_server(mechanism, cb_type, user, pw)


@pytest.mark.parametrize(("user", "pw"), USERS)
@pytest.mark.parametrize(("mechanism", "cb_type"), CASES)
def test_scramp_client_against_our_server(
    mechanism: str, cb_type: str | None, user: str, pw: str
) -> None:
    scramp_client_vs_our_server(mechanism, cb_type, user, pw)


def test_scramp_client_wrong_password_fails_on_our_server() -> None:
    scramp = _scramp()
    client = scramp.ScramClient(["SCRAM-SHA-256"], "user", "wrong")
    server = sasl.ScramSHA256Server()
    server.step(client.get_client_first().encode())
    challenge = server.answer(sasl.scram_credentials("pencil"))
    assert isinstance(challenge, sasl.Challenge)
    client.set_server_first(challenge.data.decode())
    outcome = server.step(client.get_client_final().encode())
    assert outcome == sasl.Failure(
        reason="invalid proof (wrong password or unknown user)", data=b"e=invalid-proof"
    )
    # scramp understands our server-error message as a failure.
    with pytest.raises(scramp.ScramException):
        client.set_server_final(outcome.data.decode())  # type: ignore[union-attr]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_stored_keys_agree_with_scramp(mechanism: str) -> None:
    scramp = _scramp()
    salt = b"0123456789abcdef"
    for _user, pw in USERS:
        theirs = scramp.ScramMechanism(mechanism).make_auth_info(
            pw, iteration_count=4096, salt=salt
        )
        ours = sasl.scram_credentials(pw, salt, 4096, HASHES[mechanism])
        assert (ours.salt, ours.stored_key, ours.server_key, ours.iterations) == tuple(theirs)


_printable = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)


def _stable(text: str) -> bool:
    # Compare like with like: inputs that SASLprep leaves unchanged, so the
    # result does not depend on how strictly each side prepares strings.
    try:
        return sasl.saslprep(text) == text
    except sasl.SASLprepError:
        return False


@settings(max_examples=25)
@given(user=_printable.filter(_stable), pw=_printable.filter(_stable), plus=st.booleans())
def test_property_both_directions(user: str, pw: str, plus: bool) -> None:
    mechanism = "SCRAM-SHA-256-PLUS" if plus else "SCRAM-SHA-256"
    cb_type = "tls-server-end-point" if plus else None
    our_client_vs_scramp_server(mechanism, cb_type, user, pw)
    scramp_client_vs_our_server(mechanism, cb_type, user, pw)
