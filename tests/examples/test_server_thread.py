"""The test harness's ServerThread moves its ports when one was taken meanwhile."""

from __future__ import annotations

import smtplib
import socket
from pathlib import Path

from tests.examples.test_e2e_support import A, B, ServerThread, demo_config, free_ports


def test_a_port_taken_after_it_was_chosen_is_moved(tmp_path: Path) -> None:
    text, mapping = demo_config()
    taken = mapping[3110]  # correo.example's POP3 port (its listeners start last)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", taken))
    blocker.listen()
    try:
        with ServerThread(text, tmp_path) as server:
            assert server.port(B, "pop3") != taken
            # Every listener moved together, and the relay route between the
            # two domains with them.
            assert server.port(A, "smtp") != mapping[2525]
            assert f"127.0.0.1:{server.port(B, 'smtp')}" in server.config_text
            with smtplib.SMTP("127.0.0.1", server.port(A, "smtp"), timeout=10) as s:
                assert s.noop()[0] == 250
    finally:
        blocker.close()


def test_demo_ports_are_distinct() -> None:
    # Chosen one at a time, two could repeat (the kernel hands a closed port
    # out again): two listeners on one port then failed every start, and
    # moving the ports could not separate them (CI failed so once).
    for _ in range(20):
        _, mapping = demo_config()
        assert len(set(mapping.values())) == len(mapping)
    ports = free_ports(200)
    assert len(set(ports)) == 200
