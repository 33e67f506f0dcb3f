"""IMAP access (IMAP4rev1, RFC 3501, and IMAP4rev2, RFC 9051) to the Maildir store.

The :class:`mailproto.imap.server.ServerConnection` frames commands (literals,
``LITERAL+``), answers CAPABILITY, LOGOUT, bad syntax and commands not valid
in the current state, runs the SASL exchange of AUTHENTICATE and handles
STARTTLS/COMPRESS at the stream level.  This module is the application: one
method per command, answering from :mod:`mailserver.maildir`.

Session view.  Sequence numbers are per session: a
:class:`mailproto.imap.mailbox.SelectedMailbox` keeps what *this* client was
told; the store's change hook (:meth:`~mailserver.maildir.Mailbox.watch`)
feeds it every delivery, expunge and flag change made by anyone — the MDA,
another IMAP session, a POP3 QUIT — and the session announces them when the
protocol allows (RFC 9051 §7.5.1: no EXPUNGE while answering FETCH, STORE or
SEARCH).  In IDLE (RFC 2177) the hook wakes the pump, which pushes them at
once.  The session's own EXPUNGE/MOVE goes through the same path, so there
is exactly one way an expunge reaches a client.

Extensions: UIDPLUS (APPENDUID/COPYUID, UID EXPUNGE), MOVE (RFC 6851),
CONDSTORE (RFC 7162: MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, HIGHESTMODSEQ),
QRESYNC (RFC 7162 §3.2: SELECT/EXAMINE resynchronisation, VANISHED, UID
FETCH ... VANISHED, CLOSED), SPECIAL-USE (RFC 6154: Sent, Drafts, Trash,
Junk), LIST-EXTENDED (RFC 5258) with LIST-STATUS (RFC 5819), NAMESPACE, ID,
ENABLE, IDLE, UNSELECT, ESEARCH, SEARCHRES (``$``), LITERAL+, MULTIAPPEND
(RFC 3502: several messages in one APPEND, all or none), APPENDLIMIT
(RFC 7889: the config's ``max_message_size``), COMPRESS=DEFLATE,
BODYSTRUCTURE/ENVELOPE from :mod:`mailproto.imap.structure` over
:func:`mailproto.mime.parse`.  For IMAP4rev2 clients (``ENABLE IMAP4rev2``):
no ``\\Recent``/RECENT, a LIST response in SELECT, ESEARCH for every SEARCH.

Header sections and file paths come from :mod:`mailserver.imap_cache`, so
listing a large folder does not read every message file whole.

Mailbox names from clients are untrusted: every name goes through
:func:`~mailserver.maildir.validate_folder_name` (no ``..``, ``/``, ``~``,
control characters...) before it touches the file system.
"""

from __future__ import annotations

import bisect
import datetime
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence

import attrs

from mailproto import imf, mime, sasl
from mailproto.codecs import imap_utf7
from mailproto.errors import ProtocolError
from mailproto.imap import (
    DEFAULT_CAPABILITIES,
    Authenticated,
    AuthFailed,
    BadCommand,
    ConnectionClosed,
    IdleDone,
    LiteralRequest,
    Mode,
    SaslAnswer,
    SaslQuestion,
    SelectedMailbox,
    ServerConnection,
)
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap.structure import binary_size, body_structure, envelope, section_data
from mailproto.imap.types import (
    AppendUid,
    BinarySizeRequest,
    CopyUid,
    ExtensionValue,
    ResponseCode,
    SearchKey,
    SectionData,
    SectionRequest,
    SequenceSet,
)
from mailproto.imf.headers import split_header_section
from mailproto.limits import IMAPLimits

from .directory import Account
from .imap_cache import CACHE
from .maildir import (
    STANDARD_FLAGS,
    STORAGE_FULL,
    Change,
    Folder,
    FolderNameError,
    Mailbox,
    MailboxLocked,
    MessageInfo,
    validate_folder_name,
)
from .pump import Link, Site, pump_session
from .smtp_service import answer_sasl

__all__ = ["BUSY", "IMAPSession", "imap_session"]

log = logging.getLogger("mailserver.imap")

BUSY = b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
CAPABILITIES = (
    *DEFAULT_CAPABILITIES,
    # Several messages in one APPEND, all or none (RFC 3502 §6.3.11):
    # cmd_append takes back what it stored when one of them fails.  The
    # whole command is bounded by IMAPLimits.command_size (see _settings).
    "MULTIAPPEND",
    "CONDSTORE",
    "QRESYNC",
    "SPECIAL-USE",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SEARCHRES",
)
#: Seconds a client may stay silent before it has logged in.  RFC 9051 §5.4
#: asks at least 30 minutes of an autologout timer *after* authentication
#: (``Site.imap_timeout``) and sets no bound before it; without a shorter
#: one, a thousand silent connections would hold every slot of the
#: listener for half an hour.  Clients log in right after the greeting.
PREAUTH_TIMEOUT = 120.0
#: A literal is approved against the site's :class:`~mailserver.budget.MemoryBudget`
#: once its command holds this many octets; below it, the per-connection
#: bounds (line length, this much) are enough.
LITERAL_APPROVAL = 64 * 1024
#: Seconds a client holding room in the literal budget may stay silent in
#: the middle of a literal, or read nothing of a large FETCH answer: it keeps
#: others' APPENDs and FETCHes waiting, so it gets less than the 30 idle
#: minutes of RFC 9051 §5.4 (which are for a client between commands).
LITERAL_STALL_TIMEOUT = 120.0
#: ``(limits, capabilities)`` per configured message size and literal memory
#: (a few sites per process).
_SETTINGS: dict[tuple[int, int], tuple[IMAPLimits, tuple[str, ...]]] = {}


def _settings(site: Site) -> tuple[IMAPLimits, tuple[str, ...]]:
    """The connection's bounds and capabilities for *site*.

    The config's ``max_message_size`` (SMTP's SIZE) bounds APPEND too: it
    is the largest literal accepted (a larger one is refused with ``NO
    [TOOBIG]`` before any of it is sent, or, when non-synchronising, with
    ``BAD [TOOBIG]`` while its octets are dropped as they arrive, RFC 7888
    §4), and it is announced as ``APPENDLIMIT``
    (RFC 7889) so that clients know before trying.  A whole command (all of
    a MULTIAPPEND's messages) may take a quarter of ``literal_memory``, and
    at least one maximal message: the site's budget bounds what all
    sessions hold together, so one command need not be held to one message.
    """
    size, memory = site.config.max_message_size, site.config.literal_memory
    settings = _SETTINGS.get((size, memory))
    if settings is None:
        limits = IMAPLimits(literal_size=size)
        limits = attrs.evolve(limits, command_size=max(limits.command_size, memory // 4))
        settings = _SETTINGS[(size, memory)] = (
            limits,
            (*CAPABILITIES, f"APPENDLIMIT={size}"),
        )
    return settings


#: SEARCH CHARSET values understood (RFC 9051 §6.4.4: US-ASCII and UTF-8 are
#: required; search strings are compared as Unicode text, so both are UTF-8).
CHARSETS = ("UTF-8", "US-ASCII")
#: LIST selection options (RFC 5258 §3.1, RFC 6154 §5.1) and return options
#: (RFC 5258 §3.2, RFC 5819, RFC 6154 §5.1) this server knows.
_LIST_SELECTION = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
_LIST_RETURN = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE"})
AUTH_MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
#: Collect FETCH output from the connection after this many messages...
FLUSH_EVERY = 16
#: ... and write it to the socket once this much is collected.
WRITE_SIZE = 128 * 1024
#: Untagged ID response (RFC 2971).
SERVER_ID = (("name", "mailproto-mailserver"), ("vendor", "mailproto"))
#: The largest UID (RFC 9051 §9: nz-number is a 32-bit unsigned integer).
MAX_UID = 2**32 - 1

_MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
_NEEDS_MESSAGE = frozenset(
    {"ENVELOPE", "BODY", "BODYSTRUCTURE", "RFC822", "RFC822.HEADER", "RFC822.TEXT"}
)
_SETS_SEEN = frozenset({"RFC822", "RFC822.TEXT"})
#: STATUS items this server answers (RFC 9051 §6.3.11, RFC 7162 §3.1.3, RFC 8438).
_STATUS_ITEMS = frozenset(
    {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "RECENT", "DELETED", "SIZE", "HIGHESTMODSEQ"}
)


def _ok(tag: str, text: str, code: ResponseCode | None = None) -> R.StatusResponse:
    return R.StatusResponse(tag=tag, status="OK", code=code, text=text)


def _storage_no(tag: str, exc: OSError) -> R.StatusResponse:
    """The NO for a command the disk failed under (RFC 5530 §3).

    OVERQUOTA when the disk or quota is full (as Dovecot answers ENOSPC and
    EDQUOT); UNAVAILABLE ("temporary failure because a subsystem is down")
    for other I/O errors — not SERVERBUG, which says the server broke its
    own invariants.  Both tell the client to try again later.
    """
    if exc.errno in STORAGE_FULL:
        return _no(tag, "Not enough disk space", "OVERQUOTA")
    return _no(tag, "Mail storage temporarily unavailable", "UNAVAILABLE")


def _no(tag: str, text: str, code: str | None = None) -> R.StatusResponse:
    return R.StatusResponse(
        tag=tag, status="NO", code=ResponseCode(name=code) if code else None, text=text
    )


def _bad(tag: str, text: str) -> R.StatusResponse:
    return R.StatusResponse(tag=tag, status="BAD", text=text)


def _date(ts: float, offset: int = 0) -> datetime.datetime:
    """INTERNALDATE *ts* in the zone *offset* minutes east of UTC (the APPEND's)."""
    zone = _ZONES.get(offset)
    if zone is None:
        zone = datetime.timezone(datetime.timedelta(minutes=offset))
        if len(_ZONES) < 256:  # bounded: offsets come from clients
            _ZONES[offset] = zone
    return datetime.datetime.fromtimestamp(ts, zone).replace(microsecond=0)


_ZONES: dict[int, datetime.timezone] = {0: datetime.timezone.utc}


def _folder_name(name: str) -> str:
    """A client's mailbox name, normalised to NFC, then checked (no traversal...).

    RFC 9051 §5.1: mailbox names are Net-Unicode (RFC 5198), i.e. NFC; a
    server normalises or refuses other spellings.  This one normalises, so
    ``Cafe\u0301`` and ``Caf\u00e9`` are one folder (and answers with OLDNAME
    where the spelling changed).  That is the name of a folder this server
    *creates*; an existing folder is looked up with
    :meth:`IMAPSession._existing`, which also finds one created by another
    program under a name that is not NFC.
    """
    return validate_folder_name(_nfc(name))


def _nfc(name: str) -> str:
    return name if unicodedata.is_normalized("NFC", name) else unicodedata.normalize("NFC", name)


class AmbiguousFolderName(FolderNameError):
    """A name that is NFC-equal to several existing folders, and spelled like none.

    Dovecot, or a mail program working on the Maildir directly, may create
    folders whose names are not NFC (a client that sends decomposed NFD
    names, as macOS file names are): ``A\u030a`` (NFD) next to ``\u212b``
    (ANGSTROM SIGN), both ``\u00c5`` once normalised.  Each is reached by
    its exact name; ``\u00c5``, which could mean either, is refused rather
    than guessed.
    """


class _Pattern:
    """A LIST pattern (RFC 9051 §6.3.9): ``*`` matches anything, ``%`` anything but ".".

    Not a regular expression: ``*%*%*%*x`` as a backtracking regex takes
    minutes on a 30-character name, and a client chooses the pattern.  The
    pattern is run as a bit-parallel automaton instead (bit *i* set: the
    first *i* pattern characters match the name so far), a few integer
    operations per character of the name, whatever the pattern.
    """

    __slots__ = ("_accept", "_literal", "_percent", "_star", "_text")

    def __init__(self, text: str) -> None:
        # A run of wildcards is one wildcard: "*" if it holds one, else "%".
        text = re.sub(r"[*%]{2,}", lambda m: "*" if "*" in m[0] else "%", text)
        self._text = text
        self._literal: dict[str, int] = {}
        self._star = self._percent = 0
        for i, c in enumerate(text):
            if c == "*":
                self._star |= 1 << i
            elif c == "%":
                self._percent |= 1 << i
            else:
                self._literal[c] = self._literal.get(c, 0) | 1 << i
        self._accept = 1 << len(text)

    def _run(self, name: str) -> bool:
        wild = self._star | self._percent
        state = 1 | (1 & wild) << 1  # a wildcard also matches nothing
        literal, star, percent = self._literal, self._star, self._percent
        for c in name:
            state = (
                (state & literal.get(c, 0)) << 1
                | (state & star)
                | (state & percent if c != "." else 0)
            )
            state |= (state & wild) << 1
            if not state:
                return False
        return bool(state & self._accept)

    def match(self, name: str) -> bool:
        """True when *name* matches (INBOX in any case, RFC 9051 §5.1)."""
        if len(name) < len(self._text) - self._text.count("*") - self._text.count("%"):
            return False  # every literal character needs a character of the name
        if self._run(name):
            return True
        return name == "INBOX" and _Pattern(self._text.upper())._run(name)


def _pattern(reference: str, pattern: str) -> _Pattern:
    """The LIST/LSUB pattern for *reference* and *pattern* (RFC 9051 §6.3.9)."""
    return _Pattern(reference + pattern)


class IMAPSession:
    """One IMAP session: the application half of the pump."""

    def __init__(self, site: Site, link: Link, *, implicit_tls: bool) -> None:
        self.site = site
        self.link = link
        limits, capabilities = _settings(site)
        self.conn = ServerConnection(
            limits=limits,
            capabilities=capabilities,
            auth_mechanisms=AUTH_MECHANISMS,
            starttls=not implicit_tls,
            tls=implicit_tls,
            login_requires_tls=not site.plaintext_ok(link, False),
            compress=True,
            sasl_hostname=site.config.hostname,
            literal_approval=LITERAL_APPROVAL,
        )
        #: Octets of literals reserved in the site's budget for the command
        #: being read (released once it is answered, or the session ends).
        self.literal_held = 0
        # The link's timeout is shortened to LITERAL_STALL_TIMEOUT meanwhile.
        self._stall_bounded = False
        self.account: Account | None = None
        self.mailbox: Mailbox | None = None
        self.folder: Folder | None = None
        self.view: SelectedMailbox | None = None
        self.read_only = False
        self.condstore = False
        #: ENABLE QRESYNC was sent (RFC 7162 §3.2.3): VANISHED replaces EXPUNGE.
        self.qresync = False
        #: ENABLE IMAP4rev2 was sent: no \\Recent, no RECENT (RFC 9051 App. E).
        self.rev2 = False
        self.recent: frozenset[int] = frozenset()
        #: UIDs of the last SEARCH ... RETURN (SAVE), the value of "$".
        self.saved: list[int] = []
        self.idle_tag: str | None = None
        self._flag_changes: set[int] = set()
        self._unwatch: Callable[[], None] | None = None
        self._closed = False

    def greet(self) -> None:
        self.conn.send(R.StatusResponse(tag=None, status="OK", text="IMAP4rev2 mailproto ready"))

    # -- Handler ------------------------------------------------------------------------

    def closed(self) -> bool:
        return self._closed

    def tls_requested(self) -> bool:
        return self.conn.mode is Mode.TLS_HANDSHAKE

    async def on_notify(self) -> None:
        if self.idle_tag is not None:
            self._send_updates(expunge_allowed=True)

    def on_shutdown(self) -> bytes:
        self.close()
        return b"* BYE [UNAVAILABLE] Server shutting down\r\n"

    def on_timeout(self) -> bytes:
        self.close()
        return b"* BYE Autologout; idle for too long\r\n"

    def on_error(self, exc: ProtocolError) -> bytes:
        self.close()
        return b""  # the connection queued its BYE

    def close(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        self._release_literals()

    async def _approve(self, request: LiteralRequest) -> None:
        """Reserve room for a literal in the site's budget, or refuse its command."""
        # A later literal of a command that already holds room (MULTIAPPEND)
        # does not wait: two such commands waiting for each other's room
        # would both hold theirs until the wait ran out.
        wait = 0.0 if self.literal_held else None
        if await self.site.literal_budget.reserve(request.size, wait):
            self.literal_held += request.size
            if not self._stall_bounded:
                self._stall_bounded = True
                self.link.idle_timeout = min(self.link.idle_timeout, LITERAL_STALL_TIMEOUT)
            self.conn.approve_literal()
            return
        # RFC 5530 UNAVAILABLE: temporary; the client may send it again.
        # (Earlier literals of the same command are released with it.)
        log.warning(
            "literal of %d octets refused: %d of %d in use",
            request.size,
            self.site.literal_budget.in_use,
            self.site.literal_budget.capacity,
        )
        self.conn.refuse_literal("Server busy, try again later", code="UNAVAILABLE")

    def _release_literals(self) -> None:
        if self.literal_held:
            held, self.literal_held = self.literal_held, 0
            self.site.literal_budget.release(held)
        if self._stall_bounded:
            # (What the state calls for now: the command may have been a LOGIN.)
            self.link.idle_timeout = _idle_timeout(self.site, logged_in=self.account is not None)
            self._stall_bounded = False

    async def handle(self, event: object) -> None:
        if isinstance(event, LiteralRequest):
            await self._approve(event)
            return
        try:
            await self._handle(event)
        finally:
            # Every other event ends the command whose literals were
            # reserved (answered, refused by the connection, or the client
            # left): the octets are no longer held.
            self._release_literals()

    async def _handle(self, event: object) -> None:
        conn = self.conn
        if isinstance(event, ConnectionClosed):
            self._closed = True
            self.close()
            return
        if isinstance(event, (BadCommand, AuthFailed)):
            return  # answered by the connection
        if isinstance(event, SaslQuestion):
            answer = await self._sasl_answer(event.question)
            conn.send(SaslAnswer(answer=answer))
            return
        if isinstance(event, Authenticated):
            account = self.site.directory.account(event.authcid)
            if account is None:
                conn.send(_no(event.command.tag, "No such account", "AUTHENTICATIONFAILED"))
                return
            try:
                self._login(account)
            except OSError as exc:
                # (Outside the command try below: the SASL exchange is over.)
                conn.send(_storage_no(event.command.tag, exc))
                return
            conn.send(_ok(event.command.tag, "AUTHENTICATE completed"))
            return
        if isinstance(event, IdleDone):
            self.idle_tag = None
            conn.send(_ok(event.command.tag, "IDLE terminated"))
            return
        if isinstance(event, C.Logout):
            self._closed = True
            self.close()
            return
        handler = getattr(self, "cmd_" + type(event).__name__.lower(), None)
        tag = getattr(event, "tag", None)
        if handler is None or tag is None:
            if tag is not None:
                conn.send(_bad(tag, "Command not implemented"))
            return
        try:
            await handler(event)
        except MailboxLocked:
            conn.send(_no(tag, "A POP3 session holds this mailbox", "INUSE"))
        except AmbiguousFolderName as exc:
            conn.send(_no(tag, f"Ambiguous mailbox name: {exc}", "CANNOT"))
        except FolderNameError as exc:
            conn.send(_no(tag, f"Bad mailbox name: {exc}", "CANNOT"))
        except OSError as exc:
            # A disk that fails under a command: a temporary NO, the session
            # goes on; the store leaves nothing half-done
            # (tests/examples/test_faults_imap.py).
            conn.send(_storage_no(tag, exc))

    async def _sasl_answer(self, question: object) -> object:
        if isinstance(question, sasl.CheckPassword) and not self.site.plaintext_ok(
            self.link, self.conn.tls
        ):
            return False
        return await answer_sasl(self.site, question)

    # -- helpers --------------------------------------------------------------------------

    def _login(self, account: Account) -> None:
        # The mailbox first: when the disk fails here the login is answered
        # NO (handle()) and the session stays as it was, not half logged in.
        mailbox = self.site.store.mailbox(account.address)
        for name in ("Sent", "Drafts", "Trash", "Junk"):
            if not mailbox.exists(name):
                mailbox.subscribe(name)  # first: see Mailbox.__init__
                mailbox.create_folder(name)
        self.account = account
        self.mailbox = mailbox
        self.link.idle_timeout = _idle_timeout(self.site, logged_in=True)
        self._unwatch = self.mailbox.watch(self._on_change)

    def _on_change(self, change: Change) -> None:
        if self.folder is None or self.view is None or change.folder != self.folder.name:
            return
        for uid in change.added:
            if self.view.seq(uid) is None:
                self.view.added(uid)
        for uid in change.expunged:
            self.view.removed(uid)
            self._flag_changes.discard(uid)
        self._flag_changes.update(change.flags)
        if self.idle_tag is not None:
            self.link.notify()

    def _send_updates(self, *, expunge_allowed: bool) -> None:
        view, folder = self.view, self.folder
        if view is None or folder is None:
            return
        for response in view.updates(expunge_allowed=expunge_allowed, qresync=self.qresync):
            self.conn.send(response)
        if self._flag_changes:
            changed, self._flag_changes = sorted(self._flag_changes), set()
            for uid in changed:
                seq = view.seq(uid)
                info = folder.get(uid)
                if seq is None or info is None:
                    continue
                self.conn.send(
                    R.FetchResponse(
                        seq=seq,
                        uid=uid,
                        flags=self._flags(info),
                        modseq=info.modseq if self.condstore else None,
                    )
                )

    def _flags(self, info: MessageInfo) -> tuple[str, ...]:
        flags = sorted(info.flags)
        if info.uid in self.recent and not self.rev2:
            flags.append("\\Recent")
        return tuple(flags)

    def _open(self, name: str) -> Folder | None:
        assert self.mailbox is not None
        real = self._existing(name)
        if real is None:
            return None
        try:
            return self.mailbox.folder(real)
        except KeyError:
            return None

    def _existing(self, requested: str) -> str | None:
        """The real name of the existing folder *requested* names, or None.

        The exact spelling first, then its NFC form (the name this server
        gives folders it creates, :func:`_folder_name`), then any one
        folder whose name is NFC-equal to it: Dovecot stores a folder under
        the name the client sent, so one created by a client that sends NFD
        (``Cafe\u0301``) is a Maildir++ directory of that decomposed name,
        which LIST shows as it is and which a client typing ``Caf\u00e9``
        must still reach.  RFC 9051 §5.1 makes the two spellings one name.
        Two distinct folders never meet: an exact or NFC match wins, and a
        spelling NFC-equal to several folders but none of them exactly is
        refused (:class:`AmbiguousFolderName`).  Invalid names raise
        :class:`~mailserver.maildir.FolderNameError` as before.
        """
        mailbox = self.mailbox
        assert mailbox is not None
        nfc = _folder_name(requested)
        try:
            exact = validate_folder_name(requested)
        except FolderNameError:
            exact = nfc  # only the normalised spelling is a valid name
        if mailbox.exists(exact):
            return exact
        if nfc != exact and mailbox.exists(nfc):
            return nfc
        # Rare (a miss, or a folder created elsewhere): scan for non-NFC names.
        matches = [
            info.name
            for info in mailbox.list_folders()
            if info.selectable and info.name != nfc and _nfc(info.name) == nfc
        ]
        if len(matches) > 1:
            raise AmbiguousFolderName(
                f"{len(matches)} folders are spelled {requested!r} once normalised; "
                "use the exact name LIST shows"
            )
        return matches[0] if matches else None

    def _subscribed_name(self, requested: str) -> str | None:
        """*requested* as it appears in the subscriptions (see :meth:`_existing`)."""
        assert self.mailbox is not None
        subs = self.mailbox.subscriptions()
        if requested in subs:
            return requested
        nfc = _folder_name(requested)
        if nfc in subs:
            return nfc
        matches = [name for name in subs if _nfc(name) == nfc]
        if len(matches) > 1:
            raise AmbiguousFolderName(
                f"{len(matches)} subscriptions are spelled {requested!r} once normalised; "
                "use the exact name LSUB shows"
            )
        return matches[0] if matches else None

    def _done(self, tag: str, text: str, code: ResponseCode | None = None) -> None:
        self._send_updates(expunge_allowed=True)
        self.conn.send(_ok(tag, text, code))

    # -- not authenticated -------------------------------------------------------------

    async def cmd_login(self, cmd: C.Login) -> None:
        q = sasl.CheckPassword(
            mechanism="LOGIN",
            authcid=cmd.username,
            authzid=None,
            password=sasl.Secret(cmd.password),
        )
        if not await self._sasl_answer(q):
            self.conn.send(_no(cmd.tag, "Invalid credentials", "AUTHENTICATIONFAILED"))
            return
        account = self.site.directory.account(cmd.username)
        assert account is not None
        self._login(account)
        self.conn.send(_ok(cmd.tag, "LOGIN completed"))

    async def cmd_starttls(self, cmd: C.StartTLS) -> None:
        self.conn.send(_ok(cmd.tag, "Begin TLS negotiation now"))

    # -- any state ------------------------------------------------------------------------

    async def cmd_noop(self, cmd: C.Noop) -> None:
        self._done(cmd.tag, "NOOP completed")

    async def cmd_check(self, cmd: C.Check) -> None:
        self._done(cmd.tag, "CHECK completed")

    async def cmd_id(self, cmd: C.Id) -> None:
        self.conn.send(R.IdResponse(params=SERVER_ID))
        self.conn.send(_ok(cmd.tag, "ID completed"))

    async def cmd_enable(self, cmd: C.Enable) -> None:
        # RFC 5161 §3.1 / RFC 9051 §6.3.1: ENABLED names what this command
        # enabled; unknown names and ones enabled before are left out.
        before = self._enabled()
        for cap in cmd.capabilities:
            name = cap.upper()
            if name == "CONDSTORE":
                self.condstore = True
            elif name == "QRESYNC":
                # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                self.qresync = self.condstore = True
            elif name == "IMAP4REV2":
                self.rev2 = True
        now = self._enabled()
        enabled: list[str] = []
        for cap in cmd.capabilities:
            name = {"IMAP4REV2": "IMAP4rev2"}.get(cap.upper(), cap.upper())
            if name in now and name not in before and name not in enabled:
                enabled.append(name)
        self.conn.send(R.Enabled(capabilities=tuple(enabled)))
        self.conn.send(_ok(cmd.tag, "ENABLE completed"))

    def _enabled(self) -> set[str]:
        flags = {"CONDSTORE": self.condstore, "QRESYNC": self.qresync, "IMAP4rev2": self.rev2}
        return {name for name, on in flags.items() if on}

    async def cmd_compress(self, cmd: C.Compress) -> None:
        if cmd.mechanism.upper() != "DEFLATE":
            self.conn.send(_no(cmd.tag, "Only DEFLATE", "CANNOT"))
            return
        self.conn.send(_ok(cmd.tag, "DEFLATE active"))

    async def cmd_namespace(self, cmd: C.Namespace) -> None:
        self.conn.send(
            R.NamespaceResponse(personal=(R.NamespaceDescription(prefix="", delimiter="."),))
        )
        self.conn.send(_ok(cmd.tag, "NAMESPACE completed"))

    # -- mailboxes ---------------------------------------------------------------------------

    async def cmd_list(self, cmd: C.List) -> None:
        """LIST, with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE.

        Selection options choose *which* names are listed (SUBSCRIBED:
        subscribed ones, existing or not; SPECIAL-USE: those with a
        special-use attribute; RECURSIVEMATCH: also parents of matches, with
        ``CHILDINFO``), return options *what* is said about each.
        ``\\HasChildren``/``\\HasNoChildren`` and special-use attributes are
        always returned (RFC 5258 §3.2 and RFC 6154 §5.1 allow it), so the
        CHILDREN and SPECIAL-USE return options need no work.
        """
        assert self.mailbox is not None
        selection = {s.upper() for s in cmd.selection or ()}
        returns = {r.upper() for r in cmd.return_options or ()}
        if selection - _LIST_SELECTION or returns - _LIST_RETURN:
            # RFC 5258 §3: unknown options are a BAD.
            bad = sorted((selection - _LIST_SELECTION) | (returns - _LIST_RETURN))
            self.conn.send(_bad(cmd.tag, f"Unknown LIST option {bad[0]}"))
            return
        if "RECURSIVEMATCH" in selection and not selection - {"RECURSIVEMATCH", "REMOTE"}:
            # RFC 5258 §3.1: RECURSIVEMATCH alone (or with REMOTE) is a BAD.
            self.conn.send(_bad(cmd.tag, "RECURSIVEMATCH needs another selection option"))
            return
        status_items = cmd.return_status
        if status_items is not None:
            unknown = [i for i in status_items if i.upper() not in _STATUS_ITEMS]
            if unknown:
                self.conn.send(_bad(cmd.tag, f"Unknown STATUS item {unknown[0]}"))
                return
        if any(p == "" for p in cmd.patterns):
            # RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
            self.conn.send(R.ListResponse(attributes=("\\Noselect",), delimiter=".", mailbox=""))
        # Matched on NFC forms, so "Caf\u00e9*" finds a folder Dovecot
        # stored decomposed; the name listed is the folder's own.
        patterns = [_pattern(_nfc(cmd.reference), _nfc(p)) for p in cmd.patterns if p]
        if not patterns:
            self._done(cmd.tag, "LIST completed")
            return
        subs = set(self.mailbox.subscriptions())
        subscribed_only = "SUBSCRIBED" in selection
        special_only = "SPECIAL-USE" in selection
        recursive = "RECURSIVEMATCH" in selection
        # RFC 5258 §3.1: the SUBSCRIBED selection option implies the
        # SUBSCRIBED return option.
        say_subscribed = subscribed_only or "SUBSCRIBED" in returns
        infos = {info.name: info for info in self.mailbox.list_folders()}
        names = list(infos)
        if subscribed_only:
            # RFC 5258 §3.1: subscribed names are listed even when the
            # mailbox no longer exists (then with \\NonExistent).
            names += sorted(n for n in subs if n not in infos)
        for name in names:
            if not any(p.match(_nfc(name)) for p in patterns):
                continue
            info = infos.get(name)
            extended: tuple[tuple[str, ExtensionValue], ...] = ()
            if subscribed_only and name not in subs:
                # Listed only as the parent of a subscribed match (RECURSIVEMATCH).
                prefix = name + "."
                if not recursive or not any(n.startswith(prefix) for n in subs):
                    continue
                extended = (("CHILDINFO", ("SUBSCRIBED",)),)
            if special_only and (info is None or info.special_use is None):
                continue
            attrs_: list[str] = []
            if info is None:
                # RFC 5258 §3: \\NonExistent implies \\Noselect.
                attrs_.append("\\NonExistent")
            else:
                attrs_.append("\\HasChildren" if info.has_children else "\\HasNoChildren")
                if not info.selectable:
                    attrs_.append("\\Noselect")
                if info.special_use:
                    attrs_.append(info.special_use)
            if say_subscribed and name in subs:
                attrs_.append("\\Subscribed")
            self.conn.send(
                R.ListResponse(
                    attributes=tuple(attrs_), delimiter=".", mailbox=name, extended=extended
                )
            )
            if status_items is not None and info is not None and info.selectable:
                # RFC 5819 §2: STATUS right after the LIST response, only for
                # selectable mailboxes.
                folder = self._open(name)
                if folder is not None:
                    self.conn.send(self._status(folder, status_items))
        self._done(cmd.tag, "LIST completed")

    async def cmd_lsub(self, cmd: C.Lsub) -> None:
        assert self.mailbox is not None
        pattern = _pattern(_nfc(cmd.reference), _nfc(cmd.pattern))
        for name in self.mailbox.subscriptions():
            if pattern.match(_nfc(name)):
                self.conn.send(
                    R.ListResponse(attributes=(), delimiter=".", mailbox=name, lsub=True)
                )
        self._done(cmd.tag, "LSUB completed")

    async def cmd_status(self, cmd: C.Status) -> None:
        folder = self._open(cmd.mailbox)
        if folder is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        self.conn.send(self._status(folder, cmd.items))
        self._done(cmd.tag, "STATUS completed")

    def _status(self, folder: Folder, wanted: Iterable[str]) -> R.StatusData:
        """The STATUS data of *folder* (RFC 9051 §6.3.11), for STATUS and LIST-STATUS."""
        folder.rescan(notify=True)
        items: list[tuple[str, int | str | None]] = []
        for item in wanted:
            name = item.upper()
            if name == "MESSAGES":
                value = len(folder)
            elif name == "UIDNEXT":
                value = folder.uidnext
            elif name == "UIDVALIDITY":
                value = folder.uidvalidity
            elif name == "UNSEEN":
                value = folder.unseen_count()
            elif name == "RECENT":
                value = folder.recent_count()
            elif name == "DELETED":
                value = sum(1 for m in folder.messages() if "\\Deleted" in m.flags)
            elif name == "SIZE":
                value = sum(m.size for m in folder.messages())
            elif name == "HIGHESTMODSEQ":
                value = folder.highestmodseq
            else:
                continue
            items.append((name, value))
        return R.StatusData(mailbox=folder.name, items=tuple(items))

    async def cmd_create(self, cmd: C.Create) -> None:
        assert self.mailbox is not None
        name = _folder_name(cmd.mailbox.rstrip("."))
        if cmd.special_use:
            # CREATE ... (USE (...)) of RFC 6154 §3.  The store gives
            # special uses by name only (Sent, Drafts, Trash, Junk), so this
            # server does not announce CREATE-SPECIAL-USE; a client that asks
            # anyway must not get a plain mailbox and an OK it would take for
            # "\Sent is here": a server that cannot create the mailbox with
            # the special use MUST NOT create it, answers NO, and SHOULD say
            # USEATTR.
            self.conn.send(
                _no(cmd.tag, "Special-use attributes cannot be assigned here", "USEATTR")
            )
            return
        try:
            # Another spelling of an existing folder's name is that name
            # (RFC 9051 §5.1): no second folder LIST would show alike.
            if self._existing(name) is not None:
                raise FileExistsError(name)
            self.mailbox.create_folder(name)
        except FileExistsError:
            self.conn.send(_no(cmd.tag, "Mailbox exists", "ALREADYEXISTS"))
            return
        if name != cmd.mailbox.rstrip(".") and self.rev2:
            # RFC 9051 §6.3.4: a normalised name is announced with OLDNAME.
            self.conn.send(self._list_one(name, old_name=cmd.mailbox))
        self._done(cmd.tag, "CREATE completed")

    async def cmd_delete(self, cmd: C.Delete) -> None:
        assert self.mailbox is not None
        name = self._existing(cmd.mailbox)
        if name is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        if self.folder is not None and self.folder.name == name:
            self._deselect()
        try:
            self.mailbox.delete_folder(name)
        except KeyError:
            self.conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        self._done(cmd.tag, "DELETE completed")

    async def cmd_rename(self, cmd: C.Rename) -> None:
        assert self.mailbox is not None
        old, new = self._existing(cmd.mailbox), _folder_name(cmd.new_name)
        if old is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        taken = self._existing(cmd.new_name)
        if taken is not None and taken != old:
            # The new name is another spelling of an existing folder.
            self.conn.send(_no(cmd.tag, "Target exists", "ALREADYEXISTS"))
            return
        try:
            self.mailbox.rename_folder(old, new)
        except KeyError:
            self.conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        except FileExistsError:
            self.conn.send(_no(cmd.tag, "Target exists", "ALREADYEXISTS"))
            return
        self._done(cmd.tag, "RENAME completed")

    async def cmd_subscribe(self, cmd: C.Subscribe) -> None:
        assert self.mailbox is not None
        # An existing folder is subscribed under its own name, so that LIST
        # (SUBSCRIBED) marks it; a name that exists nowhere (RFC 9051
        # §6.3.7 allows it) under its NFC form.
        name = self._existing(cmd.mailbox) or _folder_name(cmd.mailbox)
        self.mailbox.subscribe(name)
        self._done(cmd.tag, "SUBSCRIBE completed")

    async def cmd_unsubscribe(self, cmd: C.Unsubscribe) -> None:
        assert self.mailbox is not None
        name = self._subscribed_name(cmd.mailbox)
        try:
            if name is None:
                raise KeyError(cmd.mailbox)
            self.mailbox.unsubscribe(name)
        except KeyError:
            self.conn.send(_no(cmd.tag, "Not subscribed", "NONEXISTENT"))
            return
        self._done(cmd.tag, "UNSUBSCRIBE completed")

    async def cmd_append(self, cmd: C.Append) -> None:
        folder = self._open(cmd.mailbox)
        if folder is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "TRYCREATE"))
            return
        uids: list[int] = []
        for message in cmd.messages:
            flags = [f for f in (message.flags or ()) if f.lower() != "\\recent"]
            when = offset = None
            if message.date is not None:
                # The instant, and the zone the client gave it in: INTERNALDATE
                # is answered in that zone (RFC 9051 §2.3.3, §6.3.12).
                when = message.date.timestamp()
                zone = message.date.utcoffset()
                offset = int(zone.total_seconds() // 60) if zone is not None else None
            try:
                uids.append(
                    folder.append(message.data, flags=flags, internaldate=when, offset=offset or 0)
                )
            except (ValueError, OSError) as exc:
                # RFC 3502 §6.3.11: "If the server fails to append any
                # message, none of the messages are appended": take back
                # those of this command that were.
                if uids:
                    folder.withdraw(uids)
                if isinstance(exc, OSError):
                    raise  # answered by handle() (OVERQUOTA / UNAVAILABLE)
                self.conn.send(_no(cmd.tag, str(exc), "CANNOT"))
                return
        code = ResponseCode(
            name="APPENDUID",
            value=AppendUid(uidvalidity=folder.uidvalidity, uids=SequenceSet.of(*uids)),
        )
        self._done(cmd.tag, "APPEND completed", code)

    # -- selecting ----------------------------------------------------------------------------

    def _deselect(self) -> None:
        self.folder = None
        self.view = None
        self.recent = frozenset()
        self.saved = []
        self._flag_changes.clear()

    async def cmd_select(self, cmd: C.Select | C.Examine) -> None:
        qresync = cmd.qresync
        if qresync is not None:
            problem = _qresync_problem(qresync, enabled=self.qresync)
            if problem is not None:
                self.conn.send(_bad(cmd.tag, problem))
                return
        if self.folder is not None:
            # RFC 9051 §6.3.2 and RFC 7162 §3.2.11: [CLOSED] marks where the
            # responses about the old mailbox end (sent even if this SELECT
            # fails: the old mailbox is closed either way).
            self.conn.send(_untagged_ok(ResponseCode(name="CLOSED"), "Previous mailbox closed"))
        self._deselect()
        name = cmd.mailbox
        folder = self._open(name)
        if folder is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        if cmd.condstore:
            self.condstore = True
        read_only = isinstance(cmd, C.Examine)
        folder.rescan(notify=True)
        if not read_only:
            self.recent = folder.claim_recent()
        messages = folder.messages()
        self.folder = folder
        self.read_only = read_only
        self.view = SelectedMailbox(
            uidvalidity=folder.uidvalidity,
            uids=[m.uid for m in messages],
            uidnext=folder.uidnext,
            recent=len(self.recent),
            read_only=read_only,
        )
        flags = (*STANDARD_FLAGS, *folder.keywords)
        send = self.conn.send
        send(R.FlagsResponse(flags=flags))
        send(R.Exists(count=len(messages)))
        if not self.rev2:
            send(R.Recent(count=len(self.recent)))
        else:
            # RFC 9051 §6.3.2: LIST is a REQUIRED untagged response of a
            # rev2 SELECT, with the canonical name and OLDNAME when the
            # client's spelling was normalised (RFC 9051 §5.1).
            send(self._list_one(folder.name, old_name=name))
        first = folder.first_unseen()
        if first is not None:
            seq = self.view.seq(first)
            if seq is not None:
                send(_untagged_ok(ResponseCode(name="UNSEEN", value=seq), "First unseen"))
        send(_untagged_ok(ResponseCode(name="UIDVALIDITY", value=folder.uidvalidity), "UIDs valid"))
        send(_untagged_ok(ResponseCode(name="UIDNEXT", value=folder.uidnext), "Predicted next UID"))
        permanent = () if read_only else (*flags, "\\*")
        send(_untagged_ok(ResponseCode(name="PERMANENTFLAGS", value=permanent), "Limited"))
        send(
            _untagged_ok(ResponseCode(name="HIGHESTMODSEQ", value=folder.highestmodseq), "Highest")
        )
        if qresync is not None and qresync.uidvalidity == folder.uidvalidity:
            # RFC 7162 §3.2.5.1: a UIDVALIDITY mismatch means "forget
            # everything": the client refetches, nothing more is sent.
            self._resync(folder, qresync)
        code = ResponseCode(name="READ-ONLY" if read_only else "READ-WRITE")
        send(_ok(cmd.tag, ("EXAMINE" if read_only else "SELECT") + " completed", code))

    def _list_one(self, name: str, *, old_name: str) -> R.ListResponse:
        """The LIST response a rev2 SELECT carries for the mailbox it opened."""
        assert self.mailbox is not None
        info = next((i for i in self.mailbox.list_folders() if i.name == name), None)
        attrs_ = ["\\HasChildren" if info is not None and info.has_children else "\\HasNoChildren"]
        if info is not None and info.special_use:
            attrs_.append(info.special_use)
        extended: tuple[tuple[str, ExtensionValue], ...] = ()
        if old_name != name and old_name.upper() != "INBOX":
            # Extended data items are plain strings to the codec: encode the
            # name the way mailbox names go on the wire (RFC 3501 §5.1.3).
            extended = (("OLDNAME", (imap_utf7.encode(old_name),)),)
        return R.ListResponse(
            attributes=tuple(attrs_), delimiter=".", mailbox=name, extended=extended
        )

    def _resync(self, folder: Folder, qresync: C.QResync) -> None:
        """QRESYNC's part of SELECT (RFC 7162 §3.2.5.1).

        First ``VANISHED (EARLIER)`` with the UIDs expunged since the
        client's mod-sequence, then a FETCH (UID, FLAGS, MODSEQ) for every
        message changed since — both limited to the client's known UIDs
        when it sent them (as Dovecot does).  When the store's expunge
        history no longer reaches back that far, every missing UID counts
        as vanished (§3.2.5.2 allows it), trimmed by the sequence match data.
        """
        view = self.view
        assert view is not None
        largest = max(folder.uidnext - 1, 1)
        known = qresync.known_uids.resolve(largest) if qresync.known_uids else ((1, largest),)
        floor = 0
        if qresync.seq_match is not None:
            floor = _seq_match_floor(view, *qresync.seq_match, largest)
        vanished = _vanished_ranges(folder, qresync.modseq, known, floor)
        if vanished:
            self.conn.send(R.Vanished(earlier=True, uids=SequenceSet(ranges=vanished)))
        for info in folder.changed_since(qresync.modseq):
            seq = view.seq(info.uid)
            if seq is None or not _in_ranges(info.uid, known):
                continue
            self.conn.send(
                R.FetchResponse(seq=seq, uid=info.uid, flags=self._flags(info), modseq=info.modseq)
            )

    cmd_examine = cmd_select

    async def cmd_close(self, cmd: C.Close) -> None:
        text = "CLOSE completed"
        if self.folder is not None and not self.read_only:
            # RFC 9051 §6.4.1: expunge silently, no EXPUNGE responses.
            try:
                self.folder.expunge()
            except OSError:
                # CLOSE has no NO (RFC 9051 §6.4.1: OK, now in the
                # authenticated state, or BAD): the session leaves the
                # mailbox all the same.  Messages whose files could not be
                # removed stay, \Deleted, for a later expunge; the store
                # serves no message whose file is gone.
                log.warning("%s: CLOSE could not expunge", self.folder.path, exc_info=True)
                text = "CLOSE completed; some deleted messages remain (storage error)"
        self._deselect()
        self.conn.send(_ok(cmd.tag, text))

    async def cmd_unselect(self, cmd: C.Unselect) -> None:
        self._deselect()
        self.conn.send(_ok(cmd.tag, "UNSELECT completed"))

    async def cmd_idle(self, cmd: C.Idle) -> None:
        self.idle_tag = cmd.tag
        self.conn.send(R.Continuation(text="idling"))
        self._send_updates(expunge_allowed=True)

    async def cmd_expunge(self, cmd: C.Expunge) -> None:
        folder = self.folder
        if folder is None or self.read_only:
            self.conn.send(_no(cmd.tag, "Mailbox is read-only", "READ-ONLY"))
            return
        uids = None
        if cmd.uids is not None and self.view is not None:
            uids = {u for _, u in self._targets(cmd.uids, True)}
        folder.expunge(uids)
        code = None
        if self.condstore:
            # RFC 7162 §3.2.7 (as Dovecot does): the mailbox's HIGHESTMODSEQ
            # after the expunge, so a client need not ask again.
            code = ResponseCode(name="HIGHESTMODSEQ", value=folder.highestmodseq)
        self._done(cmd.tag, "EXPUNGE completed", code)

    # -- messages --------------------------------------------------------------------------

    def _targets(self, seqset: SequenceSet, uid: bool) -> list[tuple[int, int]]:
        view = self.view
        assert view is not None
        if seqset.last_result:
            # "$": the saved SEARCH result (RFC 9051 §6.4.4.1), minus what
            # was expunged since.
            pairs = ((view.seq(u), u) for u in self.saved)
            return [(s, u) for s, u in pairs if s is not None]
        return view.resolve(seqset, uid=uid)

    async def cmd_fetch(self, cmd: C.Fetch) -> None:
        folder = self.folder
        assert folder is not None and self.view is not None
        wanted = cmd.attributes
        items: list[object] = (
            list(_MACROS.get(wanted.upper(), (wanted.upper(),)))
            if isinstance(wanted, str)
            else list(wanted)
        )
        names = {i for i in items if isinstance(i, str)}
        if cmd.vanished:
            # RFC 7162 §3.2.6: only UID FETCH with CHANGEDSINCE, only after
            # ENABLE QRESYNC.
            if not cmd.uid or cmd.changed_since is None:
                self.conn.send(_bad(cmd.tag, "VANISHED needs UID FETCH with CHANGEDSINCE"))
                return
            if not self.qresync:
                self.conn.send(_bad(cmd.tag, "VANISHED without ENABLE QRESYNC"))
                return
        if cmd.uid or self.qresync:
            # RFC 9051 §6.4.9 (UID commands); with QRESYNC every FETCH
            # carries the UID, so a client can always key its cache by it.
            names.add("UID")
        if cmd.changed_since is not None:
            names.add("MODSEQ")
        if "MODSEQ" in names:
            self.condstore = True
        needs_msg = bool(names & _NEEDS_MESSAGE) or any(not isinstance(i, str) for i in items)
        sets_seen = not self.read_only and (
            bool(names & _SETS_SEEN)
            or any(isinstance(i, SectionRequest) and not i.peek for i in items)
        )
        targets = self._targets(cmd.sequence_set, cmd.uid)
        if cmd.vanished and cmd.changed_since is not None:
            largest = max(folder.uidnext - 1, 1)
            asked = (
                tuple((u, u) for _, u in targets)
                if cmd.sequence_set.last_result
                else cmd.sequence_set.resolve(largest)
            )
            vanished = _vanished_ranges(folder, cmd.changed_since, asked, 0)
            if vanished:
                self.conn.send(R.Vanished(earlier=True, uids=SequenceSet(ranges=vanished)))
        # Only the header section is needed? Then it comes from the cache,
        # which reads just the head of each file (imap_cache).
        source = _HEADER_ONLY if needs_msg and _header_only(names, items) else needs_msg
        where = str(folder.path)
        pending: list[bytes] = []
        pending_size = 0
        sent = 0
        budget = self.site.literal_budget

        async def flush() -> None:
            nonlocal pending_size
            if pending:
                await self.link.write(b"".join(pending))
                pending.clear()
                pending_size = 0

        for seq, uid in targets:
            if self.link.lost:
                return  # cut off (a stalled reader) or gone: nobody to answer
            info = folder.get(uid)
            if info is None:
                continue
            if cmd.changed_since is not None and info.modseq <= cmd.changed_since:
                continue
            # A large message's file and its answer are held until the
            # client's side of the connection has taken them: counted in the
            # site's budget, as APPEND literals are, so that many clients
            # fetching large messages (or reading them slowly) cannot make
            # the server hold all of them at once.
            held = 0
            if source is True and info.size >= LITERAL_APPROVAL:
                await flush()
                held = min(2 * info.size, budget.capacity)
                if not await budget.reserve(held):
                    self.conn.send(_no(cmd.tag, "Server busy, try again later", "UNAVAILABLE"))
                    return
            try:
                names_now = names
                if sets_seen and "\\Seen" not in info.flags:
                    try:
                        folder.store_flags([uid], ["\\Seen"], "add")
                    except OSError:
                        # The disk refuses the rename that sets \Seen (full,
                        # failing): serve the data all the same — a user on
                        # a full disk must still read mail, to delete some —
                        # with the flags as they stay (store_flags left
                        # memory as the file says); no more tries here.
                        log.warning("%s: cannot set \\Seen", folder.path, exc_info=True)
                        sets_seen = False
                    else:
                        self._flag_changes.discard(uid)
                        names_now = names | {"FLAGS"}
                        info = folder.get(uid) or info
                try:
                    response = self._fetch_one(folder, where, seq, info, names_now, items, source)
                except (KeyError, FileNotFoundError):
                    continue  # expunged meanwhile (by POP3 or another process)
                self.conn.send(response)
                sent += 1
                # Every FLUSH_EVERY messages, and after a large one (held):
                # stream a big FETCH instead of building all of it in memory
                # (and let the client start reading while we work), in
                # writes of at least WRITE_SIZE octets (fewer system calls).
                if held or sent % FLUSH_EVERY == 0:
                    data = self.conn.data_to_send()
                    pending.append(data)
                    pending_size += len(data)
                    if held:
                        # Room in the budget is held until the client takes
                        # this answer: one that stops reading keeps others'
                        # APPENDs and FETCHes waiting, as a client stalled
                        # in a literal does, so it gets as long (Link.drain
                        # cuts off a peer that reads nothing that long).
                        link = self.link
                        timeout = link.idle_timeout
                        link.idle_timeout = min(timeout, LITERAL_STALL_TIMEOUT)
                        try:
                            await flush()
                        finally:
                            link.idle_timeout = timeout
                    elif pending_size >= WRITE_SIZE:
                        await flush()
            finally:
                if held:
                    budget.release(held)
        await flush()
        self._send_updates(expunge_allowed=cmd.uid)
        self.conn.send(_ok(cmd.tag, "FETCH completed"))

    def _fetch_one(
        self,
        folder: Folder,
        where: str,
        seq: int,
        info: MessageInfo,
        names: set[str],
        items: list[object],
        source: object,
    ) -> R.FetchResponse:
        """One FETCH response; *source* is False (no message bytes needed),
        :data:`_HEADER_ONLY` (the header section is enough) or True."""
        needs_msg = bool(source)
        if source is _HEADER_ONLY:
            raw = CACHE.header(folder, info, where)
        else:
            raw = CACHE.read(folder, info, where) if needs_msg else b""
        # Parse the MIME tree only when something needs its structure: the
        # common "whole message" and "header" fetches are slices of the file,
        # and ENVELOPE/BODYSTRUCTURE are computed once per message (cache).
        parsed: list[mime.Message] = []

        def tree() -> mime.Message:
            if not parsed:
                parsed.append(mime.parse(raw))
            return parsed[0]

        sections: list[SectionData] = []
        binary_sizes: list[tuple[tuple[int, ...], int]] = []
        for item in items:
            if isinstance(item, SectionRequest):
                simple = _simple_section(raw, item, header_only=source is _HEADER_ONLY)
                sections.append(simple if simple is not None else section_data(tree(), item))
            elif isinstance(item, BinarySizeRequest):
                size = binary_size(tree(), item.part)
                binary_sizes.append((item.part, size or 0))
            elif item == "RFC822":
                sections.append(SectionData(data=raw, legacy="RFC822"))
            elif item in ("RFC822.HEADER", "RFC822.TEXT"):
                # The same split as BODY[HEADER] / BODY[TEXT] (RFC 3501 §6.4.5).
                _, body_start, _ = split_header_section(raw)
                data = raw[:body_start] if item == "RFC822.HEADER" else raw[body_start:]
                sections.append(SectionData(data=data, legacy=str(item)))
        env = structure = body = None
        if "ENVELOPE" in names:
            # Built from the header section alone (mime.parse of the whole
            # message gives the same envelope; tests check it).
            env = CACHE.derived("ENVELOPE", where, info, lambda: envelope(mime.parse(raw)))
        if "BODYSTRUCTURE" in names:
            structure = CACHE.derived("BODYSTRUCTURE", where, info, lambda: body_structure(tree()))
        if "BODY" in names:
            body = CACHE.derived(
                "BODY", where, info, lambda: body_structure(tree(), extensible=False)
            )
        return R.FetchResponse(
            seq=seq,
            uid=info.uid if "UID" in names else None,
            flags=self._flags(info) if "FLAGS" in names else None,
            internal_date=(
                _date(info.internaldate, info.internaldate_offset)
                if "INTERNALDATE" in names
                else None
            ),
            rfc822_size=info.size if "RFC822.SIZE" in names else None,
            envelope=env,
            body_structure=structure,
            body=body,
            modseq=info.modseq if "MODSEQ" in names else None,
            sections=tuple(sections),
            binary_sizes=tuple(binary_sizes),
        )

    async def cmd_store(self, cmd: C.Store) -> None:
        folder = self.folder
        assert folder is not None
        if self.read_only:
            self.conn.send(_no(cmd.tag, "Mailbox is read-only", "READ-ONLY"))
            return
        if cmd.unchanged_since is not None:
            self.condstore = True
        targets = self._targets(cmd.sequence_set, cmd.uid)
        seq_of = {uid: seq for seq, uid in targets}
        mode = {"+": "add", "-": "remove", "": "set"}[cmd.mode]
        try:
            result = folder.store_flags(
                [u for _, u in targets], cmd.flags, mode, unchangedsince=cmd.unchanged_since
            )
        except ValueError as exc:
            self.conn.send(_bad(cmd.tag, str(exc)))
            return
        for info in result.changed:
            self._flag_changes.discard(info.uid)
            if cmd.silent and not self.condstore:
                continue
            self.conn.send(
                R.FetchResponse(
                    seq=seq_of[info.uid],
                    uid=info.uid if cmd.uid or self.qresync else None,
                    flags=None if cmd.silent else self._flags(info),
                    modseq=info.modseq if self.condstore else None,
                )
            )
        self._send_updates(expunge_allowed=cmd.uid)
        code = None
        if result.modified:
            numbers = result.modified if cmd.uid else tuple(seq_of[u] for u in result.modified)
            code = ResponseCode(name="MODIFIED", value=SequenceSet.of(*numbers))
        self.conn.send(_ok(cmd.tag, "STORE completed", code))

    async def cmd_copy(self, cmd: C.Copy | C.Move) -> None:
        folder = self.folder
        assert folder is not None
        dest = self._open(cmd.mailbox)
        if dest is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "TRYCREATE"))
            return
        uids = [u for _, u in self._targets(cmd.sequence_set, cmd.uid)]
        move = isinstance(cmd, C.Move)
        if move and self.read_only:
            self.conn.send(_no(cmd.tag, "Mailbox is read-only", "READ-ONLY"))
            return
        if dest is folder:
            pairs = folder.copy(uids, dest) if not move else [(u, u) for u in uids]
        else:
            pairs = folder.move(uids, dest) if move else folder.copy(uids, dest)
        code = None
        if pairs:
            code = ResponseCode(
                name="COPYUID",
                # RFC 4315 §3: the sets pair up in order; from_pairs keeps it.
                value=CopyUid.from_pairs(dest.uidvalidity, list(pairs)),
            )
        if move:
            # RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
            if code is not None:
                self.conn.send(_untagged_ok(code, "Moved"))
            self._done(cmd.tag, "MOVE completed")
        else:
            self._done(cmd.tag, "COPY completed", code)

    cmd_move = cmd_copy

    async def cmd_search(self, cmd: C.Search) -> None:
        folder = self.folder
        assert folder is not None and self.view is not None
        view = self.view
        if any(o.upper() == "SAVE" for o in cmd.return_options or ()):
            # RFC 9051 §6.4.4.1: a SEARCH with SAVE that fails empties "$".
            self.saved = []
        if cmd.charset is not None and cmd.charset.upper() not in CHARSETS:
            # RFC 9051 §6.4.4: an unsupported charset is a NO (not a BAD),
            # with BADCHARSET listing the ones that work.
            self.conn.send(
                R.StatusResponse(
                    tag=cmd.tag,
                    status="NO",
                    code=ResponseCode(name="BADCHARSET", value=CHARSETS),
                    text=f"Unsupported charset {cmd.charset}",
                )
            )
            return
        return_options = cmd.return_options
        if return_options is None and self.rev2:
            # RFC 9051 §6.4.4: a rev2 server answers every SEARCH with
            # ESEARCH ("Clients that support only IMAP4rev2 MUST ignore
            # SEARCH responses"); no RETURN means RETURN (ALL).
            return_options = ()
        opts = {o.upper() for o in return_options or ()} or {"ALL"}
        if opts - {"MIN", "MAX", "ALL", "COUNT", "SAVE"}:
            # RFC 9051 §6.4.4: unknown result options MUST be a BAD.
            self.conn.send(_bad(cmd.tag, "Unknown SEARCH result option"))
            return
        largest_uid = max(view.uids) if view.uids else 0
        saved = frozenset(self.saved)
        matched: list[tuple[int, int]] = []
        highest = 0
        for seq, uid in enumerate(view.uids, start=1):
            info = folder.get(uid)
            if info is None:
                continue
            ctx = _Match(folder, info, seq, view.exists, largest_uid, self.recent, saved)
            if all(ctx.match(k) for k in cmd.keys):
                matched.append((seq, uid))
                highest = max(highest, info.modseq)
        numbers = [u if cmd.uid else s for s, u in matched]
        modseq = highest if _uses_modseq(cmd.keys) and numbers else None
        if "SAVE" in opts:
            # RFC 9051 §6.4.4.1 (SEARCHRES, RFC 5182): "$" names these
            # messages from now on; kept as UIDs so expunges cannot shift it.
            self.saved = [u for _, u in matched]
        if return_options is None:
            self.conn.send(R.SearchResponse(numbers=tuple(numbers), modseq=modseq))
        elif opts != {"SAVE"}:
            # (SAVE alone suppresses the ESEARCH response, RFC 9051 §6.4.4.)
            self.conn.send(
                R.Esearch(
                    tag=cmd.tag,
                    uid=cmd.uid,
                    min=min(numbers) if numbers and "MIN" in opts else None,
                    max=max(numbers) if numbers and "MAX" in opts else None,
                    count=len(numbers) if "COUNT" in opts else None,
                    all=SequenceSet.of(*numbers) if numbers and "ALL" in opts else None,
                    modseq=modseq,
                )
            )
        self._send_updates(expunge_allowed=cmd.uid)
        self.conn.send(_ok(cmd.tag, "SEARCH completed"))


#: :meth:`IMAPSession._fetch_one` needs only the header section.
_HEADER_ONLY = object()
#: FETCH items answered from the header section alone (RFC 9051 §6.4.5):
#: ENVELOPE is built from header fields only.
_HEADER_ITEMS = frozenset({"ENVELOPE", "RFC822.HEADER"})
_HEADER_SECTIONS = ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT")


def _header_only(names: set[str], items: list[object]) -> bool:
    """True when every item of a FETCH can be answered from the header section."""
    if names & _NEEDS_MESSAGE - _HEADER_ITEMS:
        return False
    for item in items:
        if isinstance(item, SectionRequest):
            section = item.section
            if item.binary or section.part or section.text not in _HEADER_SECTIONS:
                return False
        elif not isinstance(item, str):
            return False
    return True


def _qresync_problem(qresync: C.QResync, *, enabled: bool) -> str | None:
    """Why a QRESYNC select parameter must be answered BAD, or None."""
    if not enabled:
        # RFC 7162 §3.2.5: "MUST respond with a tagged BAD ... if the client
        # hasn't issued ENABLE QRESYNC".
        return "QRESYNC parameter without ENABLE QRESYNC"
    sets = [qresync.known_uids, *(qresync.seq_match or ())]
    if any(s is not None and s.last_result for s in sets):
        return "$ has no meaning before a mailbox is selected"
    if qresync.seq_match is not None:
        seqs, uids = qresync.seq_match
        if seqs.star or uids.star or seqs.count(0) != uids.count(0):
            # RFC 7162 §3.2.5.2: both sets list the same number of messages.
            return "Sequence match data of different sizes"
    return None


def _in_ranges(number: int, ranges: Sequence[tuple[int, int]]) -> bool:
    """True when *number* is in the sorted, disjoint *ranges*."""
    i = bisect.bisect_right(ranges, (number, MAX_UID)) - 1
    return i >= 0 and ranges[i][0] <= number <= ranges[i][1]


def _intersect(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The intersection of two sorted lists of disjoint ranges."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _seq_match_floor(
    view: SelectedMailbox, seqs: SequenceSet, uids: SequenceSet, largest: int
) -> int:
    """The highest UID below which nothing was expunged, by the sequence match data.

    RFC 7162 §3.2.5.2: the client sends message numbers it knew and their
    UIDs.  New messages only ever get higher UIDs, so when message *n* still
    has the UID the client remembers, exactly the *n* messages the client
    knew up to that UID are all still there: no UID at or below it vanished.
    """
    floor = 0
    for seq, uid in zip(seqs.iter(0), uids.iter(largest)):
        if seq > view.exists:
            break  # ascending: no later pair can match (and 1:4294967295 costs nothing)
        if view.uid(seq) == uid:
            floor = max(floor, uid)
    return floor


def _vanished_ranges(
    folder: Folder,
    modseq: int,
    known: Sequence[tuple[int, int]],
    floor: int,
) -> list[tuple[int, int]]:
    """UIDs expunged after *modseq*, within *known*, as ranges (VANISHED (EARLIER))."""
    history = folder.vanished_since(modseq)
    if history is not None:
        uids = [u for u in history if _in_ranges(u, known)]
        return list(SequenceSet.of(*uids).ranges) if uids else []
    # No history that far back: every UID below UIDNEXT that is not in the
    # mailbox (and above the floor the sequence match data proves) is
    # reported.  Computed as the gaps between the store's present UIDs (not
    # the session's view, which may not show a new delivery yet), never UID
    # by UID.
    gaps: list[tuple[int, int]] = []
    previous = floor
    for uid in (*(u for u in folder.uids() if u > floor), folder.uidnext):
        if uid > previous + 1:
            gaps.append((previous + 1, uid - 1))
        previous = uid
    return _intersect(gaps, known)


def _simple_section(
    raw: bytes, request: SectionRequest, *, header_only: bool = False
) -> SectionData | None:
    """``BODY[]``, ``BODY[HEADER]``, ``BODY[TEXT]`` of a CRLF message without parsing it.

    RFC 9051 §6.4.5: HEADER is the header section *including* the blank line
    that ends it, TEXT what follows.  None when the general path is needed
    (parts, HEADER.FIELDS, BINARY).  *header_only*: *raw* is already just
    the header section (from :mod:`mailserver.imap_cache`).
    """
    section = request.section
    if request.binary or section.part or section.text not in (None, "HEADER", "TEXT"):
        return None
    data = raw
    if section.text == "HEADER" and header_only:
        pass
    elif section.text is not None:
        # The same split mime.parse makes (mailproto.imf.headers), without the tree.
        _, body_start, _ = split_header_section(raw)
        data = raw[:body_start] if section.text == "HEADER" else raw[body_start:]
    origin = None
    if request.partial is not None:
        origin, length = request.partial
        data = data[origin : origin + length]
    return SectionData(section=section, origin=origin, data=data)


def _untagged_ok(code: ResponseCode, text: str) -> R.StatusResponse:
    return R.StatusResponse(tag=None, status="OK", code=code, text=text)


def _uses_modseq(keys: Iterable[SearchKey]) -> bool:
    for key in keys:
        if key.op == "MODSEQ":
            return True
        value = key.value
        if isinstance(value, SearchKey) and _uses_modseq([value]):
            return True
        if isinstance(value, tuple) and all(isinstance(v, SearchKey) for v in value):
            if _uses_modseq(value):  # type: ignore[arg-type]
                return True
    return False


_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}


class _Match:
    """Evaluates SEARCH keys (RFC 9051 §6.4.4) against one message."""

    def __init__(
        self,
        folder: Folder,
        info: MessageInfo,
        seq: int,
        exists: int,
        largest_uid: int,
        recent: frozenset[int],
        saved: frozenset[int] = frozenset(),
    ) -> None:
        self.folder = folder
        self.info = info
        self.seq = seq
        self.exists = exists
        self.largest_uid = largest_uid
        self.recent = recent
        self.saved = saved
        self._msg: mime.Message | None = None

    @property
    def msg(self) -> mime.Message:
        if self._msg is None:
            self._msg = mime.parse(self.folder.read(self.info.uid))
        return self._msg

    def _header_has(self, name: str, needle: str) -> bool:
        needle = needle.casefold()
        return any(needle in v.casefold() for v in self.msg.headers.get_all(name))

    def _text(self, needle: str, *, headers: bool) -> bool:
        # Raw octets, casefolded: enough for ASCII needles (RFC 9051 §6.4.4
        # leaves the comparison to the server); decoded text parts too.
        low = needle.casefold()
        raw = bytes(self.msg)
        if not headers:
            end = raw.find(b"\r\n\r\n")
            raw = raw[end + 4 :] if end >= 0 else b""
        if low.encode("utf-8") in raw.lower():
            return True
        for part in self.msg.walk():
            if part.content_type.startswith("text/") and not part.is_multipart:
                try:
                    if low in part.text().casefold():
                        return True
                except (LookupError, ValueError):
                    continue
        return False

    def match(self, key: SearchKey) -> bool:
        op, value, info = key.op, key.value, self.info
        if op == "ALL":
            return True
        if op in _FLAG_KEYS:
            flag, present = _FLAG_KEYS[op]
            return (flag in info.flags) is present
        if op == "RECENT":
            return info.uid in self.recent
        if op == "NEW":
            return info.uid in self.recent and "\\Seen" not in info.flags
        if op == "OLD":
            return info.uid not in self.recent
        if op == "KEYWORD":
            return isinstance(value, str) and value in info.flags
        if op == "UNKEYWORD":
            return isinstance(value, str) and value not in info.flags
        if op in ("SEQ", "UID") and isinstance(value, SequenceSet) and value.last_result:
            return info.uid in self.saved
        if op == "SEQ" and isinstance(value, SequenceSet):
            return value.contains(self.seq, self.exists)
        if op == "UID" and isinstance(value, SequenceSet):
            return value.contains(info.uid, self.largest_uid)
        if op == "LARGER" and isinstance(value, int):
            return info.size > value
        if op == "SMALLER" and isinstance(value, int):
            return info.size < value
        if op in ("BEFORE", "ON", "SINCE") and isinstance(value, datetime.date):
            # The day as INTERNALDATE shows it, in its own zone (as SENT*
            # below reads the Date field in its own).
            day = _date(info.internaldate, info.internaldate_offset).date()
            return {"BEFORE": day < value, "ON": day == value, "SINCE": day >= value}[op]
        if op in ("SENTBEFORE", "SENTON", "SENTSINCE") and isinstance(value, datetime.date):
            sent = imf.parse_date(self.msg.headers.get("Date") or "")
            if sent is None:
                return False
            day = sent.date()
            return {"SENTBEFORE": day < value, "SENTON": day == value, "SENTSINCE": day >= value}[
                op
            ]
        if op in ("FROM", "TO", "CC", "BCC", "SUBJECT") and isinstance(value, str):
            return self._header_has(op.capitalize(), value)
        if op == "HEADER" and isinstance(value, tuple) and len(value) == 2:
            name, needle = value
            if not isinstance(name, str) or not isinstance(needle, str):
                return False
            values = self.msg.headers.get_all(name)
            return bool(values) and any(needle.casefold() in v.casefold() for v in values)
        if op == "BODY" and isinstance(value, str):
            return self._text(value, headers=False)
        if op == "TEXT" and isinstance(value, str):
            return self._text(value, headers=True)
        if op == "MODSEQ":
            modseq = getattr(value, "modseq", None)
            return isinstance(modseq, int) and info.modseq >= modseq
        if op == "NOT" and isinstance(value, SearchKey):
            return not self.match(value)
        if op == "OR" and isinstance(value, tuple) and len(value) == 2:
            a, b = value
            return (isinstance(a, SearchKey) and self.match(a)) or (
                isinstance(b, SearchKey) and self.match(b)
            )
        if op == "AND" and isinstance(value, tuple):
            return all(self.match(k) for k in value if isinstance(k, SearchKey))
        return False


def _idle_timeout(site: Site, *, logged_in: bool) -> float:
    """Seconds a client between commands may stay silent: the 30 minutes of
    RFC 9051 §5.4 once logged in, :data:`PREAUTH_TIMEOUT` before."""
    return site.imap_timeout if logged_in else min(PREAUTH_TIMEOUT, site.imap_timeout)


def imap_session(site: Site, *, implicit_tls: bool) -> Callable[[Link], Awaitable[None]]:
    """The coroutine serving one accepted connection on an IMAP listener."""

    async def run(link: Link) -> None:
        session = IMAPSession(site, link, implicit_tls=implicit_tls)
        session.greet()
        await pump_session(
            link,
            session.conn,
            session,
            ssl_context=site.ssl_context,
            idle_timeout=_idle_timeout(site, logged_in=False),
            cleanup=session.close,
        )

    return run
