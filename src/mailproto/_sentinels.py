"""Sentinel values returned by ``next_event()`` when there is no event to give.

They are members of one :class:`enum.Enum` so that type checkers can narrow on
them (``if event is NEED_DATA: ...``) and so that they print by name.
"""

from __future__ import annotations

import enum


class Sentinel(enum.Enum):
    """The values ``next_event()`` returns instead of an event."""

    #: The connection needs more bytes from the peer before it can produce
    #: another event: call ``receive_data()``.
    NEED_DATA = "NEED_DATA"
    #: The connection has an event's worth of input but will not interpret it
    #: until the application acts: for example after STARTTLS, until the TLS
    #: handshake is done, or on a server while a reply to the previous command
    #: is still owed.  Calling ``next_event()`` again returns ``PAUSED`` until
    #: then.
    PAUSED = "PAUSED"

    def __repr__(self) -> str:
        return self.value


NEED_DATA = Sentinel.NEED_DATA
PAUSED = Sentinel.PAUSED
