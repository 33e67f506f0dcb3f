"""POP3 access (RFC 1939) to each account's INBOX: port 110-style with STLS
(RFC 2595), port 995-style implicit TLS (RFC 8314), SASL AUTH (RFC 5034),
USER/PASS, APOP, UIDL and TOP.

The :class:`mailproto.pop3.ServerConnection` answers CAPA, STAT, LIST, UIDL,
DELE, RSET, NOOP and STLS itself from the listing it was given; this module
checks credentials, takes the maildrop lock, streams messages and applies
deletions at QUIT.

* **The lock** (RFC 1939 §8): a session in TRANSACTION holds the account's
  exclusive POP3 lock (:meth:`mailserver.maildir.Mailbox.pop3_lock`, an
  ``flock`` so it also excludes other processes).  A second POP3 login gets
  ``-ERR [IN-USE]`` (RFC 2449 §8.1.2).  IMAP sessions keep working on the
  same INBOX; the store does not let the POP3 session's deletions remove a
  message an IMAP client moved meanwhile.
* **UIDL** values are ``<UIDVALIDITY>.<UID>`` of the IMAP view, so they stay
  the same across sessions and restarts (RFC 1939 §7).
* **APOP** needs the shared secret in the clear on the server (the digest is
  MD5(timestamp + secret)), which SCRAM-only storage cannot provide.  The
  greeting carries an APOP timestamp only when some account was configured
  with ``apop = true`` (the demo does); other accounts get ``-ERR [AUTH]``.
* **Plaintext passwords** (USER/PASS, PLAIN, LOGIN) before TLS are refused
  unless ``allow_plaintext_auth`` permits it for this peer; SCRAM-SHA-256 and
  APOP never send the password and are always accepted.  When they are
  refused, the connection is made with ``login_requires_tls=True`` (as the
  IMAP service decides LOGINDISABLED): CAPA before STLS offers neither
  ``USER`` nor PLAIN/LOGIN, and USER or AUTH PLAIN/LOGIN get
  ``-ERR [AUTH]`` saying TLS is needed, before any password is asked for;
  after STLS, CAPA lists them all again (RFC 2595 §4).  The checks in
  :meth:`POP3Session.handle` stay as a second line.
* **Line ends** (RFC 1939 §3): a multi-line response is made of CRLF lines.
  A stored message may hold a bare LF or CR (IMAP APPEND, BDAT with
  BINARYMIME); sent as it is, ``"\n.\r\n"`` would end the listing early for
  the many clients that split lines at LF, and what follows would be read
  as the next responses.  The connection is made with
  ``normalize_newlines=True``: RETR and TOP send every bare CR and LF as
  CRLF (what Dovecot does with its LF-only files).  The octet count of LIST
  stays the size on disk, which for such a message is smaller than what
  RETR sends (computing the CRLF size would mean reading every message at
  login).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Awaitable, Callable

from mailproto import pop3, sasl
from mailproto.errors import ProtocolError, ReplyHint

from .directory import Account
from .maildir import MailboxLocked, Pop3Lock
from .pump import Link, Site, pump_session
from .smtp_service import answer_sasl

log = logging.getLogger("mailserver.pop3")

__all__ = ["BUSY", "POP3Session", "pop3_session"]

BUSY = b"-ERR [SYS/TEMP] too many connections, try again later\r\n"
#: Mechanisms offered with AUTH, SCRAM first.
SASL_MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
#: Size of each MessageData piece when streaming RETR/TOP.
PIECE = 64 * 1024

_counter = itertools.count(1)


def _timestamp(hostname: str) -> str:
    """A unique APOP timestamp (RFC 1939 §7: process id, counter, random)."""
    return f"<{os.getpid()}.{next(_counter)}.{int.from_bytes(os.urandom(4), 'big')}@{hostname}>"


class POP3Session:
    """One POP3 session: the policy half of the pump."""

    def __init__(self, site: Site, link: Link, *, implicit_tls: bool) -> None:
        self.site = site
        self.link = link
        self.conn = pop3.ServerConnection(
            user_pass=True,
            stls=not implicit_tls,
            tls_active=implicit_tls,
            sasl_mechanisms=SASL_MECHANISMS,
            sasl_factory=lambda name: sasl.server_mechanism(name, hostname=site.config.hostname),
            login_requires_tls=not site.plaintext_ok(link, False),
            expire="NEVER",
            implementation="mailproto-mailserver",
            normalize_newlines=True,
        )
        self.lock: Pop3Lock | None = None
        self.apop = any(a.apop_secret is not None for a in site.directory.accounts)

    def greet(self) -> None:
        stamp = _timestamp(self.site.config.hostname) if self.apop else None
        self.conn.send(pop3.Greeting(text="POP3 mailproto ready", timestamp=stamp))

    # -- Handler -----------------------------------------------------------------------

    def closed(self) -> bool:
        return self.conn.state is pop3.State.CLOSED

    def tls_requested(self) -> bool:
        return self.conn.state is pop3.State.TLS_HANDSHAKE

    async def on_notify(self) -> None:
        return None

    def on_shutdown(self) -> bytes:
        self._release()
        return b"-ERR [SYS/TEMP] server shutting down\r\n"

    def on_timeout(self) -> bytes:
        self._release()
        return b"-ERR autologout timer expired\r\n"

    def on_error(self, exc: ProtocolError) -> bytes:
        self._release()
        # Too many bad commands: the connection queued its own -ERR.  A
        # limit hit while reading (an over-long line, pipelining without
        # reading the answers) queues nothing: say why before closing, as
        # the other protocols do, rather than just dropping the client.
        hint = getattr(exc, "hint", None)
        if getattr(exc, "limit", None) == "errors" or not isinstance(hint, ReplyHint):
            return b""
        return b"-ERR " + hint.text.encode("ascii", "replace") + b"\r\n"

    def _plaintext_ok(self) -> bool:
        return self.site.plaintext_ok(self.link, self.conn.tls_active)

    async def handle(self, event: object) -> None:
        conn = self.conn
        if isinstance(event, pop3.Pass):
            if not self._plaintext_ok():
                conn.send(
                    pop3.ErrResponse(
                        code="AUTH", text="plaintext passwords need TLS first (use STLS)"
                    )
                )
                return
            user = conn.user or ""
            ok = await answer_sasl(
                self.site,
                sasl.CheckPassword(
                    mechanism="USER", authcid=user, authzid=None, password=event.password
                ),
            )
            self._login(self.site.directory.account(user) if ok else None)
        elif isinstance(event, pop3.Apop):
            secret = self.site.directory.apop_secret(event.name)
            stamp = conn.apop_timestamp
            ok = secret is not None and stamp is not None and event.matches(stamp, secret)
            self._login(self.site.directory.account(event.name) if ok else None)
        elif isinstance(event, pop3.AuthQuestion):
            q = event.question
            if isinstance(q, sasl.CheckPassword) and not self._plaintext_ok():
                conn.send(pop3.AuthAnswer(answer=False))
            else:
                conn.send(pop3.AuthAnswer(answer=await answer_sasl(self.site, q)))
        elif isinstance(event, pop3.Authenticated):
            self._login(self.site.directory.account(event.authcid))
        elif isinstance(event, (pop3.Retr, pop3.Top)):
            await self._send_message(event.msg)
        elif isinstance(event, pop3.Update):
            lock, self.lock = self.lock, None
            if lock is None:
                conn.send(pop3.OkResponse(text="bye"))
                return
            try:
                lock.commit([n - 1 for n in event.deleted])
            except OSError:
                conn.send(pop3.ErrResponse(code="SYS/TEMP", text="some messages not removed"))
                return
            conn.send(pop3.OkResponse(text="bye"))
        elif isinstance(event, pop3.ConnectionClosed):
            self._release()  # RFC 1939 §6: no UPDATE without QUIT

    def _login(self, account: Account | None) -> None:
        if account is None:
            self.conn.send(pop3.ErrResponse(code="AUTH", text="invalid credentials"))
            return
        try:
            lock = self.site.store.mailbox(account.address).pop3_lock()
        except MailboxLocked:
            self.conn.send(pop3.ErrResponse(code="IN-USE", text="maildrop already locked"))
            return
        except OSError:
            self.conn.send(pop3.ErrResponse(code="SYS/TEMP", text="maildrop unavailable"))
            return
        self.lock = lock
        validity = lock.folder.uidvalidity
        self.conn.send(
            pop3.Maildrop(
                messages=[
                    pop3.MessageInfo(size=m.size, uid=f"{validity}.{m.uid}") for m in lock.messages
                ]
            )
        )

    async def _send_message(self, msg: int) -> None:
        """Stream message *msg* from its file, :data:`PIECE` octets at a time.

        Never the whole message in memory: each piece is written (waiting
        while the client's side of the connection is full) before the next
        is read, so a RETR of a large message costs a piece and the
        transport's buffer, however slowly the client reads.
        """
        conn = self.conn
        assert self.lock is not None
        try:
            file = self.lock.open(msg - 1)
        except (KeyError, OSError):
            # Expunged by an IMAP client since the listing: the message is
            # answered empty (RFC 1939 gives no better way to fail it).
            conn.send(pop3.MessageEnd())
            return
        with file:
            try:
                piece = file.read(PIECE)
                while piece and conn.wants_message_data and not self.link.lost:
                    conn.send(pop3.MessageData(data=piece))
                    piece = file.read(PIECE)
                    if piece:  # more to come: let the client take this first
                        await self.link.write(conn.data_to_send())
            except OSError:
                # The disk failed in the middle: the terminator would pass
                # off a truncated message as whole; drop the connection.
                log.exception("%s: RETR %d failed while reading", self.lock.folder.path, msg)
                self.link.abort()
                return
        conn.send(pop3.MessageEnd())

    def _release(self) -> None:
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()


def pop3_session(site: Site, *, implicit_tls: bool) -> Callable[[Link], Awaitable[None]]:
    """The coroutine serving one accepted connection on a POP3 listener."""

    async def run(link: Link) -> None:
        session = POP3Session(site, link, implicit_tls=implicit_tls)
        session.greet()
        await pump_session(
            link,
            session.conn,
            session,
            ssl_context=site.ssl_context,
            idle_timeout=site.pop3_timeout,
            cleanup=session._release,
        )

    return run
