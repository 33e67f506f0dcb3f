"""A small in-memory IMAP server built on ServerConnection (tests, benchmarks, tutorial).

The protocol is entirely mailproto's: :class:`~mailproto.imap.server.ServerConnection`
frames and checks, :class:`~mailproto.imap.mailbox.SelectedMailbox` keeps the
sequence numbers, :mod:`mailproto.imap.structure` computes ENVELOPE,
BODYSTRUCTURE and sections.  This module only holds the messages and makes
the policy decisions, the way an application would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from mailproto import mime
from mailproto._sentinels import NEED_DATA, PAUSED
from mailproto.imap._events import (
    Authenticated,
    ConnectionClosed,
    IdleDone,
    SaslAnswer,
    SaslQuestion,
)
from mailproto.imap.mailbox import SelectedMailbox
from mailproto.imap.server import ServerConnection
from mailproto.imap.structure import binary_size, body_structure, envelope, section_data
from mailproto.imap.types import (
    AppendUid,
    BinarySizeRequest,
    ResponseCode,
    SearchKey,
    Section,
    SectionData,
    SectionRequest,
    SequenceSet,
    flag_key,
)
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.sasl import CheckPassword

_SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_MACROS = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}


@attrs.define
class StoredMessage:
    uid: int
    data: bytes
    flags: set[str]
    internal_date: datetime.datetime
    _parsed: Any = None
    _envelope: Any = None
    _structure: Any = None
    _body: Any = None

    @property
    def parsed(self) -> mime.Message:
        if self._parsed is None:
            self._parsed = mime.parse(self.data)
        return self._parsed  # type: ignore[no-any-return]

    def envelope(self) -> Any:
        if self._envelope is None:
            self._envelope = envelope(self.parsed)
        return self._envelope

    def structure(self, extensible: bool) -> Any:
        if extensible:
            if self._structure is None:
                self._structure = body_structure(self.parsed)
            return self._structure
        if self._body is None:
            self._body = body_structure(self.parsed, extensible=False)
        return self._body


def _untagged_ok(code: str, value: Any, text: str) -> R.StatusResponse:
    return R.StatusResponse(
        tag=None, status="OK", code=ResponseCode(name=code, value=value), text=text
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


@attrs.define
class Mailbox:
    uidvalidity: int
    uidnext: int = 1
    messages: list[StoredMessage] = attrs.field(factory=list)

    def add(self, data: bytes, flags: Iterable[str] = (), date: Any = None) -> StoredMessage:
        msg = StoredMessage(
            uid=self.uidnext,
            data=data,
            flags=set(flags),
            internal_date=date
            or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0),
        )
        self.uidnext += 1
        self.messages.append(msg)
        return msg

    def by_uid(self, uid: int) -> StoredMessage:
        for m in self.messages:
            if m.uid == uid:
                return m
        raise KeyError(uid)


class Store:
    """Users, their mailboxes, and the sessions watching them."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.boxes: dict[str, dict[str, Mailbox]] = {u: {"INBOX": Mailbox(1)} for u in users}
        self.sessions: list[Session] = []

    def deliver(self, user: str, data: bytes, mailbox: str = "INBOX") -> None:
        msg = self.boxes[user][mailbox].add(data)
        for session in self.sessions:
            if session.user == user and session.selected == mailbox and session.view is not None:
                session.view.added(msg.uid)
                session.push()


class Session:
    """One client's session: a ServerConnection plus the application's decisions."""

    def __init__(self, store: Store, **options: Any) -> None:
        self.store = store
        self.conn = ServerConnection(**options)
        self.user: str | None = None
        self.selected: str | None = None
        self.view: SelectedMailbox | None = None
        self.read_only = False
        self.idling: C.Idle | None = None
        #: Where pushed output goes at once (set by the transport).
        self.on_output: Callable[[bytes], None] | None = None
        self.conn.send(R.StatusResponse(tag=None, status="OK", text="mailproto test server ready"))
        store.sessions.append(self)

    # -- plumbing ------------------------------------------------------------------

    def receive(self, data: bytes) -> bool:
        """Feed bytes; handle every event; return False when the session is over."""
        self.conn.receive_data(data)
        while True:
            event = self.conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                return self.conn.state.name != "LOGOUT"
            if isinstance(event, ConnectionClosed):
                return False
            self.handle(event)

    def push(self) -> None:
        """Send pending mailbox updates when the protocol allows (IDLE, NOOP)."""
        if self.idling is not None and self.view is not None:
            for response in self.view.updates():
                self.conn.send(response)
            if self.on_output is not None:
                self.on_output(self.conn.data_to_send())

    def box(self) -> Mailbox:
        assert self.user is not None and self.selected is not None
        return self.store.boxes[self.user][self.selected]

    def ok(self, tag: str, text: str = "done", code: ResponseCode | None = None) -> None:
        self.conn.send(R.StatusResponse(tag=tag, status="OK", code=code, text=text))

    def no(self, tag: str, text: str, code: str | None = None) -> None:
        self.conn.send(
            R.StatusResponse(
                tag=tag, status="NO", code=ResponseCode(name=code) if code else None, text=text
            )
        )

    # -- events ----------------------------------------------------------------------

    def handle(self, event: Any) -> None:
        if isinstance(event, SaslQuestion):
            q = event.question
            stored = self.store.users.get(q.authcid) if isinstance(q, CheckPassword) else None
            ok = isinstance(q, CheckPassword) and stored is not None and q.matches(stored)
            self.conn.send(SaslAnswer(answer=bool(ok)))
            return
        if isinstance(event, Authenticated):
            self.user = event.authcid
            self.ok(event.command.tag, "AUTHENTICATE completed")
            return
        if isinstance(event, IdleDone):
            self.idling = None
            self.ok(event.command.tag, "IDLE terminated")
            return
        handler = getattr(self, "do_" + type(event).__name__.lower(), None)
        if handler is None:
            tag = getattr(event, "tag", None)
            if tag is not None and any(c.tag == tag for c in self.conn.in_flight):
                self.no(tag, "not implemented", "CANNOT")
            return
        handler(event)

    def do_login(self, cmd: C.Login) -> None:
        if self.store.users.get(cmd.username) != cmd.password:
            self.no(cmd.tag, "invalid credentials", "AUTHENTICATIONFAILED")
            return
        self.user = cmd.username
        self.ok(cmd.tag, "LOGIN completed")

    def do_noop(self, cmd: C.Noop) -> None:
        if self.view is not None:
            for response in self.view.updates():
                self.conn.send(response)
        self.ok(cmd.tag, "NOOP completed")

    def do_logout(self, cmd: C.Logout) -> None:
        pass  # answered by the connection

    def do_id(self, cmd: C.Id) -> None:
        self.conn.send(R.IdResponse(params=(("name", "mailproto-test"),)))
        self.ok(cmd.tag, "ID completed")

    def do_enable(self, cmd: C.Enable) -> None:
        self.conn.send(R.Enabled(capabilities=()))
        self.ok(cmd.tag, "ENABLE completed")

    def do_list(self, cmd: C.List) -> None:
        assert self.user is not None
        for name in self.store.boxes[self.user]:
            self.conn.send(R.ListResponse(attributes=(), delimiter="/", mailbox=name))
        self.ok(cmd.tag, "LIST completed")

    def do_lsub(self, cmd: C.Lsub) -> None:
        self.ok(cmd.tag, "LSUB completed")

    def do_create(self, cmd: C.Create) -> None:
        assert self.user is not None
        boxes = self.store.boxes[self.user]
        if cmd.mailbox in boxes:
            self.no(cmd.tag, "mailbox exists", "ALREADYEXISTS")
            return
        boxes[cmd.mailbox] = Mailbox(len(boxes) + 1)
        self.ok(cmd.tag, "CREATE completed")

    def do_status(self, cmd: C.Status) -> None:
        assert self.user is not None
        box = self.store.boxes[self.user].get(cmd.mailbox)
        if box is None:
            self.no(cmd.tag, "no such mailbox", "NONEXISTENT")
            return
        values = {
            "MESSAGES": len(box.messages),
            "UIDNEXT": box.uidnext,
            "UIDVALIDITY": box.uidvalidity,
            "UNSEEN": sum(1 for m in box.messages if "\\Seen" not in m.flags),
            "RECENT": 0,
        }
        items = tuple((i, values.get(i, 0)) for i in cmd.items)
        self.conn.send(R.StatusData(mailbox=cmd.mailbox, items=items))
        self.ok(cmd.tag, "STATUS completed")

    def _select(self, cmd: C.Select | C.Examine, read_only: bool) -> None:
        assert self.user is not None
        box = self.store.boxes[self.user].get(cmd.mailbox)
        if box is None:
            self.selected = self.view = None
            self.no(cmd.tag, "no such mailbox", "NONEXISTENT")
            return
        self.selected = cmd.mailbox
        self.read_only = read_only
        self.view = SelectedMailbox(
            uidvalidity=box.uidvalidity,
            uids=[m.uid for m in box.messages],
            uidnext=box.uidnext,
            read_only=read_only,
        )
        send = self.conn.send
        send(R.FlagsResponse(flags=_SYSTEM_FLAGS))
        send(R.Exists(count=len(box.messages)))
        send(R.Recent(count=0))
        send(
            R.StatusResponse(
                tag=None,
                status="OK",
                code=ResponseCode(name="UIDVALIDITY", value=box.uidvalidity),
                text="UIDs valid",
            )
        )
        send(
            R.StatusResponse(
                tag=None,
                status="OK",
                code=ResponseCode(name="UIDNEXT", value=box.uidnext),
                text="Predicted next UID",
            )
        )
        send(
            R.StatusResponse(
                tag=None,
                status="OK",
                code=ResponseCode(name="PERMANENTFLAGS", value=(*_SYSTEM_FLAGS, "\\*")),
                text="Limited",
            )
        )
        code = "READ-ONLY" if read_only else "READ-WRITE"
        self.ok(cmd.tag, "SELECT completed", ResponseCode(name=code))

    def do_select(self, cmd: C.Select) -> None:
        self._select(cmd, False)

    def do_examine(self, cmd: C.Examine) -> None:
        self._select(cmd, True)

    def do_close(self, cmd: C.Close) -> None:
        if not self.read_only:
            self._expunge(silent=True)
        self.selected = self.view = None
        self.ok(cmd.tag, "CLOSE completed")

    def do_unselect(self, cmd: C.Unselect) -> None:
        self.selected = self.view = None
        self.ok(cmd.tag, "UNSELECT completed")

    def do_check(self, cmd: C.Check) -> None:
        self.ok(cmd.tag, "CHECK completed")

    def do_idle(self, cmd: C.Idle) -> None:
        self.idling = cmd
        self.conn.send(R.Continuation(text="idling"))
        self.push()

    def do_append(self, cmd: C.Append) -> None:
        assert self.user is not None
        box = self.store.boxes[self.user].get(cmd.mailbox)
        if box is None:
            self.no(cmd.tag, "no such mailbox", "TRYCREATE")
            return
        uids = []
        for m in cmd.messages:
            uids.append(box.add(m.data, m.flags or (), m.date).uid)
        if self.selected == cmd.mailbox and self.view is not None:
            for uid in uids:
                self.view.added(uid)
            for response in self.view.updates(expunge_allowed=False):
                self.conn.send(response)
        code = ResponseCode(
            name="APPENDUID",
            value=AppendUid(uidvalidity=box.uidvalidity, uids=SequenceSet.of(*uids)),
        )
        self.ok(cmd.tag, "APPEND completed", code)

    # -- selected state ------------------------------------------------------------------

    def _targets(self, seqset: SequenceSet, uid: bool) -> list[tuple[int, StoredMessage]]:
        assert self.view is not None
        box = self.box()
        index = {m.uid: m for m in box.messages}
        return [(seq, index[u]) for seq, u in self.view.resolve(seqset, uid=uid) if u in index]

    def do_fetch(self, cmd: C.Fetch) -> None:
        attributes = (
            _MACROS.get(cmd.attributes, ()) if isinstance(cmd.attributes, str) else cmd.attributes
        )
        send = self.conn.send
        for count, (seq, msg) in enumerate(self._targets(cmd.sequence_set, cmd.uid), 1):
            fields: dict[str, Any] = {}
            sections: list[SectionData] = []
            if cmd.uid:
                fields["uid"] = msg.uid
            for att in attributes:
                if isinstance(att, SectionRequest):
                    if not att.peek and not self.read_only and "\\Seen" not in msg.flags:
                        msg.flags.add("\\Seen")
                        fields["flags"] = tuple(sorted(msg.flags))
                    sections.append(section_data(msg.parsed, att))
                elif isinstance(att, BinarySizeRequest):
                    size = binary_size(msg.parsed, att.part)
                    sizes = fields.setdefault("binary_sizes", ())
                    fields["binary_sizes"] = (*sizes, (att.part, size or 0))
                elif att == "UID":
                    fields["uid"] = msg.uid
                elif att == "FLAGS":
                    fields["flags"] = tuple(sorted(msg.flags))
                elif att == "INTERNALDATE":
                    fields["internal_date"] = msg.internal_date
                elif att == "RFC822.SIZE":
                    fields["rfc822_size"] = len(msg.data)
                elif att == "ENVELOPE":
                    fields["envelope"] = msg.envelope()
                elif att == "BODYSTRUCTURE":
                    fields["body_structure"] = msg.structure(True)
                elif att == "BODY":
                    fields["body"] = msg.structure(False)
                elif att in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                    text = {"RFC822": None, "RFC822.HEADER": "HEADER", "RFC822.TEXT": "TEXT"}[att]
                    data = section_data(msg.parsed, SectionRequest(section=Section(text=text))).data  # type: ignore[arg-type]
                    sections.append(SectionData(legacy=att, data=data))
            send(R.FetchResponse(seq=seq, sections=tuple(sections), **fields))
            if count % 64 == 0 and self.on_output is not None:
                # Stream a large FETCH: the client parses while we go on.
                self.on_output(self.conn.data_to_send())
        self.ok(cmd.tag, "FETCH completed")

    def do_store(self, cmd: C.Store) -> None:
        if self.read_only:
            self.no(cmd.tag, "read-only mailbox")
            return
        flags = set(cmd.flags)
        for seq, msg in self._targets(cmd.sequence_set, cmd.uid):
            if cmd.mode == "+":
                msg.flags |= flags
            elif cmd.mode == "-":
                msg.flags = {
                    f for f in msg.flags if flag_key(f) not in {flag_key(x) for x in flags}
                }
            else:
                msg.flags = set(flags)
            if not cmd.silent:
                self.conn.send(
                    R.FetchResponse(
                        seq=seq, flags=tuple(sorted(msg.flags)), uid=msg.uid if cmd.uid else None
                    )
                )
        self.ok(cmd.tag, "STORE completed")

    def _matches(self, key: SearchKey, seq: int, msg: StoredMessage) -> bool:
        op, value = key.op, key.value
        flags = {flag_key(f) for f in msg.flags}
        assert self.view is not None
        if op == "ALL":
            return True
        if op in ("SEEN", "DELETED", "FLAGGED", "ANSWERED", "DRAFT"):
            return flag_key("\\" + op) in flags
        if op in ("UNSEEN", "UNDELETED", "UNFLAGGED", "UNANSWERED", "UNDRAFT"):
            return flag_key("\\" + op[2:]) not in flags
        if op == "SEQ":
            assert isinstance(value, SequenceSet)
            return value.contains(seq, self.view.exists)
        if op == "UID":
            assert isinstance(value, SequenceSet)
            return value.contains(msg.uid, self.view.uids[-1] if self.view.uids else 0)
        if op == "NOT":
            assert isinstance(value, SearchKey)
            return not self._matches(value, seq, msg)
        if op == "OR":
            assert isinstance(value, tuple)
            a, b = value
            assert isinstance(a, SearchKey) and isinstance(b, SearchKey)
            return self._matches(a, seq, msg) or self._matches(b, seq, msg)
        if op == "AND":
            assert isinstance(value, tuple)
            return all(isinstance(k, SearchKey) and self._matches(k, seq, msg) for k in value)
        if op == "SUBJECT":
            subject = msg.envelope().subject or ""
            return isinstance(value, str) and value.lower() in subject.lower()
        raise ValueError(op)

    def do_search(self, cmd: C.Search) -> None:
        assert self.view is not None
        try:
            found = [
                (seq, msg)
                for seq, msg in self._targets(SequenceSet.of((1, "*")), False)
                if all(self._matches(k, seq, msg) for k in cmd.keys)
            ]
        except ValueError:
            self.no(cmd.tag, "search key not supported", "CANNOT")
            return
        numbers = tuple(msg.uid if cmd.uid else seq for seq, msg in found)
        self.conn.send(R.SearchResponse(numbers=numbers))
        self.ok(cmd.tag, "SEARCH completed")

    def _expunge(self, silent: bool, uids: SequenceSet | None = None) -> None:
        assert self.view is not None
        box = self.box()
        doomed = [
            m
            for m in box.messages
            if "\\Deleted" in m.flags and (uids is None or uids.contains(m.uid, box.uidnext))
        ]
        for msg in reversed(doomed):
            seq = self.view.seq(msg.uid)
            box.messages.remove(msg)
            if seq is not None:
                self.view.expunge_seq(seq)
                if not silent:
                    self.conn.send(R.ExpungeResponse(seq=seq))

    def do_expunge(self, cmd: C.Expunge) -> None:
        if self.read_only:
            self.no(cmd.tag, "read-only mailbox")
            return
        self._expunge(False, cmd.uids)
        self.ok(cmd.tag, "EXPUNGE completed")

    def _copy(self, cmd: C.Copy | C.Move) -> list[StoredMessage]:
        assert self.user is not None
        dest = self.store.boxes[self.user].get(cmd.mailbox)
        if dest is None:
            self.no(cmd.tag, "no such mailbox", "TRYCREATE")
            return []
        moved = [msg for _seq, msg in self._targets(cmd.sequence_set, cmd.uid)]
        for msg in moved:
            dest.add(msg.data, msg.flags, msg.internal_date)
        return moved

    def do_copy(self, cmd: C.Copy) -> None:
        if self._copy(cmd) or True:
            if any(c.tag == cmd.tag for c in self.conn.in_flight):
                self.ok(cmd.tag, "COPY completed")

    def do_move(self, cmd: C.Move) -> None:
        moved = self._copy(cmd)
        if not any(c.tag == cmd.tag for c in self.conn.in_flight):
            return
        assert self.view is not None
        box = self.box()
        for msg in sorted(moved, key=lambda m: -m.uid):
            seq = self.view.seq(msg.uid)
            box.messages.remove(msg)
            if seq is not None:
                self.view.expunge_seq(seq)
                self.conn.send(R.ExpungeResponse(seq=seq))
        self.ok(cmd.tag, "MOVE completed")


async def _serve_client(
    store: Store, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, options: Any
) -> None:
    session = Session(store, **options)
    session.on_output = writer.write
    try:
        writer.write(session.conn.data_to_send())
        while True:
            data = await reader.read(65536)
            alive = session.receive(data)
            out = session.conn.data_to_send()
            if out:
                writer.write(out)
                await writer.drain()
            if not alive or not data:
                break
    finally:
        store.sessions.remove(session)
        writer.close()
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await writer.wait_closed()


async def start_server(
    store: Store, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> asyncio.base_events.Server:
    """Start serving *store* over asyncio; the port is ``server.sockets[0].getsockname()[1]``."""
    return await asyncio.start_server(lambda r, w: _serve_client(store, r, w, options), host, port)
