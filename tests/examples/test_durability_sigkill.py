"""Durability: SIGKILL the server in the middle of deliveries, restart it.

Every message that got a ``250`` must be in its mailbox exactly once, no
partial file may be visible in ``new/`` or ``cur/``, and messages queued for
the remote domain must be relayed after the restart (the relay queue resumes).
The server runs as a subprocess (``examples/run_mailserver.py --config``), so
the kill is a real one.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mailserver.maildir import Store
from tests.examples.test_e2e_support import (
    B,
    ServerThread,
    demo_config,
    maildir_files,
    recv_until,
    wait_for,
)

LAUNCHER = Path(__file__).resolve().parents[2] / "examples" / "run_mailserver.py"
ANA, MANOLO = "ana@iesfbmoll.example", "manolo@correo.example"
END = b"-- end of message --\r\n"
# The line the launcher prints once every listener is bound.
READY = b"mailserver: ready"


def _start(config: Path, data: Path) -> subprocess.Popen[bytes]:
    # The server's output goes to a file, never to a pipe nobody reads: a
    # full pipe would block the server's event loop on its next log line.
    log = _log(config)
    for attempt in range(5):
        seen = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, str(LAUNCHER), "--config", str(config), "--data-dir", str(data)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if READY in log.read_bytes()[seen:]:
                return proc
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        printed = _output(config)[seen:]
        # The config's ports were free when the test chose them; a client
        # connection elsewhere on the machine may hold one for a moment (its
        # ephemeral port).  Wait and start again on the same ports.
        if b"address already in use" not in printed or attempt == 4:
            raise AssertionError("server did not start: " + printed.decode(errors="replace"))
        time.sleep(2)
    raise AssertionError("unreachable")


def _log(config: Path) -> Path:
    return config.with_suffix(".log")


def _output(config: Path) -> bytes:
    """Everything the server printed so far (all its runs with *config*)."""
    log = _log(config)
    return log.read_bytes() if log.exists() else b""


def _message(n: int, rcpt: str) -> bytes:
    # Big enough that the kill has a fair chance to land mid-write.
    filler = (b"x" * 76 + b"\r\n") * 200
    return (
        f"From: <sender@stranger.example>\r\nTo: <{rcpt}>\r\nSubject: msg-{n:05d}\r\n\r\n".encode()
        + filler
        + END
    )


def _sender(
    port: int,
    rcpt: str,
    first: int,
    accepted: list[int],
    errors: list[str],
    stop: threading.Event,
) -> None:
    n = first
    while not stop.is_set():
        try:
            # A generous timeout: on a slow disk a delivery waits for several
            # fsyncs, and a timed-out message is never counted as accepted.
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                while not stop.is_set():
                    s.sendmail("sender@stranger.example", [rcpt], _message(n, rcpt))
                    accepted.append(n)  # only after the 250
                    n += 1
        except (smtplib.SMTPException, OSError) as exc:
            if not stop.is_set():
                errors.append(f"msg-{n:05d}: {exc!r}")
            n += 1  # this one may or may not have been stored: never counted
            time.sleep(0.05)


def _subjects(files: list[Path]) -> list[str]:
    out = []
    for path in files:
        data = path.read_bytes()
        assert data.endswith(END), f"partial message visible: {path}"
        start = data.index(b"Subject: msg-") + len(b"Subject: ")
        out.append(data[start : start + 9].decode())
    return out


@pytest.mark.slow
@pytest.mark.parametrize("sync", ["file", "filesystem", "filesystem+process"])
def test_sigkill_mid_delivery_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, sync: str
) -> None:
    # sync: the store's [store] sync mode (an fsync per file, or one syncfs
    # per batch before the batch's renames), and "+process" for the batches
    # committed by the store's writer process ([store] writer).
    mode, _, writer = sync.partition("+")
    store = f'sync = "{mode}"\nwriter = "{writer or "thread"}"'
    text, mapping = demo_config(
        retry_base=1,
        extra=lambda t: t.replace("[server.relay]", f"[server.store]\n{store}\n\n[server.relay]"),
    )
    first, second = text.split("[[server]]")[1:]
    config = tmp_path / "a.toml"
    config.write_text("[[server]]" + first)
    data = tmp_path / "data"
    proc = _start(config, data)
    smtp_port = mapping[2525]
    local: list[int] = []
    remote: list[int] = []
    errors: list[str] = []
    stop = threading.Event()
    # Six concurrent senders into one mailbox, so that deliveries share
    # group commits (one directory fsync and index fdatasync per batch) when
    # the kill lands.
    threads = [
        threading.Thread(
            target=_sender,
            args=(smtp_port, ANA, k * 10_000, local, errors, stop),
        )
        for k in range(6)
    ]
    for t in threads:
        t.start()
    try:
        # Enough accepted messages that some group commits have completed
        # and others are in flight when the kill lands.
        if not wait_for(lambda: len(local) >= 30, 180):
            raise AssertionError(
                f"{len(local)} messages accepted in 180 s; sender errors: {errors[:5]};"
                f" server output: {_output(config)[-2000:].decode(errors='replace')}"
            )
        # Queue some mail for correo.example, whose MTA is not running.
        with smtplib.SMTP("127.0.0.1", mapping[2587], timeout=60) as s:
            s.login("pepe@iesfbmoll.example", "pepe-demo-1")
            for n in range(90_000, 90_005):
                s.sendmail("pepe@iesfbmoll.example", [MANOLO], _message(n, MANOLO))
                remote.append(n)
        proc.send_signal(signal.SIGKILL)  # mid-delivery: the senders are still going
        proc.wait(10)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
        if proc.poll() is None:
            proc.kill()
    root = data / "iesfbmoll.example"
    before = _subjects(maildir_files(root, ANA))
    # Complete files not yet renamed into new/: with sync = "filesystem" a
    # file whose index record was made durable with it (a delivery past its
    # commit, not yet answered) is placed by the restart.
    in_tmp = {
        f.read_bytes().partition(b"Subject: ")[2][:9].decode()
        for f in (root / "mail" / ANA / "tmp").glob("*")
        if f.read_bytes().endswith(END)
    }
    # Restart: nothing lost, nothing doubled, no partial file.
    proc = _start(config, data)
    try:
        with ServerThread("[[server]]" + second, tmp_path / "b") as b:
            assert b.port(B, "smtp") == mapping[3525]
            after = _subjects(maildir_files(root, ANA))
            assert set(before) <= set(after)
            assert set(after) - set(before) <= in_tmp
            assert len(after) == len(set(after)), "a message was stored twice"
            expected = {f"msg-{n:05d}" for n in local}
            assert expected <= set(after), sorted(expected - set(after))[:5]
            # The queue resumes: manolo gets each queued message once.
            broot = tmp_path / "b" / "correo.example"
            want = {f"msg-{n:05d}" for n in remote}
            assert wait_for(lambda: want <= set(_subjects(maildir_files(broot, MANOLO))), 30)
            time.sleep(0.5)
            got = _subjects(maildir_files(broot, MANOLO))
            assert len(got) == len(set(got))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        assert proc.returncode in (0, -signal.SIGKILL)
    assert os.path.isdir(data / "iesfbmoll.example" / "queue")
    # With the server stopped, the index agrees with the files: every stored
    # message has exactly one UID, and every UID one message.
    inbox = Store(root / "mail").mailbox(ANA).folder("INBOX")
    files = maildir_files(root, ANA)
    assert len(inbox.uids()) == len(files) == len(set(inbox.uids()))
    assert sorted(info.key for info in inbox.messages()) == sorted(
        f.name.partition(":")[0] for f in files
    )


def test_sigterm_is_a_clean_shutdown(tmp_path: Path) -> None:
    text, mapping = demo_config()
    config = tmp_path / "demo.toml"
    config.write_text(text)
    proc = _start(config, tmp_path / "data")
    with smtplib.SMTP("127.0.0.1", mapping[2525], timeout=60) as s:
        s.sendmail("x@stranger.example", [ANA], _message(1, ANA))
    # Idle sessions are told, not just dropped.
    imap = socket.create_connection(("127.0.0.1", mapping[2143]), timeout=10)
    pop = socket.create_connection(("127.0.0.1", mapping[2110]), timeout=10)
    smtp = socket.create_connection(("127.0.0.1", mapping[2525]), timeout=10)
    for sock in (imap, pop, smtp):
        recv_until(sock, b"\r\n")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert recv_until(imap, b"\r\n").startswith(b"* BYE [UNAVAILABLE]")
    assert recv_until(pop, b"\r\n").startswith(b"-ERR [SYS/TEMP]")
    assert recv_until(smtp, b"\r\n").startswith(b"421 ")
    proc.wait(timeout=20)
    assert time.monotonic() - started < 5  # no waiting out the grace period
    assert proc.returncode == 0
    assert b"stopped" in _output(config)
    for sock in (imap, pop, smtp):
        sock.close()


def test_port_in_use_and_bad_config_are_clear_errors(tmp_path: Path) -> None:
    text, mapping = demo_config()
    config = tmp_path / "demo.toml"
    config.write_text(text)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", mapping[2587]))
        busy.listen()
        res = subprocess.run(
            [sys.executable, str(LAUNCHER), "--config", str(config), "--data-dir", str(tmp_path)],
            check=False,
            capture_output=True,
            timeout=30,
        )
    assert res.returncode == 2
    assert f"127.0.0.1:{mapping[2587]}".encode() in res.stderr
    assert b"already in use" in res.stderr
    bad = tmp_path / "bad.toml"
    bad_text = text.replace(f"imap = {mapping[3143]}", "imap = 99999")
    bad.write_text(bad_text)
    res = subprocess.run(
        [sys.executable, str(LAUNCHER), "--config", str(bad), "--data-dir", str(tmp_path)],
        check=False,
        capture_output=True,
        timeout=30,
    )
    assert res.returncode == 2
    line = bad_text.splitlines().index("imap = 99999") + 1
    assert f"line {line}".encode() in res.stderr, res.stderr
