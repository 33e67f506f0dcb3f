"""Config errors point at the offending line, not the first line holding the key."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailserver.config import DEMO_CONFIG, ConfigError, parse_config


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text), source="t.toml")
    return info.value


def _line(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the *nth* line of *text* containing *needle*."""
    hits = [n for n, line in enumerate(textwrap.dedent(text).splitlines(), 1) if needle in line]
    return hits[nth - 1]


def test_second_accounts_password_is_the_bad_one() -> None:
    text = """\
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[accounts]]
        address = "ann@a.example"
        password = "fine"
        [[accounts]]
        address = "bob@a.example"
        password = "bad\\u0007control"
        """
    err = _error(text)
    assert "bob@a.example" in err.message
    assert err.line == _line(text, "password", 2) == 8


def test_second_accounts_wrong_type_is_located() -> None:
    text = """\
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[accounts]]
        address = "ann@a.example"
        password = "pw"
        apop = true
        [[accounts]]
        address = "bob@a.example"
        password = "pw"
        apop = "yes"
        """
    err = _error(text)
    assert "'apop' must be bool" in err.message
    assert err.line == _line(text, "apop", 2)


def test_same_key_in_different_tables() -> None:
    # "timeout"-like keys appear in several tables: [relay] max_connections
    # after an account whose address mentions the same word.
    text = """\
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[accounts]]
        address = "max_connections@a.example"
        password = "pw"
        [relay]
        retry_base = 5
        max_connections = 0
        """
    err = _error(text)
    assert "max_connections must be at least 1" in err.message
    assert err.line == 8


def test_server_tables_are_told_apart() -> None:
    # Two [[server]] tables with the same keys; the second one's port is bad.
    text = """\
        [[server]]
        hostname = "mx.a.example"
        domains = ["a.example"]
        [server.ports]
        smtp = 2525
        [[server.accounts]]
        address = "ann@a.example"
        password = "pw"

        [[server]]
        hostname = "mx.b.example"
        domains = ["b.example"]
        [server.ports]
        smtp = 99999
        [[server.accounts]]
        address = "bob@b.example"
        password = "pw"
        """
    err = _error(text)
    assert "out of range" in err.message
    assert err.line == _line(text, "smtp =", 2) == 14


def test_second_servers_second_account() -> None:
    text = """\
        [[server]]
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[server.accounts]]
        address = "ann@a.example"
        password = "pw"
        [[server.accounts]]
        address = "bob@a.example"
        password = "pw"

        [[server]]
        hostname = "mx.b.example"
        domains = ["b.example"]
        [[server.accounts]]
        address = "cid@b.example"
        password = "pw"
        [[server.accounts]]
        address = "dan@b.example"
        scram-sha-256 = "not:a:valid:value"
        """
    err = _error(text)
    assert "bad scram-sha-256 value for dan@b.example" in err.message
    assert err.line == 19


def test_account_defined_twice_points_at_the_second() -> None:
    text = """\
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[accounts]]
        address = "ann@a.example"
        password = "pw"
        [[accounts]]
        address = "ANN@a.example"
        password = "pw2"
        """
    err = _error(text)
    assert "defined twice" in err.message
    assert err.line == 7


def test_list_member_in_a_multiline_array() -> None:
    # The error names the list and the member: point at the member's line
    # inside the second list's multi-line array.
    text = """\
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[accounts]]
        address = "ann@a.example"
        password = "pw"
        [[lists]]
        address = "one@a.example"
        members = ["ann@a.example"]
        [[lists]]
        address = "two@a.example"
        members = [
            "ann@a.example",   # fine
            "ghost@a.example", # not an address here
        ]
        """
    err = _error(text)
    assert "list two@a.example has member ghost@a.example" in err.message
    assert err.line == 13


def test_alias_in_a_later_account() -> None:
    text = """\
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[accounts]]
        address = "ann@a.example"
        password = "pw"
        aliases = ["anna@a.example"]
        [[accounts]]
        address = "bob@a.example"
        password = "pw"
        aliases = ["bobby@a.example", "anna@a.example"]
        """
    err = _error(text)
    assert "alias anna@a.example is already an address here" in err.message
    assert err.line == 10


def test_duplicate_domain_in_the_second_server() -> None:
    text = """\
        [[server]]
        hostname = "mx.a.example"
        domains = ["a.example", "b.example"]

        [[server]]
        hostname = "mx.b.example"
        domains = ["b.example"]
        """
    err = _error(text)
    assert "served twice" in err.message
    assert err.line == 7


def test_missing_key_points_at_its_table() -> None:
    text = """\
        hostname = "mx.a.example"
        domains = ["a.example"]
        [[accounts]]
        address = "ann@a.example"
        password = "pw"
        [[accounts]]
        password = "pw"
        """
    err = _error(text)
    assert "missing required key 'address'" in err.message
    assert err.line == 6


def test_comments_and_quoted_keys_do_not_confuse_it() -> None:
    text = """\
        hostname = "mx.a.example"   # password = "no"
        domains = ["a.example"]
        [routes]   # [[accounts]]
        "a.b.example" = "127.0.0.1:25"
        "x.example" = "nohost"
        """
    err = _error(text)
    assert "route for 'x.example'" in err.message
    assert err.line == 5


def test_the_demo_config_parses() -> None:
    # The locator scans a real file with [[server]] tables without tripping.
    assert len(parse_config(DEMO_CONFIG).servers) == 2
    broken = DEMO_CONFIG.replace("retry_base = 5", "retry_base = -1", 2)
    err = _error(broken)
    assert "retry_base must be positive" in err.message
    first = DEMO_CONFIG.splitlines().index("retry_base = 5") + 1
    assert err.line == first


_PIECES = st.sampled_from(
    [
        'hostname = "mx.a.example"',
        'domains = ["a.example"]',
        "[[accounts]]",
        'address = "ann@a.example"',
        'password = "pw"',
        "[[server]]",
        "[server.ports]",
        "[ports]",
        "smtp = 70000",
        "[[lists]]",
        "members = [",
        '  "ghost@a.example",',
        "]",
        'x = """',
        '"""',
        "# [[accounts]]",
        '"q.key" = 1',
        "a.b.c = 2",
        "[relay]",
        "retry_base = 0",
    ]
)


@given(st.lists(_PIECES, max_size=14))
def test_any_document_gives_a_config_or_a_located_config_error(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    try:
        parse_config(text)
    except ConfigError as exc:
        n = len(text.splitlines())
        assert exc.line is None or 1 <= exc.line <= max(n, 1)
