"""Dot-stuffing examples (RFC 5321 §4.5.2); properties live in test_buffer.py."""

from __future__ import annotations

import pytest

from mailproto.codecs.dotstuff import DotStuffer, dot_stuff


@pytest.mark.parametrize(
    ("content", "wire"),
    [
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"a", b"a\r\n.\r\n"),  # the last line is completed before the terminator
        (b".\r\n", b"..\r\n.\r\n"),
        (b"a\r\n.b\r\n", b"a\r\n..b\r\n.\r\n"),
        (b"a\n.b", b"a\n.b\r\n.\r\n"),  # after a bare LF no line begins: no stuffing
    ],
)
def test_dot_stuff_examples(content: bytes, wire: bytes) -> None:
    assert dot_stuff(content) == wire


def test_stuffing_across_piece_boundaries() -> None:
    s = DotStuffer()
    assert s.stuff(b"a\r") == b"a\r"
    assert s.stuff(b"\n.b") == b"\n..b"
    assert s.stuff(b"\r\n") == b"\r\n"
    assert s.stuff(b".") == b".."
    assert s.end() == b"\r\n.\r\n"


@pytest.mark.parametrize(
    ("content", "wire"),
    [
        (b"a\nb\n", b"a\r\nb\r\n.\r\n"),
        (b"a\rb", b"a\r\nb\r\n.\r\n"),
        (b"a\n.b\n", b"a\r\n..b\r\n.\r\n"),
        (b"a\r", b"a\r\n.\r\n"),
    ],
)
def test_normalize_newlines(content: bytes, wire: bytes) -> None:
    assert dot_stuff(content, normalize_newlines=True) == wire
