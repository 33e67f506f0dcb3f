"""Turning command events into wire bytes (the client's half of the grammar).

Every writer is the inverse of the matching parser in :mod:`._readers`:
``parse_command(write_command(e)) == e`` for every valid event, which the
hypothesis tests check.  Event constructors already validated their fields
(no CR/LF can reach the wire through them), so writers only format.
"""

from __future__ import annotations

from collections.abc import Callable

from mailproto.smtp._events import (
    Auth,
    Bdat,
    Data,
    Ehlo,
    Event,
    Expn,
    Helo,
    Help,
    Lhlo,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Rset,
    StartTLS,
    Vrfy,
)

__all__ = ["write_command"]


def _encode(text: str) -> bytes:
    # Non-ASCII only reaches here when the client checked SMTPUTF8 (RFC 6531).
    return text.encode("utf-8")


def _path(mailbox: object) -> str:
    return "<>" if mailbox is None else f"<{mailbox}>"


def _params(params: list[str]) -> str:
    return "".join(" " + p for p in params)


def _mail(e: MailFrom) -> bytes:
    return _encode(f"MAIL FROM:{_path(e.sender)}{_params(e.parameters.to_wire())}\r\n")


def _rcpt(e: RcptTo) -> bytes:
    return _encode(f"RCPT TO:{_path(e.recipient)}{_params(e.parameters.to_wire())}\r\n")


def _bdat(e: Bdat) -> bytes:
    return f"BDAT {e.size}{' LAST' if e.last else ''}\r\n".encode("ascii")


def _auth(e: Auth) -> bytes:
    import base64

    if e.initial_response is None:
        return f"AUTH {e.mechanism}\r\n".encode("ascii")
    # RFC 4954 §4: an empty initial response is sent as "=".
    ir = base64.b64encode(e.initial_response) if e.initial_response else b"="
    return b"AUTH " + e.mechanism.encode("ascii") + b" " + ir + b"\r\n"


def _opt(verb: str, arg: str | None) -> bytes:
    return _encode(f"{verb} {arg}\r\n" if arg else f"{verb}\r\n")


_WRITERS: dict[type[Event], Callable[[Event], bytes]] = {
    Helo: lambda e: _encode(f"HELO {e.domain}\r\n"),  # type: ignore[attr-defined]
    Ehlo: lambda e: _encode(f"EHLO {e.domain}\r\n"),  # type: ignore[attr-defined]
    Lhlo: lambda e: _encode(f"LHLO {e.domain}\r\n"),  # type: ignore[attr-defined]
    MailFrom: _mail,  # type: ignore[dict-item]
    RcptTo: _rcpt,  # type: ignore[dict-item]
    Data: lambda e: b"DATA\r\n",
    Bdat: _bdat,  # type: ignore[dict-item]
    Rset: lambda e: b"RSET\r\n",
    Vrfy: lambda e: _encode(f"VRFY {e.argument}\r\n"),  # type: ignore[attr-defined]
    Expn: lambda e: _encode(f"EXPN {e.argument}\r\n"),  # type: ignore[attr-defined]
    Help: lambda e: _opt("HELP", e.topic),  # type: ignore[attr-defined]
    Noop: lambda e: _opt("NOOP", e.argument),  # type: ignore[attr-defined]
    Quit: lambda e: b"QUIT\r\n",
    StartTLS: lambda e: b"STARTTLS\r\n",
    Auth: _auth,  # type: ignore[dict-item]
}


def write_command(event: Event) -> bytes:
    """The command line for *event*, CRLF included; ``KeyError`` if it is
    not a command."""
    return _WRITERS[type(event)](event)
