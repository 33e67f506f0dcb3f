"""Hypothesis strategies for mail: messages, protocol lines, chunkings.

Everything here returns a :class:`hypothesis.strategies.SearchStrategy`.
"Valid" strategies produce what the RFCs allow (so a correct parser must
accept it); "near-valid" ones start from a valid value and break one thing
the way real peers and attackers do (bare LF, a truncated literal, a
missing boundary, a NUL, an over-long line), so a robust parser must turn it
into a defect or a :class:`~mailproto.errors.ProtocolError`, never a crash.

Needs hypothesis (``pip install mailproto[test]``); mailproto itself never
imports this module.
"""

from __future__ import annotations

import base64
import itertools
import string
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import strategies as st

from mailproto import imap, pop3, smtp
from mailproto.codecs.encoded_words import encode_header_text
from mailproto.imap.codec import serialize_command
from mailproto.mime.builder import MessageBuilder

T = TypeVar("T")

__all__ = [
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
    "pop3_command_events",
    "pop3_commands",
    "pop3_responses",
    "smtp_command_events",
    "smtp_commands",
    "smtp_replies",
    "unstructured_texts",
]

# -- byte streams ---------------------------------------------------------


@st.composite
def _chunkings(draw: st.DrawFn, data: bytes, max_pieces: int) -> list[bytes]:
    if len(data) <= 1:
        return [data] if data else []
    cuts = draw(
        st.lists(
            st.integers(min_value=1, max_value=len(data) - 1),
            max_size=min(max_pieces - 1, len(data) - 1),
            unique=True,
        )
    )
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def chunkings(data: bytes, *, max_pieces: int = 64) -> st.SearchStrategy[list[bytes]]:
    """Ways to cut *data* into non-empty pieces: ``b"".join(pieces) == data``.

    Shrinks towards a single piece; finds "the parser only works when the
    line arrives whole" bugs.  Feed each piece with ``receive_data``.
    """
    return _chunkings(data, max_pieces)


# -- addresses and header values (RFC 5322 §3.2-§3.4, RFC 2047) -----------

_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
_atoms = st.text(_ATEXT, min_size=1, max_size=12)
_labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


def domains() -> st.SearchStrategy[str]:
    """DNS domain names (RFC 5321 §4.1.2 ``Domain``), 2-4 labels."""
    return st.lists(_labels, min_size=2, max_size=4).map(".".join)


def local_parts() -> st.SearchStrategy[str]:
    """Dot-atom local parts (RFC 5322 §3.4.1), the portable kind."""
    return st.lists(_atoms, min_size=1, max_size=3).map(".".join)


def addr_specs() -> st.SearchStrategy[str]:
    """``local@domain`` addresses."""
    return st.builds(lambda lp, d: f"{lp}@{d}", local_parts(), domains())


def display_names() -> st.SearchStrategy[str]:
    """Display names: ASCII words, or any printable Unicode (to be encoded)."""
    ascii_words = st.lists(
        st.text(string.ascii_letters, min_size=1, max_size=8), min_size=1, max_size=3
    ).map(" ".join)
    return st.one_of(ascii_words, unstructured_texts(max_size=20).filter(str.strip))


def _quote(name: str) -> str:
    if all(c in _ATEXT or c == " " for c in name) and name.strip() == name and name:
        return name
    if name.isascii():
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " ".join(encode_header_text(name))


def addresses() -> st.SearchStrategy[str]:
    """Header-ready mailboxes: ``addr``, ``Name <addr>``, quoted or RFC 2047 names."""
    named = st.builds(lambda n, a: f"{_quote(n)} <{a}>", display_names(), addr_specs())
    return st.one_of(addr_specs(), named)


def unstructured_texts(*, max_size: int = 60) -> st.SearchStrategy[str]:
    """Header text without control characters (any script, any length)."""
    return st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=max_size)


def encoded_words() -> st.SearchStrategy[str]:
    """RFC 2047 encoded words, Q or B, in UTF-8 (as :mod:`mailproto.codecs` writes)."""
    return unstructured_texts().filter(bool).map(lambda t: " ".join(encode_header_text(t)))


_NAMES = st.sampled_from(
    ["Subject", "Comments", "Keywords", "X-Mailer", "X-Tag", "Thread-Topic", "List-Id"]
)


def header_fields() -> st.SearchStrategy[tuple[str, str]]:
    """``(name, value)`` pairs whose value is wire-ready (ASCII, encoded words)."""
    value = st.one_of(
        st.text(string.ascii_letters + string.digits + " .,:;-_()", max_size=60),
        encoded_words(),
    )
    return st.tuples(_NAMES, value)


def header_sections() -> st.SearchStrategy[bytes]:
    """Whole header sections (CRLF lines, long ones folded, blank line at the end)."""

    def render(fields: list[tuple[str, str]]) -> bytes:
        out = []
        for name, value in fields:
            line = f"{name}: {value}"
            # Fold at spaces so no line is over 78 (RFC 5322 §2.2.3).
            words, cur, lines = line.split(" "), "", []
            for w in words:
                if cur and len(cur) + 1 + len(w) > 78:
                    lines.append(cur)
                    cur = " " + w
                else:
                    cur = f"{cur} {w}" if cur else w
            lines.append(cur)
            out.append("\r\n".join(lines) + "\r\n")
        return ("".join(out) + "\r\n").encode("ascii")

    return st.lists(header_fields(), min_size=1, max_size=8).map(render)


# -- messages (RFC 5322 + MIME) -------------------------------------------

_FILENAMES = st.one_of(
    st.from_regex(r"[a-z]{1,10}\.(txt|pdf|png|bin|csv)", fullmatch=True),
    st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=12).map(
        lambda s: s + ".dat"
    ),
)


@st.composite
def _message(draw: st.DrawFn, max_attachments: int) -> bytes:
    b = MessageBuilder()
    b.from_(draw(addresses())).to(draw(st.lists(addresses(), min_size=1, max_size=3)))
    b.subject(draw(unstructured_texts()))
    b.message_id(domain=draw(domains()))
    b.text(draw(st.text(max_size=300)))
    if draw(st.booleans()):
        b.html("<p>" + draw(st.text(string.printable, max_size=100)) + "</p>")
    for _ in range(draw(st.integers(0, max_attachments))):
        if draw(st.integers(0, 4)) == 0:
            inner = MessageBuilder().from_(draw(addr_specs())).subject("inner")
            b.attach_message(inner.text(draw(st.text(max_size=50))).as_bytes())
        else:
            b.attach(draw(st.binary(max_size=400)), draw(_FILENAMES))
    return b.as_bytes()


def messages(*, max_attachments: int = 3) -> st.SearchStrategy[bytes]:
    """Valid messages as wire bytes (CRLF): text, optional HTML alternative,
    attachments with Unicode filenames (RFC 2231) and attached messages,
    built with :class:`mailproto.mime.builder.MessageBuilder`."""
    return _message(max_attachments)


# -- breaking things ------------------------------------------------------


def _mutators(data: bytes) -> list[Callable[[Any], bytes]]:
    n = len(data)

    def at(draw: Any) -> int:
        return int(draw(st.integers(0, n)))

    return [
        lambda d: data[: at(d)],  # truncated anywhere
        lambda d: data.replace(b"\r\n", b"\n"),  # bare LF everywhere
        lambda d: (i := at(d), data[:i] + b"\n" + data[i:])[1],  # one bare LF
        lambda d: (i := at(d), data[:i] + b"\r" + data[i:])[1],  # one bare CR
        lambda d: (i := at(d), data[:i] + b"\x00" + data[i:])[1],  # a NUL
        lambda d: (i := at(d), data[:i] + b"\xff\xfe" + data[i:])[1],  # invalid UTF-8
        lambda d: (i := at(d), data[:i] + b"x" * d(st.integers(900, 5000)) + data[i:])[1],
        lambda d: (i := at(d), data[:i] + data[i:] + data[i:])[1],  # repeated tail
        lambda d: (i := at(d), j := at(d), data[: min(i, j)] + data[max(i, j) :])[2],  # cut
        lambda d: (i := at(d), data[:i] + d(st.binary(max_size=16)) + data[i:])[1],
    ]


@st.composite
def _mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    data = draw(base)
    mutate = draw(st.sampled_from(_mutators(data)))
    return bytes(mutate(draw))


def mutations(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """*base* values with one thing broken (truncation, bare CR/LF, NUL,
    invalid UTF-8, an over-long run, a repeated or cut span, random bytes)."""
    return _mutated(base)


def near_valid(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Mostly broken *base* values, sometimes intact ones."""
    return st.one_of(base, mutations(base), mutations(base))


def near_valid_messages() -> st.SearchStrategy[bytes]:
    """Messages with MIME-specific damage too: boundaries removed or
    duplicated, bad base64, LF-only line endings, headers without bodies."""

    def boundary_damage(draw: st.DrawFn, data: bytes) -> bytes:
        start = data.find(b'boundary="')
        if start < 0:
            return data
        end = data.find(b'"', start + 10)
        boundary = b"--" + data[start + 10 : end]
        how = draw(st.sampled_from(["drop-close", "drop-all", "dup", "unquote"]))
        if how == "drop-close":
            return data.replace(boundary + b"--", b"")
        if how == "drop-all":
            return data.replace(boundary, b"")
        if how == "dup":
            return data.replace(boundary, boundary + b"\r\n" + boundary)
        return data.replace(b'boundary="', b"boundary=", 1)

    @st.composite
    def damaged(draw: st.DrawFn) -> bytes:
        data = draw(messages())
        kind = draw(st.integers(0, 3))
        if kind == 0:
            return boundary_damage(draw, data)
        if kind == 1:  # junk in base64 bodies
            return data.replace(b"base64\r\n\r\n", b"base64\r\n\r\n!!@@==", 1)
        if kind == 2:
            return data.split(b"\r\n\r\n", 1)[0]  # header only, no blank line
        return draw(mutations(st.just(data)))

    return st.one_of(messages(), damaged())


# -- SMTP (RFC 5321 §4.1, extensions) -------------------------------------


def smtp_command_events() -> st.SearchStrategy[smtp.Event]:
    """Typed SMTP client commands (events a ClientConnection may send,
    in some session state)."""
    mbox = addr_specs().map(smtp.Mailbox.parse)
    return st.one_of(
        domains().map(lambda d: smtp.Ehlo(domain=d)),
        domains().map(lambda d: smtp.Helo(domain=d)),
        st.builds(lambda m: smtp.MailFrom(sender=m), st.none() | mbox),
        mbox.map(lambda m: smtp.RcptTo(recipient=m)),
        st.just(smtp.Data()),
        st.builds(
            lambda n, last: smtp.Bdat(size=n, last=last), st.integers(0, 10**6), st.booleans()
        ),
        st.just(smtp.Rset()),
        local_parts().map(lambda a: smtp.Vrfy(argument=a)),
        local_parts().map(lambda a: smtp.Expn(argument=a)),
        st.just(smtp.Noop()),
        st.just(smtp.Help()),
        st.just(smtp.StartTLS()),
        st.just(smtp.Quit()),
    )


def smtp_commands() -> st.SearchStrategy[bytes]:
    """SMTP command lines as wire bytes (CRLF-terminated, some with ESMTP
    parameters, mixed case as RFC 5321 §2.4 allows)."""
    path = st.one_of(addr_specs().map(lambda a: f"<{a}>"), st.just("<>"))
    mail_params = st.lists(
        st.sampled_from(
            [
                "SIZE=1000",
                "BODY=8BITMIME",
                "BODY=7BIT",
                "RET=HDRS",
                "ENVID=abc+2Bdef",
                "SMTPUTF8",
                "AUTH=<>",
                "REQUIRETLS",
            ]
        ),
        max_size=3,
        unique=True,
    )
    rcpt_params = st.lists(
        st.sampled_from(["NOTIFY=NEVER", "NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;a@b.example"]),
        max_size=2,
        unique=True,
    )
    verb_case = st.sampled_from([str.upper, str.lower, str.title])
    lines = st.one_of(
        st.builds(lambda c, d: f"{c('ehlo')} {d}", verb_case, domains()),
        st.builds(lambda c, d: f"{c('helo')} {d}", verb_case, domains()),
        st.builds(lambda c, d: f"{c('lhlo')} {d}", verb_case, domains()),
        st.builds(lambda p, ps: " ".join([f"MAIL FROM:{p}", *ps]), path, mail_params),
        st.builds(lambda a, ps: " ".join([f"RCPT TO:<{a}>", *ps]), addr_specs(), rcpt_params),
        st.sampled_from(
            ["DATA", "RSET", "NOOP", "QUIT", "HELP", "STARTTLS", "AUTH PLAIN", "AUTH LOGIN", "*"]
        ),
        st.builds(
            lambda n, last: f"BDAT {n}" + (" LAST" if last else ""),
            st.integers(0, 4096),
            st.booleans(),
        ),
        local_parts().map(lambda a: f"VRFY {a}"),
        st.binary(max_size=16).map(lambda b: base64.b64encode(b).decode()),  # AUTH answers
    )
    return lines.map(lambda s: s.encode("ascii") + b"\r\n")


def smtp_replies() -> st.SearchStrategy[bytes]:
    """SMTP replies as wire bytes: single and multi-line (RFC 5321 §4.2),
    with and without enhanced status codes (RFC 2034)."""
    code = st.sampled_from(
        [
            211,
            214,
            220,
            221,
            235,
            250,
            251,
            252,
            334,
            354,
            421,
            450,
            451,
            452,
            454,
            500,
            501,
            502,
            503,
            504,
            530,
            535,
            550,
            551,
            552,
            553,
            554,
        ]
    )
    text = st.text(string.ascii_letters + string.digits + " .-=+/", max_size=40)

    def render(c: int, texts: list[str], enhanced: bool) -> bytes:
        es = f"{c // 100}.0.0 " if enhanced and c // 100 in (2, 4, 5) else ""
        lines = [
            f"{c}{'-' if i < len(texts) - 1 else ' '}{es}{t}".rstrip(" ") + "\r\n"
            for i, t in enumerate(texts)
        ]
        return "".join(lines).encode("ascii")

    return st.builds(render, code, st.lists(text, min_size=1, max_size=5), st.booleans())


# -- POP3 (RFC 1939, RFC 2449, RFC 5034) ----------------------------------


def pop3_command_events() -> st.SearchStrategy[pop3.Event]:
    """Typed POP3 commands a ClientConnection may send."""
    n = st.integers(1, 500)
    return st.one_of(
        st.just(pop3.Stat()),
        st.just(pop3.Noop()),
        st.just(pop3.Rset()),
        st.just(pop3.Quit()),
        st.just(pop3.Capa()),
        st.just(pop3.Stls()),
        st.builds(lambda m: pop3.List(msg=m), st.none() | n),
        st.builds(lambda m: pop3.Uidl(msg=m), st.none() | n),
        n.map(lambda m: pop3.Retr(msg=m)),
        n.map(lambda m: pop3.Dele(msg=m)),
        st.builds(lambda m, k: pop3.Top(msg=m, lines=k), n, st.integers(0, 100)),
        _atoms.map(lambda u: pop3.User(name=u)),
        _atoms.map(lambda p: pop3.Pass(password=p)),
    )


def pop3_commands() -> st.SearchStrategy[bytes]:
    """POP3 command lines as wire bytes."""
    n = st.integers(0, 1000).map(str)
    lines = st.one_of(
        st.sampled_from(
            [
                "STAT",
                "LIST",
                "UIDL",
                "NOOP",
                "RSET",
                "QUIT",
                "CAPA",
                "STLS",
                "AUTH",
                "AUTH PLAIN",
                "AUTH LOGIN",
                "*",
            ]
        ),
        st.builds(lambda v, m: f"{v} {m}", st.sampled_from(["LIST", "RETR", "DELE", "UIDL"]), n),
        st.builds(lambda m, k: f"TOP {m} {k}", n, n),
        _atoms.map(lambda u: f"USER {u}"),
        _atoms.map(lambda p: f"PASS {p}"),
        st.builds(
            lambda u, d: f"APOP {u} {d}", _atoms, st.from_regex(r"[0-9a-f]{32}", fullmatch=True)
        ),
    )
    return lines.map(lambda s: s.encode("ascii") + b"\r\n")


def pop3_responses() -> st.SearchStrategy[bytes]:
    """POP3 responses: status lines (with RFC 2449 response codes) and
    dot-terminated multi-line bodies."""
    text = st.text(string.ascii_letters + string.digits + " .", max_size=30)
    status = st.builds(
        lambda ok, code, t: (
            ("+OK" if ok else "-ERR")
            + (f" [{code}]" if code else "")
            + (f" {t}" if t else "")
            + "\r\n"
        ),
        st.booleans(),
        st.sampled_from([None, "IN-USE", "LOGIN-DELAY", "SYS/TEMP", "AUTH"]),
        text,
    ).map(lambda s: s.encode("ascii"))
    body_line = st.text(string.printable.replace("\r", "").replace("\n", ""), max_size=40)
    multi = st.builds(
        lambda lines: (
            b"+OK\r\n"
            + b"".join(
                (("." + ln) if ln.startswith(".") else ln).encode() + b"\r\n" for ln in lines
            )
            + b".\r\n"
        ),
        st.lists(body_line, max_size=6),
    )
    return st.one_of(status, multi, st.just(b"+ " + base64.b64encode(b"challenge") + b"\r\n"))


# -- IMAP (RFC 9051, RFC 3501) ---------------------------------------------

_tags = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}", fullmatch=True)
_mailboxes = st.one_of(
    st.sampled_from(["INBOX", "Sent", "Drafts", "Archive/2024"]),
    st.text(string.ascii_letters + " ", min_size=1, max_size=12),
)


def imap_command_values() -> st.SearchStrategy[Any]:
    """Typed IMAP commands (:mod:`mailproto.imap.commands` values)."""
    c = imap.commands
    return st.one_of(
        st.builds(lambda t: c.Capability(tag=t), _tags),
        st.builds(lambda t: c.Noop(tag=t), _tags),
        st.builds(lambda t: c.Logout(tag=t), _tags),
        st.builds(
            lambda t, u, p: c.Login(tag=t, username=u, password=p),
            _tags,
            _atoms,
            st.text(string.printable.strip(), min_size=1, max_size=12),
        ),
        st.builds(lambda t, m: c.Select(tag=t, mailbox=m), _tags, _mailboxes),
        st.builds(lambda t, m: c.Examine(tag=t, mailbox=m), _tags, _mailboxes),
        st.builds(lambda t, m: c.Create(tag=t, mailbox=m), _tags, _mailboxes),
        st.builds(lambda t, m: c.Delete(tag=t, mailbox=m), _tags, _mailboxes),
        st.builds(lambda t: c.Idle(tag=t), _tags),
    )


def imap_commands() -> st.SearchStrategy[bytes]:
    """IMAP command lines as wire bytes: serialised typed commands (literals
    inline, LITERAL+ form) and hand-written lines (FETCH, STORE, SEARCH, UID)."""
    seq = st.sampled_from(["1", "1:*", "2,4:7", "*", "1:3,5"])
    raw = st.one_of(
        st.builds(
            lambda t, s, a: f"{t} FETCH {s} {a}",
            _tags,
            seq,
            st.sampled_from(
                [
                    "FLAGS",
                    "(UID RFC822.SIZE)",
                    "BODY.PEEK[HEADER]",
                    "BODY[1.2]<0.100>",
                    "(ENVELOPE BODYSTRUCTURE)",
                    "FULL",
                ]
            ),
        ),
        st.builds(lambda t, s: f"{t} STORE {s} +FLAGS (\\Seen)", _tags, seq),
        st.builds(
            lambda t, k: f"{t} SEARCH {k}",
            _tags,
            st.sampled_from(["ALL", "UNSEEN", 'FROM "x"', "OR SEEN DRAFT", "UID 1:4"]),
        ),
        st.builds(lambda t, s: f"{t} UID FETCH {s} FLAGS", _tags, seq),
    ).map(lambda s: s.encode("ascii") + b"\r\n")
    typed = imap_command_values().map(lambda v: serialize_command(v, literal_mode="plus"))
    return st.one_of(typed, raw, st.just(b"DONE\r\n"))


def imap_responses() -> st.SearchStrategy[bytes]:
    """IMAP server responses as wire bytes: greetings, status, data, literals."""
    n = st.integers(1, 10**6).map(str)
    text = st.text(string.ascii_letters + " ", max_size=20)
    body = st.binary(max_size=64)
    lines = st.one_of(
        st.builds(lambda t: f"* OK {t}", text),
        st.builds(lambda t: f"* OK [CAPABILITY IMAP4rev1 IDLE LITERAL+] {t}", text),
        st.builds(lambda k, t: f"* {k} EXISTS", n, text),
        st.builds(lambda k: f"* {k} EXPUNGE", n),
        st.just("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"),
        st.builds(lambda k: f"* OK [UIDVALIDITY {k}] ok", n),
        st.builds(lambda k, u: f"* {k} FETCH (UID {u} FLAGS (\\Seen))", n, n),
        st.builds(
            lambda t, s, x: f"{t} {s} {x}", _tags, st.sampled_from(["OK", "NO", "BAD"]), text
        ),
        st.just("* BYE logging out"),
        st.just("+ idling"),
        st.just('* LIST (\\HasNoChildren) "/" INBOX'),
    ).map(lambda s: s.encode("ascii") + b"\r\n")
    literal = st.builds(
        lambda k, b: f"* {k} FETCH (BODY[] {{{len(b)}}}\r\n".encode() + b + b")\r\n", n, body
    )
    return st.one_of(lines, literal)
