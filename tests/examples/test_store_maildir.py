"""The Maildir store: layout, UIDs, flags, folders, safety, crash recovery."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailproto.codecs import imap_utf7
from mailserver.maildir import (
    TORN_MARK,
    Change,
    Folder,
    FolderNameError,
    MailboxLocked,
    Store,
    UnsyncedWrite,
    atomic_write,
    validate_folder_name,
)
from tests.examples.fault_support import inject

MSG = b"From: a@example.org\r\nSubject: test\r\n\r\nHello\r\n"


def _files(folder_path: Path) -> list[str]:
    return sorted(
        [f"new/{n}" for n in os.listdir(folder_path / "new")]
        + [f"cur/{n}" for n in os.listdir(folder_path / "cur")]
    )


def test_layout_and_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path)
    box = store.mailbox("u@example.org")
    inbox = box.folder("INBOX")
    uid = inbox.append(MSG)
    assert uid == 1
    assert inbox.read(uid) == MSG
    info = inbox.get(uid)
    assert info is not None
    assert info.size == len(MSG)
    assert info.flags == frozenset()
    # Standard Maildir: tmp/new/cur, the file in cur (APPEND is not "new" mail).
    root = tmp_path / "u@example.org"
    assert {"tmp", "new", "cur"} <= set(os.listdir(root))
    assert os.listdir(root / "tmp") == []
    # Special-use folders exist as Maildir++ folders with maildirfolder files.
    for name in ("Sent", "Drafts", "Trash", "Junk"):
        assert (root / f".{name}" / "maildirfolder").exists()
        assert (root / f".{name}" / "cur").is_dir()
    names = {f.name: f.special_use for f in box.list_folders()}
    assert names == {
        "INBOX": None,
        "Drafts": "\\Drafts",
        "Sent": "\\Sent",
        "Trash": "\\Trash",
        "Junk": "\\Junk",
    }


def test_delivery_goes_to_new_and_recent_is_claimed_once(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    name = inbox.stage(MSG, delivery_id="Q1")
    assert (inbox.path / "new" / name).read_bytes() == MSG
    uid = inbox.register(name)
    assert inbox.has_delivery("Q1")
    assert inbox.recent_count() == 1
    assert inbox.claim_recent() == frozenset({uid})
    assert inbox.claim_recent() == frozenset()
    assert inbox.recent_count() == 0
    assert os.listdir(inbox.path / "new") == []
    assert inbox.read(uid) == MSG


def test_uids_persist_across_reopen(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uids = [inbox.append(MSG + str(i).encode()) for i in range(5)]
    inbox.store_flags([uids[1]], ["\\Seen", "work"], "add")
    inbox.store_flags([uids[2]], ["\\Deleted"], "add")
    assert inbox.expunge() == [uids[2]]
    validity, nxt, hms = inbox.uidvalidity, inbox.uidnext, inbox.highestmodseq

    again = Store(tmp_path).mailbox("u").folder("INBOX")
    assert again.uidvalidity == validity
    assert again.uidnext == nxt == 6
    assert again.highestmodseq == hms
    assert again.uids() == [1, 2, 4, 5]
    info = again.get(2)
    assert info is not None
    assert info.flags == frozenset({"\\Seen", "work"})
    for uid in again.uids():
        assert again.read(uid) == MSG + str(uid - 1).encode()
    # A new message after reopen continues the sequence; expunged UIDs are never reused.
    assert again.append(MSG) == 6


def test_uidnext_survives_expunging_the_last_message(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG)
    inbox.remove([uid])
    assert Store(tmp_path).mailbox("u").folder("INBOX").append(MSG) == uid + 1


def test_flags_live_in_file_names(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG)
    result = inbox.store_flags(
        [uid], ["\\Seen", "\\Answered", "\\Flagged", "\\Draft", "$Forwarded"], "set"
    )
    assert [m.uid for m in result.changed] == [uid]
    (name,) = os.listdir(inbox.path / "cur")
    assert name.endswith(":2,DFPRS")
    inbox.store_flags([uid], ["\\Deleted"], "add")
    (name,) = os.listdir(inbox.path / "cur")
    assert name.endswith(":2,DFPRST")
    inbox.store_flags([uid], ["\\Seen", "\\Deleted"], "remove")
    (name,) = os.listdir(inbox.path / "cur")
    assert name.endswith(":2,DFPR")
    info = inbox.get(uid)
    assert info is not None
    assert info.flags == {"\\Answered", "\\Flagged", "\\Draft", "$Forwarded"}


def test_keywords_map_to_letters_and_persist(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG, flags=["Work", "$Label1"])
    (name,) = os.listdir(inbox.path / "cur")
    assert name.endswith(":2,ab")
    assert set(inbox.keywords) == {"Work", "$Label1"}
    # Keywords compare case-insensitively (RFC 3501 flags).
    inbox.store_flags([uid], ["work"], "remove")
    info = inbox.get(uid)
    assert info is not None
    assert info.flags == {"$Label1"}
    again = Store(tmp_path).mailbox("u").folder("INBOX")
    info = again.get(uid)
    assert info is not None
    assert info.flags == {"$Label1"}
    with pytest.raises(ValueError):
        inbox.store_flags([uid], ["bad(keyword"], "add")
    with pytest.raises(ValueError):
        inbox.store_flags([uid], ["\\Bogus"], "add")


def test_keyword_table_is_bounded(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG)
    inbox.store_flags([uid], [f"k{i}" for i in range(26)], "add")
    assert not inbox.can_add_keywords
    inbox.store_flags([uid], ["one-too-many"], "add")
    info = inbox.get(uid)
    assert info is not None
    assert "one-too-many" not in info.flags
    assert len(info.flags) == 26


def test_modseq_condstore_and_vanished(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    a, b, c = (inbox.append(MSG) for _ in range(3))
    base = inbox.highestmodseq
    res = inbox.store_flags([a, b], ["\\Seen"], "add")
    assert {m.uid for m in res.changed} == {a, b}
    assert {m.modseq for m in res.changed} == {base + 1}
    assert inbox.highestmodseq == base + 1
    # Setting the same flags again changes nothing and takes no modseq.
    assert inbox.store_flags([a], ["\\Seen"], "add").changed == ()
    assert inbox.highestmodseq == base + 1
    # UNCHANGEDSINCE: a (modseq base+1) is above base and is refused.
    res = inbox.store_flags([a, c], ["\\Flagged"], "add", unchangedsince=base)
    assert res.modified == (a,)
    assert [m.uid for m in res.changed] == [c]
    assert [m.uid for m in inbox.changed_since(base)] == [a, b, c]
    assert [m.uid for m in inbox.changed_since(base + 1)] == [c]
    before = inbox.highestmodseq
    inbox.remove([b])
    assert inbox.vanished_since(before) == [b]
    assert inbox.vanished_since(inbox.highestmodseq) == []
    again = Store(tmp_path).mailbox("u").folder("INBOX")
    assert again.vanished_since(before) == [b]


def test_copy_and_move(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    inbox, archive = box.folder("INBOX"), box.create_folder("Archive")
    uid = inbox.append(MSG, flags=["\\Seen", "project"])
    pairs = inbox.copy([uid, 999], archive)
    assert len(pairs) == 1
    src, dst = pairs[0]
    assert src == uid
    assert archive.read(dst) == MSG
    info = archive.get(dst)
    assert info is not None
    assert info.flags == {"\\Seen", "project"}
    moved = inbox.move([uid], archive)
    assert inbox.uids() == []
    assert archive.read(moved[0][1]) == MSG
    assert len(archive) == 2


def test_maildirpp_folders(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    box.create_folder("Projects")
    box.create_folder("Projects.2024")
    folder = box.folder("Projects.2024")
    uid = folder.append(MSG)
    assert (tmp_path / "u" / ".Projects.2024" / "maildirfolder").exists()
    infos = {f.name: f for f in box.list_folders()}
    assert infos["Projects"].has_children
    assert not infos["Projects.2024"].has_children
    with pytest.raises(FileExistsError):
        box.create_folder("Projects")
    box.rename_folder("Projects", "Work")
    assert not box.exists("Projects")
    assert not box.exists("Projects.2024")
    assert box.folder("Work.2024").read(uid) == MSG
    # Deleting a parent keeps its children; the level stays, not selectable.
    box.create_folder("Work.2024.Q1")
    box.delete_folder("Work.2024")
    infos = {f.name: f for f in box.list_folders()}
    assert not infos["Work.2024"].selectable
    assert infos["Work.2024"].has_children
    assert infos["Work.2024.Q1"].selectable
    box.delete_folder("Work.2024.Q1")
    assert "Work.2024" not in {f.name for f in box.list_folders()}
    assert not box.exists("Work.2024")
    assert not (tmp_path / "u" / ".Work.2024").exists()
    with pytest.raises(FolderNameError):
        box.delete_folder("INBOX")
    with pytest.raises(KeyError):
        box.folder("Nope")


def test_rename_inbox_moves_messages(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    box.folder("INBOX").append(MSG)
    box.rename_folder("INBOX", "Old")
    assert len(box.folder("INBOX")) == 0
    assert len(box.folder("Old")) == 1


def test_uidvalidity_differs_when_a_folder_is_recreated(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    first = box.create_folder("X").uidvalidity
    box.delete_folder("X")
    assert box.create_folder("X").uidvalidity != first


def test_delete_keeps_the_subscription(tmp_path: Path) -> None:
    # RFC 9051 §6.3.7: never removed from the subscription list unilaterally.
    box = Store(tmp_path).mailbox("u")
    box.create_folder("Gone")
    box.subscribe("Gone")
    box.delete_folder("Gone")
    assert not box.exists("Gone")
    assert "Gone" in Store(tmp_path).mailbox("u").subscriptions()


def test_subscriptions(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    assert "INBOX" in box.subscriptions()
    box.subscribe("Later")  # need not exist (RFC 3501 §6.3.6)
    assert "Later" in Store(tmp_path).mailbox("u").subscriptions()
    box.unsubscribe("Later")
    assert "Later" not in box.subscriptions()
    with pytest.raises(KeyError):
        box.unsubscribe("Later")


def test_atomic_write_tells_a_failure_before_the_rename_from_one_after(tmp_path: Path) -> None:
    target = tmp_path / "state"
    atomic_write(target, b"one\n")
    # Before the rename: a plain OSError, the old contents stay.
    with inject("replace", tmp_path) as fault, pytest.raises(OSError) as info:
        atomic_write(target, b"two\n")
    assert fault.fired == 1
    assert not isinstance(info.value, UnsyncedWrite)
    assert target.read_bytes() == b"one\n"
    # After it (the directory's fsync): UnsyncedWrite, the new contents are there.
    here = str(tmp_path.resolve())
    with (
        inject("fsync", tmp_path, match=lambda p: p == here) as fault,
        pytest.raises(UnsyncedWrite) as unsynced,
    ):
        atomic_write(target, b"three\n")
    assert fault.fired == 1
    assert unsynced.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"three\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]


def test_unsynced_uidvalidity_counter_is_not_handed_out(tmp_path: Path) -> None:
    # The counter must be durable before a folder gets its value (a crash
    # rolling it back could hand the value out again): a directory sync
    # failing after the counter's rename fails CREATE, and the next
    # UIDVALIDITY is above the one written.
    box = Store(tmp_path).mailbox("u")
    here = str(box.path.resolve())
    counter = int((box.path / "mailproto-uidvalidity").read_text())
    with (
        inject("fsync", box.path, match=lambda p: p == here, skip=1) as fault,
        pytest.raises(UnsyncedWrite),
    ):
        box.create_folder("Later")
    assert fault.fired == 1
    assert not box.exists("Later")
    written = int((box.path / "mailproto-uidvalidity").read_text())
    assert written > counter
    assert box.create_folder("Later").uidvalidity > written


def _sync_owed(folder: Folder) -> bool:
    # (A function: mypy would narrow the attribute across the asserts.)
    return folder._group.name_unsynced


def test_index_replaced_without_directory_sync_owes_the_sync(tmp_path: Path) -> None:
    # A compaction's rename happens, the directory sync fails: the
    # compacted index is in place and the change stands, and the next
    # append syncs the directory before writing (failing, unwritten, when
    # that sync fails again).
    box = Store(tmp_path).mailbox("u")
    folder = box.folder("INBOX")
    first = folder.append(MSG)
    here = str(folder.path.resolve())
    with inject("fsync", folder.path, match=lambda p: p == here, times=2) as fault:
        folder._compact()
        assert fault.fired == 1
        assert _sync_owed(folder)
        with pytest.raises(OSError):
            folder.append(MSG)
        assert fault.fired == 2
        assert folder.uids() == [first]
        assert _files(folder.path) == [f"new/{folder.file_path(first).name}"]
        index = (folder.path / "mailproto-index").read_bytes()
        assert index.count(b"\nA ") == 1  # nothing appended past the failed sync
    assert _sync_owed(folder)
    second = folder.append(MSG)
    assert not _sync_owed(folder)
    again = Store(tmp_path).mailbox("u").folder("INBOX")
    assert again.uids() == [first, second]
    assert again.uidvalidity == folder.uidvalidity


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        "../other",
        "a..b",
        ".hidden",
        "trailing.",
        "/etc/passwd",
        "a/b",
        "~root",
        "a\x00b",
        "tab\there",
        "new\nline",
        "c1\x85control",
        "del\x7f",
        "surrogate\udcff",
        "back\\slash",
        "wild*",
        "wild%",
        "INBOX.child",
        "x" * 300,
        "é" * 100,  # 200 bytes of UTF-8, but a 269-character directory name
        "&" * 128,  # ".&-&-...": 257 characters
        "aé" * 45,  # 135 bytes of UTF-8, 270 characters encoded
    ],
)
def test_traversal_and_bad_names_refused(tmp_path: Path, name: str) -> None:
    box = Store(tmp_path).mailbox("u")
    with pytest.raises(FolderNameError):
        validate_folder_name(name)
    with pytest.raises(FolderNameError):
        box.create_folder(name)
    assert not box.exists(name)


# Names that exercise the modified UTF-7 mapping: "&", the separator,
# non-ASCII from the BMP and beyond, base64's own letters next to them.
_TRICKY = st.text(alphabet=st.sampled_from("aZ0&-+,. é日😀\u00a0~"), min_size=1, max_size=40)


def test_any_name_stays_inside_the_account(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")

    @settings(max_examples=60, deadline=None)
    @given(name=st.one_of(st.text(min_size=1, max_size=40), _TRICKY))
    def check(name: str) -> None:
        try:
            folder = box.create_folder(name)
        except (FolderNameError, FileExistsError):
            return
        assert folder.path.resolve().parent == (tmp_path / "u").resolve()
        # One component: "." + the modified UTF-7 name, nothing else.
        assert folder.path.name == "." + imap_utf7.encode(name)
        assert folder.path.name.isascii()
        assert box.exists(name)
        # Round trip: the directory lists back as the name, also for a new
        # process reading the disk.
        assert name in {f.name for f in box.list_folders() if f.selectable}
        fresh = Store(tmp_path).mailbox("u")
        assert name in {f.name for f in fresh.list_folders() if f.selectable}
        assert fresh.folder(name).path == folder.path
        box.delete_folder(folder.name)
        assert name not in {f.name for f in box.list_folders()}

    check()


def test_folder_names_are_modified_utf7_on_disk(tmp_path: Path) -> None:
    # RFC 3501 §5.1.3 (and its example "&ZeVnLIqe-" for 日本語); Maildir++
    # keeps "." as the separator between encoded levels.
    root = tmp_path / "u"
    box = Store(tmp_path).mailbox("u")
    for name in ("Café", "R&D", "日本語", "日本語.2024", "Ünï.cödé"):
        box.create_folder(name)
    uid = box.folder("日本語.2024").append(MSG)
    dirs = {p.name for p in root.iterdir() if p.is_dir()}
    assert {
        ".Caf&AOk-",
        ".R&-D",
        ".&ZeVnLIqe-",
        ".&ZeVnLIqe-.2024",
        ".&ANw-n&AO8-.c&APY-d&AOk-",
    } <= dirs
    assert not any(not d.isascii() for d in dirs)
    infos = {f.name: f for f in box.list_folders()}
    assert {"Café", "R&D", "日本語", "日本語.2024", "Ünï.cödé"} <= set(infos)
    assert infos["日本語"].has_children and infos["日本語.2024"].selectable
    # The parent level of a folder whose parent was never created is listed.
    assert "Ünï" in infos and not infos["Ünï"].selectable
    # Rename moves the children too, each to its encoded directory.
    box.subscribe("日本語")
    box.rename_folder("日本語", "Straße")
    assert box.folder("Straße.2024").read(uid) == MSG
    assert (root / ".Stra&AN8-e.2024" / "cur").is_dir()
    assert not (root / ".&ZeVnLIqe-.2024").exists()
    # The subscription list holds IMAP names (UTF-8 text), not directories.
    assert "Straße" in box.subscriptions()
    text = (root / "mailproto-subscriptions").read_text("utf-8")
    assert "Straße\n" in text and "&" not in text
    box.delete_folder("Café")
    assert not (root / ".Caf&AOk-").exists()
    assert not box.exists("Café")


def _maildir_folder(path: Path) -> None:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True)
    (path / "maildirfolder").touch()


def test_folders_made_by_other_servers_are_listed(tmp_path: Path) -> None:
    # What Dovecot or Courier create on the same Maildir: canonical modified UTF-7.
    root = tmp_path / "u"
    box = Store(tmp_path).mailbox("u")
    _maildir_folder(root / ".Ni&APE-o")
    (root / ".Ni&APE-o" / "new" / "1.M1P1.host,S=5").write_bytes(b"x\r\n\r\n")
    _maildir_folder(root / ".Ni&APE-o.&ZeVnLIqe-")
    names = {f.name for f in box.list_folders()}
    assert {"Niño", "Niño.日本語"} <= names
    assert box.folder("Niño").path == root / ".Ni&APE-o"
    assert len(box.folder("Niño")) == 1


def test_directories_that_are_not_folder_names_are_not_listed(tmp_path: Path) -> None:
    root = tmp_path / "u"
    Store(tmp_path).mailbox("u")
    bad = [
        ".a&AAk-b",  # decodes to "a<TAB>b": refused name
        ".&AC4ALg-x",  # unchanged when it has no maildirfolder file
        ".INBOX",  # the root is INBOX
        ".x&AH8-",  # decodes to "x<DEL>": refused name
        ".inbox",  # INBOX in any case
    ]
    for name in bad:
        _maildir_folder(root / name)
    (root / ".&AC4ALg-x" / "maildirfolder").unlink()
    box = Store(tmp_path).mailbox("u")  # opening migrates nothing of these
    assert sorted(f.name for f in box.list_folders()) == [
        "Drafts",
        "INBOX",
        "Junk",
        "Sent",
        "Trash",
    ]
    for name in bad:
        assert (root / name / "cur").is_dir(), name


def test_legacy_utf8_directories_are_migrated(tmp_path: Path) -> None:
    # Earlier versions stored ".Café"; opening the account renames it to the
    # modified UTF-7 directory, keeping the index (UIDVALIDITY, UIDs, flags).
    root = tmp_path / "u"
    box = Store(tmp_path).mailbox("u")
    cafe = box.create_folder("Café")
    uid = cafe.append(MSG, flags=["\\Seen", "work"])
    uidvalidity = cafe.uidvalidity
    box.create_folder("Café.2024")
    box.create_folder("R&D")
    # Write the layout of the older version by hand.
    os.rename(root / ".Caf&AOk-", root / ".Café")
    os.rename(root / ".Caf&AOk-.2024", root / ".Café.2024")
    os.rename(root / ".R&-D", root / ".R&D")
    # A non-canonical but decodable encoding from another tool: "aé".
    _maildir_folder(root / ".&AGEA6Q-")
    # Not a folder (no maildirfolder): left alone.
    (root / ".Thé" / "cur").mkdir(parents=True)

    box = Store(tmp_path).mailbox("u")
    dirs = {p.name for p in root.iterdir() if p.is_dir()}
    assert {".Caf&AOk-", ".Caf&AOk-.2024", ".R&-D", ".a&AOk-", ".Thé"} <= dirs
    assert not {".Café", ".Café.2024", ".R&D", ".&AGEA6Q-"} & dirs
    names = {f.name for f in box.list_folders()}
    assert {"Café", "Café.2024", "R&D", "aé"} <= names
    assert "Thé" not in names
    folder = box.folder("Café")
    assert folder.uidvalidity == uidvalidity
    assert folder.read(uid) == MSG
    assert folder.messages()[0].flags == {"\\Seen", "work"}


def test_legacy_directory_is_not_merged_into_an_existing_one(tmp_path: Path) -> None:
    root = tmp_path / "u"
    box = Store(tmp_path).mailbox("u")
    box.create_folder("Café").append(MSG)
    _maildir_folder(root / ".Café")
    (root / ".Café" / "new" / "1.M1P1.host,S=5").write_bytes(b"x\r\n\r\n")
    box = Store(tmp_path).mailbox("u")
    assert [f.name for f in box.list_folders()].count("Café") == 1
    assert len(box.folder("Café")) == 1
    assert box.folder("Café").read(box.folder("Café").uids()[0]) == MSG
    # Both kept: merging two folders is left to a human.
    assert (root / ".Café" / "new" / "1.M1P1.host,S=5").exists()


def test_longest_names_fit_one_directory_component(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    # 254 encoded characters + "." is NAME_MAX (255): allowed and creatable.
    for name in ("&" * 127, "é" * 94, "x" * 200):
        assert len(imap_utf7.encode(name)) <= 254, name
        assert box.create_folder(name).path.is_dir()
        assert name in {f.name for f in box.list_folders()}
    for name in ("&" * 128, "é" * 95):  # one character more: 256 encoded
        with pytest.raises(FolderNameError):
            box.create_folder(name)


def test_bad_account_names_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for bad in ("", "../x", ".x", "a/b"):
        with pytest.raises(FolderNameError):
            store.mailbox(bad)


def test_external_files_get_uids_and_vanish(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG)
    # Another MDA drops a file into new/; a user deletes ours by hand.
    (inbox.path / "new" / "1700000000.external.host").write_bytes(b"Subject: x\r\n\r\n")
    inbox.file_path(uid).unlink()
    changes: list[Change] = []
    inbox._mailbox.watch(changes.append)
    change = inbox.rescan()
    assert change is not None
    assert change.expunged == (uid,)
    assert change.added == (uid + 1,)
    assert changes == [change]
    info = inbox.get(uid + 1)
    assert info is not None
    assert info.size == len(b"Subject: x\r\n\r\n")


def test_watchers_see_every_change(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    seen: list[Change] = []
    cancel = box.watch(seen.append)
    inbox = box.folder("INBOX")
    uid = inbox.append(MSG)
    inbox.store_flags([uid], ["\\Deleted"], "add")
    inbox.expunge()
    assert [(c.added, c.flags, c.expunged) for c in seen] == [
        ((uid,), (), ()),
        ((), (uid,), ()),
        ((), (), (uid,)),
    ]
    assert all(c.folder == "INBOX" for c in seen)
    assert seen[-1].modseq == inbox.highestmodseq
    cancel()
    inbox.append(MSG)
    assert len(seen) == 3


def test_pop3_lock_is_exclusive_and_commits_at_update(tmp_path: Path) -> None:
    store = Store(tmp_path)
    box = store.mailbox("u")
    inbox = box.folder("INBOX")
    uids = [inbox.append(MSG + bytes([65 + i])) for i in range(3)]
    seen: list[Change] = []
    box.watch(seen.append)
    lock = box.pop3_lock()

    def locked() -> bool:
        return box.pop3_locked

    assert locked()
    with pytest.raises(MailboxLocked):
        box.pop3_lock()
    # Another Store (another process's view) is excluded too: flock.
    with pytest.raises(MailboxLocked):
        Store(tmp_path).mailbox("u").pop3_lock()
    # IMAP may not expunge INBOX under POP3's feet (NO [INUSE]) ...
    inbox.store_flags([uids[0]], ["\\Deleted"], "add")
    with pytest.raises(MailboxLocked):
        inbox.expunge()
    with pytest.raises(MailboxLocked):
        inbox.move([uids[1]], box.folder("Trash"))
    assert len(box.folder("Trash")) == 0  # nothing copied either
    # ... but deliveries go on, unseen by the POP3 snapshot.
    inbox.append(MSG)
    assert len(lock.messages) == 3
    assert lock.read(1) == MSG + b"B"
    seen.clear()
    assert lock.commit([0, 2]) == [uids[0], uids[2]]
    # IMAP learns of POP3's deletions at the end of the POP3 session only.
    assert [c.expunged for c in seen] == [(uids[0], uids[2])]
    assert not locked()
    box.pop3_lock().release()


def test_index_compaction_keeps_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Folder, "COMPACT_SLACK", 50)
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG)
    for i in range(120):
        inbox.store_flags([uid], ["\\Seen"], "add" if i % 2 == 0 else "remove")
    lines = (inbox.path / "mailproto-index").read_text().splitlines()
    assert len(lines) < 100  # compacted at least once
    hms = inbox.highestmodseq
    again = Store(tmp_path).mailbox("u").folder("INBOX")
    assert again.highestmodseq == hms
    assert again.uids() == [uid]


# -- crashes -------------------------------------------------------------------------


def test_partial_index_line_is_dropped(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG)
    with open(inbox.path / "mailproto-index", "ab") as f:
        f.write(b"M 1 9")  # a crash in the middle of an append
    again = Store(tmp_path).mailbox("u").folder("INBOX")
    assert again.uids() == [uid]
    assert (again.path / "mailproto-index").read_bytes().endswith(b"\n")
    assert again.append(MSG) == uid + 1


def test_file_renamed_but_not_logged_gets_a_uid(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    inbox.append(MSG)
    name = inbox.stage(MSG, delivery_id="Q7")  # crash before register()
    again = Store(tmp_path).mailbox("u").folder("INBOX")
    assert again.uids() == [1, 2]
    assert again.has_delivery("Q7")
    assert again.read(2) == MSG
    assert name.startswith(again.messages()[1].key)


def test_failure_between_steps_leaves_nothing_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")

    def boom(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(OSError):
        inbox.append(MSG)
    monkeypatch.undo()
    assert _files(inbox.path) == []
    assert os.listdir(inbox.path / "tmp") == []
    assert inbox.uids() == []


_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from mailserver.maildir import Store
    inbox = Store(sys.argv[1]).mailbox("u").folder("INBOX")
    body = b"x" * 200_000
    i = 0
    while True:
        inbox.append(b"Subject: %d\\r\\n\\r\\n" % i + body, delivery_id="D%d" % i)
        print(i, flush=True)   # acknowledged: durable
        i += 1
    """
)


@pytest.mark.slow
def test_sigkill_mid_delivery_loses_nothing_acknowledged(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path), str(examples)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    acked: list[int] = []
    deadline = time.monotonic() + 90  # a slow disk's fsyncs
    while len(acked) < 15 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acked.append(int(line))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(acked) >= 15
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    subjects = [inbox.read(uid).split(b"\r\n", 1)[0] for uid in inbox.uids()]
    # Every acknowledged message is there exactly once; at most one more
    # (written but killed before the acknowledgement) — never a partial one.
    for i in acked:
        assert subjects.count(b"Subject: %d" % i) == 1
    assert len(subjects) in (len(acked), len(acked) + 1)
    for uid in inbox.uids():
        assert len(inbox.read(uid)) > 200_000
    assert len(inbox.uids()) == len(set(inbox.uids()))


def test_async_deliveries_are_consistent(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    seen: list[int] = []
    inbox._mailbox.watch(lambda c: seen.extend(c.added))
    before = inbox.highestmodseq

    async def main() -> list[int]:
        tasks = [
            asyncio.ensure_future(inbox.deliver(MSG + b"%d" % i, delivery_id=f"D{i}"))
            for i in range(30)
        ]
        await asyncio.sleep(0)
        # In flight: taken modseqs are not reported yet (no message can be missed).
        assert inbox.highestmodseq == before
        # A retry with an id already in flight is recognised.
        assert inbox.has_delivery("D3")
        # A rescan (POP3 login, say) while threads are writing must not
        # give their files UIDs of its own.
        while not all(t.done() for t in tasks):
            inbox.rescan()
            await asyncio.sleep(0.001)
        return list(await asyncio.gather(*tasks))

    uids = asyncio.run(main())
    assert sorted(uids) == list(range(1, 31))
    assert sorted(seen) == uids
    assert inbox.highestmodseq == before + 30
    again = Store(tmp_path).mailbox("u").folder("INBOX")
    assert again.uids() == list(range(1, 31))
    for uid, i in zip(uids, range(30)):
        assert again.read(uid) == MSG + b"%d" % i
    assert again.recent_count() == 30


@pytest.mark.parametrize("offset", [120, -330, 0, 23 * 60 + 59, -(23 * 60 + 59)])
def test_internaldate_zone_is_kept_through_copy_move_reopen_and_rebuild(
    tmp_path: Path, offset: int
) -> None:
    # The zone an APPEND gave (minutes east of UTC) lives in the file name
    # (",Z=+0200"): a copy and a move keep it, a reopened folder and an
    # index rebuilt from the files (a lost index) still know it.
    box = Store(tmp_path).mailbox("u")
    when = 1_700_000_000.0
    folder = box.folder("INBOX")
    uid = folder.append(MSG, flags=["\\Seen"], internaldate=when, offset=offset)
    info = folder.get(uid)
    assert info is not None
    assert (info.internaldate, info.internaldate_offset) == (when, offset)
    assert (",Z=" in info.key) == (offset != 0)
    async_uid = asyncio.run(folder.deliver(MSG, flags=["\\Seen"], internaldate=when, offset=offset))
    async_info = folder.get(async_uid)
    assert async_info is not None and async_info.internaldate_offset == offset
    box.create_folder("Copies")
    box.create_folder("Moved")
    ((_, copied),) = folder.copy([uid], box.folder("Copies"))
    ((_, moved),) = folder.move([async_uid], box.folder("Moved"))
    for name, u in (("Copies", copied), ("Moved", moved)):
        got = box.folder(name).get(u)
        assert got is not None
        assert (got.internaldate, got.internaldate_offset) == (when, offset)
    reopened = Store(tmp_path).mailbox("u")
    (info2,) = reopened.folder("INBOX").messages()
    assert (info2.internaldate, info2.internaldate_offset) == (when, offset)
    (reopened.folder("Copies").path / "mailproto-index").unlink()
    rebuilt = Store(tmp_path).mailbox("u").folder("Copies")
    (info3,) = rebuilt.messages()
    assert (info3.internaldate, info3.internaldate_offset) == (when, offset)


def test_zone_field_of_a_foreign_file_name_is_read_safely(tmp_path: Path) -> None:
    # File names from other tools: only a well-formed field under a day is a zone.
    folder = Store(tmp_path).mailbox("u").folder("INBOX")
    names = {
        "1.M1P1R1.host,S=5,Z=+0530": 330,
        "2.M1P1R1.host,S=5,Z=-1000,W=7": -600,
        "3.M1P1R1.host,S=5,Z=+2400": 0,
        "4.M1P1R1.host,S=5,Z=+0575": 0,
        "5.M1P1R1.host,S=5,Z=0530": 0,
        "6.M1P1R1.host,S=5,Z=+05301": 0,
        "7.M1P1R1.host,S=5,Z=+\u0665\u0665\u0660\u0660": 0,
    }
    for name in names:
        (folder.path / "new" / name).write_bytes(b"x\r\n\r\n")
    folder.rescan()
    got = {m.key: m.internaldate_offset for m in folder.messages()}
    assert got == names
    with pytest.raises(ValueError):
        folder.append(MSG, offset=24 * 60)


def test_async_append_with_flags_and_internaldate(tmp_path: Path) -> None:
    folder = Store(tmp_path).mailbox("u").folder("Sent")
    when = 1_700_000_000.0
    uid = asyncio.run(
        folder.deliver(MSG, flags=["\\Seen", "\\Recent", "sent-by-me"], internaldate=when)
    )
    info = folder.get(uid)
    assert info is not None
    assert info.flags == {"\\Seen", "sent-by-me"}
    assert info.internaldate == when
    assert folder.recent_count() == 0  # APPEND with flags goes to cur/
    assert folder.file_path(uid).stat().st_mtime == when
    again = Store(tmp_path).mailbox("u").folder("Sent")
    info2 = again.get(uid)
    assert info2 is not None
    assert info2.flags == info.flags
    assert info2.internaldate == when
    with pytest.raises(ValueError):
        asyncio.run(folder.deliver(MSG, flags=["\\Bogus"]))


def test_damaged_index_never_breaks_loading(tmp_path: Path) -> None:
    store = Store(tmp_path)
    inbox = store.mailbox("u").folder("INBOX")
    for i in range(3):
        inbox.append(MSG + b"%d" % i, flags=["\\Seen"])
    index = inbox.path / "mailproto-index"
    original = index.read_bytes()
    lines = original.split(b"\n")

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(
            st.one_of(
                st.binary(max_size=40),
                st.sampled_from(lines),
                # A record of a real file under another UID.
                st.builds(
                    lambda line, uid: b"A %d" % uid + line[line.find(b" ", 2) :],
                    st.sampled_from([x for x in lines if x.startswith(b"A ")]),
                    st.integers(1, 10),
                ),
                st.builds(
                    lambda k, a, b: b"%s %d %d 1.5 x" % (k, a, b),
                    st.sampled_from([b"A", b"M", b"X", b"K", b"N", b"V"]),
                    st.integers(-5, 2**40),
                    st.integers(-5, 2**40),
                ),
            ),
            max_size=8,
        )
    )
    def check(pieces: list[bytes]) -> None:
        index.write_bytes(b"\n".join(pieces))
        folder = Store(tmp_path).mailbox("u").folder("INBOX")
        # Whatever the index said, every file on disk is a message with a UID.
        assert len(folder) == 3
        assert sorted(folder.read(uid)[-1:] for uid in folder.uids()) == [b"0", b"1", b"2"]
        assert len(set(folder.uids())) == 3
        new = folder.append(MSG)
        assert new > max(folder.uids()[:-1])
        folder.remove([new])

    check()


def test_scratch_directories_never_show_as_folders(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    # A crash while creating a folder leaves its scratch directory behind.
    scratch = tmp_path / "u" / "..tmp-create-abc"
    for sub in ("tmp", "new", "cur"):
        (scratch / sub).mkdir(parents=True)
    (scratch / "maildirfolder").touch()
    assert all(not f.name.startswith(".") for f in box.list_folders())
    Store(tmp_path).mailbox("u")  # reopening cleans up
    assert not scratch.exists()
    # A folder whose name merely looks like one is an ordinary folder.
    box.create_folder("tmp-create-x")
    assert "tmp-create-x" in {f.name for f in box.list_folders()}


def test_a_failing_watcher_does_not_fail_the_change(tmp_path: Path) -> None:
    box = Store(tmp_path).mailbox("u")
    seen: list[Change] = []

    def broken(change: Change) -> None:
        raise RuntimeError("session bug")

    box.watch(broken)
    box.watch(seen.append)
    uid = box.folder("INBOX").append(MSG)
    assert [c.added for c in seen] == [(uid,)]


def test_flags_round_trip_through_disk(tmp_path: Path) -> None:
    inbox = Store(tmp_path).mailbox("u").folder("INBOX")
    uid = inbox.append(MSG)
    system = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Forwarded"]
    keywords = ["work", "$Label1", "Important", "x.y", "a-b"]

    @settings(max_examples=60, deadline=None)
    @given(st.sets(st.sampled_from(system + keywords)))
    def check(flags: set[str]) -> None:
        inbox.store_flags([uid], flags, "set")
        info = Store(tmp_path).mailbox("u").folder("INBOX").get(uid)
        assert info is not None
        assert info.flags == flags
        assert inbox.read(uid) == MSG

    check()


def test_a_torn_index_fragment_is_never_read_as_a_record(tmp_path: Path) -> None:
    # An append that failed after a short write (a filling disk) leaves a
    # fragment: of "M 1 987\n", say, "M 1 98".  The next append must not
    # turn it into a record: "M 1 98" would give message 1 a modseq never
    # handed out (and "X 1..." of a failed expunge would expunge it).
    store = Store(tmp_path)
    inbox = store.mailbox("u@example.org").folder("INBOX")
    first, second = inbox.append(MSG), inbox.append(MSG)
    modseq = inbox.get(first).modseq  # type: ignore[union-attr]
    index = tmp_path / "u@example.org" / "mailproto-index"
    with index.open("ab") as f:
        f.write(b"M %d 98" % first)  # the fragment, no newline
    inbox._group.torn = True  # what the failed append left behind
    inbox.store_flags([second], ["\\Seen"], "add")  # the next append
    assert not inbox._group.torn
    assert TORN_MARK in index.read_bytes()
    again = Store(tmp_path).mailbox("u@example.org").folder("INBOX")
    assert again.get(first).modseq == modseq  # type: ignore[union-attr]
    assert again.get(second).flags == frozenset({"\\Seen"})  # type: ignore[union-attr]
    assert again.highestmodseq < 98
