"""Hypothesis properties over every mechanism.

* Every client completes against its own server side, with or without an
  initial response, for generated (SASLprep-able, Unicode) user names and
  passwords — and no secret ever shows in the repr of a step.
* A wrong password (token, identity) ends in :class:`Failure`, never an
  exception.
* Arbitrary bytes, fed as client responses to any server state, produce steps
  or :class:`SASLError` — nothing else; arbitrary challenges fed to clients
  likewise.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mailproto import sasl

ALL = sorted(sasl.SERVER_MECHANISMS)
EXTERNAL_IDENTITY = "cert-user"
ITERATIONS = 16
CB = sasl.ChannelBinding(type="tls-server-end-point", data=b"\x42" * 32)


def _prepares(text: str) -> bool:
    try:
        return bool(sasl.saslprep(text))
    except sasl.SASLprepError:
        return False


# Unicode text without surrogates or controls (those can never be prepared),
# kept only if SASLprep accepts it as a stored string.
_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=16
)
usernames = _text.filter(_prepares)
# Secrets carry a marker no repr of ours contains, so that "the secret is not
# in the repr" cannot pass or fail by coincidence (a password "-PLU" is in
# "SCRAM-SHA-1-PLUS").
passwords = _text.filter(_prepares).map(lambda text: "\u00a7" + text)
tokens = st.from_regex(r"[A-Za-z0-9\-._~+/]{1,40}={0,2}", fullmatch=True).map(
    lambda text: "Tq7Zk" + text
)


class App:
    """A toy application: one user, its password, its token; answers questions."""

    def __init__(self, mechanism: str, username: str, password: str, token: str) -> None:
        self.username = sasl.saslprep(username)
        self.password = password
        self.token = token
        self.scram: sasl.ScramCredentials | None = None
        if mechanism.startswith("SCRAM-"):
            hash_name = "sha1" if mechanism.startswith("SCRAM-SHA-1") else "sha256"
            # Few iterations keep the suite fast; the RFC example tests cover
            # the real count (4096).
            self.scram = sasl.scram_credentials(
                password, None, ITERATIONS, hash_name, allow_low_iterations=True
            )

    def answer(self, question: sasl.Question) -> sasl.Answer:
        if isinstance(question, sasl.CheckPassword):
            return (
                sasl.saslprep(question.authcid, allow_unassigned=True) == self.username
                and question.authzid is None
                and question.matches(self.password)
            )
        if isinstance(question, sasl.CheckCramDigest):
            return sasl.saslprep(question.username) == self.username and question.matches(
                self.password
            )
        if isinstance(question, sasl.LookupScramCredentials):
            return self.scram if question.username == self.username else None
        if isinstance(question, sasl.CheckToken):
            return question.token == sasl.Secret(self.token) and question.authzid == (self.username)
        assert isinstance(question, sasl.CheckExternal)
        return question.authzid in (None, EXTERNAL_IDENTITY)


def make_client(
    name: str, username: str, password: str, token: str, *, early: bool
) -> sasl.ClientMechanism:
    if name == "LOGIN":
        return sasl.LoginClient(username=username, password=password, send_username_early=early)
    if name == "EXTERNAL":
        return sasl.ExternalClient(authzid=EXTERNAL_IDENTITY)
    if name == "OAUTHBEARER":
        return sasl.OAuthBearerClient(token=token, authzid=sasl.saslprep(username))
    if name == "XOAUTH2":
        return sasl.XOAuth2Client(username=sasl.saslprep(username), token=token)
    if name.startswith("SCRAM-"):
        scram = sasl.CLIENT_MECHANISMS[name]
        assert issubclass(scram, sasl.ScramClient)
        return scram(
            username=username,
            password=password,
            channel_binding=CB if name.endswith("-PLUS") else None,
            min_iterations=ITERATIONS,
        )
    return sasl.client_mechanism(name, username=username, password=password)


def make_server(name: str) -> sasl.ServerMechanism:
    return sasl.server_mechanism(
        name, channel_bindings=[CB] if name.endswith("-PLUS") else [], hostname="mx.example"
    )


def run(
    client: sasl.ClientMechanism,
    server: sasl.ServerMechanism,
    answer: Callable[[sasl.Question], sasl.Answer],
    *,
    use_ir: bool,
) -> tuple[sasl.Success | sasl.Failure, list[object]]:
    """Drive a client and a server to the end; return the outcome and every step."""
    seen: list[object] = []
    step = server.step(client.initial_response() if use_ir else None)
    for _ in range(10):
        seen.append(step)
        if isinstance(step, sasl.Question):
            step = server.answer(answer(step))
        elif isinstance(step, sasl.Challenge):
            step = server.step(client.respond(step.data))
        else:
            assert isinstance(step, (sasl.Success, sasl.Failure))
            return step, seen
    raise AssertionError("exchange did not terminate")


@pytest.mark.parametrize("name", ALL)
@given(username=usernames, password=passwords, token=tokens, use_ir=st.booleans())
def test_client_completes_against_server(
    name: str, username: str, password: str, token: str, use_ir: bool
) -> None:
    app = App(name, username, password, token)
    client = make_client(name, username, password, token, early=use_ir)
    server = make_server(name)
    outcome, seen = run(client, server, app.answer, use_ir=use_ir)
    assert isinstance(outcome, sasl.Success), outcome
    client.verify_final(outcome.data)
    assert client.complete
    assert server.complete and server.outcome == outcome
    if name == "EXTERNAL":
        assert outcome.authzid == EXTERNAL_IDENTITY
    else:
        assert sasl.saslprep(outcome.authcid) == app.username
    # Secrets never show: not in any step, not in the mechanism objects.
    shown = "\n".join(repr(x) + str(x) for x in [*seen, client, server])
    for secret in (password, token):
        assume(secret not in username)
        assert secret not in shown
        assert repr(secret.encode())[2:-1] not in shown


@pytest.mark.parametrize("name", ALL)
@given(username=usernames, password=passwords, token=tokens, use_ir=st.booleans())
def test_wrong_credentials_fail_cleanly(
    name: str, username: str, password: str, token: str, use_ir: bool
) -> None:
    app = App(name, username, password, token)
    wrong_password = password + "x"
    wrong_token = token.rstrip("=") + "x"
    client: sasl.ClientMechanism
    if name == "EXTERNAL":
        client = sasl.ExternalClient(authzid="someone-else")
    else:
        client = make_client(name, username, wrong_password, wrong_token, early=use_ir)
    outcome, _ = run(client, make_server(name), app.answer, use_ir=use_ir)
    assert isinstance(outcome, sasl.Failure)
    if name.startswith("SCRAM-"):
        assert outcome.data == b"e=invalid-proof"
        with pytest.raises(sasl.SASLError):
            client.respond(outcome.data)


def _valid_answer(question: sasl.Question, draw_bool: bool) -> sasl.Answer:
    if isinstance(question, sasl.LookupScramCredentials):
        if not draw_bool:
            return None
        hash_name = "sha1" if question.mechanism.startswith("SCRAM-SHA-1") else "sha256"
        return _CREDS[hash_name]
    return draw_bool


_CREDS = {
    "sha1": sasl.scram_credentials("pw", b"salt", ITERATIONS, "sha1", allow_low_iterations=True),
    "sha256": sasl.scram_credentials(
        "pw", b"salt", ITERATIONS, "sha256", allow_low_iterations=True
    ),
}


@pytest.mark.parametrize("name", ALL)
@given(data=st.data())
def test_arbitrary_responses_give_steps_or_sasl_error(name: str, data: st.DataObject) -> None:
    server = make_server(name)
    # Reach deeper states: the first few responses may come from a real
    # client, the rest are arbitrary bytes.
    genuine = data.draw(st.integers(0, 3), label="genuine messages")
    client = make_client(name, "user", "pw", "tok", early=True)
    try:
        first: bytes | None
        if genuine:
            first = client.initial_response()
            genuine -= 1
        else:
            first = data.draw(st.none() | st.binary(max_size=200), label="initial")
        step = server.step(first)
        for _ in range(8):
            if isinstance(step, sasl.Question):
                step = server.answer(_valid_answer(step, data.draw(st.booleans())))
            elif isinstance(step, sasl.Challenge):
                if genuine:
                    genuine -= 1
                    response = client.respond(step.data)
                else:
                    response = data.draw(st.binary(max_size=200), label="response")
                step = server.step(response)
            else:
                assert isinstance(step, (sasl.Success, sasl.Failure))
                break
    except sasl.SASLError as exc:
        assert server.complete
        assert "pw" not in str(exc)


@pytest.mark.parametrize("name", ALL)
@given(data=st.data())
def test_arbitrary_challenges_give_responses_or_sasl_error(name: str, data: st.DataObject) -> None:
    client = make_client(name, "user", "pw", "tok", early=data.draw(st.booleans()))
    if data.draw(st.booleans()):
        client.initial_response()
    try:
        for _ in range(4):
            response = client.respond(data.draw(st.binary(max_size=200), label="challenge"))
            assert isinstance(response, bytes)
    except sasl.SASLError:
        pass


@given(st.text(max_size=30), st.booleans())
def test_saslprep_is_idempotent_or_raises(text: str, allow_unassigned: bool) -> None:
    try:
        once = sasl.saslprep(text, allow_unassigned=allow_unassigned)
    except sasl.SASLprepError:
        return
    assert sasl.saslprep(once, allow_unassigned=allow_unassigned) == once


# -- SCRAM integrity: a tampered message never authenticates ---------------------


def _mutate(data: bytes, position: int, value: int) -> bytes:
    position %= len(data)
    if data[position] == value:
        value ^= 0x01
    return data[:position] + bytes([value]) + data[position + 1 :]


SCRAM = [name for name in ALL if name.startswith("SCRAM-")]


@pytest.mark.parametrize("name", SCRAM)
@given(
    which=st.sampled_from(["client-first", "client-final"]),
    position=st.integers(0, 10_000),
    value=st.integers(0, 255),
)
def test_scram_server_never_accepts_a_tampered_client_message(
    name: str, which: str, position: int, value: int
) -> None:
    app = App(name, "user", "pencil", "tok")
    client = make_client(name, "user", "pencil", "tok", early=True)
    server = make_server(name)
    first = client.initial_response()
    assert first is not None
    try:
        if which == "client-first":
            first = _mutate(first, position, value)
        step = server.step(first)
        if not isinstance(step, sasl.LookupScramCredentials):
            return  # refused at once
        challenge = server.answer(app.answer(step))
        assert isinstance(challenge, sasl.Challenge)
        final = client.respond(challenge.data)
        if which == "client-final":
            # Only the part covered by AuthMessage: the proof's own base64
            # may have non-canonical spellings of the same bytes.
            cut = final.rindex(b",p=")
            final = _mutate(final[:cut], position, value) + final[cut:]
        outcome = server.step(final)
    except sasl.SASLError:
        return
    # A tampered message that still parses changes the AuthMessage (or the
    # channel binding) the server checks, so the proof cannot verify: the
    # server must fail, never send its signature (a Challenge) or succeed.
    assert isinstance(outcome, sasl.Failure), (which, outcome)


@pytest.mark.parametrize("name", SCRAM)
@given(
    which=st.sampled_from(["server-first", "server-final"]),
    position=st.integers(0, 10_000),
    value=st.integers(0, 255),
)
def test_scram_client_never_accepts_a_tampered_server_message(
    name: str, which: str, position: int, value: int
) -> None:
    app = App(name, "user", "pencil", "tok")
    client = make_client(name, "user", "pencil", "tok", early=True)
    server = make_server(name)
    step = server.step(client.initial_response())
    assert isinstance(step, sasl.LookupScramCredentials)
    challenge = server.answer(app.answer(step))
    assert isinstance(challenge, sasl.Challenge)
    try:
        server_first = challenge.data
        if which == "server-first":
            server_first = _mutate(server_first, position, value)
        final = client.respond(server_first)
        outcome = server.step(final)
        if not isinstance(outcome, sasl.Challenge):
            assert which == "server-first" and isinstance(outcome, sasl.Failure)
            return
        server_final = outcome.data
        if which == "server-final":
            cut = server_final.index(b"=") + 1
            body = server_final[cut:]
            decoded = sasl.decode_challenge(body)
            server_final = server_final[:cut] + sasl.encode_challenge(
                _mutate(decoded, position, value)
            )
        client.respond(server_final)
        client.verify_final()
    except sasl.SASLError:
        return
    pytest.fail(f"client accepted a tampered {which}")
