"""``[store] writer = "process"``: the group commit's file work in a child process.

The child runs :meth:`GroupCommit._write_files`, whose order (write,
record, one syncfs, rename) ``test_store_syncfs.py`` checks in-process;
these tests check what the process adds: the wire, outcomes and errors
coming back, the death of the child, its end with the store, the config,
and deliveries through SMTP with a real client.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import smtplib
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailserver import maildir, store_writer
from mailserver.config import ConfigError, parse_config
from mailserver.maildir import Folder, Spooled, Store
from mailserver.store_writer import Request, commit, decode, encode, split_frames
from tests.examples.test_e2e_support import (
    PEPE,
    A,
    ServerThread,
    demo_config,
    maildir_files,
    wait_for,
)
from tests.examples.test_faults_smtp import root
from tests.examples.test_store_syncfs import _CONFIG

MSG = b"From: a@example.org\r\nSubject: writer\r\n\r\nHello\r\n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "mail", sync="filesystem", writer="process")
    try:
        yield s
    finally:
        s.close()


def _inbox(store: Store) -> Folder:
    return store.mailbox("u").folder("INBOX")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie until reaped: Popen.wait in close() reaps it.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


# -- the wire --------------------------------------------------------------------------------

_octets = st.binary(max_size=64)
# File names as the server has them: any octets but NUL, decoded as os does.
_paths = (
    st.binary(min_size=1, max_size=20)
    .filter(lambda b: b"\0" not in b)
    .map(lambda b: Path(os.fsdecode(b)))
)


@st.composite
def _requests(draw: st.DrawFn) -> Request:
    parts = draw(st.lists(st.one_of(_octets, _paths), min_size=1, max_size=4))
    data: bytes | Spooled
    if len(parts) == 1 and isinstance(parts[0], bytes):
        data = parts[0]
    else:
        data = Spooled(tuple(parts))
    return Request(
        index=draw(_octets),
        tmp=draw(_octets),
        final=draw(_octets),
        record=draw(_octets),
        data=data,
        size=draw(st.integers(0, 2**64 - 1)),
        internaldate=draw(st.none() | st.floats(allow_nan=False)),
        torn=draw(st.booleans()),
    )


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), _requests()), max_size=5), st.data())
def test_requests_cross_the_wire_intact_however_they_are_cut(
    requests: list[tuple[int, Request]], data: st.DataObject
) -> None:
    wire = b"".join(encode(rid, req) for rid, req in requests)
    # The stream arrives in arbitrary pieces: frames come out whole, in order.
    got: list[tuple[int, Request]] = []
    buffer = bytearray()
    rest = wire
    while rest:
        cut = data.draw(st.integers(1, len(rest)))
        buffer += rest[:cut]
        rest = rest[cut:]
        frames, used = split_frames(buffer)
        del buffer[:used]
        got += [decode(f) for f in frames]
    assert buffer == b""
    assert got == requests


def test_a_malformed_request_is_refused() -> None:
    body = encode(1, Request(b"i", b"t", b"f", b"r", b"x", 1, None))[4:]
    with pytest.raises(ValueError, match="malformed"):
        decode(body + b"\x42")  # a part header cut short
    with pytest.raises(ValueError, match="malformed"):
        decode(body[: -len(b"x") - 5])  # no part at all


# -- the child's batch, in-process -----------------------------------------------------------


def _request(folder: Folder, name: str, data: bytes, *, torn: bool = False) -> Request:
    home = os.fsencode(folder.path) + b"/"
    return Request(
        index=home + b"mailproto-index",
        tmp=home + b"tmp/" + name.encode(),
        final=home + b"new/" + name.encode(),
        record=f"A 9{len(name)} 1 0.000000 {name}\n".encode(),
        data=data,
        size=len(data),
        internaldate=None,
        torn=torn,
    )


def test_commit_answers_each_request_and_fails_only_its_own(tmp_path: Path) -> None:
    inbox = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    good = _request(inbox, "1.good,S=5", b"hello")
    # Fewer octets than the size the server gave (a spool file that changed).
    short = attrs.evolve(_request(inbox, "2.short,S=9", b"hello"), size=9)
    replies = commit({}, [(7, good), (8, short)])
    assert [tuple(r) for r in store_writer._REPLY.iter_unpack(replies)] == [
        (7, 0, False),
        (8, errno.EIO, False),
    ]
    assert (inbox.path / "new" / "1.good,S=5").read_bytes() == b"hello"
    assert os.listdir(inbox.path / "tmp") == []
    assert b"1.good,S=5" in (inbox.path / "mailproto-index").read_bytes()


def test_commit_reports_a_torn_append_and_mends_one_it_is_told_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Store(tmp_path, sync="filesystem").mailbox("u").folder("INBOX")
    index = inbox.path / "mailproto-index"
    groups: dict[bytes, maildir.GroupCommit] = {}
    real_write = os.write

    def short_then_full(fd: int, data: bytes | memoryview) -> int:
        if os.readlink(f"/proc/self/fd/{fd}") == str(index):
            real_write(fd, bytes(data)[:3])
            raise OSError(errno.ENOSPC, "full")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", short_then_full)
    replies = commit(groups, [(1, _request(inbox, "1.a,S=1", b"a"))])
    assert tuple(store_writer._REPLY.unpack(replies)) == (1, errno.ENOSPC, True)
    monkeypatch.undo()
    # The next append starts with the mark that ends the fragment.
    commit(groups, [(2, _request(inbox, "2.b,S=1", b"b"))])
    assert maildir.TORN_MARK + b"A 97 1 0.000000 2.b,S=1\n" in index.read_bytes()
    # And one the server tore (the flag in the request) is mended too.
    commit({}, [(3, _request(inbox, "3.c,S=1", b"c", torn=True))])
    assert index.read_bytes().endswith(maildir.TORN_MARK + b"A 97 1 0.000000 3.c,S=1\n")


# -- the process -----------------------------------------------------------------------------


def test_deliveries_go_through_the_writer_process(store: Store, tmp_path: Path) -> None:
    inbox = _inbox(store)
    spool = tmp_path / "spooled"
    spool.write_bytes(b"from a spool file\r\n")

    async def main() -> list[int]:
        uids = list(
            await asyncio.gather(
                *(inbox.deliver(MSG + b"%d" % i, delivery_id=f"W{i}") for i in range(10))
            )
        )
        uids.append(await inbox.deliver(Spooled((b"Head: x\r\n", spool))))
        uids.append(await inbox.deliver(MSG, flags=["\\Seen"], internaldate=1_000_000_000.5))
        return uids

    uids = asyncio.run(main())
    pid = store._writer.pid if store._writer is not None else None
    assert pid is not None and pid != os.getpid()
    assert uids == list(range(1, 13))
    assert [inbox.read(u) for u in uids[:10]] == [MSG + b"%d" % i for i in range(10)]
    assert inbox.read(11) == b"Head: x\r\nfrom a spool file\r\n"
    info = inbox.get(12)
    assert info is not None and info.flags == {"\\Seen"} and info.internaldate == 1_000_000_000.5
    assert os.listdir(inbox.path / "tmp") == []
    # All durable and logged, as a fresh load sees them.
    again = Store(inbox.path.parent).mailbox("u").folder("INBOX")
    assert again.uids() == uids
    assert again.read(12) == MSG
    store.close()
    assert wait_for(lambda: _gone(pid), 10)


def test_an_error_in_the_child_fails_that_delivery_only(store: Store) -> None:
    inbox = _inbox(store)

    async def main() -> list[int | BaseException]:
        await inbox.deliver(MSG)  # the child runs
        # No cur/ to rename into: the rename in the child fails.
        (inbox.path / "cur").rename(inbox.path / "cur-away")
        try:
            return list(
                await asyncio.gather(
                    inbox.deliver(MSG + b"flagged", flags=["\\Flagged"]),
                    inbox.deliver(MSG + b"plain"),
                    return_exceptions=True,
                )
            )
        finally:
            (inbox.path / "cur-away").rename(inbox.path / "cur")

    failed, plain = asyncio.run(main())
    assert isinstance(failed, OSError) and failed.errno == errno.ENOENT
    # UID 2 was the failed one's: taken, never shown, never reused.
    assert plain == 3
    assert inbox.uids() == [1, 3]
    assert os.listdir(inbox.path / "tmp") == []
    again = Store(inbox.path.parent).mailbox("u").folder("INBOX")
    assert again.uids() == [1, 3]
    assert again.read(3) == MSG + b"plain"


def test_a_dead_child_fails_what_is_in_flight_and_the_next_delivery_starts_another(
    store: Store,
) -> None:
    inbox = _inbox(store)

    async def main() -> tuple[int, list[int | BaseException], int, int]:
        await inbox.deliver(MSG)
        assert store._writer is not None and store._writer.pid is not None
        first = store._writer.pid
        os.kill(first, signal.SIGSTOP)  # holds the next batch
        pending = [asyncio.ensure_future(inbox.deliver(MSG + b"%d" % i)) for i in range(3)]
        await asyncio.sleep(0.2)
        os.kill(first, signal.SIGKILL)
        # (Bounded: a link that forgot them would leave them waiting for ever.)
        outcomes = list(
            await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 30)
        )
        uid = await inbox.deliver(MSG + b"after")
        assert store._writer.pid is not None
        return first, outcomes, uid, store._writer.pid

    first, outcomes, uid, second = asyncio.run(main())
    assert all(isinstance(o, OSError) and o.errno == errno.EIO for o in outcomes), outcomes
    assert second != first
    assert inbox.read(uid) == MSG + b"after"
    assert inbox.uids() == [1, uid]
    # The killed child never wrote them (stopped before it read them).
    again = Store(inbox.path.parent).mailbox("u").folder("INBOX")
    assert [again.read(u) for u in again.uids()] == [MSG, MSG + b"after"]


def test_the_child_outlives_a_ctrl_c_so_the_server_can_finish(store: Store) -> None:
    # SIGINT (a Ctrl-C at the terminal, sent to the whole process group)
    # must not take the writer away from a server that shuts down cleanly.
    inbox = _inbox(store)

    async def main() -> tuple[int, int, int | None]:
        await inbox.deliver(MSG)
        assert store._writer is not None and store._writer.pid is not None
        pid = store._writer.pid
        os.kill(pid, signal.SIGINT)
        await asyncio.sleep(0.3)
        return pid, await inbox.deliver(MSG + b"after"), store._writer.pid

    pid, uid, pid_after = asyncio.run(main())
    assert pid_after == pid  # the same child served it: none was started anew
    assert not _gone(pid)
    assert inbox.read(uid) == MSG + b"after"


def test_the_child_ends_with_its_server(tmp_path: Path) -> None:
    # The child reads from the server's socket: when the server's end goes
    # (closed, or its process killed), the child exits of itself.
    store = Store(tmp_path, sync="filesystem", writer="process")
    inbox = _inbox(store)
    asyncio.run(inbox.deliver(MSG))
    assert store._writer is not None
    link = store._writer._link
    assert link is not None
    pid = link.proc.pid
    link.sock.close()  # as the kernel does for a killed server
    assert wait_for(lambda: link.proc.poll() is not None, 10)
    assert link.proc.returncode == 0
    assert _gone(pid)


def test_store_refuses_a_writer_process_without_filesystem_sync(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match='writer = "process" needs sync = "filesystem"'):
        Store(tmp_path, sync="file", writer="process")
    with pytest.raises(ValueError, match="writer must be one of"):
        Store(tmp_path, sync="filesystem", writer="fork")
    thread = Store(tmp_path, sync="filesystem")
    assert thread.mailbox("u").writer is None


# -- the config ------------------------------------------------------------------------------


def _config(sync: str, writer: str | None) -> str:
    lines = [f'sync = "{sync}"'] + ([f'writer = "{writer}"'] if writer else [])
    return _CONFIG.format(store="\n".join(lines))


def test_config_store_writer() -> None:
    cfg = parse_config(_config("filesystem", "process")).servers[0]
    assert (cfg.store_sync, cfg.store_writer) == ("filesystem", "process")
    assert parse_config(_config("file", None)).servers[0].store_writer == "thread"


@pytest.mark.parametrize(
    ("sync", "writer", "message"),
    [
        ("file", "process", '[store] writer = "process" needs sync = "filesystem"'),
        ("filesystem", "fork", '[store] writer must be one of "thread", "process"'),
    ],
)
def test_config_store_writer_errors_name_the_line(sync: str, writer: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config(sync, writer))
    assert message in str(info.value)
    assert info.value.line == 8


# -- through SMTP ----------------------------------------------------------------------------


def _with_writer_process(text: str) -> str:
    return text.replace(
        "[server.relay]",
        '[server.store]\nsync = "filesystem"\nwriter = "process"\n\n[server.relay]',
    )


def test_smtp_deliveries_through_the_writer_process_and_its_end_with_the_server(
    tmp_path: Path,
) -> None:
    text, _ = demo_config(extra=_with_writer_process)
    with ServerThread(text, tmp_path) as server:
        assert server.server is not None
        store = server.server.sites[A].store
        with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=30) as s:
            for i in range(5):
                s.sendmail("x@stranger.example", [PEPE], MSG + b"smtp %d\r\n" % i)
        files = maildir_files(root(server), PEPE)
        bodies = sorted(p.read_bytes().partition(b"\r\n\r\n")[2] for p in files)
        assert bodies == [b"Hello\r\nsmtp %d\r\n" % i for i in range(5)]
        assert store._writer is not None
        pid = store._writer.pid
        assert pid is not None
    # The server stopped: its writer process is gone.
    assert wait_for(lambda: _gone(pid), 10)
