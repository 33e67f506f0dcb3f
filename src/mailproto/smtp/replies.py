"""SMTP replies: the :class:`Reply` value, its wire form, and named constants.

Theory
------
Every SMTP reply (RFC 5321 §4.2) is a three-digit code followed by one or
more lines of text.  All lines but the last have a ``-`` after the code; the
last has a space (or nothing at all)::

    Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
                     Reply-code [ SP textstring ] CRLF
    Reply-code     = %x32-35 %x30-35 %x30-39

When the server advertises ENHANCEDSTATUSCODES (RFC 2034 §3), each text line
starts with an RFC 3463 status ``class.subject.detail`` whose class equals the
first digit of the code, e.g. ``550 5.1.1 No such user``.  :class:`Reply` keeps
the code, the enhanced status (once, parsed) and the text lines separately;
:meth:`Reply.to_bytes` prepends the enhanced status to every line as RFC 2034
requires, and a server that did not advertise the extension strips it
(:meth:`Reply.to_bytes` with ``enhanced=False``).

Named constants
    Every reply the connection machines produce by themselves is defined here,
    once, with its RFC reference — handlers never carry inline reply strings.
    Applications use the same constants (``replies.OK``) or build their own
    ``Reply(code=550, enhanced_status="5.1.1", lines=("No such user",))``.
"""

from __future__ import annotations

import functools
import re

import attrs

from mailproto.errors import LocalProtocolError, ReplyHint

__all__ = [
    "Reply",
    "parse_enhanced_status",
]

# RFC 3463 §2: status-code = class "." subject "." detail, class is 2, 4 or 5,
# subject 1-3 digits, detail 1-3 digits.
_ENHANCED_RE = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")
_ENHANCED_FULL_RE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\Z")


def parse_enhanced_status(text: str) -> tuple[str | None, str]:
    """Split a leading RFC 3463 status code off *text*.

    Returns ``(status, rest)``; ``status`` is ``None`` when *text* does not
    start with one.  ``"5.1.1 No such user"`` gives ``("5.1.1", "No such user")``.
    """
    m = _ENHANCED_RE.match(text)
    if m is None:
        return None, text
    return m.group(0).rstrip(" "), text[m.end() :]


def _check_lines(
    instance: Reply, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if not value:
        raise LocalProtocolError("a reply needs at least one line (it may be empty)")
    for line in value:
        # A CR or LF inside a line would let the text forge further replies.
        if "\r" in line or "\n" in line or "\x00" in line:
            raise LocalProtocolError(f"reply text may not contain CR, LF or NUL: {line!r}")


def _check_code(instance: Reply, attribute: attrs.Attribute[int], value: int) -> None:
    # RFC 5321 §4.2: first digit 2-5, second 0-5, third 0-9.
    if not (200 <= value <= 559 and (value // 10) % 10 <= 5):
        raise LocalProtocolError(f"invalid SMTP reply code {value}")


def _check_enhanced(
    instance: Reply, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is None:
        return
    if not _ENHANCED_FULL_RE.match(value):
        raise LocalProtocolError(f"invalid enhanced status code {value!r}")


def _to_lines(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split("\n")) if "\n" in value else (value,)
    return tuple(value)


@attrs.frozen(kw_only=True, slots=True, cache_hash=True)
class Reply:
    """One SMTP reply: what a server sends and what a client receives.

    A server application answers a command event by ``conn.send(Reply(...))``;
    a client application receives ``Reply`` events from ``next_event()``.
    """

    #: The three-digit reply code (RFC 5321 §4.2.2), e.g. ``250``.
    code: int = attrs.field(validator=_check_code)
    #: Text of each line, without code, separator, enhanced status or CRLF.
    #: A plain string is split on ``"\n"``.
    lines: tuple[str, ...] = attrs.field(default=("",), converter=_to_lines, validator=_check_lines)
    #: RFC 3463 enhanced status (``"2.0.0"``), or ``None``.  Its class must
    #: match the first digit of :attr:`code` (RFC 2034 §3).
    enhanced_status: str | None = attrs.field(default=None, validator=_check_enhanced)

    def __attrs_post_init__(self) -> None:
        if self.enhanced_status is not None and self.enhanced_status[0] != str(self.code)[0]:
            raise LocalProtocolError(
                f"enhanced status {self.enhanced_status} does not match reply code {self.code}"
            )

    @property
    def is_positive(self) -> bool:
        """True for 2xx and 3xx replies: the command was accepted."""
        return self.code < 400

    @property
    def is_transient(self) -> bool:
        """True for 4xx replies (RFC 5321 §4.2.1: try again later)."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """True for 5xx replies."""
        return self.code >= 500

    @property
    def text(self) -> str:
        """All lines joined with ``"\\n"``."""
        return "\n".join(self.lines)

    def to_bytes(self, *, enhanced: bool = True, utf8: bool = False) -> bytes:
        """Serialise the reply for the wire (memoised: replies are immutable).

        With ``enhanced=False`` the enhanced status is left out (the server did
        not advertise ENHANCEDSTATUSCODES).  Text must be ASCII unless *utf8*
        (RFC 6531 §3.7.4.2 lets a server send UTF-8 to an SMTPUTF8 client);
        other characters are replaced with ``?``.
        """
        return _to_bytes(self, enhanced, utf8)

    def _serialise(self, enhanced: bool, utf8: bool) -> bytes:
        code = str(self.code)
        prefix = f"{self.enhanced_status} " if enhanced and self.enhanced_status else ""
        out = []
        last = len(self.lines) - 1
        for i, line in enumerate(self.lines):
            text = prefix + line
            if i != last:
                out.append(f"{code}-{text}\r\n")
            else:
                # RFC 5321 §4.2: the last line's text is optional ("250" CRLF).
                out.append(f"{code} {text}\r\n" if text else f"{code}\r\n")
        wire = "".join(out)
        if utf8:
            return wire.encode("utf-8")
        return wire.encode("ascii", "replace")

    def with_text(self, *lines: str) -> Reply:
        """A copy with other text (same code and enhanced status)."""
        return attrs.evolve(self, lines=lines)

    def hint(self, *, fatal: bool = False) -> ReplyHint:
        """This reply as a :class:`~mailproto.errors.ReplyHint` for an error."""
        return ReplyHint(
            text=self.text, code=self.code, enhanced_status=self.enhanced_status, fatal=fatal
        )

    @classmethod
    def from_hint(cls, hint: ReplyHint) -> Reply:
        """The reply a :class:`~mailproto.errors.ReplyHint` describes."""
        return cls(code=hint.code or 421, lines=hint.text, enhanced_status=hint.enhanced_status)


@functools.lru_cache(maxsize=1024)
def _to_bytes(reply: Reply, enhanced: bool, utf8: bool) -> bytes:
    # The standard replies are sent over and over: format each once.
    return reply._serialise(enhanced, utf8)


def _r(code: int, status: str | None, text: str) -> Reply:
    return Reply(code=code, lines=(text,), enhanced_status=status)


# --- Positive completion (RFC 5321 §4.2.2, RFC 3463 §3.1) -------------------
#: Generic success (``250 2.0.0 OK``): NOOP, RSET, accepted commands.
OK = _r(250, "2.0.0", "OK")
#: Sender accepted (RFC 3463 X.1.0 "other address status").
SENDER_OK = _r(250, "2.1.0", "Sender OK")
#: Recipient accepted (RFC 3463 X.1.5 "destination address valid").
RECIPIENT_OK = _r(250, "2.1.5", "Recipient OK")
#: Message accepted for delivery (RFC 3463 X.6.0).
MESSAGE_ACCEPTED = _r(250, "2.6.0", "Message accepted")
#: A non-final BDAT chunk was received (RFC 3030 §2).
CHUNK_OK = _r(250, "2.0.0", "Chunk received")
#: Reply to QUIT (RFC 5321 §4.1.1.10).
CLOSING = _r(221, "2.0.0", "Bye")
#: Reply to HELP (RFC 5321 §4.1.1.8).
HELP = _r(214, "2.0.0", "See RFC 5321")
#: VRFY without verification (RFC 5321 §3.5.3: 252 "Cannot VRFY user").
CANNOT_VRFY = _r(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery")
#: Authentication succeeded (RFC 4954 §6).
AUTH_SUCCEEDED = _r(235, "2.7.0", "Authentication successful")

# --- Positive intermediate ---------------------------------------------------
#: Reply to DATA (RFC 5321 §4.1.1.4).
START_MAIL_INPUT = _r(354, None, "End data with <CR><LF>.<CR><LF>")
#: Greeting for STARTTLS (RFC 3207 §4).
READY_FOR_TLS = _r(220, "2.0.0", "Ready to start TLS")

# --- Transient negative ------------------------------------------------------
#: Service closing (RFC 5321 §3.8): too many errors, shutdown.
SERVICE_UNAVAILABLE = _r(421, "4.3.0", "Service not available, closing transmission channel")
#: Too many errors: the connection closes (like Postfix's hard error limit).
TOO_MANY_ERRORS = _r(421, "4.7.0", "Too many errors, closing connection")
#: Too many recipients (RFC 5321 §4.5.3.1.10: 452 and RFC 3463 X.5.3).
TOO_MANY_RECIPIENTS = _r(452, "4.5.3", "Too many recipients")
#: Temporary authentication failure (RFC 4954 §6).
AUTH_TEMPORARY_FAILURE = _r(454, "4.7.0", "Temporary authentication failure")
#: TLS not available (RFC 3207 §4).
TLS_NOT_AVAILABLE = _r(454, "4.7.0", "TLS not available due to temporary reason")

# --- Permanent negative ------------------------------------------------------
#: Unrecognised command (RFC 5321 §4.2.4).
COMMAND_UNRECOGNIZED = _r(500, "5.5.1", "Command unrecognized")
#: A line longer than the limit (RFC 5321 §4.5.3.1.4: "500 Line too long").
LINE_TOO_LONG = _r(500, "5.5.6", "Line too long")
#: Command syntax error (RFC 5321 §4.2.2 code 500, RFC 3463 X.5.2).
SYNTAX_ERROR = _r(500, "5.5.2", "Syntax error")
#: Syntax error in parameters or arguments (501, RFC 3463 X.5.4).
SYNTAX_ERROR_IN_PARAMETERS = _r(501, "5.5.4", "Syntax error in parameters or arguments")
#: Syntax error in an address (501, RFC 3463 X.1.3 "bad destination mailbox
#: address syntax", X.1.7 for the sender).
BAD_RECIPIENT_SYNTAX = _r(501, "5.1.3", "Bad recipient address syntax")
BAD_SENDER_SYNTAX = _r(501, "5.1.7", "Bad sender address syntax")
#: Command not implemented / not advertised (502).
NOT_IMPLEMENTED = _r(502, "5.5.1", "Command not implemented")
#: Bad sequence of commands (503).
BAD_SEQUENCE = _r(503, "5.5.1", "Bad sequence of commands")
#: STARTTLS when TLS is already on (RFC 3207 §4.2: not advertised again).
TLS_ALREADY_ACTIVE = _r(503, "5.5.1", "TLS already active")
#: A command line not ending in CRLF (RFC 5321 §2.3.8).
LINE_NOT_CRLF = _r(500, "5.5.2", "Line must end with CRLF")
#: NUL, bare CR or other control characters in a command line.
CONTROL_CHARACTERS = _r(500, "5.5.2", "Control characters in command")
#: 8-bit octets that are not UTF-8 (RFC 6531 §3.3 requires UTF-8).
INVALID_UTF8 = _r(500, "5.5.2", "Invalid UTF-8")
#: HELO/EHLO first (RFC 5321 §4.1.4).
SEND_HELO_FIRST = _r(503, "5.5.1", "Send HELO/EHLO first")
#: Nested MAIL (RFC 5321 §4.1.4).
NESTED_MAIL = _r(503, "5.5.1", "Sender already specified")
#: RCPT before MAIL.
NEED_MAIL = _r(503, "5.5.1", "Need MAIL command")
#: DATA/BDAT before any recipient (RFC 5321 §3.3; RFC 2920 §3.1: 554 when
#: every pipelined RCPT was rejected).
NO_VALID_RECIPIENTS = _r(554, "5.5.1", "No valid recipients")
#: Already authenticated (RFC 4954 §4: AUTH after successful AUTH is 503).
ALREADY_AUTHENTICATED = _r(503, "5.5.1", "Already authenticated")
#: AUTH during a transaction (RFC 4954 §4).
AUTH_IN_TRANSACTION = _r(503, "5.5.1", "AUTH not permitted during a mail transaction")
#: Parameter not recognised (RFC 5321 §4.1.1.11: 555).
PARAMETER_NOT_RECOGNIZED = _r(
    555, "5.5.4", "MAIL FROM/RCPT TO parameters not recognized or not implemented"
)
#: A parameter repeated.
DUPLICATE_PARAMETER = _r(501, "5.5.4", "Duplicate parameter")
#: Declared or actual size too large (RFC 1870 §6: 552, RFC 3463 X.3.4).
MESSAGE_TOO_BIG = _r(552, "5.3.4", "Message size exceeds fixed maximum message size")
#: Message (or SIZE declaration) too big for now (RFC 1870 §6: 452).
INSUFFICIENT_STORAGE = _r(452, "4.3.1", "Insufficient system storage")
#: Bare CR or LF in message data (RFC 5321 §2.3.8 forbids them; refusing the
#: message is the defence against SMTP smuggling).
BARE_LINE_ENDING = _r(
    550, "5.6.0", "Message contains bare CR or LF characters (RFC 5321 section 2.3.8)"
)
#: NUL octets in message data sent without BINARYMIME.
NUL_IN_DATA = _r(550, "5.6.0", "Message contains NUL characters")
#: 8-bit data on a command line without SMTPUTF8 (RFC 6531 §3.2).
NON_ASCII_COMMAND = _r(500, "5.5.2", "Non-ASCII characters require SMTPUTF8")
#: Non-ASCII address without SMTPUTF8 on MAIL (RFC 6531 §3.7.4.1, RFC 6533 §3).
NON_ASCII_ADDRESS = _r(553, "5.6.7", "Non-ASCII addresses require SMTPUTF8")
#: Authentication required (RFC 4954 §6: 530 5.7.0).
AUTH_REQUIRED = _r(530, "5.7.0", "Authentication required")
#: Must issue STARTTLS first (RFC 3207 §4).
STARTTLS_FIRST = _r(530, "5.7.0", "Must issue a STARTTLS command first")
#: Mechanism too weak / needs encryption (RFC 4954 §6: 538).
ENCRYPTION_REQUIRED = _r(
    538, "5.7.11", "Encryption required for requested authentication mechanism"
)
#: Authentication failed (RFC 4954 §6: 535).
AUTH_FAILED = _r(535, "5.7.8", "Authentication credentials invalid")
#: Client cancelled AUTH with "*" (RFC 4954 §4: 501).
AUTH_CANCELLED = _r(501, "5.7.0", "Authentication cancelled")
#: Unknown SASL mechanism (RFC 4954 §4: 504).
AUTH_MECHANISM_UNKNOWN = _r(504, "5.5.4", "Unrecognized authentication type")
#: Invalid base64 in an AUTH exchange (RFC 4954 §4: 501).
AUTH_BAD_BASE64 = _r(501, "5.5.2", "Cannot decode response")
#: REQUIRETLS on a plaintext connection (RFC 8689 §4.1 uses 530 5.7.10).
REQUIRETLS_NEEDS_TLS = _r(530, "5.7.10", "REQUIRETLS needs a TLS connection")
#: ``BDAT 0`` without ``LAST``: RFC 3030 §2 lets only the last chunk have a
#: chunk-size of zero.  Like any error reply to BDAT it fails the transaction
#: (Postfix answers ``551 5.7.1 Null BDAT request`` and does the same).
EMPTY_CHUNK_NOT_LAST = _r(501, "5.5.4", "Only the last BDAT chunk may be empty (BDAT 0 LAST)")
#: DATA after BODY=BINARYMIME, or DATA mixed with BDAT (RFC 3030 §3).
BINARYMIME_NEEDS_BDAT = _r(503, "5.5.1", "BINARYMIME requires BDAT")
#: No SMTP service here (RFC 5321 §3.1 greeting refusal).
NO_SERVICE = _r(554, "5.3.2", "No SMTP service here")
#: Transaction failed (generic 554).
TRANSACTION_FAILED = _r(554, "5.0.0", "Transaction failed")
