"""Test-suite wide settings: hypothesis profiles and real-peer policy.

Hypothesis profiles
    ``ci`` (the default) keeps the normal suite to minutes; ``dev`` is a bit
    deeper for local runs; ``fuzz`` runs long (select it with
    ``HYPOTHESIS_PROFILE=fuzz``; the ``fuzz`` nox session does).

Real peers
    Interop tests drive real programs (Dovecot, Postfix's smtp-sink, curl).
    When one is not installed the test is skipped with the install command in
    the reason, unless ``MAILPROTO_REQUIRE_PEERS=1`` is set (``.ci/run`` sets
    it): then a missing peer is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=300, deadline=None, print_blob=True)
settings.register_profile(
    "fuzz",
    max_examples=200_000,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REQUIRE_PEERS = os.environ.get("MAILPROTO_REQUIRE_PEERS") == "1"


def require_program(path_or_name: str, install_hint: str) -> str:
    """Return the full path of a peer program, or skip/fail the test.

    *install_hint* is the command that installs it (e.g. ``apt-get install
    postfix``), shown in the skip reason.
    """
    found = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if found and os.access(found, os.X_OK):
        return found
    msg = f"{path_or_name} is not installed ({install_hint})"
    if REQUIRE_PEERS:
        pytest.fail(msg + "; MAILPROTO_REQUIRE_PEERS=1 forbids skipping")
    pytest.skip(msg)
