"""Our ClientConnection over a real socket against a real Dovecot."""

from __future__ import annotations

import datetime
import time

import pytest

from mailproto import sasl
from mailproto.imap._events import Completed, Untagged
from mailproto.imap._state import State
from mailproto.imap.types import SearchKey, SectionRequest, SequenceSet
from mailproto.imap.types import Section as Sec
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from tests.imap_conn.driver import BlockingClient
from tests.imap_conn.pair import state
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop
dovecot = dovecot_fixture(scope="module")

MESSAGE = (
    b"From: Alice Example <alice@example.org>\r\n"
    b"To: bob@example.org, Friends: carol@example.org;\r\n"
    b"Subject: =?utf-8?q?caf=C3=A9?= meeting\r\n"
    b"Date: Tue, 1 Oct 2024 10:00:00 +0000\r\n"
    b"Message-ID: <m1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"caf=C3=A9 at ten\r\n"
    b"--b1\r\n"
    b'Content-Type: application/octet-stream; name="a.bin"\r\n'
    b'Content-Disposition: attachment; filename="a.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAw==\r\n"
    b"--b1--\r\n"
)


def _login(dovecot: DovecotServer, user: str = "alice") -> BlockingClient:
    client = BlockingClient(dovecot.host, dovecot.imap_port)
    _, done = client.run(
        C.Login(tag=client.conn.new_tag(), username=user, password=dovecot.users[user])
    )
    assert done.ok, done
    assert state(client.conn) is State.AUTHENTICATED
    return client


def _tag(client: BlockingClient) -> str:
    return client.conn.new_tag()


def test_session_list_select_fetch_store_search_copy_move_expunge(dovecot: DovecotServer) -> None:
    dovecot.deliver("alice", MESSAGE)
    dovecot.deliver("alice", b"Subject: two\r\n\r\nsecond\r\n")
    client = _login(dovecot)
    caps = client.conn.capabilities
    assert caps is not None and "IMAP4REV1" in caps
    client.run(C.Create(tag=_tag(client), mailbox="Archive"))
    lists, done = client.run(C.List(tag=_tag(client), reference="", patterns=("*",)))
    assert done.ok
    names = {u.response.mailbox for u in lists if isinstance(u.response, R.ListResponse)}
    assert {"INBOX", "Archive"} <= names

    untagged, done = client.run(C.Select(tag=_tag(client), mailbox="INBOX"))
    assert done.ok and state(client.conn) is State.SELECTED
    exists = [u.response.count for u in untagged if isinstance(u.response, R.Exists)]
    assert exists == [2]

    untagged, done = client.run(
        C.Fetch(
            tag=_tag(client),
            sequence_set=SequenceSet.of(1),
            attributes=(
                "UID",
                "ENVELOPE",
                "BODYSTRUCTURE",
                "RFC822.SIZE",
                SectionRequest(section=Sec(part=(1,)), peek=True),
                SectionRequest(section=Sec(text="HEADER.FIELDS", fields=("Subject",)), peek=True),
                SectionRequest(section=Sec(part=(2,)), binary=True, peek=True),
            ),
        )
    )
    assert done.ok
    [fetch] = [u.response for u in untagged if isinstance(u.response, R.FetchResponse)]
    assert fetch.rfc822_size == len(MESSAGE)
    assert fetch.envelope is not None and fetch.envelope.subject == "=?utf-8?q?caf=C3=A9?= meeting"
    assert fetch.envelope.to[1].mailbox == "Friends"  # group start marker
    assert fetch.body_structure is not None
    by_section = {str(s.section).upper(): s for s in fetch.sections}
    assert by_section["1"].data == b"caf=C3=A9 at ten"
    assert by_section["2"].binary and by_section["2"].data == b"\x00\x01\x02\x03"
    assert by_section["HEADER.FIELDS (SUBJECT)"].data == (
        b"Subject: =?utf-8?q?caf=C3=A9?= meeting\r\n\r\n"
    )

    untagged, done = client.run(
        C.Store(tag=_tag(client), sequence_set=SequenceSet.of(1), mode="+", flags=("\\Flagged",))
    )
    assert done.ok
    assert any(
        isinstance(u.response, R.FetchResponse) and "\\Flagged" in (u.response.flags or ())
        for u in untagged
    )
    untagged, done = client.run(
        C.Search(tag=_tag(client), keys=(SearchKey(op="FLAGGED"),), uid=True)
    )
    assert done.ok
    [search] = [u.response for u in untagged if isinstance(u.response, R.SearchResponse)]
    assert len(search.numbers) == 1
    uid = search.numbers[0]

    _, done = client.run(
        C.Copy(tag=_tag(client), sequence_set=SequenceSet.of(uid), mailbox="Archive", uid=True)
    )
    assert done.ok and done.code is not None and done.code.name == "COPYUID"
    untagged, done = client.run(
        C.Move(tag=_tag(client), sequence_set=SequenceSet.of(uid), mailbox="Archive", uid=True)
    )
    assert done.ok
    assert any(isinstance(u.response, R.ExpungeResponse) for u in client.untagged)

    # UID EXPUNGE (UIDPLUS): mark the other message deleted, expunge by UID.
    untagged, done = client.run(
        C.Fetch(tag=_tag(client), sequence_set=SequenceSet.of(1), attributes=("UID",))
    )
    [f] = [u.response for u in untagged if isinstance(u.response, R.FetchResponse)]
    assert f.uid is not None
    client.run(
        C.Store(
            tag=_tag(client),
            sequence_set=SequenceSet.of(f.uid),
            mode="+",
            flags=("\\Deleted",),
            uid=True,
            silent=True,
        )
    )
    untagged, done = client.run(C.Expunge(tag=_tag(client), uids=SequenceSet.of(f.uid)))
    assert done.ok
    assert [u.response for u in untagged] == [R.ExpungeResponse(seq=1)]

    _, done = client.run(C.Close(tag=_tag(client)))
    assert done.ok and state(client.conn) is State.AUTHENTICATED
    untagged, done = client.run(C.Status(tag=_tag(client), mailbox="Archive", items=("MESSAGES",)))
    [status] = [u.response for u in untagged if isinstance(u.response, R.StatusData)]
    assert status.get("MESSAGES") == 2
    client.run(C.Logout(tag=_tag(client)))
    assert state(client.conn) is State.LOGOUT
    client.close()


@pytest.mark.parametrize("plus", [True, False])
def test_append_with_literals(dovecot: DovecotServer, plus: bool) -> None:
    client = _login(dovecot, "bob")
    if not plus:
        # Forget LITERAL+ so the literal waits for Dovecot's "+".
        caps = client.conn.capabilities or frozenset()
        client.conn._capabilities = caps - {"LITERAL+", "LITERAL-"}
    body = b"Subject: appended\r\n\r\nline one\r\nline two\r\n"
    date = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    _, done = client.run(
        C.Append(
            tag=_tag(client),
            mailbox="INBOX",
            messages=(C.AppendMessage(data=body, flags=("\\Seen",), date=date),),
        )
    )
    assert done.ok and done.code is not None and done.code.name == "APPENDUID"
    client.run(C.Select(tag=_tag(client), mailbox="INBOX"))
    untagged, _ = client.run(
        C.Fetch(
            tag=_tag(client),
            sequence_set=SequenceSet.of("*"),
            attributes=("INTERNALDATE", SectionRequest(peek=True)),
        )
    )
    [f] = [u.response for u in untagged if isinstance(u.response, R.FetchResponse)]
    assert f.sections[0].data == body and f.internal_date == date
    client.close()


@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5"])
def test_authenticate(dovecot: DovecotServer, mech: str) -> None:
    client = BlockingClient(dovecot.host, dovecot.imap_port)
    user = "carol"
    done = client.authenticate(
        sasl.client_mechanism(mech, username=user, password=dovecot.users[user])
    )
    assert done.ok, done
    assert state(client.conn) is State.AUTHENTICATED
    client.close()


def test_authenticate_wrong_password(dovecot: DovecotServer) -> None:
    client = BlockingClient(dovecot.host, dovecot.imap_port)
    done = client.authenticate(
        sasl.client_mechanism("SCRAM-SHA-256", username="alice", password="wrong")
    )
    assert done.status == "NO"
    assert state(client.conn) is State.NOT_AUTHENTICATED
    client.close()


def test_starttls_then_login(dovecot: DovecotServer) -> None:
    client = BlockingClient(dovecot.host, dovecot.imap_port)
    assert client.conn.has_capability("STARTTLS")
    done = client.starttls(dovecot.client_ssl_context(), _tag(client))
    assert done.ok
    # Capabilities were forgotten and must be read again (RFC 9051 §6.2.1).
    assert client.conn.capabilities is None
    client.run(C.Capability(tag=_tag(client)))
    assert not client.conn.has_capability("STARTTLS")
    _, done = client.run(C.Login(tag=_tag(client), username="alice", password="alice-secret"))
    assert done.ok
    client.close()


def test_idle_sees_a_delivery(dovecot: DovecotServer) -> None:
    client = _login(dovecot, "carol")
    client.run(C.Select(tag=_tag(client), mailbox="INBOX"))
    handle = client.idle_start(_tag(client))
    dovecot.deliver("carol", b"Subject: while idling\r\n\r\nhi\r\n")
    deadline = time.monotonic() + 10
    seen = None
    while time.monotonic() < deadline:
        event = client.next_event()
        if isinstance(event, Untagged) and isinstance(event.response, R.Exists):
            seen = event
            break
    assert seen is not None and seen.handle is None  # unsolicited
    done = client.idle_done(handle)
    assert isinstance(done, Completed) and done.ok
    client.close()


def test_condstore_qresync_resync(dovecot: DovecotServer) -> None:
    for i in range(3):
        dovecot.deliver("bob", b"Subject: q%d\r\n\r\nbody\r\n" % i, folder="Sync")
    client = _login(dovecot, "bob")
    untagged, done = client.run(C.Enable(tag=_tag(client), capabilities=("QRESYNC",)))
    assert done.ok and "QRESYNC" in client.conn.enabled
    untagged, done = client.run(C.Select(tag=_tag(client), mailbox="Sync"))
    codes = {
        u.response.code.name: u.response.code.value
        for u in untagged
        if isinstance(u.response, R.StatusResponse) and u.response.code is not None
    }
    uidvalidity, modseq = codes["UIDVALIDITY"], codes["HIGHESTMODSEQ"]
    assert isinstance(uidvalidity, int) and isinstance(modseq, int)
    untagged, _ = client.run(
        C.Fetch(tag=_tag(client), sequence_set=SequenceSet.of((1, "*")), attributes=("UID",))
    )
    uids = [
        u.response.uid
        for u in untagged
        if isinstance(u.response, R.FetchResponse) and u.response.uid is not None
    ]
    # Change a flag and expunge one message, then resync from the old MODSEQ.
    client.run(
        C.Store(
            tag=_tag(client),
            sequence_set=SequenceSet.of(uids[0]),
            mode="+",
            flags=("\\Seen",),
            uid=True,
        )
    )
    client.run(
        C.Store(
            tag=_tag(client),
            sequence_set=SequenceSet.of(uids[1]),
            mode="+",
            flags=("\\Deleted",),
            uid=True,
        )
    )
    untagged, done = client.run(C.Expunge(tag=_tag(client)))
    # QRESYNC enabled: expunges come as VANISHED, not EXPUNGE (RFC 7162 §3.2.10).
    assert any(isinstance(u.response, R.Vanished) for u in untagged)
    client.run(C.Unselect(tag=_tag(client)))
    untagged, done = client.run(
        C.Select(
            tag=_tag(client),
            mailbox="Sync",
            qresync=C.QResync(
                uidvalidity=uidvalidity, modseq=modseq, known_uids=SequenceSet.of((1, max(uids)))
            ),
        )
    )
    assert done.ok
    responses = [u.response for u in untagged]
    vanished = [r for r in responses if isinstance(r, R.Vanished)]
    assert vanished and vanished[0].earlier
    assert list(vanished[0].uids.iter(10**6)) == [uids[1]]
    changed = [r for r in responses if isinstance(r, R.FetchResponse)]
    assert [r.uid for r in changed] == [uids[0]] and changed[0].modseq is not None
    client.close()


def test_compress_deflate(dovecot: DovecotServer) -> None:
    for i in range(5):
        dovecot.deliver("alice", b"Subject: z%d\r\n\r\n" % i + b"compressible text\r\n" * 200)
    client = _login(dovecot)
    assert client.conn.has_capability("COMPRESS=DEFLATE")
    _, done = client.run(C.Compress(tag=_tag(client)))
    assert done.ok and client.conn.compressing
    untagged, done = client.run(C.Select(tag=_tag(client), mailbox="INBOX"))
    assert done.ok
    untagged, done = client.run(
        C.Fetch(
            tag=_tag(client),
            sequence_set=SequenceSet.of((1, "*")),
            attributes=(SectionRequest(peek=True), "ENVELOPE"),
        )
    )
    assert done.ok
    bodies = [
        u.response.sections[0].data for u in untagged if isinstance(u.response, R.FetchResponse)
    ]
    assert sum(1 for b in bodies if b and bytes(b).count(b"compressible text") == 200) == 5
    client.run(C.Logout(tag=_tag(client)))
    client.close()


def test_id(dovecot: DovecotServer) -> None:
    client = BlockingClient(dovecot.host, dovecot.imap_port)
    untagged, done = client.run(C.Id(tag=_tag(client), params=(("name", "mailproto"),)))
    assert done.ok
    [ident] = [u.response for u in untagged if isinstance(u.response, R.IdResponse)]
    assert ident.params is not None and dict(ident.params).get("name") == "Dovecot"
    client.close()
