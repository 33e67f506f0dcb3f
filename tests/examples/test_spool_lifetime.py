"""How long an SMTP spool file lives: its delivery's time, and not past a restart.

A message over 256 KiB goes to a spool file as it arrives, and the store's
thread copies that file into the mailbox.  Two ends of that file's life:

* its delivery goes on when the SMTP caller is cancelled (a shutdown past
  its grace period), and the store registers the message all the same
  (``Folder.deliver``): the file must stay until the store has read it;
* a process killed mid-transaction leaves its spool files behind: the next
  start removes them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mailproto import NEED_DATA, PAUSED, smtp
from mailserver import maildir
from mailserver.cli import MailServer
from mailserver.config import parse_config
from mailserver.smtp_service import GREETING, SPOOL_IN_MEMORY, SMTPSession

CONFIG = """\
hostname = "mx.a.example"
domains = ["a.example"]
data_dir = "a"
[[accounts]]
address = "ann@a.example"
password = "ann-password"
[store]
sync = "{sync}"
"""


class Peer:
    peer_ip = "127.0.0.1"
    tls_version = None


def _message(size: int) -> bytes:
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"
    return b"Subject: big\r\n\r\n" + line * (size // len(line) + 1)


def _until_end_of_data(session: SMTPSession, body: bytes) -> object:
    """Play a client that sends one message; return the EndOfData event."""
    conn = session.conn
    commands = [
        b"EHLO c.example\r\n",
        b"MAIL FROM:<x@remote.example>\r\n",
        b"RCPT TO:<ann@a.example>\r\n",
        b"DATA\r\n",
        body + b".\r\n",
    ]
    for data in commands:
        conn.receive_data(data)
        while True:
            event = conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            if not session.handle_now(event):
                assert isinstance(event, smtp.EndOfData)
                return event
    raise AssertionError("no end of data")


@pytest.mark.parametrize("sync", ["file", "filesystem"])
def test_a_spooled_message_is_delivered_though_its_caller_was_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync: str
) -> None:
    entered = threading.Event()
    release = threading.Event()
    real = maildir._write_file_durably

    def held_write(*args: Any, **kwargs: Any) -> Any:
        entered.set()  # the store's thread is about to read the spool file
        release.wait(10)
        return real(*args, **kwargs)

    body = _message(SPOOL_IN_MEMORY * 2)

    async def main() -> None:
        server = MailServer(parse_config(CONFIG.format(sync=sync)), data_dir=tmp_path)
        await server.start()
        try:
            site = server.sites["mx.a.example"]
            # The mailbox exists before the store's writes are held (making
            # it writes a file on the loop).
            inbox = site.store.mailbox("ann@a.example").folder("INBOX")
            monkeypatch.setattr(maildir, "_write_file_durably", held_write)
            session = SMTPSession(site, Peer(), submission=False, implicit_tls=False)
            session.conn.send(GREETING)
            end = _until_end_of_data(session, body)
            spooled = list(site.spool.glob("*.spool"))
            assert len(spooled) == 1  # over 256 KiB: on disk
            task = asyncio.ensure_future(session.handle(end))
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, entered.wait, 10)
            task.cancel()  # shutdown past its grace period: no 250
            with pytest.raises(asyncio.CancelledError):
                await task
            assert spooled[0].exists()  # still needed by the store
            release.set()
            for _ in range(500):
                if inbox.uids() and not spooled[0].exists():
                    break
                await asyncio.sleep(0.01)
            assert len(inbox.uids()) == 1
            assert not spooled[0].exists()  # removed once delivered
        finally:
            release.set()
            await server.stop()

    asyncio.run(main())
    files = list((tmp_path / "a" / "mail").rglob("new/*"))
    assert len(files) == 1
    assert files[0].read_bytes().endswith(body)


def test_shutdown_waits_for_a_cancelled_callers_spooled_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server stops right after the caller was cancelled, while the
    # store's thread is still about to read the spool file: stop() lets the
    # delivery finish before the loop ends (else the loop's end cancels it
    # and the file goes before the thread reads it).
    entered = threading.Event()
    real = maildir._write_file_durably

    def slow_write(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        time.sleep(0.3)
        return real(*args, **kwargs)

    body = _message(SPOOL_IN_MEMORY * 2)

    async def main() -> None:
        server = MailServer(parse_config(CONFIG.format(sync="file")), data_dir=tmp_path)
        await server.start()
        site = server.sites["mx.a.example"]
        site.store.mailbox("ann@a.example").folder("INBOX")
        monkeypatch.setattr(maildir, "_write_file_durably", slow_write)
        session = SMTPSession(site, Peer(), submission=False, implicit_tls=False)
        session.conn.send(GREETING)
        task = asyncio.ensure_future(session.handle(_until_end_of_data(session, body)))
        assert await asyncio.get_running_loop().run_in_executor(None, entered.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.stop()

    asyncio.run(main())
    files = list((tmp_path / "a" / "mail").rglob("new/*"))
    assert len(files) == 1 and files[0].read_bytes().endswith(body)
    assert list((tmp_path / "a" / "spool").iterdir()) == []


def test_spool_files_of_a_killed_process_are_removed_at_start(tmp_path: Path) -> None:
    spool = tmp_path / "a" / "spool"
    spool.mkdir(parents=True)
    (spool / "18C0FFEE.spool").write_bytes(b"half a message")
    (spool / "README").write_text("not a spool file")

    async def main() -> None:
        server = MailServer(parse_config(CONFIG.format(sync="file")), data_dir=tmp_path)
        await server.start()
        await server.stop()

    asyncio.run(main())
    assert sorted(p.name for p in spool.iterdir()) == ["README"]
