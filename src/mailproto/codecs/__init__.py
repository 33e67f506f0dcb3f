"""Stateless (or explicitly stateful, streaming) codecs shared by protocols and messages."""

from mailproto.codecs.line_endings import normalize_line_endings

__all__ = ["normalize_line_endings"]
