"""QRESYNC (RFC 7162 §3.2) in the reference server, with imaplib and mailproto's own client.

The scenario of every test: five messages, message 2 (and 5) marked seen,
messages 3 and 4 expunged, then a client that remembers the mailbox as it
was before resynchronises.  Expected answers were checked against Dovecot
2.3 doing the same (VANISHED (EARLIER) first, then FETCH of what changed,
both limited to the known UIDs).
"""

from __future__ import annotations

import imaplib
import re
import socket
from collections.abc import Iterator
from typing import Any, cast

import pytest

from mailproto import NEED_DATA
from mailproto.imap import ClientConnection, Completed, Greeting, SelectedMailbox, Untagged
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap.types import ResponseCode, SequenceSet
from mailserver.imap_service import _seq_match_floor, _vanished_ranges
from mailserver.maildir import Folder
from tests.examples.test_e2e_support import PASSWORDS, B, ServerThread, demo_config

MANOLO, LUCIA = "manolo@correo.example", "lucia@correo.example"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config(retry_base=1)
    with ServerThread(text, tmp_path_factory.mktemp("qresync")) as server:
        yield server


def _imap(server: ServerThread, user: str) -> imaplib.IMAP4:
    imap = imaplib.IMAP4("127.0.0.1", server.port(B, "imap"), timeout=10)
    imap.login(user, PASSWORDS[user])
    return imap


def _raw(imap: imaplib.IMAP4, name: str, args: str) -> tuple[str, dict[str, list[Any]]]:
    """Run one command, return its status and the untagged responses it brought."""
    imap.untagged_responses.clear()
    typ, _ = imap._simple_command(name, args)
    return typ, {k: list(v) for k, v in imap.untagged_responses.items()}


def _prepare(server: ServerThread, user: str) -> tuple[int, int]:
    """Five messages; returns (UIDVALIDITY, HIGHESTMODSEQ) before the changes."""
    imap = _imap(server, user)
    try:
        for n in range(1, 6):
            imap.append("INBOX", None, None, f"Subject: m{n}\r\n\r\nbody {n}\r\n".encode())
        imap.select("INBOX")
        uidvalidity = int(cast(bytes, imap.untagged_responses["UIDVALIDITY"][0]))
        highest = int(cast(bytes, imap.untagged_responses["HIGHESTMODSEQ"][0]))
        imap.uid("STORE", "2,5", "+FLAGS", "(\\Seen)")
        imap.uid("STORE", "3:4", "+FLAGS", "(\\Deleted)")
        imap.expunge()
    finally:
        imap.logout()
    return uidvalidity, highest


@pytest.fixture(scope="module")
def state(demo: ServerThread) -> tuple[int, int]:
    return _prepare(demo, MANOLO)


def test_expunges_are_vanished_once_qresync_is_enabled(demo: ServerThread) -> None:
    imap = _imap(demo, LUCIA)
    try:
        for n in range(3):
            imap.append("INBOX", None, None, f"Subject: v{n}\r\n\r\nx\r\n".encode())
        typ, untagged = _raw(imap, "ENABLE", "QRESYNC CONDSTORE")
        # QRESYNC implies CONDSTORE (RFC 7162 §3.2.3): that one is listed too.
        assert typ == "OK" and untagged["ENABLED"] == [b"QRESYNC CONDSTORE"]
        typ, untagged = _raw(imap, "ENABLE", "CONDSTORE")
        assert typ == "OK" and untagged["ENABLED"] == [b""]  # nothing new
        imap.select("INBOX")
        imap.uid("STORE", "1,3", "+FLAGS", "(\\Deleted)")
        typ, untagged = _raw(imap, "UID", "EXPUNGE 1:3")
        assert typ == "OK" and "HIGHESTMODSEQ" in untagged
        # RFC 7162 §3.2.10: VANISHED (with UIDs) instead of EXPUNGE.
        assert untagged.get("VANISHED") == [b"1,3"]
        assert "EXPUNGE" not in untagged
        # STORE's FETCH carries the UID even without UID STORE.
        typ, untagged = _raw(imap, "STORE", "1 +FLAGS (\\Flagged)")
        assert typ == "OK"
        fetch = untagged["FETCH"][0]
        assert re.search(rb"UID 2\b", fetch) and b"MODSEQ" in fetch
    finally:
        imap.logout()


def test_select_qresync_reports_vanished_then_changed_flags(
    demo: ServerThread, state: tuple[int, int]
) -> None:
    uidvalidity, highest = state
    imap = _imap(demo, MANOLO)
    try:
        imap.enable("QRESYNC")
        imap.select("INBOX")  # so that the next SELECT closes a mailbox
        typ, untagged = _raw(imap, "SELECT", f"INBOX (QRESYNC ({uidvalidity} {highest}))")
        assert typ == "OK"
        assert "CLOSED" in untagged  # RFC 7162 §3.2.11
        assert untagged["VANISHED"] == [b"(EARLIER) 3:4"]
        fetches = b" ".join(untagged["FETCH"])
        assert re.search(rb"2 \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)", fetches)
        assert re.search(rb"3 \(UID 5 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)", fetches)
        assert b"UID 1 " not in fetches  # unchanged since HIGHESTMODSEQ

        # Known UIDs limit both parts (3 was known, 4 not; 5 not known).
        typ, untagged = _raw(imap, "EXAMINE", f"INBOX (QRESYNC ({uidvalidity} {highest} 1:3))")
        assert typ == "OK"
        assert untagged["VANISHED"] == [b"(EARLIER) 3"]
        assert [f for f in untagged["FETCH"] if b"UID 5" in f] == []

        # Another UIDVALIDITY: the client must start over, nothing is reported.
        typ, untagged = _raw(imap, "SELECT", f"INBOX (QRESYNC ({uidvalidity + 1} {highest}))")
        assert typ == "OK"
        assert "VANISHED" not in untagged and "FETCH" not in untagged

        # UID FETCH ... (CHANGEDSINCE m VANISHED): RFC 7162 §3.2.6.
        typ, untagged = _raw(imap, "UID", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
        assert typ == "OK"
        assert untagged["VANISHED"] == [b"(EARLIER) 3:4"]
        assert len(untagged["FETCH"]) == 2
        typ, untagged = _raw(imap, "UID", f"FETCH 1:2 (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
        assert "VANISHED" not in untagged and len(untagged["FETCH"]) == 1
        with pytest.raises(imaplib.IMAP4.error, match="UID FETCH"):
            _raw(imap, "FETCH", f"1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
    finally:
        imap.logout()


def test_qresync_needs_enable(demo: ServerThread, state: tuple[int, int]) -> None:
    uidvalidity, highest = state
    imap = _imap(demo, MANOLO)
    try:
        # RFC 7162 §3.2.5: BAD without ENABLE QRESYNC.
        with pytest.raises(imaplib.IMAP4.error, match="ENABLE QRESYNC"):
            _raw(imap, "SELECT", f"INBOX (QRESYNC ({uidvalidity} {highest}))")
        imap.select("INBOX")
        with pytest.raises(imaplib.IMAP4.error, match="ENABLE QRESYNC"):
            _raw(imap, "UID", f"FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)")
    finally:
        imap.logout()
    imap = _imap(demo, MANOLO)
    try:
        # Mismatched sequence match data is a BAD too.
        imap.enable("QRESYNC")
        with pytest.raises(imaplib.IMAP4.error, match="different sizes"):
            _raw(imap, "SELECT", f"INBOX (QRESYNC ({uidvalidity} {highest} 1:5 (1:2 1:3)))")
    finally:
        imap.logout()


def test_without_history_missing_uids_are_vanished_above_the_seq_match(
    demo: ServerThread, state: tuple[int, int]
) -> None:
    """When the store's expunge history is gone (RFC 7162 §3.2.5.2)."""
    uidvalidity, highest = state
    assert demo.server is not None
    folder = demo.server.sites[B].store.mailbox(MANOLO).folder("INBOX")
    original = folder.vanished_since
    folder.vanished_since = lambda modseq: None  # type: ignore[method-assign]
    imap = _imap(demo, MANOLO)
    try:
        imap.enable("QRESYNC")
        _, untagged = _raw(imap, "SELECT", f"INBOX (QRESYNC ({uidvalidity} {highest}))")
        assert untagged["VANISHED"] == [b"(EARLIER) 3:4"]
        # The client says message 3 had UID 5 and it still has: nothing at
        # or below UID 5 vanished since, whatever history says.
        args = f"INBOX (QRESYNC ({uidvalidity} {highest} 1:5 (1:3 1,2,5)))"
        _, untagged = _raw(imap, "SELECT", args)
        assert "VANISHED" not in untagged
        # A pair that no longer matches proves nothing.
        args = f"INBOX (QRESYNC ({uidvalidity} {highest} 1:5 (3 4)))"
        _, untagged = _raw(imap, "SELECT", args)
        assert untagged["VANISHED"] == [b"(EARLIER) 3:4"]
        # A message delivered meanwhile (not announced to this session yet)
        # exists: it is not "missing".
        other = _imap(demo, MANOLO)
        other.append("INBOX", None, None, b"Subject: late\r\n\r\nx\r\n")
        other.logout()
        imap.state = "SELECTED"  # imaplib tracks only its own select()
        command = f"FETCH 1:* (FLAGS) (CHANGEDSINCE {highest} VANISHED)"
        _, untagged = _raw(imap, "UID", command)
        assert untagged["VANISHED"] == [b"(EARLIER) 3:4"]  # not 6
        assert untagged["EXISTS"] == [b"4"]  # announced at the end of the UID FETCH
    finally:
        folder.vanished_since = original  # type: ignore[method-assign]
        imap.logout()


class _NoHistory:
    """A folder whose expunge history was dropped."""

    uidnext = 12

    def vanished_since(self, modseq: int) -> list[int] | None:
        return None

    def uids(self) -> list[int]:
        return [2, 5, 9]


def test_vanished_ranges_without_history_are_the_gaps() -> None:
    view = SelectedMailbox(uidvalidity=1, uids=[2, 5, 9])
    folder = cast(Folder, _NoHistory())
    everything = ((1, 11),)
    assert _vanished_ranges(folder, 1, everything, 0) == [(1, 1), (3, 4), (6, 8), (10, 11)]
    assert _vanished_ranges(folder, 1, everything, 5) == [(6, 8), (10, 11)]
    assert _vanished_ranges(folder, 1, ((3, 3), (7, 20)), 0) == [(3, 3), (7, 8), (10, 11)]
    huge = SequenceSet.parse("1:4294967295")
    assert _seq_match_floor(view, huge, huge, 11) == 0  # stops at EXISTS, no match
    assert _seq_match_floor(view, SequenceSet.parse("1:3"), SequenceSet.of(2, 5, 9), 11) == 9
    assert _seq_match_floor(view, SequenceSet.parse("1:3"), SequenceSet.of(2, 5, 8), 11) == 5


# -- with mailproto's own client ----------------------------------------------------------


class _Session:
    """mailproto.imap.ClientConnection over a blocking socket."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.client = ClientConnection()
        assert isinstance(self._next(), Greeting)

    def _next(self) -> object:
        while (event := self.client.next_event()) is NEED_DATA:
            data = self.sock.recv(65536)
            assert data, "the server closed the connection"
            self.client.receive_data(data)
        return event

    def run(self, command: Any) -> tuple[list[R.Response], Completed]:
        handle = self.client.send(command)
        self.sock.sendall(self.client.data_to_send())
        untagged: list[R.Response] = []
        while True:
            event = self._next()
            if isinstance(event, Untagged):
                untagged.append(event.response)
            elif isinstance(event, Completed) and event.handle == handle:
                return untagged, event

    def close(self) -> None:
        self.sock.close()


def test_mailproto_client_resynchronises_and_follows_vanished(
    demo: ServerThread, state: tuple[int, int]
) -> None:
    uidvalidity, highest = state
    s = _Session(demo.port(B, "imap"))
    other = _imap(demo, MANOLO)
    try:
        # Messages added since the state was taken: one by this test, and
        # any an earlier test of this module added (UIDs above the five).
        other.append("INBOX", None, None, b"Subject: after\r\n\r\nx\r\n")
        other.select("INBOX", readonly=True)
        _, found = other.uid("SEARCH", "UID", "6:*")
        later = {int(u) for u in cast(bytes, found[0]).split() if int(u) > 5}
        assert later
        tag = s.client.new_tag
        _, done = s.run(C.Login(tag=tag(), username=MANOLO, password=PASSWORDS[MANOLO]))
        assert done.ok
        _, done = s.run(C.Enable(tag=tag(), capabilities=("QRESYNC",)))
        assert done.ok and "QRESYNC" in s.client.enabled
        qresync = C.QResync(uidvalidity=uidvalidity, modseq=highest)
        untagged, done = s.run(C.Select(tag=tag(), mailbox="INBOX", qresync=qresync))
        assert done.ok
        vanished = [r for r in untagged if isinstance(r, R.Vanished)]
        assert vanished == [R.Vanished(earlier=True, uids=SequenceSet.of((3, 4)))]
        changed = {r.uid: r for r in untagged if isinstance(r, R.FetchResponse)}
        assert set(changed) == {2, 5} | later
        assert changed[2].flags == ("\\Seen",) and (changed[2].modseq or 0) > highest
        exists = next(r.count for r in untagged if isinstance(r, R.Exists))
        view = SelectedMailbox(uidvalidity=uidvalidity)
        for r in untagged:
            view.apply(r)
        assert view.exists == exists == 3 + len(later)

        # Another session expunges message UID 2; NOOP brings the VANISHED.
        other.select("INBOX")
        other.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        other.expunge()
        untagged, done = s.run(C.Noop(tag=tag()))
        assert done.ok
        assert R.Vanished(earlier=False, uids=SequenceSet.of(2)) in untagged
        assert not any(isinstance(r, R.ExpungeResponse) for r in untagged)

        # Re-selecting answers [CLOSED] first (RFC 9051 §7.1).
        untagged, done = s.run(C.Select(tag=tag(), mailbox="INBOX"))
        assert done.ok
        first = untagged[0]
        assert isinstance(first, R.StatusResponse)
        assert first.code == ResponseCode(name="CLOSED")
    finally:
        other.logout()
        s.close()
