"""Disk faults under SMTP intake: a clear 4xx or a durable 250, never half of one.

A real ``smtplib`` client sends to the reference server while
:func:`tests.examples.fault_support.inject` makes one durable step of the
store fail (``ENOSPC`` or ``EIO``).  Whatever the step, the outcome is one of
two, and each test checks which and that it holds after the fault is lifted:

* ``250``: every copy is durable — written now, or queued and delivered by
  the relay once the disk is back — and arrives exactly once;
* ``452 4.3.1`` (disk full, RFC 5321 §4.2.2, RFC 3463 X.3.1) or ``451
  4.3.0`` (another I/O error): nothing is visible anywhere (no mailbox copy,
  no queue entry, no ``tmp/`` leftover that a later rescan or restart would
  deliver), so the client's retry is the only copy.
"""

from __future__ import annotations

import errno
import poplib
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path
from smtplib import SMTPDataError

import pytest

from tests.examples.fault_support import SMTP_DISK_REPLIES, enhanced, inject, leftovers
from tests.examples.test_e2e_support import (
    ANA,
    INFO,
    MANOLO,
    PASSWORDS,
    PEPE,
    A,
    B,
    ServerThread,
    demo_config,
    maildir_files,
    wait_for,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The demo servers, retrying queued mail after 0.2 s (not 5 s)."""
    text, _ = demo_config(retry_base=0.2)
    with ServerThread(text, tmp_path_factory.mktemp("faults_smtp")) as s:
        yield s


def root(server: ServerThread, host: str = A) -> Path:
    """The data directory of *host*'s site."""
    return server.data_dir / host.split(".", 1)[1]


def send(server: ServerThread, rcpts: list[str], subject: str) -> None:
    """Send one message to *rcpts* on site A: to its MX, or submitted by Pepe.

    Remote recipients need the submission port (the MX does not relay).
    """
    msg = f"From: x@remote.example\r\nSubject: {subject}\r\n\r\nbody of {subject}\r\n"
    remote = any(not r.endswith("@iesfbmoll.example") for r in rcpts)
    port = server.port(A, "submission" if remote else "smtp")
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as client:
        if remote:
            client.login(PEPE, PASSWORDS[PEPE])
        client.sendmail(PEPE if remote else "x@remote.example", rcpts, msg)


def copies(server: ServerThread, account: str, subject: str, host: str = A) -> int:
    """How many messages with *subject* the sessions of *host* see in *account*'s INBOX."""
    marker = f"Subject: {subject}\r\n".encode()
    return sum(marker in m for m in server.messages(host, account))


def files_with(server: ServerThread, account: str, subject: str, host: str = A) -> int:
    """How many message files on disk (new/, cur/) hold *subject*."""
    marker = f"Subject: {subject}\r\n".encode()
    return sum(marker in p.read_bytes() for p in maildir_files(root(server, host), account))


def queue_empty(server: ServerThread, host: str = A) -> bool:
    """No entry in *host*'s relay queue, in memory or on disk."""
    assert server.server is not None
    q = server.server.sites[host].mda.queue
    assert q is not None
    return len(q) == 0 and not list(q.path.glob("*.env")) and not list(q.path.glob("*.msg"))


def settle(server: ServerThread) -> None:
    """Wait until both queues are empty (the relay did its retries)."""
    assert wait_for(lambda: queue_empty(server, A) and queue_empty(server, B), 20)


# -- the disk is full everywhere: 452 4.3.1, nothing visible ------------------------------

# Every durable step of a local delivery and of an enqueue: the file is
# created (open), written (writev), synced (fsync), renamed into new/ or the
# queue (rename); each fails the whole transaction once the queue fails too.
STEPS = ["open", "writev", "fsync", "rename"]


@pytest.mark.parametrize("call", STEPS)
def test_disk_full_everywhere_is_452_and_leaves_nothing(server: ServerThread, call: str) -> None:
    subject = f"full-{call}"
    with inject(call, root(server), times=None) as fault, pytest.raises(SMTPDataError) as info:
        send(server, [PEPE], subject)
    assert fault.fired >= 1
    assert info.value.smtp_code == 452
    assert enhanced(info.value) == "4.3.1"
    assert files_with(server, PEPE, subject) == 0
    assert copies(server, PEPE, subject) == 0
    assert queue_empty(server)
    assert leftovers(root(server)) == []
    # The disk is back: the client's retry is the one and only copy.
    send(server, [PEPE], subject)
    assert copies(server, PEPE, subject) == 1
    settle(server)
    time.sleep(0.3)  # a wrongly queued copy would be retried by now
    assert copies(server, PEPE, subject) == 1


def test_io_error_everywhere_is_451_4_3_0(server: ServerThread) -> None:
    with (
        inject("fsync", root(server), err=errno.EIO, times=None) as fault,
        pytest.raises(SMTPDataError) as info,
    ):
        send(server, [PEPE], "eio")
    assert fault.fired >= 1
    assert info.value.smtp_code == 451
    assert enhanced(info.value) == "4.3.0"
    assert files_with(server, PEPE, "eio") == 0
    assert queue_empty(server)


def test_queue_directory_sync_failure_leaves_no_entry(server: ServerThread) -> None:
    # The enqueue's last step: both files are renamed into place, then the
    # directory fsync fails.  The client is told 452, so the entry must go:
    # before the fix it stayed, the relay sent it, and the retry made two.
    queue_dir = root(server) / "queue"
    only_the_directory = str(queue_dir.resolve())
    with (
        inject("fsync", queue_dir, times=None, match=lambda p: p == only_the_directory) as fault,
        pytest.raises(SMTPDataError) as info,
    ):
        send(server, [MANOLO], "qsync")
    assert fault.fired >= 1
    assert info.value.smtp_code == 452
    assert queue_empty(server)
    time.sleep(0.5)
    assert copies(server, MANOLO, "qsync", B) == 0
    send(server, [MANOLO], "qsync")
    assert wait_for(lambda: copies(server, MANOLO, "qsync", B) == 1)
    settle(server)
    assert copies(server, MANOLO, "qsync", B) == 1


def test_several_recipients_one_mailbox_full_no_partial_copies(server: ServerThread) -> None:
    # Pepe's mailbox and the queue fail, Ana's mailbox works: one reply for
    # the whole message, so Ana's copy must be taken back, or the client's
    # retry gives her two (before the fix it did).
    pepe_dir = root(server) / "mail" / PEPE
    with (
        inject("fsync", pepe_dir, times=None) as f1,
        inject("fsync", root(server) / "queue", times=None) as f2,
        pytest.raises(SMTPDataError) as info,
    ):
        send(server, [ANA, PEPE], "two")
    assert f1.fired >= 1 and f2.fired >= 1
    assert info.value.smtp_code == 452
    assert copies(server, ANA, "two") == 0
    assert files_with(server, ANA, "two") == 0
    assert files_with(server, PEPE, "two") == 0
    assert queue_empty(server)
    send(server, [ANA, PEPE], "two")
    assert copies(server, ANA, "two") == 1
    assert copies(server, PEPE, "two") == 1


def test_copy_taken_back_while_pop3_holds_the_maildrop(server: ServerThread) -> None:
    # As above, while Ana has a POP3 session open (RFC 1939 §8 lock): her
    # copy is still taken back (it is in no POP3 snapshot); before the fix
    # the lock error escaped the SMTP session and dropped the connection.
    pop = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=20)
    pop.user(ANA)
    pop.pass_(PASSWORDS[ANA])
    listed = len(pop.list()[1])
    pepe_dir = root(server) / "mail" / PEPE
    with (
        inject("fsync", pepe_dir, times=None),
        inject("fsync", root(server) / "queue", times=None),
        pytest.raises(SMTPDataError) as info,
    ):
        send(server, [ANA, PEPE], "locked")
    assert info.value.smtp_code == 452
    assert copies(server, ANA, "locked") == 0
    assert len(pop.list()[1]) == listed  # the POP3 session's view did not move
    pop.quit()
    send(server, [ANA, PEPE], "locked")
    assert copies(server, ANA, "locked") == 1
    assert copies(server, PEPE, "locked") == 1


# -- one mailbox full, the queue works: 250, delivered once later -------------------------


@pytest.mark.parametrize("call", ["writev", "fsync", "rename", "write"])
def test_full_mailbox_is_queued_and_delivered_once(server: ServerThread, call: str) -> None:
    # "write" is the index record (os.write), the others the message file:
    # either way the delivery fails, the account is queued, the client gets
    # 250, and the relay delivers it once the disk is back.
    subject = f"later-{call}"
    assert copies(server, PEPE, subject) == 0  # (opens the mailbox before the fault)
    with inject(call, root(server) / "mail" / PEPE, times=None) as fault:
        send(server, [PEPE], subject)
        assert copies(server, PEPE, subject) == 0
        assert files_with(server, PEPE, subject) == 0
    assert fault.fired >= 1
    assert wait_for(lambda: copies(server, PEPE, subject) == 1)
    settle(server)
    assert copies(server, PEPE, subject) == 1
    assert files_with(server, PEPE, subject) == 1
    assert leftovers(root(server) / "mail") == []


def test_alias_and_list_reaching_one_full_account_give_one_copy(server: ServerThread) -> None:
    # informacion@ directly, through its alias dudas@, and pepe/ana/manolo
    # through the list profes@: informacion's mailbox is full at intake.
    subject = "alias-list"
    with inject("fsync", root(server) / "mail" / INFO, times=None) as fault:
        send(
            server,
            [INFO, "dudas@iesfbmoll.example", "profes@iesfbmoll.example"],
            subject,
        )
    assert fault.fired >= 1
    assert wait_for(lambda: copies(server, INFO, subject) == 1)
    assert wait_for(lambda: copies(server, MANOLO, subject, B) == 1)
    settle(server)
    for account in (INFO, PEPE, ANA):
        assert copies(server, account, subject) == 1, account
    assert copies(server, MANOLO, subject, B) == 1


def test_mixed_local_and_remote_with_full_mailbox(server: ServerThread) -> None:
    subject = "mixed"
    with inject("writev", root(server) / "mail" / PEPE, times=None) as fault:
        send(server, [PEPE, MANOLO], subject)
    assert fault.fired >= 1
    assert wait_for(lambda: copies(server, PEPE, subject) == 1)
    assert wait_for(lambda: copies(server, MANOLO, subject, B) == 1)
    settle(server)
    assert copies(server, PEPE, subject) == 1
    assert copies(server, MANOLO, subject, B) == 1


def test_remote_recipient_queue_full_is_452(server: ServerThread) -> None:
    with (
        inject("writev", root(server) / "queue", times=None) as fault,
        pytest.raises(SMTPDataError) as info,
    ):
        send(server, [MANOLO], "remote-full")
    assert fault.fired >= 1
    assert info.value.smtp_code == 452
    assert queue_empty(server)
    assert leftovers(root(server) / "queue") == []
    send(server, [MANOLO], "remote-full")
    assert wait_for(lambda: copies(server, MANOLO, "remote-full", B) == 1)
    settle(server)
    assert copies(server, MANOLO, "remote-full", B) == 1


def test_session_goes_on_after_a_4xx(server: ServerThread) -> None:
    # The transaction failed, not the session: the same connection sends on.
    msg = "Subject: same-session\r\n\r\nx\r\n"
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=20) as client:
        with inject("fsync", root(server), times=None), pytest.raises(SMTPDataError):
            client.sendmail("x@remote.example", [PEPE], msg)
        client.sendmail("x@remote.example", [PEPE], msg)
        assert client.noop()[0] == 250
    assert copies(server, PEPE, "same-session") == 1


@pytest.mark.parametrize(("err", "reply"), SMTP_DISK_REPLIES)
def test_spool_failure_is_answered_at_the_end_of_data(
    server: ServerThread, err: int, reply: tuple[int, str]
) -> None:
    # A message over 256 KiB is streamed into <data>/spool/ as it arrives.
    # When that file cannot be made, the rest of the data is read and
    # dropped and the end of DATA gets a 4xx: before the fix the OSError
    # escaped the session and the connection dropped without a reply.
    subject = f"spooled-{err}"
    body = ("x" * 998 + "\r\n") * 400  # ~400 KB
    msg = f"Subject: {subject}\r\n\r\n{body}"
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=20) as client:
        with (
            inject("open", root(server) / "spool", err=err) as fault,
            pytest.raises(SMTPDataError) as info,
        ):
            client.sendmail("x@remote.example", [PEPE], msg)
        assert fault.fired == 1
        assert (info.value.smtp_code, enhanced(info.value)) == reply
        assert list((root(server) / "spool").iterdir()) == []
        assert files_with(server, PEPE, subject) == 0
        client.sendmail("x@remote.example", [PEPE], msg)  # the session goes on
    assert copies(server, PEPE, subject) == 1
    assert list((root(server) / "spool").iterdir()) == []


def test_short_index_write_loses_no_record(server: ServerThread) -> None:
    # A disk filling up: the index append writes half a record, then fails.
    # The delivery fails (and is queued); the relay's retry appends again.
    # Its record must not be glued to the fragment (before the fix it was,
    # the record was lost, and a restart gave the message another UID).
    subject = "short-write"
    assert copies(server, PEPE, subject) == 0
    pepe = root(server) / "mail" / PEPE
    with inject("write", pepe, match="mailproto-index", short=True, times=2) as fault:
        send(server, [PEPE], subject)
    assert fault.fired == 2
    assert wait_for(lambda: copies(server, PEPE, subject) == 1)
    settle(server)
    index = (pepe / "mailproto-index").read_text()
    recorded = {line.split(" ")[4] for line in index.split("\n") if line.startswith("A ")}
    for path in maildir_files(root(server), PEPE):
        assert path.name.split(":2,")[0] in recorded, path.name


def test_state_survives_a_restart(server: ServerThread, tmp_path: Path) -> None:
    # Last in the module: everything delivered above is there once after a
    # restart on the same data, with the same UIDs and UIDVALIDITY.
    settle(server)
    assert server.server is not None
    box = server.server.sites[A].store.mailbox(PEPE).folder("INBOX")
    before = (box.uidvalidity, box.uids(), [box.read(u) for u in box.uids()])
    server.stop()
    again = ServerThread(server.config_text, server.data_dir)
    with again:
        assert again.server is not None
        box2 = again.server.sites[A].store.mailbox(PEPE).folder("INBOX")
        after = (box2.uidvalidity, box2.uids(), [box2.read(u) for u in box2.uids()])
        assert after == before
        assert queue_empty(again) and queue_empty(again, B)
    for subject in ["full-open", "eio", "two", "later-write", "alias-list", "same-session"]:
        marker = f"Subject: {subject}\r\n".encode()
        n = sum(marker in m for m in before[2])
        assert n == (0 if subject == "eio" else 1), subject
