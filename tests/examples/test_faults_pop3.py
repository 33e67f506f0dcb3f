"""Disk faults under POP3: the maildrop lock and the UPDATE state's commit.

A real ``poplib`` client; :func:`tests.examples.fault_support.inject` fails
one durable step.  RFC 1939 §6: a QUIT whose deletions cannot all be made
answers ``-ERR some deleted messages not removed`` (with RFC 2449/3206's
``[SYS/TEMP]``), and the maildrop is released either way; a login whose
maildrop cannot be opened answers ``-ERR [SYS/TEMP]``, and must not leave
the maildrop locked for the next one.  After each fault, a new session sees
exactly the messages on disk, and a restart keeps the UIDLs.
"""

from __future__ import annotations

import poplib
import smtplib
from pathlib import Path

import pytest

from tests.examples.fault_support import error_text, inject, leftovers
from tests.examples.test_e2e_support import (
    PASSWORDS,
    PEPE,
    A,
    ServerThread,
    maildir_files,
)


def home(server: ServerThread) -> Path:
    """Pepe's Maildir."""
    return server.data_dir / "iesfbmoll.example" / "mail" / PEPE


def deliver(server: ServerThread, *subjects: str) -> None:
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=20) as client:
        for subject in subjects:
            msg = f"Subject: {subject}\r\n\r\nbody\r\n"
            client.sendmail("x@remote.example", [PEPE], msg)


def login(server: ServerThread) -> poplib.POP3:
    pop = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=20)
    pop.user(PEPE)
    pop.pass_(PASSWORDS[PEPE])
    return pop


def uidls(pop: poplib.POP3) -> list[str]:
    """The unique ids of the maildrop, in message order."""
    return [line.split()[1].decode() for line in pop.uidl()[1]]


def listing(server: ServerThread) -> list[str]:
    """A fresh session's UIDL list; it checks every message can be retrieved."""
    pop = login(server)
    try:
        ids = uidls(pop)
        for n in range(1, len(ids) + 1):
            lines = pop.retr(n)[1]
            assert any(line.startswith(b"Subject: ") for line in lines)
        return ids
    finally:
        pop.quit()


def on_disk(server: ServerThread) -> int:
    return len(maildir_files(server.data_dir / "iesfbmoll.example", PEPE))


@pytest.mark.parametrize("skip", [0, 1])
def test_quit_with_a_failing_unlink_answers_err_and_releases(
    server: ServerThread, skip: int
) -> None:
    deliver(server, "a", "b", "c")
    before = listing(server)
    pop = login(server)
    pop.dele(1)
    pop.dele(2)
    # The first (skip=0) or second (skip=1) file cannot be removed.
    with (
        inject("unlink", home(server), skip=skip) as fault,
        pytest.raises(poplib.error_proto) as info,
    ):
        pop.quit()
    assert fault.fired == 1
    assert error_text(info.value).startswith(b"-ERR [SYS/TEMP]")
    after = listing(server)  # the maildrop was released: a new login works
    # Exactly the deletions made before the failure took effect: none, or
    # the first (unlinked in UID order).
    assert after == before[skip:]
    assert len(after) == on_disk(server)
    assert leftovers(home(server)) == []


def test_quit_with_a_failing_directory_sync_is_err_and_consistent(server: ServerThread) -> None:
    # The files are unlinked, the directory sync fails: the removal may not
    # be durable, so -ERR; the messages are gone all the same (no record is
    # kept for a missing file) and a new session agrees with the disk.
    deliver(server, "f", "g")
    before = listing(server)
    pop = login(server)
    pop.dele(len(before))
    is_dir = lambda p: p.endswith(("/new", "/cur"))  # noqa: E731
    with (
        inject("fsync", home(server), match=is_dir) as fault,
        pytest.raises(poplib.error_proto) as info,
    ):
        pop.quit()
    assert error_text(info.value).startswith(b"-ERR [SYS/TEMP]")
    assert fault.fired == 1
    after = listing(server)
    assert after == before[:-1]
    assert len(after) == on_disk(server)


def test_quit_with_a_failing_index_append_removes_the_messages(server: ServerThread) -> None:
    # The files are gone and the directory synced: the deletion happened,
    # the index record follows with the next append.  +OK, not -ERR.
    deliver(server, "d", "e")
    before = listing(server)
    pop = login(server)
    pop.dele(1)
    with inject("write", home(server), match="mailproto-index") as fault:
        assert pop.quit().startswith(b"+OK")
    assert fault.fired == 1
    after = listing(server)
    assert after == before[1:]
    assert len(after) == on_disk(server)


def test_login_whose_snapshot_cannot_be_logged_still_works(server: ServerThread) -> None:
    # A message dropped into new/ by another MDA: the login's rescan gives it
    # a UID and must log it, and the disk is full.  The snapshot is what is
    # on disk, so the login succeeds; before the fix it failed with -ERR and
    # left the maildrop locked (a leaked flock) until the server restarted.
    listing(server)
    (home(server) / "new" / "1700000000.M1P1R1.elsewhere,S=22").write_bytes(
        b"Subject: external\r\n\r\nx\r\n"
    )
    with inject("write", home(server), match="mailproto-index", times=None) as fault:
        pop = login(server)
        ids = uidls(pop)
        pop.quit()
    assert fault.fired >= 1
    assert len(ids) == on_disk(server)
    again = listing(server)
    assert again == ids


def test_lock_file_failure_is_sys_temp_and_not_sticky(server: ServerThread) -> None:
    with inject("open", home(server), match="mailproto-pop3.lock") as fault:
        pop = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=20)
        pop.user(PEPE)
        with pytest.raises(poplib.error_proto) as info:
            pop.pass_(PASSWORDS[PEPE])
        pop.quit()
    assert fault.fired == 1
    assert error_text(info.value).startswith(b"-ERR [SYS/TEMP]")
    assert len(listing(server)) == on_disk(server)


def test_retr_whose_read_fails_midway_drops_the_connection_without_a_terminator(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RETR streams the file: a read error after the first piece was sent must
    not end the answer with "." (a truncated message passed off as whole)."""
    import io

    import mailserver.maildir as maildir

    body = b"".join(b"line %06d\r\n" % i for i in range(20_000))  # 240 KB: several pieces
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=20) as client:
        client.sendmail("x@remote.example", [PEPE], b"Subject: midway\r\n\r\n" + body)

    class FailingSecondRead(io.BufferedReader):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            FailingSecondRead.reads += 1
            if FailingSecondRead.reads == 2:
                raise OSError(5, "Input/output error")
            return super().read(size)

    real_open = maildir.Folder.open

    def failing_open(self: maildir.Folder, uid: int) -> io.BufferedReader:
        opened = real_open(self, uid)
        assert isinstance(opened, io.BufferedReader)
        return FailingSecondRead(opened.detach())

    pop = login(server)
    try:
        count = len(pop.list()[1])
        monkeypatch.setattr(maildir.Folder, "open", failing_open)
        with pytest.raises((poplib.error_proto, OSError, EOFError)):
            pop.retr(count)
    finally:
        pop.close()
    monkeypatch.undo()
    # Nothing was lost: the next session retrieves every message whole.
    ids = listing(server)
    assert len(ids) == count


def test_uidls_survive_a_restart(server: ServerThread) -> None:
    before = listing(server)
    assert before
    server.stop()
    again = ServerThread(server.config_text, server.data_dir)
    with again:
        assert listing(again) == before
