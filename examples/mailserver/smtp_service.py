"""SMTP intake: the MX port, the submission port and implicit-TLS submission.

One :class:`SMTPSession` per connection, driven by the :class:`~.pump.Pump`.
The :class:`mailproto.smtp.ServerConnection` answers syntax, sequence and
limit errors itself; this module makes the policy decisions:

========== ============================================================
MX         anyone, no AUTH; recipients must be in a local domain and
           exist (550 5.7.1 "relaying denied" otherwise — no open relay)
submission AUTH required before MAIL (RFC 6409 §4.3); the sender must be
           the authenticated account or one of its aliases; recipients in
           any domain (remote ones are queued for the relay)
smtps      submission over implicit TLS (RFC 8314 §3.3)
========== ============================================================

The message is spooled as :class:`~mailproto.smtp.DataChunk` events arrive
(never held whole by the connection): in memory up to
:data:`SPOOL_IN_MEMORY`, beyond that streamed into a file in the site's
spool directory.  The memory all sessions spool in is bounded too
(``[limits] spool_memory``, :attr:`Site.spool_budget
<mailserver.pump.Site.spool_budget>`): a thousand clients each sending a
message of 256 KiB and then stalling before its end would otherwise make
the server hold 250 MiB.  A transaction that finds no room there moves its
data to its spool file at once, without waiting.

A ``Received:`` field is prepended and :meth:`MDA.deliver
<mailserver.mda.MDA.deliver>` stores the message — a spool file as
:class:`~mailserver.maildir.Spooled` parts, which the store copies into
each mailbox file in the kernel instead of reading the message back.
The ``250`` is sent only after ``deliver`` returned, i.e. after every copy is
fsynced into its Maildir and every remote recipient is fsynced into the
queue (RFC 5321 §6.1: once the 250 is sent, the server is responsible).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO

from mailproto import sasl, smtp
from mailproto.errors import ProtocolError, ReplyHint
from mailproto.limits import SMTPLimits
from mailproto.smtp import replies

from .budget import MemoryBudget
from .config import ServerConfig
from .directory import Account, Directory, normalize_address
from .maildir import STORAGE_FULL, Spooled
from .mda import DsnRequest, new_queue_id, received_header
from .pump import Link, Peer, Site, pump_session
from .relay import MAX_RECEIVED, received_count
from .tls import plaintext_auth_allowed

__all__ = [
    "SMTPSession",
    "clear_spool",
    "smtp_handler",
    "smtp_session",
    "spooled_deliveries",
]

log = logging.getLogger("mailserver.smtp")

#: Mechanisms offered on submission.  SCRAM first: it never sends the password.
AUTH_MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
#: Spooled message data stays in memory up to this size, then goes to disk.
SPOOL_IN_MEMORY = 256 * 1024
#: A transaction takes memory from the site's spool budget in steps of this
#: many octets (one step covers most messages: one reservation each).
SPOOL_STEP = 64 * 1024

RELAY_DENIED = smtp.Reply(code=550, enhanced_status="5.7.1", lines="Relaying denied")
NO_SUCH_USER = smtp.Reply(code=550, enhanced_status="5.1.1", lines="No such user here")
SENDER_NOT_OWNED = smtp.Reply(
    code=553, enhanced_status="5.7.1", lines="Sender address not owned by the authenticated user"
)
#: RFC 3463 5.4.6, "routing loop detected"; RFC 5321 §6.3.
MAIL_LOOP = smtp.Reply(
    code=554, enhanced_status="5.4.6", lines="Too many Received fields: mail loop"
)
#: How much of a message's start is searched for Received fields: 100 of
#: them take about 6-20 KB; a header section longer than this is counted
#: in its first part only.
LOOP_SCAN = 64 * 1024
BUSY = b"421 4.3.2 Too many connections, try again later\r\n"
GREETING = smtp.Reply(code=220, lines="ESMTP mailproto")
# EHLO replies by client name: MTAs greet with the same name on every
# connection, and smtp-source opens one connection per message.
_HELLO: dict[str, smtp.Reply] = {}
_HELLO_MAX = 1024
_CLOSED = smtp.State.CLOSED
_TLS_HANDSHAKE = smtp.State.TLS_HANDSHAKE


async def answer_sasl(site: Site, question: object) -> object:
    """Answer a :mod:`mailproto.sasl` question from the directory.

    Shared by SMTP AUTH, POP3 AUTH and IMAP AUTHENTICATE.  Password checks
    derive PBKDF2 keys (milliseconds of CPU), so they run in a thread.
    """
    directory = site.directory
    if isinstance(question, sasl.CheckPassword):
        if not _acts_as_itself(question.authzid, question.authcid):
            return False  # no proxy authorisation
        password = question.password.reveal()
        loop = asyncio.get_running_loop()
        account = await loop.run_in_executor(
            None, directory.check_password, question.authcid, password
        )
        return account is not None
    if isinstance(question, sasl.LookupScramCredentials):
        if not _acts_as_itself(question.authzid, question.username):
            return None
        return directory.scram_credentials(question.username, question.mechanism)
    return False


def _acts_as_itself(authzid: str | None, login: str) -> bool:
    """True when a SASL authorization identity names the login itself (or is empty).

    RFC 4422 §3.4.1: an empty authzid means "act as the authentication
    identity".  A non-empty one asks to act as someone else, which no account
    here may do — unless it names the same user: login names are addresses,
    looked up case-insensitively (:func:`~.directory.normalize_address`), so
    ``PEPE@Example`` authorizing as ``pepe@example`` is the same identity.
    """
    return not authzid or normalize_address(authzid) == normalize_address(login)


class Spool:
    """The data of one mail transaction, kept as it arrives.

    Chunks stay in a list (no copy) until they pass *in_memory* octets, or
    until *budget* (shared by all sessions) has no room for them; then they,
    and everything after, go to a new file in *directory*.  Memory taken
    from *budget* is given back when the data goes to disk or the spool is
    closed.
    """

    def __init__(
        self,
        directory: Path,
        in_memory: int = SPOOL_IN_MEMORY,
        budget: MemoryBudget | None = None,
    ) -> None:
        self._directory = directory
        self._in_memory = in_memory
        self._budget = budget
        self._held = 0  # octets taken from the budget
        self._chunks: list[bytes] = []
        self._size = 0
        self._file: BinaryIO | None = None
        #: The spool file, once the data went to disk.
        self.path: Path | None = None
        #: The error that stopped spooling (a full disk), or None.  The rest
        #: of the data is read and dropped, and the message is answered with
        #: a temporary failure (452 4.3.1 / 451 4.3.0) at its end: raising
        #: here would drop the connection without a reply.
        self.error: OSError | None = None

    def write(self, data: bytes) -> None:
        """Add the next piece of message data."""
        if self.error is not None:
            return
        try:
            if self._file is not None:
                self._file.write(data)
                return
            self._chunks.append(data)
            self._size += len(data)
            if self._size > self._in_memory or not self._room(self._size):
                self.path = self._directory / f"{new_queue_id()}.spool"
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                self._file = os.fdopen(fd, "wb")
                self._file.writelines(self._chunks)
                self._chunks = []
                self._give_back()
        except OSError as exc:
            self.error = exc
            self.close()

    def _room(self, size: int) -> bool:
        """Is there memory for *size* octets (taking more from the budget if needed)?"""
        budget = self._budget
        if budget is None or size <= self._held:
            return True
        want = -(-size // SPOOL_STEP) * SPOOL_STEP
        if not budget.try_reserve(want - self._held):
            return False
        self._held = want
        return True

    def _give_back(self) -> None:
        if self._held and self._budget is not None:
            self._budget.release(self._held)
        self._held = 0

    def head(self, limit: int) -> bytes:
        """The first *limit* octets of the data (fewer if it is shorter)."""
        if self._file is not None and self.path is not None:
            self._file.flush()
            with open(self.path, "rb") as f:
                return f.read(limit)
        # Join only the chunks that reach the limit (a message is kept in
        # memory up to SPOOL_IN_MEMORY): its start, not the whole of it.
        taken, size = [], 0
        for chunk in self._chunks:
            taken.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
        head = taken[0] if len(taken) == 1 else b"".join(taken)
        return head[:limit] if len(head) > limit else head

    def message(self, prefix: bytes) -> bytes | Spooled:
        """The message with *prefix* (trace fields) in front."""
        if self._file is not None and self.path is not None:
            self._file.flush()
            return Spooled((prefix, self.path))
        return b"".join([prefix, *self._chunks])

    def close(self) -> None:
        """Forget the data (removing the spool file)."""
        self._chunks = []
        self._give_back()
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):  # (a full disk fails the flush too)
                file.close()
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None


def clear_spool(directory: Path) -> int:
    """Remove the spool files a previous run left behind; return how many.

    A spool file lives as long as its transaction (:meth:`Spool.close`
    removes it), so at start-up any left is from a process that was killed
    mid-transaction: its client got no ``250`` and will send again.
    Without this they would pile up, one per message in flight at each
    crash.
    """
    removed = 0
    for path in directory.glob("*.spool"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


_Settings = tuple[smtp.ServerConfig, SMTPLimits, Callable[[str], sasl.ServerMechanism]]
# Per server config and listener kind: the settings are immutable, and
# building them for every connection was a measurable share of the CPU an
# SMTP intake costs (one connection per message with smtp-source).
_SETTINGS: dict[tuple[int, bool, bool, bool], tuple[ServerConfig, _Settings]] = {}


def _connection_settings(
    cfg: ServerConfig, *, submission: bool, implicit_tls: bool, plaintext: bool
) -> _Settings:
    key = (id(cfg), submission, implicit_tls, plaintext)
    cached = _SETTINGS.get(key)
    if cached is not None and cached[0] is cfg:
        return cached[1]
    hostname = cfg.hostname
    settings = (
        smtp.ServerConfig(
            hostname=hostname,
            starttls=not implicit_tls,
            tls_active=implicit_tls,
            auth_mechanisms=AUTH_MECHANISMS if submission else (),
            auth_requires_tls=not plaintext,
            require_auth=submission,
            # Bare CR/LF: refused from strangers on the MX port (RFC 5321
            # §2.3.8; the "SMTP smuggling" defence), turned into CRLF for
            # authenticated users (curl --upload-file of an LF file...).
            # The message still ends only at CRLF "." CRLF either way.
            bare_line_endings=smtp.BareLineEndings.NORMALIZE
            if submission
            else smtp.BareLineEndings.REJECT,
        ),
        SMTPLimits(message_size=cfg.max_message_size),
        lambda name: sasl.server_mechanism(name, hostname=hostname),
    )
    _SETTINGS[key] = (cfg, settings)
    return settings


# Small caches of answers that depend only on immutable inputs (a
# Directory never changes once built; the policy comes from the config).
# Each is bounded: its keys come from clients.
_CACHE_MAX = 4096
_PLAINTEXT: dict[tuple[str, str, bool], bool] = {}
_VERDICTS: dict[Directory, dict[str, smtp.Reply | None]] = {}


def _plaintext_ok(policy: str, peer_ip: str, tls_active: bool) -> bool:
    key = (policy, peer_ip, tls_active)
    allowed = _PLAINTEXT.get(key)
    if allowed is None:
        if len(_PLAINTEXT) >= _CACHE_MAX:
            _PLAINTEXT.clear()
        allowed = _PLAINTEXT[key] = plaintext_auth_allowed(
            policy, peer_ip=peer_ip, tls_active=tls_active
        )
    return allowed


def _local_verdict(directory: Directory, recipient: str) -> smtp.Reply | None:
    """The RCPT answer for a local address (exists or not); None for a remote one."""
    cache = _VERDICTS.get(directory)
    if cache is None:
        if len(_VERDICTS) >= 16:  # sites of one process: a handful
            _VERDICTS.clear()
        cache = _VERDICTS[directory] = {}
    try:
        return cache[recipient]
    except KeyError:
        pass
    address = normalize_address(recipient)
    verdict = None
    if directory.is_local(address):
        verdict = replies.RECIPIENT_OK if directory.exists(address) else NO_SUCH_USER
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[recipient] = verdict
    return verdict


def _hello(domain: str) -> smtp.Reply:
    reply = _HELLO.get(domain)
    if reply is None:
        if len(_HELLO) >= _HELLO_MAX:
            _HELLO.clear()
        reply = _HELLO[domain] = smtp.Reply(code=250, lines="Hello " + domain)
    return reply


class SMTPSession:
    """One SMTP session: the policy half of the :class:`~.pump.Pump`."""

    def __init__(self, site: Site, link: Peer, *, submission: bool, implicit_tls: bool) -> None:
        self.site = site
        # Held weakly: the connection owns its session, and a reference back
        # made every finished connection a cycle (connection, session,
        # machine, buffers) that only the cyclic garbage collector freed -
        # about 4 % of the event loop's time at a thousand connections a
        # second, in collections of the young generations.
        self._link = weakref.ref(link)
        self.submission = submission
        self.peer_ip = link.peer_ip
        # Only submission offers AUTH; the MX port has no password to protect.
        plaintext = submission and _plaintext_ok(
            site.config.allow_plaintext_auth, self.peer_ip, implicit_tls
        )
        config, limits, mechanism = _connection_settings(
            site.config, submission=submission, implicit_tls=implicit_tls, plaintext=plaintext
        )
        self.conn = smtp.ServerConnection(config, limits=limits, sasl_mechanism=mechanism)
        self.account: Account | None = None
        self._spool: Spool | None = None
        self._closed = False

    # -- Handler ---------------------------------------------------------------------

    def closed(self) -> bool:
        return self._closed or self.conn.state is _CLOSED

    def tls_requested(self) -> bool:
        return self.conn.state is _TLS_HANDSHAKE

    async def on_notify(self) -> None:
        return None

    def on_shutdown(self) -> bytes:
        return b"421 4.3.2 Server shutting down, try again later\r\n"

    def on_timeout(self) -> bytes:
        return b"421 4.4.2 Timeout, closing connection\r\n"

    def on_error(self, exc: ProtocolError) -> bytes:
        # A limit hit in receive_data (a client pipelining without reading)
        # queues nothing: the hint carries the reply to send before closing.
        hint = getattr(exc, "hint", None)
        if isinstance(hint, ReplyHint) and hint.code is not None and 400 <= hint.code < 600:
            status = f" {hint.enhanced_status}" if hint.enhanced_status else ""
            return f"{hint.code}{status} {hint.text}\r\n".encode("ascii", "replace")
        return b"421 4.7.0 Protocol error, closing connection\r\n"

    async def handle(self, event: object) -> None:
        if isinstance(event, smtp.EndOfData):
            self.conn.send(await self._deliver())
        elif isinstance(event, smtp.AuthQuestion):
            self.conn.send(smtp.AuthAnswer(answer=await answer_sasl(self.site, event.question)))
        else:
            self.handle_now(event)

    def handle_now(self, event: object) -> bool:
        """Answer *event* if that needs no waiting; False for the delivery and SASL.

        The pump calls this straight from the socket callback for the
        commands of a transaction, so most of a session runs without waking
        the session task (see :class:`~.pump.Pump`).  One table lookup by
        the event's type (:data:`_ANSWERS`) rather than a chain of
        ``isinstance`` tests: a session sees eight events a message, and
        those the connection answered itself (QUIT, RSET, NOOP, a refused
        command...) went through every test.
        """
        answer = _ANSWERS.get(type(event))
        return True if answer is None else answer(self, event)

    def _on_data_chunk(self, event: smtp.DataChunk) -> bool:
        spool = self._spool
        if spool is None:
            spool = self._spool = Spool(self.site.spool, budget=self.site.spool_budget)
        spool.write(event.data)
        return True

    def _on_rcpt(self, event: smtp.RcptTo) -> bool:
        self.conn.send(self._check_recipient(event))
        return True

    def _on_mail(self, event: smtp.MailFrom) -> bool:
        self.conn.send(self._check_sender(event))
        return True

    def _on_hello(self, event: smtp.Ehlo | smtp.Helo) -> bool:
        self.conn.send(_hello(event.domain))
        return True

    def _later(self, event: object) -> bool:
        return False  # (the delivery, a SASL check: handle() awaits them)

    def _on_aborted(self, event: object) -> bool:
        self._discard()
        return True

    def _on_authenticated(self, event: smtp.Authenticated) -> bool:
        self.account = self.site.directory.account(event.authcid)
        return True

    def _on_vrfy(self, event: object) -> bool:
        self.conn.send(replies.CANNOT_VRFY)
        return True

    def _on_expn(self, event: object) -> bool:
        self.conn.send(replies.NOT_IMPLEMENTED)  # list members are not disclosed
        return True

    def _on_closed(self, event: object) -> bool:
        self._discard()
        self._closed = True
        return True

    # -- policy ----------------------------------------------------------------------

    def _check_sender(self, event: smtp.MailFrom) -> smtp.Reply:
        if not self.submission or event.sender is None:
            return replies.SENDER_OK
        # RFC 6409 §4.1 / §6.1: a submission server may check that the
        # sender is one the authenticated user may use.
        owner = self.site.directory.account(str(event.sender))
        if self.account is None or owner is None or owner.address != self.account.address:
            return SENDER_NOT_OWNED
        return replies.SENDER_OK

    def _check_recipient(self, event: smtp.RcptTo) -> smtp.Reply:
        verdict = _local_verdict(self.site.directory, str(event.recipient))
        if verdict is not None:
            return verdict
        if self.submission and self.account is not None:
            return replies.RECIPIENT_OK
        return RELAY_DENIED

    def _discard(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    async def _deliver(self) -> smtp.Reply:
        spool, self._spool = self._spool, None
        if spool is None:
            spool = Spool(self.site.spool)
        if spool.path is None:
            # In memory: the store holds its own reference to the octets.
            try:
                return await self._deliver_spool(spool)
            finally:
                spool.close()
        # A spool file is read by a store thread, which may start after this
        # caller is cancelled (a shutdown past its grace period): the store
        # then registers the message all the same (Folder.deliver), but only
        # if its file is still there.  So the delivery runs on in a task of
        # its own, and the file is removed when that task is done.
        delivery = asyncio.ensure_future(self._deliver_spool(spool))
        _SPOOLED.add(delivery)  # (the loop keeps a weak reference only)
        delivery.add_done_callback(lambda task: _delivered(task, spool))
        return await asyncio.shield(delivery)

    async def _deliver_spool(self, spool: Spool) -> smtp.Reply:
        if spool.error is not None:
            # The data could not be spooled (see Spool.error): nothing was
            # delivered, the client may send it again.
            if spool.error.errno in STORAGE_FULL:
                return replies.INSUFFICIENT_STORAGE
            return smtp.Reply(code=451, enhanced_status="4.3.0", lines="spool write failed")
        if received_count(spool.head(LOOP_SCAN)) >= MAX_RECEIVED:
            # RFC 5321 §6.3: count the Received fields to detect a loop,
            # with a threshold of at least 100.  Refused here, at intake,
            # not only when relaying (relay.py): otherwise every pass of a
            # looping message would deliver another copy to local members
            # of the lists it loops through.
            return MAIL_LOOP
        conn = self.conn
        mail = conn.mail_from
        sender = str(mail.sender) if mail is not None and mail.sender is not None else ""
        rcpts = [normalize_address(str(r.recipient)) for r in conn.recipients]
        # RFC 3461 requests (DSN is advertised): NOTIFY and ORCPT per
        # recipient, keyed as the MDA sees the recipient; RET and ENVID.
        dsn = (
            DsnRequest.from_smtp(
                mail.parameters, dict(zip(rcpts, (r.parameters for r in conn.recipients)))
            )
            if mail is not None
            else None
        )
        qid = new_queue_id()
        link = self._link()  # (alive: the connection awaits this delivery)
        tls = link.tls_version if link is not None else None
        protocol = "ESMTP" + ("S" if tls else "") + ("A" if self.account else "")
        trace = received_header(
            by=self.site.config.hostname,
            protocol=protocol,
            queue_id=qid,
            helo=conn.client_domain or "unknown",
            peer_ip=self.peer_ip or None,
            recipient=rcpts[0] if len(rcpts) == 1 else None,
            tls=tls,
        )
        try:
            results = await self.site.mda.deliver(
                sender,
                rcpts,
                spool.message(trace),
                delivery_id=qid,
                dsn=dsn,
                # RFC 3030 §3: the BODY type travels with queued mail, so the
                # relay can keep BINARYMIME octets intact or convert them.
                body=mail.parameters.body if mail is not None else None,
            )
        except OSError:
            return replies.INSUFFICIENT_STORAGE
        if any(r.queued for r in results):
            self.site.on_queued()
        if all(r.ok for r in results):
            return smtp.Reply(code=250, enhanced_status="2.0.0", lines=f"OK queued as {qid}")
        # Accounts that did get their copy keep it; a retry by the client
        # would give them a second one, but a 4xx must still be honest.
        failed = [r for r in results if not r.ok]
        temporary = [r for r in failed if not r.permanent]
        if temporary:
            # The MDA's results carry the code: 452 4.3.1 for a full disk or
            # quota (RFC 5321 §4.2.2 "insufficient system storage", RFC 3463
            # X.3.1 "mail system full"), which wins, else 451 4.3.0.  The MDA
            # has taken back the copies it made, so the client's retry
            # delivers each exactly once.
            first = next((r for r in temporary if r.storage_full), temporary[0])
            return smtp.Reply(code=first.code, enhanced_status=first.enhanced, lines=first.text)
        worst = failed[0]
        return smtp.Reply(code=554, enhanced_status="5.0.0", lines=worst.text)


#: Deliveries of spooled messages in progress (see SMTPSession._deliver).
_SPOOLED: set[asyncio.Future[smtp.Reply]] = set()


def spooled_deliveries() -> list[asyncio.Future[smtp.Reply]]:
    """The deliveries of spooled messages still running, perhaps for callers
    already cancelled: shutdown lets them finish before the loop ends."""
    return list(_SPOOLED)


def _delivered(task: asyncio.Future[smtp.Reply], spool: Spool) -> None:
    """A spooled message's delivery is over: remove its file."""
    _SPOOLED.discard(task)
    spool.close()
    if not task.cancelled() and task.exception() is not None:
        # Its caller was cancelled and will never see this: say it here.
        log.error("delivery of a spooled message failed", exc_info=task.exception())


#: What :meth:`SMTPSession.handle_now` does with each event type.  Events
#: not here (Rset, Noop, Quit, StartTLS, CommandRejected, AuthFailed...)
#: were answered by the connection itself.
_ANSWERS: dict[type, Callable[[SMTPSession, Any], bool]] = {
    smtp.DataChunk: SMTPSession._on_data_chunk,
    smtp.RcptTo: SMTPSession._on_rcpt,
    smtp.MailFrom: SMTPSession._on_mail,
    smtp.Ehlo: SMTPSession._on_hello,
    smtp.Helo: SMTPSession._on_hello,
    smtp.EndOfData: SMTPSession._later,
    smtp.AuthQuestion: SMTPSession._later,
    smtp.MessageAborted: SMTPSession._on_aborted,
    smtp.Authenticated: SMTPSession._on_authenticated,
    smtp.Vrfy: SMTPSession._on_vrfy,
    smtp.Expn: SMTPSession._on_expn,
    smtp.ConnectionClosed: SMTPSession._on_closed,
}


def smtp_session(
    site: Site, *, submission: bool, implicit_tls: bool
) -> Callable[[Link], Awaitable[None]]:
    """The coroutine serving one accepted connection on an SMTP listener.

    With *implicit_tls* the listener itself was created with the SSL context,
    so the link is already encrypted when the session starts.
    """
    make = smtp_handler(site, submission=submission, implicit_tls=implicit_tls)

    async def run(link: Link) -> None:
        session = make(link)
        await pump_session(
            link,
            session.conn,
            session,
            ssl_context=site.ssl_context,
            idle_timeout=site.smtp_timeout,
        )

    return run


def smtp_handler(
    site: Site, *, submission: bool, implicit_tls: bool = False
) -> Callable[[Peer], SMTPSession]:
    """Makes the session of one connection, its greeting queued.

    :class:`~.rawpump.RawListener` serves the plain MX and submission
    ports with it (the peer is the connection's
    :class:`~.rawpump.RawSession`), :func:`smtp_session` the implicit-TLS
    port (the peer is its :class:`~.pump.Link`).
    """

    def make(peer: Peer) -> SMTPSession:
        session = SMTPSession(site, peer, submission=submission, implicit_tls=implicit_tls)
        session.conn.send(GREETING)
        return session

    return make
