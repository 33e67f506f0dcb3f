"""Group commit of deliveries: shared fsyncs, and still durable before returning."""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from pathlib import Path

import pytest

from mailserver import maildir
from mailserver.maildir import Folder, Store

MSG = b"From: a@example.org\r\nSubject: test\r\n\r\nHello\r\n"


def _inbox(root: Path) -> Folder:
    return Store(root).mailbox("u").folder("INBOX")


def _visible(folder: Folder) -> list[str]:
    return sorted(os.listdir(folder.path / "new")) + sorted(os.listdir(folder.path / "cur"))


def test_concurrent_deliveries_share_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    real = maildir.fsync_dir
    dir_syncs: list[Path] = []

    def slow_fsync_dir(path: Path) -> None:
        dir_syncs.append(path)
        time.sleep(0.05)  # a slow disk: deliveries pile up behind a commit
        real(path)

    monkeypatch.setattr(maildir, "fsync_dir", slow_fsync_dir)

    async def main() -> list[int]:
        tasks = [inbox.deliver(MSG + b"%d" % i, delivery_id=f"G{i}") for i in range(24)]
        return list(await asyncio.gather(*tasks))

    uids = asyncio.run(main())
    assert sorted(uids) == list(range(1, 25))
    group = inbox._group
    assert group.records == 24
    # Every message is covered, by far fewer commits than messages.
    assert group.batches < 12
    assert len(dir_syncs) == group.batches
    again = _inbox(tmp_path)
    assert again.uids() == list(range(1, 25))
    # UIDs are taken in call order, before any disk work.
    assert uids == list(range(1, 25))
    for i, uid in enumerate(uids):
        assert again.read(uid) == MSG + b"%d" % i


def test_deliver_returns_only_after_its_batch_is_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    real = maildir.fsync_dir
    entered = threading.Event()
    release = threading.Event()

    def blocking_fsync_dir(path: Path) -> None:
        entered.set()
        release.wait(10)
        real(path)

    monkeypatch.setattr(maildir, "fsync_dir", blocking_fsync_dir)
    before = inbox.highestmodseq

    async def main() -> int:
        task = asyncio.ensure_future(inbox.deliver(MSG, delivery_id="D1"))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, entered.wait, 10)
        await asyncio.sleep(0.05)
        # The file is renamed, but its directory fsync has not happened:
        # the delivery has not returned and the message is not visible.
        assert not task.done()
        assert inbox.uids() == []
        assert inbox.highestmodseq == before
        assert inbox.has_delivery("D1")  # claimed: a concurrent retry is a no-op
        release.set()
        return await task

    assert asyncio.run(main()) == 1
    assert inbox.uids() == [1]
    assert inbox.highestmodseq == before + 1


def test_failed_commit_fails_every_delivery_in_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    real = maildir.fsync_dir

    def broken(path: Path) -> None:
        time.sleep(0.02)
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(maildir, "fsync_dir", broken)

    async def main() -> list[object]:
        tasks = [inbox.deliver(MSG + b"%d" % i, delivery_id=f"F{i}") for i in range(6)]
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    results = asyncio.run(main())
    assert all(isinstance(r, OSError) and r.errno == errno.EIO for r in results)
    # Nothing was acknowledged, so nothing is left for a rescan to find,
    # and the delivery ids are free for the retry.
    assert _visible(inbox) == []
    assert inbox.uids() == []
    assert not inbox.has_delivery("F0")
    monkeypatch.setattr(maildir, "fsync_dir", real)
    assert asyncio.run(inbox.deliver(MSG, delivery_id="F0")) >= 1
    assert len(_inbox(tmp_path).uids()) == 1


def test_cancelled_caller_still_gets_its_message_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _inbox(tmp_path)
    real = maildir.fsync_dir
    entered = threading.Event()
    release = threading.Event()

    def blocking_fsync_dir(path: Path) -> None:
        entered.set()
        release.wait(10)
        real(path)

    monkeypatch.setattr(maildir, "fsync_dir", blocking_fsync_dir)
    added: list[int] = []
    inbox._mailbox.watch(lambda change: added.extend(change.added))

    async def main() -> None:
        task = asyncio.ensure_future(inbox.deliver(MSG, delivery_id="C1"))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, entered.wait, 10)
        task.cancel()  # the SMTP client went away
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        for _ in range(200):
            if added:
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    # The message is durable on disk, so it is registered once, with its UID
    # in the index, and a rescan does not give it a second one.
    assert added == [1]
    assert inbox.uids() == [1]
    assert inbox.rescan() is None
    assert _inbox(tmp_path).uids() == [1]


def test_group_commit_unit_threads(tmp_path: Path) -> None:
    # GroupCommit on its own: many threads, every line in the index once.
    for sub in ("new", "cur"):
        (tmp_path / sub).mkdir()
    index = tmp_path / "index"
    group = maildir.GroupCommit(tmp_path, index)
    lines = [b"A %d 1 0 base%d\n" % (i, i) for i in range(40)]
    threads = [threading.Thread(target=group.commit, args=(line, "new")) for line in lines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(index.read_bytes().splitlines(keepends=True)) == sorted(lines)
    assert group.records == 40
    assert 1 <= group.batches <= 40


def test_follower_does_not_wait_for_the_running_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A thread that hands in its record while another batch commits goes
    # back to work at once; its callback comes when its own batch is durable.
    for sub in ("new", "cur"):
        (tmp_path / sub).mkdir()
    index = tmp_path / "index"
    real = maildir.fsync_dir
    entered = threading.Event()
    release = threading.Event()

    def blocking_fsync_dir(path: Path) -> None:
        entered.set()
        release.wait(10)
        real(path)

    monkeypatch.setattr(maildir, "fsync_dir", blocking_fsync_dir)
    group = maildir.GroupCommit(tmp_path, index)
    outcomes: list[tuple[str, object]] = []
    leader = threading.Thread(
        target=group.submit, args=(b"A 1 1 0 one\n", "new", lambda e: outcomes.append(("1", e)))
    )
    leader.start()
    assert entered.wait(10)
    follower = threading.Thread(
        target=group.submit, args=(b"A 2 2 0 two\n", "new", lambda e: outcomes.append(("2", e)))
    )
    follower.start()
    follower.join(5)
    assert not follower.is_alive()  # returned while the first batch is still running
    assert outcomes == []  # ... and nothing is reported durable yet
    release.set()
    leader.join(10)
    assert outcomes == [("1", None), ("2", None)]
    assert group.batches == 2  # the leader committed the follower's batch too
    assert index.read_bytes() == b"A 1 1 0 one\nA 2 2 0 two\n"


def test_commit_blocks_and_raises_the_batch_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "new").mkdir()
    group = maildir.GroupCommit(tmp_path, tmp_path / "index")

    def broken(path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(maildir, "fsync_dir", broken)
    with pytest.raises(OSError) as info:
        group.commit(b"A 1 1 0 x\n", "new")
    assert info.value.errno == errno.ENOSPC
    monkeypatch.setattr(maildir, "fsync_dir", lambda path: None)
    group.commit(b"A 2 2 0 y\n", "new")  # the next batch is led again
    assert group.batches == 2


def test_deliver_with_a_shut_down_executor_fails_cleanly(tmp_path: Path) -> None:
    import concurrent.futures

    inbox = _inbox(tmp_path)
    pool = concurrent.futures.ThreadPoolExecutor(1)
    pool.shutdown()
    before = inbox.highestmodseq
    with pytest.raises(RuntimeError):
        asyncio.run(inbox.deliver(MSG, delivery_id="S1", executor=pool))
    # Nothing reserved or claimed is left behind (a reserved modseq would
    # hold HIGHESTMODSEQ below the one the failed delivery used up).
    assert inbox.highestmodseq == before + 1
    assert not inbox.has_delivery("S1")
    assert _visible(inbox) == []
    uid = asyncio.run(inbox.deliver(MSG, delivery_id="S1"))  # the id is free again
    assert inbox.uids() == [uid]


def test_io_executor_is_an_executor() -> None:
    def boom() -> None:
        raise ValueError("x")

    pool = maildir.io_executor()
    assert pool.submit(pow, 2, 10).result(10) == 1024
    with pytest.raises(ValueError):
        pool.submit(boom).result(10)
