"""Stateless (or explicitly stateful, streaming) codecs shared by protocols and messages."""
