"""Spooled message data: SMTP DATA streamed to a spool file and copied by the kernel."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailserver import maildir
from mailserver.directory import Directory, make_account
from mailserver.maildir import Spooled, Store, size_of
from mailserver.mda import MDA
from mailserver.queue import Queue
from mailserver.smtp_service import Spool

HEAD = b"Received: by mx.a.example; Thu, 1 Jan 2026 00:00:00 +0000\r\n"


def _body(n: int) -> bytes:
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"
    return b"Subject: big\r\n\r\n" + line * (n // len(line) + 1)


def test_small_data_stays_in_memory(tmp_path: Path) -> None:
    spool = Spool(tmp_path, in_memory=100)
    spool.write(b"Subject: a\r\n")
    spool.write(b"\r\nbody\r\n")
    assert spool.path is None
    assert os.listdir(tmp_path) == []
    assert spool.message(HEAD) == HEAD + b"Subject: a\r\n\r\nbody\r\n"
    spool.close()


def test_large_data_streams_to_a_file_removed_on_close(tmp_path: Path) -> None:
    body = _body(5000)
    spool = Spool(tmp_path, in_memory=1000)
    for i in range(0, len(body), 333):
        spool.write(body[i : i + 333])
    assert spool.path is not None
    path = spool.path
    message = spool.message(HEAD)
    assert isinstance(message, Spooled)
    assert message.parts == (HEAD, path)
    assert message.size == len(HEAD) + len(body)
    assert message.read() == HEAD + body
    spool.close()
    assert not path.exists()


@given(
    st.lists(st.binary(max_size=300), max_size=12),
    st.integers(min_value=0, max_value=600),
)
def test_spool_keeps_every_byte_in_order(chunks: list[bytes], limit: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        spool = Spool(Path(d), in_memory=limit)
        for chunk in chunks:
            spool.write(chunk)
        message = spool.message(b"X: 1\r\n")
        whole = message if isinstance(message, bytes) else message.read()
        assert whole == b"X: 1\r\n" + b"".join(chunks)
        assert size_of(message) == len(whole)
        spool.close()
        assert os.listdir(d) == []


def test_mda_copies_a_spool_file_into_mailboxes_and_queue(tmp_path: Path) -> None:
    directory = Directory(
        domains=["a.example"],
        accounts=[make_account("ann@a.example", "x"), make_account("bob@a.example", "y")],
        aliases={},
        lists={},
    )
    store = Store(tmp_path / "mail")
    queue = Queue(tmp_path / "queue")
    mda = MDA(store, directory, queue=queue)
    body = _body(300_000)
    spool_file = tmp_path / "spool"
    spool_file.write_bytes(body)
    message = Spooled((HEAD, spool_file))
    results = asyncio.run(
        mda.deliver("s@b.example", ["ann@a.example", "bob@a.example", "far@c.example"], message)
    )
    assert all(r.ok for r in results)
    stored = b"Return-Path: <s@b.example>\r\n" + HEAD + body
    for account in ("ann@a.example", "bob@a.example"):
        inbox = store.mailbox(account).folder("INBOX")
        (uid,) = inbox.uids()
        assert inbox.read(uid) == stored
        info = inbox.get(uid)
        assert info is not None
        assert info.size == len(stored)
    (entry,) = queue.entries()
    assert queue.read(entry.id) == HEAD + body  # no Return-Path on relayed mail
    # The spool file itself is left to its owner (the SMTP session).
    assert spool_file.read_bytes() == body


def test_a_spool_file_that_changed_fails_the_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The size goes into the Maildir file name (S=...) before the copy: a
    # spool file that changed in between must fail, not store a lie.
    inbox = Store(tmp_path / "mail").mailbox("u").folder("INBOX")
    spool_file = tmp_path / "spool"
    spool_file.write_bytes(b"abc")
    message = Spooled((HEAD, spool_file))
    monkeypatch.setattr(maildir, "size_of", lambda data: len(HEAD) + 10)
    with pytest.raises(OSError, match="expected"):
        asyncio.run(inbox.deliver(message))
    assert inbox.uids() == []
    assert os.listdir(inbox.path / "new") == []
    assert os.listdir(inbox.path / "tmp") == []


def test_smtp_message_larger_than_memory_spool_arrives_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through the real MX port: a 1 MB message goes to a spool file (the
    # in-memory limit is 256 KB), is copied into the mailbox byte for byte,
    # and the spool file is gone afterwards.
    import smtplib

    from mailserver import smtp_service
    from tests.examples.test_e2e_support import A, ServerThread, demo_config, maildir_files

    assert smtp_service.SPOOL_IN_MEMORY < 1_000_000
    handed_over: list[bytes | Spooled] = []
    real_message = Spool.message

    def recording(self: Spool, prefix: bytes) -> bytes | Spooled:
        handed_over.append(real_message(self, prefix))
        return handed_over[-1]

    monkeypatch.setattr(Spool, "message", recording)
    text, _ = demo_config()
    body = _body(1_000_000)
    message = b"From: <x@stranger.example>\r\nTo: <ana@iesfbmoll.example>\r\n" + body
    with ServerThread(text, tmp_path) as server:
        port = server.port(A, "smtp")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.sendmail("x@stranger.example", ["ana@iesfbmoll.example"], message)
        spools = [p for p in tmp_path.rglob("*.spool")]
        files = maildir_files(tmp_path / "iesfbmoll.example", "ana@iesfbmoll.example")
    assert spools == []
    # The MDA got the spool file, not the message read back into memory.
    (given_message,) = handed_over
    assert isinstance(given_message, Spooled)
    assert isinstance(given_message.parts[-1], Path)
    (stored,) = files
    data = stored.read_bytes()
    assert data.startswith(b"Return-Path: <x@stranger.example>\r\nReceived: ")
    assert data.endswith(b"\r\n\r\n" + message.split(b"\r\n\r\n", 1)[1])
    header_end = data.index(b"From: <x@stranger.example>")
    assert data[header_end:] == message


def test_copy_falls_back_to_sendfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # copy_file_range refused (an old kernel, a file system that cannot):
    # the spool file is copied with sendfile instead, byte for byte.
    def refused(*args: object, **kwargs: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refused, raising=False)
    body = _body(200_000)
    spool_file = tmp_path / "spool"
    spool_file.write_bytes(body)
    inbox = Store(tmp_path / "mail").mailbox("u").folder("INBOX")
    uid = asyncio.run(inbox.deliver(Spooled((HEAD, spool_file, b"tail\r\n"))))
    assert inbox.read(uid) == HEAD + body + b"tail\r\n"
    info = inbox.get(uid)
    assert info is not None
    assert info.size == len(HEAD) + len(body) + len(b"tail\r\n")
