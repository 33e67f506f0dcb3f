"""ESMTP extensions: the EHLO capability set and typed MAIL/RCPT parameters.

Theory
------
ESMTP (RFC 5321 §2.2) lets a server list *extensions* in its EHLO reply, one
keyword per line with optional parameters (RFC 5321 §4.1.1.1)::

    ehlo-ok-rsp    = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
                   / ( "250-" Domain [ SP ehlo-greet ] CRLF
                    *( "250-" ehlo-line CRLF )
                    "250" SP ehlo-line CRLF )
    ehlo-line      = ehlo-keyword *( SP ehlo-param )
    ehlo-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    ehlo-param     = 1*(%d33-126)

and the client then uses them: new commands (STARTTLS, AUTH, BDAT) and new
parameters after ``MAIL FROM:<...>`` and ``RCPT TO:<...>`` (RFC 5321 §4.1.2)::

    Mail-parameters  = esmtp-param *(SP esmtp-param)
    esmtp-param    = esmtp-keyword ["=" esmtp-value]
    esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp-value    = 1*(%d33-60 / %d62-126)

This module holds:

* :class:`Extensions` — the capability set a server advertises and a client
  learns, with typed accessors (``ext.size``, ``ext.auth_mechanisms``);
* the typed parameter values: :class:`Body` (RFC 6152, RFC 3030),
  :class:`Ret`, ``ENVID``, :class:`NotifyCondition`, :class:`ORcpt`
  (RFC 3461, whose values are *xtext*, §4; RFC 6533's utf-8 form),
  :class:`MailAuth` (RFC 4954 §5), ``SMTPUTF8`` (RFC 6531), ``REQUIRETLS``
  (RFC 8689), :class:`DeliverBy` (RFC 2852), ``MT-PRIORITY`` (RFC 6710);
* :class:`MailParameters` / :class:`RcptParameters`, built by the parser and
  by applications, serialised back by the writer;
* :class:`ServerConfig`, which says what a server advertises and enforces.

Parameters are only valid when the extension that defines them was
advertised: the server answers others with ``555`` (RFC 5321 §4.1.1.11) and
the client refuses to send them (``LocalProtocolError``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

import attrs

from mailproto.errors import LocalProtocolError
from mailproto.smtp import replies
from mailproto.smtp.replies import Reply

__all__ = [
    "BareLineEndings",
    "Body",
    "ByMode",
    "DeliverBy",
    "Extensions",
    "MailAuth",
    "MailParameters",
    "NotifyCondition",
    "ORcpt",
    "ParameterError",
    "RcptParameters",
    "Ret",
    "ServerConfig",
    "utf8_addr_decode",
    "utf8_addr_encode",
    "xtext_decode",
    "xtext_encode",
]


class ParameterError(ValueError):
    """A MAIL/RCPT parameter is invalid; :attr:`reply` is what to answer."""

    def __init__(self, message: str, reply: Reply) -> None:
        super().__init__(message)
        #: The reply a server sends for it.
        self.reply = reply


# --- xtext (RFC 3461 §4) -------------------------------------------------------
#
#   xtext = *( xchar / hexchar )
#   xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
#           except for "+" and "=".
#   hexchar = ASCII "+" immediately followed by two upper case
#             hexadecimal digits
_XTEXT_RE = re.compile(r"(?:[!-*,-<>-~]|\+[0-9A-F]{2})*\Z")
_HEXCHAR_RE = re.compile(r"\+([0-9A-F]{2})")
_XTEXT_UNSAFE_RE = re.compile(rb"[^!-*,-<>-~]")


def xtext_decode(value: str) -> str:
    """Decode RFC 3461 xtext; raise ``ValueError`` if *value* is not xtext.

    The decoded octets are read as UTF-8 (RFC 6533 lets SMTPUTF8 sessions
    carry UTF-8 here).
    """
    if not _XTEXT_RE.match(value):
        raise ValueError(f"invalid xtext: {value!r}")
    if "+" not in value:
        return value
    raw = _HEXCHAR_RE.sub(lambda m: chr(int(m.group(1), 16)), value).encode("latin-1")
    return raw.decode("utf-8")


def xtext_encode(value: str) -> str:
    """Encode *value* as RFC 3461 xtext (``+`` and ``=`` and non-graphic octets
    become ``+XX``)."""
    raw = value.encode("utf-8")
    return _XTEXT_UNSAFE_RE.sub(lambda m: b"+%02X" % m.group(0)[0], raw).decode("ascii")


# --- Parameter value types -----------------------------------------------------


class Body(enum.Enum):
    """``BODY=`` on MAIL: the body's content transfer type."""

    #: 7-bit text, the RFC 5321 default.
    SEVEN_BIT = "7BIT"
    #: 8-bit text lines (RFC 6152); requires 8BITMIME.
    EIGHT_BIT_MIME = "8BITMIME"
    #: Arbitrary octets, no line structure (RFC 3030 §3); requires BINARYMIME
    #: and must be sent with BDAT.
    BINARY_MIME = "BINARYMIME"


class ByMode(enum.Enum):
    """What to do when a DELIVERBY deadline passes (RFC 2852 §4)."""

    #: Notify: send a DSN, keep trying.
    NOTIFY = "N"
    #: Return: give up and bounce.
    RETURN = "R"


@attrs.frozen(kw_only=True, slots=True)
class DeliverBy:
    """``BY=`` on MAIL (RFC 2852 §4): deliver within :attr:`seconds`.

    ::

        by-value = by-time ";" by-mode [ by-trace ]
        by-time  = ["-" / "+"] 1*9digit
        by-mode  = "N" / "R"
        by-trace = "T"
    """

    #: Seconds from now (may be zero or negative with NOTIFY, RFC 2852 §4).
    seconds: int
    #: What happens when the time passes.
    mode: ByMode
    #: ``T``: request trace DSNs along the way.
    trace: bool = False

    def __attrs_post_init__(self) -> None:
        if abs(self.seconds) > 999_999_999:
            raise LocalProtocolError("BY time has at most 9 digits")
        if self.mode is ByMode.RETURN and self.seconds <= 0:
            # RFC 2852 §4: with R the time must be positive.
            raise LocalProtocolError("BY with mode R needs a positive time")

    def to_value(self) -> str:
        """The parameter value, e.g. ``120;R`` or ``-5;NT``."""
        return f"{self.seconds};{self.mode.value}{'T' if self.trace else ''}"


_BY_RE = re.compile(r"([+-]?[0-9]{1,9});([NRnr])([Tt]?)\Z")


class Ret(enum.Enum):
    """``RET=`` on MAIL (RFC 3461 §4.3): what a DSN should return."""

    #: The whole message.
    FULL = "FULL"
    #: Only the headers.
    HDRS = "HDRS"


class NotifyCondition(enum.Enum):
    """One condition of ``NOTIFY=`` on RCPT (RFC 3461 §4.1).

    ``NOTIFY=NEVER`` is the empty set of conditions.
    """

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    DELAY = "DELAY"


@attrs.frozen(kw_only=True, slots=True)
class ORcpt:
    """``ORCPT=`` on RCPT (RFC 3461 §4.2): the original recipient.

    With the ``utf-8`` address type (RFC 6533 §3) the address is carried as
    *utf-8-addr-unitext*/*xtext*: ``\\x{HEX}`` escapes instead of ``+XX``.
    """

    #: The address type, e.g. ``"rfc822"`` or ``"utf-8"`` (an IANA "addr-type").
    addr_type: str
    #: The original address, decoded.
    address: str

    def to_value(self, *, utf8: bool = False) -> str:
        """The parameter value (``rfc822;user+40example.org`` style).

        For the ``utf-8`` type, non-ASCII characters stay raw when *utf8*
        (SMTPUTF8 in force: utf-8-addr-unitext) and are escaped otherwise
        (utf-8-addr-xtext).
        """
        if self.addr_type.lower() == "utf-8":
            return f"{self.addr_type};{utf8_addr_encode(self.address, unitext=utf8)}"
        return f"{self.addr_type};{xtext_encode(self.address)}"


# RFC 6533 §3:
#   utf-8-addr-xtext   = 1*(QCHAR / EmbeddedUnicodeChar)
#   utf-8-addr-unitext = 1*(QUCHAR / EmbeddedUnicodeChar)
#   QCHAR     = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e   ; no "+", "=", "\"
#   QUCHAR    = QCHAR / UTF8-2 / UTF8-3 / UTF8-4
#   EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}"      ; \x{HEX}
_UTF8_ADDR_RE = re.compile(r"(?:[!-*,-<>-\[\]-~\u0080-\U0010ffff]|\\x\{[0-9A-Fa-f]{2,6}\})+\Z")
_EMBEDDED_RE = re.compile(r"\\x\{([0-9A-Fa-f]{2,6})\}")
_UTF8_UNSAFE_RE = re.compile(r"[^!-*,-<>-\[\]-~\u0080-\U0010ffff]")
_UTF8_UNSAFE_ASCII_RE = re.compile(r"[^!-*,-<>-\[\]-~]")


def utf8_addr_decode(value: str) -> str:
    """Decode RFC 6533 utf-8-addr-xtext/unitext; raise ``ValueError``."""
    if not _UTF8_ADDR_RE.match(value):
        raise ValueError(f"invalid utf-8-addr-xtext: {value!r}")

    def point(m: re.Match[str]) -> str:
        cp = int(m.group(1), 16)
        if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            raise ValueError("invalid code point")
        return chr(cp)

    return _EMBEDDED_RE.sub(point, value)


def utf8_addr_encode(value: str, *, unitext: bool) -> str:
    """Encode *value* as RFC 6533 utf-8-addr-unitext (or -xtext)."""
    unsafe = _UTF8_UNSAFE_RE if unitext else _UTF8_UNSAFE_ASCII_RE
    # HEXPOINT has at least two hex digits (RFC 6533 §3).
    return unsafe.sub(lambda m: f"\\x{{{ord(m.group(0)):02X}}}", value)


@attrs.frozen(kw_only=True, slots=True)
class MailAuth:
    """``AUTH=`` on MAIL (RFC 4954 §5): who submitted the message.

    ``AUTH=<>`` (identity unknown or not to be trusted) has ``mailbox=None``.
    """

    #: The authenticated submitter's mailbox, xtext-decoded, or ``None``.
    mailbox: str | None

    def __attrs_post_init__(self) -> None:
        if self.mailbox == "":
            raise LocalProtocolError("AUTH= needs a mailbox or <> (None)")

    def to_value(self) -> str:
        """The parameter value."""
        return "<>" if self.mailbox is None else xtext_encode(self.mailbox)


def _params_tuple(value: Iterable[tuple[str, str | None]]) -> tuple[tuple[str, str | None], ...]:
    return tuple(value)


@attrs.frozen(kw_only=True, slots=True)
class MailParameters:
    """The ESMTP parameters of one ``MAIL FROM`` command, typed.

    Every field is ``None``/``False`` when the parameter was absent.
    """

    #: ``SIZE=`` — the declared message size in octets (RFC 1870 §3).
    size: int | None = None
    #: ``BODY=`` — 7BIT, 8BITMIME (RFC 6152) or BINARYMIME (RFC 3030).
    body: Body | None = None
    #: ``SMTPUTF8`` — the transaction may use UTF-8 addresses and headers
    #: (RFC 6531 §3.4).
    smtputf8: bool = False
    #: ``RET=`` — FULL or HDRS (RFC 3461 §4.3).
    ret: Ret | None = None
    #: ``ENVID=`` — the envelope identifier, xtext-decoded (RFC 3461 §4.4).
    envid: str | None = None
    #: ``AUTH=`` — the submitter (RFC 4954 §5).
    auth: MailAuth | None = None
    #: ``REQUIRETLS`` — the message must only travel over TLS (RFC 8689 §4).
    requiretls: bool = False
    #: ``BY=`` — deliver-by deadline (RFC 2852).
    by: DeliverBy | None = None
    #: ``MT-PRIORITY=`` — message transfer priority, -9 to 9 (RFC 6710 §3).
    mt_priority: int | None = None
    #: Other parameters as ``(KEYWORD, value-or-None)``, keyword upper-cased.
    #: A server only delivers those it was configured to accept
    #: (:attr:`ServerConfig.extra_mail_parameters`); everything else gets 555.
    extra: tuple[tuple[str, str | None], ...] = attrs.field(default=(), converter=_params_tuple)

    def __attrs_post_init__(self) -> None:
        if self.size is not None and self.size < 0:
            raise LocalProtocolError("SIZE must not be negative")
        if self.mt_priority is not None and not -9 <= self.mt_priority <= 9:
            raise LocalProtocolError("MT-PRIORITY is -9 to 9 (RFC 6710 §3)")
        if self.envid is not None and not 0 < len(xtext_encode(self.envid)) <= 100:
            # RFC 3461 §4.4: 1 to 100 characters of xtext.
            raise LocalProtocolError("ENVID must be 1 to 100 characters as xtext")

    def to_wire(self) -> list[str]:
        """The parameters as ``KEYWORD[=value]`` strings, in a stable order."""
        out: list[str] = []
        if self.size is not None:
            out.append(f"SIZE={self.size}")
        if self.body is not None:
            out.append(f"BODY={self.body.value}")
        if self.smtputf8:
            out.append("SMTPUTF8")
        if self.ret is not None:
            out.append(f"RET={self.ret.value}")
        if self.envid is not None:
            out.append(f"ENVID={xtext_encode(self.envid)}")
        if self.auth is not None:
            out.append(f"AUTH={self.auth.to_value()}")
        if self.requiretls:
            out.append("REQUIRETLS")
        if self.by is not None:
            out.append(f"BY={self.by.to_value()}")
        if self.mt_priority is not None:
            out.append(f"MT-PRIORITY={self.mt_priority}")
        out.extend(k if v is None else f"{k}={v}" for k, v in self.extra)
        return out


@attrs.frozen(kw_only=True, slots=True)
class RcptParameters:
    """The ESMTP parameters of one ``RCPT TO`` command, typed."""

    #: ``NOTIFY=`` (RFC 3461 §4.1): the conditions; the empty set is
    #: ``NOTIFY=NEVER``; ``None`` when absent.
    notify: frozenset[NotifyCondition] | None = None
    #: ``ORCPT=`` (RFC 3461 §4.2).
    orcpt: ORcpt | None = None
    #: Other parameters, as in :attr:`MailParameters.extra`.
    extra: tuple[tuple[str, str | None], ...] = attrs.field(default=(), converter=_params_tuple)

    def to_wire(self, *, utf8: bool = False) -> list[str]:
        """The parameters as ``KEYWORD[=value]`` strings (*utf8*: SMTPUTF8 in
        force, for RFC 6533 ORCPT values)."""
        out: list[str] = []
        if self.notify is not None:
            if not self.notify:
                out.append("NOTIFY=NEVER")
            else:
                order = [c for c in NotifyCondition if c in self.notify]
                out.append("NOTIFY=" + ",".join(c.value for c in order))
        if self.orcpt is not None:
            out.append(f"ORCPT={self.orcpt.to_value(utf8=utf8)}")
        out.extend(k if v is None else f"{k}={v}" for k, v in self.extra)
        return out


# --- Parameter parsing (server side) ---------------------------------------------

_KEYWORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
# esmtp-value = 1*(%d33-60 / %d62-126), plus UTF8-non-ascii (RFC 6531 §3.3).
_VALUE_RE = re.compile(r"[!-<>-~\u0080-\U0010ffff]+\Z")
_ADDR_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")


def split_parameters(text: str) -> list[tuple[str, str | None]]:
    """Split ``KEY=value KEY2`` into ``[("KEY", "value"), ("KEY2", None)]``.

    Keywords are upper-cased (they are case-insensitive, RFC 5321 §2.4).
    Raises :class:`ParameterError` on bad syntax or a repeated keyword.
    """
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for item in text.split(" "):
        if not item:
            continue  # tolerate doubled spaces, as Postfix does
        key, eq, value = item.partition("=")
        if not _KEYWORD_RE.match(key) or (eq and not _VALUE_RE.match(value)):
            raise ParameterError(f"bad parameter {item!r}", replies.SYNTAX_ERROR_IN_PARAMETERS)
        key = key.upper()
        if key in seen:
            raise ParameterError(f"duplicate parameter {key}", replies.DUPLICATE_PARAMETER)
        seen.add(key)
        out.append((key, value if eq else None))
    return out


def _bad(key: str) -> ParameterError:
    return ParameterError(f"bad value for {key}", replies.SYNTAX_ERROR_IN_PARAMETERS)


def _no_value(key: str, value: str | None) -> None:
    if value is not None:
        raise _bad(key)


def _need_value(key: str, value: str | None) -> str:
    if value is None:
        raise _bad(key)
    return value


def parse_mail_parameters(
    params: list[tuple[str, str | None]], advertised: Extensions, extra_ok: frozenset[str]
) -> MailParameters:
    """Type the parameters of MAIL; raise :class:`ParameterError`.

    Only parameters of *advertised* extensions are accepted (others: 555).
    """
    fields: dict[str, object] = {}
    extra: list[tuple[str, str | None]] = []
    for key, value in params:
        if key == "SIZE" and "SIZE" in advertised:
            # RFC 1870 §3: size-value ::= 1*20DIGIT
            v = _need_value(key, value)
            if not (v.isascii() and v.isdigit()) or len(v) > 20:
                raise _bad(key)
            fields["size"] = int(v)
        elif key == "BODY" and ("8BITMIME" in advertised or "BINARYMIME" in advertised):
            v = _need_value(key, value).upper()
            try:
                body = Body(v)
            except ValueError:
                raise _bad(key) from None
            if (body is Body.EIGHT_BIT_MIME and "8BITMIME" not in advertised) or (
                body is Body.BINARY_MIME and "BINARYMIME" not in advertised
            ):
                raise ParameterError("BODY type not advertised", replies.PARAMETER_NOT_RECOGNIZED)
            fields["body"] = body
        elif key == "SMTPUTF8" and "SMTPUTF8" in advertised:
            _no_value(key, value)
            fields["smtputf8"] = True
        elif key == "RET" and "DSN" in advertised:
            try:
                fields["ret"] = Ret(_need_value(key, value).upper())
            except ValueError:
                raise _bad(key) from None
        elif key == "ENVID" and "DSN" in advertised:
            v = _need_value(key, value)
            try:
                envid = xtext_decode(v)
            except ValueError:
                raise _bad(key) from None
            if len(v) > 100:  # RFC 3461 §4.4: at most 100 characters
                raise _bad(key)
            fields["envid"] = envid
        elif key == "AUTH" and "AUTH" in advertised:
            v = _need_value(key, value)
            if v == "<>":
                fields["auth"] = MailAuth(mailbox=None)
            else:
                try:
                    fields["auth"] = MailAuth(mailbox=xtext_decode(v))
                except ValueError:
                    raise _bad(key) from None
        elif key == "BY" and "DELIVERBY" in advertised:
            m = _BY_RE.match(_need_value(key, value))
            if m is None:
                raise _bad(key)
            try:
                fields["by"] = DeliverBy(
                    seconds=int(m.group(1)),
                    mode=ByMode(m.group(2).upper()),
                    trace=bool(m.group(3)),
                )
            except LocalProtocolError:
                raise _bad(key) from None
        elif key == "MT-PRIORITY" and "MT-PRIORITY" in advertised:
            # RFC 6710 §3: priority-value = %x2D %x39 / ... / %x39 ("-9".."9")
            v = _need_value(key, value)
            if not re.fullmatch(r"[+-]?[0-9]", v):
                raise _bad(key)
            fields["mt_priority"] = int(v)
        elif key == "REQUIRETLS" and "REQUIRETLS" in advertised:
            _no_value(key, value)
            fields["requiretls"] = True
        elif key in extra_ok:
            extra.append((key, value))
        else:
            raise ParameterError(
                f"parameter {key} not recognized", replies.PARAMETER_NOT_RECOGNIZED
            )
    return MailParameters(extra=extra, **fields)  # type: ignore[arg-type]


def parse_rcpt_parameters(
    params: list[tuple[str, str | None]], advertised: Extensions, extra_ok: frozenset[str]
) -> RcptParameters:
    """Type the parameters of RCPT; raise :class:`ParameterError`."""
    notify: frozenset[NotifyCondition] | None = None
    orcpt: ORcpt | None = None
    extra: list[tuple[str, str | None]] = []
    for key, value in params:
        if key == "NOTIFY" and "DSN" in advertised:
            # RFC 3461 §4.1: "NEVER" alone, or a comma list of the others.
            items = _need_value(key, value).upper().split(",")
            if items == ["NEVER"]:
                notify = frozenset()
            else:
                try:
                    conds = [NotifyCondition(i) for i in items]
                except ValueError:
                    raise _bad(key) from None
                if len(set(conds)) != len(conds):
                    raise _bad(key)
                notify = frozenset(conds)
        elif key == "ORCPT" and "DSN" in advertised:
            addr_type, semi, addr = _need_value(key, value).partition(";")
            if not semi or not _ADDR_TYPE_RE.match(addr_type):
                raise _bad(key)
            try:
                if addr_type.lower() == "utf-8":
                    address = utf8_addr_decode(addr)  # RFC 6533 §3
                else:
                    address = xtext_decode(addr)
            except ValueError:
                raise _bad(key) from None
            orcpt = ORcpt(addr_type=addr_type, address=address)
        elif key in extra_ok:
            extra.append((key, value))
        else:
            raise ParameterError(
                f"parameter {key} not recognized", replies.PARAMETER_NOT_RECOGNIZED
            )
    return RcptParameters(notify=notify, orcpt=orcpt, extra=extra)


# --- The capability set --------------------------------------------------------

_EHLO_KEYWORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_EHLO_PARAM_RE = re.compile(r"[!-~\u0080-\U0010ffff]+\Z")


def _freeze_keywords(value: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for key, params in value.items():
        if not _EHLO_KEYWORD_RE.match(key):
            raise LocalProtocolError(f"invalid EHLO keyword {key!r}")
        params = tuple(params)
        for p in params:
            if not _EHLO_PARAM_RE.match(p):
                raise LocalProtocolError(f"invalid EHLO parameter {p!r}")
        out[key.upper()] = params
    return out


@attrs.frozen(kw_only=True, slots=True)
class Extensions:
    """The ESMTP extensions one EHLO (or LHLO) reply advertises.

    ``"PIPELINING" in ext`` tests for a keyword (case-insensitive); the
    properties type the common ones.
    """

    #: Keyword (upper case) → its parameters, in the order advertised.
    keywords: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_freeze_keywords)

    def __contains__(self, keyword: object) -> bool:
        return isinstance(keyword, str) and keyword.upper() in self.keywords

    def params(self, keyword: str) -> tuple[str, ...]:
        """Parameters of *keyword* (empty if absent or parameterless)."""
        return self.keywords.get(keyword.upper(), ())

    @property
    def pipelining(self) -> bool:
        """PIPELINING (RFC 2920)."""
        return "PIPELINING" in self.keywords

    @property
    def size(self) -> int | None:
        """The SIZE limit in octets (RFC 1870 §4); ``None`` when SIZE is not
        advertised or advertised without a limit (``SIZE`` or ``SIZE 0``)."""
        params = self.keywords.get("SIZE")
        if not params or not params[0].isdigit() or not params[0].isascii():
            return None
        return int(params[0]) or None

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """SASL mechanisms after AUTH (RFC 4954 §3), upper-cased."""
        return tuple(m.upper() for m in self.keywords.get("AUTH", ()))

    @property
    def starttls(self) -> bool:
        """STARTTLS (RFC 3207)."""
        return "STARTTLS" in self.keywords

    @property
    def smtputf8(self) -> bool:
        """SMTPUTF8 (RFC 6531)."""
        return "SMTPUTF8" in self.keywords

    @property
    def eightbitmime(self) -> bool:
        """8BITMIME (RFC 6152)."""
        return "8BITMIME" in self.keywords

    @property
    def chunking(self) -> bool:
        """CHUNKING (RFC 3030): BDAT."""
        return "CHUNKING" in self.keywords

    @property
    def binarymime(self) -> bool:
        """BINARYMIME (RFC 3030)."""
        return "BINARYMIME" in self.keywords

    @property
    def dsn(self) -> bool:
        """DSN (RFC 3461)."""
        return "DSN" in self.keywords

    @property
    def enhanced_status_codes(self) -> bool:
        """ENHANCEDSTATUSCODES (RFC 2034)."""
        return "ENHANCEDSTATUSCODES" in self.keywords

    @property
    def requiretls(self) -> bool:
        """REQUIRETLS (RFC 8689)."""
        return "REQUIRETLS" in self.keywords

    def to_lines(self) -> list[str]:
        """The ``ehlo-line`` texts, one per keyword."""
        return [" ".join((k, *p)) for k, p in self.keywords.items()]

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Extensions:
        """Parse ``ehlo-line`` texts (the reply lines after the first).

        Lines that are not valid ``ehlo-line`` are ignored, as RFC 5321
        §4.1.1.1 expects clients to be liberal with extensions they do not
        know.  Some servers send ``AUTH=LOGIN PLAIN`` (a pre-RFC 4954 form);
        it is read as AUTH.
        """
        out: dict[str, tuple[str, ...]] = {}
        for line in lines:
            parts = line.split()
            if not parts:
                continue
            key = parts[0]
            if key[:5].upper() == "AUTH=":
                key, parts = "AUTH", ["AUTH", key[5:], *parts[1:]]
            if not _EHLO_KEYWORD_RE.match(key):
                continue
            params = tuple(p for p in parts[1:] if _EHLO_PARAM_RE.match(p))
            key = key.upper()
            if key == "AUTH" and key in out:
                # Merge a legacy AUTH= line with the standard one.
                params = out[key] + tuple(p for p in params if p not in out[key])
            out[key] = params
        return cls(keywords=out)


# --- Server configuration --------------------------------------------------------


class BareLineEndings(enum.Enum):
    """What a server does with bare CR or LF inside DATA (RFC 5321 §2.3.8).

    Whatever is chosen, DATA still ends only at CRLF "." CRLF: a bare line end
    never ends a line, so it cannot end the message (no smuggling).
    """

    #: Refuse the message with ``550 5.6.0`` (the safe default).
    REJECT = "reject"
    #: Deliver the bytes as they are.
    ACCEPT = "accept"
    #: Read every bare CR and bare LF as a line end: it is delivered as CRLF,
    #: and after DATA a dot beginning the next line is unstuffed like any
    #: other (a fake terminator such as ``\n.\n`` becomes an empty line).
    #: BDAT content (not dot-stuffed) has its line ends normalised the same
    #: way, except with ``BODY=BINARYMIME``.
    NORMALIZE = "normalize"


def _upper_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(m.upper() for m in value)


@attrs.frozen(kw_only=True)
class ServerConfig:
    """What a :class:`~mailproto.smtp.ServerConnection` advertises and enforces.

    The message size limit (SIZE) comes from
    :attr:`mailproto.limits.SMTPLimits.message_size`.
    """

    #: The server's name in the greeting and in the EHLO reply.
    hostname: str = "localhost"
    #: Speak LMTP (RFC 2033): LHLO instead of HELO/EHLO, one reply per
    #: recipient after the message.
    lmtp: bool = False
    #: Advertise PIPELINING (RFC 2920).
    pipelining: bool = True
    #: Advertise SIZE (RFC 1870) with the limit from
    #: :attr:`SMTPLimits.message_size`.  The limit is enforced either way.
    size: bool = True
    #: Advertise 8BITMIME (RFC 6152).
    eightbitmime: bool = True
    #: Advertise SMTPUTF8 (RFC 6531).
    smtputf8: bool = True
    #: Advertise CHUNKING (RFC 3030): BDAT.
    chunking: bool = True
    #: Advertise BINARYMIME (RFC 3030); only together with CHUNKING.
    binarymime: bool = True
    #: Let the application answer each non-final BDAT chunk: the connection
    #: then reports the end of every such chunk as an
    #: :class:`~mailproto.smtp.EndOfChunk` event and waits for the reply (a
    #: 4xx/5xx fails the transaction, RFC 3030 §2).  Off, the connection
    #: answers ``250`` to every chunk it could read and the application
    #: decides on the message only at :class:`~mailproto.smtp.EndOfData`.
    confirm_chunks: bool = False
    #: Advertise DSN (RFC 3461).
    dsn: bool = True
    #: Advertise ENHANCEDSTATUSCODES (RFC 2034) and send enhanced codes.
    enhanced_status_codes: bool = True
    #: The transport can do TLS: advertise STARTTLS (RFC 3207) until TLS is on.
    starttls: bool = False
    #: TLS is on from the start (implicit TLS, RFC 8314 port 465).
    tls_active: bool = False
    #: Advertise REQUIRETLS (RFC 8689); only ever once TLS is active (§4).
    requiretls: bool = True
    #: Advertise DELIVERBY (RFC 2852) with this minimum BY time in seconds
    #: (0: no minimum); ``None`` does not advertise it.
    deliverby: int | None = None
    #: Advertise MT-PRIORITY (RFC 6710), optionally naming the policy
    #: (``"MIXER"``, ``"STANAG4406"``, ``"NSEP"``); ``None`` does not.
    mt_priority: str | None = None
    #: Refuse every command but EHLO/HELO/LHLO, STARTTLS, NOOP, RSET and QUIT
    #: until TLS is active, with ``530 5.7.0`` (RFC 3207 §4).
    require_tls: bool = False
    #: SASL mechanisms to advertise after AUTH (RFC 4954), in order.
    auth_mechanisms: tuple[str, ...] = attrs.field(default=(), converter=_upper_tuple)
    #: Only offer AUTH once TLS is active (RFC 4954 §4 advises against
    #: plaintext passwords on unprotected links; Postfix's smtpd_tls_auth_only).
    auth_requires_tls: bool = True
    #: Refuse MAIL with ``530 5.7.0`` until the client has authenticated
    #: (a submission server, RFC 6409 §4.3).
    require_auth: bool = False
    #: What to do with bare CR/LF in DATA.
    bare_line_endings: BareLineEndings = BareLineEndings.REJECT
    #: Accept NUL octets in DATA (only BINARYMIME content may carry them
    #: otherwise; RFC 5321 §4.5.2 / RFC 6152 §3: "no NUL").
    allow_nul: bool = False
    #: Further MAIL parameter keywords (upper case) handed to the
    #: application in :attr:`MailParameters.extra` rather than refused.
    extra_mail_parameters: frozenset[str] = frozenset()
    #: Further RCPT parameter keywords, likewise.
    extra_rcpt_parameters: frozenset[str] = frozenset()
    #: Further EHLO keywords to advertise, e.g. ``{"XCLIENT": ("NAME", "ADDR")}``.
    extra_extensions: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    def extensions(self, *, tls_active: bool, message_size: int | None) -> Extensions:
        """The extensions to advertise in the current session state."""
        kw: dict[str, tuple[str, ...]] = {}
        if self.pipelining:
            kw["PIPELINING"] = ()
        if self.size:
            kw["SIZE"] = (str(message_size),) if message_size else ()
        if self.eightbitmime:
            kw["8BITMIME"] = ()
        if self.smtputf8:
            kw["SMTPUTF8"] = ()
        if self.chunking:
            kw["CHUNKING"] = ()
            if self.binarymime:
                kw["BINARYMIME"] = ()
        if self.dsn:
            kw["DSN"] = ()
        if self.enhanced_status_codes:
            kw["ENHANCEDSTATUSCODES"] = ()
        if self.starttls and not tls_active:
            kw["STARTTLS"] = ()
        if self.auth_mechanisms and (tls_active or not self.auth_requires_tls):
            # Kept after a successful AUTH too (as Postfix does), so that
            # AUTH= on MAIL stays valid (RFC 4954 §5).
            kw["AUTH"] = self.auth_mechanisms
        if self.requiretls and tls_active:
            kw["REQUIRETLS"] = ()
        if self.deliverby is not None:
            kw["DELIVERBY"] = (str(self.deliverby),) if self.deliverby else ()
        if self.mt_priority is not None:
            kw["MT-PRIORITY"] = (self.mt_priority,) if self.mt_priority else ()
        kw.update(self.extra_extensions)
        return Extensions(keywords=kw)
