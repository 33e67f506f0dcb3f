"""mailproto.testing strategies against every protocol machine.

Two properties per machine and side, on valid and near-valid input:

* only :class:`~mailproto.errors.ProtocolError` escapes ``receive_data`` /
  ``next_event`` (and ``send`` of the application's answers);
* the outcome — events, output bytes, the error class — is the same however
  the input bytes are split.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import NEED_DATA, PAUSED, ProtocolError, imap, pop3, smtp
from mailproto.errors import LocalProtocolError
from mailproto.imap import client as imap_client
from mailproto.imap import server as imap_server
from mailproto.testing import (
    chunkings,
    imap_commands,
    imap_responses,
    near_valid,
    pop3_command_events,
    pop3_commands,
    pop3_responses,
    smtp_command_events,
    smtp_commands,
    smtp_replies,
)

Outcome = tuple[list[str], bytes, str | None]


def _smtp_answer(conn: Any, event: Any) -> None:
    if isinstance(event, (smtp.Ehlo, smtp.Helo, smtp.Lhlo)):
        conn.send(smtp.Reply(code=250, lines="hello"))
    elif isinstance(event, (smtp.MailFrom, smtp.RcptTo, smtp.EndOfData)):
        conn.send(smtp.replies.OK)
    elif isinstance(event, (smtp.Vrfy, smtp.Expn)):
        conn.send(smtp.replies.CANNOT_VRFY)
    elif isinstance(event, smtp.AuthQuestion):
        conn.send(smtp.AuthAnswer(answer=False))


def _pop3_answer(conn: Any, event: Any) -> None:
    if isinstance(event, (pop3.Pass, pop3.Apop)):
        conn.send(pop3.Maildrop(messages=[pop3.MessageInfo(size=6, uid="u1")]))
    elif isinstance(event, (pop3.Retr, pop3.Top)):
        conn.send(pop3.MessageData(data=b"a\r\n.b\r\n"))
        conn.send(pop3.MessageEnd())
    elif isinstance(event, pop3.AuthQuestion):
        conn.send(pop3.AuthAnswer(answer=False))
    elif isinstance(event, pop3.Update):
        conn.send(pop3.OkResponse(text="bye"))


def _run(
    make: Callable[[], Any], pieces: list[bytes], answer: Callable[[Any, Any], None] | None
) -> Outcome:
    """Feed *pieces* to a fresh connection; record what happens."""
    conn = make()
    events: list[str] = []
    out = conn.data_to_send()
    error = None
    try:
        for piece in [*pieces, b""]:
            conn.receive_data(piece)
            for _ in range(10_000):
                event = conn.next_event()
                if event is NEED_DATA or event is PAUSED:
                    break
                events.append(repr(event))
                if answer is not None:
                    # A canned answer may not fit the state: that is ours to skip.
                    with contextlib.suppress(LocalProtocolError):
                        answer(conn, event)
                if type(event).__name__ == "ConnectionClosed":
                    raise StopIteration
            else:  # pragma: no cover
                raise AssertionError("next_event() never asked for more data")
            out += conn.data_to_send()
    except ProtocolError as exc:
        error = type(exc).__name__
        out += conn.data_to_send()
    except StopIteration:
        out += conn.data_to_send()
    return events, out, error


def _check(
    make: Callable[[], Any],
    data: bytes,
    pieces: list[bytes],
    answer: Callable[[Any, Any], None] | None = None,
) -> None:
    whole = _run(make, [data] if data else [], answer)
    split = _run(make, pieces, answer)
    assert split == whole


# -- SMTP -----------------------------------------------------------------


def _smtp_server() -> smtp.ServerConnection:
    conn = smtp.ServerConnection(
        smtp.ServerConfig(hostname="mx.example", auth_mechanisms=("PLAIN",), starttls=True)
    )
    conn.send(smtp.Reply(code=220, lines="ready"))
    return conn


smtp_session = st.lists(near_valid(smtp_commands()), max_size=8).map(b"".join)


@given(st.data(), smtp_session)
def test_smtp_server(data: st.DataObject, raw: bytes) -> None:
    _check(_smtp_server, raw, data.draw(chunkings(raw)), _smtp_answer)


def _smtp_client(commands: list[Any]) -> Callable[[], smtp.ClientConnection]:
    def make() -> smtp.ClientConnection:
        conn = smtp.ClientConnection()
        for command in commands:
            with contextlib.suppress(LocalProtocolError):
                conn.send(command)
        return conn

    return make


@given(
    st.data(),
    st.lists(smtp_command_events(), max_size=3),
    st.lists(near_valid(smtp_replies()), max_size=6).map(lambda r: b"220 hi\r\n" + b"".join(r)),
)
def test_smtp_client(data: st.DataObject, commands: list[Any], raw: bytes) -> None:
    _check(_smtp_client(commands), raw, data.draw(chunkings(raw)))


# -- POP3 -----------------------------------------------------------------


def _pop3_server() -> pop3.ServerConnection:
    conn = pop3.ServerConnection(sasl_mechanisms=("PLAIN",), stls=True)
    conn.send(pop3.Greeting(text="ready", timestamp="<1.2@host>"))
    return conn


@given(st.data(), st.lists(near_valid(pop3_commands()), max_size=8).map(b"".join))
def test_pop3_server(data: st.DataObject, raw: bytes) -> None:
    _check(
        _pop3_server,
        b"USER u\r\nPASS p\r\n" + raw,
        data.draw(chunkings(b"USER u\r\nPASS p\r\n" + raw)),
        _pop3_answer,
    )


def _pop3_client(commands: list[Any]) -> Callable[[], pop3.ClientConnection]:
    def make() -> pop3.ClientConnection:
        conn = pop3.ClientConnection()
        for command in commands:
            with contextlib.suppress(LocalProtocolError):
                conn.send(command)
        return conn

    return make


@given(
    st.data(),
    st.lists(pop3_command_events(), max_size=3),
    st.lists(near_valid(pop3_responses()), max_size=6).map(lambda r: b"+OK hi\r\n" + b"".join(r)),
)
def test_pop3_client(data: st.DataObject, commands: list[Any], raw: bytes) -> None:
    _check(_pop3_client(commands), raw, data.draw(chunkings(raw)))


# -- IMAP -----------------------------------------------------------------


def _imap_server() -> imap_server.ServerConnection:
    conn = imap_server.ServerConnection()
    conn.send(imap.responses.StatusResponse(tag=None, status="OK", text="ready"))
    return conn


@given(st.data(), st.lists(near_valid(imap_commands()), max_size=6).map(b"".join))
def test_imap_server(data: st.DataObject, raw: bytes) -> None:
    _check(_imap_server, raw, data.draw(chunkings(raw)))


@given(st.data(), st.lists(near_valid(imap_responses()), max_size=6).map(b"".join))
def test_imap_client(data: st.DataObject, raw: bytes) -> None:
    raw = b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n" + raw
    _check(imap_client.ClientConnection, raw, data.draw(chunkings(raw)))


@pytest.mark.parametrize(
    "parse", [imap.codec.parse_command, imap.codec.parse_response], ids=["command", "response"]
)
@given(raw=st.one_of(near_valid(imap_commands()), near_valid(imap_responses())))
def test_imap_codec_raises_only_protocol_errors(parse: Callable[[bytes], Any], raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse(raw)
