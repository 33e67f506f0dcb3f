"""The strategies of mailproto.testing produce what they promise.

Valid strategies must be accepted by our parsers (and by the stdlib where it
is the reference); chunkings must rebuild their input; typed values must
survive a serialise/parse round trip.
"""

from __future__ import annotations

import email
import email.policy

from hypothesis import given
from hypothesis import strategies as st

from mailproto import imf, mime
from mailproto.codecs.encoded_words import decode_header_text
from mailproto.imap import codec
from mailproto.testing import (
    addr_specs,
    addresses,
    chunkings,
    encoded_words,
    header_sections,
    imap_command_values,
    messages,
    near_valid_messages,
    smtp_replies,
)


@given(st.data(), st.binary(max_size=200))
def test_chunkings_rebuild_the_input(data: st.DataObject, raw: bytes) -> None:
    pieces = data.draw(chunkings(raw))
    assert b"".join(pieces) == raw
    assert all(pieces)  # never an empty piece (b"" would mean EOF)


@given(st.data())
def test_chunkings_reach_single_bytes(data: st.DataObject) -> None:
    pieces = data.draw(chunkings(b"abc", max_pieces=3))
    assert len(pieces) <= 3 and b"".join(pieces) == b"abc"


@given(addr_specs())
def test_addr_specs_parse_cleanly(value: str) -> None:
    parsed = imf.parse_address_list(value)
    assert not parsed.defects
    [address] = parsed.addresses
    assert f"{address.local_part}@{address.domain}" == value


@given(addresses())
def test_addresses_parse_to_one_mailbox(value: str) -> None:
    parsed = imf.parse_address_list(value)
    assert len(parsed.addresses) == 1, (value, parsed)
    assert "@" in value and parsed.addresses[0].domain in value


@given(encoded_words())
def test_encoded_words_decode(value: str) -> None:
    assert value.startswith("=?utf-8?") and value.endswith("?=")
    decoded = decode_header_text(value)
    assert decoded and "=?utf-8?" not in decoded  # every word was decoded


@given(header_sections())
def test_header_sections_have_short_crlf_lines(section: bytes) -> None:
    assert section.endswith(b"\r\n\r\n")
    lines = section[:-2].split(b"\r\n")[:-1]
    assert all(len(line) <= 78 or b" " not in line for line in lines)
    msg = mime.parse(section + b"body\r\n")
    assert not [d for d in msg.defects if "header" in d.kind]


@given(messages())
def test_messages_parse_without_defects_and_agree_with_stdlib(raw: bytes) -> None:
    msg = mime.parse(raw)
    assert bytes(msg) == raw
    assert not msg.defects, msg.defects
    ref = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.headers.get("Subject") == str(ref["Subject"])
    ours = [p.content_type for p in msg.walk()]
    theirs = [p.get_content_type() for p in ref.walk()]
    assert ours == theirs
    for part in msg.walk():
        if not part.is_multipart:
            part.decoded()


@given(near_valid_messages())
def test_near_valid_messages_never_break_the_parser(raw: bytes) -> None:
    msg = mime.parse(raw)
    assert bytes(msg) == raw
    for part in msg.walk():
        part.decoded()
        if part.content_type.startswith("text/"):
            part.text()


@given(smtp_replies())
def test_smtp_replies_are_well_formed(raw: bytes) -> None:
    lines = raw.split(b"\r\n")[:-1]
    assert all(line[:3].isdigit() for line in lines)
    assert all(line[3:4] == b"-" for line in lines[:-1])
    assert lines[-1][3:4] in (b" ", b"")


@given(imap_command_values())
def test_imap_command_values_round_trip(command: object) -> None:
    wire = codec.serialize_command(command, literal_mode="plus")  # type: ignore[arg-type]
    assert codec.parse_command(wire) == command
