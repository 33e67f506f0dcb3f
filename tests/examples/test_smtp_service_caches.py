"""The SMTP service's lookup caches: per Directory, bounded, never stale."""

from __future__ import annotations

from mailproto.smtp import replies
from mailserver import smtp_service
from mailserver.directory import Directory, make_account


def _directory(*accounts: str) -> Directory:
    return Directory(domains=["a.example"], accounts=[make_account(a, "pw") for a in accounts])


def test_rcpt_verdicts_follow_the_directory() -> None:
    without = _directory("bob@a.example")
    with_ann = _directory("ann@a.example", "bob@a.example")
    verdict = smtp_service._local_verdict
    assert verdict(without, "ann@a.example") is smtp_service.NO_SUCH_USER
    assert verdict(without, "ann@a.example") is smtp_service.NO_SUCH_USER  # cached
    # Another directory (another site, or a new config) is asked itself.
    assert verdict(with_ann, "ann@a.example") is replies.RECIPIENT_OK
    assert verdict(without, "ann@a.example") is smtp_service.NO_SUCH_USER
    assert verdict(with_ann, "Ann@A.Example") is replies.RECIPIENT_OK  # normalised
    assert verdict(with_ann, "ann@remote.example") is None  # not local: policy decides


def test_caches_are_bounded() -> None:
    directory = _directory("bob@a.example")
    for i in range(smtp_service._CACHE_MAX + 10):
        smtp_service._local_verdict(directory, f"u{i}@a.example")
        smtp_service._plaintext_ok("loopback", f"192.0.2.{i % 250}:{i}", False)
    assert len(smtp_service._VERDICTS[directory]) <= smtp_service._CACHE_MAX
    assert len(smtp_service._PLAINTEXT) <= smtp_service._CACHE_MAX


def test_plaintext_policy() -> None:
    ok = smtp_service._plaintext_ok
    assert ok("loopback", "127.0.0.1", False)
    assert ok("loopback", "::1", False)
    assert not ok("loopback", "192.0.2.1", False)
    assert ok("loopback", "192.0.2.1", True)  # over TLS
    assert not ok("never", "127.0.0.1", False)
    assert ok("always", "192.0.2.1", False)
