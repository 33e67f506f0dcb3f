"""SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), with ``-PLUS``.

The exchange (RFC 5802 §3, §5)::

    C: n,,n=user,r=<client nonce>                      client-first
    S: r=<client nonce><server nonce>,s=<salt>,i=4096  server-first
    C: c=biws,r=<both nonces>,p=<ClientProof>          client-final
    S: v=<ServerSignature>                             server-final

with, for a password prepared by SASLprep (RFC 5802 §2.2)::

    SaltedPassword  := Hi(Normalize(password), salt, i)    (= PBKDF2-HMAC-H)
    ClientKey       := HMAC(SaltedPassword, "Client Key")
    StoredKey       := H(ClientKey)
    AuthMessage     := client-first-message-bare + "," +
                       server-first-message + "," +
                       client-final-message-without-proof
    ClientSignature := HMAC(StoredKey, AuthMessage)
    ClientProof     := ClientKey XOR ClientSignature
    ServerKey       := HMAC(SaltedPassword, "Server Key")
    ServerSignature := HMAC(ServerKey, AuthMessage)

The server stores only ``salt``, ``i``, ``StoredKey`` and ``ServerKey``
(:class:`~mailproto.sasl.ScramCredentials`): it recovers ``ClientKey`` from
the proof (``ClientProof XOR ClientSignature``) and checks that its hash is
``StoredKey``.  Both sides prove knowledge: the client checks
``ServerSignature`` (:meth:`ClientMechanism.verify_final`).

Channel binding (RFC 5802 §6, RFC 5929, RFC 9266): the GS2 header's flag is
``p=<type>`` when the client binds to the TLS channel (``-PLUS``
mechanisms), ``y`` when it could but believes the server cannot (the server
then fails if it *does* support binding: that is a downgrade attack), ``n``
when it cannot.  ``c=`` carries the base64 of the GS2 header followed by the
channel binding data, which the application obtains from its TLS library
(``tls-exporter``: the 32-byte exporter with label "EXPORTER-Channel-Binding"
and no context, RFC 9266; ``tls-server-end-point``: the hash of the server
certificate, RFC 5929 §4; ``tls-unique``: the first Finished message, TLS
1.2 only).  The mechanism treats that data as opaque bytes.

Bounds
    The iteration count is what makes offline guessing expensive, and also
    what a hostile server could inflate to make a client spin: a client
    refuses counts below ``min_iterations`` (4096, RFC 7677 §4 and RFC 5802
    §5.1's recommendation) and above ``max_iterations``
    (:data:`MAX_SCRAM_ITERATIONS`, two million: above OWASP's 2023 advice of
    1.3 million for PBKDF2-HMAC-SHA1 and 600 000 for SHA-256, and about a
    second of CPU per login on current hardware).  A server never iterates;
    it works from stored keys.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from typing import ClassVar

import attrs

from mailproto.errors import LocalProtocolError
from mailproto.sasl._base import DEFAULT_MAX_RESPONSE_LENGTH, ClientMechanism, ServerMechanism
from mailproto.sasl._errors import SASLError
from mailproto.sasl._gs2 import (
    GS2Header,
    build_gs2_header,
    escape_saslname,
    parse_gs2_header,
    unescape_saslname,
)
from mailproto.sasl._saslprep import SASLprepError, saslprep
from mailproto.sasl._secret import Secret
from mailproto.sasl._steps import (
    Answer,
    Challenge,
    Failure,
    LookupScramCredentials,
    Question,
    ScramCredentials,
    Step,
    Success,
)

__all__ = [
    "DEFAULT_SCRAM_ITERATIONS",
    "MAX_SCRAM_ITERATIONS",
    "ChannelBinding",
    "ScramClient",
    "ScramSHA1Client",
    "ScramSHA1PlusClient",
    "ScramSHA1PlusServer",
    "ScramSHA1Server",
    "ScramSHA256Client",
    "ScramSHA256PlusClient",
    "ScramSHA256PlusServer",
    "ScramSHA256Server",
    "ScramServer",
    "scram_credentials",
]

#: Iteration count :func:`scram_credentials` uses unless told otherwise: the
#: minimum RFC 7677 §4 requires for SCRAM-SHA-256 (and RFC 5802's example).
#: Deployments should choose more (Dovecot's default is 4096; OWASP 2023 says
#: 600 000 for SHA-256) since the count is only paid once per login.
DEFAULT_SCRAM_ITERATIONS = 4096
#: The smallest count :func:`scram_credentials` derives and a client accepts
#: by default (RFC 7677 §4: "at least 4096").
MIN_SCRAM_ITERATIONS = 4096
#: The largest iteration count a client accepts by default and
#: :func:`scram_credentials` derives: bounds the CPU a hostile server can make
#: a client burn (see the module docstring).
MAX_SCRAM_ITERATIONS = 2_000_000

# hash name -> (hash constructor, digest size, hashlib name)
_HASHES: dict[str, tuple[Callable[..., hashlib._Hash], int]] = {
    "sha1": (hashlib.sha1, 20),
    "sha256": (hashlib.sha256, 32),
}

# RFC 5802 §7 with erratum 2651: c-nonce / s-nonce = 1*printable,
# printable = %x21-2B / %x2D-7E (printable ASCII except ",").
_PRINTABLE = re.compile(rb"[\x21-\x2b\x2d-\x7e]+")
_POSITIVE = re.compile(rb"[1-9][0-9]{0,9}")
# attr-val = ALPHA "=" value; we split on "," first, so only the shape of
# the attribute name needs checking here.
_ATTR = re.compile(rb"([A-Za-z])=(.*)", re.DOTALL)
# RFC 5802 §7 server-error-value: ASCII words with "-"; anything else is
# reported generically.
_SERVER_ERROR = re.compile(rb"[a-z0-9-]{1,64}")

# Key for deriving a stable fake salt for unknown users (RFC 5802 §9 asks
# servers not to reveal whether a user exists).  Per process: a client that
# asks twice sees the same salt for the same unknown name.
_FAKE_SALT_KEY = secrets.token_bytes(32)


@attrs.frozen(kw_only=True)
class ChannelBinding:
    """Channel binding data the application got from its TLS library."""

    #: The channel binding type (RFC 5056 registry): ``"tls-exporter"``,
    #: ``"tls-server-end-point"`` or ``"tls-unique"``.
    type: str = attrs.field()
    #: The binding data, raw bytes.  Not shown in ``repr``.
    data: bytes = attrs.field(repr=False, validator=attrs.validators.instance_of(bytes))

    @type.validator
    def _check_type(self, attribute: object, value: str) -> None:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9.-]+", value):
            raise ValueError("channel binding type must match 1*(ALPHA / DIGIT / '.' / '-')")


# -- the primitives of RFC 5802 §2.2 -----------------------------------------


def _hmac(hash_name: str, key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, _HASHES[hash_name][0]).digest()


def _h(hash_name: str, data: bytes) -> bytes:
    return _HASHES[hash_name][0](data).digest()


def _hi(hash_name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
    # Hi() is PBKDF2 with HMAC-H and dkLen = the hash size (RFC 5802 §2.2).
    return hashlib.pbkdf2_hmac(hash_name, password, salt, iterations)


def _xor(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left, "big") ^ int.from_bytes(right, "big")).to_bytes(len(left), "big")


def _normalize_password(password: str | Secret[str], *, stored: bool) -> bytes:
    text = password.reveal() if isinstance(password, Secret) else password
    return saslprep(text, allow_unassigned=not stored).encode("utf-8")


def _b64decode(value: bytes, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SASLError(f"SCRAM: {what} is not valid base64") from None


def _attributes(message: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """Split ``a=v,b=w`` into pairs; raise :class:`SASLError` if malformed."""
    pairs = []
    for part in message.split(b","):
        match = _ATTR.fullmatch(part)
        if match is None:
            raise SASLError(f"SCRAM: malformed attribute in {what}")
        pairs.append((match.group(1), match.group(2)))
    return pairs


def scram_credentials(
    password: str | Secret[str],
    salt: bytes | None = None,
    iterations: int = DEFAULT_SCRAM_ITERATIONS,
    hash: str = "sha256",
    *,
    allow_low_iterations: bool = False,
) -> ScramCredentials:
    """Derive the keys a SCRAM server stores for *password* (RFC 5802 §3).

    Call it when a user sets a password and store the result; the password
    itself need not be kept.  *hash* is ``"sha256"`` (SCRAM-SHA-256) or
    ``"sha1"`` (SCRAM-SHA-1): a user needs one set per mechanism offered.
    *salt* defaults to 16 random bytes.  The password is prepared with
    SASLprep as a stored string (unassigned code points refused,
    :class:`~mailproto.sasl.SASLprepError`).  *iterations* must be at least
    4096 (RFC 7677 §4) unless *allow_low_iterations* (tests only) and at most
    :data:`MAX_SCRAM_ITERATIONS`.
    """
    if hash not in _HASHES:
        raise ValueError(f"unsupported SCRAM hash {hash!r} (use 'sha1' or 'sha256')")
    low = 1 if allow_low_iterations else MIN_SCRAM_ITERATIONS
    if not low <= iterations <= MAX_SCRAM_ITERATIONS:
        raise ValueError(f"SCRAM iteration count must be in [{low}, {MAX_SCRAM_ITERATIONS}]")
    if salt is None:
        salt = secrets.token_bytes(16)
    if not salt:
        raise ValueError("SCRAM salt must not be empty")
    salted = _hi(hash, _normalize_password(password, stored=True), salt, iterations)
    client_key = _hmac(hash, salted, b"Client Key")
    return ScramCredentials(
        salt=salt,
        iterations=iterations,
        stored_key=_h(hash, client_key),
        server_key=_hmac(hash, salted, b"Server Key"),
    )


def _check_nonce(nonce: str) -> bytes:
    raw = nonce.encode("ascii", "replace")
    if _PRINTABLE.fullmatch(raw) is None:
        raise ValueError("SCRAM nonce must be printable ASCII without ','")
    return raw


def _new_nonce() -> bytes:
    # 18 random bytes -> 24 URL-safe base64 characters, all "printable".
    return secrets.token_urlsafe(18).encode("ascii")


# -- server ---------------------------------------------------------------------


class _ServerState(enum.Enum):
    """Where a SCRAM server is in RFC 5802 §5's exchange.

    =============  ===============================  ==================  ============
    state          input                            output              next state
    =============  ===============================  ==================  ============
    CLIENT_FIRST   client-first-message             LookupScram...      LOOKUP
    CLIENT_FIRST   (bad channel binding / name)     Failure(e=...)      (done)
    LOOKUP         answer: credentials or None      server-first        CLIENT_FINAL
    CLIENT_FINAL   client-final, proof verifies     server-final        ACK
    CLIENT_FINAL   ... with ``success_data``        Success(data=v=..)  (done)
    CLIENT_FINAL   proof or binding wrong           Failure(e=...)      (done)
    ACK            empty response                   Success             (done)
    =============  ===============================  ==================  ============

    Anything else is a :class:`SASLError` (malformed) or, for calls out of
    order, a :class:`~mailproto.errors.LocalProtocolError` from the base class.
    """

    CLIENT_FIRST = "client-first"  # waiting for client-first-message
    LOOKUP = "lookup"  # LookupScramCredentials asked
    CLIENT_FINAL = "client-final"  # server-first sent, waiting for client-final
    ACK = "ack"  # server-final sent as a challenge, waiting for ""


class ScramServer(ServerMechanism):
    """Server side of SCRAM: asks :class:`~mailproto.sasl.LookupScramCredentials`.

    Use a concrete subclass (:class:`ScramSHA256Server`, ...).

    *channel_bindings* lists the channel bindings this connection can offer
    (empty without TLS).  When it is not empty the server is taken to
    advertise the ``-PLUS`` variant, so a non-PLUS client saying ``y``
    (RFC 5802 §6) is refused as a downgrade.  *nonce* fixes the server's
    nonce part (tests); by default it is 24 random characters.
    *success_data* returns the server-final message inside
    :class:`~mailproto.sasl.Success` (for protocols with "additional data
    with success"); by default it is sent as a last :class:`Challenge` and the
    client's empty response yields :class:`Success` — the form SMTP
    (RFC 4954 §4), POP3 (RFC 5034 §4) and IMAP (RFC 9051 §6.2.2) use.
    *unknown_user_iterations* is the iteration count announced for users the
    application does not know: set it to the count real users have, so that
    it does not give unknown names away.
    """

    _hash: ClassVar[str]
    _plus: ClassVar[bool] = False

    def __init__(
        self,
        *,
        channel_bindings: Iterable[ChannelBinding] = (),
        nonce: str | None = None,
        success_data: bool = False,
        unknown_user_iterations: int = DEFAULT_SCRAM_ITERATIONS,
        max_response_length: int = DEFAULT_MAX_RESPONSE_LENGTH,
    ) -> None:
        super().__init__(max_response_length=max_response_length)
        self._unknown_user_iterations = unknown_user_iterations
        self._bindings = {cb.type: cb.data for cb in channel_bindings}
        if self._plus and not self._bindings:
            raise LocalProtocolError(f"{self.name} needs channel binding data")
        self._server_nonce = _check_nonce(nonce) if nonce is not None else _new_nonce()
        self._success_data = success_data
        self._state = _ServerState.CLIENT_FIRST
        # Filled while the exchange progresses.
        self._gs2: GS2Header | None = None
        self._username = ""
        self._client_first_bare = b""
        self._nonce = b""
        self._server_first = b""
        self._credentials: ScramCredentials | None = None
        self._known_user = False

    def _fail(self, reason: str, error: bytes) -> Failure:
        return Failure(reason=reason, data=b"e=" + error)

    def _on_response(self, response: bytes | None, first: bool) -> Step:
        if response is None:
            # SCRAM is client-first (RFC 5802 §5): prompt with an empty challenge.
            return Challenge(data=b"")
        if self._state is _ServerState.CLIENT_FIRST:
            return self._client_first(response)
        if self._state is _ServerState.CLIENT_FINAL:
            return self._client_final(response)
        assert self._state is _ServerState.ACK
        if response:
            raise SASLError(f"{self.name}: expected an empty response to server-final")
        return Success(authcid=self._username, authzid=self._authzid)

    @property
    def _authzid(self) -> str | None:
        return self._gs2.authzid if self._gs2 is not None else None

    def _client_first(self, message: bytes) -> Step:
        # client-first-message = gs2-header client-first-message-bare
        gs2, bare = parse_gs2_header(message, self.name)
        self._gs2 = gs2
        attrs_ = _attributes(bare, "client-first-message")
        if attrs_[0][0] == b"m":
            # reserved-mext: a mandatory extension we cannot know (§5.1).
            raise SASLError(f"{self.name}: mandatory extension not supported")
        if len(attrs_) < 2 or attrs_[0][0] != b"n" or attrs_[1][0] != b"r":
            raise SASLError(f"{self.name}: client-first-message needs n= then r=")
        client_nonce = attrs_[1][1]
        if _PRINTABLE.fullmatch(client_nonce) is None:
            raise SASLError(f"{self.name}: malformed client nonce")
        username = unescape_saslname(attrs_[0][1], "SCRAM username")

        # Channel binding negotiation, RFC 5802 §6 (failures are reported
        # with the server-error values of §7).
        if self._plus:
            if gs2.flag != "p":
                # The client picked -PLUS but did not bind: RFC 5802 §6 says fail.
                return self._fail("PLUS mechanism without channel binding", b"other-error")
            if gs2.cb_name not in self._bindings:
                return self._fail(
                    "unsupported channel binding type", b"unsupported-channel-binding-type"
                )
        elif gs2.flag == "p":
            return self._fail(
                "channel binding requested with a non-PLUS mechanism",
                b"channel-binding-not-supported",
            )
        elif gs2.flag == "y" and self._bindings:
            return self._fail(
                "client believes the server lacks channel binding (downgrade?)",
                b"server-does-support-channel-binding",
            )

        try:
            username = saslprep(username, allow_unassigned=True)
        except SASLprepError:
            return self._fail("username fails SASLprep", b"invalid-username-encoding")
        self._username = username
        self._client_first_bare = bare
        self._nonce = client_nonce + self._server_nonce
        self._state = _ServerState.LOOKUP
        return LookupScramCredentials(mechanism=self.name, username=username, authzid=gs2.authzid)

    def _on_answer(self, question: Question, answer: Answer) -> Step:
        assert isinstance(question, LookupScramCredentials)
        size = _HASHES[self._hash][1]
        if answer is None:
            # Unknown user (or authzid refused): carry on with invented keys
            # so that the client cannot tell (RFC 5802 §9).
            salt = hmac.new(_FAKE_SALT_KEY, self._username.encode("utf-8"), "sha256").digest()
            self._credentials = ScramCredentials(
                salt=salt[:16],
                iterations=self._unknown_user_iterations,
                stored_key=secrets.token_bytes(size),
                server_key=secrets.token_bytes(size),
            )
            self._known_user = False
        elif isinstance(answer, ScramCredentials):
            if len(answer.stored_key) != size or len(answer.server_key) != size:
                raise LocalProtocolError(
                    f"{self.name}: stored keys have the wrong size for this hash"
                )
            if answer.iterations < 1 or not answer.salt:
                raise LocalProtocolError(f"{self.name}: credentials need a salt and iterations")
            self._credentials = answer
            self._known_user = True
        else:
            raise LocalProtocolError(
                f"{self.name}: answer LookupScramCredentials with ScramCredentials or None"
            )
        creds = self._credentials
        self._server_first = b"r=%s,s=%s,i=%d" % (
            self._nonce,
            base64.b64encode(creds.salt),
            creds.iterations,
        )
        self._state = _ServerState.CLIENT_FINAL
        return Challenge(data=self._server_first)

    def _client_final(self, message: bytes) -> Step:
        # client-final-message = channel-binding "," nonce ["," extensions] "," proof
        without_proof, sep, proof_attr = message.rpartition(b",")
        if not sep or not proof_attr.startswith(b"p="):
            raise SASLError(f"{self.name}: client-final-message must end with p=")
        attrs_ = _attributes(without_proof, "client-final-message")
        if len(attrs_) < 2 or attrs_[0][0] != b"c" or attrs_[1][0] != b"r":
            raise SASLError(f"{self.name}: client-final-message needs c= then r=")
        proof = _b64decode(proof_attr[2:], "proof")
        cbind = _b64decode(attrs_[0][1], "channel binding")
        if attrs_[1][1] != self._nonce:
            raise SASLError(f"{self.name}: nonce does not match the server-first nonce")
        if len(proof) != _HASHES[self._hash][1]:
            raise SASLError(f"{self.name}: proof has the wrong length")

        assert self._gs2 is not None and self._credentials is not None
        expected_cbind = self._gs2.raw
        if self._gs2.flag == "p":
            assert self._gs2.cb_name is not None
            expected_cbind += self._bindings[self._gs2.cb_name]
        if not hmac.compare_digest(cbind, expected_cbind):
            return self._fail("channel binding data mismatch", b"channel-bindings-dont-match")

        auth_message = b",".join([self._client_first_bare, self._server_first, without_proof])
        creds = self._credentials
        client_signature = _hmac(self._hash, creds.stored_key, auth_message)
        client_key = _xor(proof, client_signature)
        verified = hmac.compare_digest(_h(self._hash, client_key), creds.stored_key)
        if not (verified and self._known_user):
            return self._fail("invalid proof (wrong password or unknown user)", b"invalid-proof")

        server_signature = _hmac(self._hash, creds.server_key, auth_message)
        server_final = b"v=" + base64.b64encode(server_signature)
        if self._success_data:
            return Success(authcid=self._username, authzid=self._authzid, data=server_final)
        self._state = _ServerState.ACK
        return Challenge(data=server_final)


# -- client ---------------------------------------------------------------------


class _ClientState(enum.Enum):
    """Where a SCRAM client is in RFC 5802 §5's exchange.

    =============  =================================  ===============  ============
    state          input                              output           next state
    =============  =================================  ===============  ============
    SERVER_FIRST   server-first (nonce extends ours)  client-final     SERVER_FINAL
    SERVER_FINAL   server-final as a challenge        empty response   VERIFIED
    SERVER_FINAL   server-final via verify_final()    (none)           VERIFIED
    VERIFIED       verify_final()                     (none)           complete
    =============  =================================  ===============  ============

    ``e=`` from the server, a bad signature or a success reported before
    VERIFIED are :class:`SASLError`.
    """

    SERVER_FIRST = "server-first"  # client-first sent, waiting for server-first
    SERVER_FINAL = "server-final"  # client-final sent, waiting for server-final
    VERIFIED = "verified"  # server signature checked


class ScramClient(ClientMechanism):
    """Client side of SCRAM.  Use a concrete subclass (:class:`ScramSHA256Client`, ...).

    *channel_binding* is required for ``-PLUS`` mechanisms; given to a
    non-PLUS mechanism it makes the client say ``y`` ("I could bind, you did
    not offer it").  *nonce* fixes the client nonce (tests).  The server's
    iteration count must lie in [*min_iterations*, *max_iterations*].
    """

    _hash: ClassVar[str]
    _plus: ClassVar[bool] = False

    def __init__(
        self,
        *,
        username: str,
        password: str | Secret[str],
        authzid: str | None = None,
        channel_binding: ChannelBinding | None = None,
        nonce: str | None = None,
        min_iterations: int = MIN_SCRAM_ITERATIONS,
        max_iterations: int = MAX_SCRAM_ITERATIONS,
    ) -> None:
        super().__init__()
        if self._plus and channel_binding is None:
            raise LocalProtocolError(f"{self.name} needs channel binding data")
        prepared_user = saslprep(username, allow_unassigned=True)
        if not prepared_user:
            raise ValueError("SCRAM: username is empty after SASLprep")
        self._password = _normalize_password(password, stored=False)
        self._binding = channel_binding
        if self._plus:
            assert channel_binding is not None
            flag, cb_name = "p", channel_binding.type
        else:
            flag, cb_name = ("y" if channel_binding is not None else "n"), None
        self._gs2 = build_gs2_header(flag, cb_name, authzid)
        self._client_nonce = _check_nonce(nonce) if nonce is not None else _new_nonce()
        self._bare = b"n=" + escape_saslname(prepared_user) + b",r=" + self._client_nonce
        self._min_iterations = min_iterations
        self._max_iterations = max_iterations
        self._state = _ClientState.SERVER_FIRST
        self._server_signature = b""

    def _first_message(self) -> bytes:
        return self._gs2 + self._bare

    def _on_challenge(self, challenge: bytes) -> bytes:
        if self._state is _ClientState.SERVER_FIRST:
            return self._server_first(challenge)
        if self._state is _ClientState.SERVER_FINAL:
            self._check_server_final(challenge)
            return b""
        raise SASLError(f"{self.name}: unexpected challenge after server-final")

    def _server_first(self, message: bytes) -> bytes:
        self._raise_on_error(message)
        attrs_ = _attributes(message, "server-first-message")
        if attrs_[0][0] == b"m":
            raise SASLError(f"{self.name}: mandatory extension not supported")
        if len(attrs_) < 3 or [a for a, _ in attrs_[:3]] != [b"r", b"s", b"i"]:
            raise SASLError(f"{self.name}: server-first-message needs r=, s=, i=")
        nonce, salt_b64, iter_b = (v for _, v in attrs_[:3])
        if (
            _PRINTABLE.fullmatch(nonce) is None
            or not nonce.startswith(self._client_nonce)
            or len(nonce) == len(self._client_nonce)
        ):
            raise SASLError(f"{self.name}: server nonce does not extend the client nonce")
        salt = _b64decode(salt_b64, "salt")
        if not salt:
            raise SASLError(f"{self.name}: empty salt")
        if _POSITIVE.fullmatch(iter_b) is None:
            raise SASLError(f"{self.name}: malformed iteration count")
        iterations = int(iter_b)
        if not self._min_iterations <= iterations <= self._max_iterations:
            raise SASLError(
                f"{self.name}: iteration count {iterations} outside "
                f"[{self._min_iterations}, {self._max_iterations}]"
            )

        cbind = self._gs2
        if self._plus:
            assert self._binding is not None
            cbind += self._binding.data
        without_proof = b"c=" + base64.b64encode(cbind) + b",r=" + nonce
        auth_message = b",".join([self._bare, message, without_proof])

        salted = _hi(self._hash, self._password, salt, iterations)
        client_key = _hmac(self._hash, salted, b"Client Key")
        stored_key = _h(self._hash, client_key)
        client_signature = _hmac(self._hash, stored_key, auth_message)
        proof = _xor(client_key, client_signature)
        server_key = _hmac(self._hash, salted, b"Server Key")
        self._server_signature = _hmac(self._hash, server_key, auth_message)
        self._state = _ClientState.SERVER_FINAL
        return without_proof + b",p=" + base64.b64encode(proof)

    def _raise_on_error(self, message: bytes) -> None:
        if message.startswith(b"e="):
            value = message[2:].split(b",", 1)[0]
            shown = value.decode("ascii") if _SERVER_ERROR.fullmatch(value) else "(unreadable)"
            raise SASLError(f"{self.name}: server reported error {shown}")

    def _check_server_final(self, message: bytes) -> None:
        if self._state is not _ClientState.SERVER_FINAL:
            raise SASLError(f"{self.name}: server-final before the client-final was sent")
        self._raise_on_error(message)
        attrs_ = _attributes(message, "server-final-message")
        if attrs_[0][0] != b"v":
            raise SASLError(f"{self.name}: server-final-message needs v=")
        signature = _b64decode(attrs_[0][1], "server signature")
        if not hmac.compare_digest(signature, self._server_signature):
            raise SASLError(f"{self.name}: server signature does not verify")
        self._state = _ClientState.VERIFIED

    def verify_final(self, data: bytes | None = None) -> None:
        """Check the server signature; call when the server reported success.

        *data* is the server-final message if it came with the success reply;
        if it came earlier as a challenge, :meth:`respond` already checked it
        and *data* is ``None``.  Raises :class:`~mailproto.sasl.SASLError`
        when the server never proved it knows the password: do not trust a
        "success" from such a server.
        """
        if data:
            if self._state is _ClientState.VERIFIED:
                raise SASLError(f"{self.name}: server-final sent twice")
            self._check_server_final(data)
        if self._state is not _ClientState.VERIFIED:
            raise SASLError(f"{self.name}: server reported success without its signature")
        self._complete = True


class ScramSHA1Server(ScramServer):
    """SCRAM-SHA-1 (RFC 5802)."""

    name = "SCRAM-SHA-1"
    _hash = "sha1"


class ScramSHA256Server(ScramServer):
    """SCRAM-SHA-256 (RFC 7677)."""

    name = "SCRAM-SHA-256"
    _hash = "sha256"


class ScramSHA1PlusServer(ScramServer):
    """SCRAM-SHA-1-PLUS (RFC 5802 §6): requires channel binding."""

    name = "SCRAM-SHA-1-PLUS"
    _hash = "sha1"
    _plus = True


class ScramSHA256PlusServer(ScramServer):
    """SCRAM-SHA-256-PLUS (RFC 7677): requires channel binding."""

    name = "SCRAM-SHA-256-PLUS"
    _hash = "sha256"
    _plus = True


class ScramSHA1Client(ScramClient):
    """SCRAM-SHA-1 (RFC 5802)."""

    name = "SCRAM-SHA-1"
    _hash = "sha1"


class ScramSHA256Client(ScramClient):
    """SCRAM-SHA-256 (RFC 7677)."""

    name = "SCRAM-SHA-256"
    _hash = "sha256"


class ScramSHA1PlusClient(ScramClient):
    """SCRAM-SHA-1-PLUS (RFC 5802 §6)."""

    name = "SCRAM-SHA-1-PLUS"
    _hash = "sha1"
    _plus = True


class ScramSHA256PlusClient(ScramClient):
    """SCRAM-SHA-256-PLUS (RFC 7677)."""

    name = "SCRAM-SHA-256-PLUS"
    _hash = "sha256"
    _plus = True
