"""The server's configuration: a TOML file, checked with line-numbered errors.

One file describes one server, or several side by side as ``[[server]]``
tables (the demo runs two domains that relay to each other)::

    hostname = "mx.iesfbmoll.example"     # EHLO name, Received "by", DSN Reporting-MTA
    domains = ["iesfbmoll.example"]
    data_dir = "iesfbmoll"                # under --data-dir (default: the hostname)
    allow_plaintext_auth = "loopback"     # true, false or "loopback"

    [ports]                               # 0 or absent: listener off
    smtp = 2525                           # MX: local domains from anyone
    submission = 2587                     # AUTH required, relays anywhere
    smtps = 2465
    pop3 = 2110
    pop3s = 2995
    imap = 2143
    imaps = 2993

    [tls]                                 # absent: self-signed, generated at first start
    cert = "cert.pem"
    key = "key.pem"

    [relay]
    retry_base = 60                       # seconds before the first retry, doubled each time
    retry_max = 3600                      # the longest wait between attempts
    lifetime = 432000                     # bounce what is still queued after 5 days
    delay_warning = 14400                 # tell the sender once after 4 hours queued
    starttls = true                       # use STARTTLS when the next hop offers it
    tls_verify = false                    # check its certificate
    max_connections = 20                  # outgoing SMTP connections at once

    [routes]                              # static next hops in place of DNS MX
    "correo.example" = "127.0.0.1:3525"

    [limits]
    max_message_size = 26214400

    [[accounts]]
    address = "pepe@iesfbmoll.example"
    password = "pepe123"                  # or scram-sha-256 = "<salt>:<iter>:<stored>:<server>"
    aliases = ["jose@iesfbmoll.example"]
    apop = true                           # keep the password in memory for APOP

    [[lists]]
    address = "todos@iesfbmoll.example"
    members = ["pepe@iesfbmoll.example", "someone@correo.example"]

:func:`parse_config` raises :class:`ConfigError` carrying the line number:
TOML syntax errors come from the TOML parser; semantic errors (a port out of
range, an alias pointing nowhere) are located by finding the offending key or
value in the text.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from mailproto import sasl

from .directory import Account, Directory, DirectoryError, make_account

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "DEMO_CONFIG",
    "PORT_NAMES",
    "Config",
    "ConfigError",
    "RelaySettings",
    "ServerConfig",
    "load_config",
    "parse_config",
]

#: The listener names, as keys of ``[ports]`` (the CLI has ``--<name>-port``).
PORT_NAMES = ("smtp", "submission", "smtps", "pop3", "pop3s", "imap", "imaps")


class ConfigError(ValueError):
    """A configuration problem, with where it is."""

    def __init__(self, message: str, *, line: int | None = None, source: str = "<config>") -> None:
        self.message = message
        #: 1-based line number, when known.
        self.line = line
        #: The file name.
        self.source = source
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}")


@attrs.frozen(kw_only=True)
class RelaySettings:
    """How the relay sends queued mail."""

    #: Next hop per domain: ``domain -> (host, port)``; ``"*"`` is the default route.
    routes: Mapping[str, tuple[str, int]] = attrs.field(factory=dict)
    #: Seconds before the first retry (doubled after each failure).
    retry_base: float = 60.0
    #: Longest wait between two attempts.
    retry_max: float = 3600.0
    #: Seconds after which an undelivered message bounces (RFC 5321 §4.5.4.1
    #: suggests at least 4-5 days).
    lifetime: float = 5 * 86400.0
    #: Seconds a recipient may stay queued before the sender gets one
    #: "delayed" DSN about it (RFC 3464 ``Action: delayed``; RFC 5321
    #: §4.5.4.1 suggests warning after a few hours; Postfix's
    #: ``delay_warning_time`` is the same idea).
    delay_warning: float = 4 * 3600.0
    #: Use STARTTLS when the next hop offers it.
    starttls: bool = True
    #: Verify the next hop's certificate (off for the demo's self-signed ones).
    tls_verify: bool = False
    #: Seconds to wait for a connection or a reply.
    timeout: float = 60.0
    #: Most outgoing SMTP connections at once (Postfix's
    #: default_destination_concurrency_limit is 20 per destination).
    max_connections: int = 20


@attrs.frozen(kw_only=True)
class ServerConfig:
    """One server: its domains, users, listeners and relay settings."""

    #: The host name used in EHLO, Received and DSNs.
    hostname: str
    #: Local mail domains.
    domains: tuple[str, ...]
    #: Data directory name (relative to ``--data-dir``) or absolute path.
    data_dir: str
    #: Listener ports by name (:data:`PORT_NAMES`); 0 means off.
    ports: Mapping[str, int]
    #: ``"always"``, ``"never"`` or ``"loopback"``: plaintext AUTH/LOGIN before TLS.
    allow_plaintext_auth: str
    #: TLS certificate and key files (None: generate a self-signed pair).
    tls_cert: str | None
    #: TLS key file.
    tls_key: str | None
    #: Relay settings.
    relay: RelaySettings
    #: Largest accepted message (SMTP SIZE), in octets.
    max_message_size: int
    #: The accounts, aliases and lists.
    directory: Directory = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Config:
    """A parsed configuration file."""

    #: The servers (one unless the file has ``[[server]]`` tables).
    servers: tuple[ServerConfig, ...]


# -- locating errors ------------------------------------------------------------------


def _line_of(text: str, *needles: str) -> int | None:
    """The first line containing all of *needles* (best effort), 1-based."""
    if not needles:
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if all(n in line for n in needles):
            return number
    return None


class _Checker:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source

    def fail(self, message: str, *needles: str) -> ConfigError:
        return ConfigError(message, line=_line_of(self.text, *needles), source=self.source)

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        default: Any = None,
        *,
        required: bool = False,
    ) -> Any:
        if key not in table:
            if required:
                raise self.fail(f"missing required key {key!r}")
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            want = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(f"{key!r} must be {want}, not {type(value).__name__}", key)
        return value

    def strings(self, table: Mapping[str, Any], key: str) -> list[str]:
        value = self.get(table, key, list, [])
        if not all(isinstance(v, str) for v in value):
            raise self.fail(f"{key!r} must be a list of strings", key)
        return list(value)

    def unknown(self, table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"unknown key {key!r} in {where}", key)


_SERVER_KEYS = (
    "hostname",
    "domains",
    "data_dir",
    "allow_plaintext_auth",
    "ports",
    "tls",
    "relay",
    "routes",
    "limits",
    "accounts",
    "lists",
)
_HOSTPORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})\Z")


def _parse_scram(c: _Checker, value: str, address: str) -> sasl.ScramCredentials:
    try:
        salt, iterations, stored, server = value.split(":")
        return sasl.ScramCredentials(
            salt=base64.b64decode(salt, validate=True),
            iterations=int(iterations),
            stored_key=base64.b64decode(stored, validate=True),
            server_key=base64.b64decode(server, validate=True),
        )
    except ValueError:
        raise c.fail(f"bad scram-sha-256 value for {address}", "scram-sha-256") from None


def format_scram(creds: sasl.ScramCredentials) -> str:
    """The ``scram-sha-256`` config value for *creds* (salt:iterations:stored:server)."""
    b64 = base64.b64encode
    return (
        f"{b64(creds.salt).decode()}:{creds.iterations}:"
        f"{b64(creds.stored_key).decode()}:{b64(creds.server_key).decode()}"
    )


def _server(c: _Checker, table: Mapping[str, Any], index: int) -> ServerConfig:
    c.unknown(table, _SERVER_KEYS, "a server")
    hostname = c.get(table, "hostname", str, required=True)
    domains = [d.lower() for d in c.strings(table, "domains")]
    if not domains:
        raise c.fail("a server needs at least one domain in 'domains'", "domains")
    data_dir = c.get(table, "data_dir", str, hostname)
    plain = c.get(table, "allow_plaintext_auth", (bool, str), "loopback")
    if isinstance(plain, bool):
        plain = "always" if plain else "never"
    if plain not in ("always", "never", "loopback"):
        raise c.fail(
            'allow_plaintext_auth must be true, false or "loopback"', "allow_plaintext_auth"
        )
    ports_t = c.get(table, "ports", dict, {})
    c.unknown(ports_t, PORT_NAMES, "[ports]")
    ports: dict[str, int] = {}
    for name in PORT_NAMES:
        port = c.get(ports_t, name, int, 0)
        if not 0 <= port <= 65535:
            raise c.fail(f"port {name} = {port} is out of range 0-65535", name, str(port))
        ports[name] = port
    tls_t = c.get(table, "tls", dict, {})
    c.unknown(tls_t, ("cert", "key"), "[tls]")
    cert, key = c.get(tls_t, "cert", str), c.get(tls_t, "key", str)
    if (cert is None) != (key is None):
        raise c.fail("[tls] needs both cert and key", "[tls]")
    relay_t = c.get(table, "relay", dict, {})
    c.unknown(
        relay_t,
        (
            "retry_base",
            "retry_max",
            "lifetime",
            "delay_warning",
            "starttls",
            "tls_verify",
            "timeout",
            "max_connections",
        ),
        "[relay]",
    )
    routes_t = c.get(table, "routes", dict, {})
    routes: dict[str, tuple[str, int]] = {}
    for domain, target in routes_t.items():
        if not isinstance(target, str) or not (m := _HOSTPORT.match(target)):
            raise c.fail(f'route for {domain!r} must be "host:port"', domain)
        port = int(m["port"])
        if not 0 < port <= 65535:
            raise c.fail(f"route for {domain!r}: port out of range", domain)
        routes[domain.lower()] = (m["host"].strip("[]"), port)
    relay = RelaySettings(
        routes=routes,
        retry_base=c.get(relay_t, "retry_base", float, 60.0),
        retry_max=c.get(relay_t, "retry_max", float, 3600.0),
        lifetime=c.get(relay_t, "lifetime", float, 5 * 86400.0),
        delay_warning=c.get(relay_t, "delay_warning", float, 4 * 3600.0),
        starttls=c.get(relay_t, "starttls", bool, True),
        tls_verify=c.get(relay_t, "tls_verify", bool, False),
        timeout=c.get(relay_t, "timeout", float, 60.0),
        max_connections=c.get(relay_t, "max_connections", int, 20),
    )
    if relay.max_connections < 1:
        raise c.fail("[relay] max_connections must be at least 1", "max_connections")
    for name in ("retry_base", "retry_max", "lifetime", "delay_warning", "timeout"):
        if getattr(relay, name) <= 0:
            raise c.fail(f"[relay] {name} must be positive", name)
    limits_t = c.get(table, "limits", dict, {})
    c.unknown(limits_t, ("max_message_size",), "[limits]")
    max_size = c.get(limits_t, "max_message_size", int, 25 * 1024 * 1024)
    if max_size <= 0:
        raise c.fail("max_message_size must be positive", "max_message_size")
    accounts: list[Account] = []
    aliases: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for acc in c.get(table, "accounts", list, []):
        if not isinstance(acc, dict):
            raise c.fail("each [[accounts]] entry must be a table", "accounts")
        c.unknown(acc, ("address", "password", "scram-sha-256", "aliases", "apop"), "[[accounts]]")
        address = c.get(acc, "address", str, required=True)
        password = c.get(acc, "password", str)
        scram = c.get(acc, "scram-sha-256", str)
        apop = c.get(acc, "apop", bool, False)
        try:
            if password is not None and scram is None:
                account = make_account(address, password, apop=apop)
            elif scram is not None and password is None:
                if apop:
                    raise c.fail("apop needs a plaintext password", address)
                account = Account(address=address.lower(), scram=_parse_scram(c, scram, address))
            else:
                raise c.fail(
                    f"account {address}: give exactly one of password, scram-sha-256", address
                )
        except (ValueError, sasl.SASLprepError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise c.fail(f"account {address}: {exc}", address) from None
        accounts.append(account)
        for alias in c.strings(acc, "aliases"):
            aliases[alias] = address
    for lst in c.get(table, "lists", list, []):
        if not isinstance(lst, dict):
            raise c.fail("each [[lists]] entry must be a table", "lists")
        c.unknown(lst, ("address", "members"), "[[lists]]")
        address = c.get(lst, "address", str, required=True)
        lists[address] = c.strings(lst, "members")
    try:
        directory = Directory(domains=domains, accounts=accounts, aliases=aliases, lists=lists)
    except DirectoryError as exc:
        # Point at the first address the message names.
        names = re.findall(r"[^\s',]+@[^\s',]+", str(exc))
        line = None
        for name in reversed(names):  # the last address named is the offending one
            line = _line_of(c.text, name) or _line_of(c.text.lower(), name)
            if line is not None:
                break
        raise ConfigError(str(exc), line=line, source=c.source) from None
    return ServerConfig(
        hostname=hostname,
        domains=tuple(domains),
        data_dir=data_dir,
        ports=ports,
        allow_plaintext_auth=plain,
        tls_cert=cert,
        tls_key=key,
        relay=relay,
        max_message_size=max_size,
        directory=directory,
    )


def parse_config(text: str, *, source: str = "<config>") -> Config:
    """Parse configuration *text*; raise :class:`ConfigError` with a line number."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m[1]) if m else None
        if line is None and "end of document" in str(exc):
            line = max(1, len(text.splitlines()))
        raise ConfigError(f"TOML syntax: {exc}", line=line, source=source) from None
    c = _Checker(text, source)
    if "server" in data:
        if set(data) != {"server"}:
            extra = sorted(set(data) - {"server"})[0]
            raise c.fail(f"with [[server]] tables, {extra!r} must be inside one", extra)
        tables = data["server"]
        if not isinstance(tables, list):
            raise c.fail("'server' must be an array of tables: [[server]]", "server")
    else:
        tables = [data]
    servers = tuple(_server(c, t, i) for i, t in enumerate(tables))
    seen: dict[str, str] = {}
    for s in servers:
        for d in s.domains:
            if d in seen:
                raise c.fail(f"domain {d} is served twice", d)
            seen[d] = s.hostname
    return Config(servers=servers)


def load_config(path: Path | str) -> Config:
    """Read and parse a configuration file."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", source=str(path)) from None
    return parse_config(text, source=str(path))


#: The demo: two domains on loopback, each with its own server, relaying to
#: each other.  Passwords are printed at start-up; APOP is on for the demo.
DEMO_CONFIG = """\
# mailproto demo: two mail domains side by side, relaying to each other.

[[server]]
hostname = "mx.iesfbmoll.example"
domains = ["iesfbmoll.example"]
data_dir = "iesfbmoll.example"
allow_plaintext_auth = "loopback"

[server.ports]
smtp = 2525
submission = 2587
smtps = 2465
pop3 = 2110
pop3s = 2995
imap = 2143
imaps = 2993

[server.relay]
retry_base = 5
retry_max = 60
lifetime = 3600

[server.routes]
"correo.example" = "127.0.0.1:3525"

[[server.accounts]]
address = "pepe@iesfbmoll.example"
password = "pepe-demo-1"
apop = true

[[server.accounts]]
address = "informacion@iesfbmoll.example"
password = "info-demo-1"
aliases = ["information@iesfbmoll.example", "dudas@iesfbmoll.example"]
apop = true

[[server.accounts]]
address = "ana@iesfbmoll.example"
password = "ana-demo-1"
apop = true

[[server.lists]]
address = "profes@iesfbmoll.example"
members = ["pepe@iesfbmoll.example", "ana@iesfbmoll.example", "manolo@correo.example",
           "profes@iesfbmoll.example"]

[[server]]
hostname = "mx.correo.example"
domains = ["correo.example"]
data_dir = "correo.example"
allow_plaintext_auth = "loopback"

[server.ports]
smtp = 3525
submission = 3587
smtps = 3465
pop3 = 3110
pop3s = 3995
imap = 3143
imaps = 3993

[server.relay]
retry_base = 5
retry_max = 60
lifetime = 3600

[server.routes]
"iesfbmoll.example" = "127.0.0.1:2525"

[[server.accounts]]
address = "manolo@correo.example"
password = "manolo-demo-1"
apop = true

[[server.accounts]]
address = "lucia@correo.example"
password = "lucia-demo-1"
aliases = ["info@correo.example"]
apop = true

[[server.lists]]
address = "equipo@correo.example"
members = ["manolo@correo.example", "lucia@correo.example", "pepe@iesfbmoll.example"]
"""
