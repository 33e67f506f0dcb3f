"""The store's Maildir is real Maildir: Dovecot serves it, and we read Dovecot's changes."""

from __future__ import annotations

import asyncio
import imaplib
import os
import re
from pathlib import Path

import pytest

from mailserver.maildir import Store
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop

dovecot = dovecot_fixture(scope="module")

MSG1 = b"From: a@example.org\r\nSubject: one\r\n\r\nfirst body\r\n"
MSG2 = b"From: b@example.org\r\nSubject: two\r\n\r\nsecond body\r\n"
MSG3 = b"From: c@example.org\r\nSubject: three\r\n\r\nthird body\r\n"


def _chown_tree(server: DovecotServer, root: Path) -> None:
    if os.geteuid() != 0:
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            os.chown(os.path.join(dirpath, name), server.mail_uid, server.mail_gid)
    os.chown(root, server.mail_uid, server.mail_gid)


def _fetch_all(imap: imaplib.IMAP4) -> list[tuple[set[str], bytes]]:
    typ, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        m = re.search(rb"FLAGS \(([^)]*)\)", head)
        assert m is not None, head
        flags = {f.decode() for f in m[1].split()} - {"\\Recent"}
        out.append((flags, body))
    return out


def test_dovecot_serves_our_maildir_and_we_see_its_changes(dovecot: DovecotServer) -> None:
    user = sorted(dovecot.users)[0]
    store = Store(dovecot.runtime_dir / "mail")
    box = store.mailbox(user)
    inbox = box.folder("INBOX")
    u1 = inbox.append(MSG1, flags=["\\Seen", "\\Flagged"])
    u2 = asyncio.run(inbox.deliver(MSG2))  # a delivery: new/, no flags
    box.create_folder("Work.2024")
    box.folder("Work.2024").append(MSG3, flags=["\\Answered"])
    _chown_tree(dovecot, box.path)

    imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    try:
        imap.login(user, dovecot.users[user])
        typ, listing = imap.list()
        assert typ == "OK"
        names = b"\n".join(x for x in listing if isinstance(x, bytes))
        for name in (b"Sent", b"Drafts", b"Trash", b"Junk"):
            assert name in names
        assert re.search(rb"Work[./]2024", names), names
        typ, _ = imap.select("INBOX")
        assert typ == "OK"
        assert _fetch_all(imap) == [({"\\Seen", "\\Flagged"}, MSG1), (set(), MSG2)]
        # Dovecot changes flags (renaming our files) ...
        typ, _ = imap.store("2", "+FLAGS", "(\\Answered \\Seen)")
        assert typ == "OK"
        sep = "." if b'"."' in names else "/"
        typ, _ = imap.select(f"Work{sep}2024")
        assert typ == "OK"
        assert _fetch_all(imap) == [({"\\Answered"}, MSG3)]
        imap.logout()
    except BaseException:
        print(dovecot.log_text()[-3000:])
        raise

    # ... and a fresh store (a restart) reads them with the same UIDs.
    again = Store(dovecot.runtime_dir / "mail").mailbox(user).folder("INBOX")
    assert again.uids() == [u1, u2]
    info = again.get(u2)
    assert info is not None
    assert info.flags == {"\\Answered", "\\Seen"}
    assert again.read(u2) == MSG2
    # The open folder notices the same change on rescan.
    change = inbox.rescan()
    assert change is not None
    assert change.flags == (u2,)
    info = inbox.get(u2)
    assert info is not None
    assert info.flags == {"\\Answered", "\\Seen"}
