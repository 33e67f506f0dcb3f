"""ChunkedReceiveBuffer gives what ReceiveBuffer gives, however the bytes arrive.

The chunked buffer reads lines and exact-length pieces in place from the
received chunks instead of copying them into a bytearray first; that must
change where octets live, never which octets come out, when a line is
complete, or when a line is too long.  Both buffers are fed the same pieces
and asked the same questions, interleaved with the feeding in a random order.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto._buffer import ChunkedReceiveBuffer, ReceiveBuffer
from mailproto.errors import LimitExceeded

_OCTETS = st.binary(max_size=16).map(lambda b: b.replace(b"\x00", b"\n"))
_STEP = st.one_of(
    st.tuples(st.just("feed"), _OCTETS),
    st.tuples(st.just("line"), st.integers(1, 12)),
    st.tuples(st.just("exactly"), st.integers(0, 20)),
    st.tuples(st.just("at_most"), st.integers(0, 20)),
    st.tuples(st.just("all"), st.none()),
)


def _ask(buf: ReceiveBuffer, step: str, arg: object) -> object:
    if step == "feed":
        assert isinstance(arg, bytes)
        buf.append(arg)
        return None
    try:
        if step == "line":
            assert isinstance(arg, int)
            return buf.next_line(arg)
        if step == "exactly":
            assert isinstance(arg, int)
            return buf.take_exactly(arg)
        if step == "at_most":
            assert isinstance(arg, int)
            return buf.take_at_most(arg)
        return buf.take_all()
    except LimitExceeded as exc:
        return ("limit", exc.bound)


@given(st.lists(_STEP, max_size=40))
def test_same_answers_as_the_receive_buffer(steps: list[tuple[str, object]]) -> None:
    plain, chunked = ReceiveBuffer(), ChunkedReceiveBuffer()
    for step, arg in steps:
        want = _ask(plain, step, arg)
        got = _ask(chunked, step, arg)
        if isinstance(got, memoryview):
            got = bytes(got)
        assert got == want, (step, arg)
        assert len(chunked) == len(plain)
        assert bool(chunked) == bool(plain)
        if isinstance(want, tuple):
            return  # a connection stops reading after a limit error
    assert bytes(chunked) == bytes(plain)


def test_lines_are_sliced_from_the_fed_chunk() -> None:
    buf = ChunkedReceiveBuffer()
    chunk = b"a1 NOOP\r\na2 NOOP\r\npartial"
    buf.append(chunk)
    assert buf.next_line(100) == b"a1 NOOP\r\n"
    assert buf.next_line(100) == b"a2 NOOP\r\n"
    assert buf.next_line(100) is None
    buf.append(b" line\r\n")
    assert buf.next_line(100) == b"partial line\r\n"
    assert not buf


def test_an_over_long_line_across_chunks_is_refused() -> None:
    buf = ChunkedReceiveBuffer()
    buf.append(b"x" * 6)
    assert buf.next_line(10) is None
    buf.append(b"y" * 6)
    with pytest.raises(LimitExceeded):
        buf.next_line(10)


@pytest.mark.parametrize("length", [9, 10, 11])
def test_the_line_bound_is_the_same_in_one_chunk(length: int) -> None:
    # A line of exactly max_length octets (terminator included) is taken; one
    # octet more is refused, as ReceiveBuffer does.
    line = b"x" * (length - 2) + b"\r\n"
    for buf in (ReceiveBuffer(), ChunkedReceiveBuffer()):
        buf.append(line + b"next")
        if length <= 10:
            assert buf.next_line(10) == line
        else:
            with pytest.raises(LimitExceeded):
                buf.next_line(10)
