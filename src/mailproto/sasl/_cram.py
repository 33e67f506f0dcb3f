"""CRAM-MD5 (RFC 2195): a keyed-hash challenge/response.

The server sends a unique challenge in the form of a message-id
(``<random.timestamp@hostname>``, RFC 2195 §2); the client answers with its
user name, a space, and ``HMAC-MD5(password, challenge)`` as 32 lower-case
hex digits.  The password does not cross the wire, but the server must know
it (or the HMAC key schedule derived from it), and MD5/offline-guessing
weaknesses make it obsolete (RFC 6331 moved DIGEST-MD5, its sibling, to
Historic); it is offered for the many clients that still use it.

The mechanism never reads a clock (mailproto's core never does): the
"timestamp" part is a second random number unless the application passes
one, which keeps the challenge unique just as well.
"""

from __future__ import annotations

import re
import secrets

from mailproto.sasl._base import DEFAULT_MAX_RESPONSE_LENGTH, ClientMechanism, ServerMechanism
from mailproto.sasl._errors import SASLError
from mailproto.sasl._secret import Secret
from mailproto.sasl._steps import (
    Answer,
    Challenge,
    CheckCramDigest,
    Failure,
    Question,
    Step,
    Success,
    cram_md5_digest,
)

__all__ = ["CramMD5Client", "CramMD5Server"]

# RFC 2195 §2: the digest is 16 octets as lower-case hex; upper case is
# accepted (and folded) because some clients send it and it is unambiguous.
_DIGEST = re.compile(rb"[0-9a-fA-F]{32}")
_HOSTNAME = re.compile(r"[!-;=?-~]+")  # printable ASCII without "<", ">" and space


class CramMD5Server(ServerMechanism):
    """Server side of CRAM-MD5: asks :class:`~mailproto.sasl.CheckCramDigest`.

    *hostname* goes into the challenge.  *challenge* replaces the generated
    challenge entirely (for tests and RFC examples); *timestamp* replaces the
    second random number with a time of the application's choosing.
    """

    name = "CRAM-MD5"

    def __init__(
        self,
        *,
        hostname: str = "localhost",
        challenge: bytes | None = None,
        timestamp: int | None = None,
        max_response_length: int = DEFAULT_MAX_RESPONSE_LENGTH,
    ) -> None:
        super().__init__(max_response_length=max_response_length)
        if challenge is None:
            if not _HOSTNAME.fullmatch(hostname):
                raise ValueError("CRAM-MD5: hostname must be printable ASCII without <, > or space")
            stamp = secrets.randbelow(10**12) if timestamp is None else timestamp
            challenge = f"<{secrets.randbelow(10**12)}.{stamp}@{hostname}>".encode("ascii")
        self._challenge = challenge

    @property
    def challenge(self) -> bytes:
        """The challenge this exchange sends (or sent)."""
        return self._challenge

    def _on_response(self, response: bytes | None, first: bool) -> Step:
        if first:
            # CRAM-MD5 is server-first: an initial response (even "=") is a
            # client error (RFC 4422 §3.3).
            if response is not None:
                raise SASLError("CRAM-MD5: the mechanism has no initial response")
            return Challenge(data=self._challenge)
        assert response is not None
        name_b, space, digest_b = response.rpartition(b" ")
        if not space or not name_b or _DIGEST.fullmatch(digest_b) is None:
            raise SASLError("CRAM-MD5: response is not 'username SP 32HEXDIG'")
        try:
            username = name_b.decode("utf-8")
        except UnicodeDecodeError:
            raise SASLError("CRAM-MD5: user name is not UTF-8") from None
        return CheckCramDigest(
            username=username,
            challenge=self._challenge,
            digest=Secret(digest_b.decode("ascii").lower()),
        )

    def _on_answer(self, question: Question, answer: Answer) -> Step:
        assert isinstance(question, CheckCramDigest)
        if self._bool_answer(answer):
            return Success(authcid=question.username, authzid=None)
        return Failure(reason="credentials rejected by the application")


class CramMD5Client(ClientMechanism):
    """Client side of CRAM-MD5 (RFC 2195)."""

    name = "CRAM-MD5"

    def __init__(self, *, username: str, password: str | Secret[str]) -> None:
        super().__init__()
        self._username = username.encode("utf-8")
        self._password: Secret[str] = password if isinstance(password, Secret) else Secret(password)
        self._answered = False

    def _on_challenge(self, challenge: bytes) -> bytes:
        if self._answered:
            raise SASLError("CRAM-MD5: unexpected second challenge")
        if not challenge:
            raise SASLError("CRAM-MD5: empty challenge")
        self._answered = True
        digest = cram_md5_digest(self._password, challenge)
        return self._username + b" " + digest.encode("ascii")
