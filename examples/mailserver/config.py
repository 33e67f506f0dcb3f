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
    cert = "cert.pem"                     # relative names: to this file's directory
    key = "key.pem"

    [relay]
    retry_base = 60                       # seconds before the first retry, doubled each time
    retry_max = 3600                      # the longest wait between attempts
    lifetime = 432000                     # bounce what is still queued after 5 days
    delay_warning = 14400                 # tell the sender once after 4 hours queued
    starttls = true                       # use STARTTLS when the next hop offers it
    tls_verify = false                    # check its certificate
    max_connections = 20                  # outgoing SMTP connections at once
    connections_per_hop = 4               # sessions per next hop (reused for a backlog)

    [routes]                              # static next hops in place of DNS MX
    "correo.example" = "127.0.0.1:3525"

    [limits]
    max_message_size = 26214400
    literal_memory = 268435456            # IMAP literals held at once, all sessions
    spool_memory = 67108864               # SMTP data in memory at once; beyond: spool files

    [store]
    sync = "file"                         # fsync each message file; "filesystem":
                                          # one syncfs(2) per batch (Linux 5.8+)
    writer = "thread"                     # with "filesystem": "process" commits the
                                          # batches in a writer process of their own

    [[accounts]]
    address = "pepe@iesfbmoll.example"
    password = "pepe123"                  # or scram-sha-256 = "<salt>:<iter>:<stored>:<server>"
    aliases = ["jose@iesfbmoll.example"]
    apop = true                           # keep the password in memory for APOP

    [[lists]]
    address = "todos@iesfbmoll.example"
    members = ["pepe@iesfbmoll.example", "someone@correo.example"]

``postmaster`` (a top-level key of the server, next to ``domains``) names
where mail for ``postmaster@`` each domain goes when no account, alias or
list has that address (RFC 5321 §4.5.1 requires one); by default the first
account.

:func:`parse_config` raises :class:`ConfigError` carrying the line number:
TOML syntax errors come from the TOML parser; semantic errors (a port out of
range, an alias pointing nowhere) are located by path: the text is scanned
once for table headers and ``key =`` lines (following TOML's rules for
``[[arrays]]`` of tables), so the error names the line of *that* key in
*that* table — the second ``[[accounts]]`` table's ``password``, the second
``[[server]]``'s ``[server.ports]`` — or the line of the offending value in
a list spread over several lines.
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
from .maildir import sync_mode_problem, writer_problem

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
    #: Most outgoing SMTP connections at once, all next hops together.
    max_connections: int = 20
    #: Most sessions in use at once per next hop.  More messages for the hop
    #: wait for one of these and reuse it (RSET, then the next transaction)
    #: instead of connecting again; Postfix's
    #: ``default_destination_concurrency_limit`` (20) plays this role there.
    connections_per_hop: int = 4


#: ``[limits] literal_memory`` when the config does not say (and it is at
#: least ``max_message_size``).
DEFAULT_LITERAL_MEMORY = 256 * 1024 * 1024
#: ``[limits] spool_memory`` when the config does not say.
DEFAULT_SPOOL_MEMORY = 64 * 1024 * 1024


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
    #: Octets of IMAP literals (APPEND messages received, large FETCH answers
    #: sent) held in memory at once, by all IMAP sessions together (see
    #: :mod:`mailserver.budget`).
    literal_memory: int = DEFAULT_LITERAL_MEMORY
    #: Octets of SMTP message data kept in memory while it arrives, by all
    #: SMTP sessions together; a transaction that finds no room here writes
    #: its data to a spool file instead (0: always).
    spool_memory: int = DEFAULT_SPOOL_MEMORY
    #: How a delivery makes its message file durable before ``250``
    #: (``[store] sync``, one of :data:`mailserver.maildir.SYNC_MODES`):
    #: ``"file"``, an fsync of each file; ``"filesystem"``, one ``syncfs(2)``
    #: for every file of a commit batch — far less disk and CPU work when
    #: deliveries overlap, but it also waits for whatever else is being
    #: written on that file system, so it suits a data directory on a file
    #: system of its own.
    store_sync: str = "file"
    #: Who commits the batches of ``store_sync = "filesystem"`` (``[store]
    #: writer``, one of :data:`mailserver.maildir.WRITERS`): ``"thread"``, a
    #: thread of the server's process; ``"process"``, the store's writer
    #: process (:mod:`mailserver.store_writer`), which keeps the event loop's
    #: process free of store threads.
    store_writer: str = "thread"
    #: The accounts, aliases and lists.
    directory: Directory = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Config:
    """A parsed configuration file."""

    #: The servers (one unless the file has ``[[server]]`` tables).
    servers: tuple[ServerConfig, ...]


# -- locating errors ------------------------------------------------------------------


_KEY_PART = r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+'
_KEY_PART_RE = re.compile(_KEY_PART)
_KEY_LINE = re.compile(rf"\s*((?:{_KEY_PART})(?:\s*\.\s*(?:{_KEY_PART}))*)\s*=")
_HEADER = re.compile(r"\s*(\[\[?)([^\[\]]+)(\]\]?)\s*\Z")
# A string literal on one line, or a comment (what is left after strings).
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|#.*')

_KeyPath = tuple[str | int, ...]


def _key_parts(text: str) -> list[str]:
    parts = []
    for part in _KEY_PART_RE.findall(text):
        if part.startswith('"'):
            part = tomllib.loads(f"k = {part}")["k"]  # the TOML escapes, exactly
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return parts


class _Locator:
    """Where every table and key of a TOML text is, by path.

    A path is what leads to a value in the parsed document: keys, and the
    index of each ``[[array]]`` table (``("server", 1, "accounts", 0,
    "password")``).  The text is scanned once for table headers and
    ``key =`` lines, following TOML's rules for arrays of tables, so an error
    about the second ``[[accounts]]`` table's ``password`` points at *that*
    line, not at the first line that happens to hold the word.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._keys: dict[_KeyPath, int] = {}
        self._tables: dict[_KeyPath, int] = {}
        self._ends: dict[int, int] = {}  # a key's line -> the last line of its value
        self._ids: dict[int, _KeyPath] = {}
        self._scan()

    def _scan(self) -> None:
        arrays: dict[_KeyPath, int] = {}  # an array of tables -> its last index

        def resolve(parts: list[str]) -> _KeyPath:
            path: _KeyPath = ()
            for part in parts:
                path += (part,)
                if path in arrays:  # [[x]] then [x.y]: y is in x's last table
                    path += (arrays[path],)
            return path

        current: _KeyPath = ()
        depth = 0  # open brackets of a multi-line array value
        multiline: str | None = None  # the closing quotes of a multi-line string
        starts: list[int] = []
        for number, raw in enumerate(self.lines, 1):
            if multiline is not None:
                if raw.count(multiline) % 2:
                    multiline = None
                continue
            bare = _STRING_OR_COMMENT.sub(lambda m: '""' if m[0][0] != "#" else "", raw)
            if depth > 0:
                depth = max(0, depth + bare.count("[") - bare.count("]"))
                continue
            if header := _HEADER.match(bare):
                kept = _STRING_OR_COMMENT.sub(lambda m: "" if m[0][0] == "#" else m[0], raw)
                parts = _key_parts(kept.strip().strip("[]"))
                if header[1] == "[[":
                    array = (*resolve(parts[:-1]), parts[-1])
                    arrays[array] = arrays.get(array, -1) + 1
                    current = (*array, arrays[array])
                else:
                    current = resolve(parts)
                self._tables.setdefault(current, number)
                starts.append(number)
                continue
            key = _KEY_LINE.match(raw)
            if key is None:
                continue
            self._keys.setdefault(current + tuple(_key_parts(key[1])), number)
            starts.append(number)
            value = bare[bare.index("=") + 1 :] if "=" in bare else ""
            depth = max(0, value.count("[") - value.count("]"))
            for quotes in ('"""', "'''"):
                if raw.count(quotes) % 2:
                    multiline = quotes
        for here, following in zip(starts, [*starts[1:], len(self.lines) + 1]):
            self._ends[here] = following - 1

    def index(self, document: Mapping[str, Any]) -> None:
        """Remember the path of every table of the parsed *document*."""

        def walk(table: Mapping[str, Any], path: _KeyPath) -> None:
            self._ids[id(table)] = path
            for key, value in table.items():
                if isinstance(value, dict):
                    walk(value, (*path, key))
                elif isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, dict):
                            walk(item, (*path, key, i))

        walk(document, ())

    def line(
        self, table: Mapping[str, Any] | None, key: str | None = None, value: str | None = None
    ) -> int | None:
        """The line of *key* in *table* (or of the table), 1-based.

        With *value*, the line of the key's value that holds it (a list
        spread over several lines).  Falls back to the nearest enclosing key
        or table; None when nothing encloses it (a missing top-level key).
        """
        if table is None or id(table) not in self._ids:
            return None
        path = self._ids[id(table)]
        if key is not None:
            path = (*path, key)
        while path:
            number = self._keys.get(path) or self._tables.get(path)
            if number is not None:
                break
            path = path[:-1]
        else:
            return None
        if value is not None and number in self._ends:
            for candidate in range(number, self._ends[number] + 1):
                line = self.lines[candidate - 1]
                if value in line or value.lower() in line.lower():
                    return candidate
        return number


class _Checker:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.where = _Locator(text)

    def fail(
        self,
        message: str,
        table: Mapping[str, Any] | None = None,
        key: str | None = None,
        *,
        value: str | None = None,
    ) -> ConfigError:
        """An error located at *key* of *table* (or the line of its *value*)."""
        line = self.where.line(table, key, value)
        return ConfigError(message, line=line, source=self.source)

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
                raise self.fail(f"missing required key {key!r}", table)
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            want = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(f"{key!r} must be {want}, not {type(value).__name__}", table, key)
        return value

    def strings(self, table: Mapping[str, Any], key: str) -> list[str]:
        value = self.get(table, key, list, [])
        if not all(isinstance(v, str) for v in value):
            raise self.fail(f"{key!r} must be a list of strings", table, key)
        return list(value)

    def unknown(self, table: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"unknown key {key!r} in {where}", table, key)


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
    "store",
    "accounts",
    "lists",
    "postmaster",
)
_HOSTPORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})\Z")


def _parse_scram(
    c: _Checker, value: str, address: str, table: Mapping[str, Any]
) -> sasl.ScramCredentials:
    try:
        salt, iterations, stored, server = value.split(":")
        return sasl.ScramCredentials(
            salt=base64.b64decode(salt, validate=True),
            iterations=int(iterations),
            stored_key=base64.b64decode(stored, validate=True),
            server_key=base64.b64decode(server, validate=True),
        )
    except ValueError:
        raise c.fail(f"bad scram-sha-256 value for {address}", table, "scram-sha-256") from None


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
        raise c.fail("a server needs at least one domain in 'domains'", table, "domains")
    data_dir = c.get(table, "data_dir", str, hostname)
    plain = c.get(table, "allow_plaintext_auth", (bool, str), "loopback")
    if isinstance(plain, bool):
        plain = "always" if plain else "never"
    if plain not in ("always", "never", "loopback"):
        raise c.fail(
            'allow_plaintext_auth must be true, false or "loopback"', table, "allow_plaintext_auth"
        )
    ports_t = c.get(table, "ports", dict, {})
    c.unknown(ports_t, PORT_NAMES, "[ports]")
    ports: dict[str, int] = {}
    for name in PORT_NAMES:
        port = c.get(ports_t, name, int, 0)
        if not 0 <= port <= 65535:
            raise c.fail(f"port {name} = {port} is out of range 0-65535", ports_t, name)
        ports[name] = port
    tls_t = c.get(table, "tls", dict, {})
    c.unknown(tls_t, ("cert", "key"), "[tls]")
    cert, key = c.get(tls_t, "cert", str), c.get(tls_t, "key", str)
    if (cert is None) != (key is None):
        raise c.fail("[tls] needs both cert and key", tls_t)
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
            "connections_per_hop",
        ),
        "[relay]",
    )
    routes_t = c.get(table, "routes", dict, {})
    routes: dict[str, tuple[str, int]] = {}
    for domain, target in routes_t.items():
        if not isinstance(target, str) or not (m := _HOSTPORT.match(target)):
            raise c.fail(f'route for {domain!r} must be "host:port"', routes_t, domain)
        port = int(m["port"])
        if not 0 < port <= 65535:
            raise c.fail(f"route for {domain!r}: port out of range", routes_t, domain)
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
        connections_per_hop=c.get(relay_t, "connections_per_hop", int, 4),
    )
    for name in ("max_connections", "connections_per_hop"):
        if getattr(relay, name) < 1:
            raise c.fail(f"[relay] {name} must be at least 1", relay_t, name)
    for name in ("retry_base", "retry_max", "lifetime", "delay_warning", "timeout"):
        if getattr(relay, name) <= 0:
            raise c.fail(f"[relay] {name} must be positive", relay_t, name)
    limits_t = c.get(table, "limits", dict, {})
    c.unknown(limits_t, ("max_message_size", "literal_memory", "spool_memory"), "[limits]")
    max_size = c.get(limits_t, "max_message_size", int, 25 * 1024 * 1024)
    if max_size <= 0:
        raise c.fail("max_message_size must be positive", limits_t, "max_message_size")
    literal_memory = c.get(limits_t, "literal_memory", int, max(DEFAULT_LITERAL_MEMORY, max_size))
    if literal_memory < max_size:
        # Below it, an APPEND of the largest message could never be taken.
        raise c.fail("literal_memory must be at least max_message_size", limits_t, "literal_memory")
    spool_memory = c.get(limits_t, "spool_memory", int, DEFAULT_SPOOL_MEMORY)
    if spool_memory < 0:
        raise c.fail("spool_memory cannot be negative", limits_t, "spool_memory")
    store_t = c.get(table, "store", dict, {})
    c.unknown(store_t, ("sync", "writer"), "[store]")
    store_sync = c.get(store_t, "sync", str, "file")
    if (problem := sync_mode_problem(store_sync)) is not None:
        raise c.fail(f"[store] {problem}", store_t, "sync")
    store_writer = c.get(store_t, "writer", str, "thread")
    if (problem := writer_problem(store_writer, store_sync)) is not None:
        raise c.fail(f"[store] {problem}", store_t, "writer")
    accounts: list[Account] = []
    aliases: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    # Where each address of the directory was written, in the order the
    # Directory checks them: (kind, address, table, key).
    origins: list[tuple[str, str, Mapping[str, Any], str]] = []
    for acc in c.get(table, "accounts", list, []):
        if not isinstance(acc, dict):
            raise c.fail("each [[accounts]] entry must be a table", table, "accounts")
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
                    raise c.fail("apop needs a plaintext password", acc, "apop")
                scram_keys = _parse_scram(c, scram, address, acc)
                account = Account(address=address.lower(), scram=scram_keys)
            else:
                raise c.fail(
                    f"account {address}: give exactly one of password, scram-sha-256",
                    acc,
                    "password" if password is not None else "address",
                )
        except DirectoryError as exc:
            raise c.fail(f"account {address}: {exc}", acc, "address") from None
        except (ValueError, sasl.SASLprepError) as exc:
            if isinstance(exc, ConfigError):
                raise
            # Whatever is left comes from the password (SASLprep).
            raise c.fail(f"account {address}: {exc}", acc, "password") from None
        accounts.append(account)
        origins.append(("account", address, acc, "address"))
        for alias in c.strings(acc, "aliases"):
            if alias.lower() in (a.lower() for a in aliases):
                raise c.fail(
                    f"alias {alias} is already an address here", acc, "aliases", value=alias
                )
            aliases[alias] = address
            origins.append(("alias", alias, acc, "aliases"))
    for lst in c.get(table, "lists", list, []):
        if not isinstance(lst, dict):
            raise c.fail("each [[lists]] entry must be a table", table, "lists")
        c.unknown(lst, ("address", "members"), "[[lists]]")
        address = c.get(lst, "address", str, required=True)
        lists[address] = c.strings(lst, "members")
        origins.append(("list", address, lst, "address"))
        origins.extend(("member", m, lst, "members") for m in lists[address])
    postmaster = c.get(table, "postmaster", str)
    if postmaster is not None:
        origins.append(("postmaster", postmaster, table, "postmaster"))
    try:
        directory = Directory(
            domains=domains,
            accounts=accounts,
            aliases=aliases,
            lists=lists,
            postmaster=postmaster,
        )
    except DirectoryError as exc:
        raise _directory_error(c, exc, origins) from None
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
        literal_memory=literal_memory,
        spool_memory=spool_memory,
        store_sync=store_sync,
        store_writer=store_writer,
        directory=directory,
    )


def _directory_error(
    c: _Checker, exc: DirectoryError, origins: list[tuple[str, str, Mapping[str, Any], str]]
) -> ConfigError:
    """Locate a :class:`DirectoryError` at the entry that caused it.

    The message names the offending address (and, for a list member, the
    list): find the entry of the config that wrote it — the *last* one for
    "defined twice" / "already an address", since the earlier one was fine.
    """
    text = str(exc)
    wanted: list[tuple[str, str]] = []  # (kind, address) candidates, in preference order
    last = False
    if m := re.match(r"account (\S+) defined twice", text):
        wanted, last = [("account", m[1])], True
    elif m := re.match(r"(alias|list) (\S+) is already an address here", text):
        wanted, last = [(m[1], m[2])], True
    elif m := re.match(r"alias (\S+) points to", text):
        wanted = [("alias", m[1])]
    elif m := re.match(r"postmaster (\S+) is unknown here", text):
        wanted = [("postmaster", m[1])]
    elif m := re.match(r"list (\S+) has member (\S+), unknown here", text):
        wanted = [("member", m[2])]
        lists = [o for o in origins if o[0] == "list" and o[1].lower() == m[1].lower()]
        origins = [o for o in origins if o[0] != "member" or any(o[2] is t[2] for t in lists)]
    elif m := re.match(r"'(.*)' (?:is not local@domain|contains)", text) or re.match(
        r"(\S+) is not in a local domain", text
    ):
        wanted = [(kind, m[1]) for kind in ("account", "alias", "list", "member", "postmaster")]
    for kind, address in wanted:
        hits = [o for o in origins if o[0] == kind and o[1].lower() == address.lower()]
        if hits:
            _, value, table, key = hits[-1] if last else hits[0]
            return c.fail(text, table, key, value=value)
    return ConfigError(text, source=c.source)


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
            raise c.fail(f"with [[server]] tables, {extra!r} must be inside one", data, extra)
        tables = data["server"]
        if not isinstance(tables, list):
            raise c.fail("'server' must be an array of tables: [[server]]", data, "server")
    else:
        tables = [data]
    c.where.index(data)
    servers = tuple(_server(c, t, i) for i, t in enumerate(tables))
    seen: dict[str, str] = {}
    for s, t in zip(servers, tables):
        for d in s.domains:
            if d in seen:
                raise c.fail(f"domain {d} is served twice", t, "domains", value=d)
            seen[d] = s.hostname
    return Config(servers=servers)


def load_config(path: Path | str) -> Config:
    """Read and parse a configuration file.

    Relative ``[tls]`` file names are taken relative to the file's own
    directory, not to the working directory: a server started by a service
    manager (or from another directory) finds the same files.
    """
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", source=str(path)) from None
    config = parse_config(text, source=str(path))
    base = path.resolve().parent

    def resolved(name: str | None) -> str | None:
        return None if name is None else str(base / Path(name).expanduser())

    return Config(
        servers=tuple(
            attrs.evolve(s, tls_cert=resolved(s.tls_cert), tls_key=resolved(s.tls_key))
            for s in config.servers
        )
    )


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
