"""Start the mailproto reference mail server: ``python examples/run_mailserver.py --demo``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mailserver.cli import main

sys.exit(main())
