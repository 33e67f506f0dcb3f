"""The fast path's regexes match the same text in both of their spellings.

On Python 3.11 the fast path writes some repeats and optional parts as
possessive (``*+``, ``?+``): where the next character fixes the end of a
repeat, giving back an iteration can never lead to a match, so a possessive
repeat matches exactly what the greedy one does, without saving state for
backtracking.  Python 3.10 has no possessive quantifiers and gets the
greedy spelling.  These tests build the 3.10 spelling of the module next to
the running one and require the same value (or the same "give up") for
every FETCH response, whatever Python runs the suite.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mailproto.imap import _fastpath, _parser, codec
from tests.imap import strategies as S

_SOURCE = Path(_fastpath.__file__).read_text(encoding="utf-8")
_SWITCH = '_P = "+" if sys.version_info >= (3, 11) else ""'


def _module(possessive: str) -> ModuleType:
    """The fast path module compiled with ``_P`` forced to *possessive*."""
    assert _SOURCE.count(_SWITCH) == 1
    module = ModuleType(f"_fastpath_p{len(possessive)}")
    code = compile(_SOURCE.replace(_SWITCH, f"_P = {possessive!r}"), "<fastpath>", "exec")
    exec(code, module.__dict__)  # the project's own source, one line changed
    return module


_GREEDY = _module("")
_BOTH = [_GREEDY] + ([_module("+")] if sys.version_info >= (3, 11) else [])


def _fast(module: ModuleType, wire: bytes) -> Any:
    """What *module*'s fast path makes of one FETCH response (None: gives up)."""
    decoder = codec.ResponseDecoder()
    decoder.receive_data(wire)
    message = decoder.next_raw()
    assert isinstance(message, codec.RawMessage)
    s, literals = _parser.flatten(message)
    head = re.match(r"\* ([1-9][0-9]{0,9}) FETCH ", s)
    assert head is not None
    return module.fast_fetch(
        int(head.group(1)),
        s,
        head.end(),
        literals,
        20,
        _parser.parse_datetime,
        _parser._section_from,
    )


def _agree(wire: bytes) -> Any:
    values = [_fast(module, wire) for module in _BOTH]
    running = _fast(_fastpath, wire)
    assert all(value == running for value in values)
    return running


@given(S.fetch_responses())
def test_both_spellings_agree_on_fetch_responses(response: Any) -> None:
    wire = codec.serialize_response(response)
    value = _agree(wire)
    if value is not None:
        assert value == codec.parse_response(wire)


_STRING = st.text(st.sampled_from('ab "\\()'), max_size=6)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(st.lists(st.tuples(_STRING, _STRING), min_size=1, max_size=3), _STRING, _STRING)
def test_both_spellings_agree_on_escapes_everywhere(
    addresses: list[tuple[str, str]], subject: str, name: str
) -> None:
    # Quoted strings full of escapes, quotes and parentheses in every
    # position a repeat or an optional part surrounds.
    alist = "(" + "".join(f"({_q(a)} NIL {_q(b)} {_q(a + b)})" for a, b in addresses) + ")"
    wire = (
        f"* 3 FETCH (ENVELOPE (NIL {_q(subject)} {alist} {alist} NIL {alist} NIL NIL NIL"
        f' {_q(name)}) BODYSTRUCTURE (("TEXT" "PLAIN" ({_q(name)} {_q(subject)}) NIL'
        f' {_q(subject)} "7BIT" 3 1 NIL ({_q(name)} ({_q(subject)} {_q(name)})) ({_q(name)}'
        f" {_q(subject)}) {_q(name)}) {_q(name or 'x')} ({_q(subject)} {_q(name)}) NIL NIL))\r\n"
    ).encode()
    value = _agree(wire)
    assert value is not None
    assert value == codec.parse_response(wire)


def test_a_repeat_that_could_give_back_still_fails_alike() -> None:
    # An address list missing its ")" and a parameter list with an odd
    # number of strings: every spelling gives up, the generic path judges.
    for wire in (
        b'* 1 FETCH (ENVELOPE (NIL NIL (("a" NIL "b" "c") NIL NIL NIL NIL NIL NIL NIL))\r\n',
        b'* 1 FETCH (BODYSTRUCTURE ("TEXT" "PLAIN" ("A" "B" "C") NIL NIL "7BIT" 1 1))\r\n',
    ):
        assert _agree(wire) is None
