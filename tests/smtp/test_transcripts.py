"""RFC transcripts (C:/S: files in traces/) replayed through both sides.

Server side: the client's lines are fed to a ServerConnection; whenever it
asks for a decision, the application answers with the transcript's next
reply; the server's output must carry the transcript's reply codes in order,
and the application's texts exactly.

Client side: each C: line is parsed into an event, sent through a
ClientConnection, and the bytes it writes must be the C: line exactly; each
S: reply is fed back and must come out as a reply event with that code.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from mailproto import NEED_DATA, PAUSED
from mailproto.limits import SMTPLimits
from mailproto.smtp import (
    ClientConnection,
    DataChunk,
    EhloReply,
    EndOfData,
    Extensions,
    RecipientReply,
    Reply,
    ServerConfig,
    ServerConnection,
    State,
)
from mailproto.smtp._readers import ReplyParser, parse_command

TRACES = Path(__file__).parent / "traces"
FILES = sorted(TRACES.glob("*.txt"))


@attrs.define
class Trace:
    items: list[tuple[str, bytes]]  # ("C", line) / ("C=", raw) / ("S", reply bytes)
    replies: list[Reply]
    reply_bytes: list[bytes]
    client_bytes: bytes
    lmtp: bool


def load(path: Path) -> Trace:
    items: list[tuple[str, bytes]] = []
    s_lines: list[bytes] = []
    parser = ReplyParser(max_lines=100)
    reps: list[Reply] = []
    rep_bytes: list[bytes] = []
    client = b""
    for raw in path.read_text().splitlines():
        if raw.startswith("#") or not raw:
            continue
        tag, text = raw[:2], raw[3:]
        if tag == "S:":
            line = text.encode() + b"\r\n"
            s_lines.append(line)
            r = parser.feed(line)
            if r is not None:
                reps.append(r)
                rep_bytes.append(b"".join(s_lines))
                items.append(("S", b"".join(s_lines)))
                s_lines = []
        elif tag == "C:":
            items.append(("C", text.encode() + b"\r\n"))
            client += text.encode() + b"\r\n"
        elif tag == "C=":
            items.append(("C=", text.encode()))
            client += text.encode()
        else:
            raise AssertionError(raw)
    return Trace(items, reps, rep_bytes, client, lmtp="lmtp" in path.name)


def config_for(trace: Trace) -> tuple[ServerConfig, SMTPLimits]:
    greeting = trace.replies[0]
    ehlo = trace.replies[1]
    ext = Extensions.from_lines(ehlo.lines[1:])
    known = {"PIPELINING", "8BITMIME", "SIZE", "CHUNKING", "BINARYMIME", "DSN"}
    cfg = ServerConfig(
        hostname=greeting.lines[0].split(" ")[0],
        lmtp=trace.lmtp,
        pipelining=ext.pipelining,
        size="SIZE" in ext,
        eightbitmime=ext.eightbitmime,
        smtputf8=False,
        chunking=ext.chunking,
        binarymime=ext.binarymime,
        dsn=ext.dsn,
        enhanced_status_codes=False,
        extra_extensions={k: v for k, v in ext.keywords.items() if k not in known},
    )
    limits = SMTPLimits(message_size=ext.size)
    return cfg, limits


def strip_host(reply: Reply, host: str) -> Reply:
    first = reply.lines[0]
    rest = first[len(host) :].lstrip(" ") if first.startswith(host) else first
    return attrs.evolve(reply, lines=(rest, *reply.lines[1:]))


def parse_output(data: bytes) -> list[Reply]:
    parser = ReplyParser(max_lines=100)
    out = []
    for line in data.splitlines(keepends=True):
        r = parser.feed(line)
        if r is not None:
            out.append(r)
    return out


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_server_side(path: Path) -> None:
    trace = load(path)
    cfg, limits = config_for(trace)
    server = ServerConnection(cfg, limits=limits)
    output = bytearray()
    app_sent: dict[int, Reply] = {}

    def answer() -> None:
        output.extend(server.data_to_send())
        idx = len(parse_output(bytes(output)))
        reply = trace.replies[idx]
        if idx <= 1:
            reply = strip_host(reply, cfg.hostname)
            if idx == 1:  # EHLO: the connection adds the keywords
                reply = attrs.evolve(reply, lines=reply.lines[:1])
        app_sent[idx] = trace.replies[idx]
        server.send(reply)

    answer()
    server.receive_data(trace.client_bytes)
    for _ in range(1000):
        event = server.next_event()
        if event is NEED_DATA:
            break
        if event is PAUSED:
            if not server.awaiting_reply:
                break
            answer()
    output.extend(server.data_to_send())
    got = parse_output(bytes(output))
    assert [r.code for r in got] == [r.code for r in trace.replies]
    for idx, expected in app_sent.items():
        if idx == 1:
            assert set(got[1].lines[1:]) == set(expected.lines[1:])
            assert got[1].lines[0] == expected.lines[0]
        else:
            assert got[idx] == expected
    assert server.state is State.CLOSED


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_client_side(path: Path) -> None:
    trace = load(path)
    client = ClientConnection(lmtp=trace.lmtp)
    written = b""
    in_data = False
    for tag, data in trace.items:
        if tag == "S":
            client.receive_data(data)
            events = []
            while (ev := client.next_event()) not in (NEED_DATA, PAUSED):
                events.append(ev)
            expected = parse_output(data)[0]
            assert len(events) == 1, events
            ev = events[0]
            reply = ev.reply if isinstance(ev, (EhloReply, RecipientReply)) else ev
            assert reply == expected
            in_data = reply.code == 354
            continue
        if tag == "C=":
            client.send(DataChunk(data=data))
        elif in_data:
            if data == b".\r\n":
                client.send(EndOfData())
                in_data = False
            else:
                unstuffed = data[1:] if data.startswith(b".") else data
                client.send(DataChunk(data=unstuffed))
        else:
            ext = client.extensions
            _, event = parse_command(data, extensions=_everything(ext), utf8=True)
            client.send(event)
        out = client.data_to_send()
        written += out
        assert out == data, (out, data)
    assert written == trace.client_bytes
    assert client.state is State.CLOSED


def _everything(ext: Extensions) -> Extensions:
    # Parse the transcript's lines with every parameter allowed; the client
    # then checks them against what the server really advertised.
    return ServerConfig().extensions(tls_active=True, message_size=None)
