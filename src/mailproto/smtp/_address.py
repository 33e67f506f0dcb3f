"""Mailboxes and paths as SMTP carries them (RFC 5321 §4.1.2, RFC 6531 §3.3).

The grammar, quoted from RFC 5321 §4.1.2 and implemented by the regular
expressions below (one compiled pattern per rule, no per-character loops)::

    Reverse-path   = Path / "<>"
    Forward-path   = Path
    Path           = "<" [ A-d-l ":" ] Mailbox ">"
    A-d-l          = At-domain *( "," At-domain )
                   ; Note that this form, the so-called "source
                   ; route", MUST BE accepted, SHOULD NOT be
                   ; generated, and SHOULD be ignored.
    At-domain      = "@" Domain
    Domain         = sub-domain *("." sub-domain)
    sub-domain     = Let-dig [Ldh-str]
    Let-dig        = ALPHA / DIGIT
    Ldh-str        = *( ALPHA / DIGIT / "-" ) Let-dig
    address-literal  = "[" ( IPv4-address-literal /
                     IPv6-address-literal /
                     General-address-literal ) "]"
    Mailbox        = Local-part "@" ( Domain / address-literal )
    Local-part     = Dot-string / Quoted-string
    Dot-string     = Atom *("."  Atom)
    Atom           = 1*atext
    Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
    QcontentSMTP   = qtextSMTP / quoted-pairSMTP
    quoted-pairSMTP  = %d92 %d32-126
    qtextSMTP      = %d32-33 / %d35-91 / %d93-126

RFC 6531 §3.3 extends ``atext``, ``qtextSMTP`` and ``sub-domain`` with
``UTF8-non-ascii`` (U-labels); the patterns accept it and the connection
refuses non-ASCII unless the transaction uses SMTPUTF8.

RCPT also accepts ``<Postmaster>`` without a domain (RFC 5321 §4.1.1.3), and
MAIL accepts the null reverse-path ``<>`` (bounces, RFC 5321 §4.5.5).
"""

from __future__ import annotations

import ipaddress
import re

import attrs

from mailproto.errors import LocalProtocolError

__all__ = ["Mailbox", "parse_mailbox", "parse_path"]

# atext (RFC 5322 §3.2.3) plus UTF8-non-ascii (RFC 6531 §3.3).
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010ffff]"
_DOT_STRING = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_QUOTED = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*"'
_LET_DIG = r"[A-Za-z0-9\u0080-\U0010ffff]"
_SUB_DOMAIN = rf"{_LET_DIG}(?:[A-Za-z0-9\-\u0080-\U0010ffff]*{_LET_DIG})?"
_DOMAIN = rf"{_SUB_DOMAIN}(?:\.{_SUB_DOMAIN})*"
# The three literal forms are told apart after matching (see _check_literal).
_LITERAL = r"\[[\x21-\x5a\x5e-\x7e]+\]"
_MAILBOX = rf"(?P<local>{_DOT_STRING}|{_QUOTED})@(?P<domain>{_DOMAIN}|{_LITERAL})"
_ADL = rf"@{_DOMAIN}(?:,@{_DOMAIN})*"

_MAILBOX_RE = re.compile(_MAILBOX + r"\Z")
_PATH_RE = re.compile(rf"<(?:(?P<adl>{_ADL}):)?{_MAILBOX}>")
_DOT_STRING_RE = re.compile(_DOT_STRING + r"\Z")
_DOMAIN_RE = re.compile(rf"(?:{_DOMAIN}|{_LITERAL})\Z")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
_NEEDS_ESCAPE_RE = re.compile(r'(["\\])')
# General-address-literal = Standardized-tag ":" 1*dcontent (RFC 5321 §4.1.3)
_GENERAL_LITERAL_RE = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+\Z")


def _check_literal(domain: str) -> bool:
    """True when an address literal is an IPv4, IPv6 or general literal."""
    inner = domain[1:-1]
    if inner[:5].lower() == "ipv6:":
        try:
            ipaddress.IPv6Address(inner[5:])
        except ValueError:
            return False
        return True
    if inner[:1].isdigit():
        try:
            ipaddress.IPv4Address(inner)
        except ValueError:
            return False
        return True
    return _GENERAL_LITERAL_RE.match(inner) is not None


def _validate_local(instance: Mailbox, attribute: attrs.Attribute[str], value: str) -> None:
    # Anything representable as a Quoted-string is a valid local part: only
    # control characters (and DEL) cannot be carried at all.
    if _CONTROL_RE.search(value):
        raise LocalProtocolError(f"local part contains control characters: {value!r}")


def _validate_domain(
    instance: Mailbox, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is None:
        return
    if not _DOMAIN_RE.match(value) or (value.startswith("[") and not _check_literal(value)):
        raise LocalProtocolError(f"invalid domain or address literal: {value!r}")


@attrs.frozen(kw_only=True, slots=True)
class Mailbox:
    """An SMTP mailbox, ``local-part@domain``.

    Built by the parser from a path, or by an application to send one.
    ``str(mailbox)`` is the wire form (the local part quoted when it is not a
    dot-string); ``<Postmaster>`` without a domain has ``domain=None``.
    """

    #: The local part, unquoted (``"john doe"`` for ``"john doe"@example.org``).
    #: Case-sensitive (RFC 5321 §2.4).
    local_part: str = attrs.field(validator=_validate_local)
    #: The domain, a U-label/A-label domain name or an address literal with its
    #: brackets (``"[192.0.2.1]"``, ``"[IPv6:2001:db8::1]"``); ``None`` only
    #: for the special recipient ``<Postmaster>`` (RFC 5321 §4.1.1.3).
    domain: str | None = attrs.field(validator=_validate_domain)

    @classmethod
    def parse(cls, text: str) -> Mailbox:
        """Parse ``local@domain`` (no angle brackets); raise ``ValueError``."""
        return parse_mailbox(text)

    @property
    def is_postmaster(self) -> bool:
        """True for ``<Postmaster>`` (any case) with no domain."""
        return self.domain is None

    @property
    def is_ascii(self) -> bool:
        """False when the mailbox needs SMTPUTF8 (RFC 6531)."""
        return self.local_part.isascii() and (self.domain is None or self.domain.isascii())

    @property
    def quoted_local_part(self) -> str:
        """The local part as it appears on the wire (a dot-string or quoted)."""
        local = self.local_part
        if _DOT_STRING_RE.match(local):
            return local
        return '"' + _NEEDS_ESCAPE_RE.sub(r"\\\1", local) + '"'

    def __str__(self) -> str:
        if self.domain is None:
            return self.local_part
        return f"{self.quoted_local_part}@{self.domain}"


def _mailbox_from_match(m: re.Match[str]) -> Mailbox | None:
    local, domain = m.group("local", "domain")
    # (Both groups match at least one character.)
    if domain[0] == "[" and not _check_literal(domain):
        return None
    if local[0] == '"':
        local = _QUOTED_PAIR_RE.sub(r"\1", local[1:-1])
    return _trusted_mailbox(local, domain)


# The two slots of Mailbox, set through their descriptors (what attrs'
# frozen __init__ does, minus fetching object.__setattr__ per field).
_SET_LOCAL = Mailbox.__dict__["local_part"].__set__
_SET_DOMAIN = Mailbox.__dict__["domain"].__set__
assert [f.name for f in attrs.fields(Mailbox)] == ["local_part", "domain"]


def _trusted_mailbox(local: str, domain: str | None) -> Mailbox:
    # The grammar above already proved both parts valid: build the value
    # without running the validators a second time (this is on the path of
    # every MAIL and RCPT command).
    mailbox = object.__new__(Mailbox)
    _SET_LOCAL(mailbox, local)
    _SET_DOMAIN(mailbox, domain)
    return mailbox


def parse_mailbox(text: str) -> Mailbox:
    """Parse a bare ``Mailbox`` (RFC 5321 §4.1.2); raise ``ValueError``."""
    m = _MAILBOX_RE.match(text)
    mailbox = _mailbox_from_match(m) if m else None
    if mailbox is None:
        raise ValueError(f"invalid mailbox: {text!r}")
    return mailbox


def parse_path(
    text: str, *, null_ok: bool = False, postmaster_ok: bool = False
) -> tuple[Mailbox | None, str]:
    """Parse a path at the start of *text*; return ``(mailbox, rest)``.

    ``mailbox`` is ``None`` for ``<>`` (only when *null_ok*).  A source route
    is accepted and dropped (RFC 5321 §4.1.2).  *rest* is what follows the
    closing ``>``.  Raises ``ValueError`` on bad syntax.
    """
    if null_ok and text.startswith("<>"):
        return None, text[2:]
    m = _PATH_RE.match(text)
    if m is not None:
        mailbox = _mailbox_from_match(m)
        if mailbox is not None:
            return mailbox, text[m.end() :]
    elif postmaster_ok and text[:12].lower() == "<postmaster>":
        return Mailbox(local_part=text[1:11], domain=None), text[12:]
    raise ValueError(f"invalid path: {text!r}")
