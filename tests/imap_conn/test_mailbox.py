"""SelectedMailbox: RFC 9051 §2.3.1 numbering rules, server and client side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.errors import LocalProtocolError, RemoteProtocolError
from mailproto.imap.mailbox import SelectedMailbox
from mailproto.imap.types import SequenceSet
from mailproto.imap.types import responses as R


def test_rfc9051_2_3_1_2_example() -> None:
    """§2.3.1.2: UIDs 3, 5, 6, 7, 11 ... sequence numbers 1..n, shifting on EXPUNGE."""
    box = SelectedMailbox(uidvalidity=1, uids=[3, 5, 6, 7, 11])
    assert box.exists == 5 and box.uid(4) == 7 and box.seq(11) == 5 and box.seq(4) is None
    box.removed(5)
    box.removed(7)
    # Not yet told: numbers unchanged (a FETCH in progress keeps its view).
    assert box.updates(expunge_allowed=False) == []
    assert box.seq(11) == 5
    # Highest first: each number is valid when it is sent.
    assert box.updates() == [R.ExpungeResponse(seq=4), R.ExpungeResponse(seq=2)]
    assert box.uids == (3, 6, 11) and box.seq(11) == 3


def test_new_messages_are_announced_even_during_fetch() -> None:
    box = SelectedMailbox(uidvalidity=1, uids=[1, 2])
    box.removed(1)
    box.added(9)
    assert box.updates(expunge_allowed=False) == [R.Exists(count=3)]
    assert box.updates() == [R.ExpungeResponse(seq=1)]
    assert box.uids == (2, 9) and box.uidnext == 10


def test_qresync_announces_vanished() -> None:
    box = SelectedMailbox(uidvalidity=1, uids=[1, 2, 3, 4])
    box.removed(2)
    box.removed(3)
    assert box.updates(qresync=True) == [R.Vanished(earlier=False, uids=SequenceSet.of((2, 3)))]
    assert box.uids == (1, 4)


def test_uid_resolution_with_star() -> None:
    """§6.4.9: UID n:* includes the highest UID even when n is above it."""
    box = SelectedMailbox(uidvalidity=1, uids=[3, 5, 9])
    assert box.resolve(SequenceSet.parse("20:*"), uid=True) == [(3, 9)]
    assert box.resolve(SequenceSet.parse("4:6"), uid=True) == [(2, 5)]
    assert box.resolve(SequenceSet.parse("2:*")) == [(2, 5), (3, 9)]
    assert SelectedMailbox(uidvalidity=1).resolve(SequenceSet.parse("1:*")) == []


def test_refuses_non_ascending_uids() -> None:
    with pytest.raises(LocalProtocolError):
        SelectedMailbox(uidvalidity=1, uids=[2, 2])
    box = SelectedMailbox(uidvalidity=1, uids=[5])
    with pytest.raises(LocalProtocolError):
        box.added(5)
    with pytest.raises(LocalProtocolError):
        box.removed(6)


def test_client_side_tracking() -> None:
    box = SelectedMailbox(uidvalidity=7)
    box.apply(R.Exists(count=3))
    for seq, uid in ((1, 10), (2, 11), (3, 12)):
        box.apply(R.FetchResponse(seq=seq, uid=uid))
    box.apply(R.ExpungeResponse(seq=2))
    box.apply(R.Exists(count=3))  # a new message, UID unknown yet
    assert list(box.uids) == [10, 12, 0]
    assert box.seq(12) == 2
    box.apply(R.Vanished(earlier=False, uids=SequenceSet.of(10)))
    assert list(box.uids) == [12, 0]
    with pytest.raises(RemoteProtocolError):
        box.apply(R.ExpungeResponse(seq=5))
    with pytest.raises(RemoteProtocolError):
        box.apply(R.Exists(count=1))


@given(
    st.lists(st.integers(1, 40), unique=True, min_size=1).map(sorted),
    st.lists(st.integers(0, 39)),
)
def test_server_view_matches_a_client_replaying_the_responses(
    uids: list[int], removals: list[int]
) -> None:
    """Whatever is expunged, a client applying the responses ends with the server's view."""
    server = SelectedMailbox(uidvalidity=1, uids=uids)
    client = SelectedMailbox(uidvalidity=1)
    client.apply(R.Exists(count=len(uids)))
    for seq, uid in enumerate(uids, 1):
        client.apply(R.FetchResponse(seq=seq, uid=uid))
    for r in removals:
        uid = uids[r % len(uids)]
        if server.seq(uid) is not None:
            server.removed(uid)
        if r % 3 == 0:
            for response in server.updates():
                client.apply(response)
    for response in server.updates():
        client.apply(response)
    assert client.uids == server.uids
