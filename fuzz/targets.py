"""Fuzz targets: one function per parser and per connection side.

Each target takes arbitrary bytes and must return normally or raise a
:class:`mailproto.errors.ProtocolError` subclass (connections) — message
parsers must not raise at all.  Anything else is a bug: the runner stops and
saves the input.

Connection targets read their first byte as the chunk size (0 = feed all at
once), so the fuzzer also explores how the input is split; the server
targets answer every decision with a canned reply, so the machines go deep
into sessions (login, DATA, RETR, SELECT) instead of stopping at the first
question.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from mailproto import NEED_DATA, PAUSED, ProtocolError, imap, imf, mime, pop3, smtp
from mailproto.codecs.encoded_words import decode_header_text
from mailproto.errors import LocalProtocolError
from mailproto.imap import client as imap_cli
from mailproto.imap import server as imap_srv
from mailproto.mime.editing import downgrade

Target = Callable[[bytes], None]


# -- parsers ----------------------------------------------------------------


def mime_parse(data: bytes) -> None:
    """mime.parse, then touch everything: headers, tree, decoding, bytes."""
    msg = mime.parse(data)
    assert bytes(msg) == data
    for part in msg.walk():
        part.headers.get("Subject")
        part.headers.get_all("Received")
        _ = part.content_type, part.params, part.filename, part.defects
        part.decoded()
        if part.content_type.startswith("text/"):
            part.text()


def _leaf_contents(msg: mime.Message) -> list[bytes]:
    return [
        part.decoded()
        for part in msg.walk()
        if not part.is_multipart and not part.content_type.startswith(_COMPOSITE)
    ]


_COMPOSITE = ("multipart/", "message/rfc822", "message/news")


def mime_downgrade(data: bytes) -> None:
    """editing.downgrade (what the relay sends to a narrower hop) never raises.

    What it returns travels on that transport — CRLF lines of at most 998
    octets, no NUL, ASCII unless 8-bit — and carries the same content: the
    same leaf parts, in order, with the same decoded octets.
    """
    original = mime.parse(data)
    for allow_8bit in (False, True):
        out = downgrade(data, allow_8bit=allow_8bit)
        if out is None:
            continue
        assert allow_8bit or out.isascii()
        assert b"\0" not in out
        for line in out.split(b"\r\n"):
            assert b"\r" not in line and b"\n" not in line and len(line) <= 998
        if out != data:
            assert _leaf_contents(mime.parse(out)) == _leaf_contents(original)


def imf_values(data: bytes) -> None:
    """Addresses, dates, encoded words, message ids: never raise."""
    text = data.decode("utf-8", "surrogateescape")
    imf.parse_address_list(text)
    imf.parse_date(text)
    decode_header_text(text)
    imf.parse_message_id(text)
    imf.parse_message_id_list(text)


def imap_codec_command(data: bytes) -> None:
    """codec.parse_command: only ProtocolError."""
    with contextlib.suppress(ProtocolError):
        imap.codec.parse_command(data)


def imap_codec_response(data: bytes) -> None:
    """codec.parse_response: only ProtocolError."""
    with contextlib.suppress(ProtocolError):
        imap.codec.parse_response(data)


def imap_codec_command_roundtrip(data: bytes) -> None:
    """Stricter: whatever parses must serialise and parse back equal."""
    try:
        command = imap.codec.parse_command(data)
    except ProtocolError:
        return
    wire = imap.codec.serialize_command(command, literal_mode="plus")
    assert imap.codec.parse_command(wire) == command, (data, wire)


def imap_codec_response_roundtrip(data: bytes) -> None:
    """Stricter: whatever parses must serialise and parse back equal."""
    try:
        response = imap.codec.parse_response(data)
    except ProtocolError:
        return
    wire = imap.codec.serialize_response(response)
    assert imap.codec.parse_response(wire) == response, (data, wire)


# -- connections ------------------------------------------------------------


def _drive(conn: Any, data: bytes, answer: Callable[[Any, Any], None] | None) -> None:
    size = data[0] if data else 0
    payload = data[1:]
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)] if size else [payload]
    try:
        for piece in [*pieces, b""]:
            conn.receive_data(piece)
            for _ in range(100_000):
                event = conn.next_event()
                if event is NEED_DATA or event is PAUSED:
                    break
                if answer is not None:
                    with contextlib.suppress(LocalProtocolError):
                        answer(conn, event)
                if type(event).__name__ == "ConnectionClosed":
                    return
            else:
                raise AssertionError("next_event() loops without asking for data")
            conn.data_to_send()
    except ProtocolError:
        conn.data_to_send()


def _smtp_answer(conn: Any, event: Any) -> None:
    if isinstance(event, (smtp.Ehlo, smtp.Helo, smtp.Lhlo)):
        conn.send(smtp.Reply(code=250, lines="hello"))
    elif isinstance(event, (smtp.MailFrom, smtp.RcptTo)):
        conn.send(smtp.replies.OK)
    elif isinstance(event, smtp.EndOfData):
        for _ in conn.recipients if conn.config.lmtp else [None]:
            conn.send(smtp.replies.MESSAGE_ACCEPTED)
    elif isinstance(event, (smtp.Vrfy, smtp.Expn)):
        conn.send(smtp.replies.CANNOT_VRFY)
    elif isinstance(event, smtp.AuthQuestion):
        conn.send(smtp.AuthAnswer(answer=True))
    if conn.state is smtp.State.TLS_HANDSHAKE:
        conn.start_tls_done()


def smtp_server(data: bytes) -> None:
    lmtp = bool(data) and data[0] & 1 == 1
    conn = smtp.ServerConnection(
        smtp.ServerConfig(
            hostname="mx.example",
            lmtp=lmtp,
            starttls=True,
            auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
        )
    )
    conn.send(smtp.Reply(code=220, lines="ready"))
    _drive(conn, data, _smtp_answer)


def smtp_client(data: bytes) -> None:
    conn = smtp.ClientConnection()
    for command in (
        smtp.Ehlo(domain="c.example"),
        smtp.MailFrom(sender=smtp.Mailbox.parse("a@b.example")),
        smtp.RcptTo(recipient=smtp.Mailbox.parse("c@d.example")),
        smtp.Data(),
    ):
        with contextlib.suppress(LocalProtocolError):
            conn.send(command)
    _drive(conn, data, None)


def _pop3_answer(conn: Any, event: Any) -> None:
    if isinstance(event, (pop3.Pass, pop3.Apop)):
        conn.send(
            pop3.Maildrop(
                messages=[pop3.MessageInfo(size=9, uid="u1"), pop3.MessageInfo(size=3, uid="u2")]
            )
        )
    elif isinstance(event, (pop3.Retr, pop3.Top)):
        conn.send(pop3.MessageData(data=b"a\r\n.b\r\nc"))
        conn.send(pop3.MessageEnd())
    elif isinstance(event, pop3.AuthQuestion):
        conn.send(pop3.AuthAnswer(answer=True))
    elif isinstance(event, pop3.Update):
        conn.send(pop3.OkResponse(text="bye"))
    if conn.state is pop3.State.TLS_HANDSHAKE:
        conn.start_tls_done()


def pop3_server(data: bytes) -> None:
    conn = pop3.ServerConnection(sasl_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"), stls=True)
    conn.send(pop3.Greeting(text="ready", timestamp="<1.2@host>"))
    _drive(conn, data, _pop3_answer)


def pop3_client(data: bytes) -> None:
    conn = pop3.ClientConnection()
    for command in (pop3.User(name="u"), pop3.Pass(password="p"), pop3.List(), pop3.Retr(msg=1)):
        with contextlib.suppress(LocalProtocolError):
            conn.send(command)
    _drive(conn, data, None)


def _imap_answer(conn: Any, event: Any) -> None:
    if isinstance(event, imap.LiteralRequest):
        # Both answers, chosen by the announced size.
        if event.size % 2:
            conn.refuse_literal("busy")
        else:
            conn.approve_literal()
        return
    tag = getattr(event, "tag", None)
    if tag is not None and type(event).__module__.endswith("commands"):
        conn.send(imap.responses.StatusResponse(tag=tag, status="OK", text="done"))


def imap_server(data: bytes) -> None:
    # Odd first bytes (the piece size) also ask the application to approve
    # every literal of a command past 16 octets (LiteralRequest).
    approval = 16 if data and data[0] & 1 else None
    conn = imap_srv.ServerConnection(starttls=True, compress=True, literal_approval=approval)
    conn.send(imap.responses.StatusResponse(tag=None, status="OK", text="ready"))
    _drive(conn, data, _imap_answer)


def imap_client(data: bytes) -> None:
    conn = imap_cli.ClientConnection()
    _drive(conn, data, None)


def _decode_responses(pieces: list[bytes], **options: Any) -> list[Any]:
    """Every response of the pieces, fed one at a time; a failure ends the list.

    The failure is recorded as (its class, the piece being fed) after the
    values decoded before it, so two decoders agree only if they fail at
    the same point.
    """
    decoder = imap.codec.ResponseDecoder(**options)
    values: list[Any] = []
    fed = 0
    try:
        for piece in pieces:
            fed += 1
            decoder.receive_data(piece)
            for _ in range(100_000):
                value = decoder.next_response()
                if value is NEED_DATA:
                    break
                values.append(value)
            else:
                raise AssertionError("next_response() loops without asking for data")
    except ProtocolError as exc:
        values.append((type(exc), fed))
    return values


def imap_response_zero_copy(data: bytes) -> None:
    """Zero-copy literals change how a literal is held, never what is decoded.

    The input is a server's stream, fed to two ResponseDecoders in the same
    pieces (the first byte is the piece size, 0 = all at once): the default
    one and one in zero-copy mode with a threshold of 0-6 octets (also from
    the first byte), so nearly every literal is a LiteralChunks made of the
    fed pieces.  Both must give equal values (a LiteralChunks equals the
    bytes of its octets) and, when the stream is bad, fail with the same
    ProtocolError subclass while the same piece is fed.
    """
    size = data[0] if data else 0
    payload = data[1:]
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)] if size else [payload]
    default = _decode_responses(pieces)
    zero = _decode_responses(pieces, zero_copy_literals=True, zero_copy_threshold=size % 7)
    assert zero == default, (default, zero)


TARGETS: dict[str, Target] = {
    "mime_parse": mime_parse,
    "mime_downgrade": mime_downgrade,
    "imf_values": imf_values,
    "imap_codec_command": imap_codec_command,
    "imap_codec_response": imap_codec_response,
    "imap_codec_command_roundtrip": imap_codec_command_roundtrip,
    "imap_codec_response_roundtrip": imap_codec_response_roundtrip,
    "smtp_server": smtp_server,
    "smtp_client": smtp_client,
    "pop3_server": pop3_server,
    "pop3_client": pop3_client,
    "imap_server": imap_server,
    "imap_client": imap_client,
    "imap_response_zero_copy": imap_response_zero_copy,
}
