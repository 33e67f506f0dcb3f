"""The application half of the IMAP server example: one read-write INBOX per user.

Transport-independent, like :mod:`transports.smtp_sink`:
:meth:`IMAPSession.handle` answers one event of a
:class:`mailproto.imap.ServerConnection`.  The connection frames commands,
answers CAPABILITY, LOGOUT, bad syntax and wrong-state commands itself and
runs the SASL exchange; :class:`~mailproto.imap.SelectedMailbox` keeps the
sequence numbers; :mod:`mailproto.imap.structure` computes ENVELOPE,
BODYSTRUCTURE and ``BODY[section]``.  This module holds the messages and
decides: STARTTLS, LOGIN/AUTHENTICATE PLAIN, LIST, STATUS, SELECT/EXAMINE, FETCH,
SEARCH, STORE, EXPUNGE, CLOSE/UNSELECT, NOOP and IDLE (deliveries reach an
idling session through :attr:`Inboxes.watchers`).  Any other command gets
``NO [CANNOT]``.
"""

from __future__ import annotations

import datetime
import hmac
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from mailproto import mime, sasl
from mailproto.imap import (
    Authenticated,
    IdleDone,
    SaslAnswer,
    SaslQuestion,
    SelectedMailbox,
    ServerConnection,
    structure,
)
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap.types import (
    ResponseCode,
    SearchKey,
    Section,
    SectionData,
    SectionRequest,
    SequenceSet,
    flag_key,
)

#: What :class:`IMAPSession` implements, and nothing more: a client must not
#: be told about extensions it would then use.
CAPABILITIES = ("IMAP4rev1", "LITERAL+", "SASL-IR", "UNSELECT", "IDLE")
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
#: SEARCH keys that test one system flag (the UN- forms test its absence).
FLAG_KEYS = {
    prefix + name: flag_key("\\" + name)
    for name in ("ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN")
    for prefix in ("", "UN")
}
#: RFC 9051 §6.4.5 macros.
MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
#: RFC 3501 §6.4.5 forms: the section each one means, and whether it sets \Seen.
LEGACY: dict[str, tuple[Any, bool]] = {
    "RFC822": (None, True),
    "RFC822.HEADER": ("HEADER", False),
    "RFC822.TEXT": ("TEXT", True),
}
#: The attributes :meth:`Message.attribute` knows, plus the RFC 3501 forms.
SIMPLE = {"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY"}
SIMPLE |= LEGACY.keys()


@attrs.define
class Message:
    """One stored message."""

    #: Its UID (RFC 9051 §2.3.1.1).
    uid: int
    #: The message as received.
    data: bytes
    #: Its flags.
    flags: set[str]
    #: INTERNALDATE.
    internal_date: datetime.datetime
    _parsed: mime.Message | None = None

    @property
    def parsed(self) -> mime.Message:
        """The MIME tree, parsed on first use."""
        if self._parsed is None:
            self._parsed = mime.parse(self.data)
        return self._parsed

    def attribute(self, name: str) -> tuple[str, Any]:
        """The FetchResponse field and value for a plain FETCH attribute."""
        if name == "UID":
            return "uid", self.uid
        if name == "FLAGS":
            return "flags", tuple(sorted(self.flags))
        if name == "INTERNALDATE":
            return "internal_date", self.internal_date
        if name == "RFC822.SIZE":
            return "rfc822_size", len(self.data)
        if name == "ENVELOPE":
            return "envelope", structure.envelope(self.parsed)
        if name == "BODYSTRUCTURE":
            return "body_structure", structure.body_structure(self.parsed)
        if name == "BODY":
            return "body", structure.body_structure(self.parsed, extensible=False)
        raise KeyError(name)


@attrs.define
class Inboxes:
    """Users, passwords and one INBOX each."""

    #: user name → password.
    users: dict[str, str]
    #: user name → messages in UID order.
    boxes: dict[str, list[Message]] = attrs.field(factory=dict)
    #: RFC 9051 §2.3.1.1: UIDs are valid as long as this does not change.
    uidvalidity: int = 1
    #: Called as ``watcher(user, message)`` after each delivery: a transport
    #: registers one per session to wake it (IDLE).
    watchers: list[Callable[[str, Message], None]] = attrs.field(factory=list)
    _uidnext: dict[str, int] = attrs.field(factory=dict)

    def add(self, user: str, data: bytes, flags: Iterable[str] = ()) -> Message:
        """Deliver *data* to *user*'s INBOX and tell the watchers."""
        uid = self.uidnext(user)
        self._uidnext[user] = uid + 1
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        message = Message(uid=uid, data=data, flags=set(flags), internal_date=now)
        self.boxes.setdefault(user, []).append(message)
        for watcher in list(self.watchers):
            watcher(user, message)
        return message

    def uidnext(self, user: str) -> int:
        """The UID the next message delivered to *user* will get."""
        return self._uidnext.get(user, 1)


def _ok(tag: str, text: str, code: ResponseCode | None = None) -> R.StatusResponse:
    return R.StatusResponse(tag=tag, status="OK", code=code, text=text)


def _no(tag: str, text: str, code: str | None = None) -> R.StatusResponse:
    return R.StatusResponse(
        tag=tag, status="NO", code=ResponseCode(name=code) if code else None, text=text
    )


@attrs.define
class IMAPSession:
    """Answers the events of one :class:`~mailproto.imap.ServerConnection`."""

    store: Inboxes
    #: The user once logged in.
    user: str | None = None
    #: The session's view of the selected INBOX, or None.
    view: SelectedMailbox | None = None
    #: True after EXAMINE.
    read_only: bool = False
    #: The IDLE command while the client idles (RFC 2177), else None.
    idling: C.Idle | None = None

    def delivered(self, user: str, message: Message) -> bool:
        """A message was delivered (a store watcher calls this).

        Returns True when the client should be told now: it idles on the
        INBOX that changed, so the transport must call :meth:`push` and write.
        """
        if user != self.user or self.view is None:
            return False
        self.view.added(message.uid)  # announced by the next push or NOOP
        return self.idling is not None

    def push(self, conn: ServerConnection) -> None:
        """Send the pending mailbox updates (``* n EXISTS``) while idling."""
        if self.idling is not None and self.view is not None:
            for response in self.view.updates():
                conn.send(response)

    def handle(self, conn: ServerConnection, event: Any) -> None:
        """Answer *event* (events the connection answered itself are ignored)."""
        if isinstance(event, SaslQuestion):
            question = event.question
            ok = False
            if isinstance(question, sasl.CheckPassword):
                stored = self.store.users.get(question.authcid)
                ok = stored is not None and question.matches(stored)
                ok = ok and question.authzid in (None, question.authcid)
            conn.send(SaslAnswer(answer=ok))
        elif isinstance(event, Authenticated):
            self.user = event.authcid
            conn.send(_ok(event.command.tag, "AUTHENTICATE completed"))
        elif isinstance(event, IdleDone):
            self.idling = None
            conn.send(_ok(event.command.tag, "IDLE terminated"))
        elif isinstance(event, C.Command) and not isinstance(event, C.Logout):
            handler = getattr(self, "_" + type(event).__name__.lower(), None)
            if handler is None:
                conn.send(_no(event.tag, f"{type(event).__name__} is not supported", "CANNOT"))
            else:
                handler(conn, event)

    # -- not authenticated ----------------------------------------------------

    def _starttls(self, conn: ServerConnection, cmd: C.StartTLS) -> None:
        # The connection only lets STARTTLS through when it offers it (the
        # transport has a certificate); after this OK it drops pipelined
        # input and waits for the transport's handshake.
        conn.send(_ok(cmd.tag, "Begin TLS negotiation now"))

    def _login(self, conn: ServerConnection, cmd: C.Login) -> None:
        stored = self.store.users.get(cmd.username)
        if stored is None or not hmac.compare_digest(stored.encode(), cmd.password.encode()):
            conn.send(_no(cmd.tag, "Invalid credentials", "AUTHENTICATIONFAILED"))
            return
        self.user = cmd.username
        conn.send(_ok(cmd.tag, "LOGIN completed"))

    # -- authenticated ----------------------------------------------------------

    def _messages(self) -> list[Message]:
        assert self.user is not None
        return self.store.boxes.setdefault(self.user, [])

    def _list(self, conn: ServerConnection, cmd: C.List) -> None:
        if cmd.patterns == ("",):
            # RFC 9051 §6.3.9: an empty pattern asks for the delimiter only.
            conn.send(R.ListResponse(attributes=("\\Noselect",), delimiter="/", mailbox=""))
        elif any(p.upper() in ("*", "%", "INBOX") for p in cmd.patterns):
            conn.send(R.ListResponse(attributes=(), delimiter="/", mailbox="INBOX"))
        conn.send(_ok(cmd.tag, "LIST completed"))

    def _status(self, conn: ServerConnection, cmd: C.Status) -> None:
        if cmd.mailbox.upper() != "INBOX":
            conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        messages = self._messages()
        assert self.user is not None
        known = {
            "MESSAGES": len(messages),
            "UIDNEXT": self.store.uidnext(self.user),
            "UIDVALIDITY": self.store.uidvalidity,
            "UNSEEN": sum("\\Seen" not in m.flags for m in messages),
            "DELETED": sum("\\Deleted" in m.flags for m in messages),
            "SIZE": sum(len(m.data) for m in messages),
            "RECENT": 0,
        }
        items = tuple((name, known[name]) for name in cmd.items if name in known)
        conn.send(R.StatusData(mailbox="INBOX", items=items))
        conn.send(_ok(cmd.tag, "STATUS completed"))

    def _select(self, conn: ServerConnection, cmd: C.Select | C.Examine) -> None:
        self.view = None  # RFC 9051 §6.3.2: a failed SELECT leaves nothing selected
        if cmd.mailbox.upper() != "INBOX":
            conn.send(_no(cmd.tag, "No such mailbox", "NONEXISTENT"))
            return
        assert self.user is not None
        messages = self._messages()
        self.read_only = isinstance(cmd, C.Examine)
        self.view = SelectedMailbox(
            uidvalidity=self.store.uidvalidity,
            uids=[m.uid for m in messages],
            uidnext=self.store.uidnext(self.user),
            read_only=self.read_only,
        )

        def untagged(name: str, value: Any, text: str) -> R.StatusResponse:
            code = ResponseCode(name=name, value=value)
            return R.StatusResponse(tag=None, status="OK", code=code, text=text)

        conn.send(R.Exists(count=len(messages)))
        conn.send(R.FlagsResponse(flags=SYSTEM_FLAGS))
        conn.send(untagged("UIDVALIDITY", self.store.uidvalidity, "UIDs valid"))
        conn.send(untagged("UIDNEXT", self.store.uidnext(self.user), "Predicted next UID"))
        permanent = () if self.read_only else SYSTEM_FLAGS
        conn.send(untagged("PERMANENTFLAGS", permanent, "Flags kept"))
        mode = "READ-ONLY" if self.read_only else "READ-WRITE"
        conn.send(_ok(cmd.tag, f"{type(cmd).__name__.upper()} completed", ResponseCode(name=mode)))

    _examine = _select

    # -- selected -----------------------------------------------------------------

    def _targets(self, seqset: Any, uid: bool) -> list[tuple[int, Message]]:
        assert self.view is not None
        by_uid = {m.uid: m for m in self._messages()}
        return [(seq, by_uid[u]) for seq, u in self.view.resolve(seqset, uid=uid) if u in by_uid]

    def _fetch(self, conn: ServerConnection, cmd: C.Fetch) -> None:
        items = MACROS[cmd.attributes] if isinstance(cmd.attributes, str) else cmd.attributes
        unknown = [i for i in items if not isinstance(i, SectionRequest) and i not in SIMPLE]
        if unknown:
            conn.send(_no(cmd.tag, f"FETCH {unknown[0]} is not supported", "CANNOT"))
            return
        for seq, msg in self._targets(cmd.sequence_set, cmd.uid):
            # RFC 9051 §6.4.9: UID FETCH always returns the UID.
            fields: dict[str, Any] = {"uid": msg.uid} if cmd.uid else {}
            sections = []
            seen = False
            for item in items:
                if isinstance(item, SectionRequest):
                    sections.append(structure.section_data(msg.parsed, item))
                    seen = seen or not item.peek
                elif item in LEGACY:
                    text, sets_seen = LEGACY[item]
                    request = SectionRequest(section=Section(text=text))
                    data = structure.section_data(msg.parsed, request).data
                    sections.append(SectionData(legacy=item, data=data))
                    seen = seen or sets_seen
                else:
                    name, value = msg.attribute(str(item))
                    fields[name] = value
            if seen and not self.read_only and "\\Seen" not in msg.flags:
                # RFC 9051 §6.4.5: BODY[] sets \Seen; the client learns it.
                msg.flags.add("\\Seen")
                fields["flags"] = tuple(sorted(msg.flags))
            conn.send(R.FetchResponse(seq=seq, sections=tuple(sections), **fields))
        conn.send(_ok(cmd.tag, "FETCH completed"))

    def _search(self, conn: ServerConnection, cmd: C.Search) -> None:
        if cmd.charset is not None and cmd.charset.upper() not in ("US-ASCII", "UTF-8"):
            conn.send(_no(cmd.tag, "Unsupported charset", "BADCHARSET"))
            return
        assert self.view is not None
        try:
            found = [
                msg.uid if cmd.uid else seq
                for seq, msg in self._targets(SequenceSet.of((1, "*")), False)
                if all(self._matches(key, seq, msg) for key in cmd.keys)
            ]
        except KeyError as exc:
            conn.send(_no(cmd.tag, f"SEARCH {exc.args[0]} is not supported", "CANNOT"))
            return
        conn.send(R.SearchResponse(numbers=tuple(found)))
        conn.send(_ok(cmd.tag, "SEARCH completed"))

    def _matches(self, key: SearchKey, seq: int, msg: Message) -> bool:
        """RFC 9051 §6.4.4 for the keys this store can answer (KeyError otherwise)."""
        op, value = key.op, key.value
        if op == "ALL":
            return True
        if op in FLAG_KEYS:
            return (FLAG_KEYS[op] in {flag_key(f) for f in msg.flags}) is not op.startswith("UN")
        if op in ("KEYWORD", "UNKEYWORD"):
            has = flag_key(str(value)) in {flag_key(f) for f in msg.flags}
            return has is (op == "KEYWORD")
        if op in ("NEW", "RECENT"):
            return False  # this store has no \Recent: no message is recent
        if op == "OLD":
            return True
        if op in ("SEQ", "UID"):
            assert isinstance(value, SequenceSet) and self.view is not None
            if op == "SEQ":
                return value.contains(seq, self.view.exists)
            return value.contains(msg.uid, self.view.uids[-1] if self.view.uids else 0)
        if op in ("LARGER", "SMALLER"):
            assert isinstance(value, int)
            return len(msg.data) > value if op == "LARGER" else len(msg.data) < value
        if op in ("FROM", "TO", "CC", "BCC", "SUBJECT", "HEADER"):
            if isinstance(value, tuple):  # HEADER field-name string
                name, text = str(value[0]), str(value[1])
            else:
                name, text = op, str(value)
            found = msg.parsed.headers.get_all(name)
            return any(text.casefold() in v.casefold() for v in found)
        if op == "NOT":
            assert isinstance(value, SearchKey)
            return not self._matches(value, seq, msg)
        if op == "OR":
            assert isinstance(value, tuple)
            return any(self._matches(k, seq, msg) for k in value if isinstance(k, SearchKey))
        if op == "AND":
            assert isinstance(value, tuple)
            return all(self._matches(k, seq, msg) for k in value if isinstance(k, SearchKey))
        raise KeyError(op)

    def _store(self, conn: ServerConnection, cmd: C.Store) -> None:
        if self.read_only:
            conn.send(_no(cmd.tag, "Mailbox is read-only"))
            return
        given = {flag_key(f): f for f in cmd.flags}
        for seq, msg in self._targets(cmd.sequence_set, cmd.uid):
            if cmd.mode == "+":
                msg.flags |= set(given.values())
            elif cmd.mode == "-":
                msg.flags = {f for f in msg.flags if flag_key(f) not in given}
            else:
                msg.flags = set(given.values())
            if not cmd.silent:
                uid = msg.uid if cmd.uid else None
                conn.send(R.FetchResponse(seq=seq, uid=uid, flags=tuple(sorted(msg.flags))))
        conn.send(_ok(cmd.tag, "STORE completed"))

    def _expunge_deleted(self, conn: ServerConnection | None) -> None:
        assert self.view is not None
        messages = self._messages()
        doomed = [m for m in reversed(messages) if "\\Deleted" in m.flags]
        messages[:] = [m for m in messages if "\\Deleted" not in m.flags]
        for msg in doomed:
            seq = self.view.seq(msg.uid)
            if seq is not None:
                self.view.expunge_seq(seq)
                if conn is not None:  # highest first: no renumbering to track
                    conn.send(R.ExpungeResponse(seq=seq))

    def _expunge(self, conn: ServerConnection, cmd: C.Expunge) -> None:
        if self.read_only:
            conn.send(_no(cmd.tag, "Mailbox is read-only"))
        elif cmd.uids is not None:
            conn.send(_no(cmd.tag, "UID EXPUNGE is not supported", "CANNOT"))
        else:
            self._expunge_deleted(conn)
            conn.send(_ok(cmd.tag, "EXPUNGE completed"))

    def _close(self, conn: ServerConnection, cmd: C.Close) -> None:
        if not self.read_only:
            self._expunge_deleted(None)  # RFC 9051 §6.4.1: silently
        self.view = None
        conn.send(_ok(cmd.tag, "CLOSE completed"))

    def _unselect(self, conn: ServerConnection, cmd: C.Unselect) -> None:
        self.view = None
        conn.send(_ok(cmd.tag, "UNSELECT completed"))

    def _noop(self, conn: ServerConnection, cmd: C.Noop | C.Check) -> None:
        if self.view is not None:  # RFC 9051 §6.1.2: NOOP is how a client polls
            for response in self.view.updates():
                conn.send(response)
        conn.send(_ok(cmd.tag, f"{type(cmd).__name__.upper()} completed"))

    def _idle(self, conn: ServerConnection, cmd: C.Idle) -> None:
        # RFC 2177: "+" starts IDLE; updates are pushed until the client's
        # DONE (an IdleDone event), which the tagged OK answers.
        self.idling = cmd
        conn.send(R.Continuation(text="idling"))
        self.push(conn)

    _check = _noop
