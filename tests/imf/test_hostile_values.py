"""Hostile inputs for dates, message ids and trace fields: linear, never raising.

(Address lists have their own cases in test_addresses.py.)  A generous time
bound, not a benchmark: a quadratic implementation takes minutes here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mailproto.imf import parse_date, parse_message_id, parse_message_id_list, parse_received
from mailproto.imf._tokens import mask_comments

N = 200_000
_CASES: dict[str, Callable[[], object]] = {
    "received-open-parens": lambda: parse_received("(" * N),
    "received-nested": lambda: parse_received("(" * (N // 2) + ")" * (N // 2)),
    "received-escaped-parens": lambda: parse_received("(\\" * (N // 2)),
    "received-keywords": lambda: parse_received("from by with id for " * (N // 20)),
    "msgid-no-at": lambda: parse_message_id("a" * N),
    "msgid-escaped-parens": lambda: parse_message_id("(\\" * (N // 2)),
    "msgid-bracketed-escapes": lambda: parse_message_id("<" + "(\\" * (N // 2) + ">"),
    "msgid-angles": lambda: parse_message_id_list("<" * N),
    "date-long": lambda: parse_date("1 " * (N // 2)),
}


@pytest.mark.parametrize("case", list(_CASES), ids=list(_CASES))
def test_linear_on_hostile_input(case: str) -> None:
    start = time.perf_counter()
    _CASES[case]()
    assert time.perf_counter() - start < 10


def test_mask_comments() -> None:
    assert mask_comments("a (b (c) d) e") == "a " + " " * 9 + " e"
    assert mask_comments("a (b \\) c) d") == "a " + " " * 8 + " d"
    assert mask_comments("a (open") == "a      "
    assert mask_comments("stray ) x") == "stray ) x"
    assert mask_comments("no comments") == "no comments"
