"""Python's smtplib (a real, independent client) against ServerConnection over asyncio."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator

import pytest
import trustme

from mailproto.limits import SMTPLimits
from mailproto.smtp import BareLineEndings, Body, Mailbox, ServerConfig
from tests.smtp._asyncio_server import threaded_server

pytestmark = pytest.mark.interop

BODY = (
    b"From: a@example.org\r\nTo: c@example.net\r\nSubject: interop\r\n\r\n"
    b"Hello.\r\n.A line starting with a dot\r\n..two dots\r\n.\r\nlast line\r\n"
)


@pytest.fixture(scope="module")
def tls() -> Iterator[tuple[ssl.SSLContext, ssl.SSLContext]]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    yield server_ctx, client_ctx


def test_plain_delivery_byte_for_byte() -> None:
    with threaded_server(ServerConfig()) as srv, smtplib.SMTP("127.0.0.1", srv.port) as s:
        refused = s.sendmail("a@example.org", ["c@example.net", "d@example.net"], BODY)
        assert refused == {}
    (msg,) = srv.store.messages
    assert msg.data == BODY
    assert msg.mail_from.sender == Mailbox(local_part="a", domain="example.org")
    assert msg.mail_from.parameters.size == len(BODY)
    assert [r.recipient.local_part for r in msg.recipients] == ["c", "d"]
    assert srv.store.errors == []


def test_bare_lf_refused_by_default_and_normalised_on_request() -> None:
    # smtplib sends bytes as they are (bare LF included): the safe default
    # refuses the message; a str message is CRLF-normalised by smtplib.
    raw = b"Subject: x\n\n.\nbody\n"
    with threaded_server(ServerConfig()) as srv, smtplib.SMTP("127.0.0.1", srv.port) as s:
        with pytest.raises(smtplib.SMTPDataError) as info:
            s.sendmail("a@example.org", ["c@example.net"], raw)
        assert info.value.smtp_code == 550
        s.sendmail("a@example.org", ["c@example.net"], raw.decode())
    assert [m.data for m in srv.store.messages] == [b"Subject: x\r\n\r\n.\r\nbody\r\n"]
    cfg = ServerConfig(bare_line_endings=BareLineEndings.NORMALIZE)
    with threaded_server(cfg) as srv, smtplib.SMTP("127.0.0.1", srv.port) as s:
        s.sendmail("a@example.org", ["c@example.net"], raw)
    # smtplib stuffed the dot after a bare LF and added CRLF after the final
    # bare LF.  NORMALIZE treats a bare LF as a line end, so that dot is
    # unstuffed like any other (the message the user meant); the end of data
    # is still only CRLF.CRLF as received, so nothing ends the message early.
    assert [m.data for m in srv.store.messages] == [b"Subject: x\r\n\r\n.\r\nbody\r\n\r\n"]


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth(mechanism: str) -> None:
    cfg = ServerConfig(auth_mechanisms=(mechanism,), auth_requires_tls=False, require_auth=True)
    with threaded_server(cfg) as srv:
        srv.store.passwords["tim"] = "tanstaaftanstaaf"
        with smtplib.SMTP("127.0.0.1", srv.port) as s:
            with pytest.raises(smtplib.SMTPSenderRefused) as info:
                s.sendmail("a@example.org", ["c@example.net"], BODY)
            assert info.value.smtp_code == 530
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("tim", "wrong")
            code, _ = s.login("tim", "tanstaaftanstaaf")
            assert code == 235
            s.sendmail("a@example.org", ["c@example.net"], BODY)
    (msg,) = srv.store.messages
    assert msg.authenticated == "tim" and msg.data == BODY


def test_starttls_then_auth(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_ctx, client_ctx = tls
    cfg = ServerConfig(starttls=True, auth_mechanisms=("PLAIN",), require_tls=True)
    with threaded_server(cfg, tls_context=server_ctx) as srv:
        srv.store.passwords["tim"] = "secret"
        with smtplib.SMTP("127.0.0.1", srv.port) as s:
            s.ehlo()
            assert s.has_extn("starttls") and not s.has_extn("auth")
            s.starttls(context=client_ctx)
            s.ehlo()
            assert not s.has_extn("starttls") and s.has_extn("auth")
            assert s.has_extn("requiretls")
            s.login("tim", "secret")
            s.sendmail("a@example.org", ["c@example.net"], BODY)
    (msg,) = srv.store.messages
    assert msg.tls and msg.authenticated == "tim" and msg.data == BODY
    assert srv.store.errors == []


def test_smtputf8() -> None:
    body = "From: ü@exämple.org\r\nSubject: ünïcode\r\n\r\nGrüße\r\n".encode()
    with threaded_server(ServerConfig()) as srv, smtplib.SMTP("127.0.0.1", srv.port) as s:
        s.ehlo()
        assert s.has_extn("smtputf8")
        s.sendmail(
            "ü@exämple.org", ["用户@例子.广告"], body, mail_options=["SMTPUTF8", "BODY=8BITMIME"]
        )
    (msg,) = srv.store.messages
    assert msg.mail_from.parameters.smtputf8
    assert msg.mail_from.parameters.body is Body.EIGHT_BIT_MIME
    assert msg.recipients[0].recipient == Mailbox(local_part="用户", domain="例子.广告")
    assert msg.data == body


def test_size_refused_early() -> None:
    with (
        threaded_server(ServerConfig(), limits=SMTPLimits(message_size=100)) as srv,
        smtplib.SMTP("127.0.0.1", srv.port) as s,
    ):
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            s.sendmail("a@example.org", ["c@example.net"], b"x" * 200)
        assert info.value.smtp_code == 552
    assert srv.store.messages == []


def test_lmtp_with_smtplib() -> None:
    with threaded_server(ServerConfig(lmtp=True)) as srv:
        s = smtplib.LMTP("127.0.0.1", srv.port)
        try:
            refused = s.sendmail("a@example.org", ["c@example.net", "d@example.net"], BODY)
            assert refused == {}
        finally:
            s.quit()
    (msg,) = srv.store.messages
    assert msg.data == BODY and len(msg.recipients) == 2


@pytest.mark.slow
def test_large_message_20mb() -> None:
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.........\r\n"
    body = b"Subject: big\r\n\r\n" + (b"." + line) * (20 * 1024 * 1024 // (len(line) + 1))
    limits = SMTPLimits(message_size=64 * 1024 * 1024)
    with (
        threaded_server(ServerConfig(), limits=limits) as srv,
        smtplib.SMTP("127.0.0.1", srv.port, timeout=120) as s,
    ):
        s.sendmail("a@example.org", ["c@example.net"], body)
    (msg,) = srv.store.messages
    assert len(msg.data) == len(body) and msg.data == body
    # The connection's own buffer never held more than a few reads' worth.
    assert srv.store.max_buffered < 1024 * 1024
