"""SASL authorization identities on the reference server (RFC 4422 §3.4.1).

An empty authzid, or one naming the login itself, acts as the login; any
other is refused (no proxy authorisation).  Login names are addresses,
looked up case-insensitively, so an authzid that differs from the login only
in case is the same identity — it was refused before (a case-sensitive
comparison), although the same spelling logs in as the login name.
"""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib

import pytest

from tests.examples.test_e2e_support import ANA, PASSWORDS, PEPE, A, ServerThread


def _plain(authzid: str, authcid: str) -> str:
    return f"{authzid}\0{authcid}\0{PASSWORDS[authcid]}"


CASES = [
    pytest.param("", True, id="empty"),
    pytest.param(PEPE, True, id="same"),
    pytest.param(PEPE.upper(), True, id="same-other-case"),
    pytest.param(f"<{PEPE}>", True, id="same-bracketed"),
    pytest.param(ANA, False, id="another-user"),
    pytest.param(ANA.upper(), False, id="another-user-other-case"),
]


@pytest.mark.parametrize(("authzid", "accepted"), CASES)
def test_smtp_auth_plain_authzid(server: ServerThread, authzid: str, accepted: bool) -> None:
    with smtplib.SMTP("127.0.0.1", server.port(A, "submission"), timeout=10) as client:
        client.ehlo("client.example")
        code, _ = client.docmd(
            "AUTH", "PLAIN " + base64.b64encode(_plain(authzid, PEPE).encode()).decode()
        )
        assert (code == 235) is accepted, code


@pytest.mark.parametrize(("authzid", "accepted"), CASES)
def test_imap_authenticate_plain_authzid(
    server: ServerThread, authzid: str, accepted: bool
) -> None:
    client = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=10)
    try:
        if accepted:
            typ, _ = client.authenticate("PLAIN", lambda _: _plain(authzid, PEPE).encode())
            assert typ == "OK"
            assert client.select("INBOX")[0] == "OK"  # logged in as pepe
        else:
            with pytest.raises(imaplib.IMAP4.error):
                client.authenticate("PLAIN", lambda _: _plain(authzid, PEPE).encode())
    finally:
        client.shutdown()


@pytest.mark.parametrize(("authzid", "accepted"), CASES[2:5])
def test_pop3_auth_plain_authzid(server: ServerThread, authzid: str, accepted: bool) -> None:
    client = poplib.POP3("127.0.0.1", server.port(A, "pop3"), timeout=10)
    try:
        reply = client._shortcmd("AUTH PLAIN")  # type: ignore[attr-defined]
        assert reply.startswith(b"+")
        line = base64.b64encode(_plain(authzid, PEPE).encode())
        if accepted:
            assert client._shortcmd(line.decode()).startswith(b"+OK")  # type: ignore[attr-defined]
        else:
            with pytest.raises(poplib.error_proto):
                client._shortcmd(line.decode())  # type: ignore[attr-defined]
    finally:
        client.close()
