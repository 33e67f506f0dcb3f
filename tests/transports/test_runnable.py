"""The examples run as documented: ``cd examples && python -m transports.<name> ...``.

Each server is started as its own process on a free port and a stdlib
client talks to it; the MemoryBIO examples run to completion; the clients'
command lines parse.
"""

from __future__ import annotations

import imaplib
import importlib
import os
import poplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.transports.conftest import EXAMPLES

MESSAGE = b"Subject: runnable\r\n\r\nhello\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def _serving(*args: str, port: int) -> Iterator[subprocess.Popen[str]]:
    """Start ``python -m args...``; wait until *port* accepts connections."""
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=EXAMPLES,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                _out, err = proc.communicate()
                pytest.fail(f"{args[0]} exited with {proc.returncode}: {err}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{args[0]} did not listen on {port}")
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.parametrize(
    "module",
    [
        "transports.asyncio_pop3_client",
        "transports.asyncio_smtp_client",
        "transports.blocking_imap_client",
        "transports.trio_pop3_client",
    ],
)
def test_help(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The clients need a real account to do more (they are run against
    # Dovecot, aiosmtpd and our servers elsewhere); in-process, to stay fast.
    with pytest.raises(SystemExit) as info:
        importlib.import_module(module).main(["--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


@pytest.mark.parametrize("module", ["transports.memorybio_pop3", "transports.memorybio_imap"])
def test_memorybio_main(module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(MESSAGE)
    importlib.import_module(module).main([str(eml), str(eml)])
    assert capsys.readouterr().out.startswith("2 messages, ")


def test_memorybio_runs_as_a_module(tmp_path: Path) -> None:
    # One real "python -m" run of a self-contained example.
    eml = tmp_path / "m.eml"
    eml.write_bytes(MESSAGE)
    result = _run("transports.memorybio_pop3", str(eml))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 messages, ")


def test_asyncio_pop3_server_main(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "1.eml").write_bytes(MESSAGE)
    port = _free_port()
    args = ("--port", str(port), "--maildir", str(tmp_path), "--user", "alice:pw")
    with _serving("transports.asyncio_pop3_server", *args, port=port):
        pop = poplib.POP3("127.0.0.1", port, timeout=20)
        pop.user("alice")
        pop.pass_("pw")
        _resp, lines, _ = pop.retr(1)
        pop.quit()
    assert b"".join(line + b"\r\n" for line in lines) == MESSAGE


def test_trio_imap_server_main(tmp_path: Path) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(MESSAGE)
    port = _free_port()
    args = ("--port", str(port), "--user", "alice:pw", "--eml", str(eml))
    with _serving("transports.trio_imap_server", *args, port=port):
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        imap.login("alice", "pw")
        imap.select("INBOX")
        _typ, data = imap.fetch("1", "(BODY.PEEK[])")
        imap.logout()
    item = data[0]
    assert isinstance(item, tuple) and item[1] == MESSAGE
