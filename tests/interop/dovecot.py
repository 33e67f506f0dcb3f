"""A real Dovecot (IMAP + POP3) for interop tests, started with a throwaway config.

Usage
-----
In an interop test module, create the fixture with :func:`dovecot_fixture` (a
module-level assignment, so ruff does not see a shadowed import)::

    import pytest
    from tests.interop.dovecot import DovecotServer, dovecot_fixture

    pytestmark = pytest.mark.interop
    dovecot = dovecot_fixture(scope="module")   # fixture named "dovecot"

    def test_fetch(dovecot: DovecotServer) -> None:
        dovecot.deliver("alice", b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        host, port = dovecot.host, dovecot.pop3_port
        user, password = "alice", dovecot.users["alice"]
        ...

Or call :func:`start_dovecot` yourself and :meth:`DovecotServer.stop` it.  The
fixture skips the test when Dovecot is missing (fails instead under
``MAILPROTO_REQUIRE_PEERS=1``), via :func:`tests.conftest.require_program`.

What the server offers
----------------------
* ``imap_port`` / ``pop3_port`` plain (with STARTTLS/STLS) and ``imaps_port`` /
  ``pop3s_port`` implicit TLS, all on 127.0.0.1 on free ports.  The certificate
  comes from a throwaway :mod:`trustme` CA: :meth:`DovecotServer.client_ssl_context`
  returns a context that trusts it (server name ``localhost`` or ``127.0.0.1``).
* Users in :attr:`DovecotServer.users` (name → password), stored ``{PLAIN}`` in a
  passwd-file, so every mechanism works: ``PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1
  SCRAM-SHA-256`` for IMAP AUTHENTICATE / POP3 AUTH, plain ``LOGIN``/``USER``+
  ``PASS`` (cleartext allowed without TLS), and POP3 ``APOP`` (the greeting
  carries a timestamp).
* Maildir storage (Maildir++ folders) under a private directory; put mail in
  with :meth:`DovecotServer.deliver`.  IMAP has Dovecot's built-ins (IDLE,
  CONDSTORE/QRESYNC, ENABLE, LITERAL+, SASL-IR, …) plus ``COMPRESS=DEFLATE``
  (the ``zlib``/``imap_zlib`` plugins).

Dovecot 2.3 (Debian 12 ships 2.3.19) is supported; 2.4 changed the config syntax
wholesale and gets a clear failure until someone writes its variant.

Running as root (CI does), Dovecot refuses root for login processes and uid 0
for mail access, so login runs as ``dovenull`` and mail as ``dovecot`` (both
created by the Debian packages).  Unix sockets live under ``base_dir``, whose
path must be short (108-byte socket path limit) and traversable by those users,
so the runtime directory (``base_dir``, mail, state) is a fresh ``/tmp/mpdv-*``
directory removed by :meth:`DovecotServer.stop`; the config, the passwd file,
the certificate and the log go in the *tmp_path* the caller gives.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
import trustme

from tests.conftest import require_program

__all__ = ["DOVECOT", "DovecotServer", "dovecot_fixture", "dovecot_version", "start_dovecot"]

#: Path of the Dovecot master binary (Debian packages dovecot-core et al.).
DOVECOT = "/usr/sbin/dovecot"
#: How to install it, shown when it is missing.
INSTALL_HINT = "apt-get install dovecot-imapd dovecot-pop3d"

#: The users every server gets (name → password).  Passwords avoid ``:`` (the
#: passwd-file separator) but include punctuation and non-ASCII so clients'
#: quoting and SASL encodings are exercised.
DEFAULT_USERS: Mapping[str, str] = {
    "alice": "alice-secret",
    "bob": 'b0b pass"word',
    "carol": "caröl-pässwörd",
}

_STARTUP_TIMEOUT = 15.0


def dovecot_version(binary: str = DOVECOT) -> tuple[int, int, int]:
    """Return Dovecot's version as a tuple, e.g. ``(2, 3, 19)``."""
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    numbers = out.split()[0].split(".")
    parts = [int(n) for n in numbers[:3] if n.isdigit()]
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


def _free_port() -> int:
    # Bind to port 0 and release it: the kernel hands out ports round-robin,
    # so the race with another process taking it before Dovecot binds is
    # negligible on a test machine; start_dovecot retries if it happens.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@attrs.define(kw_only=True)
class DovecotServer:
    """A running Dovecot; stop it with :meth:`stop` (the fixture does)."""

    #: Address every listener is bound to.
    host: str
    #: IMAP port (STARTTLS offered, plaintext login allowed).
    imap_port: int
    #: IMAP over implicit TLS.
    imaps_port: int
    #: POP3 port (STLS offered, USER/PASS and APOP allowed).
    pop3_port: int
    #: POP3 over implicit TLS.
    pop3s_port: int
    #: Account names and their plaintext passwords.
    users: Mapping[str, str]
    #: The Dovecot version running, e.g. ``(2, 3, 19)``.
    version: tuple[int, int, int]
    #: The throwaway CA that signed the server certificate.
    ca: trustme.CA
    #: Directory holding config, passwd file, certificate and log.
    config_dir: Path
    #: Private runtime directory (base_dir, state, mail); removed by stop().
    runtime_dir: Path
    #: Uid/gid owning the mail files (Dovecot's mail_uid/mail_gid).
    mail_uid: int
    mail_gid: int
    _process: subprocess.Popen[bytes]
    _counter: int = 0

    @property
    def log_path(self) -> Path:
        """Dovecot's log file (all services)."""
        return self.config_dir / "dovecot.log"

    def log_text(self) -> str:
        """The log so far (useful in assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """The Maildir of *user*'s *folder* (``INBOX`` or a Maildir++ name)."""
        root = self.runtime_dir / "mail" / user
        if folder.upper() == "INBOX":
            return root
        # Maildir++: folder "a/b" (hierarchy separator "/" in IMAP with
        # LAYOUT=maildir++ default ".") lives in ".a.b".
        return root / ("." + folder.replace("/", "."))

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self.mail_uid, self.mail_gid)

    def _make_maildir(self, path: Path) -> None:
        for sub in ("", "new", "cur", "tmp"):
            p = path / sub
            if not p.exists():
                p.mkdir(mode=0o700, parents=True)
                self._chown(p)

    def deliver(
        self, user: str, raw: bytes, folder: str = "INBOX", *, flags: str | None = None
    ) -> Path:
        """Deliver *raw* (a whole message, CRLF or LF) to *user*'s *folder*.

        Follows the Maildir protocol: write under ``tmp/``, then rename into
        ``new/`` (or into ``cur/`` with ``:2,<flags>`` when *flags* is given,
        e.g. ``"S"`` for seen).  Dovecot stores LF line ends on disk and
        serves CRLF; CRLF files are served unchanged, so either works.
        Returns the final path.
        """
        if user not in self.users:
            raise KeyError(f"unknown user {user!r}")
        user_root = self.maildir(user)
        self._make_maildir(user_root)
        box = self.maildir(user, folder)
        if box != user_root:
            self._make_maildir(box)
            marker = box / "maildirfolder"
            if not marker.exists():
                marker.touch()
                self._chown(marker)
        self._counter += 1
        now = time.time()
        secs = int(now)
        usecs = int((now - secs) * 1_000_000)
        # Unique name per maildir(5): time.M<usec>P<pid>Q<counter>.host; the
        # S=<size> field lets Dovecot skip a stat for the size.
        base = f"{secs}.M{usecs}P{os.getpid()}Q{self._counter}.mailproto,S={len(raw)}"
        tmp = box / "tmp" / base
        tmp.write_bytes(raw)
        self._chown(tmp)
        final = box / "new" / base if flags is None else box / "cur" / f"{base}:2,{flags}"
        os.rename(tmp, final)
        return final

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate."""
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx

    def stop(self) -> None:
        """Stop Dovecot and remove its runtime directory (idempotent)."""
        proc = self._process
        if proc.poll() is None:
            # SIGTERM to the master: it shuts its own children down.
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _config_23(
    *,
    runtime: Path,
    config_dir: Path,
    ports: Mapping[str, int],
    internal_user: str,
    login_user: str,
    mail_user: str,
    mail_group: str,
) -> str:
    # One listener per protocol and transport; chroot off for login services
    # so the same config works for a non-root run.  ssl = yes only *offers*
    # TLS: disable_plaintext_auth = no keeps cleartext logins working on the
    # plain ports, which the interop tests need (RFC 2595 lets servers choose).
    return f"""\
# Generated by tests/interop/dovecot.py for Dovecot 2.3: throwaway test server.
protocols = imap pop3
listen = 127.0.0.1
base_dir = {runtime}/run
state_dir = {runtime}/state
log_path = {config_dir}/dovecot.log
info_log_path = {config_dir}/dovecot.log
debug_log_path = {config_dir}/dovecot.log
instance_name = mailproto-test-{ports["imap"]}
shutdown_clients = yes

ssl = yes
ssl_cert = <{config_dir}/server.pem
ssl_key = <{config_dir}/server.key
ssl_min_protocol = TLSv1.2

disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 apop
auth_verbose = yes
auth_failure_delay = 0

default_internal_user = {internal_user}
default_internal_group = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
mail_uid = {mail_user}
mail_gid = {mail_group}
mail_location = maildir:{runtime}/mail/%u
mail_plugins = zlib

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {config_dir}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={runtime}/mail/%u
}}

protocol imap {{
  mail_plugins = $mail_plugins imap_zlib
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {ports["imap"]}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {ports["pop3"]}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {ports["pop3s"]}
    ssl = yes
  }}
}}
"""


def _wait_for_ports(proc: subprocess.Popen[bytes], host: str, ports: list[int]) -> bool:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    pending = list(ports)
    while pending and time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, pending[0]), timeout=1):
                pass
        except OSError:
            time.sleep(0.05)
            continue
        pending.pop(0)
    if pending:
        return False
    # A port that accepted may belong to another listener that took it after
    # _free_port released it; Dovecot then exits at once (it binds every
    # listener before serving), so a master still running now owns them all.
    time.sleep(0.3)
    return proc.poll() is None


def start_dovecot(
    tmp_path: Path,
    *,
    users: Mapping[str, str] | None = None,
    binary: str = DOVECOT,
) -> DovecotServer:
    """Start Dovecot with a throwaway config; return when every port accepts.

    *tmp_path* receives the config, passwd file, certificate and log.
    """
    version = dovecot_version(binary)
    if version[:2] != (2, 3):
        raise RuntimeError(
            f"Dovecot {'.'.join(map(str, version))}: tests/interop/dovecot.py only writes "
            "Dovecot 2.3 configs (2.4 changed the syntax)"
        )
    users = dict(DEFAULT_USERS if users is None else users)
    config_dir = Path(tmp_path)
    config_dir.mkdir(parents=True, exist_ok=True)

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_pem.write_to_path(str(config_dir / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(config_dir / "server.pem"))
    for extra in cert.cert_chain_pems[1:]:
        with open(config_dir / "server.pem", "ab") as f:
            f.write(extra.bytes())

    # passwd-file lines: user:{PLAIN}password:uid:gid:gecos:home:shell:extra.
    # {PLAIN} lets Dovecot derive whatever each mechanism needs (CRAM-MD5,
    # SCRAM, APOP) from the plaintext.  The extra field nodelay=y exempts the
    # user from Dovecot's "auth penalty", which otherwise delays each failed
    # login from one IP by 2, 4, 8... up to 15 s: tests fail logins on purpose.
    lines = []
    for name, password in users.items():
        if ":" in name or ":" in password or "\n" in password:
            raise ValueError(f"user {name!r}: ':' and newlines cannot go in a passwd-file")
        lines.append(f"{name}:{{PLAIN}}{password}::::::nodelay=y\n")
    (config_dir / "passwd").write_text("".join(lines), encoding="utf-8")

    if os.geteuid() == 0:
        # Root: Dovecot wants non-root login processes and a non-zero mail uid.
        mail = pwd.getpwnam("dovecot")
        mail_user, mail_uid, mail_gid = "dovecot", mail.pw_uid, mail.pw_gid
        internal_user, login_user = "root", "dovenull"
    else:
        me = pwd.getpwuid(os.geteuid())
        mail_user = internal_user = login_user = me.pw_name
        mail_uid, mail_gid = me.pw_uid, os.getegid()
    mail_group = grp.getgrgid(mail_gid).gr_name

    last_error = ""
    for _attempt in range(3):
        runtime = Path(tempfile.mkdtemp(prefix="mpdv-", dir="/tmp"))
        os.chmod(runtime, 0o755)
        (runtime / "mail").mkdir(mode=0o755)
        if os.geteuid() == 0:
            os.chown(runtime / "mail", mail_uid, mail_gid)
        ports = {name: _free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
        conf = config_dir / "dovecot.conf"
        conf.write_text(
            _config_23(
                runtime=runtime,
                config_dir=config_dir,
                ports=ports,
                internal_user=internal_user,
                login_user=login_user,
                mail_user=mail_user,
                mail_group=mail_group,
            ),
            encoding="utf-8",
        )
        log = config_dir / "dovecot.log"
        log.touch()
        proc = subprocess.Popen(
            [binary, "-F", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(config_dir / "dovecot.stderr", "ab"),  # noqa: SIM115
        )
        server = DovecotServer(
            host="127.0.0.1",
            imap_port=ports["imap"],
            imaps_port=ports["imaps"],
            pop3_port=ports["pop3"],
            pop3s_port=ports["pop3s"],
            users=users,
            version=version,
            ca=ca,
            config_dir=config_dir,
            runtime_dir=runtime,
            mail_uid=mail_uid,
            mail_gid=mail_gid,
            process=proc,
        )
        if _wait_for_ports(proc, server.host, list(ports.values())):
            for name in users:
                server._make_maildir(server.maildir(name))
            return server
        server.stop()
        last_error = (
            server.log_text()[-3000:]
            + (config_dir / "dovecot.stderr").read_text(errors="replace")[-2000:]
        )
    raise RuntimeError(f"Dovecot did not start:\n{last_error}")


def dovecot_fixture(
    scope: Any = "module", name: str = "dovecot"
) -> Callable[..., Iterator[DovecotServer]]:
    """Make a pytest fixture that yields a running :class:`DovecotServer`.

    Assign it at module level: ``dovecot = dovecot_fixture(scope="module")``.
    """

    @pytest.fixture(scope=scope, name=name)
    def _dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
        require_program(DOVECOT, INSTALL_HINT)
        server = start_dovecot(tmp_path_factory.mktemp("dovecot"))
        try:
            yield server
        finally:
            server.stop()

    return _dovecot
