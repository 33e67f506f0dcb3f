"""SASL (RFC 4422) mechanisms as tiny sans-I/O exchanges.

SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE (RFC 9051,
RFC 4959) all carry the same SASL mechanisms; this package implements each
mechanism once, client and server side, with no I/O and no concurrency model:
plain objects whose methods take bytes and return bytes or typed steps.

Mechanisms: ``PLAIN`` (RFC 4616), ``LOGIN`` (draft-murchison-sasl-login),
``CRAM-MD5`` (RFC 2195), ``SCRAM-SHA-1`` and ``SCRAM-SHA-256`` with their
``-PLUS`` channel-binding variants (RFC 5802, RFC 7677), ``XOAUTH2``
(Google) and ``OAUTHBEARER`` (RFC 7628), ``EXTERNAL`` (RFC 4422 App. A).

Server side (what a protocol connection does)::

    mech = sasl.server_mechanism("SCRAM-SHA-256")   # name from AUTH/AUTHENTICATE
    step = mech.step(initial_response_or_None)      # decoded bytes
    while True:
        if isinstance(step, sasl.Challenge):        # send 334 / "+ " + base64
            step = mech.step(sasl.decode_response(line))
        elif isinstance(step, sasl.Question):       # ask the application
            step = mech.answer(app_decides(step))   # bool / ScramCredentials / ...
        else:                                       # Success or Failure
            break

The server mechanism never decides policy: every check is a *question*
(:class:`CheckPassword`, :class:`CheckCramDigest`,
:class:`LookupScramCredentials`, :class:`CheckToken`,
:class:`CheckExternal`) the application answers through
:meth:`ServerMechanism.answer`.

Client side::

    mech = sasl.client_mechanism("SCRAM-SHA-256", username="user", password="pencil")
    ir = mech.initial_response()          # bytes or None
    response = mech.respond(challenge)    # for each decoded challenge
    mech.verify_final(success_data)       # on success (SCRAM checks the server)

Secrets (passwords, tokens, CRAM digests) are held in :class:`Secret`, whose
``repr`` is ``Secret(***)``.  Malformed peer messages raise :class:`SASLError`
(a :class:`~mailproto.errors.RemoteProtocolError`); a client ``*`` raises
:class:`SASLCancelled`; wrong credentials are a :class:`Failure` step, not an
exception.

Why this shape:

* Questions are returned, not callbacks called: a callback would have to be
  synchronous (or async, tying the package to one event loop), while a
  returned value can be answered however the application likes — at once,
  after an ``await``, from a thread pool doing a slow password hash.  Each
  protocol wraps the question in its own event (SMTP ``AuthQuestion``, ...)
  and forwards the application's answer to :meth:`ServerMechanism.answer`.
* One ``answer()`` method taking a small union (:data:`Answer`) rather than a
  method per question keeps that forwarding one line in every protocol; the
  type of a wrong answer is checked at run time
  (:class:`~mailproto.errors.LocalProtocolError`).
* The allowed next call depends only on the kind of the last step (a table
  in ``_base.py``), so a protocol drives every mechanism the same way.
* SCRAM's server-final message is, by default, one more :class:`Challenge`
  answered by an empty response, because SMTP, POP3 and IMAP cannot carry
  data with their success reply; ``success_data=True`` puts it in
  :attr:`Success.data` for protocols that can.
* Unknown SCRAM users are not refused early: the exchange continues with
  invented keys, so a client cannot probe which users exist (RFC 5802 §9).
"""

from __future__ import annotations

from mailproto.sasl._base import DEFAULT_MAX_RESPONSE_LENGTH, ClientMechanism, ServerMechanism
from mailproto.sasl._cram import CramMD5Client, CramMD5Server
from mailproto.sasl._errors import SASLCancelled, SASLError
from mailproto.sasl._external import ExternalClient, ExternalServer
from mailproto.sasl._oauth import OAuthBearerClient, OAuthBearerServer, XOAuth2Client, XOAuth2Server
from mailproto.sasl._plain import LoginClient, LoginServer, PlainClient, PlainServer
from mailproto.sasl._registry import (
    CLIENT_MECHANISMS,
    SERVER_MECHANISMS,
    client_mechanism,
    is_plaintext,
    server_mechanism,
    suitable_mechanisms,
)
from mailproto.sasl._saslprep import SASLprepError, saslprep
from mailproto.sasl._scram import (
    DEFAULT_SCRAM_ITERATIONS,
    MAX_SCRAM_ITERATIONS,
    ChannelBinding,
    ScramClient,
    ScramServer,
    ScramSHA1Client,
    ScramSHA1PlusClient,
    ScramSHA1PlusServer,
    ScramSHA1Server,
    ScramSHA256Client,
    ScramSHA256PlusClient,
    ScramSHA256PlusServer,
    ScramSHA256Server,
    scram_credentials,
)
from mailproto.sasl._secret import Secret
from mailproto.sasl._steps import (
    Answer,
    Challenge,
    CheckCramDigest,
    CheckExternal,
    CheckPassword,
    CheckToken,
    Failure,
    LookupScramCredentials,
    OAuthError,
    Question,
    ScramCredentials,
    Step,
    Success,
    cram_md5_context,
    cram_md5_digest,
)
from mailproto.sasl._transport import (
    CANCEL,
    decode_challenge,
    decode_response,
    encode_challenge,
    encode_response,
)

__all__ = [
    "CANCEL",
    "CLIENT_MECHANISMS",
    "DEFAULT_MAX_RESPONSE_LENGTH",
    "DEFAULT_SCRAM_ITERATIONS",
    "MAX_SCRAM_ITERATIONS",
    "SERVER_MECHANISMS",
    "Answer",
    "Challenge",
    "ChannelBinding",
    "CheckCramDigest",
    "CheckExternal",
    "CheckPassword",
    "CheckToken",
    "ClientMechanism",
    "CramMD5Client",
    "CramMD5Server",
    "ExternalClient",
    "ExternalServer",
    "Failure",
    "LoginClient",
    "LoginServer",
    "LookupScramCredentials",
    "OAuthBearerClient",
    "OAuthBearerServer",
    "OAuthError",
    "PlainClient",
    "PlainServer",
    "Question",
    "SASLCancelled",
    "SASLError",
    "SASLprepError",
    "ScramClient",
    "ScramCredentials",
    "ScramSHA1Client",
    "ScramSHA1PlusClient",
    "ScramSHA1PlusServer",
    "ScramSHA1Server",
    "ScramSHA256Client",
    "ScramSHA256PlusClient",
    "ScramSHA256PlusServer",
    "ScramSHA256Server",
    "ScramServer",
    "Secret",
    "ServerMechanism",
    "Step",
    "Success",
    "XOAuth2Client",
    "XOAuth2Server",
    "client_mechanism",
    "cram_md5_context",
    "cram_md5_digest",
    "decode_challenge",
    "decode_response",
    "encode_challenge",
    "encode_response",
    "is_plaintext",
    "saslprep",
    "scram_credentials",
    "server_mechanism",
    "suitable_mechanisms",
]
