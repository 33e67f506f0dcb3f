"""Turning POP3 events into bytes: command lines and status lines.

Every writer checks the RFC length bounds *before* anything is queued, so an
application that builds a too-long line gets a
:class:`~mailproto.errors.LocalProtocolError` and the connection is left as it
was.  Multi-line bodies (message content) are not written here: they are
streamed through :class:`mailproto.codecs.dotstuff.DotStuffer` by the server
connection.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailproto.errors import LocalProtocolError
from mailproto.pop3._events import (
    Apop,
    Capa,
    Dele,
    Event,
    List,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    User,
)

__all__ = ["command_verb", "write_command", "write_listing", "write_status"]

CRLF = b"\r\n"

# Verbs of the argument-less commands.
_SIMPLE: dict[type[Event], bytes] = {
    Capa: b"CAPA",
    Stls: b"STLS",
    Stat: b"STAT",
    Noop: b"NOOP",
    Rset: b"RSET",
    Quit: b"QUIT",
}

_VERBS: dict[type[Event], str] = {
    **{cls: verb.decode() for cls, verb in _SIMPLE.items()},
    User: "USER",
    Pass: "PASS",
    Apop: "APOP",
    List: "LIST",
    Retr: "RETR",
    Dele: "DELE",
    Top: "TOP",
    Uidl: "UIDL",
}


def command_verb(event: Event) -> str | None:
    """The POP3 verb an event is sent as, or ``None`` if it is not a command."""
    return _VERBS.get(type(event))


def write_command(event: Event, max_length: int) -> bytes:
    """The command line for *event*, CRLF included.

    *max_length* is the bound of RFC 2449 §4 (255 octets with CRLF) from
    :class:`~mailproto.limits.POP3Limits`.  (AUTH lines are written by the
    client connection, which owns the SASL mechanism.)
    """
    simple = _SIMPLE.get(type(event))
    if simple is not None:
        return simple + CRLF
    if isinstance(event, User):
        line = b"USER " + event.name.encode("utf-8")
    elif isinstance(event, Pass):
        line = b"PASS " + event.password.reveal_bytes()
    elif isinstance(event, Apop):
        line = b"APOP " + event.name.encode("utf-8") + b" " + event.digest.reveal_bytes()
    elif isinstance(event, (List, Uidl)):
        verb = b"LIST" if isinstance(event, List) else b"UIDL"
        line = verb if event.msg is None else b"%s %d" % (verb, event.msg)
    elif isinstance(event, Retr):
        line = b"RETR %d" % event.msg
    elif isinstance(event, Dele):
        line = b"DELE %d" % event.msg
    elif isinstance(event, Top):
        line = b"TOP %d %d" % (event.msg, event.lines)
    else:
        raise LocalProtocolError(f"{type(event).__name__} is not a POP3 command")
    line += CRLF
    if len(line) > max_length:
        # Never echo the line: it may hold a password.
        raise LocalProtocolError(
            f"{_VERBS[type(event)]} command would be {len(line)} octets, "
            f"more than the {max_length} RFC 2449 §4 allows"
        )
    return line


def write_status(ok: bool, text: str, code: str | None, max_length: int) -> bytes:
    """A status line: ``+OK``/``-ERR``, then ``[CODE]`` and text (RFC 2449 §8)."""
    parts = [b"+OK" if ok else b"-ERR"]
    if code is not None:
        parts.append(b"[" + code.encode("ascii") + b"]")
    if text:
        parts.append(text.encode("utf-8"))
    line = b" ".join(parts) + CRLF
    if len(line) > max_length:
        # RFC 2449 §4: status lines are at most 512 octets with CRLF.
        raise LocalProtocolError(f"status line would be {len(line)} octets, more than {max_length}")
    return line


def write_listing(lines: Iterable[bytes]) -> bytes:
    """The body and terminator of a multi-line listing (CAPA, LIST, UIDL).

    RFC 1939 §3: a line beginning with the termination octet is stuffed with
    a second one.  (Listing lines start with digits or capability names, so
    this only ever matters for odd capability names, but it costs nothing.)
    """
    out = [b"." + line if line[:1] == b"." else line for line in lines]
    out.append(b".")
    return CRLF.join(out) + CRLF
