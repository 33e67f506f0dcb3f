"""Hostile input: clean errors, bounded memory, linear time."""

from __future__ import annotations

import time

import pytest

from mailproto import NEED_DATA, LimitExceeded, ProtocolError
from mailproto.imap import codec
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap._parser import ParseError
from mailproto.limits import IMAPLimits


def test_nesting_beyond_the_limit_in_a_response() -> None:
    limits = IMAPLimits(nesting_depth=10)
    deep = (
        b"* 1 FETCH (BODYSTRUCTURE "
        + b"(" * 20
        + b'"TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1'
        + b")" * 20
        + b")\r\n"
    )
    with pytest.raises(LimitExceeded) as info:
        codec.parse_response(deep, limits=limits)
    assert info.value.limit == "nesting_depth"
    # Within the limit the same shape parses (nested multiparts).
    ok = (
        b"* 1 FETCH (BODYSTRUCTURE "
        + b"(" * 5
        + b'"TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1)'
        + b' "MIXED")' * 4
        + b")\r\n"
    )
    assert isinstance(codec.parse_response(ok, limits=limits), R.FetchResponse)


def test_nesting_beyond_the_limit_in_search_keys() -> None:
    limits = IMAPLimits(nesting_depth=10)
    with pytest.raises(LimitExceeded):
        codec.parse_command(b"A1 SEARCH " + b"NOT " * 20 + b"ALL\r\n", limits=limits)
    with pytest.raises(LimitExceeded):
        codec.parse_command(b"A1 SEARCH " + b"(" * 20 + b"ALL" + b")" * 20 + b"\r\n", limits=limits)
    cmd = codec.parse_command(b"A1 SEARCH " + b"NOT " * 5 + b"ALL\r\n", limits=limits)
    assert isinstance(cmd, C.Search)


def test_deep_nesting_with_default_limits_never_overflows_the_stack() -> None:
    for wire in (
        b"* 1 FETCH (BODYSTRUCTURE " + b"(" * 100_000 + b"\r\n",
        b"A1 SEARCH " + b"OR " * 50_000 + b"ALL\r\n",
        b"* 1 FETCH (BODY " + b'("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 ' * 5000 + b"\r\n",
    ):
        with pytest.raises(ProtocolError):
            try:
                codec.parse_response(wire, limits=IMAPLimits(line_length=1 << 22))
            except ProtocolError:
                codec.parse_command(wire, limits=IMAPLimits(line_length=1 << 22))
                raise


def test_literal_announcement_beyond_the_limit() -> None:
    decoder = codec.ResponseDecoder(limits=IMAPLimits(literal_size=1000))
    decoder.receive_data(b"* 1 FETCH (BODY[] {1001}\r\n")
    with pytest.raises(LimitExceeded) as info:
        decoder.next_response()
    assert info.value.limit == "literal_size" and info.value.bound == 1000


def test_server_answers_too_big_literal_and_continues() -> None:
    decoder = codec.CommandDecoder(limits=IMAPLimits(literal_size=1000))
    decoder.receive_data(b"A1 APPEND INBOX {5000}\r\n")
    with pytest.raises(LimitExceeded) as info:
        decoder.next_command()
    assert info.value.hint is not None and info.value.hint.response_code == "TOOBIG"
    decoder.receive_data(b"A2 NOOP\r\n")
    assert decoder.next_command() == C.Noop(tag="A2")


def test_bad_command_is_reported_with_its_tag_and_the_stream_goes_on() -> None:
    decoder = codec.CommandDecoder()
    decoder.receive_data(b"A1 FROB x\r\nA2 FETCH 1 (NOPE)\r\nA3 NOOP\r\n")
    for tag in ("A1", "A2"):
        with pytest.raises(ParseError) as info:
            decoder.next_command()
        assert info.value.tag == tag
        assert info.value.hint is not None and not info.value.hint.fatal
    assert decoder.next_command() == C.Noop(tag="A3")
    assert decoder.next_command() is NEED_DATA


def test_line_without_end() -> None:
    decoder = codec.ResponseDecoder(limits=IMAPLimits(line_length=4096))
    with pytest.raises(LimitExceeded):
        for _ in range(1000):
            decoder.receive_data(b"* OK " + b"x" * 100)
            decoder.next_response()


def _parse_time(n: int) -> float:
    addrs = b'("Some One" NIL "someone" "example.com")' * n
    wire = b'* 1 FETCH (ENVELOPE ("d" "s" NIL NIL NIL (' + addrs + b') NIL NIL NIL "<m@x>"))\r\n'
    limits = IMAPLimits(line_length=1 << 26)
    best = float("inf")
    # CPU time, best of five: the machine running the suite is shared, and
    # wall time would measure the neighbours.
    for _ in range(5):
        t0 = time.process_time()
        decoder = codec.ResponseDecoder(limits=limits)
        for i in range(0, len(wire), 4096):  # delivered in pieces, as from a socket
            decoder.receive_data(wire[i : i + 4096])
            decoder.next_response()
        best = min(best, time.process_time() - t0)
    return best


@pytest.mark.slow
def test_time_is_linear_in_response_length() -> None:
    # Not a speed test: a ratio.  Quadratic behaviour (re-scanning the buffer
    # per chunk, re-joining partial lines) would make 16x the input cost
    # ~256x the time; linear costs ~16x.  The bound leaves room for noise
    # (and for the clock's granularity on the small input).
    small = _parse_time(2_000)
    large = _parse_time(32_000)
    assert large < small * 48 + 0.05
