"""The application half of the POP3 server examples: maildrops and their policy.

Transport-independent, like :mod:`transports.smtp_sink`:
:meth:`POP3Session.handle` answers one event of a
:class:`mailproto.pop3.ServerConnection`.  The connection does the protocol
(states, message numbers, deletion marks, dot-stuffing, CAPA, STLS, the
SASL exchange); this module decides who may log in, which messages they
see and what QUIT deletes.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from pathlib import Path
from typing import Any

import attrs

from mailproto import sasl
from mailproto.pop3 import (
    Apop,
    AuthAnswer,
    Authenticated,
    AuthQuestion,
    ConnectionClosed,
    ErrResponse,
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
)

_NEWLINE = re.compile(rb"\r?\n|\r")
#: RFC 1939 §7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E.
_UID_OK = re.compile(r"[\x21-\x7e]{1,70}")
#: How much of a message one MessageData carries (the connection stuffs it
#: as it goes, so the size only bounds memory per write).
CHUNK = 64 * 1024


@attrs.define
class StoredMessage:
    """One message of a maildrop."""

    #: RFC 1939 §7 unique-id: 1–70 octets in 0x21–0x7E, stable across sessions.
    uid: str
    #: The message with CRLF line ends (POP3 sizes count CRLF, RFC 1939 §5).
    data: bytes
    #: The file it came from (removed when the message is deleted), if any.
    path: Path | None = None


@attrs.define
class Maildrops:
    """Users, passwords and one maildrop per user, in memory or from files."""

    #: user name → password.
    users: dict[str, str]
    #: user name → messages (missing user: empty maildrop).
    boxes: dict[str, list[StoredMessage]] = attrs.field(factory=dict)
    #: Users with a session in TRANSACTION (RFC 1939 §8: one at a time).
    locked: set[str] = attrs.field(factory=set)
    _serial: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    def add(self, user: str, data: bytes, *, path: Path | None = None) -> StoredMessage:
        """Append *data* (any line ends) to *user*'s maildrop."""
        if path is None:
            uid = f"m{next(self._serial)}"
        elif _UID_OK.fullmatch(path.stem):
            uid = path.stem
        else:  # a name that is no valid unique-id: a stable digest of it instead
            uid = hashlib.sha256(path.name.encode("utf-8", "surrogateescape")).hexdigest()[:40]
        message = StoredMessage(uid=uid, data=_NEWLINE.sub(b"\r\n", data), path=path)
        self.boxes.setdefault(user, []).append(message)
        return message

    @classmethod
    def from_directory(cls, root: Path, users: dict[str, str]) -> Maildrops:
        """``root/<user>/*.eml`` is each user's maildrop, in file-name order."""
        drops = cls(users=users)
        for user in users:
            for path in sorted((root / user).glob("*.eml")):
                drops.add(user, path.read_bytes(), path=path)
        return drops


@attrs.define
class POP3Session:
    """Answers the events of one :class:`~mailproto.pop3.ServerConnection`."""

    drops: Maildrops
    #: The user once logged in.
    user: str | None = None
    #: The maildrop as listed at login: message numbers index into it.
    messages: list[StoredMessage] = attrs.field(factory=list)

    def _login(self, conn: ServerConnection, user: str) -> None:
        if user in self.drops.locked:
            # RFC 2449 §8.1.2 IN-USE: the maildrop is locked by another session.
            conn.send(ErrResponse(code="IN-USE", text="maildrop already locked"))
            return
        self.user = user
        self.drops.locked.add(user)
        self.messages = list(self.drops.boxes.get(user, ()))
        listing = tuple(MessageInfo(size=len(m.data), uid=m.uid) for m in self.messages)
        conn.send(Maildrop(messages=listing, text=f"{user} has {len(listing)} messages"))

    def handle(self, conn: ServerConnection, event: Any) -> None:
        """Answer *event* (events the connection answered itself are ignored)."""
        if isinstance(event, Pass):
            stored = self.drops.users.get(conn.user or "")
            given = event.password.reveal().encode()
            if stored is not None and hmac.compare_digest(stored.encode(), given):
                self._login(conn, conn.user or "")
            else:
                conn.send(ErrResponse(code="AUTH", text="invalid user name or password"))
        elif isinstance(event, Apop):
            # RFC 1939 §7: MD5 of the greeting's timestamp and the secret;
            # possible here because this store keeps plain passwords.
            stored = self.drops.users.get(event.name)
            stamp = conn.apop_timestamp or ""
            if stored is not None and event.matches(stamp, stored):
                self._login(conn, event.name)
            else:
                conn.send(ErrResponse(code="AUTH", text="invalid user name or digest"))
        elif isinstance(event, AuthQuestion):
            # SASL PLAIN (and LOGIN) ask CheckPassword; this store keeps
            # plain passwords, so it cannot answer SCRAM or CRAM questions.
            question = event.question
            ok = False
            if isinstance(question, sasl.CheckPassword):
                stored = self.drops.users.get(question.authcid)
                ok = stored is not None and question.matches(stored)
                # Acting as someone else (an authzid) is not allowed here.
                ok = ok and question.authzid in (None, question.authcid)
            conn.send(AuthAnswer(answer=ok))
        elif isinstance(event, Authenticated):
            self._login(conn, event.authcid)
        elif isinstance(event, (Retr, Top)):
            data = self.messages[event.msg - 1].data
            for start in range(0, len(data), CHUNK):
                conn.send(MessageData(data=data[start : start + CHUNK]))
                if not conn.wants_message_data:
                    break  # TOP has its lines: the connection cut the rest
            conn.send(MessageEnd())
        elif isinstance(event, Update):
            # RFC 1939 §6: QUIT in TRANSACTION removes the marked messages.
            assert self.user is not None
            doomed = [self.messages[n - 1] for n in event.deleted]
            gone = {id(m) for m in doomed}
            box = self.drops.boxes.get(self.user, [])
            box[:] = [m for m in box if id(m) not in gone]
            for message in doomed:
                if message.path is not None:
                    message.path.unlink(missing_ok=True)
            self._unlock()
            conn.send(OkResponse(text=f"{len(doomed)} messages deleted"))
        elif isinstance(event, ConnectionClosed):
            self._unlock()  # a dropped session deletes nothing (RFC 1939 §6)

    def _unlock(self) -> None:
        if self.user is not None:
            self.drops.locked.discard(self.user)
            self.user = None
