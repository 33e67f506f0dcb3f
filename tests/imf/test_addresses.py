"""Address lists: RFC 5322 Appendix A examples, obsolete syntax, recovery, properties."""

from __future__ import annotations

import email.policy
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto.imf import Address, AddressList, Group, parse_address, parse_address_list
from mailproto.imf.addresses import _format_simple_address_list, format_address_list


def _addr(display: str, local: str, domain: str, route: tuple[str, ...] = ()) -> Address:
    return Address(display_name=display, local_part=local, domain=domain, route=route)


def _kinds(result: AddressList) -> list[str]:
    return [d.kind for d in result.defects]


# --- RFC 5322 Appendix A.1 (addressing) -----------------------------------


def test_a_1_1_simple_addressing() -> None:
    r = parse_address_list("John Doe <jdoe@machine.example>")
    assert r.items == (_addr("John Doe", "jdoe", "machine.example"),)
    r = parse_address_list("Mary Smith <mary@example.net>")
    assert r.items == (_addr("Mary Smith", "mary", "example.net"),)
    assert _kinds(r) == []


def test_a_1_2_different_types_of_mailboxes() -> None:
    r = parse_address_list('"Joe Q. Public" <john.q.public@example.com>')
    assert r.items == (_addr("Joe Q. Public", "john.q.public", "example.com"),)
    r = parse_address_list("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>")
    assert r.items == (
        _addr("Mary Smith", "mary", "x.test"),
        _addr("", "jdoe", "example.org"),
        _addr("Who?", "one", "y.test"),
    )
    r = parse_address_list('<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>')
    assert r.items == (
        _addr("", "boss", "nil.test"),
        _addr('Giant; "Big" Box', "sysservices", "example.net"),
    )
    assert _kinds(r) == []


def test_a_1_3_group_addresses() -> None:
    r = parse_address_list("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;")
    assert r.items == (
        Group(
            display_name="A Group",
            members=(
                _addr("Ed Jones", "c", "a.test"),
                _addr("", "joe", "where.test"),
                _addr("John", "jdoe", "one.test"),
            ),
        ),
    )
    assert len(r.addresses) == 3
    r = parse_address_list("Undisclosed recipients:;")
    assert r.items == (Group(display_name="Undisclosed recipients", members=()),)
    assert r.addresses == ()
    assert _kinds(r) == []


def test_a_2_reply_addresses() -> None:
    r = parse_address_list('"Mary Smith: Personal Account" <smith@home.example>')
    assert r.items == (_addr("Mary Smith: Personal Account", "smith", "home.example"),)


def test_a_5_white_space_comments_and_other_oddities() -> None:
    r = parse_address_list("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>")
    assert r.items == (_addr("Pete", "pete", "silly.test"),)
    r = parse_address_list(
        "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
        "         joe@example.org,\r\n"
        "  John <jdoe@one.test> (my dear friend); (the end of the group)"
    )
    assert r.items == (
        Group(
            display_name="A Group",
            members=(
                _addr("Chris Jones", "c", "public.example"),
                _addr("", "joe", "example.org"),
                _addr("John", "jdoe", "one.test"),
            ),
        ),
    )
    r = parse_address_list("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;")
    assert r.items == (Group(display_name="Hidden recipients", members=()),)
    assert _kinds(r) == []


def test_empty_group_with_trailing_comment() -> None:
    # From real delivery reports (stdlib 3.11 raises AttributeError on it).
    r = parse_address_list("unlisted-recipients:; (no To-header on input)")
    assert r.items == (Group(display_name="unlisted-recipients", members=()),)
    assert _kinds(r) == []


def test_a_6_1_obsolete_addressing() -> None:
    r = parse_address_list("Joe Q. Public <john.q.public@example.com>")
    assert r.items == (_addr("Joe Q. Public", "john.q.public", "example.com"),)
    assert _kinds(r) == ["obsolete-syntax"]  # "." in a phrase
    r = parse_address_list("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example")
    assert r.items == (
        _addr("Mary Smith", "mary", "example.net", route=("node.test",)),
        _addr("", "jdoe", "test.example"),
    )
    assert str(r) == "Mary Smith <mary@example.net>, jdoe@test.example"


def test_a_6_3_obsolete_white_space_and_comments() -> None:
    r = parse_address_list("John Doe <jdoe@machine(comment).  example>")
    assert r.items == (_addr("John Doe", "jdoe", "machine.example"),)
    r = parse_address_list("Mary Smith\r\n__\r\n          <mary@example.net>")
    assert r.addresses[0].addr_spec == "mary@example.net"


def test_obsolete_route_with_several_domains() -> None:
    r = parse_address_list("<@a.test,@b.test:user@c.test>")
    assert r.items == (_addr("", "user", "c.test", route=("a.test", "b.test")),)


# --- display names, local parts, domains ------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?J=C3=B6rg?= <j@x.test>", _addr("Jörg", "j", "x.test")),
        ('"=?utf-8?q?J=C3=B6rg?=" <j@x.test>', _addr("Jörg", "j", "x.test")),
        # RFC 2047 §6.2: whitespace between adjacent encoded words is dropped.
        ("=?utf-8?q?J=C3=B6rg?= =?utf-8?q?_M?= <j@x.test>", _addr("Jörg M", "j", "x.test")),
        ("=?utf-8?q?a?= plain <j@x.test>", _addr("a plain", "j", "x.test")),
        # RFC 6532: UTF-8 everywhere.
        ("Jörg <jörg@exämple.de>", _addr("Jörg", "jörg", "exämple.de")),
        ('"a  b"  c   d <x@y.test>', _addr("a  b c d", "x", "y.test")),
        ('"a b"@c.test', _addr("", "a b", "c.test")),
        (
            'Foo <"very.unusual.@.unusual.com"@example.com>',
            _addr("Foo", "very.unusual.@.unusual.com", "example.com"),
        ),
        ("x@[192.0.2.1]", _addr("", "x", "[192.0.2.1]")),
        ("x@[IPv6:2001:db8::1]", _addr("", "x", "[IPv6:2001:db8::1]")),
        ("a@b.test (Comment Name)", _addr("", "a", "b.test")),
        ("<>", _addr("", "", "")),
        ("Name\t<a@b.test>", _addr("Name", "a", "b.test")),
    ],
)
def test_mailboxes(value: str, expected: Address) -> None:
    assert parse_address_list(value).items == (expected,)


def test_str_matches_stdlib_formatting() -> None:
    assert str(_addr("Joe Q. Public", "john", "x.test")) == '"Joe Q. Public" <john@x.test>'
    assert str(_addr("Joe", "a b", "x.test")) == 'Joe <"a b"@x.test>'
    assert str(_addr("", "", "")) == "<>"
    assert str(_addr("Name", "", "")) == "Name <>"
    assert _addr("", 'a"b', "x.test").addr_spec == '"a\\"b"@x.test'
    group = Group(display_name="G: x", members=(_addr("", "a", "b.test"),))
    assert str(group) == '"G: x": a@b.test;'
    assert (
        format_address_list([group, _addr("N", "c", "d.test")]) == '"G: x": a@b.test;, N <c@d.test>'
    )


# --- recovery --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "addresses", "kinds"),
    [
        ("undisclosed-recipients", ["undisclosed-recipients"], ["missing-at-sign"]),
        ("=?utf-8?q?J=C3=B6rg?= Smith", ['"Jörg Smith"'], ["missing-at-sign"]),
        ("Foo <a@b.test", ["a@b.test"], ["unterminated-angle-addr"]),
        ("a@b.test c@d.test, e@f.test", ["a@b.test", "e@f.test"], ["unexpected-token"]),
        ("Foo <a@b.test> trailing, e@f.test", ["a@b.test", "e@f.test"], ["unexpected-token"]),
        ("a@b.test; c@d.test", ["a@b.test", "c@d.test"], ["semicolon-separator"]),
        ("G: a@b.test", ["a@b.test"], ["unterminated-group"]),
        (
            '"unterminated <a@b.test>',
            ['"unterminated <a@b.test>"'],
            ["unterminated-quoted-string", "missing-at-sign"],
        ),
        ("a@", ["a"], ["missing-domain"]),
        (",,, a@b.test ,,", ["a@b.test"], []),
        ("@@@", [], ["unexpected-token"]),
    ],
)
def test_malformed_lists_recover(value: str, addresses: list[str], kinds: list[str]) -> None:
    r = parse_address_list(value)
    assert [a.addr_spec for a in r.addresses] == addresses
    assert _kinds(r) == kinds


def test_parse_address() -> None:
    assert parse_address("Foo <a@b.test>, c@d.test") == _addr("Foo", "a", "b.test")
    assert parse_address("G: x@y.test;") == _addr("", "x", "y.test")
    assert parse_address("") is None
    assert parse_address("G:;") is None


_HOSTILE = {
    "open-comments": "(" * 100_000,
    "quotes": '"' * 100_001,
    "one-atom": "a" * 100_000,
    "angles": "<" * 100_000,
    "at-signs": "a@" * 50_000,
    "nested-comments": ("(" * 1000 + ")" * 1000) * 50,
    "backslashes": "\\" * 100_001,
    "words-then-angle": "a " * 50_000 + "<",
    "brackets": "[" * 100_000,
    "encoded-word-starts": "=?utf-8?q?" * 10_000,
}


@pytest.mark.parametrize("hostile", list(_HOSTILE.values()), ids=list(_HOSTILE))
def test_hostile_input_is_linear(hostile: str) -> None:
    start = time.perf_counter()
    result = parse_address_list(hostile)
    assert isinstance(result, AddressList)
    # Repeated problems are not recorded once per character.
    assert len(result.defects) <= 50
    # Linear-time parsing handles these in well under a second; a quadratic
    # algorithm would take minutes.  (A generous bound, not a benchmark.)
    assert time.perf_counter() - start < 10


# --- properties ---------------------------------------------------------------

_atext = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~é", min_size=1, max_size=8
)
_dot_atom = st.lists(_atext, min_size=1, max_size=3).map(".".join)
_local = st.one_of(
    _dot_atom,
    st.text(min_size=1, max_size=10).filter(
        lambda s: "\r" not in s and "\n" not in s and s.isprintable()
    ),
)
_name = st.text(max_size=15).filter(
    lambda s: s == s.strip() and s.isprintable() and "=?" not in s and "  " not in s
)
_address = st.builds(
    lambda n, lp, d: Address(display_name=n, local_part=lp, domain=d), _name, _local, _dot_atom
)


@given(st.lists(_address, min_size=1, max_size=4))
def test_formatted_addresses_parse_back_equal(addrs: list[Address]) -> None:
    text = format_address_list(addrs)
    assert parse_address_list(text).items == tuple(addrs)


@given(_name.filter(bool), st.lists(_address, max_size=3))
def test_formatted_groups_parse_back_equal(name: str, members: list[Address]) -> None:
    group = Group(display_name=name, members=tuple(members))
    assert parse_address_list(str(group)).items == (group,)


@given(st.text(max_size=200))
def test_never_raises(value: str) -> None:
    result = parse_address_list(value)
    assert isinstance(result, AddressList)
    for a in result.addresses:
        assert isinstance(str(a), str)


@given(
    st.lists(
        st.sampled_from(
            [
                '"',
                "(",
                ")",
                "<",
                ">",
                "@",
                ",",
                ";",
                ":",
                ".",
                "\\",
                "[",
                "]",
                " ",
                "a",
                "b.c",
                "=?utf-8?q?x?=",
                "\t",
                "é",
            ]
        ),
        max_size=40,
    )
)
def test_never_raises_on_specials(parts: list[str]) -> None:
    assert isinstance(parse_address_list("".join(parts)), AddressList)


def test_more_obsolete_and_broken_forms() -> None:
    # obs-local-part with CFWS around the dots.
    r = parse_address_list("john . q . public@example.com")
    assert r.items == (_addr("", "john.q.public", "example.com"),)
    assert _kinds(r) == ["obsolete-syntax"]
    # Whitespace runs in an unquoted display name collapse (fast path too).
    assert parse_address_list("Mary \t Smith <m@x.test>").items == (
        _addr("Mary Smith", "m", "x.test"),
    )
    # Groups do not nest: the inner group's name is dropped, members kept.
    r = parse_address_list("Outer: Inner: a@b.test; c@d.test")
    assert [a.addr_spec for a in r.addresses] == ["a@b.test", "c@d.test"]
    assert "nested-group" in _kinds(r)
    # "@" that is not a route: the angle-addr resynchronises on ">".
    r = parse_address_list("Foo <a@b.test junk>, c@d.test")
    assert [a.addr_spec for a in r.addresses] == ["a@b.test", "c@d.test"]
    assert _kinds(r) == ["unterminated-angle-addr"]
    r = parse_address_list("<@a.test x@b.test>")
    assert r.addresses[0].route == ()
    assert _kinds(r) == ["missing-local-part", "unterminated-angle-addr"]
    # Double dots end a domain.
    r = parse_address_list("a@b..c")
    assert r.addresses[0].domain == "b."
    assert _kinds(r) == ["unexpected-token"]


def test_address_list_is_a_sequence_of_items() -> None:
    r = parse_address_list("a@b.test, G: c@d.test;")
    assert len(r) == 2
    assert [type(i).__name__ for i in r] == ["Address", "Group"]
    assert str(r) == "a@b.test, G: c@d.test;"


_word = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789!#$%&'*+-/=?^_`{|}~", min_size=1, max_size=6
)
_quoted = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10).map(
    lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
)
_display = st.lists(st.one_of(_word, _quoted), min_size=1, max_size=3).map(" ".join)
_spec = st.builds(
    lambda lp, d: f"{lp}@{d}",
    st.lists(_word, min_size=1, max_size=2).map(".".join),
    st.lists(_word, min_size=1, max_size=3).map(".".join),
)
_mailbox = st.one_of(_spec, st.builds(lambda n, s: f"{n} <{s}>", _display, _spec))


@given(st.lists(_mailbox, min_size=1, max_size=4), st.sampled_from([",", ", ", " , "]))
def test_agrees_with_stdlib_on_well_formed_lists(mailboxes: list[str], sep: str) -> None:
    value = sep.join(mailboxes)
    expected = email.policy.default.header_factory("To", value)
    got = parse_address_list(value)
    assert format_address_list(got.items) == str(expected)
    assert [(a.display_name, a.local_part, a.domain) for a in got.addresses] == [
        (a.display_name, a.username, a.domain) for a in expected.addresses
    ]


@given(
    st.one_of(
        st.lists(_mailbox, min_size=1, max_size=4).map(", ".join),
        st.lists(_mailbox, min_size=1, max_size=4).map(" ,".join),
        st.lists(st.sampled_from(["a@b", "A B <c@d>", '"x" <y@z>', ",", " ", ":", ";", "<"])).map(
            "".join
        ),
    )
)
def test_simple_list_shortcut_agrees_with_parse_and_format(value: str) -> None:
    # Headers.get formats From/To through the private regex shortcut; where
    # it answers, the answer is the full parser's and formatter's.
    shortcut = _format_simple_address_list(value)
    if shortcut is not None:
        assert shortcut == format_address_list(parse_address_list(value).items)
