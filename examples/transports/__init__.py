"""Transport examples: the same sans-I/O machines driven over blocking sockets,
asyncio, trio and in-memory TLS.  Every example uses :mod:`transports.pump`.

Run them with ``examples/`` on ``sys.path`` (``cd examples && python -m
transports.<name>``); ``tests/transports/`` runs each against a peer over
loopback.
"""
