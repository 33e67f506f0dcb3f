"""ServerConnection: sequencing, limits and extensions answered by the machine."""

from __future__ import annotations

import attrs
import pytest

from mailproto import NEED_DATA, PAUSED, LimitExceeded, LocalProtocolError
from mailproto.limits import SMTPLimits
from mailproto.smtp import (
    CommandRejected,
    ConnectionClosed,
    DataChunk,
    EndOfData,
    MailFrom,
    MessageAborted,
    Quit,
    RcptTo,
    Reply,
    Rset,
    ServerConfig,
    ServerConnection,
    StartTLS,
    State,
    replies,
)
from tests.smtp._helpers import GREETING, ServerApp


def session(config: ServerConfig | None = None, limits: SMTPLimits | None = None) -> ServerApp:
    config = attrs.evolve(config or ServerConfig(), hostname="mx.test")
    app = ServerApp(ServerConnection(config, limits=limits))
    assert app.greet() == b"220 mx.test ESMTP test server\r\n"
    return app


def codes(output: bytes) -> list[int]:
    return [int(line[:3]) for line in output.split(b"\r\n") if line[3:4] == b" "]


def ehlo(app: ServerApp) -> bytes:
    return app.feed(b"EHLO client.test\r\n")


def test_greeting_first_and_reply_checks() -> None:
    conn = ServerConnection()
    assert conn.next_event() is PAUSED
    with pytest.raises(LocalProtocolError):
        conn.send(Reply(code=250))  # greeting must be 220 or 554
    conn.send(GREETING)
    with pytest.raises(LocalProtocolError):
        conn.send(replies.OK)  # nothing owed now
    conn.receive_data(b"MAIL FROM:<a@b.org>\r\n")
    ev = conn.next_event()
    assert isinstance(ev, CommandRejected) and ev.reply.code == 503  # HELO first
    conn.receive_data(b"EHLO x\r\n")
    conn.next_event()
    with pytest.raises(LocalProtocolError):
        conn.send(Reply(code=354))  # 3xx is not an answer to EHLO
    assert conn.awaiting_reply


def test_ehlo_reply_lists_extensions_without_enhanced_codes() -> None:
    app = session()
    out = ehlo(app)
    assert out.startswith(b"250-mx.test greets you\r\n")
    assert b"250-PIPELINING\r\n" in out and b"SIZE 10240000" in out
    assert b"STARTTLS" not in out and b"AUTH" not in out and b"REQUIRETLS" not in out
    # After EHLO, replies carry RFC 3463 codes (RFC 2034).
    assert app.feed(b"NOOP\r\n") == b"250 2.0.0 OK\r\n"


def test_helo_means_no_extensions() -> None:
    app = session()
    assert app.feed(b"HELO client.test\r\n") == b"250 mx.test greets you\r\n"
    assert app.feed(b"NOOP\r\n") == b"250 OK\r\n"  # no enhanced codes
    assert codes(app.feed(b"MAIL FROM:<a@b.org> SIZE=10\r\n")) == [555]
    assert codes(app.feed(b"BDAT 3 LAST\r\nabcNOOP\r\n")) == [502, 250]


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (b"RCPT TO:<a@b.org>\r\n", [503]),
        (b"DATA\r\n", [503]),
        (b"MAIL FROM:<a@b.org>\r\nMAIL FROM:<a@b.org>\r\n", [250, 503]),
        (b"MAIL FROM:<a@b.org>\r\nDATA\r\n", [250, 554]),
        (b"MAIL FROM:<a@b.org>\r\nBDAT 2 LAST\r\nxxNOOP\r\n", [250, 554, 250]),
        (b"FOO\r\n", [500]),
        (
            b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nRSET\r\nRCPT TO:<c@d.org>\r\n",
            [250, 250, 250, 503],
        ),
        (b"MAIL FROM:<a@b.org>\r\nEHLO again\r\nRCPT TO:<c@d.org>\r\n", [250, 250, 503]),
        (b"STARTTLS\r\n", [502]),
        (b"AUTH PLAIN\r\n", [502]),
        (b"VRFY someone\r\n", [252]),
        (b"HELP\r\n", [214]),
        (b"MAIL FROM:<a@b.org> SIZE=99999999999\r\n", [552]),
        ("MAIL FROM:<ü@b.org>\r\n".encode(), [553]),
        ("MAIL FROM:<ü@b.org> SMTPUTF8\r\nRCPT TO:<ö@d.org>\r\n".encode(), [250, 250]),
        ("MAIL FROM:<a@b.org>\r\nRCPT TO:<ö@d.org>\r\n".encode(), [250, 553]),
        (b"MAIL FROM:<a@b.org> BODY=BINARYMIME\r\nRCPT TO:<c@d.org>\r\nDATA\r\n", [250, 250, 503]),
        (b"MAIL FROM:<> RET=FULL ENVID=x\r\nRCPT TO:<Postmaster>\r\n", [250, 250]),
        (b"MAIL FROM:<a@b.org> REQUIRETLS\r\n", [555]),  # only advertised under TLS
    ],
)
def test_sequencing_and_parameters(commands: bytes, expected: list[int]) -> None:
    app = session()
    ehlo(app)
    assert codes(app.feed(commands)) == expected


def test_recipient_limit() -> None:
    app = session(limits=SMTPLimits(recipients=2))
    ehlo(app)
    out = app.feed(b"MAIL FROM:<a@b.org>\r\n" + b"RCPT TO:<c@d.org>\r\n" * 3)
    assert codes(out) == [250, 250, 250, 452]
    assert b"452 4.5.3" in out


def test_recipients_past_the_limit_do_not_close_the_session() -> None:
    # RFC 5321 §4.5.3.1.10: a client that pipelined more recipients than the
    # server takes gets 452 for the rest and sends them in another
    # transaction; those 452s are not errors (or the 421 of the error limit
    # would fail the whole transaction, again at every retry).
    app = session(limits=SMTPLimits(recipients=2, errors=3))
    ehlo(app)
    out = app.feed(b"MAIL FROM:<a@b.org>\r\n" + b"RCPT TO:<c@d.org>\r\n" * 10)
    assert codes(out) == [250, 250, 250] + [452] * 8
    assert app.conn.state is not State.CLOSED
    assert codes(app.feed(b"DATA\r\n")) == [354]
    assert len(app.conn.recipients) == 2


def test_recipients_beyond_the_overshoot_count_as_errors() -> None:
    app = session(limits=SMTPLimits(recipients=2, recipient_overshoot=2, errors=2))
    ehlo(app)
    out = app.feed(b"MAIL FROM:<a@b.org>\r\n" + b"RCPT TO:<c@d.org>\r\n" * 6)
    # Two excess recipients are free; the third counts (error 1), the
    # fourth reaches the error limit.
    assert codes(out) == [250, 250, 250, 452, 452, 452, 421]
    assert app.conn.state is State.CLOSED


def test_too_many_errors_closes() -> None:
    app = session(limits=SMTPLimits(errors=3))
    out = app.feed(b"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n")
    assert codes(out) == [500, 500, 421]
    assert app.conn.state is State.CLOSED
    assert not any(isinstance(e, Quit) for e in app.events)


def test_line_too_long_is_answered_and_session_continues() -> None:
    app = session(limits=SMTPLimits(command_line_length=64))
    out = app.feed(b"NOOP " + b"x" * 200)
    assert out == b""  # still discarding the line
    out = app.feed(b"y" * 100 + b"\r\nNOOP\r\n")
    assert codes(out) == [500, 250]
    assert b"Line too long" in out
    assert len(app.conn._buf) == 0


def test_over_long_line_arriving_whole_is_answered_at_once() -> None:
    # The line end and a pipelined command arrive with the over-long line:
    # the 500 must go out now and the NOOP must not be lost with the line.
    app = session(limits=SMTPLimits(command_line_length=64))
    out = app.feed(b"EHLO " + b"x" * 1000 + b"\r\nNOOP\r\n")
    assert codes(out) == [500, 250]
    assert len(app.conn._buf) == 0


def test_over_long_auth_response_is_answered_once() -> None:
    config = ServerConfig(auth_mechanisms=("PLAIN",), auth_requires_tls=False)
    app = session(config, limits=SMTPLimits(auth_line_length=64))
    ehlo(app)
    assert codes(app.feed(b"AUTH PLAIN\r\n")) == [334]
    out = app.feed(b"A" * 100)
    assert codes(out) == [500]
    out = app.feed(b"A" * 100 + b"\r\nNOOP\r\n")
    assert codes(out) == [250]  # the rest of the line is skipped, not re-answered


def test_pipelined_commands_wait_for_decisions() -> None:
    conn = ServerConnection()
    conn.send(GREETING)
    conn.data_to_send()
    conn.receive_data(b"EHLO c\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\n")
    conn.next_event()
    assert conn.next_event() is PAUSED
    assert conn.next_event() is PAUSED  # nothing else is read meanwhile
    conn.send(Reply(code=250, lines="hi"))
    assert isinstance(conn.next_event(), MailFrom)
    conn.send(Reply(code=550, enhanced_status="5.7.1", lines="Go away"))
    # RCPT after a refused MAIL is a sequence error answered by the machine.
    ev = conn.next_event()
    assert isinstance(ev, CommandRejected) and ev.reply.code == 503
    out = conn.data_to_send()
    assert out.endswith(b"550 5.7.1 Go away\r\n503 5.5.1 Need MAIL command\r\n")


def test_backlog_bound_while_paused() -> None:
    conn = ServerConnection(limits=SMTPLimits(pipelined_commands=2, command_line_length=100))
    conn.send(GREETING)
    conn.receive_data(b"EHLO c\r\n")
    conn.next_event()
    with pytest.raises(LimitExceeded) as info:
        conn.receive_data(b"NOOP\r\n" * 100)
    assert info.value.hint is not None and info.value.hint.code == 421


def test_message_streamed_in_bounded_chunks() -> None:
    app = session(limits=SMTPLimits(data_chunk_size=1000, message_size=None))
    ehlo(app)
    app.feed(b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n")
    body = (b"x" * 70 + b"\r\n") * 1000
    for i in range(0, len(body), 4096):
        app.feed(body[i : i + 4096])
        assert len(app.conn._buf) < 4096 + 5
    out = app.feed(b".\r\n")
    assert codes(out) == [250]
    chunks = [e for e in app.events if isinstance(e, DataChunk)]
    assert all(len(c.data) <= 1000 for c in chunks)
    assert app.messages[0].data == body


def test_actual_size_enforced() -> None:
    app = session(limits=SMTPLimits(message_size=100))
    ehlo(app)
    app.feed(b"MAIL FROM:<a@b.org> SIZE=50\r\nRCPT TO:<c@d.org>\r\nDATA\r\n")
    out = app.feed(b"y" * 200 + b"\r\n.\r\nNOOP\r\n")
    assert codes(out) == [552, 250]
    assert app.messages == [] and app.aborted == 1
    assert app.conn.state is State.READY


def test_bdat_size_enforced_and_later_chunks_refused() -> None:
    app = session(limits=SMTPLimits(message_size=10))
    ehlo(app)
    out = app.feed(
        b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\n"
        b"BDAT 8\r\n12345678BDAT 8\r\n12345678BDAT 2 LAST\r\nxxNOOP\r\n"
    )
    assert codes(out) == [250, 250, 250, 552, 503, 250]
    assert app.messages == []


def test_bdat_message_and_zero_last() -> None:
    app = session()
    ehlo(app)
    out = app.feed(
        b"MAIL FROM:<a@b.org> BODY=BINARYMIME\r\nRCPT TO:<c@d.org>\r\n"
        b"BDAT 5\r\n\x00\r\n.\nBDAT 0 LAST\r\n"
    )
    assert codes(out) == [250, 250, 250, 250]
    assert app.messages[0].data == b"\x00\r\n.\n"


def test_rset_in_bdat_discards() -> None:
    app = session()
    ehlo(app)
    out = app.feed(b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT 3\r\nabcRSET\r\n")
    assert codes(out) == [250, 250, 250, 250]
    assert any(isinstance(e, Rset) for e in app.events)
    assert app.conn.state is State.READY and app.conn.mail_from is None


def test_require_auth_and_require_tls() -> None:
    app = session(ServerConfig(require_auth=True, auth_mechanisms=("PLAIN",)))
    ehlo(app)
    assert codes(app.feed(b"MAIL FROM:<a@b.org>\r\n")) == [530]
    app = session(ServerConfig(require_tls=True, starttls=True))
    ehlo(app)
    assert codes(app.feed(b"MAIL FROM:<a@b.org>\r\nNOOP\r\n")) == [530, 250]


def test_starttls_discards_pipelined_bytes() -> None:
    app = session(ServerConfig(starttls=True, auth_mechanisms=("PLAIN",)))
    out = ehlo(app)
    assert b"STARTTLS" in out and b"AUTH" not in out  # AUTH only under TLS
    out = app.feed(b"STARTTLS\r\nMAIL FROM:<evil@x.org>\r\nRCPT TO:<victim@x.org>\r\n")
    assert out == b"220 2.0.0 Ready to start TLS\r\n"
    assert any(isinstance(e, StartTLS) for e in app.events)
    assert app.conn.state is State.TLS_HANDSHAKE
    app.conn.receive_data(b"more plaintext\r\n")  # before the handshake: dropped
    assert app.conn.next_event() is PAUSED
    app.conn.start_tls_done()
    assert app.conn.tls_active
    assert app.conn.discarded_after_starttls == len(
        b"MAIL FROM:<evil@x.org>\r\nRCPT TO:<victim@x.org>\r\nmore plaintext\r\n"
    )
    assert not any(isinstance(e, (MailFrom, RcptTo)) for e in app.events)
    # RFC 3207 §4.2: the client must EHLO again.
    assert codes(app.feed(b"MAIL FROM:<a@b.org>\r\n")) == [503]
    out = ehlo(app)
    assert b"STARTTLS" not in out and b"AUTH PLAIN" in out and b"REQUIRETLS" in out
    assert codes(app.feed(b"STARTTLS\r\n")) == [503]
    assert codes(app.feed(b"MAIL FROM:<a@b.org> REQUIRETLS\r\n")) == [250]


def test_start_tls_done_misuse() -> None:
    conn = ServerConnection()
    with pytest.raises(LocalProtocolError):
        conn.start_tls_done()


def test_lmtp_one_reply_per_recipient() -> None:
    app = session(ServerConfig(hostname="mx.test", lmtp=True))
    assert codes(app.feed(b"EHLO c\r\n")) == [500]
    assert codes(app.feed(b"LHLO c\r\n")) == [250]
    out = app.feed(
        b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nRCPT TO:<e@f.org>\r\nDATA\r\nhi\r\n.\r\n"
    )
    assert codes(out) == [250, 250, 250, 354, 250, 250]
    assert app.conn.state is State.READY


def test_smtp_refuses_lhlo() -> None:
    app = session()
    assert codes(app.feed(b"LHLO c\r\n")) == [500]


def test_refused_greeting_allows_only_quit() -> None:
    conn = ServerConnection()
    conn.send(replies.NO_SERVICE)
    assert conn.data_to_send().startswith(b"554 ")
    conn.receive_data(b"EHLO x\r\nQUIT\r\n")
    assert isinstance(conn.next_event(), CommandRejected)
    assert isinstance(conn.next_event(), Quit)
    assert conn.data_to_send().split(b"\r\n")[1].startswith(b"221")


def test_quit_and_eof() -> None:
    app = session()
    assert codes(app.feed(b"QUIT\r\nNOOP\r\n")) == [221]
    assert app.conn.state is State.CLOSED
    assert app.conn.next_event() is PAUSED
    app.conn.receive_data(b"")
    assert isinstance(app.conn.next_event(), ConnectionClosed)


def test_eof_mid_command() -> None:
    app = session()
    app.conn.receive_data(b"NOO")
    assert app.conn.next_event() is NEED_DATA
    app.conn.receive_data(b"")
    assert isinstance(app.conn.next_event(), ConnectionClosed)


def test_vrfy_answered_by_application() -> None:
    app = session()
    ehlo(app)
    app.decide = lambda e: Reply(code=250, lines="Mark Crispin <Admin.MRC@foo.com>")
    assert app.feed(b"VRFY Crispin\r\n") == b"250 Mark Crispin <Admin.MRC@foo.com>\r\n"


def test_message_rejected_by_application() -> None:
    app = session()
    ehlo(app)
    app.decide = lambda e: (
        Reply(code=554, enhanced_status="5.7.1", lines="Spam") if isinstance(e, EndOfData) else None
    )
    out = app.feed(b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\nx\r\n.\r\n")
    assert out.endswith(b"554 5.7.1 Spam\r\n")
    assert app.conn.state is State.READY


def test_data_line_length_limit_when_set() -> None:
    app = session(limits=SMTPLimits(data_line_length=10))
    ehlo(app)
    app.feed(b"MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n")
    assert codes(app.feed(b"short\r\n" + b"x" * 20 + b"\r\n.\r\n")) == [500]
    assert isinstance(next(e for e in app.events if isinstance(e, MessageAborted)), MessageAborted)


def test_20mb_message_keeps_buffers_small() -> None:
    # The body leaves as events: the connection's own buffer never holds more
    # than one received piece (plus a partial line), however large the message.
    conn = ServerConnection(limits=SMTPLimits(message_size=None))
    conn.send(GREETING)
    conn.receive_data(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    while (ev := conn.next_event()) is not NEED_DATA:
        if ev is PAUSED:
            conn.send(replies.OK)
    piece = (b"y" * 78 + b"\r\n") * 800  # 64000 octets
    received = 0
    largest = 0
    for _ in range(20 * 1024 * 1024 // len(piece)):
        conn.receive_data(piece)
        largest = max(largest, len(conn._buf))
        while (ev := conn.next_event()) is not NEED_DATA:
            assert isinstance(ev, DataChunk)
            received += len(ev.data)
    conn.receive_data(b".\r\n")
    assert isinstance(conn.next_event(), EndOfData)
    assert received == 20 * 1024 * 1024 // len(piece) * len(piece)
    assert largest <= len(piece) < 1024 * 1024


def test_utf8_on_the_line_needs_smtputf8_but_xtext_does_not() -> None:
    app = session()
    ehlo(app)
    # ENVID carries UTF-8 octets as xtext: ASCII on the wire, no SMTPUTF8 needed.
    assert codes(app.feed(b"MAIL FROM:<a@b.org> ENVID=+C3+BC\r\n")) == [250]
    assert app.conn.mail_from is not None and app.conn.mail_from.parameters.envid == "ü"
    app.feed(b"RSET\r\n")
    # Raw UTF-8 in an RFC 6533 ORCPT without SMTPUTF8 on MAIL: refused.
    app.feed(b"MAIL FROM:<a@b.org>\r\n")
    out = app.feed("RCPT TO:<c@d.org> ORCPT=utf-8;ü@d.org\r\n".encode())
    assert codes(out) == [553]
