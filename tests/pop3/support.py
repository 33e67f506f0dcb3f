"""Test helpers: a tiny maildrop application on ServerConnection, and pumps.

The application logic here is what a real server would do (check passwords,
stream messages, delete on Update); the tests drive client and server
connections back to back through it, with any byte split.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from mailproto import NEED_DATA, PAUSED, sasl
from mailproto.pop3 import (
    Apop,
    AuthAnswer,
    Authenticated,
    AuthQuestion,
    ClientConnection,
    ConnectionClosed,
    ErrResponse,
    Event,
    Maildrop,
    MessageData,
    MessageEnd,
    MessageInfo,
    OkResponse,
    Pass,
    Retr,
    ServerConnection,
    Top,
    Update,
    User,
)

MESSAGES = [
    b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n..two dots\r\n",
    b"From: b@example.org\r\nSubject: two\r\n\r\n" + (b"x" * 70 + b"\r\n") * 70 + b"last\r\n",
    b"Subject: three\r\n\r\nline1\r\nline2\r\nline3\r\n.\r\nafter dot\r\n",
]


@attrs.define
class Store:
    """A maildrop per user, in memory."""

    users: dict[str, str] = attrs.field(factory=lambda: {"mrose": "tanstaaf"})
    boxes: dict[str, list[bytes]] = attrs.field(factory=dict)
    chunk: int = 1000
    locked: set[str] = attrs.field(factory=set)
    uids: dict[str, list[str]] = attrs.field(factory=dict)
    quit_text: str = "bye"

    def box(self, user: str) -> list[bytes]:
        return self.boxes.setdefault(user, list(MESSAGES))

    def listing(self, user: str) -> tuple[MessageInfo, ...]:
        uids = self.uids.get(user)
        return tuple(
            MessageInfo(size=len(m), uid=uids[i] if uids else f"uid-{user}-{i}")
            for i, m in enumerate(self.box(user))
        )


@attrs.define
class ServerApp:
    """Answers a ServerConnection's events the way a maildrop server does."""

    conn: ServerConnection
    store: Store
    user: str | None = None
    events: list[Event] = attrs.field(factory=list)
    closed: bool = False
    timestamp: str | None = None

    def _open(self, user: str) -> None:
        if user in self.store.locked:
            self.conn.send(ErrResponse(code="IN-USE", text="maildrop locked"))
            return
        self.user = user
        self.store.locked.add(user)
        self.conn.send(Maildrop(messages=self.store.listing(user)))

    def step(self) -> bool:
        """Process every available event; True if anything happened."""
        progressed = False
        conn = self.conn
        while not self.closed:
            event = conn.next_event()
            if event is NEED_DATA or event is PAUSED:
                return progressed
            progressed = True
            assert isinstance(event, Event)
            self.events.append(event)
            if isinstance(event, User):
                self.user = event.name
            elif isinstance(event, Pass):
                name = conn.user or ""
                if self.store.users.get(name) == event.password.reveal():
                    self._open(name)
                else:
                    conn.send(ErrResponse(code="AUTH", text="invalid password"))
            elif isinstance(event, Apop):
                password = self.store.users.get(event.name)
                assert conn.apop_timestamp is not None
                if password is not None and event.matches(conn.apop_timestamp, password):
                    self._open(event.name)
                else:
                    conn.send(ErrResponse(code="AUTH", text="permission denied"))
            elif isinstance(event, AuthQuestion):
                q = event.question
                if isinstance(q, sasl.CheckPassword):
                    stored = self.store.users.get(q.authcid)
                    conn.send(AuthAnswer(answer=stored is not None and q.matches(stored)))
                elif isinstance(q, sasl.CheckCramDigest):
                    stored = self.store.users.get(q.username)
                    conn.send(AuthAnswer(answer=stored is not None and q.matches(stored)))
                elif isinstance(q, sasl.LookupScramCredentials):
                    stored = self.store.users.get(q.username)
                    hash_name = "sha1" if q.mechanism.startswith("SCRAM-SHA-1") else "sha256"
                    creds = (
                        None
                        if stored is None
                        else sasl.scram_credentials(stored, iterations=4096, hash=hash_name)
                    )
                    conn.send(AuthAnswer(answer=creds))
                else:  # pragma: no cover
                    raise AssertionError(q)
            elif isinstance(event, Authenticated):
                self._open(event.authcid)
            elif isinstance(event, (Retr, Top)):
                assert self.user is not None
                data = self.store.box(self.user)[event.msg - 1]
                for i in range(0, len(data), self.store.chunk):
                    conn.send(MessageData(data=data[i : i + self.store.chunk]))
                    if not conn.wants_message_data:
                        break
                conn.send(MessageEnd())
            elif isinstance(event, Update):
                assert self.user is not None
                box = self.store.box(self.user)
                for n in sorted(event.deleted, reverse=True):
                    del box[n - 1]
                self.store.locked.discard(self.user)
                conn.send(OkResponse(text=self.store.quit_text))
            elif isinstance(event, ConnectionClosed):
                if self.user is not None:
                    self.store.locked.discard(self.user)
                self.closed = True
        return progressed


def client_events(client: ClientConnection) -> Iterator[Event]:
    while True:
        event = client.next_event()
        if event is NEED_DATA or event is PAUSED:
            return
        assert isinstance(event, Event)
        yield event
        if isinstance(event, ConnectionClosed):
            return


def exchange(
    client: ClientConnection,
    app: ServerApp,
    *,
    splits: Iterable[int] | None = None,
) -> list[Event]:
    """Move bytes both ways until quiet; return the client's events.

    *splits* (cycled) gives the sizes in which bytes are delivered.
    """
    sizes = list(splits) if splits else []
    out: list[Event] = []
    client_closed = False

    def feed(receiver: ClientConnection | ServerConnection, data: bytes) -> None:
        if not sizes:
            receiver.receive_data(data)
            return
        i = 0
        k = 0
        while i < len(data):
            n = max(1, sizes[k % len(sizes)])
            k += 1
            receiver.receive_data(data[i : i + n])
            i += n

    for _ in range(100_000):
        moved = app.step()
        to_client = app.conn.data_to_send()
        if to_client:
            feed(client, to_client)
            moved = True
        events = [] if client_closed else list(client_events(client))
        client_closed = client_closed or any(isinstance(e, ConnectionClosed) for e in events)
        out.extend(events)
        moved = moved or bool(events)
        to_server = client.data_to_send()
        if to_server:
            feed(app.conn, to_server)
            moved = True
        if not moved:
            return out
    raise AssertionError("exchange did not settle")
