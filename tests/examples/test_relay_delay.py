"""Delayed DSNs (RFC 3464 ``Action: delayed``, RFC 3461 ``NOTIFY=DELAY``).

The next hop is down (a closed port), so every recipient stays queued with a
temporary failure; the relay's clock is moved by hand.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mailproto import imf, smtp
from mailserver.config import ConfigError, parse_config
from mailserver.mda import DsnRequest
from mailserver.queue import Queue
from mailserver.relay import Failure, build_dsn
from tests.examples.relay_support import MSG, Clock, dsn_fields, free_port, make_relay, read_inbox

N = smtp.NotifyCondition
WARN = 100.0  # delay_warning in these tests, seconds


def test_one_delayed_dsn_after_the_delay_and_only_one(tmp_path: Path) -> None:
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, free_port(), clock, delay_warning=WARN)
    created = clock.now
    queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=created)
    asyncio.run(relay.run_once())
    assert read_inbox(store) == []  # a first temporary failure: too early to warn
    (entry,) = queue.entries()
    # The retry is brought forward to the warning time (retry_base is 60 s
    # here, so 60 s comes first; after that the backoff would pass WARN).
    assert entry.next_attempt == pytest.approx(created + 60)
    clock.now += 61
    asyncio.run(relay.run_once())
    assert read_inbox(store) == []
    (entry,) = queue.entries()
    assert entry.next_attempt == pytest.approx(created + WARN)  # not +61+120
    clock.now = created + WARN
    asyncio.run(relay.run_once())
    (notice,) = read_inbox(store)
    assert notice.startswith(b"Return-Path: <>\r\n")
    msg, status, headers = dsn_fields(notice)
    assert msg.headers.get("To") == "ann@a.example"
    assert msg.headers.get("Subject") == "Delayed Mail (still being retried)"
    assert "Final-Recipient: rfc822; far@remote.example" in status
    assert "Action: delayed" in status
    assert "Status: 4.4.1" in status  # the last temporary failure, still 4.x.x
    until = imf.format_date(datetime.fromtimestamp(created + 3600, timezone.utc))
    assert f"Will-Retry-Until: {until}" in status
    assert "Subject: relay test" in headers
    # Still queued, and told once only: later attempts (and a restart) add none.
    (entry,) = queue.entries()
    assert [r.address for r in entry.pending] == ["far@remote.example"]
    assert entry.pending[0].delay_notified
    clock.now += 1000
    asyncio.run(relay.run_once())
    assert len(read_inbox(store)) == 1
    reloaded = Queue(tmp_path / "queue")
    assert reloaded.entries()[0].recipients[0].delay_notified
    # Then it expires: the final failure is still reported (a different DSN).
    clock.now = created + 3600
    asyncio.run(relay.run_once())
    notices = read_inbox(store)
    assert len(notices) == 2
    assert "Action: failed" in dsn_fields(notices[1])[1]


@pytest.mark.parametrize(
    ("notify", "expected"),
    [
        (None, True),  # no NOTIFY: as NOTIFY=FAILURE,DELAY (RFC 3461 §4.1)
        (frozenset({N.DELAY}), True),
        (frozenset({N.SUCCESS, N.FAILURE, N.DELAY}), True),
        (frozenset({N.FAILURE}), False),
        (frozenset({N.SUCCESS}), False),
        (frozenset(), False),  # NOTIFY=NEVER
    ],
)
def test_notify_decides(tmp_path: Path, notify: frozenset[N] | None, expected: bool) -> None:
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, free_port(), clock, delay_warning=WARN)
    dsn = None if notify is None else DsnRequest(notify={"far@remote.example": notify})
    queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=clock.now, dsn=dsn)
    clock.now += WARN + 1
    asyncio.run(relay.run_once())
    notices = read_inbox(store)
    assert len(notices) == (1 if expected else 0)
    if expected:
        assert "Action: delayed" in dsn_fields(notices[0])[1]


def test_only_the_recipients_that_asked_are_listed(tmp_path: Path) -> None:
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, free_port(), clock, delay_warning=WARN)
    dsn = DsnRequest(
        notify={"quiet@remote.example": frozenset(), "told@remote.example": frozenset({N.DELAY})}
    )
    queue.enqueue(
        "ann@a.example",
        ["quiet@remote.example", "told@remote.example"],
        MSG,
        now=clock.now,
        dsn=dsn,
    )
    clock.now += WARN
    asyncio.run(relay.run_once())
    (notice,) = read_inbox(store)
    status = dsn_fields(notice)[1]
    assert "told@remote.example" in status
    assert "quiet@remote.example" not in status


def test_never_for_the_null_sender(tmp_path: Path) -> None:
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, free_port(), clock, delay_warning=WARN)
    queue.enqueue("", ["far@remote.example"], MSG, now=clock.now)
    clock.now += WARN + 1
    asyncio.run(relay.run_once())
    assert read_inbox(store) == []
    assert len(queue) == 1  # still being retried


def test_not_before_the_delay(tmp_path: Path) -> None:
    clock = Clock()
    relay, queue, store = make_relay(tmp_path, free_port(), clock, delay_warning=WARN)
    queue.enqueue("ann@a.example", ["far@remote.example"], MSG, now=clock.now)
    clock.now += WARN - 1
    asyncio.run(relay.run_once())
    assert read_inbox(store) == []
    assert not queue.entries()[0].recipients[0].delay_notified


def test_build_dsn_delayed_fields() -> None:
    raw = build_dsn(
        reporting_mta="mx.a.example",
        sender="ann@a.example",
        original=MSG,
        failures=[
            Failure(
                recipient="far@remote.example",
                status="2.0.0",  # not a delay status: forced to 4.0.0
                diagnostic="connection refused",
                action="delayed",
                retry_until=0.0,
            )
        ],
    )
    status = dsn_fields(b"Return-Path: <>\r\n" + raw)[1]
    assert "Action: delayed" in status
    assert "Status: 4.0.0" in status
    assert "Will-Retry-Until: Thu, 01 Jan 1970 00:00:00 +0000" in status


def test_delay_warning_config_key() -> None:
    base = 'hostname = "mx.a.example"\ndomains = ["a.example"]\n[relay]\n'
    (server,) = parse_config(base + "delay_warning = 30\n").servers
    assert server.relay.delay_warning == 30.0
    (server,) = parse_config(base).servers
    assert server.relay.delay_warning == 4 * 3600.0
    with pytest.raises(ConfigError) as err:
        parse_config(base + "retry_base = 5\ndelay_warning = 0\n")
    assert "delay_warning must be positive" in str(err.value)
    assert err.value.line == 5
