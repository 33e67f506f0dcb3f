"""Our SASL *server* mechanisms against real clients: curl (IMAP
AUTHENTICATE: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL) and the
stdlib's smtplib (SMTP AUTH: PLAIN, LOGIN, CRAM-MD5).

Each test runs a throwaway, single-connection server in a thread: just enough
IMAP or SMTP framing, written out here, to carry the SASL exchange, so the
only mailproto code under test is :mod:`mailproto.sasl`.
"""

from __future__ import annotations

import smtplib
import socket
import subprocess
import threading
from collections.abc import Callable

import pytest

from mailproto import sasl
from tests.conftest import require_program

pytestmark = pytest.mark.interop

USER = "tim"
PASSWORD = "tanstaaf-pässword"
# smtplib encodes passwords as ASCII.
ASCII_PASSWORD = "tanstaaftanstaaf"
TOKEN = "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg"


def decide(question: sasl.Question) -> sasl.Answer:
    """The application: one user, one password, one token."""
    if isinstance(question, sasl.CheckPassword):
        return question.authcid == USER and (
            question.matches(PASSWORD) or question.matches(ASCII_PASSWORD)
        )
    if isinstance(question, sasl.CheckCramDigest):
        return question.username == USER and (
            question.matches(PASSWORD) or question.matches(ASCII_PASSWORD)
        )
    if isinstance(question, sasl.CheckToken):
        return question.token == sasl.Secret(TOKEN) and question.authzid == USER
    if isinstance(question, sasl.CheckExternal):
        return question.authzid in (None, USER)
    raise AssertionError(question)


class OneShotServer:
    """Accept one connection on 127.0.0.1 and run *handler* on it in a thread."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(20)
        self.port = self.listener.getsockname()[1]
        self.handler = handler
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(20)
                self.handler(conn)
        except ConnectionError:
            pass  # clients may hang up without a goodbye after a failure
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            self.listener.close()

    def join(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


class LineReader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("client closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line


def run_exchange(
    mech: sasl.ServerMechanism,
    initial: bytes | None,
    send_challenge: Callable[[bytes], None],
    read_response: Callable[[], bytes],
) -> sasl.Success | sasl.Failure:
    """The loop every protocol writes around a server mechanism."""
    step = mech.step(initial)
    while True:
        if isinstance(step, sasl.Challenge):
            send_challenge(sasl.encode_challenge(step.data))
            step = mech.step(sasl.decode_response(read_response()))
        elif isinstance(step, sasl.Question):
            step = mech.answer(decide(step))
        else:
            assert isinstance(step, (sasl.Success, sasl.Failure))
            return step


# -- IMAP with curl -------------------------------------------------------------


def imap_server(
    outcomes: list[sasl.Success | sasl.Failure], *, sasl_ir: bool, seen_ir: list[bool]
) -> Callable[[socket.socket], None]:
    # Without SASL-IR (RFC 4959) a client must not send an initial response:
    # the mechanism is then started with None and prompts with a challenge.
    capability = b"* CAPABILITY IMAP4rev1" + (b" SASL-IR" if sasl_ir else b"")

    def handle(sock: socket.socket) -> None:
        reader = LineReader(sock)
        sock.sendall(b"* OK test server ready\r\n")
        while True:
            tag, _, rest = reader.line().partition(b" ")
            verb, _, args = rest.partition(b" ")
            verb = verb.upper()
            if verb == b"CAPABILITY":
                mechs = b" ".join(b"AUTH=" + name.encode() for name in sasl.SERVER_MECHANISMS)
                sock.sendall(capability + b" " + mechs + b"\r\n")
                sock.sendall(tag + b" OK done\r\n")
            elif verb == b"AUTHENTICATE":
                name, _, ir = args.partition(b" ")
                seen_ir.append(bool(ir))
                mech = sasl.server_mechanism(name.decode())
                initial = sasl.decode_response(ir, initial=True) if ir else None
                outcome = run_exchange(
                    mech,
                    initial,
                    lambda data: sock.sendall(b"+ " + data + b"\r\n"),
                    reader.line,
                )
                outcomes.append(outcome)
                if isinstance(outcome, sasl.Success):
                    sock.sendall(tag + b" OK authenticated\r\n")
                else:
                    sock.sendall(tag + b" NO authentication failed\r\n")
            elif verb == b"LOGOUT":
                sock.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:  # LIST, SELECT...: nothing to show
                sock.sendall(tag + b" OK done\r\n")

    return handle


CURL_CASES = [
    pytest.param("PLAIN", [], id="PLAIN"),
    pytest.param("LOGIN", [], id="LOGIN"),
    pytest.param("CRAM-MD5", [], id="CRAM-MD5"),
    pytest.param("XOAUTH2", ["--oauth2-bearer", TOKEN], id="XOAUTH2"),
    pytest.param("OAUTHBEARER", ["--oauth2-bearer", TOKEN], id="OAUTHBEARER"),
    # curl picks EXTERNAL only for a user without a password.
    pytest.param("EXTERNAL", [], id="EXTERNAL"),
]


def curl_imap(
    mechanism: str, extra: list[str], *, password: str, sasl_ir: bool
) -> tuple[int, list[sasl.Success | sasl.Failure], list[bool]]:
    curl = require_program("curl", "apt-get install curl")
    outcomes: list[sasl.Success | sasl.Failure] = []
    seen_ir: list[bool] = []
    server = OneShotServer(imap_server(outcomes, sasl_ir=sasl_ir, seen_ir=seen_ir))
    if mechanism == "EXTERNAL":
        password = ""
    command = [
        curl,
        "--silent",
        "--max-time",
        "20",
        f"imap://127.0.0.1:{server.port}/",
        "--user",
        f"{USER}:{password}",
        "--login-options",
        f"AUTH={mechanism}",
        *extra,
    ]
    if sasl_ir:
        command.append("--sasl-ir")
    result = subprocess.run(command, capture_output=True, timeout=30, check=False)
    server.join()
    return result.returncode, outcomes, seen_ir


@pytest.mark.parametrize("sasl_ir", [True, False], ids=["sasl-ir", "no-ir"])
@pytest.mark.parametrize(("mechanism", "extra"), CURL_CASES)
def test_curl_authenticates(mechanism: str, extra: list[str], sasl_ir: bool) -> None:
    code, outcomes, seen_ir = curl_imap(mechanism, extra, password=PASSWORD, sasl_ir=sasl_ir)
    assert outcomes and isinstance(outcomes[-1], sasl.Success), outcomes
    assert outcomes[-1].authcid == USER
    assert code == 0
    if not sasl_ir:
        assert seen_ir == [False]  # the mechanism really started from None


@pytest.mark.parametrize(("mechanism", "extra"), CURL_CASES[:3])
def test_curl_wrong_password_fails(mechanism: str, extra: list[str]) -> None:
    code, outcomes, _ = curl_imap(mechanism, extra, password="wrong", sasl_ir=True)
    assert outcomes == [sasl.Failure(reason="credentials rejected by the application")]
    assert code != 0


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_curl_wrong_token_gets_error_challenge(mechanism: str) -> None:
    # The server sends the RFC 7628 JSON error challenge; curl answers it
    # with the dummy response and the exchange fails cleanly.
    code, outcomes, _ = curl_imap(
        mechanism, ["--oauth2-bearer", "expired"], password="", sasl_ir=True
    )
    assert outcomes == [sasl.Failure(reason="token rejected by the application")]
    assert code != 0


# -- SMTP with smtplib ------------------------------------------------------------


def smtp_server(
    mechanism: str, outcomes: list[sasl.Success | sasl.Failure]
) -> Callable[[socket.socket], None]:
    def handle(sock: socket.socket) -> None:
        reader = LineReader(sock)
        sock.sendall(b"220 test ESMTP\r\n")
        while True:
            line = reader.line()
            verb, _, args = line.partition(b" ")
            verb = verb.upper()
            if verb == b"EHLO":
                sock.sendall(b"250-test\r\n250 AUTH " + mechanism.encode() + b"\r\n")
            elif verb == b"AUTH":
                name, _, ir = args.partition(b" ")
                mech = sasl.server_mechanism(name.decode(), hostname="test.example")
                initial = sasl.decode_response(ir, initial=True) if ir else None
                outcome = run_exchange(
                    mech,
                    initial,
                    lambda data: sock.sendall(b"334 " + data + b"\r\n"),
                    reader.line,
                )
                outcomes.append(outcome)
                if isinstance(outcome, sasl.Success):
                    sock.sendall(b"235 2.7.0 Authentication successful\r\n")
                else:
                    sock.sendall(b"535 5.7.8 Authentication credentials invalid\r\n")
            elif verb == b"QUIT":
                sock.sendall(b"221 bye\r\n")
                return
            else:
                sock.sendall(b"250 ok\r\n")

    return handle


@pytest.mark.parametrize("password", [ASCII_PASSWORD, "wrong"], ids=["right", "wrong"])
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_smtplib_login(mechanism: str, password: str) -> None:
    outcomes: list[sasl.Success | sasl.Failure] = []
    server = OneShotServer(smtp_server(mechanism, outcomes))
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as client:
        if password == ASCII_PASSWORD:
            client.login(USER, password)
        else:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                client.login(USER, password)
    server.join()
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], sasl.Success) == (password == ASCII_PASSWORD)
