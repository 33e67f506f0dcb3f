"""A folder Dovecot created under a decomposed (NFD) name is usable through our server.

Dovecot keeps a folder under the name the client sent: a client that sends
``Cafe\u0301`` (NFD, as macOS spells file names) gets the Maildir++ directory
``"." +`` the modified UTF-7 of that decomposed string.  Our server LISTs it
under that real name; it must also find it when a client names it in NFC
(``Caf\u00e9``), which RFC 9051 §5.1 makes the same name, for every command
that names an existing mailbox: SELECT, EXAMINE, STATUS, APPEND, COPY, MOVE,
DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE — and CREATE of the NFC name must not
make a second folder that LIST would show alike.  The directories are made
on disk the way Dovecot makes them (no Dovecot needed).
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproto.codecs import imap_utf7
from tests.examples.test_e2e_support import PASSWORDS, PEPE, A, ServerThread
from tests.interop.dovecot import DovecotServer, dovecot_fixture

NFC = "Caf\u00e9"
NFD = unicodedata.normalize("NFD", NFC)
assert NFD != NFC and len(NFD) == len(NFC) + 1


def _account_root(server: ServerThread) -> Path:
    root = server.data_dir / "iesfbmoll.example" / "mail" / PEPE
    assert (root / "cur").is_dir(), root
    return root


def _make_dovecot_folder(root: Path, name: str, messages: int = 1) -> Path:
    """A Maildir++ folder as Dovecot makes it: "." + modified UTF-7 of *name*."""
    path = root / ("." + imap_utf7.encode(name))
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    (path / "maildirfolder").touch()
    for i in range(messages):
        (path / "new" / f"17000000{i:02d}.M{i}P1.dovecot").write_bytes(
            b"Subject: nfd %d\r\n\r\nbody\r\n" % i
        )
    return path


def _remove(path: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for f in filenames:
            os.unlink(os.path.join(dirpath, f))
        for d in dirnames:
            os.rmdir(os.path.join(dirpath, d))
    os.rmdir(path)


def _q(name: str) -> str:
    """*name* as imaplib must send it: quoted modified UTF-7."""
    return '"' + imap_utf7.encode(name) + '"'


@pytest.fixture
def imap(server: ServerThread) -> Iterator[imaplib.IMAP4]:
    m = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=10)
    m.login(PEPE, PASSWORDS[PEPE])
    try:
        yield m
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            m.logout()


@pytest.fixture
def nfd_folder(server: ServerThread, imap: imaplib.IMAP4) -> Iterator[Path]:
    # (After the login: the account's Maildir is made on first use.)
    root = _account_root(server)
    path = _make_dovecot_folder(root, NFD)
    yield path
    for leftover in root.iterdir():
        if leftover.name.startswith(".Caf") or leftover.name.startswith(".Bar"):
            _remove(leftover)


def _name(raw: bytes) -> str:
    """A mailbox name from the wire (atom or quoted), decoded."""
    return imap_utf7.decode(raw.strip(b'"').decode("ascii"))


def _listed(imap: imaplib.IMAP4, pattern: str = "*", *, lsub: bool = False) -> list[str]:
    typ, data = (imap.lsub if lsub else imap.list)('""', pattern)
    assert typ == "OK", data
    return [_name(line.rsplit(b" ", 1)[1]) for line in data if isinstance(line, bytes)]


def _messages(imap: imaplib.IMAP4, name: str) -> tuple[str, int]:
    """STATUS (MESSAGES) of *name*: the name the server answers with, and the count."""
    typ, data = imap.status(_q(name), "(MESSAGES)")
    assert typ == "OK", data
    raw = data[0]
    assert isinstance(raw, bytes)
    mailbox, _, items = raw.rpartition(b" (")
    assert items.startswith(b"MESSAGES ")
    return _name(mailbox), int(items[len(b"MESSAGES ") : -1])


def test_the_on_disk_name_is_dovecots(nfd_folder: Path) -> None:
    # (Guards the fixture: the NFD directory is not the NFC one.)
    assert nfd_folder.name == ".Cafe&AwE-"
    assert nfd_folder.name != "." + imap_utf7.encode(NFC)


def test_select_by_the_nfc_name(imap: imaplib.IMAP4, nfd_folder: Path) -> None:
    typ, data = imap.select(_q(NFC))
    assert (typ, data) == ("OK", [b"1"])
    typ, fetched = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    item = fetched[0]
    assert typ == "OK" and isinstance(item, tuple) and b"nfd 0" in item[1]
    imap.close()


def test_select_and_examine_by_the_real_name(imap: imaplib.IMAP4, nfd_folder: Path) -> None:
    assert imap.select(_q(NFD)) == ("OK", [b"1"])
    assert imap.select(_q(NFC), readonly=True) == ("OK", [b"1"])
    imap.close()


def test_list_shows_the_real_name_and_nfc_patterns_find_it(
    imap: imaplib.IMAP4, nfd_folder: Path
) -> None:
    names = _listed(imap)
    assert NFD in names and NFC not in names
    # A pattern typed in NFC matches; the name listed is the folder's own.
    assert _listed(imap, _q(NFC + "*")) == [NFD]
    assert _listed(imap, _q(NFD)) == [NFD]


def test_status_and_append_by_the_nfc_name(imap: imaplib.IMAP4, nfd_folder: Path) -> None:
    # The STATUS response names the folder as it is.
    assert _messages(imap, NFC) == (NFD, 1)
    typ, data = imap.append(_q(NFC), "", None, b"Subject: appended\r\n\r\nx\r\n")
    assert typ == "OK", data
    assert _messages(imap, NFD) == (NFD, 2)
    # Nothing was created under the NFC name.
    assert not (nfd_folder.parent / ("." + imap_utf7.encode(NFC))).exists()


def test_copy_and_move_into_the_nfc_name(imap: imaplib.IMAP4, nfd_folder: Path) -> None:
    imap.append("INBOX", "", None, b"Subject: to copy\r\n\r\nx\r\n")
    imap.append("INBOX", "", None, b"Subject: to move\r\n\r\nx\r\n")
    typ, data = imap.select("INBOX")
    assert typ == "OK"
    count = int(data[0])  # type: ignore[arg-type]
    assert imap.copy(str(count - 1), _q(NFC))[0] == "OK"
    typ, moved = imap._simple_command("MOVE", str(count), _q(NFC))
    assert typ == "OK", moved
    imap.close()
    assert _messages(imap, NFC) == (NFD, 3)


def test_create_of_the_nfc_name_is_the_existing_folder(
    imap: imaplib.IMAP4, nfd_folder: Path
) -> None:
    typ, data = imap.create(_q(NFC))
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]
    assert [n for n in _listed(imap) if unicodedata.normalize("NFC", n) == NFC] == [NFD]


def test_subscribe_and_unsubscribe_by_the_nfc_name(imap: imaplib.IMAP4, nfd_folder: Path) -> None:
    assert imap.subscribe(_q(NFC))[0] == "OK"
    # Subscribed under its real name, so that LIST (SUBSCRIBED) marks it.
    subscribed = _listed(imap, lsub=True)
    assert NFD in subscribed and NFC not in subscribed
    assert imap.unsubscribe(_q(NFC))[0] == "OK"
    assert NFD not in _listed(imap, lsub=True)


def test_rename_and_delete_by_the_nfc_name(imap: imaplib.IMAP4, nfd_folder: Path) -> None:
    assert imap.rename(_q(NFC), _q("Bar\u00e9"))[0] == "OK"
    assert not nfd_folder.exists()
    assert imap.select(_q("Bar\u00e9")) == ("OK", [b"1"])
    imap.close()
    assert imap.delete(_q("Bare\u0301"))[0] == "OK"  # NFD spelling of the new name
    assert "Bar\u00e9" not in _listed(imap)


def test_rename_to_the_nfc_spelling_normalises_the_folder(
    imap: imaplib.IMAP4, nfd_folder: Path
) -> None:
    # The new name is NFC-equal only to the folder being renamed: allowed,
    # and the folder now has the canonical spelling.
    assert imap.rename(_q(NFD), _q(NFC))[0] == "OK"
    names = _listed(imap)
    assert NFC in names and NFD not in names
    assert imap.select(_q(NFC)) == ("OK", [b"1"])
    imap.close()


def test_two_distinct_folders_never_collide(
    imap: imaplib.IMAP4, server: ServerThread, nfd_folder: Path
) -> None:
    # An NFC folder next to the NFD one: each is reached by its exact name,
    # and the NFC spelling means the NFC folder, never the other.
    root = _account_root(server)
    _make_dovecot_folder(root, NFC, messages=2)
    assert imap.select(_q(NFC)) == ("OK", [b"2"])
    assert imap.select(_q(NFD)) == ("OK", [b"1"])
    imap.close()
    names = _listed(imap)
    assert NFC in names and NFD in names
    # Renaming one onto the other's spelling is refused.
    typ, data = imap.rename(_q(NFD), _q(NFC))
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]


def test_a_spelling_that_matches_two_folders_is_refused(
    imap: imaplib.IMAP4, server: ServerThread
) -> None:
    # "\u00c5" (NFC) matches both "A\u030a" (NFD) and "\u212b" (ANGSTROM SIGN):
    # neither is guessed; each exact name still works.
    root = _account_root(server)
    made = [_make_dovecot_folder(root, "Bar A\u030a"), _make_dovecot_folder(root, "Bar \u212b")]
    try:
        typ, data = imap.select(_q("Bar \u00c5"))
        assert typ == "NO" and isinstance(data[0], bytes) and b"Ambiguous" in data[0]
        assert imap.select(_q("Bar A\u030a")) == ("OK", [b"1"])
        assert imap.select(_q("Bar \u212b")) == ("OK", [b"1"])
        imap.close()
    finally:
        for path in made:
            _remove(path)


# ---- the premise, checked against a live Dovecot ---------------------------------------

dovecot = dovecot_fixture(scope="module")


@pytest.mark.interop
def test_dovecot_stores_an_nfd_name_as_the_fixture_does(dovecot: DovecotServer) -> None:
    # What the tests above make on disk is what Dovecot makes for a client
    # that sends the decomposed name: no normalisation on its side.
    user = next(u for u in sorted(dovecot.users) if dovecot.users[u].isascii())
    imap = imaplib.IMAP4(dovecot.host, dovecot.imap_port)
    try:
        imap.login(user, dovecot.users[user])
        assert imap.create(_q(NFD))[0] == "OK"
        # Dovecot itself does not find it by the NFC spelling.
        assert imap.select(_q(NFC))[0] == "NO"
    finally:
        imap.logout()
    root = dovecot.maildir(user)
    assert (root / ("." + imap_utf7.encode(NFD)) / "cur").is_dir()
    assert not (root / ("." + imap_utf7.encode(NFC))).exists()
