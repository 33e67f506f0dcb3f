"""Audit of the reference server's IMAP side (issue 9): what the first tests left out.

* ``CREATE name (USE (...))`` (RFC 6154 §3): the server cannot give a new
  mailbox a special use (the store fixes them by name) and does not announce
  CREATE-SPECIAL-USE; asked anyway, it must not create a plain mailbox and
  say OK, but answer ``NO [USEATTR]`` and create nothing.
* All four special-use folders, ``\\Drafts`` included, through LIST.
* BODYSTRUCTURE, BODY and ENVELOPE of a multipart message with an attached
  message, compared whole with the values worked out by hand from RFC 3501
  §7.4.2 / RFC 9051 §7.5.2; body sections and BINARY (RFC 3516).
* APPEND with a literal larger than the message limit: refused before any
  octet is sent (synchronising), or the connection ends (LITERAL+).
* UIDVALIDITY, UIDs, UIDNEXT, flags and keywords survive a server restart.
* AUTHENTICATE PLAIN and LOGIN through imaplib.
* Silence before login ends the connection after ``PREAUTH_TIMEOUT``
  (two minutes), silence after it only after the 30 minutes of RFC 9051 §5.4.
* ``max_message_size`` bounds APPEND and is announced as APPENDLIMIT.
* A modified UTF-7 name from an IMAP4rev1 client comes back as it was sent,
  and names the same folder as its UTF-8 spelling.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from mailserver import imap_service
from tests.examples.test_e2e_support import (
    ANA,
    PASSWORDS,
    PEPE,
    A,
    ServerThread,
    demo_config,
    recv_until,
    wait_for,
)

MULTIPART = (
    b"From: Pepe <pepe@iesfbmoll.example>\r\n"
    b'To: Ana <ana@iesfbmoll.example>, "Luis, L." <luis@x.example>\r\n'
    b"Cc: undisclosed-recipients:;\r\n"
    b"Subject: =?UTF-8?Q?estructura_=C3=A9?=\r\n"
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    b"Message-ID: <bs1@iesfbmoll.example>\r\n"
    b"In-Reply-To: <prev@x.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    b"preamble\r\n"
    b"--XX\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Hola =C3=A9\r\nline2\r\n"
    b"--XX\r\n"
    b'Content-Type: application/octet-stream; name="a.bin"\r\n'
    b'Content-Disposition: attachment; filename="a.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"Content-ID: <c1@x>\r\n\r\n"
    b"AAECAw==\r\n"
    b"--XX\r\n"
    b"Content-Type: message/rfc822\r\n\r\n"
    b"Subject: inner\r\nFrom: a@b.example\r\n\r\ninner body\r\n"
    b"--XX--\r\nepilogue\r\n"
)
# Worked out by hand.  Sizes: part 1 is "Hola =C3=A9\r\nline2" (18 octets, 1
# line: the CRLF before the boundary belongs to the boundary); part 3 is the
# inner message, 47 octets in 3 lines; its text/plain body gets the default
# charset us-ascii.  Sender and Reply-To default to From; the empty group
# "undisclosed-recipients:;" is its start and end markers.
INNER_ENVELOPE = (
    '(NIL "inner" ((NIL NIL "a" "b.example")) ((NIL NIL "a" "b.example"))'
    ' ((NIL NIL "a" "b.example")) NIL NIL NIL NIL NIL)'
)
ENVELOPE = (
    '("Mon, 7 Feb 1994 21:52:25 -0800" "=?UTF-8?Q?estructura_=C3=A9?="'
    ' (("Pepe" NIL "pepe" "iesfbmoll.example")) (("Pepe" NIL "pepe" "iesfbmoll.example"))'
    ' (("Pepe" NIL "pepe" "iesfbmoll.example"))'
    ' (("Ana" NIL "ana" "iesfbmoll.example")("Luis, L." NIL "luis" "x.example"))'
    ' ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL'
    ' "<prev@x.example>" "<bs1@iesfbmoll.example>")'
)
BODYSTRUCTURE = (
    '(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 18 1 NIL NIL NIL NIL)'
    '("application" "octet-stream" ("name" "a.bin") "<c1@x>" NIL "base64" 8 NIL'
    ' ("attachment" ("filename" "a.bin")) NIL NIL)'
    '("message" "rfc822" NIL NIL NIL "7bit" 47 ' + INNER_ENVELOPE + ' ("text" "plain"'
    ' ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)'
    ' "mixed" ("boundary" "XX") NIL NIL NIL)'
)
BODY = (
    '(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 18 1)'
    '("application" "octet-stream" ("name" "a.bin") "<c1@x>" NIL "base64" 8)'
    '("message" "rfc822" NIL NIL NIL "7bit" 47 ' + INNER_ENVELOPE + ' ("text" "plain"'
    ' ("charset" "us-ascii") NIL NIL "7bit" 10 0) 3) "mixed")'
)


def _imap(server: ServerThread, user: str = PEPE) -> imaplib.IMAP4:
    m = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=10)
    m.login(user, PASSWORDS[user])
    return m


def _text(data: list[Any]) -> bytes:
    """imaplib's untagged data, flattened to one byte string."""
    out = b""
    for item in data:
        if isinstance(item, tuple):
            out += b"".join(item)
        elif isinstance(item, bytes):
            out += item
    return out


def _names(m: imaplib.IMAP4, *args: str) -> dict[bytes, bytes]:
    """LIST answers as ``{name: attributes}``."""
    typ, data = m.list(*args) if args else m.list()
    assert typ == "OK"
    out = {}
    for line in data:
        assert isinstance(line, bytes)
        match = re.match(rb'\((.*?)\) "\." (.*)', line)
        assert match, line
        out[match[2].strip(b'"')] = match[1]
    return out


def test_create_with_a_special_use_is_refused_and_creates_nothing(server: ServerThread) -> None:
    m = _imap(server)
    try:
        assert "CREATE-SPECIAL-USE" not in m.capabilities
        typ, data = m._simple_command("CREATE", "Borradores", "(USE (\\Drafts))")
        assert typ == "NO"
        assert _text(data).startswith(b"[USEATTR]")
        assert b"Borradores" not in _names(m)
        # Without USE, the same name is created as usual.
        assert m.create("Borradores")[0] == "OK"
        assert b"Borradores" in _names(m)
    finally:
        m.logout()


def test_the_four_special_use_folders(server: ServerThread) -> None:
    m = _imap(server)
    try:
        listed = _names(m)
        for name in (b"Sent", b"Drafts", b"Trash", b"Junk"):
            assert b"\\" + name in listed[name], listed
        # LIST (SPECIAL-USE) selects exactly those (RFC 6154 §5.1).
        typ, _ = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
        assert typ == "OK"
        special = _text(m.response("LIST")[1])
        found = set(re.findall(rb"\\(Sent|Drafts|Trash|Junk)\)", special))
        assert found == {b"Sent", b"Drafts", b"Trash", b"Junk"}
        assert b"INBOX" not in special
    finally:
        m.logout()


def test_bodystructure_body_and_envelope_of_a_multipart_message(server: ServerThread) -> None:
    with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=10) as s:
        s.sendmail("x@stranger.example", [ANA], MULTIPART)
    assert wait_for(lambda: any(m.endswith(MULTIPART) for m in server.messages(A, ANA)))
    m = _imap(server, ANA)
    try:
        m.select("INBOX")
        typ, found = m.search(None, "HEADER", "Message-ID", "bs1@iesfbmoll.example")
        num = found[0].split()[-1].decode()
        typ, data = m.fetch(num, "(ENVELOPE BODYSTRUCTURE BODY)")
        assert typ == "OK"
        line = _text(data).decode()
        assert f"ENVELOPE {ENVELOPE}" in line
        assert f"BODYSTRUCTURE {BODYSTRUCTURE}" in line
        assert f"BODY {BODY}" in line
        typ, data = m.fetch(
            num,
            "(BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT]"
            " BINARY.PEEK[2] BINARY.SIZE[1])",
        )
        parts = {bytes(item[0]).split()[-2]: item[1] for item in data if isinstance(item, tuple)}
        assert parts[b"BODY[1]"] == b"Hola =C3=A9\r\nline2"
        assert parts[b"BODY[2.MIME]"].startswith(b"Content-Type: application/octet-stream")
        assert parts[b"BODY[3.HEADER]"] == b"Subject: inner\r\nFrom: a@b.example\r\n\r\n"
        assert parts[b"BODY[3.TEXT]"] == b"inner body"
        assert parts[b"BINARY[2]"] == b"\x00\x01\x02\x03"
        assert b"BINARY.SIZE[1] 14" in _text(data)  # "Hola é\r\nline2" decoded
    finally:
        m.logout()


def test_append_with_a_huge_literal(server: ServerThread) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(f"a LOGIN {PEPE} {PASSWORDS[PEPE]}\r\n".encode())
        assert b"a OK" in recv_until(sock, b"a OK")
        # Synchronising: refused before the client sends a single octet.
        sock.sendall(b"b APPEND INBOX {999999999}\r\n")
        reply = recv_until(sock, b"\r\n")
        assert reply.startswith(b"b NO") and b"+ " not in reply, reply
        sock.sendall(b"c NOOP\r\n")
        assert b"c OK" in recv_until(sock, b"c OK")
        # Non-synchronising: the octets are on their way; the command is
        # refused at once and they are dropped as they arrive, never
        # buffered (RFC 7888 §4); the session goes on.
        sock.sendall(b"d APPEND INBOX {999999999+}\r\n" + b"x" * 1000)
        answer = recv_until(sock, b"\r\n")
        assert answer.startswith(b"d BAD [TOOBIG]") and b"* BYE" not in answer, answer
    finally:
        sock.close()
    m = _imap(server)  # the server still serves
    m.logout()


def test_authenticate_plain_and_login(server: ServerThread) -> None:
    for mechanism in ("PLAIN", "LOGIN"):
        m = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=10)
        try:
            assert f"AUTH={mechanism}" in m.capabilities
            answers = (
                [f"\0{PEPE}\0{PASSWORDS[PEPE]}".encode()]
                if mechanism == "PLAIN"
                else [PEPE.encode(), PASSWORDS[PEPE].encode()]
            )

            def respond(challenge: bytes, answers: list[bytes] = answers) -> bytes:
                return answers.pop(0)

            assert m.authenticate(mechanism, respond)[0] == "OK"
            assert m.select("INBOX")[0] == "OK"
        finally:
            m.logout()


def test_modified_utf7_name_round_trips(server: ServerThread) -> None:
    m = _imap(server)
    try:
        assert m.create('"Caf&AOk-"')[0] == "OK"  # "Café" in modified UTF-7 (RFC 3501 §5.1.3)
        assert b"Caf&AOk-" in _names(m)
        assert m.select('"Caf&AOk-"')[0] == "OK"
    finally:
        m.logout()
    # One name, "Café": the same name sent in UTF-8 (tolerated from any client,
    # see mailproto.imap's parser) finds the folder, not a second one.
    sock = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
    try:
        recv_until(sock, b"\r\n")
        sock.sendall(f"a LOGIN {PEPE} {PASSWORDS[PEPE]}\r\n".encode())
        recv_until(sock, b"a OK")
        sock.sendall('b CREATE "Café"\r\n'.encode())
        assert b"b NO [ALREADYEXISTS]" in recv_until(sock, b"b ")
        sock.sendall('c STATUS "Café" (MESSAGES)\r\n'.encode())
        assert b"* STATUS Caf&AOk- (MESSAGES 0)" in recv_until(sock, b"c OK")
    finally:
        sock.close()


def test_uids_flags_and_uidvalidity_survive_a_restart(tmp_path: Path) -> None:
    text, _ = demo_config()

    def state(server: ServerThread) -> tuple[bytes, bytes, bytes]:
        m = _imap(server, ANA)
        try:
            typ, data = m.select("INBOX")
            assert typ == "OK"
            validity = _text(m.response("UIDVALIDITY")[1])
            uidnext = _text(m.response("UIDNEXT")[1])
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            return validity, uidnext, b" ".join(sorted(_text([d]) for d in data))
        finally:
            m.logout()

    with ServerThread(text, tmp_path) as first:
        with smtplib.SMTP("127.0.0.1", first.port(A, "smtp"), timeout=10) as s:
            for n in range(3):
                s.sendmail("x@stranger.example", [ANA], f"Subject: keep {n}\r\n\r\nx\r\n".encode())
        assert wait_for(lambda: len(first.messages(A, ANA)) == 3)
        m = _imap(first, ANA)
        m.select("INBOX")
        assert m.uid("STORE", "2", "+FLAGS", "(\\Flagged $Label1 \\Seen)")[0] == "OK"
        assert m.uid("STORE", "1", "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert m.expunge()[0] == "OK"  # UID 1 gone: UIDs are not renumbered
        m.logout()
        before = state(first)
    assert b"$Label1" in before[2] and b"\\Flagged" in before[2]
    with ServerThread(text, tmp_path) as second:
        after = state(second)
    assert after == before


def test_max_message_size_bounds_append_and_is_announced(tmp_path: Path) -> None:
    """The config's max_message_size (SMTP SIZE) is APPEND's bound too, announced
    as APPENDLIMIT (RFC 7889); a larger literal is refused before it is sent."""
    text, _ = demo_config(
        extra=lambda t: t.replace(
            "[server.ports]", "[server.limits]\nmax_message_size = 2000\n\n[server.ports]"
        )
    )
    message = b"Subject: fits\r\n\r\n" + b"x" * (2000 - 19) + b"\r\n"
    assert len(message) == 2000
    with ServerThread(text, tmp_path) as server:
        with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=10) as s:
            s.ehlo()
            assert s.esmtp_features["size"] == "2000"
        sock = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
        try:
            recv_until(sock, b"\r\n")
            sock.sendall(f"a LOGIN {PEPE} {PASSWORDS[PEPE]}\r\nb CAPABILITY\r\n".encode())
            assert b" APPENDLIMIT=2000" in recv_until(sock, b"b OK")
            sock.sendall(b"c APPEND INBOX {2001}\r\n")
            assert recv_until(sock, b"\r\n").startswith(b"c NO [TOOBIG]")
            sock.sendall(b"d APPEND INBOX {2000}\r\n")
            assert recv_until(sock, b"\r\n").startswith(b"+ ")
            sock.sendall(message + b"\r\n")
            assert b"d OK [APPENDUID " in recv_until(sock, b"d OK")
        finally:
            sock.close()


def test_silence_before_login_ends_sooner_than_after(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that never logs in is closed after PREAUTH_TIMEOUT; once
    logged in, the 30-minute autologout of RFC 9051 §5.4 applies."""
    monkeypatch.setattr(imap_service, "PREAUTH_TIMEOUT", 0.5)
    silent = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
    user = socket.create_connection(("127.0.0.1", server.port(A, "imap")), timeout=10)
    try:
        recv_until(silent, b"\r\n")
        recv_until(user, b"\r\n")
        user.sendall(f"a LOGIN {PEPE} {PASSWORDS[PEPE]}\r\n".encode())
        assert b"a OK" in recv_until(user, b"a OK")
        started = time.monotonic()
        assert recv_until(silent, b"\r\n", timeout=10).startswith(b"* BYE")
        assert time.monotonic() - started < 5
        time.sleep(1.0)  # twice the pre-login timeout, in silence
        user.sendall(b"b NOOP\r\n")
        assert b"b OK" in recv_until(user, b"b OK")
    finally:
        silent.close()
        user.close()
