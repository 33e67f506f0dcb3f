"""OAuth 2.0 bearer tokens over SASL: OAUTHBEARER (RFC 7628) and XOAUTH2.

OAUTHBEARER, RFC 7628 §3.1::

    kvsep       = %x01
    key         = 1*(ALPHA)
    value       = *(VCHAR / SP / HTAB / CR / LF )
    kvpair      = key "=" value kvsep
    client-resp = (gs2-header kvsep *kvpair kvsep) / kvsep

The ``auth`` pair carries an RFC 6750 §2.1 credential, ``Bearer`` 1*SP
b64token; ``host`` and ``port`` say where the client connected.  On failure
the server sends one challenge, a JSON object (RFC 7628 §3.2.2), the client
answers with a lone ``kvsep`` (the "dummy" response) and the server then
fails the exchange.

XOAUTH2 is Google's older, simpler format (documented by Google, also
implemented by Microsoft, Dovecot and curl)::

    "user=" username %x01 "auth=Bearer " token %x01 %x01

with the same failure dance except that the client answers the JSON error
challenge with an empty response.

Both hand the whole bearer token to the server: ``plaintext`` mechanisms,
TLS only (RFC 7628 §5).  Validating the token (introspection, JWT
signature, audience) is entirely the application's job, asked through
:class:`~mailproto.sasl.CheckToken`.
"""

from __future__ import annotations

import enum
import json
import re

from mailproto.sasl._base import DEFAULT_MAX_RESPONSE_LENGTH, ClientMechanism, ServerMechanism
from mailproto.sasl._errors import SASLError
from mailproto.sasl._gs2 import build_gs2_header, parse_gs2_header
from mailproto.sasl._secret import Secret
from mailproto.sasl._steps import (
    Answer,
    Challenge,
    CheckToken,
    Failure,
    OAuthError,
    Question,
    Step,
    Success,
)

__all__ = ["OAuthBearerClient", "OAuthBearerServer", "XOAuth2Client", "XOAuth2Server"]

_KEY = re.compile(rb"[A-Za-z]+")
_VALUE = re.compile(rb"[\x21-\x7e \t\r\n]*")
# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token (scheme case-insensitive).
_BEARER = re.compile(rb"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")
_PORT = re.compile(rb"[0-9]{1,5}")
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

_REJECTED = "token rejected by the application"


def _bearer_token(value: bytes, mechanism: str) -> str:
    match = _BEARER.fullmatch(value)
    if match is None:
        raise SASLError(f"{mechanism}: auth value is not 'Bearer <b64token>'")
    return match.group(1).decode("ascii")


def _check_token(token: str | Secret[str]) -> Secret[str]:
    secret = token if isinstance(token, Secret) else Secret(token)
    if _TOKEN_TEXT.fullmatch(secret.reveal()) is None:
        # Refuse locally rather than send something the server must reject.
        raise ValueError("bearer token must be an RFC 6750 b64token")
    return secret


class _OAuthState(enum.Enum):
    MESSAGE = "message"  # waiting for the client's token message
    DUMMY = "dummy"  # error challenge sent, waiting for the dummy response


class _OAuthServer(ServerMechanism):
    plaintext = True
    # The exact dummy response the client owes after an error challenge.
    _dummy: bytes

    def __init__(self, *, max_response_length: int = DEFAULT_MAX_RESPONSE_LENGTH) -> None:
        super().__init__(max_response_length=max_response_length)
        self._state = _OAuthState.MESSAGE

    def _on_response(self, response: bytes | None, first: bool) -> Step:
        if response is None:
            return Challenge(data=b"")
        if self._state is _OAuthState.DUMMY:
            if response != self._dummy:
                raise SASLError(f"{self.name}: expected the dummy response after an error")
            return Failure(reason=_REJECTED)
        return self._parse(response)

    def _parse(self, response: bytes) -> CheckToken:
        raise NotImplementedError

    def _on_answer(self, question: Question, answer: Answer) -> Step:
        assert isinstance(question, CheckToken)
        if isinstance(answer, OAuthError):
            error = answer
        else:
            identity = self._identity_answer(answer, question.authzid)
            if identity is not None:
                return Success(authcid=identity, authzid=question.authzid)
            error = OAuthError()
        # RFC 7628 §3.2.2: the error is a challenge; the exchange fails after
        # the client's dummy response.
        self._state = _OAuthState.DUMMY
        return Challenge(data=error.to_json())


class OAuthBearerServer(_OAuthServer):
    """Server side of OAUTHBEARER: asks :class:`~mailproto.sasl.CheckToken`.

    The gs2 ``a=`` identity is optional: when the client sends none, the
    token alone says who the user is, and the application should answer with
    that user's name (a ``str``) so that :attr:`Success.authcid` names it.
    """

    name = "OAUTHBEARER"
    _dummy = b"\x01"

    def _parse(self, response: bytes) -> CheckToken:
        header, rest = parse_gs2_header(response, self.name)
        if header.flag == "p":
            # RFC 7628 §3.1: OAUTHBEARER defines no channel binding.
            raise SASLError("OAUTHBEARER: channel binding is not supported")
        if len(rest) < 2 or rest[:1] != b"\x01" or rest[-1:] != b"\x01":
            raise SASLError("OAUTHBEARER: message must be framed by kvsep (0x01)")
        body = rest[1:-1]
        pairs: dict[str, bytes] = {}
        order: list[str] = []
        if body:
            if body[-1:] != b"\x01":
                raise SASLError("OAUTHBEARER: key/value pair not terminated by kvsep")
            for item in body[:-1].split(b"\x01"):
                key, eq, value = item.partition(b"=")
                if not eq or _KEY.fullmatch(key) is None or _VALUE.fullmatch(value) is None:
                    raise SASLError("OAUTHBEARER: malformed key/value pair")
                name = key.decode("ascii")
                if name in pairs:
                    raise SASLError(f"OAUTHBEARER: duplicate key {name!r}")
                pairs[name] = value
                order.append(name)
        if "auth" not in pairs:
            raise SASLError("OAUTHBEARER: no auth key")
        token = _bearer_token(pairs["auth"], self.name)
        port: int | None = None
        if "port" in pairs:
            if _PORT.fullmatch(pairs["port"]) is None or int(pairs["port"]) > 65535:
                raise SASLError("OAUTHBEARER: malformed port")
            port = int(pairs["port"])
        host = pairs["host"].decode("ascii") if "host" in pairs else None
        extensions = tuple(
            (name, pairs[name].decode("ascii"))
            for name in order
            if name not in ("auth", "host", "port")
        )
        return CheckToken(
            mechanism=self.name,
            authzid=header.authzid,
            token=Secret(token),
            host=host,
            port=port,
            extensions=extensions,
        )


class XOAuth2Server(_OAuthServer):
    """Server side of XOAUTH2: asks :class:`~mailproto.sasl.CheckToken`."""

    name = "XOAUTH2"
    _dummy = b""

    def _parse(self, response: bytes) -> CheckToken:
        if not response.endswith(b"\x01\x01"):
            raise SASLError("XOAUTH2: message must end with two 0x01 octets")
        user: bytes | None = None
        auth: bytes | None = None
        for item in response[:-2].split(b"\x01"):
            key, eq, value = item.partition(b"=")
            if key == b"user" and eq and user is None:
                user = value
            elif key == b"auth" and eq and auth is None:
                auth = value
            else:
                raise SASLError("XOAUTH2: unexpected or repeated field")
        if not user or auth is None:
            raise SASLError("XOAUTH2: missing user or auth field")
        try:
            username = user.decode("utf-8")
        except UnicodeDecodeError:
            raise SASLError("XOAUTH2: user is not UTF-8") from None
        token = _bearer_token(auth, self.name)
        return CheckToken(mechanism=self.name, authzid=username, token=Secret(token))


class _OAuthClient(ClientMechanism):
    plaintext = True
    _dummy: bytes

    def __init__(self) -> None:
        super().__init__()
        self._message = b""
        #: The server's decoded JSON error (RFC 7628 §3.2.2), if it sent one.
        self.error: dict[str, object] | None = None

    def _first_message(self) -> bytes:
        return self._message

    def _on_challenge(self, challenge: bytes) -> bytes:
        if self.error is not None:
            raise SASLError(f"{self.name}: unexpected challenge after the error")
        try:
            error = json.loads(challenge.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SASLError(f"{self.name}: server challenge is not a JSON error") from None
        if not isinstance(error, dict):
            raise SASLError(f"{self.name}: server challenge is not a JSON object")
        self.error = error
        return self._dummy


class OAuthBearerClient(_OAuthClient):
    """Client side of OAUTHBEARER (RFC 7628).

    *authzid* is the user to log in as (usually the mailbox owner); *host*
    and *port* are where the client connected (RFC 7628 §3.1 makes them
    optional but recommends them).  After a failure, :attr:`error` holds the
    server's JSON error.
    """

    name = "OAUTHBEARER"
    _dummy = b"\x01"

    def __init__(
        self,
        *,
        token: str | Secret[str],
        authzid: str | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__()
        secret = _check_token(token)
        pairs = b""
        if host is not None:
            if _VALUE.fullmatch(host.encode("utf-8")) is None or "\x01" in host:
                raise ValueError("OAUTHBEARER: host must be printable ASCII")
            pairs += b"host=" + host.encode("ascii") + b"\x01"
        if port is not None:
            if not 0 <= port <= 65535:
                raise ValueError("OAUTHBEARER: port out of range")
            pairs += b"port=%d\x01" % port
        pairs += b"auth=Bearer " + secret.reveal_bytes() + b"\x01"
        self._message = build_gs2_header("n", None, authzid) + b"\x01" + pairs + b"\x01"


class XOAuth2Client(_OAuthClient):
    """Client side of XOAUTH2 (Google's format)."""

    name = "XOAUTH2"
    _dummy = b""

    def __init__(self, *, username: str, token: str | Secret[str]) -> None:
        super().__init__()
        secret = _check_token(token)
        if not username or "\x01" in username:
            raise ValueError("XOAUTH2: username must be non-empty and free of 0x01")
        self._message = (
            b"user="
            + username.encode("utf-8")
            + b"\x01auth=Bearer "
            + secret.reveal_bytes()
            + b"\x01\x01"
        )
