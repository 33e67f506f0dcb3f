"""Extension RFC examples as transcripts through a client–server pair.

Every line is checked on the wire both ways (:class:`tests.imap_conn.pair.Pair`):
the client's command bytes, and the server's response bytes as the client
reads them.  Covered: RFC 7888 (LITERAL+, LITERAL-), the RFC 7162 examples
not in ``test_extensions`` (CONDSTORE STORE/FETCH/SEARCH/STATUS, SELECT
QRESYNC, UID FETCH VANISHED, EXPUNGE as VANISHED), RFC 2342 NAMESPACE,
RFC 9208 QUOTA and RFC 5258 LIST-EXTENDED (with RFC 5819 LIST-STATUS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mailproto.errors import LocalProtocolError
from mailproto.imap import codec
from mailproto.imap._events import BadCommand, Completed, Untagged
from mailproto.imap._state import State
from mailproto.imap.client import ClientConnection
from mailproto.imap.server import ServerConnection
from mailproto.imap.types import SequenceSet
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from tests.imap_conn.pair import Pair, client_events, server_events, state


def _authenticated(caps: bytes) -> Pair:
    server = ServerConnection(
        announce_capabilities=False, capabilities=tuple(caps.decode().split())
    )
    p = Pair(server)
    p.s(b"* OK [CAPABILITY " + caps + b"] ready\r\n")
    p.c(C.Login(tag="a0", username="u", password="p"), b"a0 LOGIN u p\r\n")
    p.s(b"a0 OK [CAPABILITY " + caps + b"] logged in\r\n")
    return p


def _selected(caps: bytes, *, qresync: bool = False) -> Pair:
    p = _authenticated(caps)
    if qresync:
        p.c(C.Enable(tag="e", capabilities=("QRESYNC",)), b"e ENABLE QRESYNC\r\n")
        p.s(b"* ENABLED QRESYNC\r\n")
        p.s(b"e OK enabled\r\n")
    p.c(C.Select(tag="s", mailbox="INBOX"), b"s SELECT INBOX\r\n")
    p.s(b"s OK [READ-WRITE] SELECT completed\r\n")
    return p


def _cmd(wire: bytes) -> C.Command:
    """The command *wire* spells (built by the codec, so tests read like the RFC)."""
    command = codec.parse_command(wire)
    assert not isinstance(command, C.Done)
    return command


def _mine(events: list[object], handle: object) -> list[Any]:
    """The responses among *events* that the client routed to *handle*."""
    out: list[Any] = []
    for event in events:
        assert isinstance(event, Untagged)
        assert event.handle == handle, event
        out.append(event.response)
    return out


# ---- RFC 7888: LITERAL+ and LITERAL- -------------------------------------------------


def test_rfc7888_section3_example_read_by_the_server_without_continuations() -> None:
    server = ServerConnection(announce_capabilities=False)
    server.send(R.StatusResponse(tag=None, status="OK", text="ready"))
    server.data_to_send()
    # The RFC's bytes exactly: two non-synchronising literals, no "+" between.
    [login] = server_events(server, b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n")
    assert login == C.Login(tag="A001", username="FRED FOOBAR", password="fat man")
    assert server.data_to_send() == b""  # no continuation request
    server.send(R.StatusResponse(tag="A001", status="OK", text="LOGIN completed"))
    assert server.data_to_send() == b"A001 OK LOGIN completed\r\n"
    assert state(server) is State.AUTHENTICATED


def test_rfc7888_literal_plus_client_sends_literals_without_waiting() -> None:
    p = _authenticated(b"IMAP4rev1 LITERAL+")
    big = b"x" * 10_000  # LITERAL+ has no size ceiling (RFC 7888 §3)
    h = p.c(
        C.Append(tag="A003", mailbox="saved-messages", messages=(C.AppendMessage(data=big),)),
        b"A003 APPEND saved-messages {10000+}\r\n" + big + b"\r\n",
    )
    [append] = p.server_events
    assert isinstance(append, C.Append) and append.messages[0].data == big
    assert p.server.data_to_send() == b""  # the server sent no "+"
    [done] = p.s(b"A003 OK APPEND completed\r\n")
    assert isinstance(done, Completed) and done.handle == h


def test_rfc7888_literal_minus_client_waits_above_4096_octets() -> None:
    p = _authenticated(b"IMAP4rev1 LITERAL-")
    small = b"s" * 4096
    # RFC 7888 §5: up to 4096 octets the non-synchronising form is allowed.
    p.c(
        C.Append(tag="a1", mailbox="m", messages=(C.AppendMessage(data=small),)),
        b"a1 APPEND m {4096+}\r\n" + small + b"\r\n",
    )
    p.s(b"a1 OK done\r\n")
    big = b"b" * 4097
    # Above that the literal is synchronising: the client stops at "{4097}".
    h = p.c(
        C.Append(tag="a2", mailbox="m", messages=(C.AppendMessage(data=big),)),
        b"a2 APPEND m {4097}\r\n",
    )
    assert p.server.data_to_send() == b"+ Ready for literal data\r\n"
    assert client_events(p.client, b"+ Ready for literal data\r\n") == []
    [append] = server_events(p.server, p.client.data_to_send())
    assert isinstance(append, C.Append) and append.messages[0].data == big
    [done] = p.s(b"a2 OK done\r\n")
    assert isinstance(done, Completed) and done.handle == h


def test_rfc7888_literal_minus_server_refuses_a_larger_non_synchronising_literal() -> None:
    # A server that does not advertise LITERAL+ (only IMAP4rev2's LITERAL-)
    # accepts {n+} up to 4096 octets; a bigger one gets BAD [TOOBIG] (RFC 7888
    # §5), and since its octets were read the session goes on (§4, choice 1).
    server = ServerConnection(announce_capabilities=False, capabilities=("IMAP4rev2",))
    server.send(R.StatusResponse(tag=None, status="PREAUTH", text="hi"))
    server.data_to_send()
    [ok] = server_events(server, b"a1 APPEND m {4096+}\r\n" + b"s" * 4096 + b"\r\n")
    assert isinstance(ok, C.Append)
    server.send(R.StatusResponse(tag="a1", status="OK", text="done"))
    server.data_to_send()
    [bad] = server_events(server, b"a2 APPEND m {4097+}\r\n" + b"b" * 4097 + b"\r\n")
    assert isinstance(bad, BadCommand)
    assert server.data_to_send() == b"a2 BAD [TOOBIG] Literal too large\r\n"
    [noop] = server_events(server, b"a3 NOOP\r\n")
    assert noop == C.Noop(tag="a3")


# ---- RFC 7162: CONDSTORE and QRESYNC ------------------------------------------------


def test_rfc7162_conditional_store_examples_3_6_and_11() -> None:
    p = _selected(b"IMAP4rev1 CONDSTORE")
    # Example 3 (the client writes the UID set ascending).
    h = p.c(
        C.Store(
            tag="a103",
            sequence_set=SequenceSet.parse("6,4,8"),
            mode="+",
            flags=("\\Deleted",),
            silent=True,
            uid=True,
            unchanged_since=12121230045,
        ),
        b"a103 UID STORE 4,6,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)\r\n",
    )
    got = []
    for line in (
        b"* 1 FETCH (UID 4 MODSEQ (12121231000))\r\n",
        b"* 2 FETCH (UID 6 MODSEQ (12121230852))\r\n",
        b"* 4 FETCH (UID 8 MODSEQ (12121230956))\r\n",
    ):
        got += _mine(p.s(line), h)
    assert [(r.uid, r.modseq) for r in got] == [
        (4, 12121231000),
        (6, 12121230852),
        (8, 12121230956),
    ]
    p.s(b"a103 OK Conditional Store completed\r\n")
    # Example 6: the failed messages come back in MODIFIED.
    h = p.c(
        C.Store(
            tag="d105",
            sequence_set=SequenceSet.parse("7,5,9"),
            mode="+",
            flags=("\\Deleted",),
            silent=True,
            unchanged_since=320162338,
        ),
        b"d105 STORE 5,7,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
    )
    _mine(p.s(b"* 5 FETCH (MODSEQ (320162350))\r\n"), h)
    [done] = p.s(b"d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n")
    assert isinstance(done, Completed) and done.code is not None
    assert done.code.name == "MODIFIED" and done.code.value == SequenceSet.parse("7,9")
    # Example 11: MODIFIED in a tagged NO.
    p.c(
        C.Store(
            tag="B001",
            sequence_set=SequenceSet.parse("1:7"),
            mode="+",
            flags=("\\SEEN",),
            unchanged_since=320172338,
        ),
        b"B001 STORE 1:7 (UNCHANGEDSINCE 320172338) +FLAGS (\\SEEN)\r\n",
    )
    [done] = p.s(b"B001 NO [MODIFIED 2] Some of the messages no longer exist.\r\n")
    assert isinstance(done, Completed) and done.status == "NO"
    assert done.code is not None and done.code.name == "MODIFIED"


def test_rfc7162_fetch_modseq_search_modseq_and_status_highestmodseq() -> None:
    p = _selected(b"IMAP4rev1 CONDSTORE ESEARCH")
    # Example 13.
    h = p.c(
        C.Fetch(tag="a", sequence_set=SequenceSet.parse("1:3"), attributes=("MODSEQ",)),
        b"a FETCH 1:3 (MODSEQ)\r\n",
    )
    [r] = _mine(p.s(b"* 1 FETCH (MODSEQ (624140003))\r\n"), h)
    assert isinstance(r, R.FetchResponse) and r.modseq == 624140003
    p.s(b"a OK Fetch complete\r\n")
    # Example 15: SEARCH MODSEQ with an entry name; the answer carries MODSEQ.
    wire = b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338\r\n'
    h = p.c(_cmd(wire), wire)
    [r] = _mine(p.s(b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n"), h)
    assert isinstance(r, R.SearchResponse) and r.modseq == 917162500
    p.s(b"a OK Search complete\r\n")
    # Example 17.
    h = p.c(
        C.Status(tag="A042", mailbox="blurdybloop", items=("UIDNEXT", "MESSAGES", "HIGHESTMODSEQ")),
        b"A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)\r\n",
    )
    [r] = _mine(
        p.s(b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777)\r\n"), h
    )
    assert isinstance(r, R.StatusData) and r.get("HIGHESTMODSEQ") == 7011231777
    p.s(b"A042 OK STATUS completed\r\n")
    # Example 19: ESEARCH with MODSEQ.
    wire = b"a SEARCH RETURN (ALL) MODSEQ 1234\r\n"
    h = p.c(_cmd(wire), wire)
    [r] = _mine(p.s(b'* ESEARCH (TAG "a") ALL 1:3,5 MODSEQ 1236\r\n'), h)
    assert isinstance(r, R.Esearch)
    p.s(b"a OK Extended SEARCH completed\r\n")


def test_rfc7162_select_qresync_section_3_2_5_1() -> None:
    p = _selected(b"IMAP4rev1 ENABLE CONDSTORE QRESYNC", qresync=True)
    wire = b"A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n"
    h = p.c(_cmd(wire), wire)
    lines = [
        b"* OK [CLOSED]\r\n",
        b"* 100 EXISTS\r\n",
        b"* 11 RECENT\r\n",
        b"* OK [UIDVALIDITY 67890007] UIDVALIDITY\r\n",
        b"* OK [UIDNEXT 600] Predicted next UID\r\n",
        b"* OK [HIGHESTMODSEQ 90060115205545359] Highest mailbox mod-sequence\r\n",
        b"* OK [UNSEEN 7] There are some unseen messages in the mailbox\r\n",
        b"* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen)\r\n",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen \\*)] "
        b"Permanent flags\r\n",
        b"* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n",
        b"* 49 FETCH (UID 117 FLAGS (\\Seen \\Answered) MODSEQ (90060115194045001))\r\n",
        b"* 50 FETCH (UID 119 FLAGS (\\Draft $MDNSent) MODSEQ (90060115194045308))\r\n",
        b"* 51 FETCH (UID 541 FLAGS (\\Seen $Forwarded) MODSEQ (90060115194045001))\r\n",
    ]
    got: list[Any] = []
    for line in lines:
        # The FETCH lines are written in one fixed item order by the server,
        # so they are sent as parsed values and compared as values.
        response = codec.parse_response(line)
        p.server.send(response)
        got += _mine(client_events(p.client, p.server.data_to_send()), h)
    assert [type(r) for r in got][:2] == [R.StatusResponse, R.Exists]
    vanished = got[9]
    assert isinstance(vanished, R.Vanished) and vanished.earlier
    assert vanished.uids == SequenceSet.parse("41,43:116,118,120:211,214:540")
    assert [r.uid for r in got[10:]] == [117, 119, 541]
    [done] = p.s(b"A03 OK [READ-WRITE] mailbox selected\r\n")
    assert isinstance(done, Completed) and done.handle == h
    assert state(p.client) is State.SELECTED and state(p.server) is State.SELECTED


def test_rfc7162_uid_fetch_vanished_and_expunge_as_vanished() -> None:
    p = _selected(b"IMAP4rev1 ENABLE CONDSTORE QRESYNC", qresync=True)
    # §3.2.6, the single-command form.
    wire = b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n"
    h = p.c(_cmd(wire), wire)
    [fetch] = p.server_events
    assert isinstance(fetch, C.Fetch) and fetch.vanished and fetch.changed_since == 12345
    # VANISHED (EARLIER) comes first and may be sent during UID FETCH.
    [v] = _mine(p.s(b"* VANISHED (EARLIER) 300:310,405,411\r\n"), h)
    assert isinstance(v, R.Vanished) and v.earlier
    # A VANISHED without EARLIER would renumber messages: the server refuses
    # it during a FETCH (RFC 7162 §3.2.10.2 keeps EXPUNGE's rule), but only a
    # non-UID one (RFC 9051 §7.5.1); UID FETCH is in flight here.
    for line in (
        b"* 1 FETCH (UID 404 MODSEQ (65402) FLAGS (\\Seen))\r\n",
        b"* 2 FETCH (UID 406 MODSEQ (75403) FLAGS (\\Deleted))\r\n",
    ):
        p.server.send(codec.parse_response(line))
        _mine(client_events(p.client, p.server.data_to_send()), h)
    p.s(b"s100 OK FETCH completed\r\n")
    h = p.c(
        C.Fetch(tag="f", sequence_set=SequenceSet.parse("1:2"), attributes=("FLAGS",)),
        b"f FETCH 1:2 (FLAGS)\r\n",
    )
    with pytest.raises(LocalProtocolError, match="EXPUNGE/VANISHED"):
        p.server.send(R.Vanished(earlier=False, uids=SequenceSet.parse("405")))
    p.s(b"f OK done\r\n")
    # §3.2.7: with QRESYNC enabled EXPUNGE reports VANISHED, then HIGHESTMODSEQ.
    h = p.c(C.Expunge(tag="B202"), b"B202 EXPUNGE\r\n")
    [v] = _mine(p.s(b"* VANISHED 405,407,410,425\r\n"), h)
    assert isinstance(v, R.Vanished) and not v.earlier
    [done] = p.s(b"B202 OK [HIGHESTMODSEQ 20010715194045319] expunged\r\n")
    assert isinstance(done, Completed) and done.code is not None
    assert done.code.name == "HIGHESTMODSEQ" and done.code.value == 20010715194045319


@pytest.mark.parametrize(
    "wire",
    [
        b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
        b"A03 EXAMINE INBOX (QRESYNC (67890007 90060115194045000))\r\n",
        b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
    ],
)
def test_rfc7162_qresync_needs_enable_first(wire: bytes) -> None:
    # QRESYNC advertised but not ENABLEd: RFC 7162 §3.2.5/§3.2.6 say BAD.
    p = _selected(b"IMAP4rev1 ENABLE CONDSTORE QRESYNC")
    command = _cmd(wire)
    with pytest.raises(LocalProtocolError, match="ENABLE QRESYNC"):
        p.client.send(command)
    [bad] = server_events(p.server, wire)
    assert isinstance(bad, BadCommand) and "ENABLE QRESYNC" in bad.reason
    assert p.server.data_to_send().startswith(command.tag.encode() + b" BAD ")


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"a FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n", "UID FETCH modifier only"),
        (b"a UID FETCH 1:* (FLAGS) (VANISHED)\r\n", "needs CHANGEDSINCE"),
    ],
)
def test_rfc7162_vanished_modifier_rules(wire: bytes, reason: str) -> None:
    # RFC 7162 §3.2.6: VANISHED only on UID FETCH, only with CHANGEDSINCE.
    p = _selected(b"IMAP4rev1 ENABLE CONDSTORE QRESYNC", qresync=True)
    with pytest.raises(LocalProtocolError, match=reason):
        p.client.send(_cmd(wire))
    [bad] = server_events(p.server, wire)
    assert isinstance(bad, BadCommand) and reason in bad.reason


# ---- RFC 2342: NAMESPACE -----------------------------------------------------------


def test_rfc2342_namespace_examples() -> None:
    p = _authenticated(b"IMAP4rev1 NAMESPACE")
    # Example 5.4 and 5.6 (extension parameters on a namespace).
    checks: tuple[tuple[bytes, Callable[[R.NamespaceResponse], bool]], ...] = (
        (
            b'* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/")("#public/" "/")'
            b'("#ftp/" "/")("#news." "."))\r\n',
            lambda r: [d.prefix for d in r.shared] == ["#shared/", "#public/", "#ftp/", "#news."],
        ),
        (
            b'* NAMESPACE (("" "/")("#mh/" "/" "X-PARAM" ("FLAG1" "FLAG2"))) NIL NIL\r\n',
            lambda r: r.other == () and r.shared == () and len(r.personal) == 2,
        ),
    )
    for response, check in checks:
        h = p.c(C.Namespace(tag="A001"), b"A001 NAMESPACE\r\n")
        [ns] = _mine(p.s(response), h)
        assert isinstance(ns, R.NamespaceResponse) and check(ns)
        p.s(b"A001 OK NAMESPACE command completed\r\n")
    # Example 5.8: listing another user's namespace may be refused.
    wire = b'A002 LIST "" "#Users/%"\r\n'
    h = p.c(_cmd(wire), b'A002 LIST "" #Users/%\r\n')
    [done] = p.s(b"A002 NO The requested item could not be found.\r\n")
    assert isinstance(done, Completed) and done.status == "NO" and done.handle == h


def test_namespace_needs_the_capability_on_imap4rev1() -> None:
    p = _authenticated(b"IMAP4rev1")
    with pytest.raises(LocalProtocolError, match="NAMESPACE"):
        p.client.send(C.Namespace(tag="A001"))


# ---- RFC 9208: QUOTA ----------------------------------------------------------------


def test_rfc9208_quota_examples() -> None:
    p = _authenticated(b"IMAP4rev1 QUOTA QUOTASET QUOTA=RES-STORAGE QUOTA=RES-MESSAGE")
    # §4.1.2: GETQUOTAROOT answers QUOTAROOT and a QUOTA per root.
    h = p.c(C.GetQuotaRoot(tag="G0002", mailbox="INBOX"), b"G0002 GETQUOTAROOT INBOX\r\n")
    got: list[Any] = []
    for line in (
        b'* QUOTAROOT INBOX "#user/alice" "!partition/sda4"\r\n',
        b'* QUOTA "#user/alice" (MESSAGE 42 1000)\r\n',
        b'* QUOTA "!partition/sda4" (STORAGE 104 10923847)\r\n',
    ):
        p.server.send(codec.parse_response(line))
        got += _mine(client_events(p.client, p.server.data_to_send()), h)
    root, _q1, q2 = got
    assert isinstance(root, R.QuotaRootResponse)
    assert root.roots == ("#user/alice", "!partition/sda4")
    assert isinstance(q2, R.QuotaResponse) and q2.resources == (("STORAGE", 104, 10923847),)
    p.s(b"G0002 OK Getquotaroot complete\r\n")
    # §4.1.3: SETQUOTA, the server rounding the limit.
    h = p.c(
        C.SetQuota(tag="S0001", root="#user/alice", limits=(("STORAGE", 510),)),
        b"S0001 SETQUOTA #user/alice (STORAGE 510)\r\n",
    )
    p.server.send(codec.parse_response(b'* QUOTA "#user/alice" (STORAGE 58 512)\r\n'))
    [q] = _mine(client_events(p.client, p.server.data_to_send()), h)
    assert isinstance(q, R.QuotaResponse) and q.resources == (("STORAGE", 58, 512),)
    p.s(b"S0001 OK Rounded quota\r\n")
    # §4.1.4: the DELETED and DELETED-STORAGE status items.
    wire = b"S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)\r\n"
    h = p.c(_cmd(wire), wire)
    [st] = _mine(p.s(b"* STATUS INBOX (MESSAGES 12 DELETED 4 DELETED-STORAGE 8)\r\n"), h)
    assert isinstance(st, R.StatusData) and st.get("DELETED-STORAGE") == 8
    p.s(b"S0003 OK Status complete.\r\n")
    # §4.3.1 example 3: OVERQUOTA in an untagged NO is a warning, COPY succeeds.
    p.c(C.Select(tag="s", mailbox="INBOX"), b"s SELECT INBOX\r\n")
    p.s(b"s OK [READ-WRITE] done\r\n")
    h = p.c(
        C.Copy(tag="A004", sequence_set=SequenceSet.parse("2:4"), mailbox="MEETING"),
        b"A004 COPY 2:4 MEETING\r\n",
    )
    [warn] = p.s(b"* NO [OVERQUOTA] Soft quota has been exceeded\r\n")
    assert isinstance(warn, Untagged) and warn.handle == h
    [done] = p.s(b"A004 OK [COPYUID 38505 304,319:320 3956:3958] COPY command completed\r\n")
    assert isinstance(done, Completed) and done.ok


def test_rfc9208_setquota_needs_quotaset() -> None:
    # §4.1.3: SETQUOTA is only for servers advertising QUOTASET.
    p = _authenticated(b"IMAP4rev1 QUOTA QUOTA=RES-STORAGE")
    command = C.SetQuota(tag="S", root="", limits=(("STORAGE", 512),))
    with pytest.raises(LocalProtocolError, match="QUOTASET"):
        p.client.send(command)
    [bad] = server_events(p.server, b'S SETQUOTA "" (STORAGE 512)\r\n')
    assert isinstance(bad, BadCommand)
    p.c(C.GetQuota(tag="G", root=""), b'G GETQUOTA ""\r\n')  # GETQUOTA is fine


# ---- RFC 5258: LIST-EXTENDED (and RFC 5819 LIST-STATUS) -----------------------------


def test_rfc5258_list_extended_examples() -> None:
    p = _authenticated(b"IMAP4rev1 LIST-EXTENDED LIST-STATUS CHILDREN")
    # Example 2: SUBSCRIBED selection, \NonExistent for a deleted subscription.
    h = p.c(_cmd(b'A02 LIST (SUBSCRIBED) "" "*"\r\n'), b'A02 LIST (SUBSCRIBED) "" *\r\n')
    p.server.send(
        codec.parse_response(b'* LIST (\\Subscribed \\NonExistent) "/" "Fruit/Peach"\r\n')
    )
    [peach] = _mine(client_events(p.client, p.server.data_to_send()), h)
    assert isinstance(peach, R.ListResponse) and peach.mailbox == "Fruit/Peach"
    p.s(b"A02 OK done\r\n")
    # Example 7: several patterns at once.
    wire = b'BBB LIST "" ("INBOX" "Drafts" "Sent/%")\r\n'
    h = p.c(_cmd(wire), b'BBB LIST "" (INBOX Drafts Sent/%)\r\n')
    [listed] = p.server_events
    assert isinstance(listed, C.List) and listed.patterns == ("INBOX", "Drafts", "Sent/%")
    _mine(p.s(b'* LIST (\\NoInferiors) "/" Drafts\r\n'), h)
    p.s(b"BBB OK done\r\n")
    # Example 8 (A): RECURSIVEMATCH and the CHILDINFO extended data item.
    wire = b'C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"\r\n'
    h = p.c(_cmd(wire), b'C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" %\r\n')
    p.server.send(codec.parse_response(b'* LIST () "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))\r\n'))
    [foo] = _mine(client_events(p.client, p.server.data_to_send()), h)
    assert isinstance(foo, R.ListResponse) and foo.mailbox == "Foo" and foo.extended
    p.s(b"C04 OK done\r\n")
    # Example 11 (RFC 9051 §6.3.9.8): RETURN (STATUS ...) answers LIST then
    # STATUS, both belonging to the LIST command.
    wire = b'A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))\r\n'
    h = p.c(_cmd(wire), wire)
    got: list[Any] = []
    for line in (
        b'* LIST () "." "INBOX"\r\n',
        b'* STATUS "INBOX" (MESSAGES 17 UNSEEN 16)\r\n',
        b'* LIST (\\NoSelect) "." "bar"\r\n',
    ):
        p.server.send(codec.parse_response(line))
        got += _mine(client_events(p.client, p.server.data_to_send()), h)
    assert [type(r) for r in got] == [R.ListResponse, R.StatusData, R.ListResponse]
    p.s(b"A01 OK List completed.\r\n")


def test_list_extended_needs_the_capability_on_imap4rev1() -> None:
    p = _authenticated(b"IMAP4rev1")
    for wire in (b'A02 LIST (SUBSCRIBED) "" *\r\n', b'A01 LIST "" % RETURN (CHILDREN)\r\n'):
        with pytest.raises(LocalProtocolError, match="LIST-EXTENDED"):
            p.client.send(_cmd(wire))
        [bad] = server_events(p.server, wire)
        assert isinstance(bad, BadCommand)
        p.server.data_to_send()


def test_client_refuses_qresync_select_before_enable_but_sends_after() -> None:
    client = ClientConnection()
    client_events(client, b"* PREAUTH [CAPABILITY IMAP4rev1 ENABLE QRESYNC CONDSTORE] hi\r\n")
    select = _cmd(b"A02 SELECT INBOX (QRESYNC (1 2))\r\n")
    with pytest.raises(LocalProtocolError):
        client.send(select)
    client.send(C.Enable(tag="e", capabilities=("QRESYNC",)))
    client.data_to_send()
    client_events(client, b"* ENABLED QRESYNC\r\ne OK done\r\n")
    client.send(select)
    assert client.data_to_send() == b"A02 SELECT INBOX (QRESYNC (1 2))\r\n"
