"""Every size and count bound mailproto enforces, in one typed place.

Theory
------
A parser that buffers "until the line ends" or "until the literal is complete"
must know when to stop waiting, or one hostile peer can make it allocate without
bound.  mailproto never does that: every buffer and every counter is checked
against a field of one of the frozen classes below, and exceeding it is a clean
:class:`~mailproto.errors.LimitExceeded` (or, where the protocol has an answer
for it, a reply such as SMTP ``552``), never unbounded memory.

Each protocol takes its own limits object, so an application can, say, accept
50 MB messages over SMTP while keeping POP3 commands short::

    from mailproto.limits import SMTPLimits
    conn = smtp.ServerConnection(limits=SMTPLimits(message_size=50_000_000))

Defaults are *safe*, not *minimal*: where an RFC gives a number it is quoted
beside the field, and where it gives none the default follows what widely
deployed servers (Postfix, Dovecot) use.  Lengths of lines include the CRLF, as
the RFCs count them.  ``None`` means "unbounded" and is only ever there because
the caller asked for it.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["IMAPLimits", "MessageLimits", "POP3Limits", "SMTPLimits"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be positive, got {value}")


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be positive or None, got {value}")


@attrs.frozen(kw_only=True)
class SMTPLimits:
    """Bounds for SMTP, ESMTP and LMTP connections (both roles)."""

    #: Longest command line, CRLF included.  RFC 5321 §4.5.3.1.4 sets 512; the
    #: ESMTP parameters of RFC 1869 §4.1.2 may add 1000 more per extension, so
    #: we allow a little more than the bare minimum, as Postfix does (2048).
    command_line_length: int = attrs.field(default=2048, validator=_positive)
    #: Longest AUTH continuation line: RFC 4954 §4 requires servers to accept
    #: at least 12288 octets for SASL responses.
    auth_line_length: int = attrs.field(default=12288, validator=_positive)
    #: Longest reply line a client accepts, CRLF included (RFC 5321 §4.5.3.1.5
    #: says 512; real servers send longer banners, so we allow 2048).
    reply_line_length: int = attrs.field(default=2048, validator=_positive)
    #: Most lines in one multi-line reply (an EHLO response lists extensions;
    #: no real server sends more than a few dozen).
    reply_lines: int = attrs.field(default=200, validator=_positive)
    #: Longest text line inside DATA, CRLF included.  RFC 5321 §4.5.3.1.6 sets
    #: 1000, but real mail breaks it and DATA is streamed in chunks, so no line
    #: is ever buffered whole: the bound is only enforced when set.
    data_line_length: int | None = attrs.field(default=None, validator=_positive_or_none)
    #: Largest message in octets (after dot-unstuffing), for DATA and the sum
    #: of BDAT chunks.  RFC 5321 §4.5.3.1.7 only sets a 64 KiB minimum; the
    #: default is Postfix's message_size_limit (10240000).  Advertised by SIZE.
    message_size: int | None = attrs.field(default=10_240_000, validator=_positive_or_none)
    #: Most recipients per transaction.  RFC 5321 §4.5.3.1.8 requires at
    #: least 100 to be accepted; more get ``452 4.5.3``.
    recipients: int = attrs.field(default=1000, validator=_positive)
    #: Recipients past :attr:`recipients` that are refused with ``452``
    #: without counting toward :attr:`errors` (the client may pipeline a
    #: long list and send the rest in another transaction, RFC 5321
    #: §4.5.3.1.10); each one beyond counts.  Postfix's
    #: smtpd_recipient_overshoot_limit (1000).
    recipient_overshoot: int = attrs.field(default=1000, validator=_positive)
    #: Most commands a client may pipeline before the server has answered
    #: (RFC 2920 lets the client batch; this bounds the server's queue).
    pipelined_commands: int = attrs.field(default=1000, validator=_positive)
    #: Syntax and sequence errors before the server gives up with 421, like
    #: Postfix's smtpd_hard_error_limit (20).
    errors: int = attrs.field(default=20, validator=_positive)
    #: Bytes of message data a ``DataChunk`` event carries at most.
    data_chunk_size: int = attrs.field(default=65536, validator=_positive)


@attrs.frozen(kw_only=True)
class POP3Limits:
    """Bounds for POP3 connections (both roles)."""

    #: Longest command line, CRLF included: RFC 2449 §4 limits commands to
    #: 255 octets.
    command_line_length: int = attrs.field(default=255, validator=_positive)
    #: Longest SASL response line (RFC 5034 §4 lifts the 255 limit for AUTH;
    #: we use SMTP's RFC 4954 figure).
    auth_line_length: int = attrs.field(default=12288, validator=_positive)
    #: Longest status line (``+OK``/``-ERR``) a client accepts, CRLF included:
    #: RFC 2449 §4 sets 512.
    response_line_length: int = attrs.field(default=512, validator=_positive)
    #: Longest line inside a multi-line listing (CAPA, LIST, UIDL).  RFC 1939
    #: §3 says 512; message bodies (RETR, TOP) are streamed, not bounded here.
    listing_line_length: int = attrs.field(default=1024, validator=_positive)
    #: Most entries in a LIST/UIDL/CAPA response, and most messages in a
    #: maildrop the server side will track.
    listing_entries: int = attrs.field(default=1_000_000, validator=_positive)
    #: Most commands a client may pipeline (RFC 2449 §6.6) before answers.
    pipelined_commands: int = attrs.field(default=1000, validator=_positive)
    #: Bad commands before the server gives up.
    errors: int = attrs.field(default=20, validator=_positive)
    #: Bytes of message data a ``Data`` chunk event carries at most.
    data_chunk_size: int = attrs.field(default=65536, validator=_positive)


@attrs.frozen(kw_only=True)
class IMAPLimits:
    """Bounds for IMAP connections and the IMAP codec (both roles)."""

    #: Longest line (between literals), CRLF included.  RFC 9051 sets none;
    #: RFC 7162 §4 asks clients to accept 8192 and Dovecot's
    #: imap_max_line_length is 65536, which we follow.
    line_length: int = attrs.field(default=65536, validator=_positive)
    #: Largest literal (``{n}``, ``{n+}``, ``~{n}``) accepted, in octets.  A
    #: larger announcement is refused before any of it is read: ``{n}`` gets
    #: ``NO [TOOBIG]`` instead of ``+``; a non-synchronising ``{n+}`` gets
    #: ``BAD [TOOBIG]`` and its octets are dropped as they arrive, never
    #: buffered, and the session goes on (RFC 7888 §4 lets the server read
    #: and discard them or close).  64 MiB is larger than any sane message.
    literal_size: int = attrs.field(default=64 * 1024 * 1024, validator=_positive)
    #: Most literals in one command or response.
    literals_per_message: int = attrs.field(default=1000, validator=_positive)
    #: Largest command a server reads, in octets: its literals and the lines
    #: that announce them (the last line is bounded by ``line_length``).
    #: Checked at each announcement, before ``+`` is sent or a
    #: non-synchronising literal is read; a larger command is refused with
    #: ``NO [TOOBIG]`` (``BAD [TOOBIG]`` for ``{n+}``, RFC 7888 §4).  Without
    #: it the bound was ``literals_per_message`` x ``literal_size`` (64 GiB)
    #: per connection, all buffered before the command could be judged.  The
    #: default is ``literal_size + line_length`` (whatever those are set to):
    #: one maximal APPEND message and the line announcing it; a server
    #: offering MULTIAPPEND (RFC 3502) may raise it for several messages.
    command_size: int = attrs.field(
        default=attrs.Factory(lambda self: self.literal_size + self.line_length, takes_self=True),
        validator=_positive,
    )
    #: The same bound before authentication, when a client may only LOGIN
    #: (a user name and a password), AUTHENTICATE (no literals), ID (at most
    #: 30 pairs of 30- and 1024-octet strings, RFC 2971 §3.3: 31,620 octets)
    #: or send an X command.  64 KiB is ``line_length``: an unauthenticated
    #: client can already make the server hold one line that long.
    unauthenticated_command_size: int = attrs.field(default=65536, validator=_positive)
    #: Deepest nesting of parenthesised lists (BODYSTRUCTURE, SEARCH keys).
    nesting_depth: int = attrs.field(default=64, validator=_positive)
    #: Most items in one list (flags, FETCH attributes, sequence-set ranges).
    list_items: int = attrs.field(default=100_000, validator=_positive)
    #: Most commands in flight (pipelined, not yet completed).
    pipelined_commands: int = attrs.field(default=1000, validator=_positive)
    #: Bad commands before the server gives up with BYE.
    errors: int = attrs.field(default=20, validator=_positive)


@attrs.frozen(kw_only=True)
class MessageLimits:
    """Bounds for parsing messages (IMF and MIME).

    Message parsing never raises: when a bound is hit the parser stops
    splitting at that point, keeps the rest as an opaque body, and records a
    defect, so ``bytes(msg)`` is still the input byte for byte.
    """

    #: Most header fields in one header section.  Postfix's header_count
    #: is unlimited, but its header_size_limit (102400) caps the total;
    #: we bound both.
    header_count: int = attrs.field(default=10_000, validator=_positive)
    #: Largest header section in octets (Postfix's header_size_limit is per
    #: header; we bound the whole section at 10x that).
    header_section_size: int = attrs.field(default=1_024_000, validator=_positive)
    #: Deepest nesting of multiparts and enclosed messages (Postfix's
    #: mime_nesting_limit is 100).
    nesting_depth: int = attrs.field(default=100, validator=_positive)
    #: Most body parts in the whole tree.
    parts: int = attrs.field(default=100_000, validator=_positive)
    #: Most encoded words decoded in one header value.
    encoded_words: int = attrs.field(default=10_000, validator=_positive)
