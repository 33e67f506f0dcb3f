"""EXTERNAL (RFC 4422 Appendix A): authentication established outside SASL.

The client has already been authenticated by other means — a TLS client
certificate, the peer credentials of a UNIX socket, IPsec — and only says
which identity it wants to act as (or nothing: "whatever my credentials
say").  RFC 4422 App. A.1::

    message = [ authzid ] ; UTF-8, may be empty

Only the application knows the external credentials, so the server side
asks :class:`~mailproto.sasl.CheckExternal` and the application decides.
"""

from __future__ import annotations

from mailproto.sasl._base import ClientMechanism, ServerMechanism
from mailproto.sasl._errors import SASLError
from mailproto.sasl._steps import Answer, Challenge, CheckExternal, Failure, Question, Step, Success

__all__ = ["ExternalClient", "ExternalServer"]


class ExternalServer(ServerMechanism):
    """Server side of EXTERNAL: asks :class:`~mailproto.sasl.CheckExternal`."""

    name = "EXTERNAL"

    def _on_response(self, response: bytes | None, first: bool) -> Step:
        if response is None:
            return Challenge(data=b"")
        if b"\x00" in response:
            raise SASLError("EXTERNAL: NUL in authorization identity")
        try:
            authzid = response.decode("utf-8")
        except UnicodeDecodeError:
            raise SASLError("EXTERNAL: authorization identity is not UTF-8") from None
        return CheckExternal(authzid=authzid or None)

    def _on_answer(self, question: Question, answer: Answer) -> Step:
        assert isinstance(question, CheckExternal)
        identity = self._identity_answer(answer, question.authzid)
        if identity is not None:
            return Success(authcid=identity, authzid=question.authzid)
        return Failure(reason="external credentials rejected by the application")


class ExternalClient(ClientMechanism):
    """Client side of EXTERNAL; *authzid* ``None`` sends an empty message."""

    name = "EXTERNAL"

    def __init__(self, *, authzid: str | None = None) -> None:
        super().__init__()
        if authzid is not None and "\x00" in authzid:
            raise ValueError("EXTERNAL: NUL in authorization identity")
        self._message = (authzid or "").encode("utf-8")

    def _first_message(self) -> bytes:
        return self._message

    def _on_challenge(self, challenge: bytes) -> bytes:
        raise SASLError("EXTERNAL: unexpected challenge after the message was sent")
