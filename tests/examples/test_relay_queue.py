"""The on-disk relay queue: durability and recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mailserver.queue import Queue, QueueEntry

MSG = b"Subject: q\r\n\r\nbody\r\n"


def test_enqueue_is_visible_after_reload(tmp_path: Path) -> None:
    q = Queue(tmp_path)
    entry = q.enqueue("a@x.example", ["b@y.example", "c@y.example", "b@y.example"], MSG, now=10.0)
    assert [r.address for r in entry.recipients] == ["b@y.example", "c@y.example"]
    again = Queue(tmp_path)
    (loaded,) = again.entries()
    assert loaded == entry
    assert again.read(entry.id) == MSG
    assert again.due(now=9.0) == []
    assert again.due(now=10.0) == [loaded]
    assert again.next_due() == 10.0


def test_state_updates_and_removal(tmp_path: Path) -> None:
    q = Queue(tmp_path)
    entry = q.enqueue("a@x.example", ["b@y.example", "c@y.example"], MSG)
    entry.recipients[0].status = "sent"
    entry.attempts = 1
    entry.next_attempt = 99.0
    q.save(entry)
    (loaded,) = Queue(tmp_path).entries()
    assert loaded.attempts == 1
    assert [r.address for r in loaded.pending] == ["c@y.example"]
    entry.recipients[1].status = "failed"
    q.save(entry)  # nothing pending: removed
    assert len(q) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert Queue(tmp_path).entries() == []


def test_same_queue_id_twice_gets_distinct_entries(tmp_path: Path) -> None:
    q = Queue(tmp_path)
    a = q.enqueue("", ["b@y.example"], MSG, queue_id="ABC")
    b = q.enqueue("", ["c@y.example"], MSG + b"2", queue_id="ABC")
    assert a.id == "ABC"
    assert b.id != a.id
    assert q.read(b.id) == MSG + b"2"


def test_recovery_discards_unacknowledged_and_keeps_damaged(tmp_path: Path) -> None:
    q = Queue(tmp_path)
    good = q.enqueue("a@x.example", ["b@y.example"], MSG)
    (tmp_path / "tmp" / "half.msg").write_bytes(b"Subj")  # crash while writing
    (tmp_path / "ORPHAN.msg").write_bytes(MSG)  # crash before the .env rename
    (tmp_path / "LOST.env").write_bytes(good.to_json())  # message missing
    (tmp_path / "BAD.msg").write_bytes(MSG)
    (tmp_path / "BAD.env").write_bytes(b"{not json")
    again = Queue(tmp_path)
    assert [e.id for e in again.entries()] == [good.id]
    assert not (tmp_path / "ORPHAN.msg").exists()
    assert not (tmp_path / "LOST.env").exists()
    assert os.listdir(tmp_path / "tmp") == []
    # A damaged envelope is left for a human, never silently deleted.
    assert (tmp_path / "BAD.env").exists()
    assert (tmp_path / "BAD.msg").exists()


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    q = Queue(tmp_path)
    real_rename = os.rename
    calls = []

    def rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(dst)
        if str(dst).endswith(".env"):
            raise OSError(5, "I/O error")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError):
        q.enqueue("a@x.example", ["b@y.example"], MSG)
    monkeypatch.undo()
    assert len(calls) == 2
    assert len(q) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]
    assert os.listdir(tmp_path / "tmp") == []


def test_aenqueue_and_listeners(tmp_path: Path) -> None:
    q = Queue(tmp_path)

    async def main() -> QueueEntry:
        woken = q.listen()
        entry = await q.aenqueue("a@x.example", ["b@y.example"], MSG, queue_id="Q1")
        assert woken.is_set()
        return entry

    entry = asyncio.run(main())
    assert entry.id == "Q1"
    assert entry.next_attempt == entry.created
    assert Queue(tmp_path).entries()[0].next_attempt == entry.created


_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from mailserver.queue import Queue
    q = Queue(sys.argv[1])
    body = b"x" * 300_000
    i = 0
    while True:
        q.enqueue("a@x.example", ["b@y.example"], b"Subject: %d\\r\\n\\r\\n" % i + body,
                  queue_id="Q%d" % i)
        print(i, flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_sigkill_during_enqueue_keeps_every_acknowledged_message(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path), str(examples)], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    acked: list[int] = []
    deadline = time.monotonic() + 90  # a slow disk's fsyncs
    while len(acked) < 12 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(acked) >= 12
    q = Queue(tmp_path)
    ids = {e.id for e in q.entries()}
    for i in acked:
        assert f"Q{i}" in ids
    assert len(ids) in (len(acked), len(acked) + 1)
    for qid in ids:
        data = q.read(qid)
        assert len(data) > 300_000
        assert data.startswith(b"Subject: " + qid[1:].encode() + b"\r\n")
