"""The STATUS command's item list is never empty (RFC 9051 §9 ``status``).

Found by the round-trip fuzz target: ``STATUS bp ()`` parsed, and the
serialiser then refused to write it back.  The grammar wants at least one
status-att, so the parser refuses it too
(``fuzz/regressions/imap_codec_command_roundtrip/status-empty-items``).
"""

from __future__ import annotations

import pytest

from mailproto.imap._parser import ParseError
from mailproto.imap.codec import parse_command


def test_an_empty_status_list_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_command(b"42 STATUS bp ()\r\n")


def test_an_empty_return_list_is_still_fine() -> None:
    # RFC 5258 §6 allows "RETURN ()"; only the STATUS list inside needs items.
    assert parse_command(b'a LIST "" * RETURN ()\r\n') is not None
