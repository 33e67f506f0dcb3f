"""normalize_line_endings: bare CR and LF to CRLF (RFC 5321 §2.3.8, RFC 2046 §4.1.1).

Examples, then properties against an independent model (a per-octet walk,
fine in a test), and agreement with the streaming DotStuffer under every
way of cutting the input into pieces.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mailproto.codecs
from mailproto.codecs.dotstuff import DotStuffer, dot_stuff
from mailproto.codecs.line_endings import normalize_line_endings

# Octets that matter, dense enough that every combination of CR, LF and
# text shows up within a few dozen examples.
_MAILISH = st.binary(max_size=64) | st.lists(
    st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b".", b"\x00", b"\xff"]), max_size=40
).map(b"".join)
_BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def _model(data: bytes) -> bytes:
    """The rule written out octet by octet: CRLF kept, any other CR or LF is CRLF."""
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i : i + 2] == b"\r\n":
            out += b"\r\n"
            i += 2
        elif data[i] in (0x0D, 0x0A):
            out += b"\r\n"
            i += 1
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", b""),
        (b"plain", b"plain"),
        (b"a\r\nb\r\n", b"a\r\nb\r\n"),
        (b"a\nb\n", b"a\r\nb\r\n"),
        (b"a\rb\r", b"a\r\nb\r\n"),
        (b"\r\r\n", b"\r\n\r\n"),  # a bare CR, then a CRLF
        (b"\n\r", b"\r\n\r\n"),  # two line ends, not one reversed CRLF
        (b"\r\n\n", b"\r\n\r\n"),
        (b"x\n.\r\nQUIT\r\n", b"x\r\n.\r\nQUIT\r\n"),  # the smuggling shape
        (b"\r", b"\r\n"),  # a final CR is bare
    ],
)
def test_examples(data: bytes, expected: bytes) -> None:
    assert normalize_line_endings(data) == expected


def test_exported_from_the_codecs_package() -> None:
    assert mailproto.codecs.normalize_line_endings is normalize_line_endings
    assert "normalize_line_endings" in mailproto.codecs.__all__


def test_crlf_only_input_is_the_same_object() -> None:
    data = b"Subject: x\r\n\r\nbody\r\n" * 100
    assert normalize_line_endings(data) is data


@given(_MAILISH)
def test_agrees_with_the_octet_model(data: bytes) -> None:
    assert normalize_line_endings(data) == _model(data)


@given(_MAILISH)
def test_result_has_no_bare_line_end(data: bytes) -> None:
    out = normalize_line_endings(data)
    assert _BARE.search(out) is None
    # Nothing but line ends changed: the text between them is the same.
    assert out.splitlines() == data.splitlines()


@given(_MAILISH)
def test_idempotent(data: bytes) -> None:
    once = normalize_line_endings(data)
    assert normalize_line_endings(once) is once


@given(_MAILISH.filter(lambda d: _BARE.search(d) is None))
def test_crlf_only_input_unchanged(data: bytes) -> None:
    assert normalize_line_endings(data) is data


@given(_MAILISH, st.lists(st.integers(min_value=0, max_value=64), max_size=6))
def test_agrees_with_the_streaming_dot_stuffer(data: bytes, cuts: list[int]) -> None:
    # DotStuffer(normalize_newlines=True) is the same rule applied piece by
    # piece: whatever the cuts, its output is the stuffing of the normalised
    # whole (a CRLF split across pieces stays one line end).
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    stuffer = DotStuffer(normalize_newlines=True)
    wire = b"".join(stuffer.stuff(data[a:b]) for a, b in itertools.pairwise(bounds))
    wire += stuffer.end()
    assert wire == dot_stuff(normalize_line_endings(data))
    assert wire == dot_stuff(data, normalize_newlines=True)
