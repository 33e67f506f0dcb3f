"""IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051): value types and the codec.

Layers, after duesee's imap-types / imap-codec / imap-next:

* :mod:`mailproto.imap.types` — validated values (sequence sets, flags,
  ENVELOPE, BODYSTRUCTURE, sections, SEARCH keys, response codes);
  :mod:`mailproto.imap.commands` and :mod:`mailproto.imap.responses` — one
  class per command and per response.
* :mod:`mailproto.imap.codec` — stateless, streaming parse and serialise of
  every command and response, with a fragmentizer for lines and literals.
* :class:`ClientConnection` and :class:`ServerConnection` — the session flow
  (RFC 9051 §3 states, tags, literals and continuations, AUTHENTICATE,
  STARTTLS, IDLE, COMPRESS) on top of the codec, with the events in this
  namespace; :class:`SelectedMailbox` does the sequence-number bookkeeping a
  server needs, and :mod:`mailproto.imap.structure` computes ENVELOPE,
  BODYSTRUCTURE and ``BODY[section]`` from a :mod:`mailproto.mime` tree.
"""

from mailproto.imap import codec, structure, types
from mailproto.imap._events import (
    Authenticated,
    AuthFailed,
    BadCommand,
    Bye,
    Completed,
    ConnectionClosed,
    Greeting,
    Handle,
    IdleDone,
    IdleStarted,
    LiteralRequest,
    SaslAnswer,
    SaslQuestion,
    Untagged,
)
from mailproto.imap._state import Mode, State
from mailproto.imap.client import ClientConnection, ClientEvent
from mailproto.imap.mailbox import SelectedMailbox
from mailproto.imap.server import DEFAULT_CAPABILITIES, ServerConnection, ServerEvent
from mailproto.imap.types import commands, responses

__all__ = [
    "DEFAULT_CAPABILITIES",
    "AuthFailed",
    "Authenticated",
    "BadCommand",
    "Bye",
    "ClientConnection",
    "ClientEvent",
    "Completed",
    "ConnectionClosed",
    "Greeting",
    "Handle",
    "IdleDone",
    "IdleStarted",
    "LiteralRequest",
    "Mode",
    "SaslAnswer",
    "SaslQuestion",
    "SelectedMailbox",
    "ServerConnection",
    "ServerEvent",
    "State",
    "Untagged",
    "codec",
    "commands",
    "responses",
    "structure",
    "types",
]
