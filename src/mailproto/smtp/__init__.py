"""SMTP (RFC 5321), ESMTP extensions and LMTP (RFC 2033), without I/O.

:class:`ServerConnection` and :class:`ClientConnection` are the two sides of
one session; they exchange the events of this package (commands named after
their verbs, :class:`Reply` values, message data as :class:`DataChunk`
pieces).  See the tutorial for both driven over real sockets.

Supported: HELO, EHLO, MAIL, RCPT, DATA, RSET, VRFY, EXPN, HELP, NOOP, QUIT;
PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8
(RFC 6531/6533), STARTTLS (RFC 3207), AUTH (RFC 4954, via
:mod:`mailproto.sasl`), CHUNKING and BINARYMIME (RFC 3030), DSN (RFC 3461),
ENHANCEDSTATUSCODES (RFC 2034 with RFC 3463 codes), REQUIRETLS (RFC 8689),
DELIVERBY (RFC 2852), MT-PRIORITY (RFC 6710), and LMTP's LHLO with
per-recipient replies (RFC 2033).
"""

from __future__ import annotations

from mailproto.smtp import replies
from mailproto.smtp._address import Mailbox, parse_mailbox, parse_path
from mailproto.smtp._connection import ClientConnection, ServerConnection
from mailproto.smtp._events import (
    Auth,
    AuthAnswer,
    Authenticated,
    AuthFailed,
    AuthQuestion,
    Bdat,
    CommandRejected,
    ConnectionClosed,
    Data,
    DataChunk,
    Ehlo,
    EhloReply,
    EndOfChunk,
    EndOfData,
    Event,
    Expn,
    Helo,
    Help,
    Lhlo,
    MailFrom,
    MessageAborted,
    Noop,
    Quit,
    RcptTo,
    RecipientReply,
    Rset,
    StartTLS,
    Vrfy,
)
from mailproto.smtp._state import TRANSITIONS, State, Transition, Verb
from mailproto.smtp.extensions import (
    BareLineEndings,
    Body,
    ByMode,
    DeliverBy,
    Extensions,
    MailAuth,
    MailParameters,
    NotifyCondition,
    ORcpt,
    RcptParameters,
    Ret,
    ServerConfig,
    xtext_decode,
    xtext_encode,
)
from mailproto.smtp.replies import Reply

__all__ = [
    "TRANSITIONS",
    "Auth",
    "AuthAnswer",
    "AuthFailed",
    "AuthQuestion",
    "Authenticated",
    "BareLineEndings",
    "Bdat",
    "Body",
    "ByMode",
    "ClientConnection",
    "CommandRejected",
    "ConnectionClosed",
    "Data",
    "DataChunk",
    "DeliverBy",
    "Ehlo",
    "EhloReply",
    "EndOfChunk",
    "EndOfData",
    "Event",
    "Expn",
    "Extensions",
    "Helo",
    "Help",
    "Lhlo",
    "MailAuth",
    "MailFrom",
    "MailParameters",
    "Mailbox",
    "MessageAborted",
    "Noop",
    "NotifyCondition",
    "ORcpt",
    "Quit",
    "RcptParameters",
    "RcptTo",
    "RecipientReply",
    "Reply",
    "Ret",
    "Rset",
    "ServerConfig",
    "ServerConnection",
    "StartTLS",
    "State",
    "Transition",
    "Verb",
    "Vrfy",
    "parse_mailbox",
    "parse_path",
    "replies",
    "xtext_decode",
    "xtext_encode",
]
