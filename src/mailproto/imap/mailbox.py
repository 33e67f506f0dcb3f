"""Selected-mailbox bookkeeping: sequence numbers, UIDs and what a session was told.

Theory
------
RFC 9051 §2.3.1 gives every message two numbers.  The **UID** (§2.3.1.1) is
permanent and strictly ascending in the mailbox; together with UIDVALIDITY
it names the message forever.  The **message sequence number** (§2.3.1.2) is
the message's position, 1 to EXISTS, and it *shifts*: "when a message is
expunged, all messages with higher message sequence numbers are
renumbered down by one" — and only when the session is *told* (an
``EXPUNGE`` or ``VANISHED`` response).  Because message sequence numbers
are per session, a server must keep, for each session, the view that session
was last told, and apply the mailbox's real changes to it only at the moments
the protocol allows:

* new messages may be announced with ``EXISTS`` at any time (§7.4.1 — EXISTS
  does not renumber anything);
* an expunge may *not* be announced while a FETCH, STORE or SEARCH (not the
  UID forms) is being answered (§7.5.1), because the client is reading
  sequence numbers in those answers;
* the numbers in each EXPUNGE response account for the earlier EXPUNGE
  responses: expunging messages 3 and 5 of 5 is ``* 3 EXPUNGE`` then
  ``* 4 EXPUNGE`` (or ``* 5`` then ``* 3``), never ``3`` then ``5``;
* with QRESYNC enabled, expunges are announced as ``VANISHED uid-set``
  instead (RFC 7162 §3.2.10), which does not depend on order at all.

:class:`SelectedMailbox` holds that session view for one selected mailbox:
the UIDs in sequence order, UIDVALIDITY, UIDNEXT, the RECENT count, plus the
changes the store made that the session has not been told yet.  A server
application reports store changes (:meth:`SelectedMailbox.added`,
:meth:`SelectedMailbox.removed`) and, whenever it may, asks for the
responses that tell the client (:meth:`SelectedMailbox.updates`).  It
resolves sequence sets in both numberings (:meth:`SelectedMailbox.resolve`)
with ``*`` per RFC 9051 §6.4.9 semantics.

The same class serves a *client* that wants to track a mailbox:
:meth:`SelectedMailbox.apply` takes the untagged responses the server sent
(EXISTS, EXPUNGE, VANISHED, FETCH with UID) and keeps the mapping current.
A client learns the UIDs of new messages only when it fetches them, so
unknown UIDs are recorded as 0 until a FETCH names them.

Operations are O(log n) lookups (``bisect`` over the ascending UID list)
and O(n) only for an expunge (a list deletion, done in C).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable

from mailproto.errors import LocalProtocolError, RemoteProtocolError
from mailproto.imap.types import SequenceSet
from mailproto.imap.types import responses as R

__all__ = ["SelectedMailbox"]


class SelectedMailbox:
    """One session's view of a selected mailbox (RFC 9051 §2.3.1)."""

    __slots__ = (
        "_pending_added",
        "_pending_removed",
        "_uids",
        "read_only",
        "recent",
        "uidnext",
        "uidvalidity",
    )

    def __init__(
        self,
        *,
        uidvalidity: int,
        uids: Iterable[int] = (),
        uidnext: int | None = None,
        recent: int = 0,
        read_only: bool = False,
    ) -> None:
        uid_list = list(uids)
        if any(b <= a for a, b in itertools.pairwise(uid_list)) or (uid_list and uid_list[0] < 1):
            raise LocalProtocolError("UIDs must be positive and strictly ascending (§2.3.1.1)")
        #: UIDVALIDITY of the mailbox (RFC 9051 §2.3.1.1).
        self.uidvalidity = uidvalidity
        self._uids = uid_list
        #: The next UID the mailbox will assign (at least last UID + 1).
        self.uidnext = max(uidnext or 1, (uid_list[-1] + 1) if uid_list else 1)
        #: RECENT count (RFC 3501 only; kept for rev1 clients).
        self.recent = recent
        #: True after EXAMINE (or SELECT answered ``[READ-ONLY]``).
        self.read_only = read_only
        self._pending_added: list[int] = []
        self._pending_removed: set[int] = set()

    # -- the session view --------------------------------------------------------

    @property
    def exists(self) -> int:
        """The number of messages the session was told about (the last EXISTS)."""
        return len(self._uids)

    @property
    def uids(self) -> tuple[int, ...]:
        """UIDs in sequence order (0 where a client does not know one yet)."""
        return tuple(self._uids)

    def uid(self, seq: int) -> int:
        """The UID of message sequence number *seq* (1-based)."""
        if not 1 <= seq <= len(self._uids):
            raise LocalProtocolError(f"no message with sequence number {seq}")
        return self._uids[seq - 1]

    def _known(self) -> int:
        # Unknown UIDs (0, client side) can only be at the end (new messages
        # not fetched yet): the known prefix is what bisect may search.
        uids = self._uids
        hi = len(uids)
        while hi and uids[hi - 1] == 0:
            hi -= 1
        return hi

    def seq(self, uid: int) -> int | None:
        """The sequence number of *uid*, or None when it is not in the view."""
        uids = self._uids
        hi = self._known()
        i = bisect.bisect_left(uids, uid, 0, hi)
        if i < hi and uids[i] == uid:
            return i + 1
        return None

    def resolve(self, sequence_set: SequenceSet, *, uid: bool = False) -> list[tuple[int, int]]:
        """``(seq, uid)`` of each message *sequence_set* names, ascending.

        *uid* selects the numbering.  RFC 9051 §6.4.9: with UIDs, ``*`` is
        the highest UID in the mailbox and UIDs that do not exist are simply
        ignored (a range ``n:*`` always includes the last message); with
        sequence numbers, ``*`` is EXISTS.  ``$`` must be resolved by the
        caller (the saved search result, RFC 5182).
        """
        uids = self._uids
        out: list[tuple[int, int]] = []
        if not uids:
            return out
        if not uid:
            for lo, hi in sequence_set.resolve(len(uids)):
                hi = min(hi, len(uids))
                out.extend((seq, uids[seq - 1]) for seq in range(lo, hi + 1))
            return out
        known = self._known()
        if not known:
            return out
        largest = uids[known - 1]
        for lo, hi in sequence_set.resolve(largest):
            start = bisect.bisect_left(uids, lo, 0, known)
            end = bisect.bisect_right(uids, hi, 0, known)
            out.extend((i + 1, uids[i]) for i in range(start, end))
        return out

    # -- server side: store changes and the responses that announce them ----------

    def added(self, uid: int) -> None:
        """The store appended a message with *uid* (it is not announced yet)."""
        last = (
            self._pending_added[-1]
            if self._pending_added
            else (self._uids[-1] if self._uids else 0)
        )
        if uid <= last:
            raise LocalProtocolError(f"UID {uid} is not above the last UID {last} (§2.3.1.1)")
        self._pending_added.append(uid)
        self.uidnext = uid + 1

    def removed(self, uid: int) -> None:
        """The store expunged *uid* (announced by the next allowed :meth:`updates`)."""
        if uid in self._pending_added:
            # Never announced: it simply never appears.
            self._pending_added.remove(uid)
            return
        if self.seq(uid) is None:
            raise LocalProtocolError(f"UID {uid} is not in the mailbox")
        self._pending_removed.add(uid)

    @property
    def has_pending(self) -> bool:
        """True when store changes wait to be announced."""
        return bool(self._pending_added or self._pending_removed)

    def updates(self, *, expunge_allowed: bool = True, qresync: bool = False) -> list[R.Response]:
        """The responses that bring the session up to date, applied to the view.

        Pass ``expunge_allowed=False`` while answering FETCH, STORE or SEARCH
        (RFC 9051 §7.5.1): expunges then stay pending and only new messages
        are announced.  With *qresync* (QRESYNC enabled, RFC 7162 §3.2.10)
        expunges are one ``VANISHED`` instead of ``EXPUNGE`` responses.
        """
        out: list[R.Response] = []
        if expunge_allowed and self._pending_removed:
            removed = sorted(self._pending_removed)
            self._pending_removed.clear()
            if qresync:
                seqs = [self.seq(u) for u in removed]
                for seq in sorted((s for s in seqs if s is not None), reverse=True):
                    del self._uids[seq - 1]
                out.append(R.Vanished(earlier=False, uids=SequenceSet.of(*removed)))
            else:
                # Highest first, so each number is still valid when sent
                # and the later ones need no adjusting.
                for uid in reversed(removed):
                    position = self.seq(uid)
                    assert position is not None
                    del self._uids[position - 1]
                    out.append(R.ExpungeResponse(seq=position))
        if self._pending_added:
            self._uids.extend(self._pending_added)
            self.recent += len(self._pending_added)
            self._pending_added.clear()
            out.append(R.Exists(count=len(self._uids)))
        return out

    def expunge_seq(self, seq: int) -> int:
        """Remove message *seq* from the view at once (the session's own EXPUNGE).

        Returns its UID.  Use it when the responses are produced in step
        with the removal (an EXPUNGE command answering its own expunges).
        """
        uid = self.uid(seq)
        del self._uids[seq - 1]
        self._pending_removed.discard(uid)
        return uid

    # -- client side ---------------------------------------------------------------

    def apply(self, response: R.Response) -> None:
        """Update the view from an untagged response the server sent.

        EXISTS grows the view (new messages have UID 0 until fetched);
        EXPUNGE removes by sequence number; VANISHED (not EARLIER) removes by
        UID; FETCH with a UID records it.  Raises
        :class:`~mailproto.errors.RemoteProtocolError` when the server's
        numbers are impossible (an EXPUNGE beyond EXISTS, EXISTS shrinking).
        """
        uids = self._uids
        if isinstance(response, R.Exists):
            if response.count < len(uids):
                raise RemoteProtocolError(
                    f"EXISTS {response.count} is below {len(uids)} (RFC 9051 §7.4.1)"
                )
            uids.extend([0] * (response.count - len(uids)))
        elif isinstance(response, R.ExpungeResponse):
            if not 1 <= response.seq <= len(uids):
                raise RemoteProtocolError(f"EXPUNGE {response.seq} beyond EXISTS {len(uids)}")
            del uids[response.seq - 1]
        elif isinstance(response, R.Vanished):
            if response.earlier:
                return  # RFC 7162 §3.2.10: EARLIER is about messages not in the view
            for seq, _uid in reversed(self.resolve(response.uids, uid=True)):
                del uids[seq - 1]
        elif isinstance(response, R.FetchResponse) and response.uid is not None:
            if not 1 <= response.seq <= len(uids):
                raise RemoteProtocolError(f"FETCH {response.seq} beyond EXISTS {len(uids)}")
            uids[response.seq - 1] = response.uid
            if response.uid >= self.uidnext:
                self.uidnext = response.uid + 1
        elif isinstance(response, R.Recent):
            self.recent = response.count
