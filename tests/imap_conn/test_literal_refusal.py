"""A server never invites, nor buffers, a literal it is going to refuse.

The audit of the reference server found that an unauthenticated client
sending ``a APPEND INBOX {60000000}`` got ``+`` and could chain further
literals (MULTIAPPEND, never advertised): ~57 MB buffered per literal before
the command was refused.  These transcripts drive
:class:`~mailproto.imap.server.ServerConnection` (sans-I/O) through each
refusal: no ``+`` for a command that will be refused (RFC 9051 §6: APPEND is
an authenticated-state command; §7.5: a client that gets a tagged answer
instead of ``+`` abandons the command), a non-synchronising literal's
octets dropped as they arrive (RFC 7888 §4), no second APPEND message
without MULTIAPPEND (RFC 3502), and a bound on a whole command
(:attr:`IMAPLimits.command_size`, before login
:attr:`IMAPLimits.unauthenticated_command_size`).
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto._sentinels import NEED_DATA, PAUSED
from mailproto.errors import LimitExceeded, ProtocolError, RemoteProtocolError
from mailproto.imap._events import AuthFailed, BadCommand
from mailproto.imap._fragmentizer import Fragmentizer, LiteralAnnounced, RawMessage
from mailproto.imap._state import State
from mailproto.imap.server import DEFAULT_CAPABILITIES, ServerConnection
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from mailproto.limits import IMAPLimits
from tests.imap_conn.pair import server_events, state

PLUS = b"+ Ready for literal data\r\n"


def _server(
    *,
    logged_in: bool = False,
    capabilities: tuple[str, ...] = DEFAULT_CAPABILITIES,
    limits: IMAPLimits | None = None,
    literal_approval: int | None = None,
) -> ServerConnection:
    server = ServerConnection(
        capabilities=capabilities,
        limits=limits,
        announce_capabilities=False,
        literal_approval=literal_approval,
    )
    status = "PREAUTH" if logged_in else "OK"
    server.send(R.StatusResponse(tag=None, status=status, text="ready"))  # type: ignore[arg-type]
    server.data_to_send()
    return server


def _exchange(server: ServerConnection, data: bytes) -> tuple[list[Any], bytes]:
    events = server_events(server, data)
    return events, server.data_to_send()


def _drop_literal_then_noop(
    server: ServerConnection, size: int, chunk: int = 65536
) -> tuple[list[object], bytes, int]:
    """Feed *size* octets of a refused literal, then ``CRLF b NOOP``.

    Returns the events and output of the NOOP, and the peak memory traced
    while the literal went by.
    """
    tracemalloc.start()
    try:
        for _ in range(size // chunk):
            # A fresh chunk each time: freed at once unless the server keeps it.
            server.receive_data(bytes(chunk))
            assert server.next_event() is NEED_DATA
        # The command's last line ends it; the session goes on (RFC 7888 §4).
        events, out = _exchange(server, b"\r\nb NOOP\r\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return events, out, peak


# ---- not authenticated: APPEND and the other authenticated-state commands ------------


def test_append_before_login_is_refused_without_continuation() -> None:
    server = _server()
    [bad], out = _exchange(server, b"a APPEND INBOX {20000000}\r\n")
    assert isinstance(bad, BadCommand) and bad.tag == "a"
    assert out == b"a BAD Command not valid in this state\r\n"
    # The client, answered instead of "+", sends no literal: the next bytes
    # are a new command.
    [noop], out = _exchange(server, b"b NOOP\r\n")
    assert noop == C.Noop(tag="b") and out == b""


@pytest.mark.parametrize(
    "line",
    [
        b"a SELECT {5}\r\n",
        b"a CREATE {5}\r\n",
        b"a STATUS {5}\r\n",
        b"a LIST {0}\r\n",
        b"a UID FETCH 1 (BODY[HEADER.FIELDS ({4}\r\n",
        b"a COPY 1 {5}\r\n",
    ],
)
def test_other_commands_not_valid_before_login_get_no_continuation(line: bytes) -> None:
    server = _server()
    [bad], out = _exchange(server, line)
    assert isinstance(bad, BadCommand)
    assert out == b"a BAD Command not valid in this state\r\n"


def test_non_synchronising_append_before_login_is_dropped_as_it_arrives() -> None:
    server = _server()
    size = 4 * 1024 * 1024
    # The refusal is sent at the announcement, before any literal octet.
    [bad], out = _exchange(server, b"a APPEND INBOX {%d+}\r\n" % size)
    assert isinstance(bad, BadCommand)
    assert out == b"a BAD Command not valid in this state\r\n"
    # Buffering the literal would cost 4 MiB (8 once joined); dropping it,
    # about one chunk.
    [noop], out, peak = _drop_literal_then_noop(server, size)
    assert peak < 1024 * 1024
    assert noop == C.Noop(tag="b") and out == b""
    assert state(server) is State.NOT_AUTHENTICATED


def test_refused_non_synchronising_command_ends_at_a_synchronising_literal() -> None:
    # Skipping goes through further {n+} literals; at a {n} one the client
    # waits for "+", reads the BAD instead and gives the command up.
    server = _server()
    events, out = _exchange(server, b"a APPEND INBOX {3+}\r\nabc {3+}\r\nd\r\n {4}\r\nb NOOP\r\n")
    assert [type(e) for e in events] == [BadCommand, C.Noop]
    assert out == b"a BAD Command not valid in this state\r\n"


def test_too_large_literal_while_skipping_is_counted_through() -> None:
    # The command already has its BAD; a later {n+} of it over the limit is
    # only counted and dropped like the rest (RFC 7888 §4, first choice).
    server = _server(limits=IMAPLimits(literal_size=100))
    [bad] = server_events(server, b"a APPEND INBOX {3+}\r\n")
    assert isinstance(bad, BadCommand)
    events, out = _exchange(server, b"abc {1001+}\r\n" + b"z" * 1001 + b"\r\nb NOOP\r\n")
    assert events == [C.Noop(tag="b")]
    assert out == b"a BAD Command not valid in this state\r\n"
    assert state(server) is State.NOT_AUTHENTICATED


def test_literal_size_that_is_no_number64_while_skipping_closes_the_connection() -> None:
    # RFC 9051 §9: number64 is at most 2^63-1; past it no literal can exist
    # and where the command ends is unknowable: RFC 7888 §4's other choice.
    server = _server()
    [bad] = server_events(server, b"a APPEND INBOX {3+}\r\n")
    assert isinstance(bad, BadCommand)
    with pytest.raises(LimitExceeded) as info:
        server_events(server, b"abc {%d+}\r\n" % (1 << 63))
    assert info.value.limit == "literal_size"
    assert server.data_to_send() == (
        b"a BAD Command not valid in this state\r\n* BYE [TOOBIG] Literal too large\r\n"
    )
    assert state(server) is State.LOGOUT


# ---- a non-synchronising literal over literal_size ------------------------------------


TOO_BIG_BAD = b"a BAD [TOOBIG] Literal too large\r\n"


def _skipping(server: ServerConnection) -> bool:
    return server._input.fragmentizer.skipping


@pytest.mark.parametrize("logged_in", [False, True])
def test_non_synchronising_literal_over_the_limit_is_refused_and_the_session_goes_on(
    logged_in: bool,
) -> None:
    # RFC 7888 §4: tagged BAD, then read and ignore the rest of the command
    # (its first choice; closing is the other).  TOOBIG: RFC 7888 §5, RFC
    # 4469 §4.2.  The refusal leaves before any octet of the literal.
    limits = IMAPLimits(literal_size=100, unauthenticated_command_size=100)
    server = _server(logged_in=logged_in, limits=limits)
    [bad], out = _exchange(server, b"a APPEND INBOX {101+}\r\n")
    assert bad == BadCommand(tag="a", reason="Literal too large")
    assert out == TOO_BIG_BAD
    assert _skipping(server)
    events, out = _exchange(server, b"m" * 101 + b"\r\nb NOOP\r\n")
    assert events == [C.Noop(tag="b")] and out == b""
    assert not _skipping(server)
    assert state(server) is (State.AUTHENTICATED if logged_in else State.NOT_AUTHENTICATED)


def test_too_large_non_synchronising_literal_mid_command_refuses_the_command() -> None:
    # The second literal of a LOGIN is over the limit: the whole command is
    # refused, the first literal (already read) dropped with it.
    server = _server(limits=IMAPLimits(literal_size=100))
    [bad], out = _exchange(server, b"a LOGIN {5+}\r\nalice {5000+}\r\n")
    assert isinstance(bad, BadCommand) and out == TOO_BIG_BAD
    events, out = _exchange(server, b"p" * 5000 + b" {7+}\r\nignored\r\nb NOOP\r\n")
    assert events == [C.Noop(tag="b")] and out == b""


def test_too_large_non_synchronising_literal_ends_at_a_synchronising_one() -> None:
    # A {n} of the refused command: the client waits for "+", reads the BAD
    # instead and gives the command up (RFC 9051 §7.5).
    server = _server(logged_in=True, limits=IMAPLimits(literal_size=100))
    events, out = _exchange(server, b"a APPEND INBOX {200+}\r\n" + b"m" * 200 + b" {10}\r\n")
    assert [type(e) for e in events] == [BadCommand] and out == TOO_BIG_BAD
    [noop], out = _exchange(server, b"b NOOP\r\n")
    assert noop == C.Noop(tag="b") and out == b""


def test_too_large_non_synchronising_literal_counts_as_a_bad_command() -> None:
    # A BAD like any other: IMAPLimits.errors still ends a session that
    # does nothing else.
    server = _server(logged_in=True, limits=IMAPLimits(literal_size=10, errors=2))
    [bad] = server_events(server, b"a APPEND INBOX {11+}\r\n" + b"x" * 11 + b"\r\n")
    assert isinstance(bad, BadCommand)
    with pytest.raises(LimitExceeded) as info:
        server_events(server, b"b APPEND INBOX {11+}\r\n")
    assert info.value.limit == "errors"
    assert server.data_to_send().endswith(b"* BYE Too many errors\r\n")


def test_non_synchronising_literal_size_that_is_no_number64_closes_the_connection() -> None:
    server = _server(logged_in=True)
    with pytest.raises(LimitExceeded):
        server_events(server, b"a APPEND INBOX {99999999999999999999+}\r\n")
    assert server.data_to_send() == TOO_BIG_BAD + b"* BYE [TOOBIG] Literal too large\r\n"
    assert state(server) is State.LOGOUT


def test_the_largest_number64_is_counted_through() -> None:
    # 2^63-1 octets will never come, but the announcement is valid: the
    # command is refused and the server simply keeps dropping octets.
    server = _server(logged_in=True, limits=IMAPLimits(literal_size=100))
    [bad], out = _exchange(server, b"a APPEND INBOX {%d+}\r\n" % ((1 << 63) - 1))
    assert isinstance(bad, BadCommand) and out == TOO_BIG_BAD
    server.receive_data(b"b NOOP\r\n" * 1000)
    assert server.next_event() is NEED_DATA  # literal octets, not commands
    assert server._input.fragmentizer.buffered == 0


def test_too_large_non_synchronising_literal_in_a_sasl_answer_ends_the_exchange() -> None:
    server = _server(limits=IMAPLimits(literal_size=100))
    _exchange(server, b"a AUTHENTICATE PLAIN\r\n")
    [failed, noop], out = _exchange(server, b"{500+}\r\n" + b"s" * 500 + b"\r\nb NOOP\r\n")
    assert isinstance(failed, AuthFailed)
    assert out == b"a BAD Malformed SASL response\r\n"
    assert noop == C.Noop(tag="b")


def test_too_large_non_synchronising_literal_during_idle_ends_it() -> None:
    server = _server(logged_in=True, limits=IMAPLimits(literal_size=100))
    _exchange(server, b"i IDLE\r\n")
    server.send(R.Continuation(text="idling"))
    server.data_to_send()
    events, out = _exchange(server, b"{500+}\r\n" + b"s" * 500 + b"\r\nb NOOP\r\n")
    assert [type(e) for e in events] == [BadCommand, C.Noop]
    assert out == b"i BAD Expected DONE\r\n"


def test_too_large_synchronising_literal_in_a_sasl_answer_is_fatal() -> None:
    # As for any {n} there: the client waits for a "+" that never comes.
    server = _server(limits=IMAPLimits(literal_size=100))
    _exchange(server, b"a AUTHENTICATE PLAIN\r\n")
    with pytest.raises(RemoteProtocolError):
        server_events(server, b"{500}\r\n")
    assert server.data_to_send() == b"* BYE Unexpected literal\r\n"


def test_huge_non_synchronising_literal_is_dropped_as_it_arrives() -> None:
    server = _server(logged_in=True, limits=IMAPLimits(literal_size=1000))
    size = 4 * 1024 * 1024
    [bad], out = _exchange(server, b"a APPEND INBOX {%d+}\r\n" % size)
    assert isinstance(bad, BadCommand) and out == TOO_BIG_BAD
    [noop], out, peak = _drop_literal_then_noop(server, size)
    assert peak < 1024 * 1024
    assert noop == C.Noop(tag="b") and out == b""


_HUGE = 1 << 20
_HEAD = b"a APPEND INBOX (\\Seen) {%d+}\r\n" % _HUGE
_TAIL = b" {3+}\r\nabc\r\nb NOOP\r\n"


def _virtual(start: int, end: int) -> bytes:
    """Octets [start, end) of _HEAD + 1 MiB of literal + _TAIL, never built whole."""
    head_end = len(_HEAD)
    tail_start = head_end + _HUGE
    parts = []
    if start < head_end:
        parts.append(_HEAD[start : min(end, head_end)])
    lo, hi = max(start, head_end), min(end, tail_start)
    if lo < hi:
        parts.append(b"L" * (hi - lo))
    if end > tail_start:
        parts.append(_TAIL[max(start, tail_start) - tail_start : end - tail_start])
    return b"".join(parts)


@given(
    first=st.lists(st.integers(min_value=1, max_value=64), max_size=12),
    middle=st.lists(st.integers(min_value=4096, max_value=65536), min_size=1, max_size=8),
    last=st.lists(st.integers(min_value=1, max_value=16), max_size=8),
)
def test_refused_huge_literal_costs_constant_memory_however_split(
    first: list[int], middle: list[int], last: list[int]
) -> None:
    # A refused {n+} of 1 MiB (literal_size 1000) fed in arbitrary splits:
    # small ones around the announcement and around the end of the command,
    # large ones in between.  Whatever the split, the server answers BAD
    # once, keeps at most a few octets buffered, never holds the literal
    # (peak well under its size), and serves the next command.
    total = len(_HEAD) + _HUGE + len(_TAIL)
    server = _server(logged_in=True, limits=IMAPLimits(literal_size=1000))
    frag = server._input.fragmentizer
    events: list[Any] = []
    out = b""
    position, i = 0, 0
    tracemalloc.start()
    try:
        while position < total:
            if position < len(_HEAD) + 64 and i < len(first):
                step = first[i]
                i += 1
            elif total - position <= len(_TAIL) + 8 and last:
                step = last.pop(0)
            else:
                step = middle[i % len(middle)]
                i += 1
            end = min(position + step, total)
            if total - end < len(_TAIL) + 8 and total - position > len(_TAIL) + 8:
                end = total - len(_TAIL) - 8  # the small splits take over here
            server.receive_data(_virtual(position, end))
            position = end
            while (event := server.next_event()) is not NEED_DATA:
                events.append(event)
            out += server.data_to_send()
            # Never more than part of a line is held: not the literal.
            assert frag.buffered <= len(_HEAD) + len(_TAIL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < _HUGE // 4
    assert events == [BadCommand(tag="a", reason="Literal too large"), C.Noop(tag="b")]
    assert out == TOO_BIG_BAD
    assert not frag.skipping and not frag.in_message


# ---- pre-auth commands that do take literals ---------------------------------------


def test_login_with_synchronising_literals_still_works() -> None:
    server = _server()
    events, out = _exchange(server, b"a LOGIN {5}\r\n")
    assert events == [] and out == PLUS
    events, out = _exchange(server, b"alice {6}\r\n")
    assert events == [] and out == PLUS
    [login], out = _exchange(server, b"secret\r\n")
    assert login == C.Login(tag="a", username="alice", password="secret") and out == b""
    server.send(R.StatusResponse(tag="a", status="OK", text="in"))
    assert state(server) is State.AUTHENTICATED


def test_login_with_non_synchronising_literals_still_works() -> None:
    server = _server()
    [login], out = _exchange(server, b"a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n")
    assert login == C.Login(tag="a", username="alice", password="secret") and out == b""


def test_id_with_literal_values_before_login() -> None:
    server = _server()
    _, out = _exchange(server, b'a ID ("name" {8}\r\n')
    assert out == PLUS
    [ident], out = _exchange(server, b'mailtest "version" "1")\r\n')
    assert ident == C.Id(tag="a", params=(("name", "mailtest"), ("version", "1")))


def test_pre_auth_literals_are_bounded_small() -> None:
    server = _server()
    bound = server.limits.unauthenticated_command_size
    line = b"a LOGIN {%d}\r\n" % bound
    [too_big], out = _exchange(server, line)
    assert isinstance(too_big, BadCommand)
    assert out == b"a NO [TOOBIG] Literal too large\r\n"
    # The bound is on the whole command: line and literals together.
    events, out = _exchange(server, b"b LOGIN {%d}\r\n" % (bound - len(line)))
    assert events == [] and out == PLUS


def test_pre_auth_bound_counts_every_literal_of_the_command() -> None:
    server = _server(limits=IMAPLimits(unauthenticated_command_size=100))
    _, out = _exchange(server, b"a LOGIN {40}\r\n")
    assert out == PLUS
    [too_big], out = _exchange(server, b"u" * 40 + b" {40}\r\n")
    assert isinstance(too_big, BadCommand)
    assert out == b"a NO [TOOBIG] Literal too large\r\n"
    [noop], _ = _exchange(server, b"b NOOP\r\n")
    assert noop == C.Noop(tag="b")


def test_pre_auth_non_synchronising_literal_over_the_bound_is_bad_and_dropped() -> None:
    server = _server(limits=IMAPLimits(unauthenticated_command_size=100))
    events, out = _exchange(server, b"a LOGIN {200+}\r\n" + b"p" * 200 + b" x\r\nb NOOP\r\n")
    assert [type(e) for e in events] == [BadCommand, C.Noop]
    assert out == b"a BAD [TOOBIG] Literal too large\r\n"


def test_after_login_the_larger_bound_applies() -> None:
    server = _server(limits=IMAPLimits(unauthenticated_command_size=100))
    [login] = server_events(server, b"a LOGIN u p\r\n")
    server.send(R.StatusResponse(tag=login.tag, status="OK", text="in"))
    server.data_to_send()
    events, out = _exchange(server, b"b APPEND INBOX {1000}\r\n")
    assert events == [] and out == PLUS


# ---- commands whose literal would be refused anyway ---------------------------------


NO_LITERAL = b"a BAD Command takes no literal\r\n"
NOT_NOW = b"a BAD Command not valid in this state\r\n"


@pytest.mark.parametrize(
    ("line", "logged_in", "answer"),
    [
        (b"a NOOP {5}\r\n", False, NO_LITERAL),
        (b"a NOOP {5}\r\n", True, NO_LITERAL),
        (b"a CAPABILITY {5}\r\n", False, NO_LITERAL),
        (b"a LOGOUT {5}\r\n", True, NO_LITERAL),
        (b"a STARTTLS {5}\r\n", False, NO_LITERAL),
        (b"a AUTHENTICATE PLAIN {5}\r\n", False, NO_LITERAL),
        (b"a AUTHENTICATE PLAIN {5}\r\n", True, NOT_NOW),
        (b"a LOGIN {5}\r\n", True, NOT_NOW),
        (b"a ENABLE {5}\r\n", True, NO_LITERAL),
        (b"a UID EXPUNGE {5}\r\n", True, NOT_NOW),
    ],
)
def test_command_without_strings_gets_no_continuation(
    line: bytes, logged_in: bool, answer: bytes
) -> None:
    server = _server(logged_in=logged_in)
    [bad], out = _exchange(server, line)
    assert isinstance(bad, BadCommand) and out == answer


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        (b"a FROB {5}\r\n", b"a BAD Unknown command\r\n"),
        (b"a UID FROB {5}\r\n", b"a BAD Unknown command\r\n"),
        (b"a {5}\r\n", b"a BAD Expected a tag and a command name\r\n"),
        (b"{5}\r\n", b"* BAD Expected a tag and a command name\r\n"),
        (b"a STORE 1 FLAGS {5}\r\n", NOT_NOW),
    ],
)
def test_unparseable_command_gets_no_continuation(line: bytes, answer: bytes) -> None:
    server = _server(logged_in=True)
    [bad], out = _exchange(server, line)
    assert isinstance(bad, BadCommand) and out == answer


def test_experimental_command_may_take_a_literal_before_login() -> None:
    # RFC 3501 §6.5.1: X commands are the application's, in any state.
    server = _server()
    events, out = _exchange(server, b"a XFROB {3}\r\n")
    assert events == [] and out == PLUS
    [x], _ = _exchange(server, b"abc\r\n")
    assert isinstance(x, C.Experimental) and x.name == "XFROB"


def test_tag_already_in_flight_gets_no_continuation() -> None:
    server = _server(logged_in=True)
    [noop], _ = _exchange(server, b"a NOOP\r\n")
    assert noop == C.Noop(tag="a")
    [bad], out = _exchange(server, b"a APPEND INBOX {5}\r\n")
    assert isinstance(bad, BadCommand) and out == b"a BAD Tag already in use\r\n"
    server.send(R.StatusResponse(tag="a", status="OK", text="done"))
    assert server.data_to_send() == b"a OK done\r\n"


# ---- APPEND: one message unless MULTIAPPEND -------------------------------------------


def test_no_second_append_message_without_multiappend() -> None:
    server = _server(logged_in=True)
    _, out = _exchange(server, b"b APPEND INBOX {10}\r\n")
    assert out == PLUS
    [bad], out = _exchange(server, b"0123456789 {10}\r\n")
    assert isinstance(bad, BadCommand) and bad.tag == "b"
    assert out == b"b BAD Command not advertised: MULTIAPPEND\r\n"
    [noop], out = _exchange(server, b"c NOOP\r\n")
    assert noop == C.Noop(tag="c")


def test_second_non_synchronising_append_message_is_dropped() -> None:
    server = _server(logged_in=True)
    events, out = _exchange(
        server, b"b APPEND INBOX {3+}\r\nabc (\\Seen) {5+}\r\nhello\r\nc NOOP\r\n"
    )
    assert [type(e) for e in events] == [BadCommand, C.Noop]
    assert out == b"b BAD Command not advertised: MULTIAPPEND\r\n"


def test_append_mailbox_literal_is_not_a_message() -> None:
    server = _server(logged_in=True)
    assert _exchange(server, b"b APPEND {5}\r\n") == ([], PLUS)
    assert _exchange(server, b'INBOX (\\Seen) "01-Jan-2024 00:00:00 +0000" {3}\r\n') == ([], PLUS)
    [append], out = _exchange(server, b"abc\r\n")
    assert out == b""
    assert isinstance(append, C.Append) and append.mailbox == "INBOX"
    assert [m.data for m in append.messages] == [b"abc"]


def test_multiappend_advertised_allows_several_messages() -> None:
    server = _server(logged_in=True, capabilities=(*DEFAULT_CAPABILITIES, "MULTIAPPEND"))
    assert _exchange(server, b"b APPEND INBOX {3}\r\n") == ([], PLUS)
    assert _exchange(server, b"abc {3}\r\n") == ([], PLUS)
    [append], out = _exchange(server, b"def\r\n")
    assert out == b""
    assert isinstance(append, C.Append)
    assert [m.data for m in append.messages] == [b"abc", b"def"]


# ---- the bound on a whole command ------------------------------------------------------


def test_command_size_bounds_all_literals_together() -> None:
    limits = IMAPLimits(command_size=200)
    server = _server(
        logged_in=True, capabilities=(*DEFAULT_CAPABILITIES, "MULTIAPPEND"), limits=limits
    )
    assert _exchange(server, b"b APPEND INBOX {100}\r\n") == ([], PLUS)
    [too_big], out = _exchange(server, b"m" * 100 + b" {100}\r\n")
    assert isinstance(too_big, BadCommand)
    assert out == b"b NO [TOOBIG] Literal too large\r\n"
    # A single literal within literal_size but over command_size: the same.
    [too_big], out = _exchange(server, b"c APPEND INBOX {190}\r\n")
    assert out == b"c NO [TOOBIG] Literal too large\r\n"
    [noop], _ = _exchange(server, b"d NOOP\r\n")
    assert noop == C.Noop(tag="d")


def test_default_command_size_is_one_maximal_literal() -> None:
    limits = IMAPLimits()
    assert limits.command_size == limits.literal_size + limits.line_length
    # It follows literal_size (a server raising APPENDLIMIT raises both).
    big = IMAPLimits(literal_size=1 << 30, line_length=1000)
    assert big.command_size == (1 << 30) + 1000
    assert limits.unauthenticated_command_size <= limits.line_length


def test_a_literal_of_literal_size_fits_the_default_command_size() -> None:
    server = _server(logged_in=True, limits=IMAPLimits(literal_size=2000))
    assert _exchange(server, b"d APPEND INBOX (\\Seen) {2000}\r\n") == ([], PLUS)
    [append], _ = _exchange(server, b"x" * 2000 + b"\r\n")
    assert isinstance(append, C.Append) and len(append.messages[0].data) == 2000


def test_literal_minus_refusal_happens_before_the_octets() -> None:
    # RFC 7888 §5: without LITERAL+, {n+} is limited to 4096 octets; the
    # refusal is sent at the announcement and the octets are dropped.
    server = _server(logged_in=True, capabilities=("IMAP4rev2",))
    [bad], out = _exchange(server, b"a APPEND m {4097+}\r\n")
    assert isinstance(bad, BadCommand) and out == b"a BAD [TOOBIG] Literal too large\r\n"
    assert server._input.fragmentizer.buffered == 0
    [noop], out = _exchange(server, b"b" * 4097 + b"\r\nc NOOP\r\n")
    assert noop == C.Noop(tag="c") and out == b""


# ---- AUTHENTICATE and IDLE: no literal belongs there ----------------------------------


def test_non_synchronising_literal_in_a_sasl_answer_is_dropped() -> None:
    server = _server()
    events, out = _exchange(server, b"a AUTHENTICATE PLAIN\r\n")
    assert events == [] and out == b"+ \r\n"
    [failed, noop], out = _exchange(server, b"{5+}\r\nhello\r\nb NOOP\r\n")
    assert isinstance(failed, AuthFailed)
    assert out == b"a BAD Malformed SASL response\r\n"
    assert noop == C.Noop(tag="b")


def test_non_synchronising_literal_during_idle_ends_it() -> None:
    server = _server(logged_in=True)
    [idle], _ = _exchange(server, b"i IDLE\r\n")
    assert idle == C.Idle(tag="i")
    server.send(R.Continuation(text="idling"))
    server.data_to_send()
    events, out = _exchange(server, b"{5+}\r\nhello\r\nb NOOP\r\n")
    assert [type(e) for e in events] == [BadCommand, C.Noop]
    assert out == b"i BAD Expected DONE\r\n"


def test_synchronising_literal_in_a_sasl_answer_is_fatal() -> None:
    server = _server()
    _exchange(server, b"a AUTHENTICATE PLAIN\r\n")
    with pytest.raises(RemoteProtocolError):
        server_events(server, b"{5}\r\n")
    assert server.data_to_send() == b"* BYE Unexpected literal\r\n"


# ---- the fragmentizer's part -------------------------------------------------------------


def test_fragmentizer_reports_non_synchronising_literals_with_the_command_size() -> None:
    f = Fragmentizer(report_sync_literals=True, report_non_sync_literals=True)
    f.receive_data(b"a LOGIN {5+}\r\nalice {6}\r\nsecret\r\n")
    first = f.next_message()
    assert isinstance(first, LiteralAnnounced) and not first.synchronizing
    assert f.message_octets == len(b"a LOGIN {5+}\r\n") + 5
    second = f.next_message()
    assert isinstance(second, LiteralAnnounced) and second.synchronizing
    assert second.index == 1
    assert f.message_octets == len(b"a LOGIN {5+}\r\n") + 5 + len(b" {6}\r\n") + 6
    message = f.next_message()
    assert isinstance(message, RawMessage) and message.literals == (b"alice", b"secret")
    assert f.message_octets == 0


def test_fragmentizer_without_the_option_reports_only_synchronising_literals() -> None:
    f = Fragmentizer(report_sync_literals=True)
    f.receive_data(b"a LOGIN {5+}\r\nalice {6}\r\n")
    announced = f.next_message()
    assert isinstance(announced, LiteralAnnounced) and announced.index == 1


def test_fragmentizer_skips_a_too_large_non_synchronising_literal_when_reporting() -> None:
    f = Fragmentizer(limits=IMAPLimits(literal_size=10), report_non_sync_literals=True)
    f.receive_data(b"a APPEND x {11+}\r\n0123")
    with pytest.raises(LimitExceeded) as info:
        f.next_message()
    # Not fatal: nothing poisoned, the command is being skipped.
    assert info.value.hint is not None and not info.value.hint.fatal
    assert info.value.hint.response_code == "TOOBIG" and info.value.limit == "literal_size"
    assert f.skipping and not f.in_message
    assert f.next_message() is NEED_DATA and f.buffered == 0
    f.receive_data(b"4567890\r\nb NOOP\r\n")
    assert bytes(f.next_message()) == b"b NOOP\r\n"  # type: ignore[arg-type]
    assert not f.skipping


def test_fragmentizer_without_reports_still_poisons_a_too_large_non_sync_literal() -> None:
    # The client side (a response cannot be refused) and plain decoders.
    f = Fragmentizer(limits=IMAPLimits(literal_size=10), report_sync_literals=True)
    f.receive_data(b"a APPEND x {11+}\r\n")
    with pytest.raises(LimitExceeded) as info:
        f.next_message()
    assert info.value.hint is not None and info.value.hint.fatal
    with pytest.raises(LimitExceeded):
        f.next_message()


@pytest.mark.parametrize(
    ("digits", "number64"),
    [
        (b"0", True),
        (b"9223372036854775807", True),
        (b"00000000000000000000009223372036854775807", True),
        (b"9223372036854775808", False),
        (b"99999999999999999999", False),
        # Past int()'s digit limit (CPython 3.11): never converted.
        pytest.param(b"1" + b"0" * 5000, False, id="5001-digits"),
    ],
)
def test_number64_bound(digits: bytes, number64: bool) -> None:
    from mailproto.imap._fragmentizer import _is_number64

    assert _is_number64(digits) is number64


def test_fragmentizer_skip_keeps_nothing() -> None:
    f = Fragmentizer(report_non_sync_literals=True)
    f.receive_data(b"a APPEND x {10+}\r\n01234")
    assert isinstance(f.next_message(), LiteralAnnounced)
    f.skip()
    assert f.next_message() is NEED_DATA
    f.receive_data(b"56789 {3+}\r\nab")
    assert f.next_message() is NEED_DATA
    assert f.buffered == 0 and not f.in_message
    f.receive_data(b"c\r\nb NOOP\r\n")
    assert bytes(f.next_message()) == b"b NOOP\r\n"  # type: ignore[arg-type]


# ---- properties ---------------------------------------------------------------------


SESSION = (
    b"a APPEND INBOX {20}\r\n"
    b"b APPEND INBOX {6+}\r\nabcdef {2+}\r\nxy\r\n"
    b"c NOOP {3}\r\n"
    b"d LOGIN {5+}\r\nalice {6}\r\n"
    b"secret\r\n"
)


def _run(chunks: list[bytes], limits: IMAPLimits | None = None) -> tuple[list[Any], bytes]:
    server = _server(limits=limits)
    events: list[Any] = []
    out = b""
    for chunk in chunks:
        server.receive_data(chunk)
        while True:
            event = server.next_event()
            if event is NEED_DATA or event is PAUSED:
                break
            events.append(event)
        out += server.data_to_send()
    return events, out


def test_session_transcript() -> None:
    events, out = _run([SESSION])
    assert [type(e) for e in events] == [BadCommand, BadCommand, BadCommand, C.Login]
    assert out == (
        b"a BAD Command not valid in this state\r\n"
        b"b BAD Command not valid in this state\r\n"
        b"c BAD Command takes no literal\r\n" + PLUS
    )


@given(st.lists(st.integers(min_value=0, max_value=len(SESSION)), max_size=8))
def test_refusals_do_not_depend_on_how_the_bytes_are_split(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    # (b"" would mean the client closed the connection.)
    chunks = [SESSION[i:j] for i, j in zip([0, *points], [*points, len(SESSION)]) if i < j]
    assert _run(chunks) == _run([SESSION])


_PIECES = st.sampled_from(
    [
        b"a APPEND INBOX ",
        b"a LOGIN ",
        b"a NOOP ",
        b"a UID FETCH 1 BODY[",
        b"a ID (",
        b"{3}",
        b"{3+}",
        b"{9999999+}",
        b"{2-}",
        b"~{2}",
        b"abc",
        b"\r\n",
        b"\n",
        b" ",
        b"u p",
        b"a AUTHENTICATE PLAIN",
        b"DONE",
        b"b IDLE",
    ]
)


@given(st.lists(_PIECES | st.binary(max_size=8), max_size=40))
def test_hostile_literal_streams_raise_only_protocol_errors(pieces: list[bytes]) -> None:
    data = b"".join(pieces) or b" "  # (b"" would mean the client closed)
    limits = IMAPLimits(literal_size=4096, unauthenticated_command_size=64, errors=5)
    for logged_in in (False, True):
        server = _server(logged_in=logged_in, limits=limits)
        server.receive_data(data)
        try:
            for _ in range(200):
                event = server.next_event()
                if event is NEED_DATA or event is PAUSED:
                    break
        except ProtocolError:
            # A framing error is answered with BYE before it is raised.
            assert b"* BYE " in server.data_to_send()
            assert state(server) is State.LOGOUT
