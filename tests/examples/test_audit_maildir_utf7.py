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
