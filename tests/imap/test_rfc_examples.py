"""Every RFC example parses, serialises back, and round-trips."""

from __future__ import annotations

import pytest

from mailproto.imap import codec
from tests.imap.rfc_examples import COMMANDS, RESPONSES


@pytest.mark.parametrize(("wire", "canonical"), RESPONSES, ids=lambda x: repr(x)[:60])
def test_response_example(wire: bytes, canonical: bool) -> None:
    value = codec.parse_response(wire)
    again = codec.serialize_response(value)
    if canonical:
        assert again == wire
    assert codec.parse_response(again) == value


@pytest.mark.parametrize(("wire", "canonical"), COMMANDS, ids=lambda x: repr(x)[:60])
def test_command_example(wire: bytes, canonical: bool) -> None:
    value = codec.parse_command(wire)
    again = codec.serialize_command(value)
    if canonical:
        assert again == wire
    assert codec.parse_command(again) == value
