"""Defects: what was wrong with a message, recorded as data instead of raised.

Message parsing never raises on malformed mail (real mail is full of it).
Every anomaly the parser works around is appended to the ``defects`` list of
the object it concerns (a header, an address list, a message part) as a
:class:`Defect`, so a caller can see exactly what was repaired and where.
"""

from __future__ import annotations

import attrs

__all__ = ["Defect"]


@attrs.frozen(kw_only=True)
class Defect:
    """One problem found while parsing, and how it was handled."""

    #: A stable, machine-readable identifier in kebab case, e.g.
    #: ``"missing-header-colon"`` or ``"invalid-base64-padding"``.  Each module
    #: documents the kinds it records.
    kind: str
    #: A human-readable description of what was wrong.
    message: str
    #: Offset in the original bytes (or string) where the problem was found,
    #: when known.
    offset: int | None = None
