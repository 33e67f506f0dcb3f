"""Encoded words in ENVELOPE names: ours and Dovecot's, for the same bytes.

RFC 3501 §7.4.2 / RFC 9051 §7.5.2 give addr-name as the phrase "after
removing quoting" and a group's name as its phrase: nothing is decoded.
Dovecot 2.3 sends RFC 2047 encoded words exactly as the header carried them
(charset included), in plain addresses, in group members and in group
names, and sends raw UTF-8 (RFC 6532) names as they are.  We do the same;
this compares the two on messages built for it (the shared corpus has no
group with encoded words).
"""

from __future__ import annotations

import pytest

from mailproto import mime
from mailproto.imap.structure import envelope
from mailproto.imap.types import SequenceSet
from mailproto.imap.types import commands as C
from mailproto.imap.types import responses as R
from tests.imap_conn.driver import BlockingClient
from tests.interop.dovecot import DovecotServer, dovecot_fixture

pytestmark = pytest.mark.interop
dovecot = dovecot_fixture(scope="module")

MESSAGES = [
    # An ISO-8859-1 encoded word in a group member (re-encoded as UTF-8
    # base64 before this was fixed).
    b"From: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>\r\n"
    b"To: team: =?ISO-8859-1?Q?Andr=E9?= <a@x.org>, Bob <b@x.org>;\r\n\r\nhi\r\n",
    # An encoded word as the group name itself.
    b"From: =?ISO-8859-1?Q?caf=E9?=: =?ISO-8859-1?Q?Andr=E9?= <a@x.org>;\r\n\r\nx\r\n",
    # Quoted encoded word, mixed with plain text, two charsets.
    b"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
    b"Cc: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>, "
    b'"=?ISO-8859-1?Q?Olle_J=E4rnefors?=" <ojarnef@admin.kth.se>\r\n\r\nx\r\n',
    # A comment next to the phrase, base64 UTF-8, an empty group.
    b"From: =?ISO-8859-1?Q?=C9ric?= (comment) <e@x.org>\r\n"
    b"To: =?utf-8?B?w6lyaWM=?= <f@x.org>, undisclosed-recipients:;\r\n\r\nx\r\n",
    # Raw UTF-8 in the phrase (RFC 6532).
    b"From: Gr\xc3\xbc\xc3\x9fe <g@x.org>\r\n\r\nraw utf8\r\n",
]


def test_envelope_names_match_dovecot(dovecot: DovecotServer) -> None:
    for raw in MESSAGES:
        dovecot.deliver("alice", raw, folder="Names")
    client = BlockingClient(dovecot.host, dovecot.imap_port)
    client.run(C.Login(tag="l", username="alice", password=dovecot.users["alice"]))
    client.run(C.Select(tag="s", mailbox="Names"))
    untagged, done = client.run(
        C.Fetch(tag="f", sequence_set=SequenceSet.of((1, "*")), attributes=("ENVELOPE",))
    )
    assert done.ok
    fetches = sorted(
        (u.response for u in untagged if isinstance(u.response, R.FetchResponse)),
        key=lambda f: f.seq,
    )
    assert len(fetches) == len(MESSAGES)
    for raw, fetch in zip(MESSAGES, fetches):
        theirs = fetch.envelope
        ours = envelope(mime.parse(raw))
        assert theirs is not None
        for field in ("from_", "sender", "reply_to", "to", "cc", "bcc"):
            assert getattr(ours, field) == getattr(theirs, field), (raw, field)
    client.close()
