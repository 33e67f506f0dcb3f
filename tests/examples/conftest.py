"""Shared setup for the reference-server tests: put ``examples/`` on ``sys.path``.

The reference server is a package in ``examples/mailserver`` (run as
``python -m mailserver`` with ``examples/`` on the path); the tests import it
the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
