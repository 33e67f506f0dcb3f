"""Command line and process life cycle: ``python -m mailserver``.

::

    python examples/run_mailserver.py --demo                # two demo domains
    python examples/run_mailserver.py --config mail.toml --data-dir /var/mail

:class:`MailServer` is the whole process minus argument parsing, so tests
start it in-process (``await server.start()`` / ``await server.stop()``).
For each configured server it opens the store, the relay queue and the
listeners named in ``[ports]``, and runs the relay in the background.

Open files: every connection is a file descriptor, and a usual soft limit
(1024) is below what the listeners admit (``max_connections`` each), so
:func:`main` raises the soft ``RLIMIT_NOFILE`` towards the hard limit before
it starts, and warns when even the hard limit is too low.  Past the limit,
``accept()`` fails with EMFILE and asyncio stops accepting for a while: new
clients would hang, not be refused.

Shutdown (SIGINT, SIGTERM): the listeners stop accepting at once; sessions
in progress get a grace period to finish (a message whose ``250`` was sent is
already on disk, one still arriving gets no ``250`` and the client will retry),
then they are cancelled; the relay stops between attempts and the queue stays
on disk for the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import resource
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .budget import MemoryBudget
from .config import (
    DEMO_CONFIG,
    PORT_NAMES,
    Config,
    ConfigError,
    ServerConfig,
    load_config,
    parse_config,
)
from .maildir import Store
from .mda import MDA
from .pump import Gate, Link, Site, serve_link
from .queue import Queue
from .rawpump import HandlerFactory, RawListener, bind
from .relay import Relay
from .smtp_service import BUSY as SMTP_BUSY
from .smtp_service import clear_spool, smtp_handler, smtp_session, spooled_deliveries
from .tls import ensure_certificate, server_context

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["MailServer", "StartError", "main"]

Session = Callable[[Link], Awaitable[None]]
SessionMaker = Callable[[Site], Session]
#: Listener name -> (uses implicit TLS, how to make its session, "busy" refusal).
LISTENERS: dict[str, tuple[bool, SessionMaker, bytes]] = {
    "smtp": (False, lambda s: smtp_session(s, submission=False, implicit_tls=False), SMTP_BUSY),
    "submission": (
        False,
        lambda s: smtp_session(s, submission=True, implicit_tls=False),
        SMTP_BUSY,
    ),
    "smtps": (True, lambda s: smtp_session(s, submission=True, implicit_tls=True), SMTP_BUSY),
}
#: Listeners served by the callback pump (:mod:`.rawpump`) instead: plain
#: SMTP, where a session is often one message and asyncio's per-connection
#: machinery cost more than the session.  Listener name -> handler factory.
CALLBACK_LISTENERS: dict[str, Callable[[Site], HandlerFactory]] = {
    "smtp": lambda s: smtp_handler(s, submission=False),
    "submission": lambda s: smtp_handler(s, submission=True),
}


def _register_optional() -> None:
    """POP3 and IMAP listeners (separate modules, registered here)."""
    try:
        from .pop3_service import BUSY as POP3_BUSY
        from .pop3_service import pop3_session
    except ImportError:  # pragma: no cover - during development only
        pass
    else:
        LISTENERS["pop3"] = (False, lambda s: pop3_session(s, implicit_tls=False), POP3_BUSY)
        LISTENERS["pop3s"] = (True, lambda s: pop3_session(s, implicit_tls=True), POP3_BUSY)
    try:
        from .imap_service import BUSY as IMAP_BUSY
        from .imap_service import imap_session
    except ImportError:  # pragma: no cover - during development only
        pass
    else:
        LISTENERS["imap"] = (False, lambda s: imap_session(s, implicit_tls=False), IMAP_BUSY)
        LISTENERS["imaps"] = (True, lambda s: imap_session(s, implicit_tls=True), IMAP_BUSY)


_register_optional()


class StartError(Exception):
    """The server could not start (a port in use, an unreadable directory...)."""


class MailServer:
    """Every configured server of one process: stores, relays, listeners."""

    def __init__(
        self,
        config: Config,
        *,
        data_dir: Path | str,
        host: str = "127.0.0.1",
        grace: float = 5.0,
        max_connections: int = 1000,
    ) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.host = host
        self.grace = grace
        self.max_connections = max_connections
        #: ``(hostname, listener name) -> bound port``, filled by :meth:`start`.
        self.ports: dict[tuple[str, str], int] = {}
        #: ``hostname -> Site`` (for tests and tools).
        self.sites: dict[str, Site] = {}
        #: ``hostname -> Relay``.
        self.relays: dict[str, Relay] = {}
        self._servers: list[asyncio.Server | RawListener] = []
        self._gates: list[Gate] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Open stores and queues, bind every listener, start the relays."""
        try:
            for cfg in self.config.servers:
                await self._start_one(cfg)
        except BaseException:
            await self.stop()
            raise

    async def _start_one(self, cfg: ServerConfig) -> None:
        root = Path(cfg.data_dir)
        if not root.is_absolute():
            root = self.data_dir / root
        try:
            # Private to the server's user (mode 0700 when created here):
            # below are mail, the queue and the TLS key, and the file names
            # alone (Maildir keeps sizes and flags in them) are not for
            # other local users.  Postfix and Dovecot keep theirs closed too.
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            (root / "spool").mkdir(mode=0o700, exist_ok=True)
            clear_spool(root / "spool")
            store = Store(root / "mail", sync=cfg.store_sync, writer=cfg.store_writer)
            queue = Queue(root / "queue")
            if cfg.tls_cert and cfg.tls_key:
                cert, key = Path(cfg.tls_cert), Path(cfg.tls_key)
            else:
                cert, key = ensure_certificate(root / "tls", cfg.hostname)
            ctx = server_context(cert, key)
        except OSError as exc:
            raise StartError(f"{cfg.hostname}: {exc}") from None
        mda = MDA(store, cfg.directory, queue=queue)
        relay = Relay(queue, cfg.directory, mda, hostname=cfg.hostname, settings=cfg.relay)
        site = Site(
            config=cfg,
            directory=cfg.directory,
            store=store,
            mda=mda,
            ssl_context=ctx,
            spool=root / "spool",
            on_queued=relay.wake,
            max_connections=self.max_connections,
            literal_budget=MemoryBudget(cfg.literal_memory),
            spool_budget=MemoryBudget(cfg.spool_memory),
        )
        self.sites[cfg.hostname] = site
        self.relays[cfg.hostname] = relay
        loop = asyncio.get_running_loop()
        for name in PORT_NAMES:
            port = cfg.ports.get(name, 0)
            if not port or name not in LISTENERS:
                continue
            implicit, maker, busy = LISTENERS[name]
            gate = Gate(self.max_connections)
            self._gates.append(gate)
            server: asyncio.Server | RawListener
            try:
                if name in CALLBACK_LISTENERS:
                    server = RawListener(
                        await bind(self.host, port, backlog=1024),
                        gate,
                        CALLBACK_LISTENERS[name](site),
                        busy,
                        ssl_context=ctx,
                        idle_timeout=site.smtp_timeout,
                    )
                else:
                    server = await loop.create_server(
                        serve_link(gate, maker(site), busy),
                        self.host,
                        port,
                        ssl=ctx if implicit else None,
                        ssl_handshake_timeout=30.0 if implicit else None,
                        reuse_address=True,
                        backlog=1024,
                    )
            except OSError as exc:
                why = "address already in use" if exc.errno == errno.EADDRINUSE else str(exc)
                raise StartError(
                    f"cannot listen on {self.host}:{port} ({name} of {cfg.hostname}): {why}"
                ) from None
            self._servers.append(server)
            sock = server.sockets[0]
            self.ports[(cfg.hostname, name)] = int(sock.getsockname()[1])
        self._tasks.append(loop.create_task(relay.run()))

    async def stop(self) -> None:
        """Stop accepting, let sessions finish for a grace period, stop the relays."""
        for server in self._servers:
            server.close()
        for relay in self.relays.values():
            relay.stop()
        for gate in self._gates:
            gate.stop_all()
        sessions = [t for g in self._gates for t in g.tasks]
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=self.grace)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        spooled = spooled_deliveries()
        if spooled:
            # A cancelled session's spooled message is still being stored
            # (its file is read by a store thread): the loop must outlive it.
            await asyncio.wait(spooled, timeout=self.grace)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.grace)
            for t in pending:
                t.cancel()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self._tasks.clear()
        for site in self.sites.values():
            # Every delivery is done or given up: end the writer processes.
            site.store.close()


T = TypeVar("T")

# -- command line ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mailserver",
        description="The mailproto reference mail server (SMTP, POP3, IMAP over Maildir).",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--config", metavar="FILE", help="TOML configuration file")
    src.add_argument(
        "--demo",
        action="store_true",
        help="run the embedded demo: iesfbmoll.example and correo.example on loopback",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default="mailserver-data",
        help="where mailboxes, queues and certificates live (default: ./mailserver-data)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    for name in PORT_NAMES:
        p.add_argument(
            f"--{name}-port",
            type=int,
            metavar="PORT",
            help=f"{name} listener port of the first server (0: off)",
        )
    p.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="asyncio",
        help="asyncio's own event loop (default), or uvloop's (pip install uvloop)",
    )
    p.add_argument("--print-config", action="store_true", help="print the demo config and exit")
    return p


#: Event loops the server runs on.  Everything here is written against
#: asyncio's interfaces only (protocols, transports, ``loop.start_tls``), so
#: any implementation of them serves; uvloop's is the one commonly deployed,
#: and the SMTP intake benchmark measures both.
EVENT_LOOPS = ("asyncio", "uvloop")


def loop_runner(event_loop: str) -> Callable[[Coroutine[Any, Any, T]], T]:
    """The ``asyncio.run`` of the event loop named *event_loop* (one of :data:`EVENT_LOOPS`).

    It runs a coroutine to completion on a new loop and closes the loop
    afterwards.  Raises :class:`ImportError` for ``"uvloop"`` when uvloop is
    not installed — before any coroutine exists, so none is left unawaited.
    """
    if event_loop == "uvloop":
        import uvloop

        return uvloop.run
    if event_loop != "asyncio":
        raise ValueError(f"unknown event loop {event_loop!r}")
    return asyncio.run


def _override_ports(config: Config, args: argparse.Namespace) -> Config:
    ports = dict(config.servers[0].ports)
    changed = False
    for name in PORT_NAMES:
        value = getattr(args, f"{name}_port")
        if value is not None:
            if not 0 <= value <= 65535:
                raise ConfigError(f"--{name}-port {value} is out of range 0-65535")
            ports[name] = value
            changed = True
    if not changed:
        return config
    first = attrs.evolve(config.servers[0], ports=ports)
    return attrs.evolve(config, servers=(first, *config.servers[1:]))


def describe(server: MailServer, demo_text: str | None) -> str:
    """The start-up banner: listeners, accounts (and demo passwords)."""
    passwords: dict[str, str] = {}
    if demo_text is not None:
        for table in tomllib.loads(demo_text).get("server", []):
            for acc in table.get("accounts", []):
                passwords[acc["address"]] = acc.get("password", "")
    out = []
    for cfg in server.config.servers:
        out.append(f"== {cfg.hostname}  (domains: {', '.join(cfg.domains)})")
        for name in PORT_NAMES:
            port = server.ports.get((cfg.hostname, name))
            if port:
                out.append(f"   {name:<10} {server.host}:{port}")
        for acc in cfg.directory.accounts:
            pw = passwords.get(acc.address)
            out.append(f"   account  {acc.address}" + (f"  password: {pw}" if pw else ""))
        for alias, target in cfg.directory.aliases.items():
            out.append(f"   alias    {alias} -> {target}")
        for lst, members in cfg.directory.lists.items():
            out.append(f"   list     {lst} -> {', '.join(members)}")
        for address, target in cfg.directory.postmasters.items():
            if "@" in address:  # the bare "postmaster" goes to the same place
                out.append(f"   alias    {address} -> {target}  (RFC 5321 postmaster)")
        for domain, (h, p) in cfg.relay.routes.items():
            out.append(f"   route    {domain} -> {h}:{p}")
    return "\n".join(out)


#: Descriptors kept for everything but client connections (listeners, store
#: files, relay connections, the event loop's own).
FD_RESERVE = 256


def raise_open_file_limit(server: MailServer) -> str | None:
    """Raise the soft open-file limit for every connection *server* admits.

    Returns a warning when the hard limit is too low for that, else None.
    """
    listeners = sum(
        1 for cfg in server.config.servers for name in PORT_NAMES if cfg.ports.get(name, 0)
    )
    wanted = listeners * server.max_connections + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return None
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            target = soft
    if target < wanted:
        return (
            f"open-file limit {target} is below the {wanted} that {listeners} listeners of "
            f"{server.max_connections} connections need; raise it (ulimit -n)"
        )
    return None


async def _run(server: MailServer, banner: Callable[[], str]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
    except StartError as exc:
        print(f"mailserver: error: {exc}", file=sys.stderr)
        return 2
    print(banner(), flush=True)
    print("mailserver: ready (Ctrl-C to stop)", flush=True)
    await stop.wait()
    print("mailserver: stopping...", flush=True)
    await server.stop()
    print("mailserver: stopped; the relay queue is kept on disk", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    if args.print_config:
        print(DEMO_CONFIG)
        return 0
    try:
        run = loop_runner(args.event_loop)
    except ImportError as exc:
        print(f"mailserver: error: --event-loop {args.event_loop}: {exc}", file=sys.stderr)
        return 2
    demo_text: str | None = None
    try:
        if args.config:
            config = load_config(args.config)
        elif args.demo:
            demo_text = DEMO_CONFIG
            config = parse_config(DEMO_CONFIG, source="<demo config>")
        else:
            print("mailserver: error: give --config FILE or --demo", file=sys.stderr)
            return 2
        config = _override_ports(config, args)
    except ConfigError as exc:
        print(f"mailserver: config error: {exc}", file=sys.stderr)
        return 2
    server = MailServer(config, data_dir=Path(args.data_dir), host=args.host)
    warning = raise_open_file_limit(server)
    if warning is not None:
        print(f"mailserver: warning: {warning}", file=sys.stderr)
    return run(_run(server, lambda: describe(server, demo_text)))


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (tests and benchmarks)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
