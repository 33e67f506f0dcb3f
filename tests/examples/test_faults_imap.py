"""Disk faults under IMAP commands: a temporary NO, the session goes on, nothing half-done.

A real ``imaplib`` client drives the reference server while
:func:`tests.examples.fault_support.inject` makes one durable step of the
store fail.  Each test checks the tagged answer (``NO [OVERQUOTA]`` for a
full disk, ``NO [UNAVAILABLE]`` for another I/O error, RFC 5530 §3), that
the session can go on, that the state the client sees matches the disk
(no message file without its record, no record without its file, flags as
the file names say), and, after the fault is lifted, that the command works;
the last test restarts the server and checks UIDVALIDITY, UIDs and flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import imaplib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.examples.fault_support import error_text, inject, leftovers
from tests.examples.test_e2e_support import (
    ANA,
    INFO,
    PASSWORDS,
    A,
    ServerThread,
)
from tests.examples.test_imap_multiappend import multiappend, raw_session

MSG = b"From: a@b.example\r\nSubject: %s\r\n\r\nbody\r\n"


def home(server: ServerThread) -> Path:
    """Ana's Maildir."""
    return server.data_dir / "iesfbmoll.example" / "mail" / ANA


def folder_dir(server: ServerThread, name: str) -> Path:
    """The directory of Ana's folder *name* (ASCII names only)."""
    return home(server) if name == "INBOX" else home(server) / f".{name}"


def files(server: ServerThread, name: str) -> list[str]:
    """Message file names (new/ and cur/) of folder *name*, sorted."""
    d = folder_dir(server, name)
    return sorted(p.name for sub in ("new", "cur") for p in (d / sub).iterdir())


def code(data: list[bytes | None] | list[bytes]) -> str:
    """The response code of a tagged answer's text (``OVERQUOTA``)."""
    first = data[0] if data else b""
    text = first.decode() if isinstance(first, bytes) else ""
    m = re.match(r"\[([A-Z-]+)", text)
    return m.group(1) if m else ""


def state(imap: imaplib.IMAP4, name: str) -> list[tuple[int, str, bytes]]:
    """``(UID, FLAGS, BODY[])`` of every message of *name*, as the server serves them."""
    typ, _ = imap.select(name)
    assert typ == "OK"
    if imap.uid("SEARCH", "ALL")[1] == [b""]:
        return []
    typ, data = imap.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    flags: dict[int, str] = {}
    for item in data:
        assert isinstance(item, bytes)
        m = re.search(rb"UID (\d+)", item)
        f = re.search(rb"FLAGS \(([^)]*)\)", item)
        assert m is not None and f is not None
        # \Recent belongs to the session, not the message (RFC 3501 §2.3.2).
        kept = [x for x in f.group(1).decode().split() if x != "\\Recent"]
        flags[int(m.group(1))] = " ".join(sorted(kept))
    typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
    assert typ == "OK"
    out = []
    for item in data:
        if isinstance(item, tuple):
            m = re.search(rb"UID (\d+)", item[0])
            assert m is not None
            out.append((int(m.group(1)), flags[int(m.group(1))], item[1]))
    assert len(out) == len(flags)
    return sorted(out)


def append(imap: imaplib.IMAP4, name: str, subject: str, flags: str = "") -> tuple[str, str]:
    typ, data = imap.append(name, flags or None, None, MSG % subject.encode())
    return typ, code(data)


def ensure(imap: imaplib.IMAP4, name: str, n: int) -> None:
    """Folder *name* exists and holds at least *n* messages."""
    imap.create(name)
    typ, data = imap.select(name)
    assert typ == "OK"
    for i in range(int(data[0] or 0), n):
        assert append(imap, name, f"{name}-{i}", "(\\Seen)")[0] == "OK"


def consistent(server: ServerThread, imap: imaplib.IMAP4, name: str) -> None:
    """What the server serves for *name* is what its directory holds, nothing more."""
    served = state(imap, name)
    on_disk = files(server, name)
    assert len(served) == len(on_disk)
    # Every served message has its file, and its flags are the file's.
    letters = {"\\Seen": "S", "\\Flagged": "F", "\\Deleted": "T", "\\Answered": "R"}
    for (_, flags, _), fname in zip(served, sorted(on_disk, key=_uid_order(server, name))):
        info = fname.split(":2,", 1)[1] if ":2," in fname else ""
        want = "".join(sorted(letters[f] for f in flags.split() if f in letters))
        assert "".join(c for c in info if c.isupper()) == want, (flags, fname)
    assert leftovers(folder_dir(server, name)) == []


def _uid_order(server: ServerThread, name: str) -> Callable[[str], int]:
    # Files in UID order, from the server's own records.
    assert server.server is not None
    store = server.server.sites[A].store

    async def bases() -> dict[str, int]:
        folder = store.mailbox(ANA).folder(name)
        return {folder.file_path(u).name.split(":2,")[0]: u for u in folder.uids()}

    assert server._loop is not None
    order = asyncio.run_coroutine_threadsafe(bases(), server._loop).result(30)
    return lambda fname: order.get(fname.split(":2,")[0], 1 << 30)


# -- APPEND ---------------------------------------------------------------------------------

# (call, skip): the message file created, written, synced, renamed into cur/;
# the directory synced after the rename (the second fsync); the index record.
APPEND_STEPS = [
    ("open", 0),
    ("writev", 0),
    ("fsync", 0),
    ("rename", 0),
    ("fsync", 1),
    ("write", 0),
]


@pytest.mark.parametrize(("call", "skip"), APPEND_STEPS)
def test_append_fault_is_overquota_and_leaves_nothing(
    server: ServerThread, imap: imaplib.IMAP4, call: str, skip: int
) -> None:
    ensure(imap, "INBOX", 1)
    before = state(imap, "INBOX")
    with inject(call, home(server), skip=skip) as fault:
        assert append(imap, "INBOX", f"app-{call}-{skip}") == ("NO", "OVERQUOTA")
    assert fault.fired == 1
    assert state(imap, "INBOX") == before
    consistent(server, imap, "INBOX")
    typ, data = imap.append("INBOX", None, None, MSG % b"after")
    assert typ == "OK" and code(data) == "APPENDUID"


# The second message's steps (the first message's went through): its file
# created, written, synced, renamed; the directory sync; its index record.
SECOND_MESSAGE_STEPS = [
    ("open", "/tmp/"),
    ("writev", "/tmp/"),
    ("fsync", "/tmp/"),
    ("rename", "/tmp/"),
    ("fsync", "/cur"),
    ("write", "mailproto-index"),
]


@pytest.mark.parametrize(("call", "match"), SECOND_MESSAGE_STEPS)
def test_multiappend_fault_in_a_later_message_appends_none(
    server: ServerThread, imap: imaplib.IMAP4, call: str, match: str
) -> None:
    # RFC 3502 §6.3.11: all of a MULTIAPPEND's messages or none.  The first
    # message is stored, the second fails: the first is taken back.
    ensure(imap, "Multi", 1)
    before = state(imap, "Multi")
    with contextlib.closing(raw_session(server)) as sock:
        with inject(call, home(server), skip=1, match=match) as fault:
            answer = multiappend(
                sock,
                "a",
                "Multi",
                [("\\Seen", None, MSG % b"one"), ("\\Seen", None, MSG % b"two")],
            )
        assert fault.fired == 1, fault.seen
        assert b"a NO [OVERQUOTA]" in answer, answer
    assert state(imap, "Multi") == before
    consistent(server, imap, "Multi")


def test_append_io_error_is_unavailable(server: ServerThread, imap: imaplib.IMAP4) -> None:
    with inject("fsync", home(server), err=errno.EIO) as fault:
        assert append(imap, "INBOX", "eio") == ("NO", "UNAVAILABLE")
    assert fault.fired == 1
    assert imap.noop()[0] == "OK"  # the session goes on


# -- COPY and MOVE --------------------------------------------------------------------------


# The hard link (and the copy it falls back to), the second rename into
# cur/ (the first copy is in place by then), the directory sync, the index.
COPY_STEPS = [(("link", "open"), 0), (("rename",), 1), (("fsync",), 0), (("write",), 0)]


@pytest.mark.parametrize(("call", "skip"), COPY_STEPS)
def test_copy_fault_copies_nothing(
    server: ServerThread, imap: imaplib.IMAP4, call: tuple[str, ...], skip: int
) -> None:
    ensure(imap, "Src", 3)
    ensure(imap, "Dst", 0)
    src, dst = state(imap, "Src"), state(imap, "Dst")
    imap.select("Src")
    with inject(call, folder_dir(server, "Dst"), skip=skip, times=None) as fault:
        typ, data = imap.copy("1:*", "Dst")
    assert fault.fired >= 1
    assert (typ, code(data)) == ("NO", "OVERQUOTA")
    assert state(imap, "Src") == src
    assert state(imap, "Dst") == dst
    consistent(server, imap, "Dst")
    imap.select("Src")
    typ, _ = imap.copy("1:*", "Dst")
    assert typ == "OK"
    assert len(state(imap, "Dst")) == len(dst) + len(src)


def test_move_fault_in_the_expunge_keeps_one_copy(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    # The copy succeeds, removing the sources fails: the messages must stay
    # where they were and only there (before the fix: in both folders).
    ensure(imap, "MvSrc", 2)
    ensure(imap, "MvDst", 0)
    src, dst = state(imap, "MvSrc"), state(imap, "MvDst")
    imap.select("MvSrc")
    with inject("unlink", folder_dir(server, "MvSrc")) as fault:
        typ, data = imap.uid("MOVE", "1:*", "MvDst")
    assert fault.fired == 1
    assert (typ, code(data)) == ("NO", "OVERQUOTA")
    assert state(imap, "MvSrc") == src
    assert state(imap, "MvDst") == dst
    consistent(server, imap, "MvSrc")
    consistent(server, imap, "MvDst")
    imap.select("MvSrc")
    typ, _ = imap.uid("MOVE", "1:*", "MvDst")
    assert typ == "OK"
    assert state(imap, "MvSrc") == []
    assert len(state(imap, "MvDst")) == len(src)


# -- STORE, EXPUNGE, compaction -------------------------------------------------------------


@pytest.mark.parametrize("call", ["rename", "write"])
def test_store_fault_keeps_flags_and_files_in_step(
    server: ServerThread, imap: imaplib.IMAP4, call: str
) -> None:
    ensure(imap, "Flags", 3)
    before = state(imap, "Flags")
    with inject(call, folder_dir(server, "Flags")) as fault:
        typ, data = imap.store("1:*", "+FLAGS", "(\\Flagged)")
    assert fault.fired == 1
    assert typ == "NO" and b"OVERQUOTA" in b" ".join(d for d in data if isinstance(d, bytes))
    # Asked in the same session (SELECT rescans, which would hide a store
    # whose memory and files disagree): no message changed flags, as its
    # file was not renamed (before the fix the first one claimed \Flagged).
    typ, data = imap.fetch("1:*", "(FLAGS)")
    assert typ == "OK"
    assert not any(b"\\Flagged" in d for d in data if isinstance(d, bytes))
    # A rename that failed left its message as it was; memory says the same.
    consistent(server, imap, "Flags")
    after = state(imap, "Flags")
    assert [m[0] for m in after] == [m[0] for m in before]
    imap.select("Flags")
    typ, _ = imap.store("1:*", "-FLAGS", "(\\Flagged)")
    assert typ == "OK"
    assert state(imap, "Flags") == before


def test_expunge_unlink_fault_serves_no_missing_file(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    ensure(imap, "Exp", 3)
    imap.select("Exp")
    imap.store("1:*", "+FLAGS", "(\\Deleted)")
    # The second unlink fails: the first message is gone, the others stay.
    with inject("unlink", folder_dir(server, "Exp"), skip=1) as fault:
        typ, data = imap.expunge()
    assert fault.fired == 1
    assert typ == "NO" and code(data) == "OVERQUOTA"
    # In the same session (SELECT rescans and would hide it): the message
    # whose file is gone is not served any more (before the fix it was
    # listed, with an empty body).
    typ, data = imap.uid("SEARCH", "ALL")
    assert typ == "OK" and len((data[0] or b"").split()) == 2
    typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
    assert typ == "OK"
    assert len([d for d in data if isinstance(d, tuple)]) == 2
    assert all(d[1] for d in data if isinstance(d, tuple))
    consistent(server, imap, "Exp")
    assert len(state(imap, "Exp")) == 2
    imap.select("Exp")
    assert imap.expunge()[0] == "OK"
    assert state(imap, "Exp") == []


def test_expunge_index_fault_still_expunges(server: ServerThread, imap: imaplib.IMAP4) -> None:
    # The files are gone and the directory synced: the expunge happened,
    # whatever the index append says; its record is written later.
    ensure(imap, "Exp2", 2)
    imap.select("Exp2")
    imap.store("1", "+FLAGS", "(\\Deleted)")
    with inject("write", folder_dir(server, "Exp2")) as fault:
        typ, _ = imap.expunge()
    assert fault.fired == 1
    assert typ == "OK"
    index = folder_dir(server, "Exp2") / "mailproto-index"
    assert not re.search(r"^X ", index.read_text(), re.M)
    # The next rescan (this SELECT) writes the record held back.
    consistent(server, imap, "Exp2")
    assert len(state(imap, "Exp2")) == 1
    assert re.search(r"^X ", index.read_text(), re.M)


def test_failed_compaction_does_not_fail_the_command(
    server: ServerThread, imap: imaplib.IMAP4, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailserver.maildir import Folder

    ensure(imap, "Compact", 2)
    monkeypatch.setattr(Folder, "COMPACT_SLACK", -100)  # compact at every append
    imap.select("Compact")
    # The STORE's record is appended; the compaction after it (atomic_write:
    # replace) fails.  The flags did change: OK, not NO.
    with inject("replace", folder_dir(server, "Compact")) as fault:
        typ, _ = imap.store("1:*", "+FLAGS", "(\\Answered)")
    assert fault.fired == 1
    assert typ == "OK"
    consistent(server, imap, "Compact")
    assert all("\\Answered" in m[1] for m in state(imap, "Compact"))


def test_select_whose_recent_claim_fails_still_serves_every_message(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    # SELECT moves new/ to cur/ (\Recent, RFC 3501 §2.3.2).  A rename that
    # fails leaves that message in new/; before the fix its record said cur/
    # and the message could no longer be read (an empty body, FETCH NO).
    ensure(imap, "Fresh", 0)
    for i in range(3):
        imap.append("Fresh", None, None, MSG % f"fresh-{i}".encode())
    # (APPEND without flags puts the messages in new/: nobody claimed them.)
    assert len(list((folder_dir(server, "Fresh") / "new").iterdir())) == 3
    imap.select("INBOX")
    with inject("rename", folder_dir(server, "Fresh"), skip=1) as fault:
        typ, _ = imap.select("Fresh")
    assert fault.fired == 1
    assert typ == "OK"
    typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
    assert typ == "OK"
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    assert len(bodies) == 3 and all(b.startswith(b"From: ") for b in bodies)
    consistent(server, imap, "Fresh")


# -- folders and subscriptions --------------------------------------------------------------


def folders(imap: imaplib.IMAP4, command: str = "LIST") -> list[str]:
    typ, data = imap.list() if command == "LIST" else imap.lsub()
    assert typ == "OK"
    return sorted(d.decode().rsplit(" ", 1)[1].strip('"') for d in data if isinstance(d, bytes))


@pytest.mark.parametrize(
    ("call", "skip"), [("mkdir", 0), ("open", 0), ("rename", 0), ("fsync", 0), ("replace", 0)]
)
def test_create_fault_creates_nothing(
    server: ServerThread, imap: imaplib.IMAP4, call: str, skip: int
) -> None:
    name = f"New{call}"
    with inject(call, home(server), skip=skip) as fault:
        typ, data = imap.create(name)
    assert fault.fired == 1
    assert (typ, code(data)) == ("NO", "OVERQUOTA")
    assert name not in folders(imap)
    assert not folder_dir(server, name).exists()
    assert imap.create(name)[0] == "OK"
    assert name in folders(imap)


def test_rename_fault_leaves_no_half_renamed_hierarchy(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    ensure(imap, "Tree", 1)
    ensure(imap, "Tree.Leaf", 1)
    tree, leaf = state(imap, "Tree"), state(imap, "Tree.Leaf")
    imap.select("INBOX")
    with inject("rename", home(server), skip=1) as fault:  # the child's rename
        typ, data = imap.rename("Tree", "Bush")
    assert fault.fired == 1
    assert (typ, code(data)) == ("NO", "OVERQUOTA")
    listed = folders(imap)
    assert "Tree" in listed and "Tree.Leaf" in listed
    assert "Bush" not in listed and "Bush.Leaf" not in listed
    assert state(imap, "Tree") == tree and state(imap, "Tree.Leaf") == leaf
    imap.select("INBOX")
    assert imap.rename("Tree", "Bush")[0] == "OK"
    assert state(imap, "Bush") == tree and state(imap, "Bush.Leaf") == leaf


def test_delete_fault_keeps_the_folder(server: ServerThread, imap: imaplib.IMAP4) -> None:
    ensure(imap, "Doomed", 2)
    before = state(imap, "Doomed")
    imap.select("INBOX")
    only_home = str(home(server).resolve())
    with inject("fsync", home(server), match=lambda p: p == only_home) as fault:
        typ, data = imap.delete("Doomed")
    assert fault.fired == 1
    assert (typ, code(data)) == ("NO", "OVERQUOTA")
    assert "Doomed" in folders(imap)
    assert state(imap, "Doomed") == before
    imap.select("INBOX")
    assert imap.delete("Doomed")[0] == "OK"
    assert "Doomed" not in folders(imap)


def test_subscribe_fault_changes_nothing(server: ServerThread, imap: imaplib.IMAP4) -> None:
    before = folders(imap, "LSUB")
    with inject("writev", home(server), match="mailproto-subscriptions") as fault:
        typ, data = imap.subscribe("Elsewhere")
    assert fault.fired == 1
    assert (typ, code(data)) == ("NO", "OVERQUOTA")
    assert folders(imap, "LSUB") == before
    assert leftovers(home(server)) == []
    assert not [p for p in home(server).glob(".mailproto-subscriptions*")]
    assert imap.subscribe("Elsewhere")[0] == "OK"
    assert "Elsewhere" in folders(imap, "LSUB")


def test_subscription_change_whose_directory_sync_fails_is_ok(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    # The new list is renamed into place, then the account directory's
    # fsync fails: LSUB already shows the change, so the command says OK
    # (atomic_write's UnsyncedWrite).  Before: NO [OVERQUOTA] for a
    # subscription every later LSUB listed.
    only_home = str(home(server).resolve())
    with inject("fsync", home(server), match=lambda p: p == only_home) as fault:
        typ, data = imap.subscribe("Synced")
    assert fault.fired == 1
    assert typ == "OK", data
    assert "Synced" in folders(imap, "LSUB")
    with inject("fsync", home(server), match=lambda p: p == only_home) as fault:
        typ, data = imap.unsubscribe("Synced")
    assert fault.fired == 1
    assert typ == "OK", data
    assert "Synced" not in folders(imap, "LSUB")
    assert leftovers(home(server)) == []
    assert not [p for p in home(server).glob(".mailproto-subscriptions*")]


def test_new_index_whose_directory_sync_fails_is_synced_before_the_next_append(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    # CREATE writes the folder's first index; its directory sync fails
    # after the rename.  The folder and its index are in place, so CREATE
    # is OK (before: NO, and the folder taken back) — and the sync is owed:
    # the first append syncs the directory before writing a record, and
    # when that fails too the APPEND fails cleanly.
    name = "Unsynced"
    target = str(folder_dir(server, name).resolve())
    with inject("fsync", home(server), times=2, match=lambda p: p == target) as fault:
        typ, data = imap.create(name)
        assert typ == "OK", data
        assert fault.fired == 1
        assert name in folders(imap)
        assert append(imap, name, "owed-sync") == ("NO", "OVERQUOTA")
        assert fault.fired == 2
        consistent(server, imap, name)
        assert state(imap, name) == []
        assert append(imap, name, "owed-sync")[0] == "OK"
    assert fault.fired == 2
    consistent(server, imap, name)
    assert [body for _, _, body in state(imap, name)] == [MSG % b"owed-sync"]


def test_first_login_on_a_full_disk_is_no_and_loses_no_subscription(
    server: ServerThread,
) -> None:
    # Informacion's mailbox has never been opened: the first login creates
    # it.  With the disk full it answers NO [OVERQUOTA] (AUTHENTICATE used
    # to escape the session and drop the connection), the session goes on,
    # and once the disk is back the account is complete: before the fix a
    # first open that failed after making cur/ never subscribed INBOX.
    info_home = server.data_dir / "iesfbmoll.example" / "mail" / INFO
    assert not info_home.exists()
    client = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=20)
    password = PASSWORDS[INFO]
    with inject("replace", info_home, times=None) as fault:
        with pytest.raises(imaplib.IMAP4.error) as info:
            client.authenticate("PLAIN", lambda _: f"\0{INFO}\0{password}".encode())
        assert b"OVERQUOTA" in error_text(info.value)
        with pytest.raises(imaplib.IMAP4.error) as info:
            client.login(INFO, password)
        assert b"OVERQUOTA" in error_text(info.value)
    assert fault.fired >= 2
    assert client.noop()[0] == "OK"
    # Now the special folders: the subscription list cannot be rewritten
    # after the first special folder is subscribed (before the fix: created
    # and left unsubscribed for good).
    with (
        inject("replace", info_home, skip=1, times=None) as fault,
        pytest.raises(imaplib.IMAP4.error) as info,
    ):
        client.login(INFO, password)
    assert b"OVERQUOTA" in error_text(info.value)
    assert fault.fired >= 1
    client.login(INFO, password)
    assert {"INBOX", "Sent", "Drafts", "Trash", "Junk"} <= set(folders(client, "LSUB"))
    client.logout()


def test_fetch_whose_implicit_seen_fails_still_serves_the_message(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    # FETCH BODY[] sets \Seen (RFC 9051 §6.4.5): a rename of the file.  On
    # a full disk that rename fails; the message is served all the same (a
    # user must be able to read mail, and delete some, on a full disk),
    # without \Seen, and nothing changes on disk.  Before: NO [OVERQUOTA]
    # and no data, for every unseen message.
    imap.create("Unread")
    for i in range(2):
        assert append(imap, "Unread", f"unread-{i}")[0] == "OK"
    before = state(imap, "Unread")
    imap.select("Unread")
    with inject("rename", folder_dir(server, "Unread"), times=None) as fault:
        typ, data = imap.fetch("1:2", "(BODY[])")
    assert fault.fired == 1  # tried once, not for every message
    assert typ == "OK", data
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    assert bodies == [MSG % b"unread-0", MSG % b"unread-1"]
    assert not any(b"\\Seen" in d[0] for d in data if isinstance(d, tuple))
    consistent(server, imap, "Unread")
    assert state(imap, "Unread") == before  # nothing changed
    imap.select("Unread")
    typ, data = imap.fetch("1", "(BODY[] FLAGS)")
    assert typ == "OK" and b"\\Seen" in b" ".join(d[0] for d in data if isinstance(d, tuple))
    consistent(server, imap, "Unread")


def test_close_whose_expunge_fails_still_leaves_the_mailbox(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    # CLOSE answers OK or BAD only (RFC 9051 §6.4.1): a failing unlink leaves
    # the message \Deleted for a later expunge, and the session is in the
    # authenticated state all the same (it stayed selected, with NO).
    ensure(imap, "Closing", 2)
    imap.select("Closing")
    imap.store("1", "+FLAGS", "(\\Deleted)")
    with inject("unlink", folder_dir(server, "Closing")) as fault:
        typ, data = imap.close()
    assert fault.fired == 1
    assert typ == "OK", data
    # The server's state, not imaplib's: FETCH is refused out of SELECTED.
    imap.send(b"x1 FETCH 1 (FLAGS)\r\n")
    assert imap.readline().startswith(b"x1 BAD")
    consistent(server, imap, "Closing")
    served = state(imap, "Closing")
    assert len(served) == 2 and "\\Deleted" in served[0][1]
    imap.select("Closing")
    assert imap.close()[0] == "OK"
    assert len(state(imap, "Closing")) == 1


def test_rename_inbox_that_fails_leaves_no_new_folder(
    server: ServerThread, imap: imaplib.IMAP4
) -> None:
    # RENAME INBOX moves its messages into a new folder (RFC 9051 §6.3.6).
    # A copy that fails leaves INBOX as it was and no new folder behind (a
    # retry found it and failed with ALREADYEXISTS).
    for i in range(2):
        assert append(imap, "INBOX", f"inbox-{i}")[0] == "OK"
    before = state(imap, "INBOX")
    # The copy's rename into the new folder's cur/ (not the folder's creation).
    with inject("rename", home(server) / ".Archived", match="/cur/") as fault:
        typ, data = imap.rename("INBOX", "Archived")
    assert fault.fired >= 1
    assert typ == "NO" and code(data) == "OVERQUOTA", data
    assert "Archived" not in folders(imap, "LIST")
    assert state(imap, "INBOX") == before
    assert imap.rename("INBOX", "Archived")[0] == "OK"
    assert [m[1:] for m in state(imap, "Archived")] == [m[1:] for m in before]
    assert state(imap, "INBOX") == []


# -- after a restart ------------------------------------------------------------------------


def test_state_survives_a_restart(server: ServerThread) -> None:
    # Last in the module: every folder serves the same UIDVALIDITY, UIDs,
    # flags and contents after a restart on the same data.
    names = [
        "INBOX",
        "Src",
        "Dst",
        "MvSrc",
        "MvDst",
        "Flags",
        "Exp",
        "Exp2",
        "Compact",
        "Bush",
        "Unread",
    ]
    client = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=20)
    client.login(ANA, PASSWORDS[ANA])
    before = {n: (_uidvalidity(client, n), state(client, n)) for n in names}
    client.logout()
    server.stop()
    again = ServerThread(server.config_text, server.data_dir)
    with again:
        client = imaplib.IMAP4("127.0.0.1", again.port(A, "imap"), timeout=20)
        client.login(ANA, PASSWORDS[ANA])
        after = {n: (_uidvalidity(client, n), state(client, n)) for n in names}
        client.logout()
    assert after == before


def _uidvalidity(imap: imaplib.IMAP4, name: str) -> int:
    typ, data = imap.status(name, "(UIDVALIDITY)")
    assert typ == "OK"
    m = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
    assert m is not None
    return int(m.group(1))
