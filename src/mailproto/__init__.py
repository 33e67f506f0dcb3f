"""mailproto: Internet mail from the wire up, without I/O.

Sans-I/O state machines for SMTP (ESMTP, LMTP), POP3 and IMAP, client and
server sides, and parse-and-build modules for the messages they carry
(RFC 5322 and MIME).  The core never touches a socket, a file, a clock or an
event loop: the caller feeds bytes in, takes typed events out, and turns events
back into bytes.

The package root exports only what every protocol shares: the error tree and
the two sentinels that :meth:`next_event` returns when it has nothing to give.
Each protocol lives in its own subpackage (:mod:`mailproto.smtp`,
:mod:`mailproto.pop3`, :mod:`mailproto.imap`), and messages in
:mod:`mailproto.imf` and :mod:`mailproto.mime`.
"""

from mailproto._sentinels import NEED_DATA, PAUSED, Sentinel
from mailproto.errors import (
    LimitExceeded,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    ReplyHint,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "LimitExceeded",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "ReplyHint",
    "Sentinel",
    "__version__",
]
