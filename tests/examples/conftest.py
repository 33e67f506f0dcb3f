"""Shared setup for the reference-server tests: put ``examples/`` on ``sys.path``.

It also provides ``server``: one reference server on the embedded demo
configuration per test module (a module that needs another configuration
defines its own ``server`` fixture, which takes precedence), and ``imap``:
an imaplib client logged in as Ana on that server.

The reference server is a package in ``examples/mailserver`` (run as
``python -m mailserver`` with ``examples/`` on the path); the tests import it
the same way.
"""

from __future__ import annotations

import contextlib
import imaplib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.examples.test_e2e_support import ServerThread

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    """The demo servers (both domains), started for the module and stopped after it."""
    from tests.examples.test_e2e_support import ServerThread, demo_config

    text, _ = demo_config()
    name = request.module.__name__.rsplit(".", 1)[-1]
    with ServerThread(text, tmp_path_factory.mktemp(name)) as s:
        yield s


@pytest.fixture
def imap(server: ServerThread) -> Iterator[imaplib.IMAP4]:
    """Ana, logged in (over IMAP) to the module's ``server``."""
    from tests.examples.test_e2e_support import ANA, PASSWORDS, A

    client = imaplib.IMAP4("127.0.0.1", server.port(A, "imap"), timeout=20)
    client.login(ANA, PASSWORDS[ANA])
    yield client
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        client.logout()
