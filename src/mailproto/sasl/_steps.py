"""What a server mechanism says after each input: the *steps*.

A server mechanism is a function from "what the client just sent" (or "what
the application just answered") to one step:

``Challenge``
    Bytes for the protocol to send to the client (SMTP ``334``, POP3 and IMAP
    ``+``), after base64 encoding.  The next input is the client's response.
a *question* (a :class:`Question` subclass)
    The mechanism needs a policy decision or data only the application has:
    "is this the password of ``tim``?", "what are the stored SCRAM keys of
    ``user``?".  The next input is :meth:`ServerMechanism.answer`.
``Success`` / ``Failure``
    The exchange is over.

Questions are plain frozen values that carry everything needed to decide,
so the application can answer them synchronously, from another thread, after
an ``await`` — SASL does not care which concurrency model runs it.

Every field that may hold a secret is a :class:`~mailproto.sasl.Secret`, so a
step can be logged as is.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import attrs

from mailproto.sasl._md5ctx import context_from_key, hmac_from_context
from mailproto.sasl._saslprep import SASLprepError, saslprep
from mailproto.sasl._secret import Secret

__all__ = [
    "Answer",
    "Challenge",
    "CheckCramDigest",
    "CheckExternal",
    "CheckPassword",
    "CheckToken",
    "Failure",
    "LookupScramCredentials",
    "OAuthError",
    "Question",
    "ScramCredentials",
    "Step",
    "Success",
    "cram_md5_context",
    "cram_md5_digest",
]


@attrs.frozen(kw_only=True)
class Challenge:
    """Send :attr:`data` to the client and feed its response to ``step()``."""

    #: The raw (not yet base64-encoded) challenge; may be empty.
    data: bytes


@attrs.frozen(kw_only=True)
class Success:
    """The client authenticated.

    The identities are those the *application* accepted when it answered the
    mechanism's question; the protocol connection records them as the
    session's user.
    """

    #: The authentication identity (whose credentials were checked).  For
    #: EXTERNAL, XOAUTH2 and OAUTHBEARER it is the identity the application
    #: named in its answer, or the requested authzid if it answered ``True``.
    authcid: str
    #: The authorization identity the client asked to act as, or ``None``
    #: when it asked for none (act as :attr:`authcid`).
    authzid: str | None
    #: "Additional data with success" (RFC 4422 §3.6) for protocols that can
    #: carry it, else ``None``.  Only SCRAM produces it, and only when the
    #: mechanism was created with ``success_data=True``; otherwise SCRAM's
    #: server-final message is sent as a :class:`Challenge` first.
    data: bytes | None = None


@attrs.frozen(kw_only=True)
class Failure:
    """Authentication failed; the protocol sends its "auth failed" reply.

    The reason is for logs and never contains secrets; do not send it to the
    client verbatim (saying *why* authentication failed helps attackers).
    """

    #: Why, for the server's logs (e.g. ``"credentials rejected"``).
    reason: str
    #: The mechanism's own error message, when it defines one (SCRAM's
    #: ``e=invalid-proof`` server-final message), for protocols that can send
    #: data with a failure; ``None`` otherwise.
    data: bytes | None = None


class Question:
    """Base class of the questions a server mechanism asks the application.

    Answer with :meth:`ServerMechanism.answer`; each subclass documents the
    answer it expects.
    """

    __slots__ = ()


@attrs.frozen(kw_only=True)
class CheckPassword(Question):
    """PLAIN and LOGIN: may *authcid* log in with *password* (as *authzid*)?

    Answer ``True`` or ``False``.  :meth:`matches` compares with a stored
    password the way RFC 4616 §4 asks (both SASLprep'ed, constant time).
    """

    #: The mechanism that asked (``"PLAIN"`` or ``"LOGIN"``).
    mechanism: str
    #: Authentication identity (user name), as sent (UTF-8 decoded).
    authcid: str
    #: Requested authorization identity, ``None`` when the client sent none.
    #: Answering ``True`` means the application also allows *authcid* to act
    #: as *authzid*.
    authzid: str | None
    #: The password, as sent.
    password: Secret[str]

    def matches(self, stored_password: str | Secret[str]) -> bool:
        """Constant-time check of :attr:`password` against *stored_password*.

        Both are prepared with SASLprep (RFC 4013, as a query) first; when a
        side cannot be prepared (prohibited characters), the raw strings are
        compared instead, which can only match identical input.
        """
        stored = (
            stored_password.reveal() if isinstance(stored_password, Secret) else stored_password
        )
        return _prepared_equal(self.password.reveal(), stored)


@attrs.frozen(kw_only=True)
class CheckCramDigest(Question):
    """CRAM-MD5 (RFC 2195): is *digest* right for *username*'s password?

    Answer ``True`` or ``False``.  The digest is ``HMAC-MD5(password,
    challenge)`` in lower-case hex: :meth:`matches` computes and compares it
    for a plaintext password; :meth:`matches_context` does the same from the
    stored HMAC-MD5 key schedule (RFC 2104 §4), so that the server need not
    keep the plaintext.
    """

    #: The user name the client sent.
    username: str
    #: The challenge the server sent, exactly.
    challenge: bytes
    #: The client's 32 hex digit digest (lower case).
    digest: Secret[str]

    def matches(self, password: str | Secret[str]) -> bool:
        """Constant-time check of :attr:`digest` against *password*."""
        expected = cram_md5_digest(password, self.challenge)
        return hmac.compare_digest(expected.encode("ascii"), self.digest.reveal().encode("ascii"))

    def matches_context(self, context: bytes) -> bool:
        """Constant-time check of :attr:`digest` against a stored HMAC-MD5
        context (:func:`~mailproto.sasl.cram_md5_context`, or Dovecot's
        ``{CRAM-MD5}`` value hex-decoded), so the server need not keep the
        plaintext password."""
        expected = hmac_from_context(context, self.challenge).hex()
        return hmac.compare_digest(expected.encode("ascii"), self.digest.reveal().encode("ascii"))


@attrs.frozen(kw_only=True)
class LookupScramCredentials(Question):
    """SCRAM: what are the stored keys of *username*?

    Answer with a :class:`~mailproto.sasl.ScramCredentials` (from
    :func:`~mailproto.sasl.scram_credentials` at enrolment time), or ``None``
    when the user is unknown *or* may not act as *authzid*.  With ``None``
    the exchange continues with invented credentials and fails at the proof,
    so that a client cannot tell unknown users from wrong passwords.
    """

    #: ``"SCRAM-SHA-1"``, ``"SCRAM-SHA-256"`` or their ``-PLUS`` variants:
    #: the keys must have been derived with this hash.
    mechanism: str
    #: User name, unescaped (``=2C``/``=3D``) and SASLprep'ed (RFC 5802 §5.1).
    username: str
    #: Requested authorization identity, or ``None``.
    authzid: str | None


@attrs.frozen(kw_only=True)
class CheckToken(Question):
    """XOAUTH2 and OAUTHBEARER (RFC 7628): is *token* valid for *authzid*?

    Answer ``False``, or an :class:`~mailproto.sasl.OAuthError` describing
    why (its JSON is sent to the client, RFC 7628 §3.2.2), to reject.  To
    accept, answer with the user the token belongs to (a ``str``: it becomes
    :attr:`Success.authcid`), or ``True`` to take :attr:`authzid` as that
    user (``""`` when the client sent none).
    """

    #: ``"XOAUTH2"`` or ``"OAUTHBEARER"``.
    mechanism: str
    #: The user the client claims to be: XOAUTH2's ``user=``, OAUTHBEARER's
    #: gs2 ``a=`` (may be ``None`` there: the token alone identifies the user).
    authzid: str | None
    #: The bearer token (without the ``Bearer`` scheme).
    token: Secret[str]
    #: OAUTHBEARER ``host=`` key, if sent.
    host: str | None = None
    #: OAUTHBEARER ``port=`` key, if sent.
    port: int | None = None
    #: Other OAUTHBEARER key/value pairs, in order (RFC 7628 §3.1).
    extensions: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True)
class CheckExternal(Question):
    """EXTERNAL (RFC 4422 Appendix A): may the externally authenticated
    client (a TLS client certificate, a UNIX socket peer, ...) act as
    *authzid*?

    The mechanism knows nothing about the external credentials; the
    application does.  Answer ``False`` to reject; to accept, answer with the
    identity the external credentials establish (a ``str``, e.g. the TLS
    client certificate's subject: it becomes :attr:`Success.authcid`), or
    ``True`` to take :attr:`authzid` as that identity (``""`` when the client
    sent none).
    """

    #: The requested authorization identity, or ``None`` for "the identity
    #: of my external credentials".
    authzid: str | None


#: Everything a server mechanism step can return.
Step = Challenge | Success | Failure | Question


def cram_md5_digest(password: str | bytes | Secret[str] | Secret[bytes], challenge: bytes) -> str:
    """``HMAC-MD5(password, challenge)`` as 32 lower-case hex digits (RFC 2195 §2)."""
    if isinstance(password, Secret):
        key = password.reveal_bytes()
    elif isinstance(password, str):
        key = password.encode("utf-8")
    else:
        key = password
    return hmac.new(key, challenge, hashlib.md5).hexdigest()


def cram_md5_context(password: str | bytes | Secret[str] | Secret[bytes]) -> bytes:
    """The 32-byte HMAC-MD5 context a CRAM-MD5 server may store instead of
    the password (RFC 2104 §4): the outer then the inner MD5 state.

    It is Dovecot's ``{CRAM-MD5}`` scheme, hex-decoded, so existing Dovecot
    password files work with :meth:`CheckCramDigest.matches_context`.  It is
    password-equivalent *for CRAM-MD5* (whoever has it can answer any
    challenge): protect it like a password.
    """
    if isinstance(password, Secret):
        key = password.reveal_bytes()
    elif isinstance(password, str):
        key = password.encode("utf-8")
    else:
        key = password
    return context_from_key(key)


def _prepared_equal(supplied: str, stored: str) -> bool:
    try:
        left = saslprep(supplied, allow_unassigned=True)
        right = saslprep(stored, allow_unassigned=True)
    except SASLprepError:
        left, right = supplied, stored
    return hmac.compare_digest(
        left.encode("utf-8", "surrogatepass"), right.encode("utf-8", "surrogatepass")
    )


@attrs.frozen(kw_only=True)
class ScramCredentials:
    """What a SCRAM server stores per user instead of the password (RFC 5802 §3).

    ``StoredKey = H(ClientKey)`` lets the server check a client proof;
    ``ServerKey`` lets it prove to the client that it knew the password's
    derivation.  Neither lets anyone log in as the user without the password
    (though a stolen ``StoredKey`` plus a recorded exchange would, see
    RFC 5802 §9: protect the store).  The keys never appear in ``repr``.

    Build with :func:`~mailproto.sasl.scram_credentials`.
    """

    #: The salt (raw bytes; base64-encoded only on the wire).
    salt: bytes = attrs.field(validator=attrs.validators.instance_of(bytes))
    #: PBKDF2 iteration count used to derive the keys.
    iterations: int = attrs.field(validator=attrs.validators.instance_of(int))
    #: ``H(HMAC(SaltedPassword, "Client Key"))``.
    stored_key: bytes = attrs.field(repr=False, validator=attrs.validators.instance_of(bytes))
    #: ``HMAC(SaltedPassword, "Server Key")``.
    server_key: bytes = attrs.field(repr=False, validator=attrs.validators.instance_of(bytes))


@attrs.frozen(kw_only=True)
class OAuthError:
    """A detailed rejection of an OAuth token (RFC 7628 §3.2.2).

    Pass it to :meth:`ServerMechanism.answer` instead of ``False`` to tell
    the client what it needs; it is sent as the JSON error challenge.
    """

    #: The error code, an RFC 6750 §3.1 value such as ``"invalid_token"``
    #: (the default) or ``"insufficient_scope"``.
    status: str = "invalid_token"
    #: Space-separated scopes the client should request, if known.
    scope: str | None = None
    #: URL of the OpenID Connect discovery document, if any.
    openid_configuration: str | None = None
    #: XOAUTH2's ``schemes`` member (Google sends ``"Bearer"``); RFC 7628
    #: does not define it, so it is omitted unless given.
    schemes: str | None = None

    def to_json(self) -> bytes:
        """The JSON object RFC 7628 §3.2.2 sends as the error challenge.

        Members appear in the RFC's order (``status``, ``scope``,
        ``openid-configuration``), compact, so that the RFC 7628 §4.3
        example is reproduced byte for byte.
        """
        body: dict[str, str] = {"status": self.status}
        if self.schemes is not None:
            body["schemes"] = self.schemes
        if self.scope is not None:
            body["scope"] = self.scope
        if self.openid_configuration is not None:
            body["openid-configuration"] = self.openid_configuration
        return json.dumps(body, separators=(",", ":")).encode("utf-8")


#: What :meth:`ServerMechanism.answer` accepts: ``bool`` for the ``Check*``
#: questions; for :class:`CheckToken` and :class:`CheckExternal` also a
#: ``str``, meaning "accepted, and this is who the client is";
#: ``ScramCredentials | None`` for :class:`LookupScramCredentials`;
#: ``OAuthError`` (a detailed ``False``) for :class:`CheckToken`.
Answer = bool | str | ScramCredentials | OAuthError | None
