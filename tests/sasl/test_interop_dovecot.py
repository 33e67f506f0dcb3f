"""Our SASL clients against a real server: Dovecot's IMAP AUTHENTICATE and
POP3 AUTH (Dovecot 2.3 implements PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1 and
SCRAM-SHA-256 itself, independently of us).

The protocol framing here is the few lines AUTHENTICATE needs, written out by
hand over a socket, so that these tests exercise only :mod:`mailproto.sasl`
(and its base64 helpers) against Dovecot.
"""

from __future__ import annotations

import base64
import socket
import subprocess
from collections.abc import Iterator

import pytest

from mailproto import sasl
from tests.conftest import require_program
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")

MECHANISMS = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]


_SOURCE = iter(range(2, 250))


def connect(server: DovecotServer, port: int) -> socket.socket:
    # Dovecot delays a client IP more with each failed login ("auth penalty",
    # up to 15 s).  Each connection comes from its own loopback address
    # (any 127.0.0.0/8 address reaches 127.0.0.1 on Linux), so failures in
    # one test do not slow down the next.
    source = f"127.0.0.{next(_SOURCE)}"
    return socket.create_connection((server.host, port), timeout=20, source_address=(source, 0))


class Lines:
    """A minimal CRLF line reader over a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line


def imap_authenticate(
    server: DovecotServer, client: sasl.ClientMechanism, *, use_ir: bool
) -> bytes:
    """Run AUTHENTICATE; return the tagged status line."""
    with connect(server, server.imap_port) as sock:
        lines = Lines(sock)
        assert next(lines).startswith(b"* OK")
        command = b"a AUTHENTICATE " + client.name.encode()
        if use_ir:
            ir = client.initial_response()
            if ir is not None:
                command += b" " + sasl.encode_response(ir, initial=True)
        sock.sendall(command + b"\r\n")
        for line in lines:
            if line.startswith(b"+"):
                challenge = sasl.decode_challenge(line[2:])
                sock.sendall(sasl.encode_response(client.respond(challenge)) + b"\r\n")
            elif line.startswith(b"a "):
                if line.startswith(b"a OK"):
                    client.verify_final()
                sock.sendall(b"b LOGOUT\r\n")
                return line
        raise AssertionError("unreachable")


def pop3_authenticate(server: DovecotServer, client: sasl.ClientMechanism) -> bytes:
    """Run POP3 AUTH (RFC 5034) with an initial response when there is one."""
    with connect(server, server.pop3_port) as sock:
        lines = Lines(sock)
        assert next(lines).startswith(b"+OK")
        command = b"AUTH " + client.name.encode()
        ir = client.initial_response()
        if ir is not None:
            command += b" " + sasl.encode_response(ir, initial=True)
        sock.sendall(command + b"\r\n")
        for line in lines:
            if line.startswith(b"+ ") or line == b"+":
                challenge = sasl.decode_challenge(line[2:])
                sock.sendall(sasl.encode_response(client.respond(challenge)) + b"\r\n")
            else:
                if line.startswith(b"+OK"):
                    client.verify_final()
                sock.sendall(b"QUIT\r\n")
                return line
        raise AssertionError("unreachable")


@pytest.mark.parametrize("use_ir", [True, False], ids=["sasl-ir", "no-ir"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_imap_authenticate_every_user(dovecot: DovecotServer, mechanism: str, use_ir: bool) -> None:
    # The users include a non-ASCII password (SASLprep and UTF-8 on the wire)
    # and one with a space and a quote.
    for user, password in dovecot.users.items():
        client = sasl.client_mechanism(mechanism, username=user, password=password)
        status = imap_authenticate(dovecot, client, use_ir=use_ir)
        assert status.startswith(b"a OK"), (user, status, dovecot.log_text()[-2000:])
        assert client.complete


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_imap_wrong_password_is_refused(dovecot: DovecotServer, mechanism: str) -> None:
    client = sasl.client_mechanism(mechanism, username="alice", password="not-the-password")
    try:
        status = imap_authenticate(dovecot, client, use_ir=True)
    except sasl.SASLError:
        # SCRAM: Dovecot may report e=invalid-proof in a challenge; the client
        # refuses to continue, which is the right outcome too.
        assert mechanism.startswith("SCRAM-")
        return
    assert status.startswith(b"a NO"), status
    assert not client.complete


@pytest.mark.parametrize("mechanism", ["PLAIN", "CRAM-MD5", "SCRAM-SHA-256"])
def test_pop3_auth(dovecot: DovecotServer, mechanism: str) -> None:
    password = dovecot.users["carol"]
    client = sasl.client_mechanism(mechanism, username="carol", password=password)
    status = pop3_authenticate(dovecot, client)
    assert status.startswith(b"+OK"), (status, dovecot.log_text()[-2000:])
    assert client.complete


def test_scram_y_flag_accepted_by_server_without_channel_binding(
    dovecot: DovecotServer,
) -> None:
    # Our client could bind ("y,,") but Dovecot 2.3 offers no -PLUS: the
    # server must accept, as RFC 5802 §6 says.
    binding = sasl.ChannelBinding(type="tls-exporter", data=b"\x00" * 32)
    client = sasl.ScramSHA256Client(
        username="alice", password=dovecot.users["alice"], channel_binding=binding
    )
    status = imap_authenticate(dovecot, client, use_ir=True)
    assert status.startswith(b"a OK"), (status, dovecot.log_text()[-2000:])


def test_scram_authzid_is_refused_for_a_plain_user(dovecot: DovecotServer) -> None:
    # Dovecot only lets master users act as someone else.
    client = sasl.ScramSHA256Client(
        username="alice", password=dovecot.users["alice"], authzid="bob"
    )
    try:
        status = imap_authenticate(dovecot, client, use_ir=True)
    except sasl.SASLError:
        return
    assert status.startswith(b"a NO"), status


# -- stored SCRAM keys agree with Dovecot's ------------------------------------

DOVEADM = "/usr/bin/doveadm"


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
@pytest.mark.parametrize("password", ["pencil", "caröl-pässwörd", 'b0b pass"word'])
def test_scram_credentials_match_doveadm(hash_name: str, password: str) -> None:
    doveadm = require_program(DOVEADM, "apt-get install dovecot-core")
    scheme = "SCRAM-SHA-1" if hash_name == "sha1" else "SCRAM-SHA-256"
    # Dovecot -> us: derive from Dovecot's salt and count, compare the keys.
    out = subprocess.run(
        [doveadm, "pw", "-s", scheme, "-p", password],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    prefix = "{" + scheme + "}"
    assert out.startswith(prefix), out
    iterations, salt, stored_key, server_key = out[len(prefix) :].split(",")
    ours = sasl.scram_credentials(password, base64.b64decode(salt), int(iterations), hash_name)
    assert base64.b64encode(ours.stored_key).decode() == stored_key
    assert base64.b64encode(ours.server_key).decode() == server_key

    # Us -> Dovecot: doveadm verifies a password against keys we derived.
    mine = sasl.scram_credentials(password, hash=hash_name)
    encoded = prefix + ",".join(
        [
            str(mine.iterations),
            base64.b64encode(mine.salt).decode(),
            base64.b64encode(mine.stored_key).decode(),
            base64.b64encode(mine.server_key).decode(),
        ]
    )
    check = subprocess.run(
        [doveadm, "pw", "-t", encoded, "-p", password],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0 and "verified" in check.stdout + check.stderr, check


@pytest.mark.parametrize("password", ["pencil", "caröl-pässwörd", "x" * 80])
def test_cram_md5_context_matches_doveadm(password: str) -> None:
    # Dovecot's {CRAM-MD5} scheme is the HMAC-MD5 context, hex-encoded.
    doveadm = require_program(DOVEADM, "apt-get install dovecot-core")
    out = subprocess.run(
        [doveadm, "pw", "-s", "CRAM-MD5", "-p", password],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert out == "{CRAM-MD5}" + sasl.cram_md5_context(password).hex()
