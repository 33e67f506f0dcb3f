"""The user-facing docs run as written: tutorial snippets, the server guide's walkthrough.

Each test takes the code blocks (``::`` literal blocks) out of an ``.rst``
page, changes only what a reader would change — a port that must be free, the
demo's account instead of ``alice`` — and runs them the way a newcomer would:
the tutorial's server in one process and the tutorial's client in another,
over a real loopback socket; the guide's ``curl`` commands and Python snippet
against the reference server on its demo configuration.  Every assertion is
about what the snippet printed or what the peer received, so a snippet that
rots (a renamed API, a loop that deadlocks, a wrong port) fails here.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mailproto.testing.transcripts import TranscriptMismatch
from tests.conftest import require_program

if TYPE_CHECKING:
    from tests.examples.test_e2e_support import ServerThread

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
if str(EXAMPLES) not in sys.path:  # the reference server is imported as ``mailserver``
    sys.path.insert(0, str(EXAMPLES))

#: Seconds any one snippet may take before it counts as hung.
TIMEOUT = 20.0


def literal_blocks(page: str) -> list[str]:
    """Every ``::`` literal block of *page* (relative to ``docs/``), dedented."""
    lines = (DOCS / page).read_text(encoding="utf-8").split("\n")
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and lines[j].startswith("    "):
                body: list[str] = []
                while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                    body.append(lines[j][4:])
                    j += 1
                blocks.append("\n".join(body).rstrip() + "\n")
                i = j
                continue
        i += 1
    return blocks


def block(page: str, marker: str) -> str:
    """The one literal block of *page* that contains *marker*."""
    found = [b for b in literal_blocks(page) if marker in b]
    assert len(found) == 1, f"{page}: {len(found)} blocks contain {marker!r}"
    return found[0]


def replace(source: str, old: str, new: str) -> str:
    """*source* with *old* replaced; fails when the doc no longer says *old*."""
    assert old in source, f"the snippet no longer contains {old!r}"
    return source.replace(old, new)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def background(source: str, port: int) -> Iterator[subprocess.Popen[str]]:
    """Run *source* (a server snippet) in a subprocess until *port* accepts."""
    proc = subprocess.Popen(
        [sys.executable, "-c", source],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            assert proc.poll() is None, f"server snippet exited: {proc.communicate()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "server snippet never listened"
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def run_client(source: str) -> str:
    """Run *source* (a client snippet) in a subprocess; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", source],
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_here(source: str, name: str) -> str:
    """Run *source* in this process (sockets time out instead of hanging); its stdout."""
    out = io.StringIO()
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, name, "exec"), {"__name__": "doc_snippet"})
    finally:
        socket.setdefaulttimeout(previous)
    return out.getvalue()


# -- docs/tutorials/smtp.rst -------------------------------------------------


def test_smtp_tutorial_client_sends_to_the_tutorial_server() -> None:
    port = free_port()
    server = replace(block("tutorials/smtp.rst", "class SMTPServer"), "2525", str(port))
    client = replace(block("tutorials/smtp.rst", "def next_reply"), "2525", str(port))
    body_line = next(ln for ln in client.splitlines() if ln.startswith("body = "))
    body = eval(body_line.partition("=")[2])  # the message the snippet sends
    with background(server, port) as proc:
        printed = run_client(client)
        time.sleep(0.2)  # the server prints when it answers the end of data
    proc_out = proc.communicate(timeout=5)[0]
    codes = re.findall(r"Reply\(code=(\d+)", printed)
    # greeting, MAIL, RCPT, DATA, end of data, QUIT (the EHLO reply is an EhloReply)
    assert codes == ["220", "250", "250", "354", "250", "221"], printed
    # What the server's application received: the envelope and the message,
    # dot-unstuffed again (the body has a line starting with a dot).
    assert f"a@example.org [Mailbox(local_part='c', domain='mx.example')] {len(body)}" in proc_out


def test_smtp_tutorial_starttls_and_auth_against_the_demo(demo: ServerThread) -> None:
    """The STARTTLS + AUTH snippet, after the client's EHLO, at the demo's submission port."""
    port = _port(demo, "mx.iesfbmoll.example", "submission")
    client = replace(block("tutorials/smtp.rst", "def next_reply"), "2525", str(port))
    opening = client.split("\nbody = ", 1)[0] + "\n"  # connect, greeting, EHLO
    tls = replace(
        block("tutorials/smtp.rst", "conn.start_tls_done()"),
        "ssl.create_default_context()",
        "ssl._create_unverified_context()",  # the demo's self-signed certificate
    )
    tls = replace(tls, '"tim"', '"pepe@iesfbmoll.example"')
    for mechanism in ("PLAIN", "SCRAM-SHA-256"):  # SCRAM: 334 challenges answered
        source = opening + replace(tls, '"PLAIN"', f'"{mechanism}"')
        printed = run_here(replace(source, '"secret"', '"pepe-demo-1"'), "smtp.rst")
        assert printed.splitlines()[-1] == "235", printed
    wrong = run_here(opening + tls, "smtp.rst")  # the doc's own password is wrong here
    assert wrong.splitlines()[-1] == "535", wrong


# -- docs/tutorials/pop3.rst -------------------------------------------------


def test_pop3_tutorial_client_fetches_from_the_tutorial_server() -> None:
    port = free_port()
    server = replace(block("tutorials/pop3.rst", "class Pop3Server"), "1110", str(port))
    client = replace(block("tutorials/pop3.rst", "Apop.from_password"), "1110", str(port))
    # The maildrop the server snippet serves, as the snippet defines it.
    scope: dict[str, object] = {}
    exec(server.partition("class Pop3Server")[0], scope)
    maildrop = scope["MAILDROP"]
    assert isinstance(maildrop, dict)
    with background(server, port):
        printed = run_client(client)
    assert f"StatResponse(count=2, size={sum(map(len, maildrop.values()))}" in printed
    assert "UidlEntry(msg=1, uid='1896.1')" in printed
    assert repr(maildrop["1896.1"]) in printed  # RETR: exactly the stored bytes
    assert "OkResponse(text='message 1 deleted'" in printed
    assert "OkResponse(text='bye'" in printed


# -- docs/tutorials/imap.rst -------------------------------------------------


def test_imap_tutorial_client_logs_in_to_the_tutorial_server() -> None:
    port = free_port()
    server = replace(block("tutorials/imap.rst", "async def serve"), "1143", str(port))
    loop = replace(block("tutorials/imap.rst", "def next_event"), "143)", f"{port})")
    client = (
        loop
        + "_, done = run(C.Login(tag=client.new_tag(), username='alice', password='nope'))\n"
        + "print('wrong password:', done.status)\n"
        + "_, done = run(C.Login(tag=client.new_tag(), username='alice', password='secret'))\n"
        + "print('login:', done.status, client.state.name)\n"
        + "_, done = run(C.Noop(tag=client.new_tag()))\n"
        + "print('noop:', done.status, done.text)\n"
    )
    with background(server, port):
        printed = run_client(client)
    assert "wrong password: NO" in printed
    assert "login: OK AUTHENTICATED" in printed
    assert "noop: OK NOOP done" in printed


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The reference server on its demo configuration (free ports), as the guide starts it."""
    from tests.examples.test_e2e_support import ServerThread, demo_config

    text, _ = demo_config()
    with ServerThread(text, tmp_path_factory.mktemp("demo")) as s:
        yield s


def _port(demo: ServerThread, host: str, name: str) -> int:
    return demo.port(host, name)


def _deliver(port: int, rcpt: str, subject: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as s:
        s.sendmail("someone@example.org", [rcpt], f"Subject: {subject}\r\n\r\nhi\r\n".encode())


def _imap_client(demo: ServerThread) -> str:
    """The tutorial's client loop, pointed at the demo's IMAP port as the page says."""
    port = _port(demo, "mx.iesfbmoll.example", "imap")
    return replace(block("tutorials/imap.rst", "def next_event"), "143)", f"{port})")


def _as_pepe(source: str) -> str:
    source = replace(source, '"alice"', '"pepe@iesfbmoll.example"')
    return replace(source, '"secret"', '"pepe-demo-1"')


def test_imap_tutorial_login_select_fetch_compress_against_the_demo(demo: ServerThread) -> None:
    _deliver(_port(demo, "mx.iesfbmoll.example", "smtp"), "pepe@iesfbmoll.example", "uno")
    source = (
        _imap_client(demo)
        + _as_pepe(block("tutorials/imap.rst", "C.Login("))
        + block("tutorials/imap.rst", "C.Compress(")
        + "print('after compress:', run(C.Noop(tag=client.new_tag()))[1].status)\n"
    )
    printed = run_here(source, "imap.rst")
    assert re.search(r"^\d+ uno \d+$", printed, re.MULTILINE), printed  # uid, subject, size
    assert "after compress: OK" in printed


def test_imap_tutorial_starttls_sasl_idle_against_the_demo(demo: ServerThread) -> None:
    """STARTTLS, SCRAM (continuations answered by the loop) and IDLE, in that order."""
    smtp_port = _port(demo, "mx.iesfbmoll.example", "smtp")
    starttls = replace(
        block("tutorials/imap.rst", "C.StartTLS("),
        "ssl.create_default_context()",
        "ssl._create_unverified_context()",  # the demo's self-signed certificate
    )
    source = (
        _imap_client(demo)
        + starttls
        + _as_pepe(block("tutorials/imap.rst", "client.authenticate(mech)"))
        + "print('sasl:', event.status, client.state.name)\n"
        + "run(C.Select(tag=client.new_tag(), mailbox='INBOX'))\n"
        + "deliver()\n"
        + block("tutorials/imap.rst", "C.Idle(")
    )

    def deliver() -> None:  # a delivery while the client idles
        def later() -> None:
            time.sleep(0.5)
            _deliver(smtp_port, "pepe@iesfbmoll.example", "idle")

        threading.Thread(target=later, daemon=True).start()

    out = io.StringIO()
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TIMEOUT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, "imap.rst", "exec"), {"__name__": "doc", "deliver": deliver})
    finally:
        socket.setdefaulttimeout(previous)
    printed = out.getvalue()
    assert "sasl: OK AUTHENTICATED" in printed
    assert re.search(r"^new mail: \d+$", printed, re.MULTILINE), printed


# -- docs/server/guide.rst ---------------------------------------------------


def _shell_commands(source: str) -> list[list[str]]:
    """The ``$ ...`` commands of a shell block, continuation lines joined."""
    text = source.replace("\\\n", " ")
    return [shlex.split(ln[2:]) for ln in text.splitlines() if ln.startswith("$ ")]


def test_guide_walkthrough_curl_and_imaplib(demo: ServerThread, tmp_path: Path) -> None:
    curl = require_program("curl", "apt-get install curl")
    a, b = "mx.iesfbmoll.example", "mx.correo.example"
    ports = {
        "2587": _port(demo, a, "submission"),
        "3110": _port(demo, b, "pop3"),
        "3143": _port(demo, b, "imap"),
    }
    submit = block("server/guide.rst", "--mail-from pepe@iesfbmoll.example")
    # The here-document that writes hola.eml, then the curl command.
    heredoc = submit.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0] + "\n"
    (tmp_path / "hola.eml").write_text(heredoc, encoding="utf-8")
    commands = [c for c in _shell_commands(submit) if c[0] == "curl"]
    fetch = _shell_commands(block("server/guide.rst", "pop3://127.0.0.1:3110/1"))
    assert len(commands) == 1 and len(fetch) == 2

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        argv = [curl] + [
            re.sub(r":(2587|3110|3143)\b", lambda m: f":{ports[m[1]]}", arg) for arg in argv[1:]
        ]
        return subprocess.run(
            argv, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=30
        )

    sent = run(commands[0])
    assert sent.returncode == 0, sent.stderr
    # The relay hands the message to correo's MX: poll POP3 until it is there.
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = run(fetch[0])
        if got.returncode == 0 and "Quedamos" in got.stdout:
            break
        assert time.monotonic() < deadline, (got.returncode, got.stderr)
        time.sleep(0.3)
    assert "Return-Path: <pepe@iesfbmoll.example>" in got.stdout
    assert "with ESMTPSA" in got.stdout  # pepe authenticated at his submission port
    assert "¿Quedamos mañana?" in got.stdout
    by_imap = run(fetch[1])
    assert by_imap.returncode == 0, by_imap.stderr
    assert "¿Quedamos mañana?" in by_imap.stdout

    python = replace(block("server/guide.rst", "import imaplib, ssl"), "3143", str(ports["3143"]))
    printed = run_here(python, "guide.rst")
    assert "ENVELOPE (" in printed and '"Hola"' in printed


# -- docs/howto/testing.rst --------------------------------------------------


def test_testing_howto_transcript_plays() -> None:
    source = block("howto/testing.rst", "TranscriptPlayer(conn, SCRIPT")
    run_here(source, "testing.rst")  # TranscriptPlayer raises on any mismatch
    # ... and it can fail: the same script with a reply the server does not send.
    broken = replace(source, "250-mx.example hello", "250-mx.example bonjour")
    with pytest.raises(TranscriptMismatch):
        run_here(broken, "testing.rst")


def test_every_page_has_the_blocks_these_tests_run() -> None:
    # A page rewritten without ``::`` blocks would make the tests above vacuous.
    for page in ("tutorials/smtp.rst", "tutorials/pop3.rst", "tutorials/imap.rst"):
        assert len(literal_blocks(page)) >= 2, page
