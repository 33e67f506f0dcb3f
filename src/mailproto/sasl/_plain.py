"""PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login-00).

Both send the password itself, so they are ``plaintext`` mechanisms: offer
them only on TLS-protected connections (RFC 4616 §6).

PLAIN, RFC 4616 §2::

    message   = [authzid] UTF8NUL authcid UTF8NUL passwd
    authcid   = 1*SAFE ; MUST accept up to 255 octets
    authzid   = 1*SAFE ; MUST accept up to 255 octets
    passwd    = 1*SAFE ; MUST accept up to 255 octets
    SAFE      = UTF1 / UTF2 / UTF3 / UTF4 ;; any UTF-8 encoded Unicode character except NUL

LOGIN was never standardized; the de-facto exchange (Microsoft, Dovecot,
Postfix/Cyrus) is a ``Username:`` challenge answered with the user name and a
``Password:`` challenge answered with the password.  Many clients send the
user name as an initial response (``AUTH LOGIN dXNlcg==``): accepted.
"""

from __future__ import annotations

import enum

from mailproto.sasl._base import DEFAULT_MAX_RESPONSE_LENGTH, ClientMechanism, ServerMechanism
from mailproto.sasl._errors import SASLError
from mailproto.sasl._secret import Secret
from mailproto.sasl._steps import (
    Answer,
    Challenge,
    CheckPassword,
    Failure,
    Question,
    Step,
    Success,
)

__all__ = ["LoginClient", "LoginServer", "PlainClient", "PlainServer"]

_REJECTED = "credentials rejected by the application"


def _utf8(data: bytes, what: str, mechanism: str) -> str:
    # Strict UTF-8: the RFCs say UTF-8, and a lenient decode would let two
    # different byte strings name the same user.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SASLError(f"{mechanism}: {what} is not valid UTF-8") from None


def _secret_text(value: str | Secret[str]) -> Secret[str]:
    return value if isinstance(value, Secret) else Secret(value)


class PlainServer(ServerMechanism):
    """Server side of PLAIN: asks :class:`~mailproto.sasl.CheckPassword`."""

    name = "PLAIN"
    plaintext = True

    def _on_response(self, response: bytes | None, first: bool) -> Step:
        if response is None:
            # No initial response: ask for the message with an empty
            # challenge (RFC 4422 §5, RFC 4954 §4 "334 " with no text).
            return Challenge(data=b"")
        parts = response.split(b"\x00")
        if len(parts) != 3:
            raise SASLError("PLAIN: message must hold exactly two NUL separators")
        authzid_b, authcid_b, passwd_b = parts
        if not authcid_b or not passwd_b:
            raise SASLError("PLAIN: empty authentication identity or password")
        authzid = _utf8(authzid_b, "authorization identity", self.name) if authzid_b else None
        authcid = _utf8(authcid_b, "authentication identity", self.name)
        password = _utf8(passwd_b, "password", self.name)
        return CheckPassword(
            mechanism=self.name, authcid=authcid, authzid=authzid, password=Secret(password)
        )

    def _on_answer(self, question: Question, answer: Answer) -> Step:
        assert isinstance(question, CheckPassword)
        if self._bool_answer(answer):
            return Success(authcid=question.authcid, authzid=question.authzid)
        return Failure(reason=_REJECTED)


class PlainClient(ClientMechanism):
    """Client side of PLAIN (RFC 4616).

    *authzid* is the identity to act as (an administrator logging in as a
    user), usually omitted.
    """

    name = "PLAIN"
    plaintext = True

    def __init__(
        self, *, username: str, password: str | Secret[str], authzid: str | None = None
    ) -> None:
        super().__init__()
        if not username or "\x00" in username:
            raise ValueError("PLAIN: username must be non-empty and free of NUL")
        self._message = b"\x00".join(
            [
                (authzid or "").encode("utf-8"),
                username.encode("utf-8"),
                _secret_text(password).reveal_bytes(),
            ]
        )
        if self._message.count(b"\x00") != 2:
            raise ValueError("PLAIN: authzid and password must be free of NUL")

    def _first_message(self) -> bytes:
        return self._message

    def _on_challenge(self, challenge: bytes) -> bytes:
        raise SASLError("PLAIN: unexpected challenge after the message was sent")


class _LoginState(enum.Enum):
    USERNAME = "username"  # "Username:" sent, waiting for the user name
    PASSWORD = "password"  # "Password:" sent, waiting for the password


class LoginServer(ServerMechanism):
    """Server side of LOGIN: asks :class:`~mailproto.sasl.CheckPassword`
    (with ``authzid=None``: LOGIN cannot carry one)."""

    name = "LOGIN"
    plaintext = True

    #: The challenges everybody sends (clients key on them, case-insensitively).
    USERNAME_CHALLENGE = b"Username:"
    PASSWORD_CHALLENGE = b"Password:"

    def __init__(self, *, max_response_length: int = DEFAULT_MAX_RESPONSE_LENGTH) -> None:
        super().__init__(max_response_length=max_response_length)
        self._state = _LoginState.USERNAME
        self._username = ""

    def _on_response(self, response: bytes | None, first: bool) -> Step:
        if response is None:
            return Challenge(data=self.USERNAME_CHALLENGE)
        if self._state is _LoginState.USERNAME:
            if not response or b"\x00" in response:
                raise SASLError("LOGIN: empty user name or NUL in user name")
            self._username = _utf8(response, "user name", self.name)
            self._state = _LoginState.PASSWORD
            return Challenge(data=self.PASSWORD_CHALLENGE)
        if b"\x00" in response:
            raise SASLError("LOGIN: NUL in password")
        password = _utf8(response, "password", self.name)
        return CheckPassword(
            mechanism=self.name, authcid=self._username, authzid=None, password=Secret(password)
        )

    def _on_answer(self, question: Question, answer: Answer) -> Step:
        assert isinstance(question, CheckPassword)
        if self._bool_answer(answer):
            return Success(authcid=question.authcid, authzid=None)
        return Failure(reason=_REJECTED)


class LoginClient(ClientMechanism):
    """Client side of LOGIN.

    With *send_username_early*, :meth:`initial_response` returns the user
    name (common, not universal); otherwise it returns ``None`` and the user
    name answers the ``Username:`` challenge.  Challenges are recognized by
    their text (``user...``/``pass...``, any case); unrecognized texts are
    answered in order: user name first, then password.
    """

    name = "LOGIN"
    plaintext = True

    def __init__(
        self, *, username: str, password: str | Secret[str], send_username_early: bool = False
    ) -> None:
        super().__init__()
        self._username = username.encode("utf-8")
        self._password = _secret_text(password)
        self._early = send_username_early
        self._sent_username = False
        self._sent_password = False

    def initial_response(self) -> bytes | None:
        super().initial_response()
        if self._early:
            self._sent_username = True
            return self._username
        return None

    def _on_challenge(self, challenge: bytes) -> bytes:
        prompt = challenge.strip().lower()
        if prompt.startswith(b"user") and not self._sent_password:
            self._sent_username = True
            return self._username
        if prompt.startswith(b"pass") or self._sent_username:
            if self._sent_password:
                raise SASLError("LOGIN: password asked for twice")
            self._sent_password = True
            return self._password.reveal_bytes()
        self._sent_username = True
        return self._username
