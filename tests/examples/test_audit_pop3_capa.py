"""Audit: POP3 CAPA before TLS offers only what the server will accept.

With ``allow_plaintext_auth = false`` the reference server refused USER/PASS
and AUTH PLAIN/LOGIN before STLS, yet CAPA advertised them: a client holding
the right password sent it in clear and was told it was wrong.  Now, as IMAP
(LOGINDISABLED) and SMTP (no plaintext AUTH before STARTTLS) do, nothing is
offered that would be refused; USER and AUTH PLAIN are refused with
``-ERR [AUTH]`` and a reason (RFC 3206 §5), and after STLS everything is
offered and works (RFC 2595 §4: the client re-issues CAPA).
"""

from __future__ import annotations

import base64
import poplib
from collections.abc import Iterator

import pytest

from tests.examples.test_e2e_support import PASSWORDS, A, ServerThread, demo_config, unverified

USER = "pepe@iesfbmoll.example"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    text, _ = demo_config(
        extra=lambda t: t.replace(
            'allow_plaintext_auth = "loopback"', "allow_plaintext_auth = false"
        )
    )
    with ServerThread(text, tmp_path_factory.mktemp("strict")) as s:
        yield s


def command(p: poplib.POP3, line: str) -> bytes:
    """One command and its single-line answer (poplib has no public AUTH)."""
    answer: bytes = p._shortcmd(line)  # type: ignore[attr-defined]
    return answer


def plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")


def test_no_plaintext_mechanisms_advertised_before_stls(strict: ServerThread) -> None:
    p = poplib.POP3("127.0.0.1", strict.port(A, "pop3"), timeout=10)
    try:
        before = p.capa()
        # As IMAP (LOGINDISABLED, only AUTH=SCRAM-SHA-256) and SMTP (no AUTH
        # before STARTTLS) do: nothing offered that would be refused.
        assert "USER" not in before
        assert before["SASL"] == ["SCRAM-SHA-256"]
        assert "STLS" in before
        p.stls(context=unverified())
        after = p.capa()
        assert "USER" in after and after["SASL"] == ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        assert "STLS" not in after
    finally:
        p.quit()


def test_user_and_auth_plain_refused_before_stls_then_accepted(strict: ServerThread) -> None:
    p = poplib.POP3("127.0.0.1", strict.port(A, "pop3"), timeout=10)
    try:
        # Refused at USER: the password is never asked for.
        with pytest.raises(poplib.error_proto) as user:
            p.user(USER)
        assert user.value.args[0].startswith(b"-ERR [AUTH] ")
        assert b"TLS" in user.value.args[0]
        # Refused at AUTH PLAIN, before any exchange.
        with pytest.raises(poplib.error_proto) as auth:
            command(p, "AUTH PLAIN")
        assert auth.value.args[0].startswith(b"-ERR [AUTH] ")
        assert b"TLS" in auth.value.args[0]
        # The session survives both refusals.
        p.stls(context=unverified())
        assert command(p, "AUTH PLAIN " + plain(USER, PASSWORDS[USER])).startswith(b"+OK")
        count, _size = p.stat()
        assert count >= 0
    finally:
        p.quit()


def test_user_pass_accepted_after_stls(strict: ServerThread) -> None:
    p = poplib.POP3("127.0.0.1", strict.port(A, "pop3"), timeout=10)
    try:
        p.stls(context=unverified())
        assert p.user(USER).startswith(b"+OK")
        assert p.pass_(PASSWORDS[USER]).startswith(b"+OK")
    finally:
        p.quit()
