"""LIST-EXTENDED / LIST-STATUS, SEARCH CHARSET, and the rev2 SELECT and SEARCH, over imaplib.

RFC 5258 (selection and return options), RFC 5819 (``RETURN (STATUS ...)``),
RFC 6154 (SPECIAL-USE), RFC 9051 §6.3.2 (a rev2 SELECT answers a LIST
response), §6.4.4 (CHARSET; a rev2 SEARCH is answered with ESEARCH; SAVE
and ``$``).
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailserver.imap_service import _Pattern
from tests.examples.test_e2e_support import PASSWORDS, A, ServerThread, demo_config

PEPE, ANA = "pepe@iesfbmoll.example", "ana@iesfbmoll.example"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config(retry_base=1)
    with ServerThread(text, tmp_path_factory.mktemp("list")) as server:
        yield server


@pytest.fixture
def imap(demo: ServerThread) -> Iterator[imaplib.IMAP4]:
    client = imaplib.IMAP4("127.0.0.1", demo.port(A, "imap"), timeout=10)
    client.login(PEPE, PASSWORDS[PEPE])
    yield client
    client.logout()


def _raw(imap: imaplib.IMAP4, name: str, args: str) -> tuple[str, list[Any], dict[str, list[Any]]]:
    """Run one command: (status, tagged data, untagged responses by name)."""
    imap.untagged_responses.clear()
    typ, data = imap._simple_command(name, args)
    return typ, data, {k: list(v) for k, v in imap.untagged_responses.items()}


def _lines(untagged: dict[str, list[Any]], name: str) -> list[str]:
    return [v.decode() for v in untagged.get(name, []) if isinstance(v, bytes)]


@pytest.fixture(scope="module")
def folders(demo: ServerThread) -> None:
    """Work.Projects and Work.Old exist; Work itself does not; Gone is only subscribed."""
    client = imaplib.IMAP4("127.0.0.1", demo.port(A, "imap"), timeout=10)
    client.login(PEPE, PASSWORDS[PEPE])
    for name in ("Work.Projects", "Work.Old"):
        assert client.create(name)[0] == "OK"
    assert client.subscribe("Work.Projects")[0] == "OK"
    assert client.subscribe("Gone")[0] == "OK"  # need not exist (RFC 9051 §6.3.7)
    for n in range(3):
        msg = f"Subject: s{n}\r\nFrom: x@example.org\r\n\r\nhello {n}\r\n".encode()
        client.append("Work.Projects", "(\\Seen)" if n == 0 else None, None, msg)
    client.logout()


def test_list_return_status(imap: imaplib.IMAP4, folders: None) -> None:
    typ, _, untagged = _raw(imap, "LIST", '"" "Work*" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))')
    assert typ == "OK"
    lists = _lines(untagged, "LIST")
    assert '(\\HasChildren \\Noselect) "." Work' in lists
    assert '(\\HasNoChildren) "." Work.Projects' in lists
    # RFC 5819 §2: STATUS for every selectable mailbox, none for \\Noselect.
    statuses = _lines(untagged, "STATUS")
    assert "Work.Projects (MESSAGES 3 UNSEEN 2 UIDNEXT 4)" in statuses
    assert "Work.Old (MESSAGES 0 UNSEEN 0 UIDNEXT 1)" in statuses
    assert not any(s.startswith("Work ") for s in statuses)


def test_list_selection_and_return_options(imap: imaplib.IMAP4, folders: None) -> None:
    _, _, untagged = _raw(imap, "LIST", '(SUBSCRIBED) "" "*"')
    lists = _lines(untagged, "LIST")
    # Subscribed names only, \\Subscribed said, a deleted one as \\NonExistent.
    assert '(\\HasNoChildren \\Subscribed) "." Work.Projects' in lists
    assert '(\\NonExistent \\Subscribed) "." Gone' in lists
    assert not any(line.endswith(" Work.Old") for line in lists)
    _, _, untagged = _raw(imap, "LIST", '(SUBSCRIBED RECURSIVEMATCH) "" "%"')
    lists = _lines(untagged, "LIST")
    # Work is not subscribed, but a child is (RFC 5258 §3.5 CHILDINFO).
    assert '(\\HasChildren \\Noselect) "." Work ("CHILDINFO" ("SUBSCRIBED"))' in lists
    _, _, untagged = _raw(imap, "LIST", '"" "*" RETURN (SUBSCRIBED CHILDREN)')
    lists = _lines(untagged, "LIST")
    assert '(\\HasNoChildren) "." Work.Old' in lists
    assert '(\\HasNoChildren \\Subscribed) "." Work.Projects' in lists
    _, _, untagged = _raw(imap, "LIST", '(SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')
    lists = _lines(untagged, "LIST")
    assert sorted(re.sub(r".* ", "", line) for line in lists) == [
        "Drafts",
        "Junk",
        "Sent",
        "Trash",
    ]
    assert '(\\HasNoChildren \\Sent) "." Sent' in lists
    _, _, untagged = _raw(imap, "LIST", '"" ("INBOX" "Work.%")')
    names = sorted(re.sub(r".* ", "", line) for line in _lines(untagged, "LIST"))
    assert names == ["INBOX", "Work.Old", "Work.Projects"]


def test_list_refuses_unknown_and_lonely_options(imap: imaplib.IMAP4) -> None:
    with pytest.raises(imaplib.IMAP4.error, match="RECURSIVEMATCH"):
        _raw(imap, "LIST", '(RECURSIVEMATCH) "" "*"')
    with pytest.raises(imaplib.IMAP4.error, match="Unknown LIST option"):
        _raw(imap, "LIST", '(XFOO) "" "*"')
    with pytest.raises(imaplib.IMAP4.error):
        _raw(imap, "LIST", '"" "*" RETURN (STATUS (BOGUS))')


def test_search_charset(imap: imaplib.IMAP4, folders: None) -> None:
    imap.select("Work.Projects")
    typ, data = imap.search("UTF-8", "BODY", "hello")
    assert typ == "OK" and data == [b"1 2 3"]
    typ, data = imap.search("US-ASCII", "SUBJECT", "s1")
    assert typ == "OK" and data == [b"2"]
    # RFC 9051 §6.4.4: NO (not BAD) with BADCHARSET listing what works.
    typ, data = imap.search("KOI8-R", "TEXT", "x")
    assert typ == "NO"
    assert imap.untagged_responses.get("BADCHARSET") == [b"(UTF-8 US-ASCII)"]
    # Non-ASCII text in UTF-8 is matched as text.
    msg = "Subject: caf\u00e9\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nni\u00f1o\r\n"
    imap.append("Work.Projects", None, None, msg.encode())
    imap.noop()
    imap.literal = "niño".encode()  # type: ignore[assignment]
    typ, data = imap.search("UTF-8", "BODY")
    assert typ == "OK" and data == [b"4"]


def test_rev2_select_lists_the_mailbox_and_search_is_esearch(
    demo: ServerThread, folders: None
) -> None:
    client = imaplib.IMAP4("127.0.0.1", demo.port(A, "imap"), timeout=10)
    try:
        client.login(PEPE, PASSWORDS[PEPE])
        typ, _, untagged = _raw(client, "ENABLE", "IMAP4rev2")
        assert untagged["ENABLED"] == [b"IMAP4rev2"]
        typ, _, untagged = _raw(client, "SELECT", "Work.Projects")
        client.state = "SELECTED"  # imaplib only tracks its own select()
        assert typ == "OK"
        # RFC 9051 §6.3.2: LIST is a required untagged response of SELECT.
        assert _lines(untagged, "LIST") == ['(\\HasNoChildren) "." Work.Projects']
        assert "RECENT" not in untagged
        typ, _, untagged = _raw(client, "SELECT", "inbox")
        assert _lines(untagged, "LIST") == ['(\\HasNoChildren) "." INBOX']
        assert "CLOSED" in untagged
        _raw(client, "SELECT", "Work.Projects")
        # RFC 9051 §6.4.4: no RETURN means RETURN (ALL), answered by ESEARCH.
        typ, _, untagged = _raw(client, "SEARCH", "UNSEEN")
        assert typ == "OK" and "SEARCH" not in untagged
        assert re.fullmatch(r'\(TAG "\w+"\) ALL 2:\d', _lines(untagged, "ESEARCH")[0])
        typ, _, untagged = _raw(client, "UID", "SEARCH SUBJECT nothing-like-this")
        assert re.fullmatch(r'\(TAG "\w+"\) UID', _lines(untagged, "ESEARCH")[0])
        # SAVE alone: no ESEARCH; "$" then names the saved messages.
        typ, _, untagged = _raw(client, "SEARCH", "RETURN (SAVE) SEEN")
        assert typ == "OK" and "ESEARCH" not in untagged
        typ, _, untagged = _raw(client, "FETCH", "$ (UID FLAGS)")
        assert _lines(untagged, "FETCH") == ["1 (UID 1 FLAGS (\\Seen))"]
        typ, _, untagged = _raw(client, "UID", "SEARCH RETURN (COUNT) UID $")
        assert re.fullmatch(r'\(TAG "\w+"\) UID COUNT 1', _lines(untagged, "ESEARCH")[0])
    finally:
        client.logout()


def _regex_reference(pattern: str, name: str) -> bool:
    parts = re.split(r"([*%])", pattern)
    rx = "".join(".*" if p == "*" else "[^.]*" if p == "%" else re.escape(p) for p in parts)
    return re.fullmatch(rx, name, re.DOTALL) is not None


@given(st.text("ab.*%", max_size=8), st.text("ab.", max_size=10))
def test_list_pattern_matches_like_the_wildcard_definition(pattern: str, name: str) -> None:
    assert _Pattern(pattern).match(name) == _regex_reference(pattern, name)


def test_list_pattern_is_linear_and_inbox_is_case_insensitive() -> None:
    # A backtracking regex needs minutes here (the hostile-client test sends it).
    assert not _Pattern("*%" * 40 + "x").match("a." * 100)
    assert _Pattern("*%" * 40 + "x").match("a." * 100 + "x")
    assert _Pattern("inbox").match("INBOX") and _Pattern("In%").match("INBOX")
    assert not _Pattern("inbox").match("Inbox")  # only INBOX itself is case-insensitive


def test_mailbox_names_are_normalised_to_nfc_with_oldname(demo: ServerThread) -> None:
    """RFC 9051 §5.1: one folder for both spellings of "Café"; OLDNAME says what changed."""
    client = imaplib.IMAP4("127.0.0.1", demo.port(A, "imap"), timeout=10)
    try:
        client.login(ANA, PASSWORDS[ANA])
        decomposed, composed = '"Cafe&AwE-"', '"Caf&AOk-"'  # modified UTF-7 (RFC 3501 §5.1.3)
        assert client.create(decomposed)[0] == "OK"
        assert client.create(composed)[0] == "NO"  # the same folder
        _, _, untagged = _raw(client, "LIST", '"" "Caf*"')
        assert _lines(untagged, "LIST") == ['(\\HasNoChildren) "." Caf&AOk-']
        _raw(client, "ENABLE", "IMAP4rev2")
        typ, _, untagged = _raw(client, "SELECT", decomposed)
        assert typ == "OK"
        assert _lines(untagged, "LIST") == [
            '(\\HasNoChildren) "." Caf&AOk- ("OLDNAME" ("Cafe&AwE-"))'
        ]
        typ, _, untagged = _raw(client, "CREATE", '"Te&AwE-"')
        assert _lines(untagged, "LIST") == ['(\\HasNoChildren) "." T&AOk- ("OLDNAME" ("Te&AwE-"))']
    finally:
        client.logout()
