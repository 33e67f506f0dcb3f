"""DotBlockReader against a slow reference model, in its three modes.

The reader's fast paths (one reverse search for dot lines, one ``splitlines``
pass for bare CR/LF, ``bytes.replace`` chains for normalisation) are checked
here against the plainest possible reading of RFC 5321 §4.5.2 and §2.3.8:
split the received bytes into lines, end at the first "." line bounded by
CRLF on both sides, unstuff, and compare.  Every input is also fed in random
pieces with a random ``max_chunk``: the result never depends on the split.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto._buffer import DotBlockReader, ReceiveBuffer, has_bare_line_end

_ANY_EOL = re.compile(rb"\r\n|\r|\n")


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def run(
    pieces: list[bytes], *, max_chunk: int = 65536, **mode: bool
) -> tuple[bytes, bool, bytes, DotBlockReader]:
    buf = ReceiveBuffer()
    reader = DotBlockReader(max_chunk=max_chunk, **mode)
    out = bytearray()
    for piece in pieces:
        buf.append(piece)
        while not reader.done:
            got = reader.read(buf)
            if got is None:
                break
            out += got
    if reader.done:
        assert reader.size == len(out)
    return bytes(out), reader.done, bytes(buf), reader


def terminator_at(wire: bytes) -> int:
    """Index of the "." of the terminating line, or -1: only CRLF "." CRLF
    (or "." CRLF at the very start) ends the block."""
    if wire.startswith(b".\r\n"):
        return 0
    i = wire.find(b"\r\n.\r\n")
    return -1 if i < 0 else i + 2


def reference(wire: bytes, *, normalize: bool) -> tuple[bytes | None, bool, bool]:
    """(content or None if unterminated, bare_lf, bare_cr) the slow way."""
    end = terminator_at(wire)
    if end < 0:
        return None, False, False
    raw = wire[:end]  # the content as received, stuffed, ending in CRLF or empty
    if normalize:
        lines = _ANY_EOL.split(raw)
        if lines and lines[-1] == b"":
            lines.pop()  # raw ends with a line end
        content = b"".join((ln[1:] if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)
    else:
        lines = raw.split(b"\r\n")
        content = b"\r\n".join(ln[1:] if ln.startswith(b".") else ln for ln in lines)
    # Bare line ends are judged on the received content (stuffing dots cannot
    # make or break a CRLF).
    crlf = raw.count(b"\r\n")
    return content, raw.count(b"\n") != crlf, raw.count(b"\r") != crlf


pieces_of_mail = st.lists(
    st.sampled_from([b"\r\n", b"\r", b"\n", b".", b"..", b"a", b"\x00", b"xyz", b"\r\n.\r\n"]),
    max_size=40,
).map(b"".join)
cut_lists = st.lists(st.integers(min_value=0), max_size=8)


@pytest.mark.parametrize("normalize", [False, True])
@given(wire=pieces_of_mail, cuts=cut_lists, max_chunk=st.integers(1, 12))
def test_reader_matches_the_reference(
    normalize: bool, wire: bytes, cuts: list[int], max_chunk: int
) -> None:
    content, bare_lf, bare_cr = reference(wire, normalize=normalize)
    got, done, leftover, reader = run(
        split_at(wire, cuts), max_chunk=max_chunk, normalize=normalize
    )
    if content is None:
        assert not done
        return
    assert done
    assert got == content
    assert leftover == wire[terminator_at(wire) + 3 :]
    assert (reader.bare_lf, reader.bare_cr) == (bare_lf, bare_cr)


@given(wire=st.binary(max_size=200), cuts=cut_lists, max_chunk=st.integers(1, 12))
def test_detection_flags_never_depend_on_the_split(
    wire: bytes, cuts: list[int], max_chunk: int
) -> None:
    whole = run([wire])
    got = run(split_at(wire, cuts), max_chunk=max_chunk)
    assert got[:3] == whole[:3]
    assert (got[3].bare_lf, got[3].bare_cr) == (whole[3].bare_lf, whole[3].bare_cr)
    if whole[1]:
        assert (whole[3].bare_lf, whole[3].bare_cr) == reference(wire, normalize=False)[1:]


@pytest.mark.parametrize(
    ("wire", "content"),
    [
        # A dot after a bare line end is unstuffed like any other line's.
        (b"a\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
        (b"a\r..b\r\n.\r\n", b"a\r\n.b\r\n"),
        (b"a\n.b\n\r\n.\r\n", b"a\r\nb\r\n\r\n"),
        # A bare CR then a CRLF are two line ends.
        (b"a\r\r\nb\r\n.\r\n", b"a\r\n\r\nb\r\n"),
        # Fake terminators are lines whose dot goes: empty lines, never a
        # CRLF "." CRLF in the content.
        (b"a\n.\nb\r\n.\r\n", b"a\r\n\r\nb\r\n"),
        (b"a\n.\r\nb\r\n.\r\n", b"a\r\n\r\nb\r\n"),
        (b"a\r\n.\nb\r\n.\r\n", b"a\r\n\r\nb\r\n"),
        (b"a\r.\rb\r\n.\r\n", b"a\r\n\r\nb\r\n"),
        # Stuffed dots after CRLF, as always.
        (b"..a\r\n..\r\n.\r\n", b".a\r\n.\r\n"),
    ],
)
def test_normalize_examples(wire: bytes, content: bytes) -> None:
    for pieces in ([wire], [bytes([b]) for b in wire]):
        got, done, leftover, _ = run(pieces, normalize=True)
        assert (got, done, leftover) == (content, True, b"")
        assert b"\r\n.\r\n" not in b"\r\n" + got or b"..\r\n" in wire


@pytest.mark.parametrize(
    "fake", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r"]
)
def test_normalize_never_ends_on_a_fake_terminator(fake: bytes) -> None:
    wire = b"body" + fake + b"MAIL FROM:<evil@x>\r\n"
    got, done, _, reader = run([wire], normalize=True)
    assert not done
    assert reader.bare_lf or reader.bare_cr
    got, done, leftover, _ = run([wire + b".\r\nQUIT\r\n"], normalize=True)
    assert done and leftover == b"QUIT\r\n"
    # The smuggled line is content, and the content has no terminator in it:
    # a relay that dot-stuffs it cannot be made to end the message early.
    assert got.endswith(b"MAIL FROM:<evil@x>\r\n")
    assert b"\r\n.\r\n" not in got and b"\n" not in got.replace(b"\r\n", b"")


def test_accept_mode_keeps_bytes_and_looks_at_nothing() -> None:
    got, done, _, reader = run([b"a\n..b\r\n.\r\n"], detect_bare=False)
    assert (got, done) == (b"a\n..b\r\n", True)
    assert not reader.bare_lf and not reader.bare_cr


def test_normalized_piece_may_exceed_max_chunk_only_by_the_added_crs() -> None:
    buf = ReceiveBuffer()
    buf.append(b"\n" * 10 + b"\r\n.\r\n")
    reader = DotBlockReader(max_chunk=4, normalize=True)
    sizes = []
    while not reader.done:
        got = reader.read(buf)
        assert got is not None
        sizes.append(len(got))
    assert all(s <= 2 * 4 + 1 for s in sizes)
    assert sum(sizes) == reader.size == 2 * 10 + 2


@given(st.binary(max_size=60) | pieces_of_mail)
def test_has_bare_line_end_matches_counting(data: bytes) -> None:
    crlf = data.count(b"\r\n")
    expected = data.count(b"\r") != crlf or data.count(b"\n") != crlf
    assert has_bare_line_end(data) is expected
