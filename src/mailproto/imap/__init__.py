"""IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051): value types and the codec.

Layers, after duesee's imap-types / imap-codec / imap-next:

* :mod:`mailproto.imap.types` — validated values (sequence sets, flags,
  ENVELOPE, BODYSTRUCTURE, sections, SEARCH keys, response codes);
  :mod:`mailproto.imap.commands` and :mod:`mailproto.imap.responses` — one
  class per command and per response.
* :mod:`mailproto.imap.codec` — stateless, streaming parse and serialise of
  every command and response, with a fragmentizer for lines and literals.
* Client and server connections (state machines) build on the codec.
"""

from mailproto.imap import codec, types
from mailproto.imap.types import commands, responses

__all__ = ["codec", "commands", "responses", "types"]
