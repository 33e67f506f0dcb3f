"""``[store] sync = "filesystem"``: one syncfs(2) per commit batch, still durable first.

The store writes each delivered file in ``tmp/`` without an fsync; the
folder's :class:`~mailserver.maildir.GroupCommit` leader appends the
batch's index records, makes files and records durable with one
:func:`~mailserver.maildir.syncfs`, and only then renames the files into
``new/`` — with no directory fsync: a load after a crash that lost a rename
redoes it from the record.  These tests check that order, that recovery,
that a failed sync or rename leaves nothing a reader or a rescan could
see, and the same through SMTP with a real client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import imaplib
import os
import stat
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from smtplib import SMTPDataError
from typing import Any

import pytest

from mailserver import maildir
from mailserver.config import ConfigError, parse_config
from mailserver.maildir import Folder, Store
from tests.examples.fault_support import SMTP_DISK_REPLIES, enhanced, inject, leftovers
from tests.examples.test_e2e_support import (
    PASSWORDS,
    PEPE,
    A,
    ServerThread,
    demo_config,
    maildir_files,
    unverified,
    wait_for,
)
from tests.examples.test_faults_smtp import copies, root, send

MSG = b"From: a@example.org\r\nSubject: batch\r\n\r\nHello\r\n"


def _inbox(root: Path) -> Folder:
    return Store(root, sync="filesystem").mailbox("u").folder("INBOX")


def _message_files(folder: Folder) -> list[str]:
    return [n for sub in ("tmp", "new", "cur") for n in os.listdir(folder.path / sub)]


def _subdir(path: str) -> str:
    """The Maildir subdirectory (``tmp``, ``new``...) a file *path* is in."""
    return os.path.basename(os.path.dirname(path))


class _Trace:
    """Records, in order, message files created, syncfs calls and renames."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, slow: float = 0.0) -> None:
        self.events: list[tuple[str, str]] = []
        self.file_fsyncs: list[str] = []
        #: Directories fsynced (their names), and the index as each syncfs found it.
        self.dir_fsyncs: list[str] = []
        self.index_at_syncfs: list[bytes] = []
        self._lock = threading.Lock()
        real_open, real_rename, real_fsync = os.open, os.rename, os.fsync
        real_syncfs = maildir.syncfs

        def traced_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            fd = real_open(path, flags, *args, **kwargs)
            if flags & os.O_CREAT and _subdir(os.fspath(path)) == "tmp":
                self._add("create", os.path.basename(os.fspath(path)))
            return fd

        def traced_rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            real_rename(src, dst, *args, **kwargs)
            self._add("rename", os.path.basename(os.fspath(src)))

        def traced_fsync(fd: int) -> None:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                with self._lock:
                    self.dir_fsyncs.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
            elif stat.S_ISREG(os.fstat(fd).st_mode):
                target = os.readlink(f"/proc/self/fd/{fd}")
                if _subdir(target) in ("tmp", "new"):
                    with self._lock:
                        self.file_fsyncs.append(target)
            real_fsync(fd)

        def traced_syncfs(fd: int) -> None:
            index = Path(os.readlink(f"/proc/self/fd/{fd}"))
            self.index_at_syncfs.append(index.read_bytes())
            self._add("syncfs", "")
            time.sleep(slow)  # a slow disk: deliveries pile up behind a commit
            real_syncfs(fd)

        monkeypatch.setattr(os, "open", traced_open)
        monkeypatch.setattr(os, "rename", traced_rename)
        monkeypatch.setattr(os, "fsync", traced_fsync)
        monkeypatch.setattr(maildir, "syncfs", traced_syncfs)

    def _add(self, kind: str, name: str) -> None:
        with self._lock:
            self.events.append((kind, name))

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.events if k == kind)


def _deliver_all(folder: Folder, count: int) -> list[int | BaseException]:
    async def main() -> list[int | BaseException]:
        tasks = [folder.deliver(MSG + b"%d" % i, delivery_id=f"B{i}") for i in range(count)]
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    return asyncio.run(main())


# -- the store -----------------------------------------------------------------------------


def test_files_are_synced_by_batch_before_their_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    trace = _Trace(monkeypatch, slow=0.05)
    uids = _deliver_all(inbox, 24)
    assert uids == list(range(1, 25))
    # No message file was fsynced on its own: the syncfs calls did it, far
    # fewer of them than messages, one per batch.
    assert trace.file_fsyncs == []
    group = inbox._group
    assert group.records == 24
    assert 1 <= trace.count("syncfs") == group.batches < 12
    # Each file was created, then a syncfs began with the file's index
    # record already appended, then it was renamed; no directory was synced.
    syncs = [i for i, event in enumerate(trace.events) if event[0] == "syncfs"]
    for i in range(24):
        name = next(n for k, n in trace.events if k == "create" and f",I=B{i}" in n)
        created = trace.events.index(("create", name))
        renamed = trace.events.index(("rename", name))
        covering = [n for n, at in enumerate(syncs) if created < at < renamed]
        assert covering, name
        assert name.encode() in trace.index_at_syncfs[covering[-1]], name
    assert trace.dir_fsyncs == []
    # Durable and complete, as after a restart.
    again = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    assert again.uids() == list(range(1, 25))
    for i in range(24):
        assert again.read(i + 1) == MSG + b"%d" % i
    assert os.listdir(inbox.path / "tmp") == []


def _lose_renames(folder: Folder, names: list[str]) -> None:
    """Put files back in ``tmp/``: what a crash that lost their renames leaves."""
    for name in names:
        sub = "cur" if ":2," in name else "new"
        os.rename(folder.path / sub / name, folder.path / "tmp" / name)


def test_a_load_redoes_the_renames_a_crash_lost(tmp_path: Path) -> None:
    inbox = _inbox(tmp_path)
    uids = [u for u in _deliver_all(inbox, 3) if isinstance(u, int)]
    assert uids == [1, 2, 3]
    flagged = asyncio.run(inbox.deliver(MSG + b"flagged", flags=["\\Seen", "\\Flagged"]))
    names = sorted(os.listdir(inbox.path / "new")) + os.listdir(inbox.path / "cur")
    _lose_renames(inbox, names)
    again = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    # The same UIDs (a client may have seen them), contents and flags.
    assert again.uids() == [*uids, flagged]
    assert [again.read(u) for u in uids] == [MSG + b"%d" % i for i in range(3)]
    assert again.read(flagged) == MSG + b"flagged"
    info = again.get(flagged)
    assert info is not None and info.flags == {"\\Seen", "\\Flagged"}
    assert os.listdir(again.path / "tmp") == []
    assert sorted(os.listdir(again.path / "new")) + os.listdir(again.path / "cur") == names


def test_a_load_leaves_tmp_files_without_a_record_or_of_the_wrong_size(
    tmp_path: Path,
) -> None:
    inbox = _inbox(tmp_path)
    [kept, cut] = _deliver_all(inbox, 2)
    assert isinstance(kept, int) and isinstance(cut, int)
    names = {u: os.path.basename(inbox.file_path(u)) for u in (kept, cut)}
    _lose_renames(inbox, [names[cut]])
    # Cut short (its size is in its name): not placed, so it is expunged.
    os.truncate(inbox.path / "tmp" / names[cut], 5)
    # A file no record names: a delivery that was never acknowledged.
    stray = maildir.new_base_name(len(MSG))
    (inbox.path / "tmp" / stray).write_bytes(MSG)
    again = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    assert again.uids() == [kept]
    assert sorted(os.listdir(again.path / "tmp")) == sorted([names[cut], stray])


def test_one_thread_hand_over_per_batch_not_per_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loop queues each delivery; only when no leader runs does it start
    # one in the pool, and the leader writes the files of every batch.
    inbox = _inbox(tmp_path)
    _Trace(monkeypatch, slow=0.05)
    real_run = maildir._IO_POOL.run
    started: list[object] = []

    def run(fn: Any) -> None:
        started.append(fn)
        real_run(fn)

    monkeypatch.setattr(maildir._IO_POOL, "run", run)
    assert _deliver_all(inbox, 24) == list(range(1, 25))
    assert 1 <= len(started) <= inbox._group.batches < 12


def test_failed_write_fails_only_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    with inject("writev", inbox.path / "tmp", match=",I=B2", times=None) as fault:
        outcomes = _deliver_all(inbox, 5)
    assert fault.fired == 1
    failed = outcomes[2]
    assert isinstance(failed, OSError) and failed.errno == errno.ENOSPC
    assert [o for i, o in enumerate(outcomes) if i != 2] == [1, 2, 4, 5]
    assert os.listdir(inbox.path / "tmp") == []
    again = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    assert sorted(again.read(u) for u in again.uids()) == sorted(
        MSG + b"%d" % i for i in (0, 1, 3, 4)
    )


def test_a_pool_that_cannot_start_a_leader_fails_that_delivery_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)

    def shut_down(fn: Any) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(maildir._IO_POOL, "run", shut_down)
    with pytest.raises(RuntimeError):
        asyncio.run(inbox.deliver(MSG, delivery_id="refused"))
    assert _message_files(inbox) == []
    assert not inbox.has_delivery("refused")
    # Nothing was left queued or marked as leading: the next delivery works
    # (and does not wait for a leader that never started).
    monkeypatch.undo()
    uid = asyncio.run(asyncio.wait_for(inbox.deliver(MSG, delivery_id="next"), 20))
    assert inbox.uids() == [uid]
    assert [inbox.read(u) for u in inbox.uids()] == [MSG]


def test_a_given_executor_runs_the_leader(tmp_path: Path) -> None:
    # deliver(executor=...) starts the batch's leader there instead.
    inbox = _inbox(tmp_path)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        uid = asyncio.run(inbox.deliver(MSG, delivery_id="E1", executor=pool))
    assert inbox.read(uid) == MSG
    pool.shutdown()
    with pytest.raises(RuntimeError):
        asyncio.run(inbox.deliver(MSG, delivery_id="E2", executor=pool))
    assert not inbox.has_delivery("E2")
    assert inbox.uids() == [uid]
    assert os.listdir(inbox.path / "tmp") == []


def test_file_mode_fsyncs_each_file_and_never_calls_syncfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    trace = _Trace(monkeypatch)
    assert _deliver_all(inbox, 6) == list(range(1, 7))
    assert trace.count("syncfs") == 0
    assert len(trace.file_fsyncs) == 6


def test_failed_syncfs_fails_the_batch_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "syncfs failed")

    monkeypatch.setattr(maildir, "syncfs", broken)
    outcomes = _deliver_all(inbox, 5)
    assert all(isinstance(o, OSError) and o.errno == errno.EIO for o in outcomes), outcomes
    # Each delivery got an exception of its own (no shared traceback).
    assert len({id(o) for o in outcomes}) == 5
    assert _message_files(inbox) == []
    assert inbox.uids() == []
    # The disk is back: the next delivery is the only message, after a reload too.
    monkeypatch.undo()
    uid = asyncio.run(inbox.deliver(MSG, delivery_id="after"))
    assert inbox.uids() == [uid]
    again = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    assert [again.read(u) for u in again.uids()] == [MSG]


def test_failed_rename_fails_only_its_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    real_rename = os.rename

    def rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if ",I=B3" in os.fspath(src):
            raise OSError(errno.ENOSPC, "no room", os.fspath(src))
        real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    outcomes = _deliver_all(inbox, 6)
    failed = outcomes[3]
    assert isinstance(failed, OSError) and failed.errno == errno.ENOSPC
    assert [o for i, o in enumerate(outcomes) if i != 3] == [1, 2, 3, 5, 6]
    assert os.listdir(inbox.path / "tmp") == []
    again = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    assert sorted(again.read(u) for u in again.uids()) == sorted(
        MSG + b"%d" % i for i in (0, 1, 2, 4, 5)
    )


def test_store_refuses_an_unknown_or_unavailable_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="sync must be one of"):
        Store(tmp_path, sync="sometimes")
    monkeypatch.setattr(maildir, "syncfs_unavailable", lambda: "not on this machine")
    with pytest.raises(ValueError, match="not on this machine"):
        Store(tmp_path, sync="filesystem")
    assert Store(tmp_path, sync="file").sync == "file"


@pytest.mark.parametrize(
    ("platform", "release", "reason"),
    [
        ("linux", "6.18.44-fc", None),
        ("linux", "5.8.0", None),
        ("linux", "5.7.19", "from Linux 5.8 on"),
        ("linux", "4.19.0-amd64", "from Linux 5.8 on"),
        ("darwin", "23.1.0", "Linux-only"),
        ("linux", "weird", "cannot read the kernel version"),
    ],
)
def test_syncfs_unavailable_reasons(
    monkeypatch: pytest.MonkeyPatch, platform: str, release: str, reason: str | None
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    real = os.uname()
    fake = os.uname_result((real.sysname, real.nodename, release, real.version, real.machine))
    monkeypatch.setattr(os, "uname", lambda: fake)
    why = maildir.syncfs_unavailable()
    if reason is None:
        assert why is None
    else:
        assert why is not None and reason in why


def test_syncfs_reports_a_bad_descriptor() -> None:
    # The real call, through the C library: errors come back as OSError.
    with pytest.raises(OSError) as info:
        maildir.syncfs(-1)
    assert info.value.errno == errno.EBADF


# -- the config ------------------------------------------------------------------------------

_CONFIG = """\
hostname = "mx.example"
domains = ["example.org"]
data_dir = "d"
[ports]
smtp = 2525
[store]
{store}
[[accounts]]
address = "u@example.org"
password = "pw"
"""


def test_config_store_sync() -> None:
    cfg = parse_config(_CONFIG.format(store='sync = "filesystem"')).servers[0]
    assert cfg.store_sync == "filesystem"
    assert parse_config(_CONFIG.format(store="")).servers[0].store_sync == "file"


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ('sync = "always"', '[store] sync must be one of "file", "filesystem"'),
        ("sync = 1", "sync"),
        ("fsync = true", "unknown key 'fsync' in [store]"),
    ],
)
def test_config_store_errors_name_the_line(store: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_CONFIG.format(store=store))
    assert message in str(info.value)
    assert info.value.line == 7


def test_config_refuses_filesystem_where_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maildir, "syncfs_unavailable", lambda: "syncfs(2) is Linux-only")
    with pytest.raises(ConfigError) as info:
        parse_config(_CONFIG.format(store='sync = "filesystem"'))
    assert "Linux-only" in str(info.value)
    assert info.value.line == 7


# -- through SMTP ----------------------------------------------------------------------------


def _with_filesystem_sync(text: str) -> str:
    # Both demo servers: a [server.store] table before each [server.relay].
    return text.replace("[server.relay]", '[server.store]\nsync = "filesystem"\n\n[server.relay]')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config(retry_base=0.2, extra=_with_filesystem_sync)
    with ServerThread(text, tmp_path_factory.mktemp("syncfs")) as s:
        yield s


def test_server_config_reaches_the_store(server: ServerThread) -> None:
    assert server.server is not None
    assert server.server.sites[A].store.sync == "filesystem"


def test_concurrent_smtp_deliveries_arrive_once_each(server: ServerThread) -> None:
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            send(server, [PEPE], f"many-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for i in range(12):
        assert copies(server, PEPE, f"many-{i}") == 1
    files = maildir_files(root(server), PEPE)
    for i in range(12):
        assert sum(f"body of many-{i}\r\n".encode() in p.read_bytes() for p in files) == 1
    assert leftovers(root(server) / "mail") == []


def test_failed_syncfs_queues_the_message_and_delivers_it_once(server: ServerThread) -> None:
    # The mailbox cannot be synced, the queue can: 250, and the relay
    # delivers the queued copy once the disk is back.
    with inject("syncfs", root(server) / "mail", err=errno.EIO, times=None) as fault:
        send(server, [PEPE], "queued")
        assert copies(server, PEPE, "queued") == 0
    assert fault.fired >= 1
    assert wait_for(lambda: copies(server, PEPE, "queued") == 1)
    time.sleep(0.3)  # a second copy would be retried by now
    assert copies(server, PEPE, "queued") == 1
    assert leftovers(root(server) / "mail") == []


@pytest.mark.parametrize(("err", "reply"), SMTP_DISK_REPLIES)
def test_disk_failing_everywhere_is_a_4xx_and_leaves_nothing(
    server: ServerThread, err: int, reply: tuple[int, str]
) -> None:
    subject = f"nowhere-{err}"
    with (
        inject(["syncfs", "fsync"], root(server), err=err, times=None) as fault,
        pytest.raises(SMTPDataError) as info,
    ):
        send(server, [PEPE], subject)
    assert fault.fired >= 1
    assert "syncfs" in fault.seen
    assert (info.value.smtp_code, enhanced(info.value)) == reply
    assert copies(server, PEPE, subject) == 0
    assert leftovers(root(server)) == []
    send(server, [PEPE], subject)
    assert copies(server, PEPE, subject) == 1


def test_imap_append_with_flags_goes_through_the_batch(server: ServerThread) -> None:
    # APPEND uses the same delivery path: the file lands in cur/ with its
    # flags, and reads back octet for octet.
    message = b"From: p@example.org\r\nSubject: appended\r\n\r\nkept as is\r\n"
    m = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=20)
    try:
        m.starttls(unverified())
        m.login(PEPE, PASSWORDS[PEPE])
        typ, _ = m.append("Drafts", r"(\Draft \Seen)", None, message)
        assert typ == "OK"
        m.select("Drafts")
        typ, data = m.uid("SEARCH", "SUBJECT", "appended")
        assert typ == "OK" and data[0]
        uid = data[0].split()[-1]
        typ, fetched = m.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
        assert typ == "OK"
        item = fetched[0]
        assert isinstance(item, tuple)
        assert item[1] == message
        assert b"\\Draft" in item[0] and b"\\Seen" in item[0]
    finally:
        m.logout()
    drafts = maildir_files(root(server), PEPE, "Drafts")
    assert [p.read_bytes() for p in drafts if p.read_bytes() == message]
    assert all(p.parent.name == "cur" for p in drafts)
    assert leftovers(root(server) / "mail") == []
