"""The relay queue: accepted messages for remote recipients, on disk.

Layout under the queue directory::

    tmp/                 files being written (removed at start-up)
    <id>.msg             the message, immutable once written
    <id>.env             its envelope and delivery state (JSON), rewritten atomically

:meth:`Queue.enqueue` writes ``tmp/<id>.msg`` and ``tmp/<id>.env``, fsyncs
both, renames the message into place, then the envelope (the commit point),
and fsyncs the directory before it returns.  At start-up a ``.msg`` without
an ``.env`` is an enqueue that never returned (so never acknowledged): it is
deleted; an ``.env`` without its ``.msg`` cannot happen (the message is
renamed first) and is dropped if a disk went wrong.

The envelope includes the ``BODY=`` type the message arrived with
(:attr:`QueueEntry.body`): the relay must know whether the octets are text
lines (``7BIT``, ``8BITMIME``) or arbitrary (``BINARYMIME``, RFC 3030 §3).
Entries written before it was recorded have none and are relayed as text.

State changes (a recipient delivered or failed, the next attempt time) are
written with :func:`~mailserver.maildir.atomic_write`: temp file, fsync,
rename, fsync directory.  A crash therefore leaves either the old or the new
state; at worst a recipient already delivered is tried again — and local
deliveries are idempotent by queue id, while a remote MTA may see the message
twice, the duplication RFC 5321 §6.1 accepts over a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

import attrs

from mailproto import smtp

from .maildir import Spooled, _write_file_durably, atomic_write, fsync_dir
from .mda import DsnRequest, new_queue_id

__all__ = ["Queue", "QueueEntry", "QueuedRecipient"]

# The BODY values an entry may record (RFC 6152 §2, RFC 3030 §3).
_BODY_TYPES = {b.value: b for b in smtp.Body}

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


@attrs.define(kw_only=True)
class QueuedRecipient:
    """One recipient of a queued message."""

    #: The recipient address.
    address: str
    #: ``"pending"``, ``"sent"`` or ``"failed"`` (bounced).
    status: str = PENDING
    #: The last reply (``"451 4.3.0 try later"``) or connection error.
    last_reply: str = ""
    #: The status code for a DSN (``"4.4.1"``, ``"5.1.1"``).
    last_status: str = ""
    #: RFC 3461 ``NOTIFY`` conditions (``["SUCCESS", "FAILURE"]``; ``[]`` is
    #: NEVER); None when the client gave none (then: failures only).
    notify: list[str] | None = None
    #: RFC 3461 ``ORCPT`` as ``[addr-type, address]``, or None.
    orcpt: list[str] | None = None
    #: True once a "delayed" DSN was sent for this recipient (at most one).
    delay_notified: bool = False

    def wants(self, condition: str) -> bool:
        """True when a DSN is due for *condition* (``"SUCCESS"``, ``"FAILURE"``, ``"DELAY"``).

        Without a NOTIFY parameter the relay behaves as for
        ``NOTIFY=FAILURE,DELAY`` (RFC 3461 §4.1): failures and delays are
        reported, successes are not.
        """
        if self.notify is None:
            return condition in ("FAILURE", "DELAY")
        return condition in self.notify


@attrs.define(kw_only=True)
class QueueEntry:
    """A queued message's envelope and delivery state (the ``.env`` file)."""

    #: Queue id (also the file name stem and the delivery id).
    id: str
    #: Envelope sender, ``""`` for the null reverse-path (bounces).
    sender: str
    #: The recipients and their state.
    recipients: list[QueuedRecipient]
    #: When it was queued (POSIX time).
    created: float
    #: When to try again (POSIX time).
    next_attempt: float
    #: How many attempts were made.
    attempts: int = 0
    #: RFC 3461 ``RET`` (``"FULL"`` or ``"HDRS"``), or None.
    ret: str | None = None
    #: RFC 3461 ``ENVID``, or None.
    envid: str | None = None
    #: The ``BODY=`` the message arrived with (RFC 6152, RFC 3030):
    #: ``"7BIT"``, ``"8BITMIME"`` or ``"BINARYMIME"``; None when none was
    #: given, and for entries queued before the body type was recorded.
    #: None and the first two are line-oriented text (the relay sends bare
    #: CR/LF as CRLF); BINARYMIME octets are arbitrary and are relayed
    #: unchanged or converted (RFC 3030 §3).
    body: str | None = None

    @property
    def body_type(self) -> smtp.Body | None:
        """:attr:`body` as an :class:`mailproto.smtp.Body` (None: not recorded)."""
        return _BODY_TYPES.get(self.body or "")

    @property
    def pending(self) -> list[QueuedRecipient]:
        """Recipients still to be delivered."""
        return [r for r in self.recipients if r.status == PENDING]

    def to_json(self) -> bytes:
        """The ``.env`` file's contents."""
        return json.dumps(attrs.asdict(self), sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> QueueEntry:
        """Parse an ``.env`` file (ValueError/KeyError/TypeError on damage)."""
        obj = json.loads(data)
        return cls(
            id=str(obj["id"]),
            sender=str(obj["sender"]),
            recipients=[QueuedRecipient(**r) for r in obj["recipients"]],
            created=float(obj["created"]),
            next_attempt=float(obj["next_attempt"]),
            attempts=int(obj["attempts"]),
            ret=obj.get("ret"),
            envid=obj.get("envid"),
            # Absent in entries written before the body type was kept: those
            # are relayed as line-oriented text, as they always were.  An
            # unknown value is not trusted either way.
            body=obj.get("body") if obj.get("body") in _BODY_TYPES else None,
        )


def _recipient(address: str, dsn: DsnRequest | None) -> QueuedRecipient:
    if dsn is None:
        return QueuedRecipient(address=address)
    notify = dsn.notify.get(address)
    orcpt = dsn.orcpt.get(address)
    return QueuedRecipient(
        address=address,
        notify=None if notify is None else sorted(c.value for c in notify),
        orcpt=None if orcpt is None else [orcpt.addr_type, orcpt.address],
    )


class Queue:
    """A durable queue of messages waiting for relay."""

    def __init__(self, path: Path | str) -> None:
        #: The queue directory.
        self.path = Path(path)
        (self.path / "tmp").mkdir(parents=True, exist_ok=True)
        self._entries: dict[str, QueueEntry] = {}
        self._listeners: list[asyncio.Event] = []
        # Entries whose state changed in memory but could not be written (a
        # full disk): due again, so that the next attempt saves (or removes)
        # them.  Otherwise an entry with nothing left pending was never
        # looked at again, and its stale .env sent the message a second
        # time after a restart.
        self._unsaved: set[str] = set()
        # Entries that exist in memory only (hold): qid -> message.
        self._held: dict[str, bytes] = {}
        self._recover()

    def _recover(self) -> None:
        for leftover in (self.path / "tmp").iterdir():
            with contextlib.suppress(OSError):
                leftover.unlink()
        envs = {p.stem for p in self.path.glob("*.env")}
        for msg in self.path.glob("*.msg"):
            if msg.stem not in envs:
                msg.unlink()  # an enqueue that never returned: never acknowledged
        for env in self.path.glob("*.env"):
            if not (self.path / f"{env.stem}.msg").exists():
                env.unlink()
                continue
            try:
                entry = QueueEntry.from_json(env.read_bytes())
            except (ValueError, KeyError, TypeError):
                continue  # left on disk for a human; never silently deleted
            self._entries[entry.id] = entry
        fsync_dir(self.path)

    # -- adding -----------------------------------------------------------------

    def enqueue(
        self,
        sender: str,
        recipients: Iterable[str],
        data: bytes | Spooled,
        *,
        queue_id: str | None = None,
        now: float | None = None,
        dsn: DsnRequest | None = None,
        body: smtp.Body | None = None,
    ) -> QueueEntry:
        """Queue *data* for *recipients*; durable when it returns.

        *data* is the message, in memory or as :class:`~.maildir.Spooled`
        parts (copied into the queue file without assembling it in memory).

        *queue_id* defaults to a new id; an id already queued gets a suffix
        (one message may be queued by several deliveries).  *body* is the
        ``BODY=`` of the MAIL command that brought it (kept with the entry:
        the relay needs it to tell binary content from text).
        """
        entry = self._prepare(sender, recipients, queue_id, now, dsn, body)
        self._write(entry.id, entry.to_json(), data)
        self._entries[entry.id] = entry
        self.notify()
        return entry

    def hold(
        self,
        sender: str,
        recipients: Iterable[str],
        data: bytes,
        *,
        queue_id: str | None = None,
        now: float | None = None,
    ) -> QueueEntry:
        """Queue *data* in memory, for a message that must go out although
        the disk refused it (a full disk: :meth:`enqueue` failed).

        What it is for: a delivery status notification the client asked for
        (``NOTIFY=SUCCESS``, RFC 3461 §4.1, §5.2.3) about a message already
        delivered — the message's own ``250`` cannot be taken back, so its
        notice has nowhere to wait but here.  The entry is an ordinary one
        to the relay (due now, retried with backoff, expired after the
        lifetime) that is also :meth:`unsaved`: every :meth:`save` first
        tries to write its files as :meth:`enqueue` does, after which it is
        durable like any other.  Until then a crash loses it; a stop
        loses it only if one last write, when the relay stops, fails too
        (logged by the relay).  Delivered before it was ever written, it
        is simply forgotten.
        """
        entry = self._prepare(sender, recipients, queue_id, now, None)
        self._held[entry.id] = data
        self._entries[entry.id] = entry
        self._unsaved.add(entry.id)
        self.notify()
        return entry

    def held(self, entry: QueueEntry) -> bool:
        """True while *entry* (from :meth:`hold`) exists in memory only."""
        return entry.id in self._held

    def _prepare(
        self,
        sender: str,
        recipients: Iterable[str],
        queue_id: str | None,
        now: float | None,
        dsn: DsnRequest | None,
        body: smtp.Body | None = None,
    ) -> QueueEntry:
        qid = queue_id or new_queue_id()
        if qid in self._entries or (self.path / f"{qid}.env").exists():
            qid = f"{qid}-{os.urandom(3).hex()}"
        now = time.time() if now is None else now
        return QueueEntry(
            id=qid,
            sender=sender,
            recipients=[_recipient(r, dsn) for r in dict.fromkeys(recipients)],
            created=now,
            next_attempt=now,
            ret=dsn.ret.value if dsn is not None and dsn.ret is not None else None,
            envid=dsn.envid if dsn is not None else None,
            body=body.value if body is not None else None,
        )

    def _write(self, qid: str, env: bytes, data: bytes | Spooled) -> None:
        # Touches only files of its own: may run in a thread.
        tmp_msg = self.path / "tmp" / f"{qid}.msg"
        tmp_env = self.path / "tmp" / f"{qid}.env"
        try:
            _write_file_durably(tmp_msg, data)
            _write_file_durably(tmp_env, env)
            os.rename(tmp_msg, self.path / f"{qid}.msg")
            os.rename(tmp_env, self.path / f"{qid}.env")  # the commit point
            # Inside the try: an enqueue whose directory fsync fails is not
            # acknowledged (the client gets a 4xx and sends again), so its
            # files must go too, or the relay would send the message behind
            # the sender's back and the retry would make a second copy.
            fsync_dir(self.path)
        except BaseException:
            for p in (tmp_msg, tmp_env, self.path / f"{qid}.env", self.path / f"{qid}.msg"):
                with contextlib.suppress(OSError):
                    p.unlink()
            raise

    async def aenqueue(
        self,
        sender: str,
        recipients: Iterable[str],
        data: bytes | Spooled,
        *,
        queue_id: str | None = None,
        dsn: DsnRequest | None = None,
        body: smtp.Body | None = None,
    ) -> QueueEntry:
        """:meth:`enqueue` with the file writes in the default executor."""
        entry = self._prepare(sender, recipients, queue_id, None, dsn, body)
        env = entry.to_json()
        # Reserve the id, but keep the relay off it until the files exist.
        self._entries[entry.id] = entry
        entry.next_attempt = float("inf")
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self._write, entry.id, env, data)
        except BaseException:
            self._entries.pop(entry.id, None)
            raise
        entry.next_attempt = entry.created
        self.notify()
        return entry

    # -- reading and updating -----------------------------------------------------

    def entries(self) -> list[QueueEntry]:
        """Every queued entry, oldest first."""
        return sorted(self._entries.values(), key=lambda e: (e.created, e.id))

    def get(self, qid: str) -> QueueEntry | None:
        """The entry with id *qid*."""
        return self._entries.get(qid)

    def read(self, qid: str) -> bytes:
        """The queued message's bytes."""
        held = self._held.get(qid)
        if held is not None:
            return held
        return (self.path / f"{qid}.msg").read_bytes()

    def save(self, entry: QueueEntry) -> None:
        """Durably record *entry*'s new state; remove it when nothing is pending.

        A :meth:`held <hold>` entry still pending gets both its files now
        (it stays held when that fails).
        """
        try:
            if not entry.pending:
                self.remove(entry.id)
                return
            held = self._held.get(entry.id)
            if held is not None:
                self._write(entry.id, entry.to_json(), held)
                del self._held[entry.id]
            else:
                # (An UnsyncedWrite — the new .env in place, the directory
                # not synced — is a failure here too: the entry stays
                # unsaved and the next attempt writes it again, so a crash
                # cannot bring back a state that repeats a delivery.)
                atomic_write(self.path / f"{entry.id}.env", entry.to_json())
        except OSError:
            self._unsaved.add(entry.id)
            raise
        self._unsaved.discard(entry.id)
        self._entries[entry.id] = entry

    def unsaved(self, entry: QueueEntry) -> bool:
        """True when *entry*'s last :meth:`save` failed (it must be saved again)."""
        return entry.id in self._unsaved

    def remove(self, qid: str) -> None:
        """Forget an entry (envelope first: without it the message is an orphan)."""
        if self._held.pop(qid, None) is not None:
            # Never written: nothing on disk to remove.
            self._entries.pop(qid, None)
            self._unsaved.discard(qid)
            return
        with contextlib.suppress(FileNotFoundError):
            (self.path / f"{qid}.env").unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.path / f"{qid}.msg").unlink()
        fsync_dir(self.path)
        self._entries.pop(qid, None)
        self._unsaved.discard(qid)

    def due(self, now: float | None = None) -> list[QueueEntry]:
        """Entries whose next attempt time has come."""
        now = time.time() if now is None else now
        return [
            e
            for e in self.entries()
            if e.next_attempt <= now and (e.pending or e.id in self._unsaved)
        ]

    def next_due(self) -> float | None:
        """The earliest next-attempt time, or None when the queue is empty."""
        times = [
            e.next_attempt for e in self._entries.values() if e.pending or e.id in self._unsaved
        ]
        return min(times) if times else None

    # -- wake-ups ---------------------------------------------------------------

    def listen(self) -> asyncio.Event:
        """An event set whenever something is enqueued (the relay waits on it)."""
        event = asyncio.Event()
        self._listeners.append(event)
        return event

    def notify(self) -> None:
        """Wake the listeners (call from the event-loop thread)."""
        for event in self._listeners:
            event.set()

    def __len__(self) -> int:
        return len(self._entries)
