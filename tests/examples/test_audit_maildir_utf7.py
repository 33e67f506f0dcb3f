"""Audit: Maildir++ folder names with non-ASCII characters are modified UTF-7 on disk."""

from __future__ import annotations

import imaplib
import os

import pytest

from mailserver.maildir import Store
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")


def test_non_ascii_folder_names_are_modified_utf7_on_disk(dovecot: DovecotServer) -> None:
    user = sorted(dovecot.users)[0]
    box = Store(dovecot.runtime_dir / "mail").mailbox(user)
    box.create_folder("Café")
    box.folder("Café").append(b"Subject: x\r\n\r\nx\r\n")
    for dirpath, dirnames, filenames in os.walk(box.path):
        for name in [*dirnames, *filenames]:
            os.chown(os.path.join(dirpath, name), dovecot.mail_uid, dovecot.mail_gid)
    imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    try:
        imap.login(user, dovecot.users[user])
        assert imap.select('"Caf&AOk-"')[0] == "OK"  # Dovecot finds our "Café"
        assert imap.create('"Ni&APE-o"')[0] == "OK"  # and we find Dovecot's "Niño"
    finally:
        imap.logout()
    names = [f.name for f in Store(dovecot.runtime_dir / "mail").mailbox(user).list_folders()]
    assert "Niño" in names, names


def _chown_all(dovecot: DovecotServer, root: str) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, dovecot.mail_uid, dovecot.mail_gid)
        for name in [*dirnames, *filenames]:
            os.chown(os.path.join(dirpath, name), dovecot.mail_uid, dovecot.mail_gid)


def test_hierarchy_and_ampersand_agree_with_dovecot(dovecot: DovecotServer) -> None:
    # Both servers see one tree: levels split on "." on disk and in IMAP,
    # "&" as "&-", each level encoded on its own (RFC 3501 §5.1.3).
    # Another user than the first test's; imaplib's LOGIN sends ASCII only.
    user = next(u for u in sorted(dovecot.users)[1:] if dovecot.users[u].isascii())
    box = Store(dovecot.runtime_dir / "mail").mailbox(user)
    box.create_folder("R&D")
    box.create_folder("Café.Été")
    uid = box.folder("Café.Été").append(b"Subject: deep\r\n\r\nx\r\n")
    _chown_all(dovecot, str(box.path))
    imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    try:
        imap.login(user, dovecot.users[user])
        typ, lines = imap.list()
        assert typ == "OK"
        listed = {line.rsplit(b" ", 1)[1].strip(b'"') for line in lines if isinstance(line, bytes)}
        assert {b"R&-D", b"Caf&AOk-", b"Caf&AOk-.&AMk-t&AOk-"} <= listed, listed
        typ, data = imap.select('"Caf&AOk-.&AMk-t&AOk-"')
        assert (typ, data) == ("OK", [b"1"])
        imap.close()
        # Dovecot renames ours and creates a child of ours.
        assert imap.rename('"R&-D"', '"Stra&AN8-e"')[0] == "OK"
        assert imap.create('"Caf&AOk-.&ZeVnLIqe-"')[0] == "OK"
    finally:
        imap.logout()
    infos = {f.name: f for f in Store(dovecot.runtime_dir / "mail").mailbox(user).list_folders()}
    assert {"Straße", "Café", "Café.Été", "Café.日本語"} <= set(infos), sorted(infos)
    assert "R&D" not in infos
    assert infos["Café"].has_children
    fresh = Store(dovecot.runtime_dir / "mail").mailbox(user)
    assert fresh.folder("Café.Été").read(uid) == b"Subject: deep\r\n\r\nx\r\n"
