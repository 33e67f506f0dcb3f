"""Hypothesis properties of the codec.

* ``parse(serialize(x)) == x`` for every response and command;
* the FETCH fast path and the generic path agree wherever the fast path
  answers;
* arbitrary bytes make the decoders raise only ``ProtocolError`` subclasses;
* splitting a stream at any byte boundary gives the same values as whole.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from mailproto import NEED_DATA, ProtocolError, Sentinel
from mailproto.imap import _parser, codec
from mailproto.imap import responses as R
from mailproto.imap._fragmentizer import LiteralAnnounced
from mailproto.limits import IMAPLimits
from tests.imap import strategies as S


@given(S.responses)
def test_response_round_trip(response: Any) -> None:
    wire = codec.serialize_response(response)
    assert codec.parse_response(wire) == response


@given(S.responses)
def test_response_round_trip_utf8(response: Any) -> None:
    wire = codec.serialize_response(response, utf8=True)
    assert codec.parse_response(wire, utf8=True) == response


@given(S.commands, st.sampled_from(["sync", "plus", "minus"]))
def test_command_round_trip(command: Any, mode: Any) -> None:
    fragments = codec.encode_command(command, literal_mode=mode)
    wire = b"".join(f.data for f in fragments)
    assert codec.parse_command(wire) == command
    # Fragments alternate line / literal, and only "sync" mode waits.
    for fragment in fragments:
        if isinstance(fragment, codec.LiteralFragment):
            assert fragment.sync == (
                mode == "sync" or (mode == "minus" and len(fragment.data) > 4096)
            )


@given(S.commands)
def test_command_round_trip_utf8(command: Any) -> None:
    wire = codec.serialize_command(command, utf8=True)
    assert codec.parse_command(wire, utf8=True) == command


@given(S.fetch_responses())
def test_fetch_fast_path_agrees_with_generic(response: R.FetchResponse) -> None:
    wire = codec.serialize_response(response)
    message = codec._single(wire, None)
    s, literals = _parser.flatten(message)
    cur = _parser._Cursor(s, literals, IMAPLimits(), False)
    cur.pos = s.index("FETCH ") + 6
    tree = _parser.build_tree(s, cur.pos, literals, 64)
    assert len(tree) == 1
    # Force the generic path by disabling the fast one for this call.
    original = getattr(_parser, "fast_fetch")  # noqa: B009
    try:
        setattr(_parser, "fast_fetch", lambda *a, **k: None)  # noqa: B010
        slow = _parser.parse_response(message)
    finally:
        setattr(_parser, "fast_fetch", original)  # noqa: B010
    assert slow == response
    assert codec.parse_response(wire) == slow


def _decode_all(decoder: Any, data: bytes, sizes: list[int], server: bool) -> list[Any]:
    out: list[Any] = []
    pos = 0
    i = 0
    while pos < len(data):
        size = sizes[i % len(sizes)] if sizes else len(data)
        decoder.receive_data(data[pos : pos + size])
        pos += size
        i += 1
        while True:
            value = decoder.next_command() if server else decoder.next_response()
            if value is NEED_DATA:
                break
            assert not isinstance(value, Sentinel)
            out.append(value)
    return out


@given(st.lists(S.responses, min_size=1, max_size=4), st.lists(st.integers(1, 40), max_size=6))
def test_responses_split_anywhere(responses: list[Any], sizes: list[int]) -> None:
    wire = b"".join(codec.serialize_response(r) for r in responses)
    whole = _decode_all(codec.ResponseDecoder(), wire, [], server=False)
    assert whole == responses
    assert _decode_all(codec.ResponseDecoder(), wire, sizes or [1], server=False) == responses


@given(st.lists(S.commands, min_size=1, max_size=4), st.lists(st.integers(1, 40), max_size=6))
def test_commands_split_anywhere(commands: list[Any], sizes: list[int]) -> None:
    wire = b"".join(codec.serialize_command(c) for c in commands)
    whole = _decode_all(codec.CommandDecoder(), wire, [], server=True)
    got = [v for v in whole if not isinstance(v, LiteralAnnounced)]
    assert got == commands
    split = _decode_all(codec.CommandDecoder(), wire, sizes or [1], server=True)
    # The announcements come at the same places whatever the split.
    assert split == whole


def _hostile(decoder: Any, data: bytes, server: bool) -> None:
    decoder.receive_data(data)
    for _ in range(100):
        try:
            value = decoder.next_command() if server else decoder.next_response()
        except ProtocolError as exc:
            if exc.hint is not None and exc.hint.fatal:
                return
            continue
        if value is NEED_DATA:
            return


_prefixes = st.sampled_from(
    [b"", b"* ", b"* 1 FETCH (", b"A1 ", b"+ ", b"* OK [", b"A1 UID FETCH 1 (", b"* LIST ("]
)


@given(_prefixes, st.binary(max_size=200))
@example(b"* 1 FETCH (", b"BODY[HEADER.FIELDS (a" + b"(" * 100)
@example(b"", b"* 1 FETCH (BODYSTRUCTURE " + b"(" * 200 + b"\r\n")
@example(b"", b"A1 LOGIN {99999999999999999999999}\r\n")
@example(b"", b"A1 SEARCH " + b"NOT " * 300 + b"ALL\r\n")
@example(b"", b'* 1 FETCH (INTERNALDATE "31-Feb-2020 00:00:00 +0000")\r\n')
@example(b"", b"* 1 FETCH (UID 99999999999999999999999999)\r\n")
@example(b"", b"A1 FETCH 1 BODY[0]\r\n")
def test_arbitrary_bytes_raise_only_protocol_errors(prefix: bytes, data: bytes) -> None:
    _hostile(codec.ResponseDecoder(), prefix + data + b"\r\n", server=False)
    _hostile(codec.CommandDecoder(), prefix + data + b"\r\n", server=True)
    with contextlib.suppress(ProtocolError):
        codec.parse_response(prefix + data)
    with contextlib.suppress(ProtocolError):
        codec.parse_command(prefix + data)
