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
SPECIAL-USE (RFC 6154: Sent, Drafts, Trash, Junk), NAMESPACE, ID, ENABLE,
IDLE, UNSELECT, ESEARCH, LITERAL+, COMPRESS=DEFLATE, BODYSTRUCTURE/ENVELOPE
from :mod:`mailproto.imap.structure` over :func:`mailproto.mime.parse`.

Mailbox names from clients are untrusted: every name goes through
:func:`~mailserver.maildir.validate_folder_name` (no ``..``, ``/``, ``~``,
control characters...) before it touches the file system.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Awaitable, Callable, Iterable

from mailproto import imf, mime, sasl
from mailproto.errors import ProtocolError
from mailproto.imap import (
    DEFAULT_CAPABILITIES,
    Authenticated,
    AuthFailed,
    BadCommand,
    ConnectionClosed,
    IdleDone,
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
    ResponseCode,
    SearchKey,
    SectionData,
    SectionRequest,
    SequenceSet,
)
from mailproto.imf.headers import split_header_section

from .directory import Account
from .maildir import (
    STANDARD_FLAGS,
    Change,
    Folder,
    FolderNameError,
    Mailbox,
    MailboxLocked,
    MessageInfo,
    validate_folder_name,
)
from .pump import Link, Pump, Site
from .smtp_service import answer_sasl

__all__ = ["BUSY", "IMAPSession", "imap_session"]

BUSY = b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n"
CAPABILITIES = (*DEFAULT_CAPABILITIES, "CONDSTORE", "SPECIAL-USE", "CHILDREN")
AUTH_MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
#: Write FETCH output to the socket after this many messages.
FLUSH_EVERY = 32
#: Untagged ID response (RFC 2971).
SERVER_ID = (("name", "mailproto-mailserver"), ("vendor", "mailproto"))

_MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
_NEEDS_MESSAGE = frozenset(
    {"ENVELOPE", "BODY", "BODYSTRUCTURE", "RFC822", "RFC822.HEADER", "RFC822.TEXT"}
)
_SETS_SEEN = frozenset({"RFC822", "RFC822.TEXT"})


def _ok(tag: str, text: str, code: ResponseCode | None = None) -> R.StatusResponse:
    return R.StatusResponse(tag=tag, status="OK", code=code, text=text)


def _no(tag: str, text: str, code: str | None = None) -> R.StatusResponse:
    return R.StatusResponse(
        tag=tag, status="NO", code=ResponseCode(name=code) if code else None, text=text
    )


def _bad(tag: str, text: str) -> R.StatusResponse:
    return R.StatusResponse(tag=tag, status="BAD", text=text)


def _date(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).replace(microsecond=0)


def _pattern(reference: str, pattern: str) -> re.Pattern[str]:
    """LIST wildcards (RFC 9051 §6.3.9): ``*`` matches anything, ``%`` not the delimiter."""
    full = reference + pattern
    out = []
    for part in re.split(r"([*%])", full):
        if part == "*":
            out.append(".*")
        elif part == "%":
            out.append(r"[^.]*")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + r"\Z", re.IGNORECASE if full.upper() == "INBOX" else 0)


class IMAPSession:
    """One IMAP session: the application half of the pump."""

    def __init__(self, site: Site, link: Link, *, implicit_tls: bool) -> None:
        self.site = site
        self.link = link
        self.conn = ServerConnection(
            capabilities=CAPABILITIES,
            auth_mechanisms=AUTH_MECHANISMS,
            starttls=not implicit_tls,
            tls=implicit_tls,
            login_requires_tls=not site.plaintext_ok(link, False),
            compress=True,
            sasl_hostname=site.config.hostname,
        )
        self.account: Account | None = None
        self.mailbox: Mailbox | None = None
        self.folder: Folder | None = None
        self.view: SelectedMailbox | None = None
        self.read_only = False
        self.condstore = False
        #: ENABLE IMAP4rev2 was sent: no \\Recent, no RECENT (RFC 9051 App. E).
        self.rev2 = False
        self.recent: frozenset[int] = frozenset()
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

    async def handle(self, event: object) -> None:
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
            self._login(account)
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
        except FolderNameError as exc:
            conn.send(_no(tag, f"Bad mailbox name: {exc}", "CANNOT"))
        except OSError:
            conn.send(_no(tag, "Server error", "SERVERBUG"))

    async def _sasl_answer(self, question: object) -> object:
        if isinstance(question, sasl.CheckPassword) and not self.site.plaintext_ok(
            self.link, self.conn.tls
        ):
            return False
        return await answer_sasl(self.site, question)

    # -- helpers --------------------------------------------------------------------------

    def _login(self, account: Account) -> None:
        self.account = account
        self.mailbox = self.site.store.mailbox(account.address)
        for name in ("Sent", "Drafts", "Trash", "Junk"):
            if not self.mailbox.exists(name):
                self.mailbox.create_folder(name)
                self.mailbox.subscribe(name)
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
        for response in view.updates(expunge_allowed=expunge_allowed):
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
        name = validate_folder_name(name)
        try:
            return self.mailbox.folder(name)
        except KeyError:
            return None

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
        enabled = []
        for cap in cmd.capabilities:
            if cap.upper() == "CONDSTORE":
                self.condstore = True
                enabled.append("CONDSTORE")
            elif cap.upper() == "IMAP4REV2":
                self.rev2 = True
                enabled.append("IMAP4rev2")
        self.conn.send(R.Enabled(capabilities=tuple(enabled)))
        self.conn.send(_ok(cmd.tag, "ENABLE completed"))

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
        assert self.mailbox is not None
        subscribed_only = cmd.selection is not None and any(
            s.upper() == "SUBSCRIBED" for s in cmd.selection
        )
        special_only = cmd.selection is not None and any(
            s.upper() == "SPECIAL-USE" for s in cmd.selection
        )
        if any(p == "" for p in cmd.patterns):
            # RFC 9051 §6.3.9: an empty pattern asks for the delimiter.
            self.conn.send(R.ListResponse(attributes=("\\Noselect",), delimiter=".", mailbox=""))
        patterns = [_pattern(cmd.reference, p) for p in cmd.patterns if p]
        subs = set(self.mailbox.subscriptions())
        for info in self.mailbox.list_folders():
            if not any(p.match(info.name) for p in patterns):
                continue
            if subscribed_only and info.name not in subs:
                continue
            if special_only and info.special_use is None:
                continue
            attrs_ = ["\\HasChildren" if info.has_children else "\\HasNoChildren"]
            if info.special_use:
                attrs_.append(info.special_use)
            if info.name in subs and cmd.selection is not None:
                attrs_.append("\\Subscribed")
            self.conn.send(
                R.ListResponse(attributes=tuple(attrs_), delimiter=".", mailbox=info.name)
            )
        self._done(cmd.tag, "LIST completed")

    async def cmd_lsub(self, cmd: C.Lsub) -> None:
        assert self.mailbox is not None
        pattern = _pattern(cmd.reference, cmd.pattern)
        for name in self.mailbox.subscriptions():
            if pattern.match(name):
                self.conn.send(
                    R.ListResponse(attributes=(), delimiter=".", mailbox=name, lsub=True)
                )
        self._done(cmd.tag, "LSUB completed")

    async def cmd_status(self, cmd: C.Status) -> None:
        folder = self._open(cmd.mailbox)
        if folder is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        folder.rescan(notify=True)
        messages = folder.messages()
        items: list[tuple[str, int | str | None]] = []
        for item in cmd.items:
            name = item.upper()
            value: int | None = {
                "MESSAGES": len(messages),
                "UIDNEXT": folder.uidnext,
                "UIDVALIDITY": folder.uidvalidity,
                "UNSEEN": folder.unseen_count(),
                "RECENT": folder.recent_count(),
                "DELETED": sum(1 for m in messages if "\\Deleted" in m.flags),
                "SIZE": sum(m.size for m in messages),
                "HIGHESTMODSEQ": folder.highestmodseq,
            }.get(name)
            if value is not None:
                items.append((name, value))
        self.conn.send(R.StatusData(mailbox=folder.name, items=tuple(items)))
        self._done(cmd.tag, "STATUS completed")

    async def cmd_create(self, cmd: C.Create) -> None:
        assert self.mailbox is not None
        name = validate_folder_name(cmd.mailbox.rstrip("."))
        try:
            self.mailbox.create_folder(name)
        except FileExistsError:
            self.conn.send(_no(cmd.tag, "Mailbox exists", "ALREADYEXISTS"))
            return
        self._done(cmd.tag, "CREATE completed")

    async def cmd_delete(self, cmd: C.Delete) -> None:
        assert self.mailbox is not None
        name = validate_folder_name(cmd.mailbox)
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
        old, new = validate_folder_name(cmd.mailbox), validate_folder_name(cmd.new_name)
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
        self.mailbox.subscribe(validate_folder_name(cmd.mailbox))
        self._done(cmd.tag, "SUBSCRIBE completed")

    async def cmd_unsubscribe(self, cmd: C.Unsubscribe) -> None:
        assert self.mailbox is not None
        try:
            self.mailbox.unsubscribe(validate_folder_name(cmd.mailbox))
        except KeyError:
            self.conn.send(_no(cmd.tag, "Not subscribed", "NONEXISTENT"))
            return
        self._done(cmd.tag, "UNSUBSCRIBE completed")

    async def cmd_append(self, cmd: C.Append) -> None:
        folder = self._open(cmd.mailbox)
        if folder is None:
            self.conn.send(_no(cmd.tag, "No such mailbox", "TRYCREATE"))
            return
        uids = []
        for message in cmd.messages:
            flags = [f for f in (message.flags or ()) if f.lower() != "\\recent"]
            when = message.date.timestamp() if message.date is not None else None
            try:
                uids.append(folder.append(message.data, flags=flags, internaldate=when))
            except ValueError as exc:
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
        self._flag_changes.clear()

    async def cmd_select(self, cmd: C.Select | C.Examine) -> None:
        self._deselect()
        folder = self._open(cmd.mailbox)
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
        code = ResponseCode(name="READ-ONLY" if read_only else "READ-WRITE")
        send(_ok(cmd.tag, ("EXAMINE" if read_only else "SELECT") + " completed", code))

    cmd_examine = cmd_select

    async def cmd_close(self, cmd: C.Close) -> None:
        if self.folder is not None and not self.read_only:
            # RFC 9051 §6.4.1: expunge silently, no EXPUNGE responses.
            self.folder.expunge()
        self._deselect()
        self.conn.send(_ok(cmd.tag, "CLOSE completed"))

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
            uids = {u for _, u in self.view.resolve(cmd.uids, uid=True)}
        folder.expunge(uids)
        self._done(cmd.tag, "EXPUNGE completed")

    # -- messages --------------------------------------------------------------------------

    def _targets(self, seqset: SequenceSet, uid: bool) -> list[tuple[int, int]]:
        assert self.view is not None
        return self.view.resolve(seqset, uid=uid)

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
        if cmd.uid:
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
        sent = 0
        for seq, uid in self._targets(cmd.sequence_set, cmd.uid):
            info = folder.get(uid)
            if info is None:
                continue
            if cmd.changed_since is not None and info.modseq <= cmd.changed_since:
                continue
            if sets_seen and "\\Seen" not in info.flags:
                folder.store_flags([uid], ["\\Seen"], "add")
                self._flag_changes.discard(uid)
                names_now = names | {"FLAGS"}
                info = folder.get(uid) or info
            else:
                names_now = names
            self.conn.send(self._fetch_one(folder, seq, info, names_now, items, needs_msg))
            sent += 1
            if sent % FLUSH_EVERY == 0:
                # Stream a big FETCH instead of building all of it in memory
                # (and let the client start reading while we work).
                await self.link.write(self.conn.data_to_send())
        self._send_updates(expunge_allowed=cmd.uid)
        self.conn.send(_ok(cmd.tag, "FETCH completed"))

    def _fetch_one(
        self,
        folder: Folder,
        seq: int,
        info: MessageInfo,
        names: set[str],
        items: list[object],
        needs_msg: bool,
    ) -> R.FetchResponse:
        raw = folder.read(info.uid) if needs_msg else b""
        # Parse the MIME tree only when something needs its structure: the
        # common "whole message" and "header" fetches are slices of the file.
        msg = mime.parse(raw) if needs_msg and self._needs_tree(names, items) else None
        sections: list[SectionData] = []
        binary_sizes: list[tuple[tuple[int, ...], int]] = []
        for item in items:
            if isinstance(item, SectionRequest):
                simple = _simple_section(raw, item)
                if simple is None:
                    if msg is None:
                        msg = mime.parse(raw)
                    simple = section_data(msg, item)
                sections.append(simple)
            elif isinstance(item, BinarySizeRequest):
                if msg is None:
                    msg = mime.parse(raw)
                size = binary_size(msg, item.part)
                binary_sizes.append((item.part, size or 0))
            elif item == "RFC822":
                sections.append(SectionData(data=raw, legacy="RFC822"))
            elif item in ("RFC822.HEADER", "RFC822.TEXT"):
                end = raw.find(b"\r\n\r\n")
                head, body = (raw, b"") if end < 0 else (raw[: end + 4], raw[end + 4 :])
                data = head if item == "RFC822.HEADER" else body
                sections.append(SectionData(data=data, legacy=str(item)))
        return R.FetchResponse(
            seq=seq,
            uid=info.uid if "UID" in names else None,
            flags=self._flags(info) if "FLAGS" in names else None,
            internal_date=_date(info.internaldate) if "INTERNALDATE" in names else None,
            rfc822_size=info.size if "RFC822.SIZE" in names else None,
            envelope=envelope(msg) if msg is not None and "ENVELOPE" in names else None,
            body_structure=body_structure(msg)
            if msg is not None and "BODYSTRUCTURE" in names
            else None,
            body=body_structure(msg, extensible=False)
            if msg is not None and "BODY" in names
            else None,
            modseq=info.modseq if "MODSEQ" in names else None,
            sections=tuple(sections),
            binary_sizes=tuple(binary_sizes),
        )

    @staticmethod
    def _needs_tree(names: set[str], items: list[object]) -> bool:
        if names & {"ENVELOPE", "BODY", "BODYSTRUCTURE"}:
            return True
        return any(isinstance(i, BinarySizeRequest) for i in items)

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
                    uid=info.uid if cmd.uid else None,
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
                value=CopyUid(
                    uidvalidity=dest.uidvalidity,
                    source=SequenceSet.of(*(s for s, _ in pairs)),
                    dest=SequenceSet.of(*(d for _, d in pairs)),
                ),
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
        largest_uid = max(view.uids) if view.uids else 0
        matched: list[tuple[int, int]] = []
        highest = 0
        for seq, uid in enumerate(view.uids, start=1):
            info = folder.get(uid)
            if info is None:
                continue
            ctx = _Match(folder, info, seq, view.exists, largest_uid, self.recent)
            if all(ctx.match(k) for k in cmd.keys):
                matched.append((seq, uid))
                highest = max(highest, info.modseq)
        numbers = [u if cmd.uid else s for s, u in matched]
        modseq = highest if _uses_modseq(cmd.keys) and numbers else None
        if cmd.return_options is None:
            self.conn.send(R.SearchResponse(numbers=tuple(numbers), modseq=modseq))
        else:
            opts = {o.upper() for o in cmd.return_options} or {"ALL"}
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


def _simple_section(raw: bytes, request: SectionRequest) -> SectionData | None:
    """``BODY[]``, ``BODY[HEADER]``, ``BODY[TEXT]`` of a CRLF message without parsing it.

    RFC 9051 §6.4.5: HEADER is the header section *including* the blank line
    that ends it, TEXT what follows.  None when the general path is needed
    (parts, HEADER.FIELDS, BINARY).
    """
    section = request.section
    if request.binary or section.part or section.text not in (None, "HEADER", "TEXT"):
        return None
    data = raw
    if section.text is not None:
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
    ) -> None:
        self.folder = folder
        self.info = info
        self.seq = seq
        self.exists = exists
        self.largest_uid = largest_uid
        self.recent = recent
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
        if op == "SEQ" and isinstance(value, SequenceSet):
            return value.contains(self.seq, self.exists)
        if op == "UID" and isinstance(value, SequenceSet):
            return value.contains(info.uid, self.largest_uid)
        if op == "LARGER" and isinstance(value, int):
            return info.size > value
        if op == "SMALLER" and isinstance(value, int):
            return info.size < value
        if op in ("BEFORE", "ON", "SINCE") and isinstance(value, datetime.date):
            day = _date(info.internaldate).date()
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


def imap_session(site: Site, *, implicit_tls: bool) -> Callable[[Link], Awaitable[None]]:
    """The coroutine serving one accepted connection on an IMAP listener."""

    async def run(link: Link) -> None:
        session = IMAPSession(site, link, implicit_tls=implicit_tls)
        session.greet()
        pump = Pump(
            link,
            session.conn,
            session,
            ssl_context=site.ssl_context,
            idle_timeout=site.imap_timeout,
        )
        try:
            await pump.run()
        finally:
            session.close()

    return run
