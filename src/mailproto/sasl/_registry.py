"""Mechanism names to classes, and which mechanisms to offer when.

SASL mechanism names are case-insensitive (RFC 4422 §3.1: they are
registered in upper case and compared without regard to case), so every
lookup here upper-cases first.

Which mechanisms to advertise is a policy the application owns; this module
only answers the protocol question "which of these are safe to offer on this
connection": plaintext mechanisms (the password or token crosses the wire)
only under TLS (RFC 4954 §4, RFC 4616 §6, RFC 7628 §5, RFC 9051 §11.1), and
``-PLUS`` variants only when the application can provide channel binding
data (RFC 5802 §6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TypeVar

from mailproto.errors import LocalProtocolError
from mailproto.sasl._base import DEFAULT_MAX_RESPONSE_LENGTH, ClientMechanism, ServerMechanism
from mailproto.sasl._cram import CramMD5Client, CramMD5Server
from mailproto.sasl._external import ExternalClient, ExternalServer
from mailproto.sasl._oauth import OAuthBearerClient, OAuthBearerServer, XOAuth2Client, XOAuth2Server
from mailproto.sasl._plain import LoginClient, LoginServer, PlainClient, PlainServer
from mailproto.sasl._scram import (
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
)
from mailproto.sasl._secret import Secret

__all__ = [
    "CLIENT_MECHANISMS",
    "SERVER_MECHANISMS",
    "client_mechanism",
    "is_plaintext",
    "server_mechanism",
    "suitable_mechanisms",
]

_SERVERS: tuple[type[ServerMechanism], ...] = (
    ScramSHA256PlusServer,
    ScramSHA1PlusServer,
    ScramSHA256Server,
    ScramSHA1Server,
    CramMD5Server,
    OAuthBearerServer,
    XOAuth2Server,
    PlainServer,
    LoginServer,
    ExternalServer,
)
_CLIENTS: tuple[type[ClientMechanism], ...] = (
    ScramSHA256PlusClient,
    ScramSHA1PlusClient,
    ScramSHA256Client,
    ScramSHA1Client,
    CramMD5Client,
    OAuthBearerClient,
    XOAuth2Client,
    PlainClient,
    LoginClient,
    ExternalClient,
)

#: Upper-case mechanism name -> server class, strongest first.
SERVER_MECHANISMS: Mapping[str, type[ServerMechanism]] = MappingProxyType(
    {cls.name: cls for cls in _SERVERS}
)
#: Upper-case mechanism name -> client class, strongest first.
CLIENT_MECHANISMS: Mapping[str, type[ClientMechanism]] = MappingProxyType(
    {cls.name: cls for cls in _CLIENTS}
)


_T = TypeVar("_T")


def _lookup(table: Mapping[str, type[_T]], name: str) -> type[_T]:
    try:
        return table[name.upper()]
    except KeyError:
        raise LocalProtocolError(f"unknown SASL mechanism {name!r}") from None


def is_plaintext(name: str) -> bool:
    """True if mechanism *name* exposes a reusable credential on the wire."""
    return bool(_lookup(SERVER_MECHANISMS, name).plaintext)


def suitable_mechanisms(
    names: Iterable[str] | None = None, *, tls: bool, channel_binding: bool = False
) -> list[str]:
    """The mechanisms, among *names*, that may be offered on a connection.

    *names* is the application's configured list (default: every mechanism
    this package implements except EXTERNAL, which only makes sense when the
    application knows external credentials exist); order is kept, unknown
    names are dropped, results are upper case.  Without *tls* the plaintext
    mechanisms are removed; without *channel_binding* the ``-PLUS`` ones.
    """
    if names is None:
        names = [name for name in SERVER_MECHANISMS if name != "EXTERNAL"]
    result = []
    for name in names:
        cls = SERVER_MECHANISMS.get(name.upper())
        if cls is None or cls.name in result:
            continue
        if cls.plaintext and not tls:
            continue
        if cls.name.endswith("-PLUS") and not channel_binding:
            continue
        result.append(cls.name)
    return result


def server_mechanism(
    name: str,
    *,
    hostname: str = "localhost",
    channel_bindings: Iterable[ChannelBinding] = (),
    success_data: bool = False,
    max_response_length: int = DEFAULT_MAX_RESPONSE_LENGTH,
) -> ServerMechanism:
    """A new server mechanism for *name* (any case).

    Each option goes only to the mechanisms that use it: *hostname* to
    CRAM-MD5's challenge; *channel_bindings* and *success_data* to SCRAM.
    Unknown names raise :class:`~mailproto.errors.LocalProtocolError`: a
    protocol should check the client's choice against what it advertised
    first and answer "unsupported mechanism" itself.
    """
    cls = _lookup(SERVER_MECHANISMS, name)
    if issubclass(cls, ScramServer):
        return cls(
            channel_bindings=channel_bindings,
            success_data=success_data,
            max_response_length=max_response_length,
        )
    if cls is CramMD5Server:
        return CramMD5Server(hostname=hostname, max_response_length=max_response_length)
    mechanism: ServerMechanism = cls(max_response_length=max_response_length)
    return mechanism


def client_mechanism(
    name: str,
    *,
    username: str | None = None,
    password: str | Secret[str] | None = None,
    authzid: str | None = None,
    token: str | Secret[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    channel_binding: ChannelBinding | None = None,
) -> ClientMechanism:
    """A new client mechanism for *name* (any case) with the given credentials.

    Each mechanism takes what it needs and refuses (with
    :class:`~mailproto.errors.LocalProtocolError`) to start without it:
    *username*/*password* for PLAIN, LOGIN, CRAM-MD5 and SCRAM; *token*
    (and *username*) for XOAUTH2; *token* for OAUTHBEARER (with *authzid*,
    defaulting to *username*, and *host*/*port*); nothing for EXTERNAL.
    *authzid* goes to PLAIN, SCRAM, OAUTHBEARER and EXTERNAL;
    *channel_binding* to SCRAM.
    """
    cls = _lookup(CLIENT_MECHANISMS, name)

    def need(value: str | Secret[str] | None, what: str) -> str | Secret[str]:
        if value is None:
            raise LocalProtocolError(f"{cls.name} needs a {what}")
        return value

    if issubclass(cls, ScramClient):
        return cls(
            username=str(need(username, "username")),
            password=need(password, "password"),
            authzid=authzid,
            channel_binding=channel_binding,
        )
    if cls is PlainClient:
        return PlainClient(
            username=str(need(username, "username")),
            password=need(password, "password"),
            authzid=authzid,
        )
    if cls is LoginClient:
        return LoginClient(
            username=str(need(username, "username")), password=need(password, "password")
        )
    if cls is CramMD5Client:
        return CramMD5Client(
            username=str(need(username, "username")), password=need(password, "password")
        )
    if cls is XOAuth2Client:
        return XOAuth2Client(username=str(need(username, "username")), token=need(token, "token"))
    if cls is OAuthBearerClient:
        return OAuthBearerClient(
            token=need(token, "token"), authzid=authzid or username, host=host, port=port
        )
    assert cls is ExternalClient
    return ExternalClient(authzid=authzid)
