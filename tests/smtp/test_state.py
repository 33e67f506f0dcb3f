"""The transition table against RFC 5321 §4.1.4 and the extension RFCs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto import ProtocolError, sasl
from mailproto.smtp import TRANSITIONS, Ehlo, ServerConfig, ServerConnection, State, Verb
from mailproto.smtp._state import ENDS_PIPELINE_GROUP, transition
from tests.smtp._helpers import Pair, ServerApp, replies_of


def test_every_state_reachable_from_greeting() -> None:
    seen = {State.GREETING}
    frontier = [State.GREETING]
    while frontier:
        s = frontier.pop()
        for (src, _), tr in TRANSITIONS.items():
            if src is s:
                for nxt in (tr.ok, tr.fail, tr.more):
                    if nxt is not None and nxt not in seen:
                        seen.add(nxt)
                        frontier.append(nxt)
    assert seen == set(State)


def test_rfc5321_order_of_commands() -> None:
    # §4.1.4: no mail transaction before HELO/EHLO.
    assert transition(State.CONNECTED, Verb.MAIL) is None
    # One transaction at a time; DATA needs an accepted recipient (§3.3).
    assert transition(State.MAIL, Verb.MAIL) is None
    assert transition(State.MAIL, Verb.DATA) is None
    assert transition(State.READY, Verb.RCPT) is None
    # RSET, NOOP and QUIT work everywhere a command can be read.
    for s in (State.CONNECTED, State.READY, State.MAIL, State.RCPT, State.BDAT):
        assert transition(s, Verb.RSET) is not None
        assert transition(s, Verb.NOOP) is not None
        tr = transition(s, Verb.QUIT)
        assert tr is not None and tr.ok is State.CLOSED
    # EHLO resets a transaction; a refused one leaves the state alone.
    tr = transition(State.RCPT, Verb.EHLO)
    assert tr is not None and tr.ok is State.READY and tr.fail is State.RCPT
    # RFC 3030: only BDAT (and RSET/NOOP/QUIT) between chunks; DATA never.
    assert transition(State.BDAT, Verb.DATA) is None
    assert transition(State.BDAT, Verb.MAIL) is None
    # RFC 4954 §4: no AUTH inside a transaction.
    assert transition(State.MAIL, Verb.AUTH) is None
    # RFC 2920 §3.1: group-ending commands.
    assert {Verb.EHLO, Verb.DATA, Verb.QUIT, Verb.NOOP} <= ENDS_PIPELINE_GROUP
    assert Verb.RCPT not in ENDS_PIPELINE_GROUP and Verb.BDAT not in ENDS_PIPELINE_GROUP


COMMANDS = {
    Verb.HELO: b"HELO c\r\n",
    Verb.EHLO: b"EHLO c\r\n",
    Verb.LHLO: b"LHLO c\r\n",
    Verb.MAIL: b"MAIL FROM:<a@b.example>\r\n",
    Verb.RCPT: b"RCPT TO:<c@d.example>\r\n",
    Verb.DATA: b"DATA\r\n",
    Verb.BDAT: b"BDAT 1\r\nx",
    Verb.BDAT_LAST: b"BDAT 1 LAST\r\nx",
    Verb.RSET: b"RSET\r\n",
    Verb.VRFY: b"VRFY x\r\n",
    Verb.EXPN: b"EXPN x\r\n",
    Verb.HELP: b"HELP\r\n",
    Verb.NOOP: b"NOOP\r\n",
    Verb.QUIT: b"QUIT\r\n",
    Verb.STARTTLS: b"STARTTLS\r\n",
    Verb.AUTH: b"AUTH PLAIN\r\n",
}


@given(st.lists(st.sampled_from(sorted(COMMANDS, key=lambda v: v.value)), max_size=12))
def test_server_state_follows_table(verbs: list[Verb]) -> None:
    """Any command sequence: the server's state moves exactly as the table says
    (or stays put when the command is refused)."""
    app = ServerApp(ServerConnection(ServerConfig(starttls=True)))
    app.greet()
    for verb in verbs:
        before = app.conn.state
        if before in (State.CLOSED, State.TLS_HANDSHAKE, State.DATA):
            break
        try:
            out = app.feed(COMMANDS[verb])
        except ProtocolError:
            break
        after = app.conn.state
        tr = transition(before, verb)
        if tr is None:
            assert after is before or out.startswith((b"4", b"5")), (before, verb, after)
        else:
            assert after in {tr.ok, tr.fail, tr.more, State.READY, State.BDAT}, (
                before,
                verb,
                after,
            )


def test_scram_through_smtp() -> None:
    # A multi-step mechanism: 334 challenges both ways, the server's final
    # message verified by the client before 235 counts (RFC 5802, RFC 4954).
    cfg = ServerConfig(auth_mechanisms=("SCRAM-SHA-256",), auth_requires_tls=False)
    p = Pair.start(ServerConnection(cfg))
    p.app.scram["user"] = sasl.scram_credentials("pencil", iterations=4096)
    p.exchange(Ehlo(domain="c"))
    mech = sasl.client_mechanism("SCRAM-SHA-256", username="user", password="pencil")
    p.client.authenticate(mech)
    events = p.flush()
    assert replies_of(events) == [334, 334, 235]
    assert p.client.authenticated and mech.complete
    assert p.server.authenticated is not None and p.server.authenticated.authcid == "user"
    # A wrong password fails at the proof.
    p = Pair.start(ServerConnection(cfg))
    p.app.scram["user"] = sasl.scram_credentials("pencil", iterations=4096)
    p.exchange(Ehlo(domain="c"))
    p.client.authenticate(sasl.client_mechanism("SCRAM-SHA-256", username="user", password="x"))
    assert replies_of(p.flush())[-1] == 535
