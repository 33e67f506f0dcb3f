"""Hostile inputs: every codec stays linear (no regex that retries over long runs).

Each case is a shape that makes a naive regex quadratic; at 200 000 bytes a
quadratic implementation takes minutes, a linear one milliseconds.  The time
bound is generous (shared CI machines), not a benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from mailproto.codecs import b64, uuencode
from mailproto.codecs import quoted_printable as qp
from mailproto.codecs.encoded_words import decode_header_text
from mailproto.codecs.rfc2231 import collapse_params

N = 200_000
_CASES: dict[str, Callable[[], object]] = {
    "qp-space-run": lambda: qp.decode(b" " * N + b"x\n \n", []),
    "qp-equals-space": lambda: qp.decode(b"= " * (N // 2) + b"\n", []),
    "qp-equals": lambda: qp.decode(b"=" * N, []),
    "b64-equals-run": lambda: b64.decode(b"=" * N + b"Y", []),
    "b64-many-blocks": lambda: b64.decode(b"YQ==" * (N // 4), []),
    "b64-garbage": lambda: b64.decode(b"!" * N, []),
    "uu-short-lines": lambda: uuencode.decode(b"begin 644 x\n" + b"M\n" * (N // 2), []),
    "uu-begin-words": lambda: uuencode.decode(b"begin " * (N // 6), []),
    "ew-unterminated": lambda: decode_header_text("=?x?q?" + "a" * N, []),
    "ew-starts": lambda: decode_header_text("=?utf-8?q?" * (N // 10), []),
    "ew-many-words": lambda: decode_header_text("=?utf-8?q?a?= " * (N // 14), []),
    "rfc2231-stars": lambda: collapse_params([("a" + "*" * N, "x")], []),
    "rfc2231-many-sections": lambda: collapse_params([(f"a*{i}", "x") for i in range(5000)], []),
}


@pytest.mark.parametrize("case", list(_CASES), ids=list(_CASES))
def test_linear_on_hostile_input(case: str) -> None:
    start = time.perf_counter()
    _CASES[case]()
    assert time.perf_counter() - start < 10
