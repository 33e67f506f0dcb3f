"""Transport examples: the same sans-I/O machines driven over blocking sockets,
asyncio, trio and in-memory TLS.  Every example uses :mod:`transports.pump`.

Run them with ``examples/`` on ``sys.path`` (``cd examples && python -m
transports.<name>``); ``tests/transports/`` runs each against a peer over
loopback.

=========  ======  ==============================================================
Protocol   Role    Examples (transport: module)
=========  ======  ==============================================================
SMTP       client  blocking: ``blocking_smtp_client``; asyncio: ``asyncio_smtp_client``
SMTP       server  asyncio: ``asyncio_smtp_server``; trio: ``trio_smtp_server``
POP3       client  blocking: ``blocking_pop3_client``; asyncio: ``asyncio_pop3_client``;
                   trio (implicit TLS): ``trio_pop3_client``
POP3       server  asyncio: ``asyncio_pop3_server``
IMAP       client  blocking: ``blocking_imap_client``; asyncio (IDLE): ``asyncio_imap_idle``
IMAP       server  trio (with IDLE): ``trio_imap_server``
all three  both    MemoryBIO TLS, both ends in one process: ``memorybio_smtp``,
                   ``memorybio_pop3``, ``memorybio_imap``
=========  ======  ==============================================================

The servers' application halves are transport-independent: ``smtp_sink``,
``pop3_maildrop`` and ``imap_inbox``.
"""
