"""The transcript player: parsing, mismatch reports, and RFC dialogues
replayed through both sides of SMTP and POP3 (and IMAP), whole and byte by
byte."""

from __future__ import annotations

from typing import Any

import pytest

from mailproto import NEED_DATA, imap, pop3, smtp
from mailproto.imap import server as imap_server
from mailproto.testing import Line, TranscriptMismatch, TranscriptPlayer, parse_transcript

# -- parsing --------------------------------------------------------------


def test_parse_lines_comments_escapes_and_loose_lines() -> None:
    lines = parse_transcript(
        "# comment\n\nS: 220 ready\nC: EHLO x\\r\\n\nC:/ more\nS: 250 ...\nC: a\\x00b\n"
    )
    assert lines == [
        Line(side="S", data=b"220 ready\r\n", lineno=3),
        Line(side="C", data=b"EHLO x\r\nmore\r\n", lineno=4),
        Line(side="S", data=b"250", loose=True, lineno=6),
        Line(side="C", data=b"a\x00b\r\n", lineno=7),
    ]


def test_parse_rejects_other_prefixes() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_transcript("X: nope\n")


class EchoConn:
    """A toy connection: answers every line with "ok <line>"."""

    def __init__(self) -> None:
        self.out = b""
        self.buf = b""

    def receive_data(self, data: bytes) -> None:
        self.buf += data

    def next_event(self) -> Any:
        if b"\r\n" not in self.buf:
            return NEED_DATA
        line, _, self.buf = self.buf.partition(b"\r\n")
        self.out += b"ok " + line + b"\r\n"
        return line

    def send(self, event: Any) -> None:  # pragma: no cover - never called
        raise AssertionError(event)

    def data_to_send(self) -> bytes:
        out, self.out = self.out, b""
        return out


def test_loose_peer_lines_are_refused() -> None:
    with pytest.raises(ValueError, match="line 1"):
        TranscriptPlayer(EchoConn(), "C: a ...\nS: ok a\n", role="server").play()


def test_player_matches_and_reports_mismatches() -> None:
    events = TranscriptPlayer(EchoConn(), "C: a\nC: b\nS: ok a\nS: ok ...\n", role="server").play()
    assert events == [b"a", b"b"]
    with pytest.raises(TranscriptMismatch, match="line 2"):
        TranscriptPlayer(EchoConn(), "C: a\nS: ok b\n", role="server").play()
    with pytest.raises(TranscriptMismatch, match="more than the transcript"):
        TranscriptPlayer(EchoConn(), "C: a\nC: b\nS: ok a\n", role="server").play()


# -- SMTP: RFC 5321 Appendix D.1, with this server's EHLO extensions -------

D1 = """
S: 220 foo.com Simple Mail Transfer Service Ready
C: EHLO bar.com
S: 250-foo.com greets bar.com
S: 250-SIZE 10240000
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250 DSN
C: MAIL FROM:<Smith@bar.com>
S: 250 OK
C: RCPT TO:<Jones@foo.com>
S: 250 OK
C: RCPT TO:<Green@foo.com>
S: 550 No such user here
C: RCPT TO:<Brown@foo.com>
S: 250 OK
C: DATA
S: 354 ...
C: Blah blah blah...
C: ..etc. etc. etc.
C: .
S: 250 OK
C: QUIT
S: 221 ...
"""
CONFIG = smtp.ServerConfig(
    hostname="foo.com",
    pipelining=False,
    chunking=False,
    binarymime=False,
    enhanced_status_codes=False,
    requiretls=False,
)


def _reply_from(lines: list[Line], hostname: str | None = None) -> smtp.Reply:
    """The Reply the transcript's next server lines spell out."""
    texts = []
    code = int(lines[0].data[:3])
    for line in lines:
        texts.append(line.data[4:].rstrip(b"\r\n").decode())
        if line.data[3:4] != b"-":
            break
    if hostname and texts[0].startswith(hostname + " "):
        texts[0] = texts[0][len(hostname) + 1 :]  # the connection adds it
    return smtp.Reply(
        code=code, lines=tuple(texts[:1] if code == 250 and len(texts) > 1 else texts)
    )


def _smtp_server_hook(player: TranscriptPlayer, event: Any) -> None:
    if isinstance(event, (smtp.Ehlo, smtp.MailFrom, smtp.RcptTo, smtp.EndOfData)):
        player.conn.send(_reply_from(player.upcoming(), "foo.com"))


@pytest.mark.parametrize("chunk", [None, 1, [3, 7]])
def test_rfc5321_d1_server_side(chunk: Any) -> None:
    conn = smtp.ServerConnection(CONFIG)
    conn.send(smtp.Reply(code=220, lines="Simple Mail Transfer Service Ready"))
    events = TranscriptPlayer(
        conn, D1, role="server", on_event=_smtp_server_hook, chunk=chunk
    ).play()
    data = b"".join(e.data for e in events if isinstance(e, smtp.DataChunk))
    assert data == b"Blah blah blah...\r\n.etc. etc. etc.\r\n"
    assert [str(e.recipient) for e in events if isinstance(e, smtp.RcptTo)] == [
        "Jones@foo.com",
        "Green@foo.com",
        "Brown@foo.com",
    ]


class _SMTPClientScript:
    """Turns the transcript's C: lines into client events."""

    def __init__(self) -> None:
        self.in_data = False

    def __call__(self, player: TranscriptPlayer, line: Line) -> None:
        _smtp_client_line(self, player.conn, line)


def _smtp_client_line(script: _SMTPClientScript, conn: Any, line: Line) -> None:
    text = line.data[:-2].decode()
    if script.in_data:
        if text == ".":
            script.in_data = False
            conn.send(smtp.EndOfData())
        else:  # the transcript shows the stuffed line; send the content
            conn.send(smtp.DataChunk(data=line.data[1:] if text.startswith("..") else line.data))
    elif text.startswith("EHLO "):
        conn.send(smtp.Ehlo(domain=text[5:]))
    elif text.startswith("MAIL FROM:"):
        conn.send(smtp.MailFrom(sender=smtp.Mailbox.parse(text[11:-1])))
    elif text.startswith("RCPT TO:"):
        conn.send(smtp.RcptTo(recipient=smtp.Mailbox.parse(text[9:-1])))
    elif text == "DATA":
        script.in_data = True
        conn.send(smtp.Data())
    elif text == "QUIT":
        conn.send(smtp.Quit())
    else:  # pragma: no cover
        raise AssertionError(text)


@pytest.mark.parametrize("chunk", [None, 1])
def test_rfc5321_d1_client_side(chunk: Any) -> None:
    events = TranscriptPlayer(
        smtp.ClientConnection(),
        D1.replace("S: 221 ...", "S: 221 Bye").replace("S: 354 ...", "S: 354 Go ahead"),
        role="client",
        on_line=_SMTPClientScript(),
        chunk=chunk,
    ).play()
    codes = [
        e.reply.code if isinstance(e, smtp.EhloReply) else e.code
        for e in events
        if isinstance(e, (smtp.Reply, smtp.EhloReply))
    ]
    assert codes == [220, 250, 250, 250, 550, 250, 354, 250, 221]
    ehlo = next(e for e in events if isinstance(e, smtp.EhloReply))
    assert ehlo.extensions.dsn and ehlo.extensions.size == 10240000


def test_smtp_mismatch_is_reported() -> None:
    conn = smtp.ServerConnection(CONFIG)
    conn.send(smtp.Reply(code=220, lines="Simple Mail Transfer Service Ready"))
    bad = D1.replace("S: 550 No such user here", "S: 551 User not local")

    def accept_all(player: TranscriptPlayer, event: Any) -> None:
        if isinstance(event, smtp.RcptTo) and event.recipient.local_part == "Green":
            player.conn.send(smtp.Reply(code=550, lines="No such user here"))
        else:
            _smtp_server_hook(player, event)

    with pytest.raises(TranscriptMismatch, match="551"):
        TranscriptPlayer(conn, bad, role="server", on_event=accept_all).play()


# -- POP3: RFC 1939 §10, our texts where the RFC's are examples ------------

MSG = b"Subject: one\r\n\r\n.dot\r\nbody\r\n"
RFC1939 = """
S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
S: +OK ...
C: STAT
S: +OK 2 {total}
C: LIST
S: +OK ...
S: 1 {size}
S: 2 {size}
S: .
C: RETR 1
S: +OK ...
S: Subject: one
S:
S: ..dot
S: body
S: .
C: DELE 1
S: +OK ...
C: RETR 1
S: -ERR ...
C: QUIT
S: +OK ...
""".format(total=2 * len(MSG), size=len(MSG))


def _pop3_server_hook(player: TranscriptPlayer, event: Any) -> None:
    conn = player.conn
    if isinstance(event, pop3.Apop):
        assert event.matches("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf")
        conn.send(
            pop3.Maildrop(messages=[pop3.MessageInfo(size=len(MSG), uid=f"u{i}") for i in range(2)])
        )
    elif isinstance(event, pop3.Retr):
        conn.send(pop3.MessageData(data=MSG))
        conn.send(pop3.MessageEnd())
    elif isinstance(event, pop3.Update):
        conn.send(pop3.OkResponse(text="signing off"))


@pytest.mark.parametrize("chunk", [None, 1])
def test_rfc1939_server_side(chunk: Any) -> None:
    conn = pop3.ServerConnection()
    conn.send(
        pop3.Greeting(text="POP3 server ready", timestamp="<1896.697170952@dbc.mtview.ca.us>")
    )
    events = TranscriptPlayer(
        conn, RFC1939, role="server", on_event=_pop3_server_hook, chunk=chunk
    ).play()
    [update] = [e for e in events if isinstance(e, pop3.Update)]
    assert update.deleted == (1,) and update.uids == ("u0",)


def _pop3_client_hook(player: TranscriptPlayer, line: Line) -> None:
    verb, _, arg = line.data[:-2].decode().partition(" ")
    conn = player.conn
    if verb == "APOP":
        name, digest = arg.split()
        conn.send(pop3.Apop(name=name, digest=digest))
    elif verb in ("STAT", "LIST", "QUIT"):
        conn.send({"STAT": pop3.Stat, "LIST": pop3.List, "QUIT": pop3.Quit}[verb]())
    elif verb == "RETR":
        conn.send(pop3.Retr(msg=int(arg)))
    elif verb == "DELE":
        conn.send(pop3.Dele(msg=int(arg)))
    else:  # pragma: no cover
        raise AssertionError(verb)


def test_rfc1939_client_side() -> None:
    script = RFC1939.replace("S: +OK ...", "S: +OK fine").replace("S: -ERR ...", "S: -ERR gone")
    events = TranscriptPlayer(
        pop3.ClientConnection(), script, role="client", on_line=_pop3_client_hook, chunk=[2, 5]
    ).play()
    body = b"".join(e.data for e in events if isinstance(e, pop3.MessageData))
    assert body == MSG
    stat = next(e for e in events if isinstance(e, pop3.StatResponse))
    assert (stat.count, stat.size) == (2, 2 * len(MSG))
    assert any(isinstance(e, pop3.ErrResponse) for e in events)


# -- IMAP: RFC 9051 §8-style exchange -------------------------------------

IMAP = """
S: * OK [CAPABILITY IMAP4rev1 IDLE ...
C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 IDLE ...
S: a1 OK ...
C: a2 LOGIN mrose tanstaaf
S: a2 OK ...
C: a3 LOGOUT
S: * BYE ...
S: a3 OK ...
"""


def test_imap_server_side() -> None:
    conn = imap_server.ServerConnection(capabilities=("IMAP4rev1", "IDLE"))
    conn.send(imap.responses.StatusResponse(tag=None, status="OK", text="ready"))
    script = IMAP

    def hook(player: TranscriptPlayer, event: Any) -> None:
        if isinstance(event, imap.commands.Login):
            assert (event.username, event.password) == ("mrose", "tanstaaf")
            player.conn.send(
                imap.responses.StatusResponse(tag=event.tag, status="OK", text="logged in")
            )

    events = TranscriptPlayer(conn, script, role="server", on_event=hook, chunk=1).play()
    assert any(isinstance(e, imap.commands.Login) for e in events)
