"""The opt-in zero-copy literal mode of the client-side decoder.

* :class:`LiteralChunks` behaves as the value it stands for: length, bytes,
  equality and hash agree with the equal :class:`bytes`; it validates the
  pieces a user gives it and refuses mutable ones.
* For any responses and any chunking, the zero-copy decoder gives values
  equal to the default decoder's, and every piece of a literal above the
  threshold is a chunk that was fed, or a memoryview of one: nothing copied.
* The serializer writes a :class:`LiteralChunks` without joining it.
* Limits hold in zero-copy mode, and a 100 MiB literal allocates almost
  nothing beyond the received chunks.
"""

from __future__ import annotations

import copy
import gc
import itertools
import pickle
import socket
import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import NEED_DATA, LimitExceeded, ProtocolError
from mailproto.errors import LocalProtocolError
from mailproto.imap import codec
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap._events import Completed, Untagged
from mailproto.imap._fragmentizer import RawMessage
from mailproto.imap._writer import LiteralFragment, Writer
from mailproto.imap.client import ClientConnection
from mailproto.imap.types import (
    ZERO_COPY_THRESHOLD,
    LiteralChunks,
    Section,
    SectionData,
    SectionRequest,
    SequenceSet,
)
from mailproto.imap.types._literal import literal_bytes
from mailproto.limits import IMAPLimits
from tests.imap import strategies as S
from tests.interop.dovecot import DovecotServer, dovecot_fixture

# -- the value type ----------------------------------------------------------------


def _value(data: bytes, cuts: list[int]) -> LiteralChunks:
    """*data* as a LiteralChunks cut at *cuts* (memoryview slices of one bytes)."""
    view = memoryview(data)
    bounds = [0, *sorted(set(cuts)), len(data)]
    return LiteralChunks(chunks=[view[a:b] for a, b in itertools.pairwise(bounds)])


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6))
def test_value_agrees_with_bytes(data: bytes, cuts: list[int]) -> None:
    value = _value(data, [c for c in cuts if c <= len(data)])
    assert len(value) == value.size == len(data)
    assert bytes(value) == value.tobytes() == data
    assert value == data and data == value
    assert (value != data) is False and (data != value) is False
    assert value == bytearray(data)
    assert hash(value) == hash(data)
    assert value == LiteralChunks(chunks=[data])
    assert all(len(piece) for piece in value.chunks)  # empty pieces dropped
    assert bool(value) == bool(data)
    # A different value of the same length is unequal (first octet changed).
    if data:
        other = bytes([data[0] ^ 1]) + data[1:]
        assert value != other and other != value
        assert value != LiteralChunks(chunks=[other])
    assert value != data + b"x"
    assert value != data.decode("latin-1")  # never equal to a str


def test_value_repr_is_bounded_and_hides_the_octets() -> None:
    value = LiteralChunks(chunks=[b"secret" * 100_000, memoryview(b"tail")])
    assert repr(value) == "LiteralChunks(<600004 octets in 2 chunks>)"


def test_value_is_immutable_and_refuses_mutable_pieces() -> None:
    value = LiteralChunks(chunks=[b"abc"])
    with pytest.raises(AttributeError):
        value.chunks = ()  # type: ignore[misc]
    with pytest.raises(LocalProtocolError, match="read-only"):
        LiteralChunks(chunks=[memoryview(bytearray(b"ab"))])
    with pytest.raises(LocalProtocolError, match="contiguous"):
        LiteralChunks(chunks=[memoryview(b"abcdef")[::2]])
    with pytest.raises(LocalProtocolError, match="bytes or memoryview"):
        LiteralChunks(chunks=["text"])  # type: ignore[list-item]
    # A view of another format is used as octets.
    wide = memoryview(b"\x01\x00\x02\x00").cast("H")
    assert LiteralChunks(chunks=[wide]) == b"\x01\x00\x02\x00"
    # A bytes subclass is kept as plain bytes.

    class Sub(bytes):
        pass

    [piece] = LiteralChunks(chunks=[Sub(b"xy")]).chunks
    assert piece.__class__ is bytes and piece == b"xy"


def test_value_copies_and_pickles() -> None:
    value = LiteralChunks(chunks=[b"ab", memoryview(b"xcdx")[1:3]])
    assert copy.copy(value) is value and copy.deepcopy(value) is value
    back = pickle.loads(pickle.dumps(SectionData(data=value)))
    assert back == SectionData(data=b"abcd") and isinstance(back.data, LiteralChunks)


def test_value_as_dict_key_and_in_typed_values() -> None:
    value = LiteralChunks(chunks=[b"ab", memoryview(b"cd")])
    assert {b"abcd": 1}[value] == 1  # type: ignore[index]
    a = SectionData(data=value)
    b = SectionData(data=b"abcd")
    assert a == b and hash(a) == hash(b)
    assert literal_bytes(value) == b"abcd" and literal_bytes(b"x") == b"x"


# -- decoding --------------------------------------------------------------------


def _split(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c % (len(stream) + 1) for c in cuts}), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def _decode(chunks: list[bytes], **options: Any) -> list[Any]:
    """Feed chunk by chunk, draining after each (as a socket loop does)."""
    decoder = codec.ResponseDecoder(limits=IMAPLimits(literal_size=1 << 24), **options)
    out: list[Any] = []
    for chunk in chunks:
        decoder.receive_data(chunk)
        while (response := decoder.next_response()) is not NEED_DATA:
            out.append(response)
    return out


def _raw(chunks: list[bytes], threshold: int, drains: list[bool]) -> list[RawMessage]:
    """Feed *chunks*, reading after chunk i only when ``drains[i]`` (and at the end).

    Whether the caller reads after every chunk or feeds several first, the
    pieces must be the chunks fed.
    """
    decoder = codec.ResponseDecoder(zero_copy_literals=True, zero_copy_threshold=threshold)
    out: list[RawMessage] = []
    for i, chunk in enumerate(chunks):
        decoder.receive_data(chunk)
        if i + 1 < len(chunks) and drains and not drains[i % len(drains)]:
            continue
        while (message := decoder.next_raw()) is not NEED_DATA:
            assert isinstance(message, RawMessage)
            out.append(message)
    return out


def _fed(piece: bytes | memoryview, chunks: list[bytes]) -> bool:
    """True when *piece* is one of *chunks* or a view of one (not a copy)."""
    base = piece.obj if isinstance(piece, memoryview) else piece
    return any(base is chunk for chunk in chunks)


# Bodies with every octet (CR, LF, NUL, "{3}\r\n" look-alikes), and the
# sections, origins and spellings the decoder's two FETCH paths take.
_bodies = st.binary(max_size=600) | st.sampled_from([b"", b"{3}\r\nabc", b")\r\n* 1 FETCH ("])


@st.composite
def _fetch_with_bodies(draw: Any) -> bytes:
    items = []
    for body in draw(st.lists(_bodies, min_size=1, max_size=3)):
        name = draw(st.sampled_from(["BODY[]", "BODY[TEXT]<5>", "RFC822", "body[1.MIME]"]))
        items.append(b"%s {%d}\r\n%s" % (name.encode(), len(body), body))
    if draw(st.booleans()):
        # An item the fast path does not know sends it to the generic path.
        items.insert(0, b"X-UNKNOWN (1 2)")
    seq = draw(st.integers(1, 1000))
    return b"* %d FETCH (%s)\r\n" % (seq, b" ".join(items))


_stream = st.lists(
    _fetch_with_bodies() | S.responses.map(codec.serialize_response), min_size=1, max_size=4
).map(b"".join)


@given(_stream, st.lists(st.integers(0, 10_000), max_size=12), st.integers(0, 300))
def test_zero_copy_values_equal_default_values(
    stream: bytes, cuts: list[int], threshold: int
) -> None:
    chunks = _split(stream, cuts)
    default = _decode(chunks)
    zero = _decode(chunks, zero_copy_literals=True, zero_copy_threshold=threshold)
    assert zero == default
    for a, b in zip(zero, default, strict=True):
        if isinstance(a, R.FetchResponse):
            assert isinstance(b, R.FetchResponse)
            for x, y in zip(a.sections, b.sections, strict=True):
                assert x.data is None or bytes(x.data) == y.data
                # Small literals stay bytes; the default mode never
                # gives a LiteralChunks.
                assert y.data is None or y.data.__class__ is bytes
                if x.data is not None and len(x.data) <= threshold:
                    assert x.data.__class__ is bytes
    # Serialised back, both are the same bytes.
    assert b"".join(map(codec.serialize_response, zero)) == b"".join(
        map(codec.serialize_response, default)
    )


@given(
    _stream,
    st.lists(st.integers(0, 10_000), max_size=12),
    st.integers(0, 300),
    st.lists(st.booleans(), max_size=5),
)
def test_zero_copy_literals_are_the_fed_chunks(
    stream: bytes, cuts: list[int], threshold: int, drains: list[bool]
) -> None:
    chunks = _split(stream, cuts)
    messages = _raw(chunks, threshold, drains)
    assert b"".join(map(bytes, messages)) == stream
    for message in messages:
        for literal in message.literals:
            if len(literal) <= threshold:
                assert literal.__class__ is bytes
            elif isinstance(literal, LiteralChunks):
                # No piece is a copy: each is a fed chunk or a view of one.
                assert all(_fed(piece, chunks) for piece in literal.chunks)
            else:
                # A literal that is exactly one fed chunk is that chunk.
                assert any(literal is chunk for chunk in chunks)


# Literal-bearing heads where each grammar position may meet a literal: message
# data, strings in ENVELOPE/BODYSTRUCTURE/LIST/STATUS, extension values,
# header field names in a section, response text, unknown responses.
_heads = st.sampled_from(
    [
        b"* 1 FETCH (BODY[] {%d}\r\n",
        b"* 1 FETCH (ENVELOPE ({%d}\r\n",
        b"* 1 FETCH (BODYSTRUCTURE ({%d}\r\n",
        b"* 1 FETCH (BODY[HEADER.FIELDS ({%d}\r\n",
        b"* 1 FETCH (X-EXT ({%d}\r\n",
        b'* LIST () "/" {%d}\r\n',
        b"* STATUS {%d}\r\n",
        b"* OK [X {%d}\r\n",
        b"* FOO {%d}\r\n",
        b"* 1 FETCH (BINARY[1] ~{%d}\r\n",
    ]
)


@given(
    _heads,
    st.binary(max_size=80),
    st.binary(max_size=60),
    st.lists(st.integers(0, 400), max_size=6),
    st.integers(0, 40),
)
def test_hostile_literals_raise_only_protocol_errors(
    head: bytes, literal: bytes, tail: bytes, cuts: list[int], threshold: int
) -> None:
    """Whatever follows a literal, zero-copy mode fails only with ProtocolError.

    And what does parse equals the default mode's value and serialises back.
    """
    stream = (head % len(literal)) + literal + tail + b"\r\n"
    chunks = _split(stream, cuts)
    results = []
    for options in ({}, {"zero_copy_literals": True, "zero_copy_threshold": threshold}):
        decoder = codec.ResponseDecoder(**options)  # type: ignore[arg-type]
        values: list[Any] = []
        try:
            for chunk in chunks:
                decoder.receive_data(chunk)
                while (value := decoder.next_response()) is not NEED_DATA:
                    values.append(value)
        except ProtocolError as exc:
            values.append(type(exc))
        results.append(values)
    default, zero = results
    assert zero == default
    for value in zero:
        if not isinstance(value, type):
            assert codec.parse_response(codec.serialize_response(value)) == value


@given(
    st.lists(_fetch_with_bodies(), min_size=1, max_size=3).map(b"".join),
    st.lists(st.integers(0, 3000), min_size=1, max_size=12),
    st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_feeding_several_chunks_before_reading_copies_nothing(
    stream: bytes, cuts: list[int], drains: list[bool]
) -> None:
    # Literals above a threshold of 0 and a caller that often feeds more
    # than one chunk before reading: still every piece is a fed chunk.
    chunks = _split(stream, cuts)
    messages = _raw(chunks, 0, drains)
    assert b"".join(map(bytes, messages)) == stream
    for message in messages:
        for literal in message.literals:
            pieces = literal.chunks if isinstance(literal, LiteralChunks) else (literal,)
            assert all(_fed(piece, chunks) for piece in pieces if len(piece))


def test_string_literals_stay_text_in_zero_copy_mode() -> None:
    # A mailbox name and an ENVELOPE subject sent as literals larger than
    # the threshold are strings, whatever the mode.
    name = "Ordner mit Zeilen\r\nUmbruch " * 10
    subject = "Betreff\r\n" * 20
    wire = (
        b'* LIST () "/" {%d}\r\n%s\r\n' % (len(name), name.encode())
        + b"* 7 FETCH (ENVELOPE (NIL {%d}\r\n%s NIL NIL NIL NIL NIL NIL NIL NIL)"
        % (len(subject), subject.encode())
        + b" BODY[] {5}\r\nhello)\r\n"
    )
    chunks = _split(wire, [10, 200, 260, 400])
    listed, fetched = _decode(chunks, zero_copy_literals=True, zero_copy_threshold=4)
    assert isinstance(listed, R.ListResponse) and listed.mailbox == name
    assert isinstance(fetched, R.FetchResponse) and fetched.envelope is not None
    assert fetched.envelope.subject == subject
    [section] = fetched.sections
    assert isinstance(section.data, LiteralChunks) and section.data == b"hello"


def test_default_threshold_and_one_chunk_literals() -> None:
    body = bytes(range(256)) * 1024  # 256 KiB
    head = b"* 1 FETCH (BODY[] {%d}\r\n" % len(body)
    # The literal exactly one received chunk: that very bytes object, no copy.
    [whole] = _decode([head, body, b")\r\n"], zero_copy_literals=True)
    assert whole.sections[0].data is body
    # Spread over chunks: a LiteralChunks above the default threshold ...
    stream = head + body + b")\r\n"
    chunks = _split(stream, list(range(0, len(stream), 65536)))
    [big] = _decode(chunks, zero_copy_literals=True)
    data = big.sections[0].data
    assert isinstance(data, LiteralChunks) and data == body
    assert all(_fed(piece, chunks) for piece in data.chunks)
    # The same when every chunk is fed before anything is read.
    decoder = codec.ResponseDecoder(zero_copy_literals=True)
    for chunk in chunks:
        decoder.receive_data(chunk)
    late = decoder.next_response()
    assert decoder.next_response() is NEED_DATA
    assert isinstance(late, R.FetchResponse)
    data = late.sections[0].data
    assert isinstance(data, LiteralChunks) and data == body
    assert all(_fed(piece, chunks) for piece in data.chunks)
    # ... and bytes at or below it.
    small = body[:ZERO_COPY_THRESHOLD]
    stream = b"* 1 FETCH (BODY[] {%d}\r\n%s)\r\n" % (len(small), small)
    [ok] = _decode(_split(stream, [100, 30_000]), zero_copy_literals=True)
    assert ok.sections[0].data.__class__ is bytes and ok.sections[0].data == small


def test_threshold_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="zero_copy_threshold"):
        codec.ResponseDecoder(zero_copy_literals=True, zero_copy_threshold=-1)


def test_client_connection_passes_the_option_through() -> None:
    body = b"x" * 100_000
    client = ClientConnection(zero_copy_literals=True, zero_copy_threshold=1000)
    stream = b"* PREAUTH ready\r\n* 1 FETCH (UID 9 BODY[] {%d}\r\n%s)\r\n" % (len(body), body)
    events = []
    for chunk in _split(stream, list(range(0, len(stream), 4096))):
        client.receive_data(chunk)
        while (event := client.next_event()) is not NEED_DATA:
            events.append(event)
    fetch = events[-1]
    assert isinstance(fetch, Untagged) and isinstance(fetch.response, R.FetchResponse)
    data = fetch.response.sections[0].data
    assert isinstance(data, LiteralChunks) and data == body
    # Off by default.
    plain = ClientConnection()
    plain.receive_data(stream)
    last = None
    while (event := plain.next_event()) is not NEED_DATA:
        last = event
    assert isinstance(last, Untagged) and isinstance(last.response, R.FetchResponse)
    assert last.response.sections[0].data.__class__ is bytes


# -- limits ------------------------------------------------------------------------


def test_limits_hold_in_zero_copy_mode() -> None:
    limits = IMAPLimits(literal_size=1000, line_length=200, literals_per_message=2)
    decoder = codec.ResponseDecoder(limits=limits, zero_copy_literals=True, zero_copy_threshold=0)
    decoder.receive_data(b"* 1 FETCH (BODY[] {1001}\r\n")
    with pytest.raises(LimitExceeded) as exc:
        decoder.next_response()
    assert exc.value.limit == "literal_size"
    decoder = codec.ResponseDecoder(limits=limits, zero_copy_literals=True, zero_copy_threshold=0)
    decoder.receive_data(b"* 1 FETCH (" + b"x" * 300)
    with pytest.raises(LimitExceeded) as exc:
        decoder.next_response()
    assert exc.value.limit == "line_length"
    decoder = codec.ResponseDecoder(limits=limits, zero_copy_literals=True, zero_copy_threshold=0)
    decoder.receive_data(b"* 1 FETCH (BODY[1] {1}\r\na BODY[2] {1}\r\nb BODY[3] {1}\r\nc)\r\n")
    with pytest.raises(LimitExceeded) as exc:
        decoder.next_response()
    assert exc.value.limit == "literals_per_message"


def test_100_mib_literal_allocates_far_less_than_its_size() -> None:
    size = 100 * 1024 * 1024
    # The received chunks are the input (allocated before tracing starts);
    # one 1 MiB chunk fed 100 times stands for 100 recv() results.
    chunk = b"y" * (1 << 20)
    gc.collect()
    tracemalloc.start()
    try:
        decoder = codec.ResponseDecoder(
            limits=IMAPLimits(literal_size=size), zero_copy_literals=True
        )
        decoder.receive_data(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % size)
        for _ in range(100):
            decoder.receive_data(chunk)
            assert decoder.next_response() is NEED_DATA
        decoder.receive_data(b")\r\n")
        response = decoder.next_response()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(response, R.FetchResponse)
    data = response.sections[0].data
    assert isinstance(data, LiteralChunks) and len(data) == size
    assert len(data.chunks) == 100
    # A piece per chunk and a few lists: well under 1% of the literal.
    assert peak < size // 100, peak


# -- serialising ---------------------------------------------------------------------


def test_serializer_writes_pieces_without_joining() -> None:
    a, b, c = b"first piece\r\n", b"second\x00piece", b"third"
    value = LiteralChunks(chunks=[a, memoryview(b)[:6], memoryview(b)[6:], c])
    plain = bytes(value)
    for binary in (False, True):
        section = SectionData(section=Section(), data=value, binary=binary)
        response = R.FetchResponse(seq=3, uid=4, sections=(section,))
        same = R.FetchResponse(
            seq=3, uid=4, sections=(SectionData(section=Section(), data=plain, binary=binary),)
        )
        wire = codec.serialize_response(response)
        assert wire == codec.serialize_response(same)
        # BINARY data with NUL goes as literal8, found in the pieces.
        assert (b"~{%d}" % len(plain) in wire) == binary
        pieces = codec.serialize_response_chunks(response)
        assert b"".join(pieces) == wire
        # The literal's own pieces are in the output, the very objects.
        assert [p for p in pieces if any(p is q for q in value.chunks)] == list(value.chunks)
        assert codec.parse_response(wire) == response == same


@given(st.lists(st.binary(min_size=1, max_size=50), min_size=1, max_size=5), st.integers(0, 3))
def test_serialised_zero_copy_response_round_trips(pieces: list[bytes], seq: int) -> None:
    value = LiteralChunks(chunks=pieces)
    response = R.FetchResponse(seq=seq + 1, sections=(SectionData(data=value),))
    wire = b"".join(codec.serialize_response_chunks(response))
    [back] = _decode(_split(wire, [7, 20]), zero_copy_literals=True, zero_copy_threshold=0)
    assert back == response
    assert bytes(back.sections[0].data) == b"".join(pieces)


def test_writer_joins_chunks_only_for_command_fragments() -> None:
    value = LiteralChunks(chunks=[b"Subject: x\r\n\r\n", memoryview(b"body")])
    w = Writer(literal_mode="sync")
    w.raw(b"A1 APPEND INBOX ")
    w.literal(value)
    w.crlf()
    fragments = w.finish_fragments()
    assert fragments[1] == LiteralFragment(bytes(value), True)
    assert fragments[1].data.__class__ is bytes
    # The typed API is bytes; a LiteralChunks given at run time still works.
    append = C.Append(
        tag="A1",
        mailbox="INBOX",
        messages=(C.AppendMessage(data=value),),  # type: ignore[arg-type]
    )
    assert codec.serialize_command(append) == b"A1 APPEND INBOX {18}\r\n" + bytes(value) + b"\r\n"


# -- a real server --------------------------------------------------------------------

dovecot = dovecot_fixture(scope="module")


def _message(size: int, seed: int) -> bytes:
    """A plain message of about *size* octets, with CRLF lines of varied text."""
    head = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: body %d\r\n\r\n" % seed
    line = bytes((33 + (seed * 7 + i) % 90) for i in range(76)) + b"\r\n"
    return head + line * (size // len(line))


@pytest.mark.interop
def test_zero_copy_fetch_from_dovecot(dovecot: DovecotServer) -> None:
    """Bodies fetched from Dovecot with the client in zero-copy mode.

    Over a socket with the usual loop (``recv(65536)``, then read events until
    NEED_DATA): each body equals what was delivered, the large ones are
    LiteralChunks made of the very chunks ``recv`` returned, and forwarding
    a response (``serialize_response_chunks``) gives the wire form back.
    """
    user = "alice"
    sizes = [300, 70_000, 1_500_000, 40_000, 5_000_000]
    messages = [_message(size, i) for i, size in enumerate(sizes)]
    for raw in messages:
        dovecot.deliver(user, raw, folder="ZeroCopy")
    client = ClientConnection(zero_copy_literals=True)
    received: list[bytes] = []
    with socket.create_connection((dovecot.host, dovecot.imap_port), timeout=30) as sock:

        def next_event() -> Any:
            while True:
                out = client.data_to_send()
                if out:
                    sock.sendall(out)
                event = client.next_event()
                if event is not NEED_DATA:
                    return event
                data = sock.recv(65536)
                assert data, "server closed the connection"
                received.append(data)
                client.receive_data(data)

        def run(command: Any) -> list[Any]:
            handle = client.send(command)
            mine = []
            while True:
                event = next_event()
                if isinstance(event, Untagged) and event.handle == handle:
                    mine.append(event.response)
                elif isinstance(event, Completed) and event.handle == handle:
                    assert event.ok, event
                    return mine

        next_event()  # the greeting
        run(C.Login(tag=client.new_tag(), username=user, password=dovecot.users[user]))
        run(C.Select(tag=client.new_tag(), mailbox="ZeroCopy"))
        fetched = run(
            C.Fetch(
                tag=client.new_tag(),
                sequence_set=SequenceSet.of((1, "*")),
                attributes=("RFC822.SIZE", SectionRequest(peek=True)),
            )
        )
        run(C.Logout(tag=client.new_tag()))
    fetches = [r for r in fetched if isinstance(r, R.FetchResponse)]
    assert len(fetches) == len(messages)
    kinds = []
    for response, raw in zip(fetches, messages, strict=True):
        data = response.sections[0].data
        assert data is not None and len(data) == response.rfc822_size == len(raw)
        assert data == raw
        if len(raw) > ZERO_COPY_THRESHOLD:
            # Above the threshold: the received chunks themselves (or the
            # one chunk that held exactly the body).
            pieces = data.chunks if isinstance(data, LiteralChunks) else (data,)
            assert all(_fed(piece, received) for piece in pieces)
        else:
            assert data.__class__ is bytes
        kinds.append(type(data).__name__)
        forwarded = b"".join(codec.serialize_response_chunks(response))
        assert codec.parse_response(forwarded, limits=IMAPLimits(literal_size=1 << 24)) == response
    assert kinds.count("LiteralChunks") >= 3, kinds
