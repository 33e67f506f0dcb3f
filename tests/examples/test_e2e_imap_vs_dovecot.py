"""QRESYNC and LIST-STATUS: the reference server answers what Dovecot answers.

The same session script runs against both servers over a raw socket; the
responses are compared after removing what legitimately differs (response
texts, UIDVALIDITY and MOD-SEQUENCE values, the order of flags).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.examples.test_e2e_support import PASSWORDS, B, ServerThread, demo_config
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")
MANOLO = "manolo@correo.example"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config(retry_base=1)
    with ServerThread(text, tmp_path_factory.mktemp("vsdovecot")) as server:
        yield server


class _Raw:
    """Send tagged commands, return the untagged lines of each."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        self.n = 0
        self._until(re.compile(rb"\* OK[^\r\n]*\r\n"))
        assert self.run(f'LOGIN "{user}" "{password}"')[1].startswith("OK")

    def _until(self, pattern: re.Pattern[bytes]) -> bytes:
        while (m := pattern.search(self.buffer)) is None:
            chunk = self.sock.recv(65536)
            assert chunk, "closed"
            self.buffer += chunk
        data, self.buffer = self.buffer[: m.end()], self.buffer[m.end() :]
        return data

    def run(self, command: str) -> tuple[list[str], str]:
        self.n += 1
        tag = f"x{self.n}"
        self.sock.sendall(f"{tag} {command}\r\n".encode())
        data = self._until(re.compile(rb"(?:^|\r\n)" + tag.encode() + rb" [^\r\n]*\r\n"))
        lines = data.decode().split("\r\n")[:-1]
        return [line for line in lines if line.startswith("* ")], lines[-1][len(tag) + 1 :]

    def close(self) -> None:
        self.run("LOGOUT")
        self.sock.close()


def _normal(lines: list[str]) -> list[str]:
    """VANISHED, FETCH (seq, UID, sorted FLAGS), CLOSED and LIST/STATUS lines."""
    out = []
    for line in lines:
        if line.startswith("* VANISHED"):
            out.append(line)
        elif m := re.match(r"\* (\d+) FETCH \((.*)\)$", line):
            uid = re.search(r"UID (\d+)", m[2])
            flags = re.search(r"FLAGS \(([^)]*)\)", m[2])
            assert uid is not None, line
            said = f" FLAGS {sorted(flags[1].split())}" if flags is not None else ""
            out.append(f"FETCH {m[1]} UID {uid[1]}{said}")
        elif line.startswith("* OK [CLOSED]"):
            out.append("CLOSED")
        elif line.startswith("* LIST"):
            # \\HasChildren/\\HasNoChildren are optional without RETURN (CHILDREN).
            out.append(re.sub(r" ?\\Has(No)?Children", "", line).replace("( ", "("))
        elif m := re.match(r"(\* STATUS \S+) \((.*)\)$", line):
            # The order of the items is the server's choice.
            words = m[2].split()
            pairs = sorted(zip(words[::2], words[1::2], strict=True))
            out.append(f"{m[1]} ({' '.join(f'{k} {v}' for k, v in pairs)})")
    return out


def _script(port: int, user: str, password: str) -> list[list[str]]:
    """Five messages; 2 and 5 seen; 3 and 4 expunged; then resynchronise."""
    s = _Raw(port, user, password)
    s.run("ENABLE CONDSTORE")  # Dovecot sends HIGHESTMODSEQ in SELECT only then
    for n in range(1, 6):
        body = f"Subject: m{n}\r\n\r\nbody {n}\r\n"
        assert s.run(f"APPEND INBOX {{{len(body)}+}}\r\n{body}")[1].startswith("OK")
    untagged, _ = s.run("SELECT INBOX")
    text = " ".join(untagged)
    uidvalidity = re.search(r"\[UIDVALIDITY (\d+)\]", text)
    highest = re.search(r"\[HIGHESTMODSEQ (\d+)\]", text)
    assert uidvalidity is not None and highest is not None
    s.run("UID STORE 2,5 +FLAGS.SILENT (\\Seen)")
    s.run("UID STORE 3:4 +FLAGS.SILENT (\\Deleted)")
    s.run("EXPUNGE")
    s.close()
    s = _Raw(port, user, password)
    uv, ms = uidvalidity[1], highest[1]
    results = []
    for command in (
        "ENABLE QRESYNC",
        f"SELECT INBOX (QRESYNC ({uv} {ms}))",
        f"SELECT INBOX (QRESYNC ({uv} {ms} 1:3))",
        f"EXAMINE INBOX (QRESYNC ({uv} {ms} 5))",
        f"SELECT INBOX (QRESYNC ({int(uv) + 1} {ms}))",
        f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {ms} VANISHED)",
        f"UID FETCH 4:5 (FLAGS) (CHANGEDSINCE {ms} VANISHED)",
        "UID STORE 1 +FLAGS.SILENT (\\Deleted)",
        "UID EXPUNGE 1",
        'LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))',
    ):
        untagged, status = s.run(command)
        results.append([status.split(" ")[0], *_normal(untagged)])
    s.close()
    return results


def test_qresync_and_list_status_match_dovecot(demo: ServerThread, dovecot: DovecotServer) -> None:
    ours = _script(demo.port(B, "imap"), MANOLO, PASSWORDS[MANOLO])
    theirs = _script(dovecot.imap_port, "alice", dovecot.users["alice"])
    assert ours == theirs
    assert ours[1][1] == "* VANISHED (EARLIER) 3:4"  # the script did exercise something


def test_the_script_sees_the_expected_answers(tmp_path: Path) -> None:
    """The expected answers spelled out (so a test fails without Dovecot too)."""
    text, _ = demo_config(retry_base=1)
    with ServerThread(text, tmp_path) as server:
        ours = _script(server.port(B, "imap"), MANOLO, PASSWORDS[MANOLO])
    seen = "['\\\\Seen']"
    assert ours[1] == [
        "OK",
        "* VANISHED (EARLIER) 3:4",
        f"FETCH 2 UID 2 FLAGS {seen}",
        f"FETCH 3 UID 5 FLAGS {seen}",
    ]
    assert ours[2] == ["OK", "CLOSED", "* VANISHED (EARLIER) 3", f"FETCH 2 UID 2 FLAGS {seen}"]
    assert ours[3] == ["OK", "CLOSED", f"FETCH 3 UID 5 FLAGS {seen}"]
    assert ours[4] == ["OK", "CLOSED"]
    assert ours[8] == ["OK", "* VANISHED 1"]
    status = "* STATUS INBOX (MESSAGES 2 UIDNEXT 6 UNSEEN 0)"
    assert ours[9] == ["OK", '* LIST () "." INBOX', status]
