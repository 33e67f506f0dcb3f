"""Audit of the reference server's command line and start-up (issue 9).

* ``--host`` and the per-listener ``--<name>-port`` flags override the
  config (0 turns a listener off); SIGINT is a clean shutdown like SIGTERM.
* The self-signed certificate generated at the first start is kept: the
  next start presents the same one (clients that accepted it keep working).
* Bad TLS files are start errors that name the file and the problem
  (OpenSSL alone says "No such file or directory" or "PEM lib").
* Usage errors exit with status 2 and say what is wrong.
* A clean stop refuses the message still arriving (421, stored nowhere)
  and keeps the relay queue, which empties after the next start.
* The start-up banner's accounts, passwords and ports are enough to log in;
  ``--print-config`` prints the demo configuration.
"""

from __future__ import annotations

import imaplib
import os
import poplib
import re
import resource
import shlex
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mailserver.cli import describe, free_port, main
from mailserver.config import DEMO_CONFIG, load_config, parse_config
from mailserver.tls import ensure_certificate
from tests.examples.test_e2e_support import (
    PASSWORDS,
    A,
    B,
    ServerThread,
    demo_config,
    recv_until,
    unverified,
    wait_for,
)

PEPE, MANOLO = "pepe@iesfbmoll.example", "manolo@correo.example"
LAUNCHER = Path(__file__).resolve().parents[2] / "examples" / "run_mailserver.py"
READY = b"mailserver: ready"


def _one_server(extra: str = "") -> tuple[str, dict[int, int]]:
    """The demo's first server alone (its relay route points nowhere)."""
    text, mapping = demo_config()
    return "[[server]]" + text.split("[[server]]")[1] + extra, mapping


def _launch(tmp_path: Path, config: str, *flags: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start the launcher; return it once ready (or exited), and its output file."""
    path = tmp_path / "server.toml"
    path.write_text(config)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(LAUNCHER), "--config", str(path), *flags],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if READY in log.read_bytes():
            break
        time.sleep(0.05)
    return proc, log


def _reap(proc: subprocess.Popen[bytes]) -> None:
    """Kill the launcher if a failed assertion left it running."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_port_flags_and_host_override_the_config_and_sigint_stops(tmp_path: Path) -> None:
    config, mapping = _one_server()
    imap = free_port()
    proc, log = _launch(
        tmp_path,
        config,
        "--data-dir",
        str(tmp_path / "data"),
        "--host",
        "127.0.0.1",
        "--imap-port",
        str(imap),
        "--pop3-port",
        "0",
    )
    try:
        assert proc.poll() is None, log.read_bytes().decode(errors="replace")
        banner = log.read_text()
        assert f"imap       127.0.0.1:{imap}\n" in banner
        assert "pop3 " not in banner and f"pop3s      127.0.0.1:{mapping[2995]}" in banner
        with socket.create_connection(("127.0.0.1", imap), timeout=10) as sock:
            assert recv_until(sock, b"\r\n").startswith(b"* OK")
        assert _refused(mapping[2143])  # the config's IMAP port is not used
        assert _refused(mapping[2110])  # POP3 is off
        with socket.create_connection(("127.0.0.1", mapping[2525]), timeout=10) as sock:
            assert recv_until(sock, b"\r\n").startswith(b"220")  # the rest as configured
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert time.monotonic() - started < 10
    finally:
        _reap(proc)
    out = log.read_text()
    assert "mailserver: stopped" in out and "Traceback" not in out
    assert (tmp_path / "data" / "iesfbmoll.example" / "queue").is_dir()


def _peer_certificate(port: int) -> bytes:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with unverified().wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def test_generated_certificate_is_kept_across_restarts(tmp_path: Path) -> None:
    text, _ = demo_config()
    cert = tmp_path / "iesfbmoll.example" / "tls" / "cert.pem"
    with ServerThread(text, tmp_path) as first:
        presented = _peer_certificate(first.port(A, "imaps"))
        pem = cert.read_bytes()
    assert ssl.DER_cert_to_PEM_cert(presented).encode() == pem.replace(b"\r\n", b"\n")
    assert oct((tmp_path / "iesfbmoll.example" / "tls" / "key.pem").stat().st_mode & 0o777) == (
        "0o600"
    )
    with ServerThread(text, tmp_path) as second:
        assert _peer_certificate(second.port(A, "imaps")) == presented
    assert cert.read_bytes() == pem


def test_relative_tls_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    # The config file lives elsewhere than the working directory (as under a
    # service manager): "tls/cert.pem" means next to the file, not in the cwd.
    conf = tmp_path / "conf"
    cert, key = ensure_certificate(conf / "tls", "mx.iesfbmoll.example")
    config, mapping = _one_server('\n[server.tls]\ncert = "tls/cert.pem"\nkey = "tls/key.pem"\n')
    loaded = load_config(_write(conf / "server.toml", config)).servers[0]
    assert (loaded.tls_cert, loaded.tls_key) == (str(cert), str(key))
    proc, log = _launch(conf, config, "--data-dir", str(tmp_path / "data"))
    try:
        assert proc.poll() is None, log.read_text()
        presented = _peer_certificate(mapping[2993])  # imaps
    finally:
        proc.terminate()
        proc.wait(20)
    assert ssl.DER_cert_to_PEM_cert(presented).encode() == cert.read_bytes().replace(b"\r\n", b"\n")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("problem", ["missing", "junk"])
def test_bad_tls_files_are_clear_start_errors(tmp_path: Path, problem: str) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    if problem == "junk":
        cert.write_text("not a certificate\n")
        key.write_text("not a key\n")
    config, _ = _one_server(f'\n[server.tls]\ncert = "{cert}"\nkey = "{key}"\n')
    proc, log = _launch(tmp_path, config, "--data-dir", str(tmp_path / "data"))
    try:
        assert proc.wait(30) == 2
    finally:
        _reap(proc)
    out = log.read_text()
    assert "mailserver: error:" in out and str(cert) in out, out
    if problem == "missing":
        assert "not found" in out
    else:
        assert "not a PEM certificate" in out


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "--config FILE or --demo" in capsys.readouterr().err
    assert main(["--demo", "--smtp-port", "70000"]) == 2
    assert "--smtp-port 70000 is out of range" in capsys.readouterr().err


def test_a_low_open_file_limit_is_raised_at_start(tmp_path: Path) -> None:
    """With a soft limit of 256 (hard above), 400 idle clients are all greeted.

    Without raising it, accept() fails with EMFILE past ~250 descriptors and
    asyncio stops accepting for a while: the clients would wait, ungreeted.
    """
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2000:
        pytest.skip(f"hard open-file limit {hard} is too low to test raising the soft one")
    config, mapping = _one_server()
    path = tmp_path / "server.toml"
    path.write_text(config)
    log = tmp_path / "server.log"

    command = shlex.join(
        [sys.executable, str(LAUNCHER), "--config", str(path), "--data-dir", str(tmp_path)]
    )
    with log.open("wb") as out:
        # The shell lowers the soft limit only (-S), then becomes the server.
        proc = subprocess.Popen(
            ["/bin/sh", "-c", f"ulimit -S -n 256 && exec {command}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    socks: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while READY not in log.read_bytes() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(4):  # in batches, within the listen backlog
            batch = [
                socket.create_connection(("127.0.0.1", mapping[2143]), timeout=10)
                for _ in range(100)
            ]
            assert all(recv_until(s, b"\r\n", 5).startswith(b"* OK") for s in batch)
            socks += batch
    finally:
        for s in socks:
            s.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert b"warning" not in log.read_bytes()


def test_the_banner_is_enough_to_log_in(tmp_path: Path) -> None:
    """Every account the start-up banner prints logs in with the printed
    password at the printed IMAP and POP3 ports (what a newcomer does)."""
    text, _ = demo_config()
    with ServerThread(text, tmp_path) as running:
        assert running.server is not None
        banner = describe(running.server, text)
        servers = banner.split("== ")[1:]
        assert len(servers) == 2
        logins = 0
        for block in servers:
            ports = dict(re.findall(r"^   (imap|pop3) +127\.0\.0\.1:(\d+)$", block, re.M))
            accounts = re.findall(r"^   account  (\S+)  password: (\S+)$", block, re.M)
            assert set(ports) == {"imap", "pop3"} and accounts
            for address, password in accounts:
                m = imaplib.IMAP4("127.0.0.1", int(ports["imap"]), timeout=10)
                assert m.login(address, password)[0] == "OK"
                m.logout()
                p = poplib.POP3("127.0.0.1", int(ports["pop3"]), timeout=10)
                p.user(address)
                assert p.pass_(password).startswith(b"+OK")
                p.quit()
                logins += 1
        assert logins == 5
        assert "alias    dudas@iesfbmoll.example -> informacion@iesfbmoll.example" in banner
        assert "list     profes@iesfbmoll.example -> " in banner


def test_print_config_is_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--print-config"]) == 0
    printed = capsys.readouterr().out
    assert printed == DEMO_CONFIG + "\n"
    assert [s.hostname for s in parse_config(printed).servers] == [
        "mx.iesfbmoll.example",
        "mx.correo.example",
    ]


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    text, _ = demo_config()
    with ServerThread(text, tmp_path / "data"):
        pass
    for name in ("iesfbmoll.example", "correo.example"):
        root = tmp_path / "data" / name
        assert root.stat().st_mode & 0o777 == 0o700, name
        assert (root / "spool").stat().st_mode & 0o777 == 0o700


def test_a_clean_stop_refuses_the_message_in_flight_and_keeps_the_queue(tmp_path: Path) -> None:
    """Shutdown: a message still arriving gets 421, not 250, and is nowhere;
    one queued for a remote domain whose MTA is down stays queued and leaves
    after the next start, once that MTA is up."""
    text, _ = demo_config(retry_base=1)
    first, second = text.split("[[server]]")[1:]
    config_a, config_b = "[[server]]" + first, "[[server]]" + second
    root = tmp_path / "a" / "iesfbmoll.example"
    queued = b"Subject: audit-queued\r\n\r\nfor manolo\r\n"
    a = ServerThread(config_a, tmp_path / "a").start()
    try:
        with smtplib.SMTP("127.0.0.1", a.port(A, "submission"), timeout=10) as s:
            s.login(PEPE, PASSWORDS[PEPE])
            assert s.sendmail(PEPE, [MANOLO], queued) == {}
        sock = socket.create_connection(("127.0.0.1", a.port(A, "smtp")), timeout=10)
        recv_until(sock, b"\r\n")
        sock.sendall(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@iesfbmoll.example>\r\n")
        sock.sendall(b"DATA\r\n")
        assert b"354" in recv_until(sock, b"354")
        sock.sendall(b"Subject: audit-in-flight\r\n\r\nhalf of it\r\n")
    finally:
        a.stop()
    assert recv_until(sock, b"\r\n").startswith(b"421")
    sock.close()
    for sub in ("new", "cur", "tmp"):
        for path in (root / "mail" / "ana@iesfbmoll.example" / sub).glob("*"):
            assert b"audit-in-flight" not in path.read_bytes()
    assert list((root / "spool").iterdir()) == []
    assert any(p.suffix == ".msg" for p in (root / "queue").iterdir())
    with ServerThread(config_b, tmp_path / "b") as b, ServerThread(config_a, tmp_path / "a"):
        assert wait_for(lambda: any(m.endswith(queued) for m in b.messages(B, MANOLO)), 30)


def test_event_loop_uvloop_serves_a_message_end_to_end(tmp_path: Path) -> None:
    """``--event-loop uvloop``: the launcher delivers, serves POP3 over STLS, stops."""
    config, mapping = _one_server()
    proc, log = _launch(
        tmp_path, config, "--data-dir", str(tmp_path / "data"), "--event-loop", "uvloop"
    )
    try:
        assert proc.poll() is None, log.read_bytes().decode(errors="replace")
        message = b"Subject: on uvloop\r\n\r\nline one\r\n.line with a dot\r\n"
        with smtplib.SMTP("127.0.0.1", mapping[2525], timeout=10) as s:
            assert s.sendmail("someone@elsewhere.example", [PEPE], message) == {}
        pop = poplib.POP3("127.0.0.1", mapping[2110], timeout=10)
        pop.stls(context=unverified())  # loop.start_tls on uvloop's transport
        pop.user(PEPE)
        pop.pass_(PASSWORDS[PEPE])
        count, _ = pop.stat()
        assert count == 1
        stored = b"\r\n".join(pop.retr(1)[1]) + b"\r\n"
        pop.quit()
        # Behind the trace fields the server adds, the message as sent.
        assert stored.endswith(b"\r\n" + message)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        _reap(proc)
    out = log.read_text()
    assert "mailserver: stopped" in out and "Traceback" not in out


def test_event_loop_uvloop_missing_is_a_clear_error(tmp_path: Path) -> None:
    # A uvloop module that cannot be imported stands in for "not installed".
    (tmp_path / "uvloop.py").write_text("raise ImportError('No module named uvloop')\n")
    result = subprocess.run(
        [sys.executable, str(LAUNCHER), "--demo", "--event-loop", "uvloop"],
        check=False,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "mailserver: error: --event-loop uvloop: No module named uvloop\n"
    )
    assert not (tmp_path / "mailserver-data").exists() or not any(
        (tmp_path / "mailserver-data").iterdir()
    )
