"""CommandDecoder: refusing a non-synchronising literal without buffering it.

A server built on the codec (not on :class:`~mailproto.imap.server.ServerConnection`)
must be able to do what the server connection does: see a ``{n+}``
announcement before its octets (``report_non_sync_literals=True``,
``LiteralAnnounced.synchronizing``), refuse the command and drop the octets
as they arrive (:meth:`CommandDecoder.skip`, RFC 7888 §4), and judge the
whole command's size first (:attr:`CommandDecoder.message_octets`).
"""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import NEED_DATA
from mailproto.errors import LimitExceeded, ProtocolError
from mailproto.imap import codec
from mailproto.imap.codec import CommandDecoder, LiteralAnnounced, ParseError
from mailproto.imap.types import commands as C
from mailproto.limits import IMAPLimits

LOGIN = b"a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n"


def test_without_the_option_non_synchronising_literals_come_with_their_command() -> None:
    decoder = CommandDecoder()
    assert decoder.report_non_sync_literals is False
    decoder.receive_data(LOGIN)
    assert decoder.next_command() == C.Login(tag="a", username="alice", password="secret")


def test_non_synchronising_literals_are_announced_before_their_octets() -> None:
    decoder = CommandDecoder(report_non_sync_literals=True)
    decoder.receive_data(b"a LOGIN {5+}\r\n")
    first = decoder.next_command()
    assert first == LiteralAnnounced(
        size=5,
        binary=False,
        line=b"a LOGIN {5+}\r\n",
        first_line=b"a LOGIN {5+}\r\n",
        index=0,
        synchronizing=False,
    )
    # What the command weighs once this literal is in: judged before it is read.
    assert decoder.message_octets == len(b"a LOGIN {5+}\r\n") + 5
    # Accepting it is pulling on (no "+" for {n+}).
    assert decoder.next_command() is NEED_DATA
    decoder.receive_data(b"alice {6}\r\n")
    second = decoder.next_command()
    assert isinstance(second, LiteralAnnounced) and second.synchronizing and second.index == 1
    decoder.receive_data(b"secret\r\n")
    assert decoder.next_command() == C.Login(tag="a", username="alice", password="secret")
    assert decoder.message_octets == 0


def test_literal8_and_literal_minus_are_reported_as_non_synchronising() -> None:
    decoder = CommandDecoder(report_non_sync_literals=True)
    decoder.receive_data(b"a APPEND INBOX ~{3-}\r\n")
    announced = decoder.next_command()
    assert isinstance(announced, LiteralAnnounced)
    assert announced.binary and not announced.synchronizing


def test_skip_refuses_a_command_and_drops_its_octets() -> None:
    decoder = CommandDecoder(report_non_sync_literals=True)
    decoder.receive_data(b"a APPEND INBOX {10+}\r\n0123")
    announced = decoder.next_command()
    assert isinstance(announced, LiteralAnnounced) and not announced.synchronizing
    decoder.skip()
    assert decoder.skipping
    assert decoder.refused_line == b"a APPEND INBOX {10+}\r\n"
    assert decoder.next_command() is NEED_DATA
    # The rest of the literal, a further {n+} line and literal of the same
    # command: all dropped; the command ends at its last line.
    decoder.receive_data(b"456789 {3+}\r\nabc\r\nb NOOP\r\n")
    assert decoder.next_command() == C.Noop(tag="b")
    assert not decoder.skipping


def test_skip_ends_at_a_synchronising_literal_of_the_refused_command() -> None:
    # RFC 9051 §7.5: the client waits for "+", reads the refusal instead and
    # gives the command up; the next bytes are a new command.
    decoder = CommandDecoder(report_non_sync_literals=True)
    decoder.receive_data(b"a APPEND INBOX {3+}\r\nabc {5}\r\nb NOOP\r\n")
    assert isinstance(decoder.next_command(), LiteralAnnounced)
    decoder.skip()
    assert decoder.next_command() == C.Noop(tag="b")


def test_skipped_literal_is_never_kept() -> None:
    decoder = CommandDecoder(report_non_sync_literals=True)
    size = 4 * 1024 * 1024
    decoder.receive_data(b"a APPEND INBOX {%d+}\r\n" % size)
    assert isinstance(decoder.next_command(), LiteralAnnounced)
    decoder.skip()
    chunk = 65536
    tracemalloc.start()
    try:
        for _ in range(size // chunk):
            decoder.receive_data(bytes(chunk))  # fresh each time: freed unless kept
            assert decoder.next_command() is NEED_DATA
        decoder.receive_data(b"\r\nb NOOP\r\n")
        noop = decoder.next_command()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    assert noop == C.Noop(tag="b")


def test_discard_still_refuses_a_synchronising_literal() -> None:
    decoder = CommandDecoder(report_non_sync_literals=True)
    decoder.receive_data(b"a APPEND INBOX {10}\r\n")
    announced = decoder.next_command()
    assert isinstance(announced, LiteralAnnounced) and announced.synchronizing
    decoder.discard()
    assert not decoder.skipping and decoder.refused_line == b"a APPEND INBOX {10}\r\n"
    decoder.receive_data(b"b NOOP\r\n")
    assert decoder.next_command() == C.Noop(tag="b")


# ---- over literal_size ---------------------------------------------------------------


def test_too_large_non_synchronising_literal_is_skipped_with_the_option() -> None:
    decoder = CommandDecoder(limits=IMAPLimits(literal_size=100), report_non_sync_literals=True)
    decoder.receive_data(b"a APPEND INBOX {101+}\r\n" + b"x" * 50)
    with pytest.raises(LimitExceeded) as info:
        decoder.next_command()
    hint = info.value.hint
    assert hint is not None and not hint.fatal and hint.response_code == "TOOBIG"
    # Already being skipped: answer "a BAD [TOOBIG] ..." and pull on.
    assert decoder.skipping and decoder.refused_line == b"a APPEND INBOX {101+}\r\n"
    decoder.receive_data(b"x" * 51 + b"\r\nb NOOP\r\n")
    assert decoder.next_command() == C.Noop(tag="b")


def test_too_large_non_synchronising_literal_is_fatal_without_the_option() -> None:
    decoder = CommandDecoder(limits=IMAPLimits(literal_size=100))
    decoder.receive_data(b"a APPEND INBOX {101+}\r\n")
    with pytest.raises(LimitExceeded) as info:
        decoder.next_command()
    assert info.value.hint is not None and info.value.hint.fatal
    decoder.receive_data(b"b NOOP\r\n")
    with pytest.raises(LimitExceeded):
        decoder.next_command()  # poisoned


def test_too_large_synchronising_literal_is_dropped_with_its_command() -> None:
    decoder = CommandDecoder(limits=IMAPLimits(literal_size=100), report_non_sync_literals=True)
    decoder.receive_data(b"a APPEND INBOX {101}\r\n")
    with pytest.raises(LimitExceeded) as info:
        decoder.next_command()
    assert info.value.hint is not None and not info.value.hint.fatal
    assert not decoder.skipping and decoder.refused_line == b"a APPEND INBOX {101}\r\n"
    decoder.receive_data(b"b NOOP\r\n")
    assert decoder.next_command() == C.Noop(tag="b")


# ---- AUTHENTICATE ------------------------------------------------------------------


def test_non_synchronising_literal_in_a_sasl_answer_is_dropped() -> None:
    decoder = CommandDecoder(report_non_sync_literals=True)
    decoder.receive_data(b"{5+}\r\nhello\r\nAGFsaWNlAHNlY3JldA==\r\n")
    with pytest.raises(ParseError):
        decoder.next_authenticate_data()
    # The literal's octets were not taken for the next answer.
    answer = decoder.next_authenticate_data()
    assert isinstance(answer, C.AuthenticateData)
    assert decoder.next_authenticate_data() is NEED_DATA


# ---- properties ----------------------------------------------------------------------


SESSION = (
    b"a APPEND INBOX {6+}\r\nabcdef {2+}\r\nxy\r\n"  # refused: skip()
    b"b LOGIN {5+}\r\nalice {6}\r\nsecret\r\n"  # accepted
    b"c APPEND INBOX {5000+}\r\n" + b"z" * 5000 + b"\r\n"  # over literal_size
    b"d NOOP\r\n"
)


def _drive(chunks: list[bytes]) -> list[object]:
    """A tiny server: refuses every APPEND, accepts the rest; records what it saw."""
    decoder = CommandDecoder(limits=IMAPLimits(literal_size=4096), report_non_sync_literals=True)
    seen: list[object] = []
    for chunk in chunks:
        decoder.receive_data(chunk)
        while True:
            try:
                item = decoder.next_command()
            except LimitExceeded as exc:
                assert exc.hint is not None and not exc.hint.fatal
                seen.append(("refused", decoder.refused_line, decoder.skipping))
                continue
            if item is NEED_DATA:
                break
            if isinstance(item, LiteralAnnounced):
                seen.append(("announced", item.first_line, item.index, item.synchronizing))
                if b"APPEND" in item.first_line:
                    decoder.skip()
            else:
                seen.append(item)
    return seen


def test_session_transcript() -> None:
    assert _drive([SESSION]) == [
        ("announced", b"a APPEND INBOX {6+}\r\n", 0, False),
        ("announced", b"b LOGIN {5+}\r\n", 0, False),
        ("announced", b"b LOGIN {5+}\r\n", 1, True),
        C.Login(tag="b", username="alice", password="secret"),
        ("refused", b"c APPEND INBOX {5000+}\r\n", True),
        C.Noop(tag="d"),
    ]


@given(st.lists(st.integers(min_value=0, max_value=len(SESSION)), max_size=10))
def test_same_result_for_every_split(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [SESSION[i:j] for i, j in zip([0, *points], [*points, len(SESSION)]) if i < j]
    assert _drive(chunks) == _drive([SESSION])


_PIECES = st.sampled_from(
    [b"a APPEND INBOX ", b"a LOGIN ", b"{3}", b"{3+}", b"{99999+}", b"~{2-}", b"abc", b"\r\n"]
)


@given(st.lists(_PIECES | st.binary(max_size=8), max_size=40))
def test_hostile_streams_raise_only_protocol_errors(pieces: list[bytes]) -> None:
    decoder = codec.CommandDecoder(
        limits=IMAPLimits(literal_size=4096), report_non_sync_literals=True
    )
    decoder.receive_data(b"".join(pieces))
    for _ in range(200):
        try:
            item = decoder.next_command()
        except LimitExceeded as exc:
            if exc.hint is not None and exc.hint.fatal:
                return
            continue
        except ProtocolError:
            continue
        if item is NEED_DATA:
            return
        if isinstance(item, LiteralAnnounced) and not item.synchronizing:
            decoder.skip()
