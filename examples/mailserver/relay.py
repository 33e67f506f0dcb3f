"""The relay: sends queued mail to the next MTA, retries, and bounces.

* **Routing** is a static table (``[routes]`` in the config) from recipient
  domain to ``host:port``, standing in for DNS MX; ``"*"`` is a default
  route.  A domain without a route fails permanently (5.4.4, RFC 3463).
* **Sending** uses :class:`mailproto.smtp.ClientConnection` over asyncio
  streams (:func:`send_message`): greeting, EHLO (HELO if refused),
  STARTTLS when offered (opportunistic; certificate checking configurable),
  MAIL with SIZE/8BITMIME/BINARYMIME/SMTPUTF8 as needed, RCPTs (pipelined when
  PIPELINING is offered), then BDAT when CHUNKING is offered, else DATA;
  replies are per recipient.
* **Body types and line ends**: the queue keeps the ``BODY=`` a message
  arrived with (RFC 6152, RFC 3030), and the relay honours it.

  - Text (``7BIT``, ``8BITMIME``, or not recorded): every bare CR and LF is
    sent as CRLF (:func:`mailproto.codecs.normalize_line_endings`; RFC 5321
    §2.3.8 forbids them on the wire).  Passed on as they are,
    ``"\n.\r\n"`` is the end of the data for the many MTAs that accept a
    bare LF as a line end, and what follows would be read there as new
    commands (SMTP smuggling, relayed).  Postfix, which stores lines, does
    the same.  This holds for BDAT too: the body is declared as lines, and
    the next hop may pass it on with DATA.
  - ``BINARYMIME`` to a hop that offers CHUNKING and BINARYMIME: sent with
    ``BODY=BINARYMIME`` and BDAT, octets unchanged.  RFC 3030 §3 makes such
    content arbitrary octets (no line structure to repair); BDAT counts
    them (§2), so nothing in the content can end the data early: there is
    no smuggling to defend against, and normalising would corrupt binary
    parts.  Whoever passes it on without BINARYMIME must convert it (§3).
  - ``BINARYMIME`` to any other hop: RFC 3030 §3 leaves the choice between
    converting the message and returning it as undeliverable.  It is
    converted (:func:`mailproto.mime.editing.downgrade`): every part the hop
    cannot carry (``binary``, NUL, bare CR/LF, long lines, 8-bit data for a
    hop without 8BITMIME) is re-encoded as base64 or quoted-printable, its
    decoded content unchanged, and sent as 8BITMIME or 7BIT.  When that is
    impossible (not MIME, header sections that are not CRLF text ...) the
    recipients fail with ``5.6.3`` (RFC 3463: conversion required but not
    supported) and the sender gets a bounce.
  - 8-bit text to a hop without 8BITMIME (RFC 6152 §3 allows a bounce or a
    conversion): converted the same way (8-bit parts to quoted-printable or
    base64); ``5.6.3`` only when impossible (8-bit header text, a body that
    is not MIME).
  - Text with lines over 998 octets (taken at intake, as most MTAs do; RFC
    5321 §4.5.3.1.6 and RFC 5322 §2.1.1 do not let them travel on): the
    parts holding them are converted the same way, content unchanged; when
    that is impossible the message is sent as it is and the next hop decides.
  - Text (not ``BINARYMIME``) with a part labelled
    ``Content-Transfer-Encoding: binary``: the label is valid with
    ``BODY=BINARYMIME`` only (RFC 3030 §3), so the part is converted the same
    way; sent as it is when that is impossible.
* **Loops**: a message that already carries ``MAX_RECEIVED`` (100)
  ``Received:`` fields is not sent on: its remote recipients fail with
  ``5.4.6`` (RFC 3463, routing loop) and the sender gets a bounce.  RFC
  5321 §6.3 suggests exactly this count, with a threshold of at least 100;
  without it two servers whose lists name each other pass one message back
  and forth for ever (Postfix's ``hopcount_limit`` is the same guard).
* **Connection reuse**: at most ``connections_per_hop`` sessions per next
  hop are in use at once; a backlog for the hop waits for one and reuses it
  (RSET, then the next transaction: RFC 5321 §3.3, §4.1.1.5) instead of
  connecting again (:class:`SessionPool`, after Postfix's connection cache).
* **Retries**: a 4xx reply or a connection failure leaves the recipient
  pending; the next attempt waits ``retry_base * 2**(attempts-1)`` seconds,
  at most ``retry_max``.  A message still pending ``lifetime`` seconds after
  it was queued fails for the remaining recipients (4.4.7, "delivery time
  expired").
* **Bounces**: 5xx replies and expiry produce one DSN per attempt to the
  envelope sender (RFC 3464 ``multipart/report; report-type=delivery-status``
  with a human-readable part, a ``message/delivery-status`` part and the
  original header as ``text/rfc822-headers``), sent from the null
  reverse-path ``<>``.  A message whose sender is ``<>`` (a bounce itself) is
  never bounced (RFC 5321 §4.5.5): its failure is only logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone

import attrs

from mailproto import NEED_DATA, PAUSED, imf, smtp
from mailproto.codecs import normalize_line_endings
from mailproto.errors import ProtocolError
from mailproto.mime import builder
from mailproto.mime.editing import downgrade

from .config import RelaySettings
from .directory import Directory, domain_of
from .mda import MDA, DsnRequest
from .queue import FAILED, PENDING, SENT, Queue, QueuedRecipient, QueueEntry

__all__ = [
    "MAX_RECEIVED",
    "DeliveryFailure",
    "Relay",
    "SendResult",
    "Session",
    "SessionPool",
    "build_dsn",
    "open_session",
    "received_count",
    "send_message",
]

#: Recipients per SMTP transaction: the number every server must accept
#: (RFC 5321 §4.5.3.1.8).
RCPTS_PER_TRANSACTION = 100
#: Received fields after which a message is taken to be looping (RFC 5321 §6.3:
#: "a large rejection threshold, normally at least 100").
MAX_RECEIVED = 100
_RECEIVED = re.compile(rb"^received[ \t]*:", re.IGNORECASE | re.MULTILINE)


def received_count(data: bytes) -> int:
    """How many ``Received:`` fields the header section of *data* has."""
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[: end + 2]
    return len(_RECEIVED.findall(head))


log = logging.getLogger("mailserver.relay")


class DeliveryFailure(Exception):
    """The whole transaction failed (connection, greeting, MAIL, DATA)."""

    def __init__(
        self, text: str, *, permanent: bool, status: str, session_ok: bool = False
    ) -> None:
        super().__init__(text)
        #: True for 5xx-class failures.
        self.permanent = permanent
        #: RFC 3463 status code for the DSN.
        self.status = status
        #: The SMTP session is still usable (the peer answered; only this
        #: transaction failed), so it may carry another one after RSET.
        self.session_ok = session_ok


@attrs.frozen(kw_only=True)
class SendResult:
    """The outcome for one recipient of :func:`send_message`."""

    #: The recipient.
    recipient: str
    #: The reply code (0 when no reply: a connection problem).
    code: int
    #: RFC 3463 status.
    status: str
    #: The reply text (or error description).
    text: str
    #: The peer advertised DSN, so it took over the NOTIFY requests.
    peer_dsn: bool = False

    @property
    def ok(self) -> bool:
        """Accepted (2xx after the end of data)."""
        return 200 <= self.code < 300


def _status(reply: smtp.Reply) -> str:
    if reply.enhanced_status:
        return reply.enhanced_status
    return f"{reply.code // 100}.0.0"


class _Client:
    """A :class:`mailproto.smtp.ClientConnection` pumped over asyncio streams."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self.conn = smtp.ClientConnection()
        self.reader = reader
        self.writer = writer
        self.timeout = timeout

    async def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), self.timeout)

    async def event(self) -> object:
        await self.flush()
        while True:
            event = self.conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                chunk = await asyncio.wait_for(self.reader.read(65536), self.timeout)
                if not chunk:
                    raise DeliveryFailure(
                        "connection closed by peer", permanent=False, status="4.4.2"
                    )
                self.conn.receive_data(chunk)
                continue
            return event

    async def reply(self) -> smtp.Reply:
        event = await self.event()
        if isinstance(event, smtp.Reply):
            return event
        if isinstance(event, (smtp.EhloReply, smtp.RecipientReply)):
            return event.reply
        raise DeliveryFailure(f"unexpected event {event!r}", permanent=False, status="4.5.0")

    async def send(self, *events: smtp.Event) -> None:
        for ev in events:
            self.conn.send(ev)
        await self.flush()


async def send_message(
    host: str,
    port: int,
    *,
    helo: str,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    starttls: bool = True,
    tls_verify: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 60.0,
    ret: smtp.Ret | None = None,
    envid: str | None = None,
    rcpt_params: Sequence[smtp.RcptParameters] | None = None,
    body: smtp.Body | None = None,
) -> list[SendResult]:
    """Send one message to the SMTP server at *host*:*port*; one result per recipient.

    Raises :class:`DeliveryFailure` when the transaction as a whole fails
    (no connection, greeting, HELO or MAIL refused, a bad sender address); a
    refusal after the message data is the result of every accepted
    recipient, and a recipient address that cannot be written in SMTP gets
    ``553 5.1.3`` without being sent.  *ret*, *envid*
    and *rcpt_params* (RFC 3461) are passed on when the server offers DSN.
    *body* is the message's ``BODY=`` type: ``BINARYMIME`` content is sent
    unchanged with BDAT, or converted for a server without BINARYMIME (see
    the module docstring); anything else is text.  One connection, one
    transaction, QUIT; the relay itself keeps sessions open for the next
    message to the same hop (:class:`SessionPool`).
    """
    session = await open_session(
        host,
        port,
        helo=helo,
        starttls=starttls,
        tls_verify=tls_verify,
        ssl_context=ssl_context,
        timeout=timeout,
    )
    try:
        return await session.transaction(
            sender=sender,
            recipients=recipients,
            data=data,
            dsn=(ret, envid, rcpt_params),
            body=body,
        )
    finally:
        await session.close()


class Session:
    """An open, greeted SMTP session with a next hop: one transaction at a time.

    Obtain it from :func:`open_session`.  After a transaction (whatever its
    outcome, unless the connection broke) it can carry another: RFC 5321
    §3.3 lets a client send several transactions in one session; :meth:`reset`
    (RSET, §4.1.1.5) clears any state left by a failed one and proves the
    peer is still there before reuse.
    """

    def __init__(self, client: _Client, host: str, port: int) -> None:
        self._client = client
        #: The next hop.
        self.host = host
        self.port = port
        #: Transactions carried so far.
        self.transactions = 0
        #: When it was opened (event-loop time).
        self.opened = asyncio.get_running_loop().time()
        #: False once the connection failed or was closed.
        self.usable = True

    async def transaction(
        self,
        *,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
        dsn: tuple[smtp.Ret | None, str | None, Sequence[smtp.RcptParameters] | None] = (
            None,
            None,
            None,
        ),
        body: smtp.Body | None = None,
    ) -> list[SendResult]:
        """One mail transaction (MAIL, RCPTs, DATA or BDAT); one result per recipient.

        *body* as for :func:`send_message`.
        """
        self.transactions += 1
        try:
            return await _transaction(
                self._client,
                self.host,
                sender=sender,
                recipients=recipients,
                data=data,
                dsn=dsn,
                body=body,
            )
        except DeliveryFailure as exc:
            self.usable = self.usable and exc.session_ok
            raise
        except (OSError, asyncio.TimeoutError, ProtocolError) as exc:
            self.usable = False
            raise DeliveryFailure(
                f"{self.host}:{self.port}: {type(exc).__name__}: {exc}",
                permanent=False,
                status="4.4.2",
            ) from None
        except BaseException:
            self.usable = False  # cancelled mid-transaction: state unknown
            raise

    async def reset(self, timeout: float = 10.0) -> bool:
        """RSET; True when the peer answered 250 (the session is ready again)."""
        if not self.usable:
            return False
        try:
            await self._client.send(smtp.Rset())
            reply = await asyncio.wait_for(self._client.reply(), timeout)
        except (OSError, asyncio.TimeoutError, ProtocolError, DeliveryFailure):
            self.usable = False
            return False
        self.usable = reply.code == 250
        return self.usable

    async def close(self) -> None:
        """QUIT (politely, briefly) and close the connection."""
        client = self._client
        if self.usable:
            with contextlib.suppress(Exception):
                await client.send(smtp.Quit())
                await asyncio.wait_for(client.reply(), 5)
        self.usable = False
        client.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.writer.wait_closed(), 5)


async def open_session(
    host: str,
    port: int,
    *,
    helo: str,
    starttls: bool = True,
    tls_verify: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 60.0,
) -> Session:
    """Connect to *host*:*port*: greeting, EHLO (HELO if refused), opportunistic STARTTLS.

    Raises :class:`DeliveryFailure` (temporary unless the peer refused us
    with a 5xx).
    """
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        raise DeliveryFailure(
            f"cannot connect to {host}:{port}: {exc}", permanent=False, status="4.4.1"
        ) from None
    client = _Client(reader, writer, timeout)
    session = Session(client, host, port)
    try:
        await _hello(
            client,
            host,
            helo=helo,
            starttls=starttls,
            tls_verify=tls_verify,
            ssl_context=ssl_context,
        )
    except BaseException as exc:
        session.usable = False
        await session.close()
        if isinstance(exc, (OSError, asyncio.TimeoutError, ProtocolError)):
            raise DeliveryFailure(
                f"{host}:{port}: {type(exc).__name__}: {exc}", permanent=False, status="4.4.2"
            ) from None
        if isinstance(exc, DeliveryFailure):
            exc.session_ok = False
        raise
    return session


def _fail(stage: str, reply: smtp.Reply) -> DeliveryFailure:
    # The peer answered: the session itself is fine (unless it then closes,
    # which the next RSET finds out).
    return DeliveryFailure(
        f"{stage}: {reply.code} {reply.text}",
        permanent=reply.is_permanent,
        status=_status(reply),
        session_ok=reply.code != 421,  # 421: the server is closing the channel
    )


async def _hello(
    client: _Client,
    host: str,
    *,
    helo: str,
    starttls: bool,
    tls_verify: bool,
    ssl_context: ssl.SSLContext | None,
) -> None:
    conn = client.conn
    greeting = await client.reply()
    if greeting.code != 220:
        raise _fail("greeting", greeting)
    await client.send(smtp.Ehlo(domain=helo))
    reply = await client.reply()
    if not reply.is_positive:
        await client.send(smtp.Helo(domain=helo))
        reply = await client.reply()
        if not reply.is_positive:
            raise _fail("HELO", reply)
    if starttls and conn.extensions.starttls and hasattr(client.writer, "start_tls"):
        await client.send(smtp.StartTLS())
        reply = await client.reply()
        if reply.code == 220:
            ctx = ssl_context or ssl.create_default_context()
            if ssl_context is None and not tls_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            await asyncio.wait_for(
                client.writer.start_tls(ctx, server_hostname=host), client.timeout
            )
            conn.start_tls_done()
            await client.send(smtp.Ehlo(domain=helo))
            reply = await client.reply()
            if not reply.is_positive:
                raise _fail("EHLO after STARTTLS", reply)


async def _transaction(
    client: _Client,
    host: str,
    *,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    dsn: tuple[smtp.Ret | None, str | None, Sequence[smtp.RcptParameters] | None],
    body: smtp.Body | None = None,
) -> list[SendResult]:
    ext = client.conn.extensions
    utf8 = not (sender.isascii() and all(r.isascii() for r in recipients))
    # What the next hop cannot take is a permanent failure (a bounce), not a
    # retry: it will not change its mind (RFC 1870 §6, RFC 6531 §3.2, RFC
    # 6152 §3, RFC 3030 §3).  The addresses first: no conversion helps there.
    if utf8 and not ext.smtputf8:
        raise DeliveryFailure(
            f"{host} does not support SMTPUTF8 for internationalised addresses",
            permanent=True,
            status="5.6.7",
            session_ok=True,
        )
    data, binary = _prepare_body(data, body, ext, host, utf8)
    # The size of what is sent: a conversion (base64) makes it larger.
    if ext.size and len(data) > ext.size:
        raise DeliveryFailure(
            f"message size {len(data)} exceeds the fixed limit {ext.size} of {host}",
            permanent=True,
            status="5.3.4",
            session_ok=True,
        )
    ret, envid, rcpt_params = dsn if ext.dsn else (None, None, None)
    if binary:
        body_param: smtp.Body | None = smtp.Body.BINARY_MIME
    elif not data.isascii() and ext.eightbitmime:
        body_param = smtp.Body.EIGHT_BIT_MIME
    else:
        body_param = None  # 7BIT, the default (RFC 6152 §2)
    params = smtp.MailParameters(
        size=len(data) if "SIZE" in ext else None,
        body=body_param,
        smtputf8=utf8 and ext.smtputf8,
        ret=ret,
        envid=envid,
    )
    try:
        reverse = smtp.parse_mailbox(sender) if sender else None
    except ValueError:
        raise DeliveryFailure(
            f"bad sender address {sender!r}", permanent=True, status="5.1.7", session_ok=True
        ) from None
    mail = smtp.MailFrom(sender=reverse, parameters=params)
    results: dict[str, SendResult] = {}
    rcpts: list[smtp.RcptTo] = []
    valid: list[str] = []
    for i, r in enumerate(recipients):
        try:
            mailbox = smtp.parse_mailbox(r)
        except ValueError:
            results[r] = SendResult(recipient=r, code=553, status="5.1.3", text="bad address")
            continue
        params_i = rcpt_params[i] if rcpt_params is not None else smtp.RcptParameters()
        rcpts.append(smtp.RcptTo(recipient=mailbox, parameters=params_i))
        valid.append(r)
    if not rcpts:
        return [results[r] for r in recipients]
    if ext.pipelining:
        await client.send(mail, *rcpts)
        mail_reply = await client.reply()
        rcpt_replies = [await client.reply() for _ in rcpts]
        if not mail_reply.is_positive:
            raise _fail("MAIL", mail_reply)
    else:
        await client.send(mail)
        mail_reply = await client.reply()
        if not mail_reply.is_positive:
            raise _fail("MAIL", mail_reply)
        rcpt_replies = []
        for rc in rcpts:
            await client.send(rc)
            rcpt_replies.append(await client.reply())
    accepted = []
    for rcpt, rr in zip(valid, rcpt_replies):
        if rr.is_positive:
            accepted.append(rcpt)
        else:
            results[rcpt] = SendResult(
                recipient=rcpt, code=rr.code, status=_status(rr), text=rr.text, peer_dsn=ext.dsn
            )
    if accepted:
        if binary or ext.chunking:  # BINARYMIME only ever with BDAT (RFC 3030 §3)
            await client.send(smtp.Bdat(size=len(data), last=True), smtp.DataChunk(data=data))
            final = await client.reply()
        else:
            await client.send(smtp.Data())
            go = await client.reply()
            if go.code != 354:
                final = go
            else:
                await client.send(smtp.DataChunk(data=data), smtp.EndOfData())
                final = await client.reply()
        for rcpt in accepted:
            results[rcpt] = SendResult(
                recipient=rcpt,
                code=final.code,
                status=_status(final),
                text=final.text,
                peer_dsn=ext.dsn,
            )
    return [results[r] for r in recipients]


def _prepare_body(
    data: bytes, body: smtp.Body | None, ext: smtp.Extensions, host: str, utf8: bool
) -> tuple[bytes, bool]:
    """The octets to send to a hop offering *ext*, and whether they go as BINARYMIME.

    Raises a permanent :class:`DeliveryFailure` (``5.6.3``) when the hop
    cannot take the message and no conversion can make it fit.
    """
    if body is smtp.Body.BINARY_MIME:
        if ext.chunking and ext.binarymime:
            # RFC 3030 §3: arbitrary octets, counted by BDAT: sent unchanged.
            return data, True
        # RFC 3030 §3: convert, or return the message as undeliverable.
        converted = downgrade(data, allow_8bit=ext.eightbitmime)
        if converted is None:
            raise DeliveryFailure(
                f"{host} does not support BINARYMIME and the message cannot be converted"
                " for it (not MIME, or header sections that are not CRLF text)",
                permanent=True,
                status="5.6.3",
                session_ok=True,
            )
        return converted, False
    # Text (7BIT, 8BITMIME, or no type recorded): bare CR/LF are line ends,
    # sent as CRLF (RFC 5321 §2.3.8), whichever command carries the data.
    data = normalize_line_endings(data)
    eight_bit = data.isascii() or ext.eightbitmime or (utf8 and ext.smtputf8)
    long_lines = _has_long_line(data)
    # A part labelled "binary" in a message that did not arrive as
    # BINARYMIME: RFC 3030 §3 lets that label travel with BODY=BINARYMIME
    # only, so it is re-encoded like any part the hop cannot carry rather
    # than passed on mislabelled.
    if eight_bit and not long_lines and not _labels_binary(data):
        return data, False
    # 8-bit data, no 8BITMIME: RFC 6152 §3 allows a bounce or a conversion;
    # the same converter re-encodes 8-bit parts as quoted-printable/base64.
    # Lines over 998 octets (accepted at intake, as most MTAs do, but beyond
    # RFC 5321 §4.5.3.1.6 and RFC 5322 §2.1.1) are re-encoded the same way,
    # content unchanged, rather than sent for the next hop to refuse or cut.
    converted = downgrade(data, allow_8bit=eight_bit)
    if converted is None and eight_bit:
        # Only long lines, and no conversion for them (a header line, a body
        # that is not MIME): sent as they are; the next hop decides.
        return data, False
    if converted is None:
        raise DeliveryFailure(
            f"{host} does not accept 8-bit data (no 8BITMIME) and the message cannot be"
            " converted to 7 bits (8-bit header text, or a body that is not MIME)",
            permanent=True,
            status="5.6.3",
            session_ok=True,
        )
    return converted, False


#: Longest text line, CRLF excluded (RFC 5321 §4.5.3.1.6, RFC 5322 §2.1.1).
MAX_LINE = 998
#: A Content-Transfer-Encoding field naming ``binary`` (RFC 2045 §6.1: the
#: name is case-insensitive; a comment may come first, rarely).  Only a hint
#: that :func:`downgrade` must look: it parses the message.
_BINARY_LABEL = re.compile(rb"(?im)^content-transfer-encoding[ \t]*:[^\r\n]*\bbinary\b")


def _labels_binary(data: bytes) -> bool:
    """Does some part of *data* say ``Content-Transfer-Encoding: binary``?"""
    return _BINARY_LABEL.search(data) is not None


def _has_long_line(data: bytes) -> bool:
    """Does *data* (CRLF lines) hold a line longer than :data:`MAX_LINE` octets?"""
    if len(data) <= MAX_LINE:
        return False
    # Usually a few thousand short lines: the longest is found in C.
    return max(map(len, data.split(b"\r\n"))) > MAX_LINE


class SessionPool:
    """Idle SMTP sessions per next hop, for the next message to the same hop.

    Postfix's SMTP connection cache, reduced to its core: a delivery first
    :meth:`take` s an idle session to its hop — checked and reset with RSET
    — and opens a new one only when there is none; afterwards it
    :meth:`give` s the session back.  A session idle longer than
    *idle_timeout* (Postfix's ``smtp_connection_cache_time_limit``: 2 s) or
    older than *max_age* (``smtp_connection_reuse_time_limit``: 300 s) is
    closed with QUIT; at most *max_idle* wait per hop.
    """

    def __init__(
        self, *, idle_timeout: float = 2.0, max_age: float = 300.0, max_idle: int = 4
    ) -> None:
        self.idle_timeout = idle_timeout
        self.max_age = max_age
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[tuple[Session, float]]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        #: Sessions handed out again (for tests and logs).
        self.reused = 0

    async def take(self, hop: tuple[str, int]) -> Session | None:
        """An idle session to *hop*, reset and ready, or None."""
        loop = asyncio.get_running_loop()
        idle = self._idle.get(hop, [])
        while idle:
            session, since = idle.pop()  # the most recently used is the likeliest alive
            now = loop.time()
            fresh = now - since < self.idle_timeout and now - session.opened < self.max_age
            if fresh and await session.reset():
                self.reused += 1
                return session
            await session.close()
        return None

    def give(self, hop: tuple[str, int], session: Session) -> None:
        """Return *session* after a transaction (closed if it cannot be reused)."""
        loop = asyncio.get_running_loop()
        idle = self._idle.setdefault(hop, [])
        if not session.usable or len(idle) >= self.max_idle:
            self._close_later(session)
            return
        idle.append((session, loop.time()))
        loop.call_later(self.idle_timeout, self._expire)

    def _expire(self) -> None:
        now = asyncio.get_running_loop().time()
        for idle in self._idle.values():
            stale = [(s, t) for s, t in idle if now - t >= self.idle_timeout]
            for item in stale:
                idle.remove(item)
                self._close_later(item[0])

    def _close_later(self, session: Session) -> None:
        task = asyncio.get_running_loop().create_task(session.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_all(self) -> None:
        """QUIT every idle session (at shutdown)."""
        sessions = [s for idle in self._idle.values() for s, _ in idle]
        self._idle.clear()
        await asyncio.gather(*(s.close() for s in sessions), *self._closing)


# -- DSN ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Failure:
    """One recipient's block in a DSN (a failure, or a success notice)."""

    #: The recipient address.
    recipient: str
    #: RFC 3463 status (``5.1.1``, ``4.4.7``, ``2.0.0``).
    status: str
    #: The remote reply or error text (Diagnostic-Code).
    diagnostic: str
    #: The MTA that gave the reply, if any (Remote-MTA).
    remote_mta: str | None = None
    #: RFC 3464 Action: ``failed`` (default), ``delivered``, ``relayed``,
    #: ``expanded`` or ``delayed``.
    action: str = "failed"
    #: RFC 3461 ORCPT as ``(addr-type, address)``: becomes Original-Recipient.
    orcpt: tuple[str, str] | None = None
    #: For ``delayed``: when the relay gives up (POSIX time), reported as
    #: Will-Retry-Until (RFC 3464 §2.3.9).
    retry_until: float | None = None


def _header_section(message: bytes) -> bytes:
    end = message.find(b"\r\n\r\n")
    if end == -1:
        end2 = message.find(b"\n\n")
        return message if end2 == -1 else message[: end2 + 1]
    return message[: end + 2]


_INTRO = {
    "failed": "Your message could not be delivered to the following recipients:",
    "delivered": "Your message was delivered to the following recipients:",
    "expanded": (
        "Your message was delivered to the following lists, which passed it on"
        " to their members (who send no further notices):"
    ),
    "relayed": (
        "Your message was passed on to the following recipients' mail systems,"
        " which may not send further notices:"
    ),
    "delayed": (
        "Your message has not been delivered yet to the following recipients."
        " It is still queued and delivery will be retried; you do not need to"
        " send it again, and you will be told if it finally fails:"
    ),
}


def build_dsn(
    *,
    reporting_mta: str,
    sender: str,
    original: bytes,
    failures: Sequence[Failure],
    queue_id: str | None = None,
    arrival: float | None = None,
    when: datetime | None = None,
    envid: str | None = None,
    full: bool = False,
) -> bytes:
    """A delivery status notification (RFC 3464) about *original*.

    ``multipart/report; report-type=delivery-status`` (RFC 6522) with a
    human-readable text part, a ``message/delivery-status`` part (per-message
    fields then one block per recipient) and the original: its header
    section as ``text/rfc822-headers``, or with *full* (``RET=FULL``, RFC
    3461 §4.3) the whole message as ``message/rfc822``.  *envid* is the
    client's ``ENVID`` (Original-Envelope-Id).  ``From:
    MAILER-DAEMON@<reporting_mta>``; send it with the null reverse-path.
    """
    now = when or datetime.now(timezone.utc)
    kinds = {f.action for f in failures}
    # The most important outcome names the report (a mixed report is allowed).
    kind = next(
        (k for k in ("failed", "delayed", "delivered", "expanded") if k in kinds), "relayed"
    )
    lines = [f"This is the mail system at {reporting_mta}.", "", _INTRO[kind], ""]
    for f in failures:
        lines.append(f"  <{f.recipient}>: {f.action}: {f.diagnostic}")
    human = builder.text_part("\n".join(lines) + "\n")
    fields = []
    if envid:
        fields.append(f"Original-Envelope-Id: {envid}")
    fields.append(f"Reporting-MTA: dns; {reporting_mta}")
    if queue_id:
        fields.append(f"X-Queue-ID: {queue_id}")
    if arrival is not None:
        fields.append(
            "Arrival-Date: " + imf.format_date(datetime.fromtimestamp(arrival, timezone.utc))
        )
    blocks = ["\r\n".join(fields)]
    for f in failures:
        status = f.status
        if f.action == "failed" and status.startswith("4."):
            status = "5" + status[1:]  # expired: a temporary condition became final
        elif f.action == "delayed" and not status.startswith("4."):
            status = "4.0.0"  # RFC 3464 §2.3.4: a delay is a transient status
        block = []
        if f.orcpt is not None:
            block.append(f"Original-Recipient: {f.orcpt[0]}; {f.orcpt[1]}")
        block += [
            f"Final-Recipient: rfc822; {f.recipient}",
            f"Action: {f.action}",
            f"Status: {status}",
        ]
        if f.remote_mta:
            block.append(f"Remote-MTA: dns; {f.remote_mta}")
        diag = " ".join(f.diagnostic.split())
        block.append(f"Diagnostic-Code: smtp; {diag}")
        block.append(f"Last-Attempt-Date: {imf.format_date(now)}")
        if f.action == "delayed" and f.retry_until is not None:
            until = datetime.fromtimestamp(f.retry_until, timezone.utc)
            block.append(f"Will-Retry-Until: {imf.format_date(until)}")
        blocks.append("\r\n".join(block))
    status_body = ("\r\n\r\n".join(blocks) + "\r\n").encode("utf-8")
    status_part = builder.Part(
        "message/delivery-status",
        body=status_body,
        transfer_encoding="7bit" if status_body.isascii() else "8bit",
    )
    # RET=FULL returns the whole message (RFC 3461 §4.3) as message/rfc822,
    # which is 7bit or 8bit here (RFC 2046 §5.2.1): a binary original is
    # converted first, and one that cannot be is returned as its header
    # section only (RFC 3462 allows "the headers only" of the original).
    enclosed = downgrade(original, allow_8bit=True) if full else None
    if enclosed is not None:
        original_part = builder.message_part(enclosed)
    else:
        original_part = builder.Part("text/rfc822-headers", body=_header_section(original))
    report = builder.Part(
        "multipart/report",
        parts=[human, status_part, original_part],
        params={"report-type": "delivery-status"},
    )
    subject = {
        "failed": "Undelivered Mail Returned to Sender",
        "delivered": "Successful Mail Delivery Report",
        "expanded": "Successful Mail Delivery Report",
        "relayed": "Mail Relay Report",
        "delayed": "Delayed Mail (still being retried)",
    }[kind]
    msg = (
        builder.MessageBuilder(allow_8bit=True)
        .from_(f"Mail Delivery System <MAILER-DAEMON@{reporting_mta}>")
        .to(sender)
        .subject(subject)
        .date(now)
        .message_id(domain=reporting_mta)
        .header("Auto-Submitted", "auto-replied")
        .body(report)
    )
    return msg.as_bytes()


# -- the relay task -------------------------------------------------------------------


class Relay:
    """Delivers the queue in the background; run :meth:`run` as a task."""

    def __init__(
        self,
        queue: Queue,
        directory: Directory,
        mda: MDA,
        *,
        hostname: str,
        settings: RelaySettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        #: The queue to drain.
        self.queue = queue
        #: For telling local recipients (delivered with the MDA) from remote ones.
        self.directory = directory
        #: Local delivery (bounces to local senders, local recipients in the queue).
        self.mda = mda
        #: Our name (EHLO, Reporting-MTA).
        self.hostname = hostname
        #: Routes, retry and TLS settings.
        self.settings = settings
        self._clock = clock
        self._wake = queue.listen()
        mda.on_success_dsn = self.success_dsn
        self._stopping = False
        self._grace = 5.0
        # Bounds the outgoing SMTP connections of all attempts together.
        self._connections = asyncio.Semaphore(settings.max_connections)
        self._busy: set[str] = set()
        #: Open sessions kept for the next message to the same hop.
        self.sessions = SessionPool()
        # Sessions in use per hop (at most settings.connections_per_hop): a
        # backlog for one hop queues for a session instead of opening more,
        # and the waiting messages reuse the sessions as they come free.
        self._per_hop: dict[tuple[str, int], asyncio.Semaphore] = {}

    def route(self, domain: str) -> tuple[str, int] | None:
        """The next hop for *domain*, or None."""
        routes: Mapping[str, tuple[str, int]] = self.settings.routes
        return routes.get(domain.lower()) or routes.get("*")

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the *attempts*-th failed attempt."""
        delay = self.settings.retry_base * (2 ** max(0, attempts - 1))
        return float(min(delay, self.settings.retry_max))

    def wake(self) -> None:
        """Look at the queue now (after an enqueue, or in tests)."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver due entries until :meth:`stop`; sleep until the next is due.

        Each due entry is attempted in its own task, so one slow next hop
        does not hold up the others; the loop wakes on an enqueue, when an
        attempt ends, and when the next entry is due.  After :meth:`stop`
        it waits a grace period for the attempts in flight (they record
        their outcome), and returns; cancelling the task abandons them at once.  The queue stays
        on disk for the next start either way.
        """
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping:
                self._wake.clear()
                for entry in self.queue.due(self._clock()):
                    if entry.id in self._busy:
                        continue
                    task = asyncio.create_task(self.attempt(entry))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    task.add_done_callback(lambda _t: self._wake.set())
                times = [
                    e.next_attempt
                    for e in self.queue.entries()
                    if (e.pending or self.queue.unsaved(e)) and e.id not in self._busy
                ]
                delay = 3600.0 if not times else min(3600.0, max(0.0, min(times) - self._clock()))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay or 0.01)
        except asyncio.CancelledError:
            # Cancelled (not stopped): abandon the attempts in flight; their
            # entries keep their last recorded state and are retried later.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        if tasks:
            # Stopped: give the attempts in flight a little time to finish
            # and record their outcome, then abandon the rest.
            _, late = await asyncio.wait(tasks, timeout=self._grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for entry in [e for e in self.queue.entries() if self.queue.held(e)]:
            # A notice the disk refused (Queue.hold) gets one more try: the
            # disk may have room by now, and the next start then sends it.
            with contextlib.suppress(OSError):
                self.queue.save(entry)
        held = [e.id for e in self.queue.entries() if self.queue.held(e)]
        if held:
            # Notices the disk still refuses: they end with the process.
            log.error("stopping with %d notices never written, lost: %s", len(held), held)
        await self.sessions.close_all()

    def stop(self, grace: float = 5.0) -> None:
        """Ask :meth:`run` to return, after at most *grace* seconds for the
        attempts in flight (the queue stays on disk for next time)."""
        self._stopping = True
        self._grace = grace
        self._wake.set()

    async def run_once(self) -> None:
        """One pass: attempt every due entry (concurrently)."""
        due = [e for e in self.queue.due(self._clock()) if e.id not in self._busy]
        try:
            if due:
                await asyncio.gather(*(self.attempt(e) for e in due))
        finally:
            # The caller may close its event loop next: leave nothing open.
            await self.sessions.close_all()

    async def attempt(self, entry: QueueEntry) -> None:
        """Try to deliver *entry*'s pending recipients once, then record the outcome."""
        self._busy.add(entry.id)
        try:
            await self._attempt(entry)
        except Exception:
            # Whatever went wrong (a full disk while saving state ...), the
            # relay task must survive: log, back off, and try again later.
            log.exception("queue %s: attempt failed", entry.id)
            now = self._clock()
            entry.next_attempt = now + self.backoff(max(1, entry.attempts))
            if now - entry.created >= self.settings.lifetime:
                # Even a message that keeps breaking the relay leaves in the end.
                log.error("queue %s: expired after repeated errors; dropped", entry.id)
                for r in entry.pending:
                    r.status = FAILED
                with contextlib.suppress(OSError):
                    self.queue.save(entry)
        finally:
            self._busy.discard(entry.id)

    async def _attempt(self, entry: QueueEntry) -> None:
        if not entry.pending:
            # Everything was done, but the state could not be written (a
            # full disk): write it now (removing the entry), so that a
            # restart does not send the message again.
            self.queue.save(entry)
            return
        try:
            data = self.queue.read(entry.id)
        except FileNotFoundError:
            self.queue.remove(entry.id)
            return
        now = self._clock()
        entry.attempts += 1
        by_hop: dict[tuple[str, int] | None, list[QueuedRecipient]] = {}
        local: list[QueuedRecipient] = []
        for r in entry.pending:
            if self.directory.is_local(r.address):
                local.append(r)
            else:
                by_hop.setdefault(self.route(domain_of(r.address)), []).append(r)
        notices: list[Failure] = []
        if local:
            results = await self.mda.deliver(
                entry.sender,
                [r.address for r in local],
                data,
                delivery_id=entry.id,
                queue_failures=False,
            )
            for r, res in zip(local, results):
                self._record(r, res.code, res.enhanced, res.text, None, notices, "delivered")
        hops = received_count(data) if by_hop else 0
        for hop, rcpts in by_hop.items():
            if hop is None:
                for r in rcpts:
                    self._record(r, 550, "5.4.4", "no route to this domain", None, notices)
                continue
            if hops >= MAX_RECEIVED:
                for r in rcpts:
                    text = f"mail forwarding loop: {hops} Received fields"
                    self._record(r, 554, "5.4.6", text, None, notices)
                continue
            host = hop[0]
            # RFC 5321 §4.5.3.1.8: a server must take at least 100 recipients
            # per transaction, and may answer 452 beyond its own limit; more
            # go in further transactions on the same session, now, rather
            # than waiting a backoff for the 452s (Postfix's
            # smtp_destination_recipient_limit, 50, is the same idea).
            for start in range(0, len(rcpts), RCPTS_PER_TRANSACTION):
                batch = rcpts[start : start + RCPTS_PER_TRANSACTION]
                try:
                    results2 = await self._send(
                        hop,
                        sender=entry.sender,
                        recipients=[r.address for r in batch],
                        data=data,
                        dsn=(
                            smtp.Ret(entry.ret) if entry.ret in ("FULL", "HDRS") else None,
                            entry.envid,
                            [_rcpt_params(r) for r in batch],
                        ),
                        body=entry.body_type,
                    )
                except DeliveryFailure as exc:
                    # The hop is down or refuses this message: the same for
                    # every batch still to go.
                    code = 550 if exc.permanent else 451
                    for r in rcpts[start:]:
                        self._record(r, code, exc.status, str(exc), f"{host}", notices)
                    break
                for r, sr in zip(batch, results2):
                    # A DSN-capable next hop takes the NOTIFY requests over
                    # (RFC 3461 §5.2.2); otherwise a success is "relayed" here.
                    success = None if sr.peer_dsn else "relayed"
                    text = f"{sr.code} {sr.text}"
                    self._record(r, sr.code, sr.status, text, host, notices, success)
        # Expiry: whatever is still pending after the lifetime fails now.
        if entry.pending and now - entry.created >= self.settings.lifetime:
            for r in entry.pending:
                r.status = FAILED
                if r.wants("FAILURE"):
                    notices.append(
                        Failure(
                            recipient=r.address,
                            status="4.4.7",
                            diagnostic=f"delivery time expired; last error: {r.last_reply}",
                            orcpt=_orcpt(r),
                        )
                    )
        entry.next_attempt = now + self.backoff(entry.attempts)
        self._delay_warnings(entry, now, notices)
        if notices:
            try:
                await self._send_dsn(entry, data, notices)
            except OSError:
                # The notice could not be delivered nor queued (the disk is
                # full): it must not be dropped.  Put the recipients it
                # reports on back to pending (a delay warning back to due),
                # so the next attempt finds the same outcome and sends the
                # notice then.  A success notice cannot be retried that way
                # (the message went: sending it again would duplicate it).
                log.warning("queue %s: DSN not delivered, retried later", entry.id)
                failed = {n.recipient for n in notices if n.action == "failed"}
                delayed = {n.recipient for n in notices if n.action == "delayed"}
                for r in entry.recipients:
                    if r.address in failed and r.status == FAILED:
                        r.status = PENDING
                    if r.address in delayed:
                        r.delay_notified = False
                # Success notices go out in a report of their own, held in
                # the queue's memory when the disk still refuses it.
                succeeded = [n for n in notices if n.action in ("delivered", "relayed")]
                if succeeded:
                    await self._deliver_notice(
                        entry.sender,
                        self._entry_dsn(entry, data, succeeded),
                        f"{entry.id}N{entry.attempts}S",
                    )
        self.queue.save(entry)
        log.info("queue %s attempt %d: %d pending", entry.id, entry.attempts, len(entry.pending))

    async def _send(
        self,
        hop: tuple[str, int],
        *,
        sender: str,
        recipients: list[str],
        data: bytes,
        dsn: tuple[smtp.Ret | None, str | None, Sequence[smtp.RcptParameters] | None],
        body: smtp.Body | None = None,
    ) -> list[SendResult]:
        """One transaction to *hop*, on an idle session of the pool or a new one."""
        limit = self._per_hop.get(hop)
        if limit is None:
            limit = self._per_hop[hop] = asyncio.Semaphore(self.settings.connections_per_hop)
        async with limit, self._connections:
            session = await self.sessions.take(hop)
            if session is None:
                session = await open_session(
                    hop[0],
                    hop[1],
                    helo=self.hostname,
                    starttls=self.settings.starttls,
                    tls_verify=self.settings.tls_verify,
                    timeout=self.settings.timeout,
                )
            try:
                return await session.transaction(
                    sender=sender, recipients=recipients, data=data, dsn=dsn, body=body
                )
            finally:
                self.sessions.give(hop, session)

    def _delay_warnings(self, entry: QueueEntry, now: float, notices: list[Failure]) -> None:
        """Add a "delayed" notice for recipients queued longer than ``delay_warning``.

        Once per recipient (the flag is saved with the entry), only when its
        NOTIFY allows DELAY (or it gave none, RFC 3461 §4.1), never for a
        null-sender message (RFC 3461 §6.2).  The next attempt is brought
        forward to the warning time, so the notice is not late by a backoff.
        """
        due_at = entry.created + self.settings.delay_warning
        retry_until = entry.created + self.settings.lifetime
        for r in entry.pending:
            if r.delay_notified or not entry.sender or not r.wants("DELAY"):
                continue
            if now < due_at:
                entry.next_attempt = min(entry.next_attempt, due_at)
                continue
            r.delay_notified = True
            notices.append(
                Failure(
                    recipient=r.address,
                    status=r.last_status,
                    diagnostic=r.last_reply or "not delivered yet",
                    action="delayed",
                    orcpt=_orcpt(r),
                    retry_until=retry_until,
                )
            )

    @staticmethod
    def _record(
        r: QueuedRecipient,
        code: int,
        status: str,
        text: str,
        mta: str | None,
        notices: list[Failure],
        success_action: str | None = None,
    ) -> None:
        r.last_reply = text
        r.last_status = status
        if 200 <= code < 300:
            r.status = SENT
            if success_action is not None and r.wants("SUCCESS"):
                notices.append(
                    Failure(
                        recipient=r.address,
                        status=status if status.startswith("2.") else "2.0.0",
                        diagnostic=text,
                        remote_mta=mta,
                        action=success_action,
                        orcpt=_orcpt(r),
                    )
                )
        elif 500 <= code < 600:
            r.status = FAILED
            if r.wants("FAILURE"):
                notices.append(
                    Failure(
                        recipient=r.address,
                        status=status,
                        diagnostic=text,
                        remote_mta=mta,
                        orcpt=_orcpt(r),
                    )
                )
        else:
            r.status = PENDING

    def _entry_dsn(self, entry: QueueEntry, data: bytes, notices: list[Failure]) -> bytes:
        """The DSN reporting *notices* about queued *entry* (message *data*)."""
        return build_dsn(
            reporting_mta=self.hostname,
            sender=entry.sender,
            original=data,
            failures=notices,
            queue_id=entry.id,
            arrival=entry.created,
            envid=entry.envid,
            full=entry.ret == "FULL",
        )

    async def _send_dsn(self, entry: QueueEntry, data: bytes, notices: list[Failure]) -> None:
        if not entry.sender:
            # RFC 5321 §4.5.5 / RFC 3461 §6.2: never notify the null sender.
            log.warning(
                "%s: no DSN for a null-sender message: %s",
                entry.id,
                ", ".join(f"{f.recipient} {f.action}" for f in notices),
            )
            return
        dsn = self._entry_dsn(entry, data, notices)
        # The DSN's delivery id is derived from the entry and the attempt, so
        # a crash and retry of this step cannot deliver two copies locally.
        results = await self.mda.deliver(
            "", [entry.sender], dsn, delivery_id=f"{entry.id}N{entry.attempts}"
        )
        if results and not results[0].ok:
            log.warning("DSN for %s to %s failed: %s", entry.id, entry.sender, results[0].text)
            if not results[0].permanent:
                # Neither the mailbox nor the queue took it (disk full): the
                # caller keeps the notice for the next attempt.
                raise OSError(errno.EAGAIN, results[0].text)

    async def success_dsn(
        self,
        sender: str,
        recipients: list[tuple[str, str]],
        data: bytes,
        request: DsnRequest,
        qid: str,
    ) -> None:
        """Send a DSN for local deliveries that asked NOTIFY=SUCCESS.

        *recipients* are ``(address, action)``: ``delivered``, or
        ``expanded`` for a list.  Installed as :attr:`MDA.on_success_dsn
        <mailserver.mda.MDA.on_success_dsn>`.
        """
        notices = []
        for rcpt, action in recipients:
            orcpt = request.orcpt.get(rcpt)
            notices.append(
                Failure(
                    recipient=rcpt,
                    status="2.0.0",
                    diagnostic=(
                        "250 delivered to mailbox"
                        if action == "delivered"
                        else "250 delivered to the list, expanded to its members"
                    ),
                    action=action,
                    orcpt=(orcpt.addr_type, orcpt.address) if orcpt is not None else None,
                )
            )
        dsn = build_dsn(
            reporting_mta=self.hostname,
            sender=sender,
            original=data,
            failures=notices,
            queue_id=qid,
            envid=request.envid,
            full=request.ret is smtp.Ret.FULL,
        )
        await self._deliver_notice(sender, dsn, f"{qid}S")

    async def _deliver_notice(self, sender: str, dsn: bytes, delivery_id: str) -> None:
        """Deliver a success notice *dsn* to *sender*, or keep it; never raises.

        A "delivered" or "relayed" notice reports a message that went: it
        cannot be made again from the state of a queue entry, as a failure
        notice is (the recipients it reports on are done), and the message's
        own ``250`` must stand whatever happens to it.  The MDA tries the
        sender's mailbox and then the relay queue (for a remote sender, the
        queue only); when neither takes it — the disk is full — the notice
        is held in the queue's memory (:meth:`Queue.hold
        <mailserver.queue.Queue.hold>`): the relay retries it like any
        queued message and writes it to the queue as soon as the disk
        allows.  Retries use *delivery_id*, so a mailbox never gets it twice.
        """
        try:
            results = await self.mda.deliver("", [sender], dsn, delivery_id=delivery_id)
        except Exception:
            log.exception("success DSN %s to %s: delivery failed", delivery_id, sender)
            results = []
        if results and results[0].ok:
            return
        if results and results[0].permanent:
            # Nobody to give it to (the sender is no account here): the
            # null-sender notice cannot bounce either.
            log.warning("success DSN %s to %s refused: %s", delivery_id, sender, results[0].text)
            return
        log.warning(
            "success DSN %s to %s not stored (%s): held for the next attempt",
            delivery_id,
            sender,
            results[0].text if results else "error",
        )
        try:
            self.queue.hold("", [sender], dsn, queue_id=delivery_id)
        except Exception:  # (a stat of the queue directory failing: nothing left to try)
            log.exception("success DSN %s to %s lost", delivery_id, sender)


def _orcpt(r: QueuedRecipient) -> tuple[str, str] | None:
    return (r.orcpt[0], r.orcpt[1]) if r.orcpt is not None and len(r.orcpt) == 2 else None


def _rcpt_params(r: QueuedRecipient) -> smtp.RcptParameters:
    notify = None
    if r.notify is not None:
        notify = frozenset(
            smtp.NotifyCondition(c) for c in r.notify if c in ("SUCCESS", "FAILURE", "DELAY")
        )
    orcpt = _orcpt(r)
    return smtp.RcptParameters(
        notify=notify,
        orcpt=smtp.ORcpt(addr_type=orcpt[0], address=orcpt[1]) if orcpt is not None else None,
    )
