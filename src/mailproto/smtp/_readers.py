"""Turning received lines into events: commands (server side) and replies
(client side).

Theory
------
Framing (finding the lines, streaming DATA and BDAT content) is done by
:mod:`mailproto._buffer`; this module only interprets *one complete line* at a
time, so every function here is a pure function of its input and easy to test
and fuzz in isolation.

Commands (RFC 5321 §4.1.1)::

    ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
    helo = "HELO" SP Domain CRLF
    mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
    rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
                Forward-path ) [SP Rcpt-parameters] CRLF
    data = "DATA" CRLF
    rset = "RSET" CRLF
    vrfy = "VRFY" SP String CRLF
    expn = "EXPN" SP String CRLF
    help = "HELP" [ SP String ] CRLF
    noop = "NOOP" [ SP String ] CRLF
    quit = "QUIT" CRLF
    bdat-cmd   ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF   (RFC 3030)
    auth-command = "AUTH" SP sasl-mech [SP initial-response] CRLF (RFC 4954)
    starttls = "STARTTLS" CRLF                                    (RFC 3207)

Verbs are case-insensitive (RFC 5321 §2.4).  Two leniencies that every
deployed server grants are granted here too and documented: spaces between
``FROM:``/``TO:`` and the path (RFC 5321 §4.1.2 forbids them, but old clients
send them), and doubled spaces between parameters.  Nothing else is relaxed:
a line must end with CRLF, may not contain NUL or a bare CR, and may contain
8-bit octets only as UTF-8 and only when SMTPUTF8 is in force (RFC 6531 §3.2).

A line that cannot be understood raises :class:`CommandError` carrying the
reply (from :mod:`mailproto.smtp.replies`) that the server sends back.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailproto.smtp import replies
from mailproto.smtp._address import parse_path
from mailproto.smtp._events import (
    Auth,
    Bdat,
    Data,
    Ehlo,
    Event,
    Expn,
    Helo,
    Help,
    Lhlo,
    Noop,
    Quit,
    Rset,
    StartTLS,
    Vrfy,
    new_mail_from,
    new_rcpt_to,
)
from mailproto.smtp._state import Verb
from mailproto.smtp.extensions import (
    Extensions,
    MailParameters,
    ParameterError,
    RcptParameters,
    parse_mail_parameters,
    parse_rcpt_parameters,
    split_parameters,
)
from mailproto.smtp.replies import Reply

__all__ = ["CommandError", "ReplyParser", "make_reply", "parse_command"]


class CommandError(Exception):
    """A command line the server answers with an error reply by itself."""

    def __init__(self, reply: Reply, verb: Verb | None = None) -> None:
        super().__init__(reply.text)
        #: What to answer.
        self.reply = reply
        #: The verb, when it was recognised (for sequencing decisions).
        self.verb = verb


_VERBS: dict[bytes, Verb] = {
    b"HELO": Verb.HELO,
    b"EHLO": Verb.EHLO,
    b"LHLO": Verb.LHLO,
    b"MAIL": Verb.MAIL,
    b"RCPT": Verb.RCPT,
    b"DATA": Verb.DATA,
    b"BDAT": Verb.BDAT,
    b"RSET": Verb.RSET,
    b"VRFY": Verb.VRFY,
    b"EXPN": Verb.EXPN,
    b"HELP": Verb.HELP,
    b"NOOP": Verb.NOOP,
    b"QUIT": Verb.QUIT,
    b"STARTTLS": Verb.STARTTLS,
    b"AUTH": Verb.AUTH,
}

# Anything that may never appear inside a command line: NUL, a CR that is not
# the terminator's, other C0 controls except HTAB (RFC 5321 §4.1.2 allows
# only printable characters and SP in arguments).
_FORBIDDEN_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BDAT_RE = re.compile(r"([0-9]{1,20})(?: +(LAST))? *\Z", re.IGNORECASE)
# sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
# (RFC 4422 §3.1), matched case-insensitively since clients vary.
_MECH_RE = re.compile(r"[A-Za-z0-9_-]{1,20}\Z")


def _syntax(reply: Reply, verb: Verb | None = None) -> CommandError:
    return CommandError(reply, verb)


def parse_command(
    line: bytes,
    extensions: Extensions,
    utf8: bool,
    extra_mail: frozenset[str] = frozenset(),
    extra_rcpt: frozenset[str] = frozenset(),
) -> tuple[Verb, Event]:
    """Parse one command line (with its CRLF) into ``(verb, event)``.

    *extensions* is what the server advertised (parameters of other
    extensions are refused with 555); *utf8* allows UTF-8 on the line
    (SMTPUTF8 advertised).  Raises :class:`CommandError`.
    """
    if not line.endswith(b"\r\n"):
        raise _syntax(replies.LINE_NOT_CRLF)
    body = line[:-2]
    if _FORBIDDEN_RE.search(body):
        raise _syntax(replies.CONTROL_CHARACTERS)
    word, sp, rest_b = body.partition(b" ")
    # (Verbs are case-insensitive, RFC 5321 §2.4; clients send upper case.)
    verb = _VERBS.get(word) or _VERBS.get(word.upper())
    if verb is None:
        raise _syntax(replies.COMMAND_UNRECOGNIZED)
    if rest_b.isascii():
        rest = rest_b.decode("ascii")
    else:
        if not utf8:
            raise _syntax(replies.NON_ASCII_COMMAND, verb)
        try:
            rest = rest_b.decode("utf-8")
        except UnicodeDecodeError:
            raise _syntax(replies.INVALID_UTF8, verb) from None
    try:
        return verb, _PARSERS[verb](rest, sp == b" ", extensions, extra_mail, extra_rcpt)
    except ParameterError as exc:
        raise _syntax(exc.reply, verb) from None
    except ValueError:
        raise _syntax(_SYNTAX_REPLIES[verb], verb) from None


_Parser = Callable[[str, bool, Extensions, frozenset[str], frozenset[str]], Event]


def _hello(cls: type[Helo] | type[Ehlo] | type[Lhlo]) -> _Parser:
    def parse(
        rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]
    ) -> Event:
        domain = rest.strip(" ")
        if not domain or " " in domain:
            raise ValueError("one domain expected")
        return cls(domain=domain)

    return parse


_NO_MAIL_PARAMETERS = MailParameters()
_NO_RCPT_PARAMETERS = RcptParameters()


def _mail(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    if rest[:5].upper() != "FROM:":
        raise ValueError("FROM: expected")
    sender, tail = parse_path(rest[5:].lstrip(" "), null_ok=True)
    if tail and tail[0] != " ":
        raise ValueError("space expected after path")
    if not tail.strip(" "):
        # The common shape, no parameters: one shared (frozen) empty value.
        return new_mail_from(sender, _NO_MAIL_PARAMETERS)
    params = parse_mail_parameters(split_parameters(tail), ext, xm)
    return new_mail_from(sender, params)


def _rcpt(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    if rest[:3].upper() != "TO:":
        raise ValueError("TO: expected")
    recipient, tail = parse_path(rest[3:].lstrip(" "), postmaster_ok=True)
    if tail and tail[0] != " ":
        raise ValueError("space expected after path")
    assert recipient is not None
    if not tail.strip(" "):
        return new_rcpt_to(recipient, _NO_RCPT_PARAMETERS)
    params = parse_rcpt_parameters(split_parameters(tail), ext, xr)
    return new_rcpt_to(recipient, params)


def _no_args(cls: type[Data] | type[Rset] | type[Quit] | type[StartTLS]) -> _Parser:
    # These events have no fields and are frozen: one shared instance each.
    event = cls()

    def parse(
        rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]
    ) -> Event:
        if rest.strip(" "):
            raise ValueError("no arguments allowed")
        return event

    return parse


def _vrfy(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    if not rest.strip(" "):
        raise ValueError("argument required")
    return Vrfy(argument=rest.strip(" "))


def _expn(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    if not rest.strip(" "):
        raise ValueError("argument required")
    return Expn(argument=rest.strip(" "))


def _help(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    return Help(topic=rest.strip(" ") or None)


def _noop(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    return Noop(argument=rest.strip(" ") or None)


def _bdat(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    m = _BDAT_RE.match(rest)
    if m is None:
        raise ValueError("BDAT size [LAST]")
    return Bdat(size=int(m.group(1)), last=m.group(2) is not None)


def _auth(rest: str, sp: bool, ext: Extensions, xm: frozenset[str], xr: frozenset[str]) -> Event:
    parts = rest.split(" ")
    if not 1 <= len(parts) <= 2 or not _MECH_RE.match(parts[0]):
        raise ValueError("AUTH mechanism [initial-response]")
    # The initial response stays base64 here (decoded by the connection, which
    # knows how to answer a decoding error, RFC 4954 §4: 501).
    ir = parts[1].encode("ascii", "replace") if len(parts) == 2 else None
    return Auth(mechanism=parts[0].upper(), initial_response=ir)


_PARSERS: dict[Verb, _Parser] = {
    Verb.HELO: _hello(Helo),
    Verb.EHLO: _hello(Ehlo),
    Verb.LHLO: _hello(Lhlo),
    Verb.MAIL: _mail,
    Verb.RCPT: _rcpt,
    Verb.DATA: _no_args(Data),
    Verb.RSET: _no_args(Rset),
    Verb.QUIT: _no_args(Quit),
    Verb.STARTTLS: _no_args(StartTLS),
    Verb.VRFY: _vrfy,
    Verb.EXPN: _expn,
    Verb.HELP: _help,
    Verb.NOOP: _noop,
    Verb.BDAT: _bdat,
    Verb.AUTH: _auth,
}

_SYNTAX_REPLIES: dict[Verb, Reply] = {
    Verb.HELO: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: HELO hostname"),
    Verb.EHLO: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: EHLO hostname"),
    Verb.LHLO: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: LHLO hostname"),
    Verb.MAIL: replies.BAD_SENDER_SYNTAX.with_text("Syntax: MAIL FROM:<address> [parameters]"),
    Verb.RCPT: replies.BAD_RECIPIENT_SYNTAX.with_text("Syntax: RCPT TO:<address> [parameters]"),
    Verb.DATA: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: DATA"),
    Verb.RSET: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: RSET"),
    Verb.QUIT: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: QUIT"),
    Verb.STARTTLS: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: STARTTLS"),
    Verb.VRFY: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: VRFY address"),
    Verb.EXPN: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: EXPN list"),
    Verb.HELP: replies.SYNTAX_ERROR_IN_PARAMETERS,
    Verb.NOOP: replies.SYNTAX_ERROR_IN_PARAMETERS,
    Verb.BDAT: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text("Syntax: BDAT size [LAST]"),
    Verb.AUTH: replies.SYNTAX_ERROR_IN_PARAMETERS.with_text(
        "Syntax: AUTH mechanism [initial-response]"
    ),
}


# --- Replies (client side) --------------------------------------------------------

# Reply-line (RFC 5321 §4.2): code, then "-" (more lines follow), " " (last
# line) or nothing (last line, no text).
_REPLY_LINE_RE = re.compile(rb"([2-5][0-5][0-9])(?:([- ])(.*))?\Z", re.DOTALL)


class ReplyParser:
    """Collects reply lines into :class:`Reply` values.

    :meth:`feed` takes one line (with its CRLF) and returns the reply when the
    line was its last, else ``None``.  Bad lines raise ``ValueError`` with a
    message for the :class:`~mailproto.errors.RemoteProtocolError` the client
    raises.
    """

    __slots__ = ("_code", "_lines", "max_lines")

    def __init__(self, *, max_lines: int) -> None:
        #: Most lines in one reply (:attr:`SMTPLimits.reply_lines`).
        self.max_lines = max_lines
        self._code: bytes | None = None
        self._lines: list[str] = []

    @property
    def in_progress(self) -> bool:
        """True while a multi-line reply is half received."""
        return self._code is not None

    def feed(self, line: bytes) -> Reply | None:
        """Take one reply line; return the complete reply after its last line."""
        if not line.endswith(b"\r\n"):
            raise ValueError("reply line does not end with CRLF")
        m = _REPLY_LINE_RE.match(line, 0, len(line) - 2)
        if m is None or b"\r" in line[:-2] or b"\x00" in line:
            raise ValueError(f"malformed reply line {line[:80]!r}")
        code, sep, text = m.group(1), m.group(2), m.group(3) or b""
        if self._code is not None and code != self._code:
            raise ValueError("reply code changed inside a multi-line reply")
        self._code = code
        if len(self._lines) >= self.max_lines:
            raise ValueError(f"reply has more than {self.max_lines} lines")
        # RFC 6531 §3.7.4.2 lets servers send UTF-8; anything else is shown
        # with replacement characters rather than refused.
        self._lines.append(text.decode("utf-8", "replace"))
        if sep == b"-":
            return None
        lines = self._lines
        self._code = None
        self._lines = []
        return make_reply(int(code), lines)


def make_reply(code: int, lines: list[str]) -> Reply:
    """Build a :class:`Reply` from received text lines, splitting off an
    RFC 2034 enhanced status code when every line carries the same one."""
    status, first = replies.parse_enhanced_status(lines[0])
    if status is not None and status[0] == str(code)[0]:
        out = [first]
        for line in lines[1:]:
            s, rest = replies.parse_enhanced_status(line)
            out.append(rest if s == status else line)
        return Reply(code=code, lines=tuple(out), enhanced_status=status)
    return Reply(code=code, lines=tuple(lines))
