"""The shared receive buffer: lines, exact chunks, dot-terminated blocks.

The properties that matter most are checked with hypothesis: the output never
depends on how the stream was split, a dot-terminated block ends only at
CRLF "." CRLF, and the buffer never grows past a line bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import LimitExceeded, ProtocolError, RemoteProtocolError, ReplyHint
from mailproto._buffer import DotBlockReader, ReceiveBuffer
from mailproto.codecs.dotstuff import DotStuffer, dot_stuff

# ---------------------------------------------------------------- helpers


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def read_block(
    pieces: list[bytes], *, max_chunk: int = 65536
) -> tuple[bytes, bool, bytes, DotBlockReader]:
    """Feed *pieces* one by one; return (content, done, leftover, reader)."""
    buf = ReceiveBuffer()
    reader = DotBlockReader(max_chunk=max_chunk)
    out = bytearray()
    for piece in pieces:
        buf.append(piece)
        while not reader.done:
            got = reader.read(buf)
            if got is None:
                break
            assert len(got) <= max_chunk + 1  # +1: a CRLF is never split
            out += got
    return bytes(out), reader.done, bytes(buf), reader


def read_lines(pieces: list[bytes], max_length: int = 100) -> tuple[list[bytes], bytes]:
    buf = ReceiveBuffer()
    lines = []
    for piece in pieces:
        buf.append(piece)
        while (line := buf.next_line(max_length)) is not None:
            lines.append(line)
    return lines, bytes(buf)


# ---------------------------------------------------------------- lines


def test_next_line_returns_line_with_terminator() -> None:
    buf = ReceiveBuffer()
    buf.append(b"EHLO a\r\nNOOP\nRSET")
    assert buf.next_line(100) == b"EHLO a\r\n"
    assert buf.next_line(100) == b"NOOP\n"  # bare LF: the caller decides
    assert buf.next_line(100) is None
    buf.append(b"\r\n")
    assert buf.next_line(100) == b"RSET\r\n"
    assert not buf


def test_over_long_line_is_a_limit_error_before_the_line_ends() -> None:
    buf = ReceiveBuffer()
    hint = ReplyHint(text="Line too long", code=500, enhanced_status="5.5.2")
    buf.append(b"x" * 9)
    assert buf.next_line(10, limit="command_line_length", hint=hint) is None
    buf.append(b"x")
    with pytest.raises(LimitExceeded) as info:
        buf.next_line(10, limit="command_line_length", hint=hint)
    err = info.value
    assert isinstance(err, RemoteProtocolError)
    assert (err.limit, err.bound, err.hint) == ("command_line_length", 10, hint)


def test_line_exactly_at_the_bound_is_accepted() -> None:
    buf = ReceiveBuffer()
    buf.append(b"x" * 8 + b"\r\n")
    assert buf.next_line(10) == b"x" * 8 + b"\r\n"
    buf.append(b"x" * 9 + b"\r\n")
    with pytest.raises(LimitExceeded):
        buf.next_line(10)


def test_line_search_is_linear_when_fed_byte_by_byte() -> None:
    # 200 KB line fed one byte at a time: with a search restarting at 0 every
    # time this would be 2e10 byte comparisons; remembered progress keeps it
    # linear. We check the mechanism directly: _searched follows the data.
    buf = ReceiveBuffer()
    for _ in range(1000):
        buf.append(b"a")
        assert buf.next_line(10_000) is None
        assert buf._searched == len(buf)
    buf.append(b"\n")
    assert buf.next_line(10_000) == b"a" * 1000 + b"\n"
    assert buf._searched == 0


@given(
    st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    st.lists(st.integers(min_value=0), max_size=10),
)
def test_lines_do_not_depend_on_the_split(lines: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(line + b"\r\n" for line in lines) + b"tail"
    whole = read_lines([stream])
    assert read_lines(split_at(stream, cuts)) == whole
    assert whole == ([line + b"\r\n" for line in lines], b"tail")


def test_skip_line_keeps_what_follows_the_line_end() -> None:
    buf = ReceiveBuffer()
    buf.append(b"x" * 50)
    with pytest.raises(LimitExceeded):
        buf.next_line(10)
    assert not buf.skip_line()  # no line end yet: everything dropped
    assert len(buf) == 0
    buf.append(b"yyy\r\nNOOP\r\n")
    assert buf.skip_line()
    assert buf.next_line(10) == b"NOOP\r\n"


# ---------------------------------------------------------------- exact chunks


def test_take_exactly_and_at_most() -> None:
    buf = ReceiveBuffer()
    buf.append(b"hello world")
    assert buf.take_exactly(20) is None
    assert buf.take_exactly(5) == b"hello"
    assert buf.take_at_most(3) == b" wo"
    assert buf.take_at_most(100) == b"rld"
    assert buf.take_at_most(100) == b""
    buf.append(b"\r\nSTARTTLS-smuggled\r\n")
    assert buf.take_all() == b"\r\nSTARTTLS-smuggled\r\n"
    assert not buf


def test_exact_chunk_is_not_scanned_for_line_ends() -> None:
    buf = ReceiveBuffer()
    buf.append(b"ab\r\ncd\r\nNEXT\r\n")
    assert buf.take_exactly(8) == b"ab\r\ncd\r\n"
    assert buf.next_line(100) == b"NEXT\r\n"


# ---------------------------------------------------------------- dot blocks


@pytest.mark.parametrize(
    ("wire", "content", "leftover"),
    [
        (b".\r\n", b"", b""),
        (b"Hi\r\n.\r\n", b"Hi\r\n", b""),
        (b"Hi\r\n..dot\r\n.\r\nQUIT\r\n", b"Hi\r\n.dot\r\n", b"QUIT\r\n"),
        (b"..\r\n.\r\n", b".\r\n", b""),
        (b"a\r\n...\r\n.\r\n", b"a\r\n..\r\n", b""),
        (b"\r\n.\r\n", b"\r\n", b""),
    ],
)
def test_dot_block_examples(wire: bytes, content: bytes, leftover: bytes) -> None:
    assert read_block([wire])[:3] == (content, True, leftover)


SMUGGLING = [
    # (stream, what must NOT be taken as the end) — CVE-2023-51764 family.
    b"body\n.\nMAIL FROM:<evil@x>\r\n",
    b"body\n.\r\nMAIL FROM:<evil@x>\r\n",
    b"body\r\n.\nMAIL FROM:<evil@x>\r\n",
    b"body\r.\rMAIL FROM:<evil@x>\r\n",
    b"body\r.\r\nMAIL FROM:<evil@x>\r\n",
    b"body\r\n\x00.\r\nMAIL FROM:<evil@x>\r\n",
    b"body\r\n.\x00\r\nMAIL FROM:<evil@x>\r\n",
]


@pytest.mark.parametrize("stream", SMUGGLING)
def test_smuggling_variants_never_end_the_block(stream: bytes) -> None:
    content, done, leftover, _reader = read_block([stream])
    assert not done
    assert b"MAIL FROM" in content  # still inside the first message
    assert leftover in (b"", b"\r")
    # Only the real terminator ends it, and it ends *there*.
    content2, done2, leftover2, _ = read_block([stream + b".\r\nQUIT\r\n"])
    assert done2 and leftover2 == b"QUIT\r\n"
    assert content2.endswith(b"MAIL FROM:<evil@x>\r\n")


def test_bare_line_ends_are_reported() -> None:
    _, _, _, r = read_block([b"a\nb\r\n.\r\n"])
    assert (r.bare_lf, r.bare_cr) == (True, False)
    _, _, _, r = read_block([b"a\rb\r\n.\r\n"])
    assert (r.bare_lf, r.bare_cr) == (False, True)
    _, _, _, r = read_block([b"a\r\nb\r\n.\r\n"])
    assert (r.bare_lf, r.bare_cr) == (False, False)
    _, _, _, r = read_block([b"a\r", b"\nb\r\n.\r\n"])  # CRLF split across feeds
    assert (r.bare_lf, r.bare_cr) == (False, False)


def test_size_counts_unstuffed_content() -> None:
    _, _, _, r = read_block([b"..ab\r\n.\r\n"])
    assert r.size == len(b".ab\r\n")


def test_read_after_done_returns_empty() -> None:
    buf = ReceiveBuffer()
    buf.append(b".\r\nX")
    r = DotBlockReader()
    assert r.read(buf) == b""
    assert r.done
    assert r.read(buf) == b""
    assert bytes(buf) == b"X"


line_bytes = st.sampled_from([b"\r\n", b"\r", b"\n", b".", b"..", b"a", b"\x00", b"xyz"])
contents = st.lists(line_bytes, max_size=40).map(b"".join)


@given(contents, st.lists(st.integers(min_value=0), max_size=8), st.integers(1, 9))
def test_dot_block_does_not_depend_on_split_or_chunk_size(
    content: bytes, cuts: list[int], max_chunk: int
) -> None:
    wire = dot_stuff(content) + b"NEXT"
    whole = read_block([wire])
    assert whole[1] and whole[2] == b"NEXT"
    got = read_block(split_at(wire, cuts), max_chunk=max_chunk)
    assert got[:3] == whole[:3]
    assert (got[3].bare_lf, got[3].bare_cr) == (whole[3].bare_lf, whole[3].bare_cr)


@given(contents, st.lists(st.integers(min_value=0), max_size=8))
def test_stuff_then_unstuff_is_identity(content: bytes, cuts: list[int]) -> None:
    stuffer = DotStuffer()
    wire = b"".join(stuffer.stuff(p) for p in split_at(content, cuts)) + stuffer.end()
    assert wire == dot_stuff(content)
    expected = content if content.endswith(b"\r\n") or not content else content + b"\r\n"
    assert read_block([wire])[:3] == (expected, True, b"")


@given(contents, st.lists(st.integers(min_value=0), max_size=8))
def test_normalized_stuffing_emits_only_crlf(content: bytes, cuts: list[int]) -> None:
    stuffer = DotStuffer(normalize_newlines=True)
    wire = b"".join(stuffer.stuff(p) for p in split_at(content, cuts)) + stuffer.end()
    assert wire == dot_stuff(content, normalize_newlines=True)
    body, done, leftover, reader = read_block([wire])
    assert done and not leftover and not reader.bare_lf and not reader.bare_cr
    # Same lines, only the line ends changed.
    norm = content.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    assert body.replace(b"\r\n", b"\n") == (
        norm + b"\n" if norm and not norm.endswith(b"\n") else norm
    )


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0), max_size=8))
def test_arbitrary_bytes_never_raise_and_never_split_dependent(
    stream: bytes, cuts: list[int]
) -> None:
    whole = read_block([stream])
    got = read_block(split_at(stream, cuts), max_chunk=7)
    assert got[:3] == whole[:3]
    with contextlib.suppress(ProtocolError):
        read_lines(split_at(stream, cuts), max_length=16)


def test_stuffer_misuse_is_refused() -> None:
    s = DotStuffer()
    s.end()
    with pytest.raises(ValueError):
        s.stuff(b"x")
    with pytest.raises(ValueError):
        s.end()


# ---------------------------------------------------------------- big streams


def _fifty_megabytes() -> bytes:
    # Realistic text with stuffed dots and long lines, deterministic.
    unit = (
        b"Received: from mx.example (mx.example [192.0.2.1]) by here\r\n"
        b".a line that begins with a dot\r\n"
        + hashlib.sha256(b"x").hexdigest().encode() * 20
        + b"\r\n\r\n"
    )
    return (unit * (50_000_000 // len(unit) + 1))[:50_000_000] + b"\r\n"


@pytest.mark.slow
def test_50mb_body_byte_at_a_time_equals_64k_chunks() -> None:
    """Amortised O(n): a 50 MB body fed one byte at a time finishes (in tens of
    seconds, where a quadratic reader would take days) and gives exactly the
    content that 64 KiB feeds give."""
    body = _fifty_megabytes()
    wire = dot_stuff(body) + b"QUIT\r\n"
    view = memoryview(wire)

    def digest(step: int) -> tuple[str, int, bytes]:
        buf = ReceiveBuffer()
        reader = DotBlockReader()
        h = hashlib.sha256()
        size = 0
        for i in range(0, len(wire), step):
            buf.append(view[i : i + step])
            while not reader.done:
                piece = reader.read(buf)
                if piece is None:
                    break
                h.update(piece)
                size += len(piece)
            # The machine's own buffer stays small: the body leaves as pieces.
            assert len(buf) <= step + 5
        return h.hexdigest(), size, bytes(buf)

    by_chunk = digest(65536)
    assert by_chunk == (hashlib.sha256(body).hexdigest(), len(body), b"QUIT\r\n")
    assert digest(1) == by_chunk
