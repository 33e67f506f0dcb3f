"""Local delivery: from an accepted message to files in Maildirs, durably.

:meth:`MDA.deliver` is what the SMTP service calls after the end of the
message data and *before* it answers 250: when it returns, every recipient
it reports as delivered is on disk (file and directory fsynced) and every
remote recipient is in the relay queue (also fsynced).  It does not return
success early for anybody.

* Recipients are expanded with the :class:`~mailserver.directory.Directory`
  (aliases, lists, cycles); an account reached through several envelope
  recipients, aliases or lists gets **one** copy.
* Each copy carries the delivery id in its file name (``,I=<id>``): a
  retried delivery with the same id (the relay queue after a crash, a
  resubmitted queue entry) finds it and does not deliver again, so a message
  is in each mailbox exactly once.
* A ``Return-Path:`` with the envelope sender is prepended at final delivery
  (RFC 5321 §4.4), and only there.
* The fsync-heavy part (:meth:`~mailserver.maildir.Folder.stage`) runs in the
  default thread-pool executor so that the event loop keeps serving other
  sessions meanwhile; UID assignment happens back on the loop.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import attrs

from mailproto import imf, smtp

from .directory import Account, Directory, Resolution, normalize_address
from .maildir import STORAGE_FULL, Folder, Spooled, Store, unique_token

if TYPE_CHECKING:
    from .queue import Queue

__all__ = ["MDA", "DsnRequest", "RecipientResult", "new_queue_id", "received_header"]


#: Most cached recipient expansions (and INBOX folders) per MDA.
_RESOLVED_MAX = 4096


def new_queue_id() -> str:
    """A unique, sortable id for an accepted message (also its delivery id)."""
    return f"{int(time.time() * 1000):x}{unique_token(5)}".upper()


# Anything outside printable ASCII, and parentheses (which would end a
# comment early), is replaced when client-supplied text goes into a header.
_UNSAFE = re.compile(r"[^!-'*-~]")


def _safe(text: str) -> str:
    return _UNSAFE.sub("?", text)[:255] or "?"


# The date of the trace fields, formatted once per second (an SMTP intake
# stamps every message, and the RFC 5322 date has a resolution of seconds).
_stamp: list[tuple[int, str]] = [(-1, "")]


def _now_stamp() -> str:
    second = int(time.time())
    cached = _stamp[0]
    if cached[0] != second:
        cached = _stamp[0] = (
            second,
            imf.format_date(datetime.fromtimestamp(second, timezone.utc)),
        )
    return cached[1]


def received_header(
    *,
    by: str,
    protocol: str,
    queue_id: str,
    helo: str | None = None,
    peer_ip: str | None = None,
    peer_host: str | None = None,
    recipient: str | None = None,
    tls: str | None = None,
    when: datetime | None = None,
) -> bytes:
    """Format a ``Received:`` trace field (RFC 5321 §4.4), folded, with CRLF.

    *protocol* is the "with" value from the IANA Mail Transmission Types
    registry: ``SMTP``, ``ESMTP``, ``ESMTPS`` (TLS), ``ESMTPA`` (AUTH),
    ``ESMTPSA`` (both), ``LMTP`` ... *helo* is the client's EHLO/HELO
    argument; *peer_ip* its address (a TCP-info comment); *tls* an optional
    comment such as ``"TLSv1.3 TLS_AES_256_GCM_SHA384"``; *recipient* is
    added as a ``for`` clause when there is exactly one.  Prepend the result
    to the message before delivering or queueing it.
    """
    key = (by, protocol, helo, peer_ip, peer_host, tls)
    head = _TRACE_HEADS.get(key)
    if head is None:
        head = _trace_head(by, protocol, helo, peer_ip, peer_host, tls)
        if len(_TRACE_HEADS) >= _TRACE_HEADS_MAX:
            _TRACE_HEADS.clear()  # bounded: HELO names come from clients
        _TRACE_HEADS[key] = head
    stamp = _now_stamp() if when is None else imf.format_date(when)
    if recipient is not None:
        tail = f" id {_safe(queue_id)}\r\n\tfor <{_safe(recipient)}>; {stamp}\r\n"
    else:
        tail = f" id {_safe(queue_id)}; {stamp}\r\n"
    return (head + tail).encode("ascii")


# The start of a Received field up to "with ...", by what it depends on: an
# MTA greets with the same name from the same address on every connection,
# and sanitising and joining those parts was a third of the field's cost.
_TRACE_HEADS: dict[tuple[str, str, str | None, str | None, str | None, str | None], str] = {}
_TRACE_HEADS_MAX = 4096


def _trace_head(
    by: str,
    protocol: str,
    helo: str | None,
    peer_ip: str | None,
    peer_host: str | None,
    tls: str | None,
) -> str:
    first = "Received:"
    if helo is not None:
        first += f" from {_safe(helo)}"
        if peer_ip is not None:
            host = f"{_safe(peer_host)} " if peer_host else ""
            first += f" ({host}[{_safe(peer_ip)}])"
    second = f"by {_safe(by)} with {_safe(protocol)}"
    if tls:
        second += f" ({_safe(tls.replace(' ', '_'))})"
    return f"{first}\r\n\t{second}"


@attrs.frozen(kw_only=True)
class DsnRequest:
    """What the client asked of delivery status notifications (RFC 3461).

    Build it with :meth:`from_smtp` from the ``MAIL`` and ``RCPT`` parameters.
    """

    #: ``RET``: return the full message or only its headers in a DSN.
    ret: smtp.Ret | None = None
    #: ``ENVID``: the client's envelope id, echoed as Original-Envelope-Id.
    envid: str | None = None
    #: ``NOTIFY`` per envelope recipient (the empty set is NEVER).
    notify: Mapping[str, frozenset[smtp.NotifyCondition]] = attrs.field(factory=dict)
    #: ``ORCPT`` per envelope recipient.
    orcpt: Mapping[str, smtp.ORcpt] = attrs.field(factory=dict)

    @classmethod
    def from_smtp(
        cls, mail: smtp.MailParameters, rcpts: Mapping[str, smtp.RcptParameters]
    ) -> DsnRequest | None:
        """From the parameters of MAIL and of each RCPT (keyed by recipient address)."""
        notify = {a: p.notify for a, p in rcpts.items() if p.notify is not None}
        orcpt = {a: p.orcpt for a, p in rcpts.items() if p.orcpt is not None}
        if mail.ret is None and mail.envid is None and not notify and not orcpt:
            return None
        return cls(ret=mail.ret, envid=mail.envid, notify=notify, orcpt=orcpt)

    def wants(self, recipient: str, condition: smtp.NotifyCondition) -> bool:
        """True when a DSN is due for *recipient* on *condition*."""
        notify = self.notify.get(recipient)
        if notify is None:
            # RFC 3461 §4.1: no NOTIFY is treated as NOTIFY=FAILURE,DELAY.
            return condition in (smtp.NotifyCondition.FAILURE, smtp.NotifyCondition.DELAY)
        return condition in notify


@attrs.frozen(kw_only=True)
class RecipientResult:
    """What happened to one envelope recipient of :meth:`MDA.deliver`."""

    #: The envelope recipient as given.
    recipient: str
    #: True when delivered (and/or queued) durably.
    ok: bool
    #: For a failure: True when permanent (5xx), False when temporary (4xx).
    permanent: bool = False
    #: The SMTP reply code to give for this recipient (LMTP gives one each).
    code: int = 250
    #: The enhanced status code (RFC 3463).
    enhanced: str = "2.0.0"
    #: Human-readable reply text.
    text: str = "delivered"
    #: Accounts that received a copy through this recipient (now).
    accounts: tuple[str, ...] = ()
    #: Addresses queued through this recipient: remote ones for relay, and
    #: local accounts whose mailbox could not be written now (retried later).
    queued: tuple[str, ...] = ()
    #: For a temporary failure: the disk (or a quota) was full (``ENOSPC``,
    #: ``EDQUOT``).  The SMTP intake then answers ``452 4.3.1`` — RFC 5321
    #: §4.2.2 "insufficient system storage", RFC 3463 X.3.1 "mail system
    #: full" — rather than the generic ``451 4.3.0``.
    storage_full: bool = False


log = logging.getLogger("mailserver.mda")


class MDA:
    """Delivers messages into the local store, and hands remote ones to the queue."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        *,
        queue: Queue | None = None,
        use_executor: bool = True,
    ) -> None:
        #: Where mailboxes live.
        self.store = store
        #: Who the recipients are.
        self.directory = directory
        #: Where remote recipients go (None: remote recipients fail with 550 5.7.1).
        self.queue = queue
        #: Run file writes in the default executor (False: inline, for tests).
        self.use_executor = use_executor
        #: Called with (sender, [(recipient, action)], message, dsn request,
        #: delivery id) for recipients delivered here that asked
        #: NOTIFY=SUCCESS; the action is RFC 3464's ``delivered``, or
        #: ``expanded`` for a list.  The relay sets it.
        self.on_success_dsn: (
            Callable[[str, list[tuple[str, str]], bytes, DsnRequest, str], Awaitable[None]] | None
        ) = None
        # Recipient expansions, and the folders deliveries go to.  A
        # Directory never changes once built (a new config is a new
        # Directory: the cache is keyed on it), and a Folder object lives
        # as long as its folder, so both are looked up once, not for every
        # message (measurable in the CPU an SMTP intake costs).
        self._resolved: dict[str, Resolution | None] = {}
        self._resolved_for: Directory | None = None
        self._targets: dict[tuple[str, str], Folder] = {}
        self._targets_for: Store | None = None

    def _resolve(self, recipient: str) -> Resolution | None:
        if self._resolved_for is not self.directory:
            self._resolved = {}
            self._resolved_for = self.directory
        cache = self._resolved
        if recipient in cache:
            return cache[recipient]
        if len(cache) >= _RESOLVED_MAX:
            cache.clear()  # bounded: envelope addresses come from clients
        res = cache[recipient] = self.directory.resolve(recipient)
        return res

    async def deliver(
        self,
        envelope_from: str,
        recipients: Sequence[str],
        data: bytes | Spooled,
        *,
        delivery_id: str | None = None,
        queue_failures: bool = True,
        dsn: DsnRequest | None = None,
        body: smtp.Body | None = None,
    ) -> list[RecipientResult]:
        """Deliver *data* to every recipient; return one result per recipient, in order.

        *envelope_from* is the reverse-path without brackets (``""`` for the
        null sender).  *data* is the message as received (CRLF line ends,
        trace fields already prepended), in memory or as
        :class:`~mailserver.maildir.Spooled` parts (a spool file written as
        the data arrived: it is copied into each mailbox and the queue by
        the kernel, never assembled in memory).  *delivery_id* (a queue id, see
        :func:`new_queue_id`) makes a repeated call idempotent per account.
        Durable for every ``ok`` result when it returns.

        A local mailbox that cannot be written (disk full ...) is queued for
        a later local retry when there is a queue and *queue_failures* (the
        relay itself passes False, and gets 451 results instead).

        *dsn* carries the client's RFC 3461 requests: they travel with
        queued recipients to the next hop, and a recipient delivered here
        with ``NOTIFY=SUCCESS`` makes the MDA send a "delivered" DSN, or an
        "expanded" one for a list (through :attr:`on_success_dsn`, which the
        relay sets).

        *body* is the ``BODY=`` of the client's MAIL command (RFC 6152, RFC
        3030).  Local copies are stored as they are whatever it says; it is
        queued with remote recipients, so that the relay sends a
        ``BINARYMIME`` message's octets unchanged or converts it (RFC 3030
        §3) instead of treating it as text.
        """
        delivery_id = delivery_id or new_queue_id()
        resolved = {}
        for rcpt in recipients:
            resolved[rcpt] = self._resolve(rcpt)
        # Every account once, however many recipients lead to it.
        accounts: dict[str, Account] = {}
        remote: dict[str, None] = {}
        for res in resolved.values():
            if res is None:
                continue
            for account in res.accounts:
                accounts.setdefault(account.address, account)
            for addr in res.remote:
                remote.setdefault(addr, None)
        return_path = b"Return-Path: <" + envelope_from.encode("utf-8") + b">\r\n"
        # Prepended without copying the message: written with writev.
        stored = (
            Spooled((return_path, data)) if isinstance(data, bytes) else data.prefixed(return_path)
        )
        failed: dict[str, OSError] = {}
        copies: dict[str, int] = {}  # account -> UID of the copy made now
        for address in accounts:
            try:
                uid = await self.deliver_to_account(address, stored, delivery_id=delivery_id)
            except OSError as exc:
                failed[address] = exc
            else:
                if uid is not None:
                    copies[address] = uid
        # Accounts whose mailbox could not be written right now (disk full,
        # permissions) go to the queue with the remote recipients: the relay
        # retries them locally with the same delivery id, so the sender can
        # get its 250 and nobody gets two copies.
        later = list(remote) if self.queue is not None else []
        deferred: set[str] = set()
        if self.queue is not None and queue_failures:
            deferred = set(failed)
            later += list(failed)
        queue_error: OSError | None = None
        if later and self.queue is not None:
            try:
                # The requests are keyed by envelope address, so members a
                # list expanded to carry none (RFC 3461 §5.2.7).
                await self.queue.aenqueue(
                    envelope_from, later, data, queue_id=delivery_id, dsn=dsn, body=body
                )
            except OSError as exc:
                queue_error = exc
            else:
                for address in deferred:
                    del failed[address]
        results = []
        for rcpt in recipients:
            res = resolved[rcpt]
            if res is None:
                results.append(
                    RecipientResult(
                        recipient=rcpt,
                        ok=False,
                        permanent=True,
                        code=550,
                        enhanced="5.1.1",
                        text="no such user here",
                    )
                )
                continue
            errors = [failed[a.address] for a in res.accounts if a.address in failed]
            if res.remote and self.queue is None:
                results.append(
                    RecipientResult(
                        recipient=rcpt,
                        ok=False,
                        permanent=True,
                        code=550,
                        enhanced="5.7.1",
                        text="relaying not available",
                    )
                )
                continue
            if res.remote and queue_error is not None:
                errors.append(queue_error)
            if errors:
                full = any(e.errno in STORAGE_FULL for e in errors)
                results.append(
                    RecipientResult(
                        recipient=rcpt,
                        ok=False,
                        permanent=False,
                        # RFC 3463 X.3.1 "mail system full", else X.3.0.
                        code=452 if full else 451,
                        enhanced="4.3.1" if full else "4.3.0",
                        text=f"local delivery failed: {errors[0].strerror or errors[0]}",
                        storage_full=full,
                    )
                )
                continue
            later_here = res.remote + tuple(
                a.address for a in res.accounts if a.address in deferred
            )
            results.append(
                RecipientResult(
                    recipient=rcpt,
                    ok=True,
                    code=250,
                    enhanced="2.0.0",
                    text=f"queued as {delivery_id}"
                    if later_here
                    else f"delivered as {delivery_id}",
                    accounts=tuple(a.address for a in res.accounts if a.address not in deferred),
                    queued=later_here,
                )
            )
        if queue_failures and copies and any(not r.ok and not r.permanent for r in results):
            # The SMTP intake answers one reply for the whole message, and a
            # 4xx makes the client send all of it again (under a new queue
            # id): the copies made now would then be delivered twice.  "No
            # lost or duplicated mail": take them back, and fail every
            # recipient that had one, so the client's retry is the only copy.
            results = await self._withdraw(results, copies, delivery_id)
        if dsn is not None and envelope_from and self.on_success_dsn is not None:
            delivered = []
            for r in results:
                if not (r.ok and dsn.wants(r.recipient, smtp.NotifyCondition.SUCCESS)):
                    continue
                res = resolved[r.recipient]
                if res is not None and (
                    self.directory.is_list(r.recipient)
                    or (res.remote and res.remote != (normalize_address(r.recipient),))
                ):
                    # A list: RFC 3464 §2.3.3 "expanded" - delivered to the
                    # address given, and forwarded from there; the members
                    # carry no NOTIFY of their own (the requests are keyed
                    # by envelope address, RFC 3461 §5.2.7), so this is the
                    # sender's one notice, whether the members are local or
                    # remote.  (A remote recipient that is itself queued is
                    # the relay's to report.)
                    delivered.append((r.recipient, "expanded"))
                elif r.accounts:
                    delivered.append((r.recipient, "delivered"))
            if delivered:
                try:
                    whole = data if isinstance(data, bytes) else data.read()
                    await self.on_success_dsn(envelope_from, delivered, whole, dsn, delivery_id)
                except Exception:
                    # The message is delivered and durable: its 250 stands
                    # whatever happens to the notice about it (the relay's
                    # hook keeps a notice it cannot store; this is the last
                    # guard, for a hook that raises anyway).
                    log.exception("%s: success DSN to %s failed", delivery_id, envelope_from)
        return results

    async def _withdraw(
        self, results: list[RecipientResult], copies: dict[str, int], delivery_id: str
    ) -> list[RecipientResult]:
        """Expunge the *copies* (account -> UID); turn the results they made ok into 451."""
        kept: set[str] = set()
        for address, uid in copies.items():
            try:
                # (Also while a POP3 session holds the maildrop: see withdraw.)
                self.store.mailbox(address).folder("INBOX").withdraw([uid])
            except OSError:
                # The copy stays (the client's retry will duplicate it): the
                # best left to do is to say so.
                log.exception("%s: cannot withdraw copy %s of %s", address, uid, delivery_id)
                kept.add(address)
        first = next(r for r in results if not r.ok and not r.permanent)
        out = []
        for r in results:
            if r.ok and r.accounts and not set(r.accounts) <= kept:
                r = RecipientResult(
                    recipient=r.recipient,
                    ok=False,
                    permanent=False,
                    code=first.code,
                    enhanced=first.enhanced,
                    text=f"not delivered: {first.text}",
                    storage_full=first.storage_full,
                )
            out.append(r)
        return out

    async def deliver_to_account(
        self,
        account: str,
        data: bytes | Spooled,
        *,
        delivery_id: str,
        folder: str = "INBOX",
    ) -> int | None:
        """Deliver *data* as is into *account*'s *folder*; return the UID.

        ``None`` when a message with *delivery_id* is already there.
        """
        if self._targets_for is not self.store:
            self._targets = {}
            self._targets_for = self.store
        key = (account, folder)
        target = self._targets.get(key)
        if target is None:
            target = self.store.mailbox(account).folder(folder)
            if folder == "INBOX":  # the only folder that cannot be deleted or renamed
                if len(self._targets) >= _RESOLVED_MAX:
                    self._targets.clear()
                self._targets[key] = target
        if target.has_delivery(delivery_id):
            return None
        if self.use_executor:
            return await target.deliver(data, delivery_id=delivery_id)
        name = target.stage(data, delivery_id=delivery_id)
        try:
            return target.register(name)
        except BaseException:
            # Not acknowledged: do not leave it for a rescan to deliver.
            with contextlib.suppress(OSError):
                (target.path / "new" / name).unlink()
            raise
