"""The state tables, and every (state, command) pair through both connections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.errors import LocalProtocolError
from mailproto.imap._events import BadCommand
from mailproto.imap._state import (
    ALLOWED_STATES,
    TRANSITIONS,
    SessionState,
    State,
    command_name,
    missing_capability,
)
from mailproto.imap.client import ClientConnection
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import SearchKey, SequenceSet
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from tests.imap_conn.pair import client_events, server_events

ALL_CAPS = (
    "IMAP4rev1",
    "IMAP4rev2",
    "IDLE",
    "ENABLE",
    "ID",
    "MOVE",
    "UNSELECT",
    "NAMESPACE",
    "QUOTA",
    "QUOTASET",
    "UIDPLUS",
    "ESEARCH",
    "CONDSTORE",
)


def sample_commands(tag: str) -> list[C.Command]:
    """One instance of every command class."""
    seq = SequenceSet.of(1)
    return [
        C.Capability(tag=tag),
        C.Noop(tag=tag),
        C.Logout(tag=tag),
        C.StartTLS(tag=tag),
        C.Login(tag=tag, username="u", password="p"),
        C.Authenticate(tag=tag, mechanism="PLAIN", initial_response=b"\0u\0p"),
        C.Enable(tag=tag, capabilities=("CONDSTORE",)),
        C.Select(tag=tag, mailbox="INBOX"),
        C.Examine(tag=tag, mailbox="INBOX"),
        C.Create(tag=tag, mailbox="x"),
        C.Delete(tag=tag, mailbox="x"),
        C.Rename(tag=tag, mailbox="x", new_name="y"),
        C.Subscribe(tag=tag, mailbox="x"),
        C.Unsubscribe(tag=tag, mailbox="x"),
        C.List(tag=tag, reference="", patterns=("*",)),
        C.Lsub(tag=tag, reference="", pattern="*"),
        C.Namespace(tag=tag),
        C.Status(tag=tag, mailbox="x", items=("MESSAGES",)),
        C.Append(tag=tag, mailbox="x", messages=(C.AppendMessage(data=b"a"),)),
        C.Idle(tag=tag),
        C.Check(tag=tag),
        C.Close(tag=tag),
        C.Unselect(tag=tag),
        C.Expunge(tag=tag),
        C.Search(tag=tag, keys=(SearchKey(op="ALL"),)),
        C.Fetch(tag=tag, sequence_set=seq, attributes=("FLAGS",)),
        C.Store(tag=tag, sequence_set=seq, mode="+", flags=("\\Seen",)),
        C.Copy(tag=tag, sequence_set=seq, mailbox="x"),
        C.Move(tag=tag, sequence_set=seq, mailbox="x"),
        C.Id(tag=tag),
        C.Compress(tag=tag),
        C.GetQuota(tag=tag, root=""),
        C.GetQuotaRoot(tag=tag, mailbox="INBOX"),
        C.SetQuota(tag=tag, root="", limits=(("STORAGE", 10),)),
        C.Experimental(tag=tag, name="XPIG-LATIN"),
    ]


def test_every_command_class_has_a_name_and_states() -> None:
    assert {type(c) for c in sample_commands("a")} == set(C.COMMANDS)
    for command in sample_commands("a"):
        assert command_name(command) in ALLOWED_STATES


def test_table_matches_rfc9051_section_6() -> None:
    n, a, s = State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED
    assert ALLOWED_STATES["LOGIN"] == {n}
    assert ALLOWED_STATES["FETCH"] == {s}
    assert ALLOWED_STATES["SELECT"] == {a, s}
    assert ALLOWED_STATES["ENABLE"] == {a}
    assert ALLOWED_STATES["NOOP"] == {n, a, s}
    assert TRANSITIONS[(State.GREETING, "GREETING", "PREAUTH")] is a
    assert TRANSITIONS[(s, "SELECT", "NO")] is a  # §6.3.2: failed SELECT deselects
    assert (a, "SELECT", "BAD") not in TRANSITIONS


def test_missing_capability() -> None:
    caps = {"IMAP4REV1"}
    assert missing_capability(C.Idle(tag="a"), caps) == "IDLE"
    assert missing_capability(C.Idle(tag="a"), caps | {"IMAP4REV2"}) is None
    assert missing_capability(C.Login(tag="a", username="u", password="p"), caps) is None
    assert missing_capability(
        C.Login(tag="a", username="u", password="p"), caps | {"LOGINDISABLED"}
    )
    assert missing_capability(C.Expunge(tag="a", uids=SequenceSet.of(1)), caps) == "UIDPLUS"
    assert missing_capability(C.Select(tag="a", mailbox="x", condstore=True), caps) == "CONDSTORE"


def _client_in(state: State) -> ClientConnection:
    client = ClientConnection(check_capabilities=False)
    greeting = b"* PREAUTH hi\r\n" if state is not State.NOT_AUTHENTICATED else b"* OK hi\r\n"
    client_events(client, greeting)
    if state is State.SELECTED:
        client.send(C.Select(tag="s", mailbox="INBOX"))
        client.data_to_send()
        client_events(client, b"s OK done\r\n")
    assert client.state is state
    return client


def _server_in(state: State) -> ServerConnection:
    server = ServerConnection(capabilities=ALL_CAPS, compress=True, starttls=True)
    status = "OK" if state is State.NOT_AUTHENTICATED else "PREAUTH"
    server.send(R.StatusResponse(tag=None, status=status, text="hi"))  # type: ignore[arg-type]
    if state is State.SELECTED:
        server_events(server, b"s SELECT INBOX\r\n")
        server.send(R.StatusResponse(tag="s", status="OK", text="done"))
    server.data_to_send()
    assert server.state is state
    return server


STATES = [State.NOT_AUTHENTICATED, State.AUTHENTICATED, State.SELECTED]


@given(
    state=st.sampled_from(STATES),
    index=st.integers(0, len(C.COMMANDS) - 1),
    status=st.sampled_from(["OK", "NO", "BAD"]),
)
def test_every_state_command_pair(state: State, index: int, status: str) -> None:
    """Each (state, command): allowed and transitions per the table, or refused."""
    command = sample_commands("t1")[index]
    name = command_name(command)
    allowed = state in ALLOWED_STATES[name]
    client = _client_in(state)
    server = _server_in(state)
    if isinstance(command, C.Authenticate):
        from mailproto import sasl
        from mailproto.imap._events import SaslQuestion

        mech = sasl.client_mechanism("PLAIN", username="u", password="p")
        if not allowed:
            with pytest.raises(LocalProtocolError):
                client.authenticate(mech, tag="t1")
        else:
            client.authenticate(mech, tag="t1")
            # Capabilities unknown: no SASL-IR, the response waits for "+".
            assert client.data_to_send() == b"t1 AUTHENTICATE PLAIN\r\n"
        events = server_events(server, b"t1 AUTHENTICATE PLAIN AHUAcA==\r\n")
        assert isinstance(events[0], SaslQuestion if allowed else BadCommand)
        return
    if isinstance(command, C.Logout):
        client.send(command)
        server_events(server, client.data_to_send())
        assert server.state is State.LOGOUT
        return
    # Client side: send() refuses exactly the commands the table refuses.
    if not allowed:
        with pytest.raises(LocalProtocolError):
            client.send(command)
    else:
        client.send(command)
        client.data_to_send()
        events = client_events(client, f"t1 {status} done\r\n".encode())
        assert events[-1].status == status
        assert client.state is SessionState.after(state, name, status)
    # Server side: a refused command is answered BAD by the server itself.
    wire = b"".join(
        f.data
        for f in __import__("mailproto.imap.codec", fromlist=["encode_command"]).encode_command(
            command, literal_mode="plus"
        )
    )
    events = server_events(server, wire)
    if not allowed:
        assert isinstance(events[0], BadCommand)
        assert server.data_to_send().startswith(b"t1 BAD ")
        assert server.state is state
    elif isinstance(command, C.Capability):
        assert server.data_to_send().endswith(b"t1 OK CAPABILITY completed\r\n")
    else:
        assert events == [command] or isinstance(events[0], BadCommand) is False
        server.send(R.StatusResponse(tag="t1", status=status, text="done"))  # type: ignore[arg-type]
        assert server.state is SessionState.after(state, name, status) or (
            name in ("STARTTLS", "COMPRESS") and server.state is state
        )


def test_client_refuses_pipelining_after_a_barrier() -> None:
    client = _client_in(State.AUTHENTICATED)
    client.send(C.Noop(tag="a"))
    with pytest.raises(LocalProtocolError):
        client.send(C.Select(tag="b", mailbox="INBOX"))  # a barrier behind NOOP
    client_events(client, b"a OK\r\n")
    client.send(C.Select(tag="b", mailbox="INBOX"))
    with pytest.raises(LocalProtocolError):
        client.send(C.Noop(tag="c"))  # nothing behind a barrier


def test_server_defers_a_barrier_until_earlier_commands_complete() -> None:
    server = _server_in(State.AUTHENTICATED)
    events = server_events(server, b"a NOOP\r\nb SELECT INBOX\r\nc NOOP\r\n")
    assert events == [C.Noop(tag="a")]
    server.send(R.StatusResponse(tag="a", status="OK", text="done"))
    assert server_events(server, b"") == [C.Select(tag="b", mailbox="INBOX")]
    server.send(R.StatusResponse(tag="b", status="OK", text="done"))
    # SELECT succeeded: the NOOP behind it is read in the selected state.
    assert server_events(server, b"") == [C.Noop(tag="c")]
    assert server.state is State.SELECTED


def test_server_refuses_expunge_during_fetch_but_not_uid_fetch() -> None:
    server = _server_in(State.SELECTED)
    server_events(server, b"a FETCH 1 FLAGS\r\n")
    with pytest.raises(LocalProtocolError):
        server.send(R.ExpungeResponse(seq=1))
    with pytest.raises(LocalProtocolError):
        server.send(R.Vanished(earlier=False, uids=SequenceSet.of(3)))
    server.send(R.Exists(count=5))  # EXISTS is always allowed (§7.4.1)
    server.send(R.StatusResponse(tag="a", status="OK", text="done"))
    server_events(server, b"b UID FETCH 1 FLAGS\r\n")
    server.send(R.ExpungeResponse(seq=1))  # allowed during a UID command
    assert b"* 1 EXPUNGE\r\n" in server.data_to_send()


def test_server_refuses_unknown_tags_and_stray_continuations() -> None:
    server = _server_in(State.AUTHENTICATED)
    with pytest.raises(LocalProtocolError):
        server.send(R.StatusResponse(tag="zz", status="OK", text="x"))
    with pytest.raises(LocalProtocolError):
        server.send(R.Continuation(text="go on"))


def test_too_many_errors_ends_the_session() -> None:
    from mailproto.errors import RemoteProtocolError
    from mailproto.limits import IMAPLimits

    server = ServerConnection(limits=IMAPLimits(errors=3))
    server.send(R.StatusResponse(tag=None, status="OK", text="hi"))
    with pytest.raises(RemoteProtocolError):
        server_events(server, b"a FOO\r\nb FOO\r\nc FOO\r\n")
    assert server.data_to_send().endswith(b"* BYE Too many errors\r\n")
    assert server.state is State.LOGOUT


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("OK", State.NOT_AUTHENTICATED),
        ("PREAUTH", State.AUTHENTICATED),
        ("BYE", State.LOGOUT),
    ],
)
def test_greetings(status: str, expected: State) -> None:
    """RFC 9051 §3 (1)-(3): the greeting chooses the first state, on both sides."""
    from mailproto.imap._events import Greeting

    server = ServerConnection()
    server.send(R.StatusResponse(tag=None, status=status, text="hello"))  # type: ignore[arg-type]
    client = ClientConnection()
    [greeting] = client_events(client, server.data_to_send())
    assert isinstance(greeting, Greeting) and greeting.status == status
    assert client.state is expected and server.state is expected
    if expected is State.LOGOUT:
        with pytest.raises(LocalProtocolError):
            client.send(C.Noop(tag="a"))
        with pytest.raises(LocalProtocolError):
            server.send(R.Exists(count=1))


def test_client_refuses_a_stray_greeting_or_unknown_tag() -> None:
    from mailproto.errors import RemoteProtocolError

    client = ClientConnection()
    with pytest.raises(RemoteProtocolError):
        client_events(client, b"a OK not a greeting\r\n")
    client = ClientConnection()
    client_events(client, b"* OK hi\r\n")
    with pytest.raises(RemoteProtocolError):
        client_events(client, b"zz OK who?\r\n")
    with pytest.raises(RemoteProtocolError):  # the connection stays failed
        client.next_event()
