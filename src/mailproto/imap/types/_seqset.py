"""Sequence sets: ``1:4,7,10:*`` and ``$`` (RFC 9051 §9, RFC 5182).

Grammar (RFC 9051 §9)::

    sequence-set    = (seq-number / seq-range) ["," sequence-set]
                      ; also "$" (RFC 5182 seq-last-command, RFC 9051)
    seq-range       = seq-number ":" seq-number
    seq-number      = nz-number / "*"

``*`` is *not* infinity: it is the largest number in use, so ``5:*`` in a
mailbox of three messages means ``3:5`` (RFC 9051 §9, seq-range).  That is why
ranges ending in ``*`` are kept apart from numeric ranges: they cannot be
merged with them until the largest number is known.  What can be normalised
is, and always is, so two sets with the same meaning compare equal:

* numeric ranges are ordered low-high, sorted and merged (``5,1:3,4`` is
  ``1:5``);
* all ranges ending in ``*`` collapse into one ``n:*`` (their union), and a
  lone ``*`` is absorbed by it.

Nothing is ever materialised: ``1:4294967295`` is one pair of ints, and
iterating needs a bound (:meth:`SequenceSet.iter`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import attrs

from mailproto.errors import LocalProtocolError

__all__ = ["MAX_NZ", "SequenceSet"]

#: The largest nz-number (RFC 9051 §9: numbers are unsigned 32-bit).
MAX_NZ = 4294967295

_SEQ_RE = re.compile(
    r"(?:[0-9]{1,10}|\*)(?::(?:[0-9]{1,10}|\*))?(?:,(?:[0-9]{1,10}|\*)(?::(?:[0-9]{1,10}|\*))?)*"
)


def _normalise(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    pairs = []
    for lo, hi in ranges:
        if lo > hi:
            lo, hi = hi, lo
        if lo < 1 or hi > MAX_NZ:
            raise LocalProtocolError(f"sequence number out of range: {lo}:{hi}")
        pairs.append((lo, hi))
    if len(pairs) <= 1:
        return tuple(pairs)
    pairs.sort()
    merged = [pairs[0]]
    for lo, hi in pairs[1:]:
        last_lo, last_hi = merged[-1]
        if lo <= last_hi + 1:  # overlapping or adjacent: 1:3,4 is 1:4
            if hi > last_hi:
                merged[-1] = (last_lo, hi)
        else:
            merged.append((lo, hi))
    return tuple(merged)


@attrs.frozen(kw_only=True)
class SequenceSet:
    """A set of message sequence numbers or UIDs, in normalised form.

    Build one with :meth:`parse` (``SequenceSet.parse("1:4,*")``),
    :meth:`of` (numbers and ranges) or the constructor; :func:`str` gives the
    wire form.
    """

    #: Numeric ranges ``(low, high)``, sorted, merged, low <= high.
    ranges: tuple[tuple[int, int], ...] = attrs.field(default=(), converter=_normalise)
    #: The low end of the one range that ends in ``*``: ``5`` for ``5:*``;
    #: ``None`` when the set has no such range (see :attr:`star`).
    star_from: int | None = None
    #: True when the set contains ``*`` (alone or as the end of ``star_from:*``).
    star: bool = False
    #: True for ``$``: the result of the last SEARCH with ``RETURN (SAVE)``
    #: (RFC 5182).  Then the other fields are empty.
    last_result: bool = False

    def __attrs_post_init__(self) -> None:
        if self.star_from is not None:
            if not 1 <= self.star_from <= MAX_NZ:
                raise LocalProtocolError(f"sequence number out of range: {self.star_from}")
            if not self.star:
                object.__setattr__(self, "star", True)
        if self.last_result and (self.ranges or self.star):
            raise LocalProtocolError("$ cannot be combined with other numbers")
        if not (self.ranges or self.star or self.last_result):
            raise LocalProtocolError("a sequence set cannot be empty")

    # -- construction -----------------------------------------------------

    @classmethod
    def of(cls, *items: int | str | tuple[int | str, int | str]) -> SequenceSet:
        """Build from numbers, ``"*"``, and ``(low, high)`` pairs (either may be ``"*"``)."""
        ranges: list[tuple[int, int]] = []
        star_from: int | None = None
        star = False
        for item in items:
            lo, hi = item if isinstance(item, tuple) else (item, item)
            if lo == "*":
                lo, hi = hi, lo
            if lo == "*":  # "*" or "*:*"
                star = True
            elif hi == "*":
                if not isinstance(lo, int):
                    raise LocalProtocolError(f"bad sequence number {lo!r}")
                star = True
                star_from = lo if star_from is None else min(star_from, lo)
            else:
                if not isinstance(lo, int) or not isinstance(hi, int):
                    raise LocalProtocolError(f"bad sequence range {item!r}")
                ranges.append((lo, hi))
        return cls(ranges=ranges, star_from=star_from, star=star)

    @classmethod
    def parse(cls, text: str) -> SequenceSet:
        """Parse the wire form; raises :class:`ValueError` on bad syntax."""
        if text == "$":
            return cls(last_result=True)
        if not _SEQ_RE.fullmatch(text):
            raise ValueError(f"bad sequence set {text[:50]!r}")
        ranges: list[tuple[int, int]] = []
        star_from: int | None = None
        star = False
        for part in text.split(","):
            lo_s, _, hi_s = part.partition(":")
            if not hi_s:
                hi_s = lo_s
            if lo_s == "*":
                lo_s, hi_s = hi_s, lo_s
            if lo_s == "*":
                star = True
                continue
            lo = int(lo_s)
            if lo == 0 or lo > MAX_NZ:
                raise ValueError(f"sequence number out of range in {text[:50]!r}")
            if hi_s == "*":
                star = True
                star_from = lo if star_from is None else min(star_from, lo)
                continue
            hi = int(hi_s)
            if hi == 0 or hi > MAX_NZ:
                raise ValueError(f"sequence number out of range in {text[:50]!r}")
            ranges.append((lo, hi))
        return cls(ranges=ranges, star_from=star_from, star=star)

    # -- use ----------------------------------------------------------------

    def __str__(self) -> str:
        if self.last_result:
            return "$"
        parts = [str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in self.ranges]
        if self.star_from is not None:
            parts.append(f"{self.star_from}:*")
        elif self.star:
            parts.append("*")
        return ",".join(parts)

    def resolve(self, largest: int) -> tuple[tuple[int, int], ...]:
        """The numeric ranges this set means when the largest number in use is *largest*.

        RFC 9051 §9: ``*`` is *largest*; ``n:*`` is ``min(n, largest):max(n, largest)``.
        A mailbox with no messages (*largest* 0) makes ``*`` match nothing.
        """
        if self.last_result:
            raise LocalProtocolError("$ must be resolved by the server's saved result")
        ranges = list(self.ranges)
        if largest >= 1:
            if self.star_from is not None:
                ranges.append((min(self.star_from, largest), max(self.star_from, largest)))
            elif self.star:
                ranges.append((largest, largest))
        return _normalise(ranges)

    def iter(self, largest: int) -> Iterator[int]:
        """Yield the numbers in ascending order, with ``*`` standing for *largest*.

        Lazy: ``1:4294967295`` costs nothing until iterated.
        """
        for lo, hi in self.resolve(largest):
            yield from range(lo, hi + 1)

    def contains(self, number: int, largest: int) -> bool:
        """True if *number* is in the set when the largest number in use is *largest*."""
        return any(lo <= number <= hi for lo, hi in self.resolve(largest))

    def count(self, largest: int) -> int:
        """How many numbers the set holds when the largest number is *largest*."""
        return sum(hi - lo + 1 for lo, hi in self.resolve(largest))
