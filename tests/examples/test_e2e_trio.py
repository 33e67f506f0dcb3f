"""The trio client example (examples/trio_client.py) against the asyncio server.

Same mailproto machines, another event loop: the transport-independence
demonstration of the issue, run under trio.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.examples.test_e2e_support import A, B, ServerThread, demo_config, unverified

trio = pytest.importorskip("trio")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import trio_client  # noqa: E402


def test_trio_client_sends_and_fetches_byte_for_byte(tmp_path: Path) -> None:
    text, _ = demo_config(retry_base=1)
    message = b"From: pepe@iesfbmoll.example\r\nSubject: trio\r\n\r\n.dot line\r\nend\r\n"
    with ServerThread(text, tmp_path) as server:

        async def scenario() -> list[bytes]:
            await trio_client.send_mail(
                "127.0.0.1",
                server.port(A, "submission"),
                username="pepe@iesfbmoll.example",
                password="pepe-demo-1",
                sender="pepe@iesfbmoll.example",
                recipients=["manolo@correo.example", "ana@iesfbmoll.example"],
                message=message,
                tls=unverified(),
            )
            for _ in range(100):
                got = await trio_client.fetch_all(
                    "127.0.0.1",
                    server.port(B, "pop3"),
                    username="manolo@correo.example",
                    password="manolo-demo-1",
                    tls=unverified(),
                )
                if got:
                    return got
                await trio.sleep(0.1)
            return []

        got = trio.run(scenario)
        assert len(got) == 1
        assert got[0].endswith(message)
        assert got[0].startswith(b"Return-Path: <pepe@iesfbmoll.example>\r\n")


def test_trio_client_main_against_demo_ports(tmp_path: Path) -> None:
    text, mapping = demo_config(retry_base=1)
    with ServerThread(text, tmp_path):
        assert trio.run(trio_client.main, mapping[2587], mapping[3110]) == 0
