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

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mailproto import NEED_DATA, ProtocolError, Sentinel
from mailproto.imap import _parser, codec
from mailproto.imap import commands as C
from mailproto.imap import responses as R
from mailproto.imap._fragmentizer import LiteralAnnounced
from mailproto.imap._parser import ParseError
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


# -- what parses must serialise back (the round-trip fuzz targets' property) ----

# 8-bit octets are never ATOM-CHARs (CHAR is %x01-7F, RFC 9051 §9), also with
# UTF8=ACCEPT (RFC 6855 §3 lets UTF-8 into quoted strings and literals only);
# each of these once parsed, and either re-serialised as something else or
# could not be serialised at all.
_EIGHT_BIT_ATOMS = [
    b"A042 STATUS blurdy\xfflooop (UIDNEXT MESSAGES)\r\n",  # fuzz/regressions
    b"A1 SELECT caf\xc3\xa9\r\n",  # valid UTF-8, still not an atom
    b"A1 LOGIN us\xc3\xa9r secret\r\n",
    b"A1 STORE 1 +FLAGS (\\Seen k\xe9)\r\n",
    b"A1 STORE 1 FLAGS k\xc3\xa9\r\n",
    b'A1 LIST "" caf\xc3\xa9*\r\n',
    b"A1 STATUS INBOX (MESSAGES UIDN\xc3\xa9XT)\r\n",
    b"A1 ENABLE UTF8=ACC\xc3\xa9PT\r\n",
    b"A1 SEARCH KEYWORD k\xc3\xa9\r\n",
    b"A1 FETCH 1 (BODY[HEADER.FIELDS (Subj\xc3\xa9ct)])\r\n",
]
_EIGHT_BIT_RESPONSES = [
    b"* FLAGS (\\Answered \\Flagged \\Deleted \\" + b"\xfc" * 60 + b"Seen \\Draft)\r\n",
    b"* FLAGS (\\Seen caf\xc3\xa9)\r\n",
    b"* OK [PERMANENTFLAGS (\\Seen k\xff \\*)] flags\r\n",
    b"* CAPABILITY IMAP4rev2 X-\xc3\xa9\r\n",
    b'* LIST () "/" caf\xc3\xa9\r\n',
    b"* STATUS caf\xc3\xa9 (MESSAGES 1)\r\n",
    b"* STATUS INBOX (MESS\xc3\xa9GES 1)\r\n",
    b"* 1 FETCH (FLAGS (\\Seen k\xc3\xa9))\r\n",
    b'* 1 FETCH (UID 1 FLAGS (k\xe9) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 5)\r\n',
    b"* 1 FETCH (EMAILID (M\xc3\xa9))\r\n",
    b"* SEARCH 1 2\xc2\xb3\r\n",
]
# Tokens that are printable ASCII but not what the grammar allows there.
_NON_ATOMS = [
    b"* FLAGS (\\Seen a]b)\r\n",  # "]" is a resp-special, not an ATOM-CHAR
    b"* FLAGS (\\Seen 50%)\r\n",
    b"* STATUS INBOX (MESS]AGES 1)\r\n",
    b"* 1 FETCH (FLAGS (\\Seen a*b))\r\n",
    b'* 1 FETCH (UID 1 FLAGS (a]) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 5)\r\n',
]


@pytest.mark.parametrize("wire", _EIGHT_BIT_ATOMS)
@pytest.mark.parametrize("utf8", [False, True])
def test_8bit_octets_in_command_atoms_are_refused(wire: bytes, utf8: bool) -> None:
    with pytest.raises(ParseError) as info:
        codec.parse_command(wire, utf8=utf8)
    assert info.value.tag == "A042" or info.value.tag == "A1"
    assert info.value.hint is not None and not info.value.hint.fatal


@pytest.mark.parametrize("wire", _EIGHT_BIT_RESPONSES + _NON_ATOMS)
@pytest.mark.parametrize("utf8", [False, True])
def test_8bit_octets_and_specials_in_response_atoms_are_refused(wire: bytes, utf8: bool) -> None:
    with pytest.raises(ParseError):
        codec.parse_response(wire, utf8=utf8)


@pytest.mark.parametrize(
    "wire",
    [
        b'A1 STATUS "blurdy\xfflooop" (UIDNEXT)\r\n',
        b"A1 SELECT {5+}\r\nab\xffcd\r\n",
        b'A1 RENAME INBOX "x\xc3"\r\n',
        b'* LIST () "/" "caf\xe9"\r\n',
    ],
)
@pytest.mark.parametrize("utf8", [False, True])
def test_mailbox_names_that_are_not_utf8_are_refused(wire: bytes, utf8: bool) -> None:
    # A mailbox name is Unicode text (modified UTF-7, or UTF-8 under
    # UTF8=ACCEPT): octets that decode to neither name no mailbox, and the
    # parsed value could not be written back as the same name.
    parse = codec.parse_command if wire.startswith(b"A1") else codec.parse_response
    with pytest.raises(ParseError):
        parse(wire, utf8=utf8)


@pytest.mark.parametrize(
    "wire",
    [
        # fuzz/regressions/imap_codec_command_roundtrip/login-nul-in-literal
        b"A001 LOGIN {11}\r\nF\x01\x00\x00\x00\x00\x00\x00\x04AR {7}\r\nfat man\r\n",
        b"A1 SELECT {3+}\r\na\x00b\r\n",
        b"* 1 FETCH (ENVELOPE (NIL {3}\r\na\x00b NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",
        b'* ID ("name" {2}\r\n\x00x)\r\n',
    ],
)
def test_nul_in_a_string_literal_is_refused(wire: bytes) -> None:
    # CHAR8 is %x01-FF (RFC 9051 §9): a string literal never carries NUL.
    parse = codec.parse_response if wire.startswith(b"*") else codec.parse_command
    with pytest.raises(ParseError):
        parse(wire)


def test_nul_in_message_data_is_kept() -> None:
    # Message octets are bytes, not strings: NUL there round-trips.
    wire = b"* 1 FETCH (BODY[] {3}\r\na\x00b)\r\n"
    response = codec.parse_response(wire)
    assert isinstance(response, R.FetchResponse) and response.sections[0].data == b"a\x00b"
    assert codec.parse_response(codec.serialize_response(response)) == response


@pytest.mark.parametrize(
    "wire",
    [
        # fuzz/regressions/imap_codec_response_roundtrip/fetch-item-name-not-atom
        b"* 3 FETCH (EMAILID (M1234) ]TNILADID NIL)\r\n",
        b"* 3 FETCH (X%Y 1)\r\n",
    ],
)
def test_unknown_fetch_item_names_must_be_atoms(wire: bytes) -> None:
    with pytest.raises(ParseError):
        codec.parse_response(wire)
    known = codec.parse_response(b"* 3 FETCH (X-GM-MSGID 1278455344230334865)\r\n")
    assert isinstance(known, R.FetchResponse)
    assert known.extra == (("X-GM-MSGID", 1278455344230334865),)


@pytest.mark.parametrize(
    "wire",
    [
        b"* 3 FETCH (X-EXT (1 ()))\r\n",
        b'* LIST () "/" INBOX (CHILDINFO ())\r\n',
        b'* 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" NIL NIL NIL "7BIT" 1 1 NIL NIL NIL NIL ()))\r\n',
    ],
)
def test_empty_extension_lists_are_refused(wire: bytes) -> None:
    # fuzz/regressions/imap_codec_response_roundtrip/empty-extension-list:
    # body-extension and tagged-ext-comp lists are never empty (RFC 9051 §9).
    with pytest.raises(ParseError):
        codec.parse_response(wire)


@pytest.mark.parametrize("utf8", [False, True])
def test_utf8_in_quoted_strings_and_literals_is_kept(utf8: bool) -> None:
    # Where UTF-8 is allowed (quoted strings, literals) it parses, and the
    # value round-trips: as modified UTF-7 without UTF8=ACCEPT, as UTF-8 with.
    for wire in (b'A1 SELECT "caf\xc3\xa9"\r\n', b"A1 SELECT {5+}\r\ncaf\xc3\xa9\r\n"):
        command = codec.parse_command(wire, utf8=utf8)
        assert command == C.Select(tag="A1", mailbox="café")
        again = codec.serialize_command(command, literal_mode="plus", utf8=utf8)
        assert (b"&AOk-" in again) != utf8
        assert codec.parse_command(again, utf8=utf8) == command
    flags = codec.parse_response(b"* OK [PERMANENTFLAGS (\\Seen $Junk \\*)] x\r\n", utf8=utf8)
    assert isinstance(flags, R.StatusResponse) and flags.code is not None
    assert flags.code.value == ("\\Seen", "$Junk", "\\*")


def _mutations(wire: bytes) -> st.SearchStrategy[bytes]:
    """*wire* with one byte inserted, replaced or deleted."""
    return st.tuples(
        st.integers(0, len(wire)), st.sampled_from(["ins", "rep", "del"]), st.integers(0, 255)
    ).map(
        lambda t: (
            wire[: t[0]]
            + (bytes([t[2]]) if t[1] != "del" else b"")
            + wire[t[0] + (t[1] != "ins") :]
        )
    )


@given(S.responses.map(codec.serialize_response).flatmap(_mutations))
@example(_EIGHT_BIT_RESPONSES[0])
def test_whatever_response_parses_round_trips(wire: bytes) -> None:
    try:
        response = codec.parse_response(wire)
    except ProtocolError:
        return
    assert codec.parse_response(codec.serialize_response(response)) == response


@given(
    S.commands.map(lambda c: codec.serialize_command(c, literal_mode="plus")).flatmap(_mutations)
)
@example(_EIGHT_BIT_ATOMS[0].replace(b"\xff", b"\xc3\xa9"))
def test_whatever_command_parses_round_trips(wire: bytes) -> None:
    try:
        command = codec.parse_command(wire)
    except ProtocolError:
        return
    again = codec.serialize_command(command, literal_mode="plus")
    assert codec.parse_command(again) == command


@given(S.fetch_responses())
def test_plain_structure_writer_gives_the_general_writers_octets(
    response: R.FetchResponse,
) -> None:
    # ENVELOPE and BODYSTRUCTURE made only of plain strings are written as
    # one string; the general writer (per-string choice of quoted, escaped
    # or literal) must produce the very same octets.
    from mailproto.imap import _serializer

    fast = codec.serialize_response(response)
    original = _serializer._PLAIN
    try:
        _serializer._PLAIN = lambda value: None  # type: ignore[assignment]
        general = codec.serialize_response(response)
    finally:
        _serializer._PLAIN = original
    assert fast == general


def test_unknown_response_whose_text_would_end_as_an_announcement_is_refused() -> None:
    # fuzz/regressions/imap_codec_response_roundtrip/unknown-text-ends-as-announcement:
    # a literal ending in "{2" and a last line "}" give a text ending in "{2}",
    # which, written back, would announce a literal.
    with pytest.raises(ParseError):
        codec.parse_response(b"* 8 FALER {5}\r\nAR {5}{2}\r\n{2}\r\n")
    kept = codec.parse_response(b"* 8 XFOO {5}\r\nAR {5}{2}\r\nab}\r\n")
    assert isinstance(kept, R.UnknownResponse)
    assert codec.parse_response(codec.serialize_response(kept)) == kept
