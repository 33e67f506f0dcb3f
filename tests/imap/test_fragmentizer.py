"""The fragmentizer: lines, literals, announcements, limits, poisoning."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import NEED_DATA, LimitExceeded, RemoteProtocolError
from mailproto.imap._fragmentizer import Fragmentizer, LiteralAnnounced, RawMessage
from mailproto.limits import IMAPLimits


def messages(f: Fragmentizer) -> list[object]:
    out: list[object] = []
    while (m := f.next_message()) is not NEED_DATA:
        out.append(m)
    return out


def test_single_line() -> None:
    f = Fragmentizer()
    f.receive_data(b"A1 NOOP\r\nA2 NO")
    assert messages(f) == [RawMessage(segments=(b"A1 NOOP\r\n",), literals=())]
    f.receive_data(b"OP\r\n")
    (m,) = messages(f)
    assert isinstance(m, RawMessage) and bytes(m) == b"A2 NOOP\r\n"


@pytest.mark.parametrize(
    ("announce", "binary", "sync"),
    [
        (b"{5}", False, True),
        (b"{5+}", False, False),
        (b"{5-}", False, False),
        (b"~{5}", True, True),
    ],
)
def test_literal_forms(announce: bytes, binary: bool, sync: bool) -> None:
    wire = b"A1 LOGIN " + announce + b"\r\nalice {3+}\r\npw!\r\n"
    for server in (False, True):
        f = Fragmentizer(report_sync_literals=server)
        f.receive_data(wire)
        got = messages(f)
        if server and sync:
            first = b"A1 LOGIN " + announce + b"\r\n"
            assert got[0] == LiteralAnnounced(
                size=5, binary=binary, line=first, first_line=first, index=0
            )
            got = got[1:]
        (m,) = got
        assert isinstance(m, RawMessage)
        assert m.literals == (b"alice", b"pw!")
        assert bytes(m) == wire


def test_literal_bytes_are_not_scanned_for_line_ends() -> None:
    f = Fragmentizer()
    f.receive_data(b"* 1 FETCH (BODY[] {9}\r\n\r\n}\r\n{1}\n)\r\n")
    (m,) = messages(f)
    assert isinstance(m, RawMessage) and m.literals == (b"\r\n}\r\n{1}\n",)


def test_sync_literal_is_reported_once_whatever_the_split() -> None:
    wire = b"A1 APPEND box {3}\r\nabc\r\n"
    for cut in range(1, len(wire)):
        f = Fragmentizer(report_sync_literals=True)
        got: list[object] = []
        for part in (wire[:cut], wire[cut:]):
            f.receive_data(part)
            got += messages(f)
        assert [type(x) for x in got] == [LiteralAnnounced, RawMessage]


def test_every_sync_literal_is_reported_with_its_own_line() -> None:
    # MULTIAPPEND-style: one command, many synchronising literals.  Each
    # report names the line that announced it and the command's first line
    # (for the tag), and the reports together hold each line once: reporting
    # k literals costs time linear in the command, not the sum of its k
    # prefixes (which was quadratic).
    pad = b"x" * 2000
    first = b"A7 APPEND box (\\Seen) {3}\r\n"
    lines = [first] + [b" (" + pad + b") {3}\r\n" for _ in range(199)]
    wire = b"".join(line + b"abc" for line in lines) + b"\r\n"
    f = Fragmentizer(report_sync_literals=True, limits=IMAPLimits(line_length=4096))
    f.receive_data(wire)
    got = messages(f)
    announced = [x for x in got if isinstance(x, LiteralAnnounced)]
    assert [a.line for a in announced] == lines
    assert all(a.first_line == first for a in announced)
    assert [a.index for a in announced] == list(range(200))
    assert sum(len(a.line) + len(a.first_line) for a in announced) < 2 * len(wire)
    (m,) = [x for x in got if isinstance(x, RawMessage)]
    assert bytes(m) == wire


def test_mutable_chunks_are_copied() -> None:
    f = Fragmentizer()
    f.receive_data(b"* 1 FETCH (BODY[] {6}\r\n")
    assert messages(f) == []
    chunk = bytearray(b"abc")
    f.receive_data(chunk)
    chunk[:] = b"XYZ"  # the caller reuses its buffer
    f.receive_data(memoryview(bytearray(b"def)\r\n")))
    (m,) = messages(f)
    assert isinstance(m, RawMessage) and m.literals == (b"abcdef",)


def test_bare_lf_line_end() -> None:
    f = Fragmentizer()
    f.receive_data(b"* OK hi\nA1 LOGIN {2}\nab x\n")
    got = messages(f)
    assert [bytes(m) for m in got if isinstance(m, RawMessage)] == [
        b"* OK hi\n",
        b"A1 LOGIN {2}\nab x\n",
    ]


def test_brace_that_is_no_announcement_ends_the_message() -> None:
    f = Fragmentizer()
    f.receive_data(b'* OK {x}\r\nA1 LOGIN a "{5}"\r\n')
    assert len(messages(f)) == 2


def test_line_too_long_poisons() -> None:
    f = Fragmentizer(limits=IMAPLimits(line_length=100))
    f.receive_data(b"A" * 99)
    assert f.next_message() is NEED_DATA
    f.receive_data(b"A")
    with pytest.raises(LimitExceeded) as info:
        f.next_message()
    assert info.value.limit == "line_length" and info.value.hint is not None
    assert info.value.hint.fatal
    f.receive_data(b"\r\nA1 NOOP\r\n")
    with pytest.raises(LimitExceeded):  # poisoned: never skips ahead
        f.next_message()


def test_line_without_end_uses_bounded_memory() -> None:
    f = Fragmentizer(limits=IMAPLimits(line_length=10_000))
    with pytest.raises(LimitExceeded):
        for _ in range(100_000):
            f.receive_data(b"x" * 97)
            f.next_message()
    assert f.buffered < 10_000 + 97


@pytest.mark.parametrize("digits", [b"65", b"99999999999999999999", b"9" * 5000])
def test_literal_too_large(digits: bytes) -> None:
    limits = IMAPLimits(literal_size=64)
    for mode in (b"", b"+"):
        f = Fragmentizer(limits=limits)
        f.receive_data(b"* 1 FETCH (BODY[] {" + digits + mode + b"}\r\n")
        with pytest.raises(LimitExceeded) as info:
            f.next_message()
        assert info.value.limit == "literal_size"
        assert info.value.hint is not None and info.value.hint.fatal
        with pytest.raises(LimitExceeded):
            f.next_message()


def test_too_large_sync_literal_on_server_is_recoverable() -> None:
    # RFC 9051 §7.5: the client waits for "+", so the server refuses and the
    # next bytes are a new command.
    f = Fragmentizer(limits=IMAPLimits(literal_size=64), report_sync_literals=True)
    f.receive_data(b"A1 APPEND box {1000}\r\n")
    with pytest.raises(LimitExceeded) as info:
        f.next_message()
    assert info.value.hint is not None and not info.value.hint.fatal
    assert info.value.hint.response_code == "TOOBIG"
    f.receive_data(b"A2 NOOP\r\n")
    (m,) = messages(f)
    assert isinstance(m, RawMessage) and bytes(m) == b"A2 NOOP\r\n"


def test_too_large_nonsync_literal_on_server_is_fatal() -> None:
    # RFC 7888 §4: the octets are on their way; framing is lost.
    f = Fragmentizer(limits=IMAPLimits(literal_size=64), report_sync_literals=True)
    f.receive_data(b"A1 APPEND box {1000+}\r\n")
    with pytest.raises(LimitExceeded) as info:
        f.next_message()
    assert info.value.hint is not None and info.value.hint.fatal


def test_discard_drops_a_refused_command() -> None:
    f = Fragmentizer(report_sync_literals=True)
    f.receive_data(b"A1 APPEND box {3}\r\n")
    assert isinstance(f.next_message(), LiteralAnnounced)
    f.discard()
    f.receive_data(b"A2 NOOP\r\n")
    (m,) = messages(f)
    assert isinstance(m, RawMessage) and bytes(m) == b"A2 NOOP\r\n"


def test_too_many_literals() -> None:
    f = Fragmentizer(limits=IMAPLimits(literals_per_message=2))
    f.receive_data(b"A1 X {1}\r\na {1}\r\nb {1}\r\nc\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        f.next_message()
    assert isinstance(info.value, LimitExceeded)
    assert info.value.limit == "literals_per_message"


def test_literal_split_across_many_chunks() -> None:
    body = bytes(range(256)) * 100
    wire = b"* 1 FETCH (BODY[] {%d}\r\n" % len(body) + body + b")\r\n"
    f = Fragmentizer()
    got: list[object] = []
    for i in range(0, len(wire), 333):
        f.receive_data(wire[i : i + 333])
        got += messages(f)
    (m,) = got
    assert isinstance(m, RawMessage) and m.literals == (body,) and bytes(m) == wire


def _tb_depth(exc: BaseException) -> int:
    depth = 0
    tb = exc.__traceback__
    while tb is not None:
        depth += 1
        tb = tb.tb_next
    return depth


def test_poisoned_fragmentizer_stays_small_however_long_it_is_fed() -> None:
    # A caller that keeps feeding and asking a poisoned fragmentizer (a dead
    # connection's read loop, a fuzzer) must not grow it: neither the buffer
    # (nothing after the poison can ever be framed) nor the stored error's
    # traceback, which re-raising the same instance used to extend by two
    # frames per call.
    f = Fragmentizer(limits=IMAPLimits(line_length=100))
    f.receive_data(b"A" * 200)
    with pytest.raises(LimitExceeded) as first:
        f.next_message()
    depth = _tb_depth(first.value)
    buffered = f.buffered
    chunk = b"B" * 65536
    for _ in range(200):
        f.receive_data(chunk)
        with pytest.raises(LimitExceeded) as info:
            f.next_message()
        assert info.value is first.value  # the same error, every time
        assert _tb_depth(info.value) <= depth
    assert f.buffered == buffered


# -- reading in place from the last chunk -----------------------------------------

_piece = st.one_of(
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b"{", b"") + b"\r\n"),
    st.binary(max_size=40).map(lambda b: b"* 1 FETCH (BODY[] {%d}\r\n" % len(b) + b + b")\r\n"),
    st.tuples(st.binary(max_size=9), st.binary(max_size=9)).map(
        lambda t: b"A1 LOGIN {%d+}\r\n%s {%d}\r\n%s\r\n" % (len(t[0]), t[0], len(t[1]), t[1])
    ),
)


@given(
    st.lists(_piece, min_size=1, max_size=6).map(b"".join),
    st.lists(
        st.tuples(st.integers(1, 50), st.booleans(), st.sampled_from([bytes, bytearray])),
        max_size=12,
    ),
)
def test_any_split_and_pull_pattern_frames_the_same(
    wire: bytes, plan: list[tuple[int, bool, type]]
) -> None:
    # The fragmentizer keeps the last chunk and reads lines and literals in
    # place; octets left over when the next chunk arrives move to the line
    # buffer.  Whatever the chunk sizes and types, and whether messages are
    # pulled after every chunk or only now and then, the messages are the
    # same, and what is left unread comes out of take_all() in order.
    whole = Fragmentizer()
    whole.receive_data(wire)
    expected = messages(whole)
    f = Fragmentizer()
    got: list[object] = []
    pos = 0
    for size, pull, kind in plan:
        f.receive_data(kind(wire[pos : pos + size]))
        pos += size
        if pull:
            got += messages(f)
    f.receive_data(wire[pos:])
    got += messages(f)
    assert got == expected
    assert f.buffered == whole.buffered
    assert f._buffer.take_all() == whole._buffer.take_all()


def test_unread_octets_come_back_in_order_from_take_all() -> None:
    f = Fragmentizer()
    f.receive_data(b"* OK a\r\n* OK")
    assert len(messages(f)) == 1
    f.receive_data(b" b\r\n* O")  # the rest of the first chunk moves to the line buffer
    f.receive_data(b"K c")
    assert f.buffered == len(b"* OK b\r\n* OK c")
    assert f._buffer.take_all() == b"* OK b\r\n* OK c"
    assert f.buffered == 0
