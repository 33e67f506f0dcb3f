"""Tools for testing mail code: hypothesis strategies and a transcript player.

* :mod:`mailproto.testing.strategies` — hypothesis strategies for messages
  (valid and near-valid), addresses, header fields, encoded words, SMTP /
  POP3 / IMAP commands and responses (wire bytes and typed values), and
  byte-stream chunkings.
* :mod:`mailproto.testing.transcripts` — ``C:``/``S:`` transcripts replayed
  against any connection object, client or server role.

This subpackage needs hypothesis: install ``mailproto[test]``.  Nothing
else in mailproto imports it, so ``import mailproto`` stays dependency-free.
"""

from mailproto.testing.strategies import (
    addr_specs,
    addresses,
    chunkings,
    display_names,
    domains,
    encoded_words,
    header_fields,
    header_sections,
    imap_command_values,
    imap_commands,
    imap_responses,
    local_parts,
    messages,
    mutations,
    near_valid,
    near_valid_messages,
    pop3_command_events,
    pop3_commands,
    pop3_responses,
    smtp_command_events,
    smtp_commands,
    smtp_replies,
    unstructured_texts,
)
from mailproto.testing.transcripts import (
    Line,
    TranscriptMismatch,
    TranscriptPlayer,
    parse_transcript,
)

__all__ = [
    "Line",
    "TranscriptMismatch",
    "TranscriptPlayer",
    "addr_specs",
    "addresses",
    "chunkings",
    "display_names",
    "domains",
    "encoded_words",
    "header_fields",
    "header_sections",
    "imap_command_values",
    "imap_commands",
    "imap_responses",
    "local_parts",
    "messages",
    "mutations",
    "near_valid",
    "near_valid_messages",
    "parse_transcript",
    "pop3_command_events",
    "pop3_commands",
    "pop3_responses",
    "smtp_command_events",
    "smtp_commands",
    "smtp_replies",
    "unstructured_texts",
]
