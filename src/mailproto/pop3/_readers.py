"""Turning POP3 lines into values: command lines (server) and responses (client).

Each function takes one complete line (terminator included, as
:meth:`mailproto._buffer.ReceiveBuffer.next_line` returns it) and either
returns a value or reports what is wrong.  No function loops over bytes: the
grammar is matched with compiled regular expressions and ``bytes.split``.

Grammar (RFC 1939 §3, RFC 2449 §§3-4, 8; RFC 5034 §4)::

    command   = keyword *(SP argument) CRLF      ; 3-4 letters, case-insensitive
    keyword   = 3*4VCHAR
    argument  = 1*VCHAR                          ; PASS: the rest of the line
    response  = ("+OK" / "-ERR") [SP [resp-code SP] text] CRLF
    resp-code = "[" resp-level *("/" resp-level) "]"
    msg       = 1*DIGIT                          ; "1" is the first message

Command errors on the server are *recoverable*: the line was read whole, so
the server answers ``-ERR`` and goes on; they are returned as a
:class:`CommandError` value, not raised.  Malformed responses on the client
raise :class:`~mailproto.errors.RemoteProtocolError`: a client cannot guess
what the server meant.
"""

from __future__ import annotations

import re

import attrs

from mailproto.errors import RemoteProtocolError
from mailproto.pop3._events import (
    Apop,
    Capa,
    Capabilities,
    Dele,
    Event,
    List,
    ListEntry,
    Noop,
    Pass,
    Quit,
    Retr,
    Rset,
    Stat,
    StatResponse,
    Stls,
    Top,
    Uidl,
    UidlEntry,
    User,
)
from mailproto.sasl import Secret

__all__ = [
    "AuthCommand",
    "CommandError",
    "Status",
    "parse_capa_line",
    "parse_command",
    "parse_greeting_timestamp",
    "parse_scan_line",
    "parse_stat",
    "parse_status",
    "parse_uid_line",
    "strip_eol",
]

# A message number as RFC 1939 writes it: decimal digits.  Ten digits bound
# the conversion work and exceed any maildrop (limits cap it far lower).
_NUMBER = re.compile(rb"[0-9]{1,10}")
_KEYWORD = re.compile(rb"[A-Za-z]{3,4}")
# Printable UTF-8 argument: no controls, no SP, no DEL (see _events._ARG).
_ARGUMENT = re.compile(rb"[^\x00-\x20\x7f]+")
_MECHANISM = re.compile(rb"[A-Za-z0-9_-]{1,20}")  # RFC 4422 §3.1 sasl-mech
_HEX32 = re.compile(rb"[0-9a-fA-F]{32}")
_CONTROLS = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_RESP_CODE = re.compile(
    r"\[([\x21-\x2e\x30-\x5c\x5e-\x7e]+(?:/[\x21-\x2e\x30-\x5c\x5e-\x7e]+)*)\] ?"
)
_TIMESTAMP = re.compile(rb"<[\x21-\x3b\x3d\x3f-\x7e]*>")
_STAT = re.compile(rb"([0-9]{1,19}) ([0-9]{1,19})(?: (.*))?")
_SCAN = re.compile(rb"([0-9]{1,10}) ([0-9]{1,19})(?: .*)?")
_UIDLINE = re.compile(rb"([0-9]{1,10}) ([\x21-\x7e]{1,70})")
_CAPA_NAME = re.compile(rb"[\x21-\x7e]+")


def strip_eol(line: bytes) -> bytes:
    """*line* without its CRLF (or bare LF, which commands tolerate)."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        return line[:-1]
    return line


@attrs.frozen(kw_only=True)
class CommandError:
    """A command line the server must answer with ``-ERR``."""

    #: The verb, upper-cased, or ``""`` when the line had none.
    verb: str
    #: The text for the ``-ERR`` line.
    reason: str


@attrs.frozen(kw_only=True)
class AuthCommand:
    """``AUTH mechanism [initial-response]`` as the server parsed it."""

    #: The mechanism name, upper case.
    mechanism: str
    #: The base64 initial response as sent (``b"="`` is "empty"), or ``None``.
    initial: bytes | None = attrs.field(repr=False)


def _number(arg: bytes) -> int | None:
    if _NUMBER.fullmatch(arg) is None:
        return None
    return int(arg)


def _decode(arg: bytes) -> str | None:
    try:
        return arg.decode("utf-8")
    except UnicodeDecodeError:
        return None


_NO_ARGS: dict[str, type[Event]] = {
    "STAT": Stat,
    "NOOP": Noop,
    "RSET": Rset,
    "QUIT": Quit,
    "CAPA": Capa,
    "STLS": Stls,
}


def parse_command(line: bytes) -> Event | AuthCommand | CommandError:
    """Parse one command line (terminator included)."""
    body = strip_eol(line)
    if _CONTROLS.search(body) is not None:
        # A stray CR, NUL or other control inside the line: never let it
        # reach an application (header or log injection).
        return CommandError(verb="", reason="control characters in command")
    verb_bytes, sep, rest = body.partition(b" ")
    if _KEYWORD.fullmatch(verb_bytes) is None:
        return CommandError(verb="", reason="unknown command")
    verb = verb_bytes.decode("ascii").upper()
    if verb == "PASS":
        # RFC 1939 §7: "the server may treat spaces in the argument as part
        # of the password, instead of as argument separators".
        password = _decode(rest)
        if not sep or not password:
            return CommandError(verb=verb, reason="PASS needs a password")
        return Pass(password=Secret(password))
    args = rest.split(b" ") if sep else []
    if any(not a for a in args):
        # RFC 1939 §3: arguments are separated by a *single* space.
        return CommandError(verb=verb, reason="malformed arguments")
    nargs = len(args)
    simple = _NO_ARGS.get(verb)
    if simple is not None:
        if nargs:
            return CommandError(verb=verb, reason=f"{verb} takes no arguments")
        return simple()
    if verb in ("LIST", "UIDL"):
        if nargs == 0:
            return List() if verb == "LIST" else Uidl()
        msg = _number(args[0]) if nargs == 1 else None
        if msg is None:
            return CommandError(verb=verb, reason="invalid message number")
        if msg == 0:
            return CommandError(verb=verb, reason="no such message")
        return List(msg=msg) if verb == "LIST" else Uidl(msg=msg)
    if verb in ("RETR", "DELE"):
        msg = _number(args[0]) if nargs == 1 else None
        if msg is None:
            return CommandError(verb=verb, reason="invalid message number")
        if msg == 0:
            return CommandError(verb=verb, reason="no such message")
        return Retr(msg=msg) if verb == "RETR" else Dele(msg=msg)
    if verb == "TOP":
        msg = _number(args[0]) if nargs == 2 else None
        lines = _number(args[1]) if nargs == 2 else None
        if msg is None or lines is None:
            return CommandError(verb=verb, reason="usage: TOP msg lines")
        if msg == 0:
            return CommandError(verb=verb, reason="no such message")
        return Top(msg=msg, lines=lines)
    if verb == "USER":
        name = _decode(args[0]) if nargs == 1 and _ARGUMENT.fullmatch(args[0]) else None
        if name is None:
            return CommandError(verb=verb, reason="usage: USER name")
        return User(name=name)
    if verb == "APOP":
        if nargs != 2 or _HEX32.fullmatch(args[1]) is None:
            return CommandError(verb=verb, reason="usage: APOP name digest")
        name = _decode(args[0]) if _ARGUMENT.fullmatch(args[0]) else None
        if name is None:
            return CommandError(verb=verb, reason="usage: APOP name digest")
        return Apop(name=name, digest=Secret(args[1].decode("ascii")))
    if verb == "AUTH":
        if nargs not in (1, 2) or _MECHANISM.fullmatch(args[0]) is None:
            return CommandError(verb=verb, reason="usage: AUTH mechanism [initial-response]")
        return AuthCommand(
            mechanism=args[0].decode("ascii").upper(),
            initial=args[1] if nargs == 2 else None,
        )
    return CommandError(verb=verb, reason="unknown command")


# ---------------------------------------------------------------------------
# Client side.


@attrs.frozen(kw_only=True)
class Status:
    """A parsed status line."""

    #: ``True`` for ``+OK``, ``False`` for ``-ERR``.
    ok: bool
    #: RFC 2449 response code without brackets, or ``None``.
    code: str | None
    #: The text after the code (decoded as UTF-8, bad bytes replaced).
    text: str
    #: The raw bytes after ``+OK ``/``-ERR `` (for STAT, LIST n, UIDL n).
    rest: bytes


def parse_status(line: bytes) -> Status:
    """Parse ``+OK ...`` / ``-ERR ...``; anything else is a protocol error."""
    body = strip_eol(line)
    if body.startswith(b"+OK"):
        ok, rest = True, body[3:]
    elif body.startswith(b"-ERR"):
        ok, rest = False, body[4:]
    else:
        raise RemoteProtocolError("response does not start with +OK or -ERR")
    if rest:
        if rest[:1] != b" ":
            raise RemoteProtocolError("no space after the status indicator")
        rest = rest[1:]
    text = rest.decode("utf-8", "replace")
    code = None
    if text.startswith("["):
        m = _RESP_CODE.match(text)
        if m is not None:
            code = m.group(1)
            text = text[m.end() :]
    return Status(ok=ok, code=code, text=text, rest=rest)


def parse_greeting_timestamp(rest: bytes) -> str | None:
    """The APOP timestamp in a greeting's text (RFC 1939 §7), if any."""
    m = _TIMESTAMP.search(rest)
    return m.group().decode("ascii") if m is not None else None


def parse_stat(rest: bytes) -> StatResponse:
    """``nn mm [text]`` of a STAT answer (RFC 1939 §5)."""
    m = _STAT.fullmatch(rest)
    if m is None:
        raise RemoteProtocolError("malformed STAT response")
    text = (m.group(3) or b"").decode("utf-8", "replace")
    return StatResponse(count=int(m.group(1)), size=int(m.group(2)), text=text)


def parse_scan_line(rest: bytes) -> ListEntry:
    """``msg size`` (RFC 1939 §5 scan listing; trailing information ignored)."""
    m = _SCAN.fullmatch(rest)
    if m is None or m.group(1) == b"0" * len(m.group(1)):
        raise RemoteProtocolError("malformed scan listing")
    return ListEntry(msg=int(m.group(1)), size=int(m.group(2)))


def parse_uid_line(rest: bytes) -> UidlEntry:
    """``msg unique-id`` (RFC 1939 §7)."""
    m = _UIDLINE.fullmatch(rest)
    if m is None or m.group(1) == b"0" * len(m.group(1)):
        raise RemoteProtocolError("malformed unique-id listing")
    return UidlEntry(msg=int(m.group(1)), uid=m.group(2).decode("ascii"))


def parse_capa_line(line: bytes) -> tuple[str, tuple[str, ...]]:
    """One CAPA line: capability name (upper case) and arguments (RFC 2449 §5)."""
    parts = line.split()
    if not parts or _CAPA_NAME.fullmatch(parts[0]) is None:
        raise RemoteProtocolError("malformed capability line")
    name = parts[0].decode("ascii").upper()
    return name, tuple(p.decode("utf-8", "replace") for p in parts[1:])


def build_capabilities(items: list[tuple[str, tuple[str, ...]]]) -> Capabilities:
    """Fold parsed CAPA lines into a :class:`Capabilities`."""
    fields: dict[str, object] = {}
    other: list[tuple[str, tuple[str, ...]]] = []
    flags = {
        "TOP": "top",
        "USER": "user",
        "RESP-CODES": "resp_codes",
        "AUTH-RESP-CODE": "auth_resp_code",
        "PIPELINING": "pipelining",
        "UIDL": "uidl",
        "STLS": "stls",
    }
    for name, args in items:
        if name in flags:
            fields[flags[name]] = True
        elif name == "SASL":
            fields["sasl"] = tuple(a.upper() for a in args)
        elif name == "EXPIRE" and args:
            fields["expire"] = " ".join(args)
        elif name == "LOGIN-DELAY" and args:
            fields["login_delay"] = " ".join(args)
        elif name == "IMPLEMENTATION":
            fields["implementation"] = " ".join(args)
        else:
            other.append((name, args))
    return Capabilities(other=tuple(other), **fields)  # type: ignore[arg-type]
