"""Helpers shared by the reference-server end-to-end tests (no tests here).

:class:`ServerThread` runs :class:`mailserver.cli.MailServer` on its own
event loop in a thread, so that the blocking stdlib clients (``smtplib``,
``poplib``, ``imaplib``) and ``curl`` can talk to it from the test.
:func:`demo_config` is the embedded demo configuration with every port
replaced by a free one.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mailserver.cli import MailServer, StartError, loop_runner
from mailserver.config import DEMO_CONFIG, parse_config

A = "mx.iesfbmoll.example"
B = "mx.correo.example"
#: Demo accounts the tests use by name (passwords in PASSWORDS).
PEPE = "pepe@iesfbmoll.example"
ANA = "ana@iesfbmoll.example"
INFO = "informacion@iesfbmoll.example"
MANOLO = "manolo@correo.example"
PASSWORDS = {
    "pepe@iesfbmoll.example": "pepe-demo-1",
    "ana@iesfbmoll.example": "ana-demo-1",
    "informacion@iesfbmoll.example": "info-demo-1",
    "manolo@correo.example": "manolo-demo-1",
    "lucia@correo.example": "lucia-demo-1",
}
_DEMO_PORTS = (2525, 2587, 2465, 2110, 2995, 2143, 2993, 3525, 3587, 3465, 3110, 3995, 3143, 3993)


def free_ports(count: int) -> list[int]:
    """*count* distinct ports that were free a moment ago.

    All are held open together while they are chosen: ports asked for one
    at a time (:func:`~mailserver.cli.free_port`) may repeat, since the
    kernel can hand out a port again as soon as it is closed — and two
    listeners of one config on the same port fail every start.
    """
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def demo_config(
    *, retry_base: float = 5, extra: Callable[[str], str] | None = None
) -> tuple[str, dict[int, int]]:
    """The demo config with free ports; returns ``(text, {demo port: real port})``."""
    mapping = dict(zip(_DEMO_PORTS, free_ports(len(_DEMO_PORTS))))
    text = re.sub(
        r"\b(2|3)(525|587|465|110|995|143|993)\b", lambda m: str(mapping[int(m[0])]), DEMO_CONFIG
    )
    text = text.replace("retry_base = 5", f"retry_base = {retry_base}")
    if extra is not None:
        text = extra(text)
    return text, mapping


class ServerThread:
    """A :class:`MailServer` on a private event loop in a daemon thread.

    The config's ports were free when :func:`demo_config` chose them, but
    another process may take one before the server binds it (a client's
    ephemeral port, typically when a test restarts a server on the same
    config): :meth:`start` then moves every port of the config to a new free
    one and tries again, so use :meth:`port` rather than the ports chosen
    up front.
    """

    #: Starts tried before a port in use is an error.
    ATTEMPTS = 3

    def __init__(
        self, config_text: str, data_dir: Path, *, event_loop: str = "asyncio", **kwargs: object
    ) -> None:
        self.config_text = config_text
        #: Which event loop the server runs on (:data:`mailserver.cli.EVENT_LOOPS`).
        self.event_loop = event_loop
        self._run = loop_runner(event_loop)  # ImportError here, not in the thread
        self.config = parse_config(config_text)
        self.data_dir = data_dir
        self.kwargs = kwargs
        self.server: MailServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _move_ports(self) -> None:
        # Every configured port (listeners, and the routes that name them)
        # to a fresh free one, consistently through the whole text.
        ports = sorted({p for cfg in self.config.servers for p in cfg.ports.values() if p})
        mapping = dict(zip(ports, free_ports(len(ports))))
        self.config_text = re.sub(
            r"\b\d{2,5}\b",
            lambda m: str(mapping.get(int(m[0]), m[0])),
            self.config_text,
        )
        self.config = parse_config(self.config_text)

    def _main(self) -> None:
        self._run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.server = MailServer(self.config, data_dir=self.data_dir, **self.kwargs)  # type: ignore[arg-type]
        try:
            await self.server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.server.stop()

    def start(self) -> ServerThread:
        for attempt in range(self.ATTEMPTS):
            self._thread.start()
            self._ready.wait(30)
            error = self._error
            if error is None:
                return self
            self._thread.join(30)
            if (
                not isinstance(error, StartError)
                or "address already in use" not in str(error)
                or attempt == self.ATTEMPTS - 1
            ):
                raise error
            self._move_ports()
            self._error = None
            self._ready = threading.Event()
            self._thread = threading.Thread(target=self._main, daemon=True)
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def port(self, host: str, name: str) -> int:
        assert self.server is not None
        return int(self.server.ports[(host, name)])

    def messages(self, host: str, account: str, folder: str = "INBOX") -> list[bytes]:
        """The messages IMAP and POP3 sessions of *host* see in *account*'s *folder*.

        Read on the server's own loop, so a message is listed only once its
        delivery is registered (its file appears in ``new/`` a moment before
        that, while the delivery's batch is still being made durable).
        """
        assert self.server is not None and self._loop is not None
        store = self.server.sites[host].store

        async def read() -> list[bytes]:
            box = store.mailbox(account).folder(folder)
            return [box.read(uid) for uid in box.uids()]

        return asyncio.run_coroutine_threadsafe(read(), self._loop).result(30)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def unverified() -> ssl.SSLContext:
    """A client context for the self-signed demo certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll *predicate* until true or *timeout* seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def maildir_files(root: Path, account: str, folder: str = "") -> list[Path]:
    """Message files (new/ and cur/) of *account*'s folder under a server's data dir."""
    base = root / "mail" / account
    if folder:
        base = base / ("." + folder)
    return sorted(p for sub in ("new", "cur") for p in (base / sub).glob("*") if p.is_file())


def recv_until(sock: socket.socket, marker: bytes, timeout: float = 10.0) -> bytes:
    """Read from *sock* until *marker* appears (or the peer closes)."""
    sock.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def lines(text: str) -> Iterator[str]:
    yield from text.splitlines()
