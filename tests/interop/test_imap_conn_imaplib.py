"""Python's imaplib against a test server built on our ServerConnection (asyncio)."""

from __future__ import annotations

import asyncio
import imaplib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.imap_conn.memserver import Store, start_server

pytestmark = pytest.mark.interop

#: (store, port, the server's event loop)
Served = tuple[Store, int, asyncio.AbstractEventLoop]

MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: hello from the test\r\n"
    b"Date: Tue, 1 Oct 2024 10:00:00 +0000\r\n"
    b"Message-ID: <t1@example.org>\r\n"
    b"\r\n"
    b"first line\r\n"
    b"second line\r\n"
)


@pytest.fixture()
def server() -> Iterator[Served]:
    store = Store({"alice": "wonderland", "bob": "b pass"})
    store.deliver("alice", MESSAGE)
    store.deliver("alice", b"Subject: second\r\n\r\nbody two\r\n")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        srv = loop.run_until_complete(start_server(store, auth_mechanisms=("PLAIN",)))
        holder["port"] = srv.sockets[0].getsockname()[1]
        holder["srv"] = srv
        started.set()
        loop.run_forever()
        srv.close()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(srv.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    port = holder["port"]
    assert isinstance(port, int)
    try:
        yield store, port, loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_imaplib_session(server: Served) -> None:
    store, port, _loop = server
    imap: Any = imaplib.IMAP4("127.0.0.1", port)
    assert "IMAP4REV1" in imap.capabilities
    typ, _ = imap.login("alice", "wonderland")
    assert typ == "OK"
    typ, boxes = imap.list()
    assert typ == "OK" and any(b"INBOX" in b for b in boxes if isinstance(b, bytes))
    typ, data = imap.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    typ, data = imap.fetch("1", "(UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])")
    assert typ == "OK"
    first = data[0]
    assert isinstance(first, tuple) and first[1] == MESSAGE
    assert b"RFC822.SIZE %d" % len(MESSAGE) in first[0]
    assert b'"hello from the test"' in first[0]
    typ, data = imap.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    assert data[0][1] == b"Subject: hello from the test\r\n\r\n"
    typ, data = imap.search(None, "UNSEEN")
    assert data == [b"2"]  # BODY[] (not PEEK) set \Seen on message 1
    typ, data = imap.store("2", "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and b"\\Deleted" in data[0]
    typ, data = imap.append("INBOX", "(\\Seen)", None, b"Subject: appended\r\n\r\nx\r\n")
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = imap.expunge()
    assert typ == "OK" and data == [b"2"]
    typ, data = imap.uid("SEARCH", "ALL")
    assert data == [b"1 3"]
    typ, data = imap.status("INBOX", "(MESSAGES UIDNEXT)")
    assert typ == "OK" and b"MESSAGES 2" in data[0]
    imap.close()
    typ, _ = imap.logout()
    assert typ == "BYE"
    assert len(store.boxes["alice"]["INBOX"].messages) == 2


def test_imaplib_authenticate_plain_and_bad_login(
    server: Served,
) -> None:
    _store, port, _loop = server
    imap: Any = imaplib.IMAP4("127.0.0.1", port)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("alice", "wrong")
    typ, _ = imap.authenticate("PLAIN", lambda _challenge: b"\0bob\0b pass")
    assert typ == "OK"
    assert imap.state == "AUTH"
    imap.logout()


def test_imaplib_literal_login_and_idle_push(
    server: Served,
) -> None:
    store, port, loop = server
    imap: Any = imaplib.IMAP4("127.0.0.1", port)
    # A password with a space and a quote: imaplib quotes it; our server parses it.
    typ, _ = imap.login("bob", "b pass")
    assert typ == "OK"
    imap.select("INBOX")
    tag = imap._new_tag()  # imaplib has no IDLE helper before 3.14: drive it by hand
    imap.send(tag + b" IDLE\r\n")
    assert imap.readline().startswith(b"+ ")
    # Deliver on the server's own thread, as a real store would notify it.
    loop.call_soon_threadsafe(store.deliver, "bob", b"Subject: pushed\r\n\r\nnew\r\n")
    # The server pushes the update while IDLE is still active.
    assert imap.readline() == b"* 1 EXISTS\r\n"
    imap.send(b"DONE\r\n")
    assert imap.readline().startswith(tag + b" OK")
    imap.logout()
