"""Accounts, aliases, lists and the configuration file."""

from __future__ import annotations

import hashlib
import hmac
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailproto import sasl
from mailserver.config import (
    DEMO_CONFIG,
    ConfigError,
    format_scram,
    load_config,
    parse_config,
)
from mailserver.directory import Directory, DirectoryError, make_account


def _dir() -> Directory:
    mk = make_account
    return Directory(
        domains=["a.example"],
        accounts=[
            mk("ann@a.example", "ann-pw"),
            mk("bob@a.example", "bob-pw", apop=True),
            mk("cat@a.example", "cat-pw"),
        ],
        aliases={"anna@a.example": "ann@a.example", "info@a.example": "bob@a.example"},
        lists={
            "all@a.example": ["ann@a.example", "staff@a.example", "x@remote.example"],
            "staff@a.example": ["anna@a.example", "info@a.example", "all@a.example"],
            "self@a.example": ["self@a.example", "cat@a.example"],
            "ext@a.example": ["x@remote.example", "X@Remote.example", "y@remote.example"],
        },
    )


def test_accounts_and_aliases_resolve() -> None:
    d = _dir()
    res = d.resolve("ann@a.example")
    assert res is not None
    assert [a.address for a in res.accounts] == ["ann@a.example"]
    res = d.resolve("<Info@A.example>")
    assert res is not None
    assert [a.address for a in res.accounts] == ["bob@a.example"]
    assert res.remote == ()
    account = d.account("anna@a.example")
    assert account is not None
    assert account.address == "ann@a.example"


def test_unknown_local_and_remote() -> None:
    d = _dir()
    assert d.resolve("nobody@a.example") is None
    res = d.resolve("someone@elsewhere.example")
    assert res is not None
    assert res.accounts == ()
    assert res.remote == ("someone@elsewhere.example",)
    assert d.is_local("x@A.EXAMPLE")
    assert not d.is_local("x@b.example")


def test_lists_expand_with_cycles_and_dedup() -> None:
    d = _dir()
    res = d.resolve("all@a.example")
    assert res is not None
    # all -> ann, staff -> (anna=ann, info=bob, all (cycle)), remote x.
    assert [a.address for a in res.accounts] == ["ann@a.example", "bob@a.example"]
    assert res.remote == ("x@remote.example",)
    res = d.resolve("self@a.example")
    assert res is not None
    assert [a.address for a in res.accounts] == ["cat@a.example"]
    res = d.resolve("ext@a.example")
    assert res is not None
    assert res.remote == ("x@remote.example", "y@remote.example")


def test_resolve_all_gives_one_copy_per_account() -> None:
    d = _dir()
    res = d.resolve_all(["ann@a.example", "anna@a.example", "all@a.example", "staff@a.example"])
    assert [a.address for a in res.accounts] == ["ann@a.example", "bob@a.example"]
    assert res.remote == ("x@remote.example",)


def test_deep_list_chain_does_not_recurse() -> None:
    lists = {f"l{i}@a.example": [f"l{i + 1}@a.example"] for i in range(5000)}
    lists["l5000@a.example"] = ["u@a.example"]
    d = Directory(
        domains=["a.example"],
        accounts=[make_account("u@a.example", "pw", iterations=4096)],
        lists=lists,
    )
    res = d.resolve("l0@a.example")
    assert res is not None
    assert [a.address for a in res.accounts] == ["u@a.example"]


def test_inconsistent_directories_refused() -> None:
    acc = make_account("u@a.example", "pw")
    with pytest.raises(DirectoryError, match="not an account"):
        Directory(domains=["a.example"], accounts=[acc], aliases={"v@a.example": "w@a.example"})
    with pytest.raises(DirectoryError, match="twice"):
        Directory(domains=["a.example"], accounts=[acc, acc])
    with pytest.raises(DirectoryError, match="local domain"):
        Directory(domains=["b.example"], accounts=[acc])
    with pytest.raises(DirectoryError, match="unknown here"):
        Directory(domains=["a.example"], accounts=[acc], lists={"l@a.example": ["z@a.example"]})
    with pytest.raises(DirectoryError):
        make_account("../etc@a.example", "pw")


def test_password_checks_use_scram_keys() -> None:
    d = _dir()
    account = d.check_password("ann@a.example", "ann-pw")
    assert account is not None
    assert account.address == "ann@a.example"
    assert d.check_password("ann@a.example", "wrong") is None
    assert d.check_password("nobody@a.example", "ann-pw") is None
    assert account.apop_secret is None
    assert d.apop_secret("ann@a.example") is None
    secret = d.apop_secret("bob@a.example")
    assert secret is not None
    assert secret.reveal() == "bob-pw"
    assert "bob-pw" not in repr(d.account("bob@a.example"))


def test_scram_exchange_against_directory() -> None:
    d = _dir()
    server = sasl.server_mechanism("SCRAM-SHA-256")
    client = sasl.client_mechanism("SCRAM-SHA-256", username="ann@a.example", password="ann-pw")
    step = server.step(client.initial_response())
    while not isinstance(step, (sasl.Success, sasl.Failure)):
        if isinstance(step, sasl.LookupScramCredentials):
            step = server.answer(d.scram_credentials(step.username, step.mechanism))
        elif isinstance(step, sasl.Challenge):
            step = server.step(client.respond(step.data))
        else:
            raise AssertionError(step)
    assert isinstance(step, sasl.Success)
    assert d.scram_credentials("ann@a.example", "SCRAM-SHA-1") is None


def test_stored_keys_match_rfc5802_definitions() -> None:
    d = _dir()
    creds = d.scram_credentials("cat@a.example", "SCRAM-SHA-256")
    assert creds is not None
    salted = hashlib.pbkdf2_hmac("sha256", b"cat-pw", creds.salt, creds.iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert hashlib.sha256(client_key).digest() == creds.stored_key


# -- configuration ---------------------------------------------------------------


def test_demo_config_parses() -> None:
    cfg = parse_config(DEMO_CONFIG)
    a, b = cfg.servers
    assert a.domains == ("iesfbmoll.example",)
    assert b.domains == ("correo.example",)
    assert a.relay.routes["correo.example"] == ("127.0.0.1", b.ports["smtp"])
    assert b.relay.routes["iesfbmoll.example"] == ("127.0.0.1", a.ports["smtp"])
    # The seed example: pepe sends to manolo; an alias and a self-containing list.
    assert a.directory.check_password("pepe@iesfbmoll.example", "pepe-demo-1") is not None
    res = a.directory.resolve("dudas@iesfbmoll.example")
    assert res is not None
    assert [x.address for x in res.accounts] == ["informacion@iesfbmoll.example"]
    res = a.directory.resolve("profes@iesfbmoll.example")
    assert res is not None
    assert res.remote == ("manolo@correo.example",)
    assert len({p for s in cfg.servers for p in s.ports.values()}) == 14


def test_single_server_file(tmp_path: Path) -> None:
    creds = sasl.scram_credentials("pw")
    path = tmp_path / "server.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            hostname = "mx.example"
            domains = ["example.org"]
            allow_plaintext_auth = false
            [ports]
            smtp = 2525
            [routes]
            "*" = "[::1]:25"
            [[accounts]]
            address = "u@example.org"
            scram-sha-256 = "{format_scram(creds)}"
            """
        )
    )
    (server,) = load_config(path).servers
    assert server.allow_plaintext_auth == "never"
    assert server.ports["smtp"] == 2525
    assert server.ports["imap"] == 0
    assert server.data_dir == "mx.example"
    assert server.relay.routes["*"] == ("::1", 25)
    assert server.directory.check_password("u@example.org", "pw") is not None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('hostname = "x"\ndomains = ["a.example"\n', 2, "TOML syntax"),
        ('hostname = "x"\nx = = 1\ndomains = []\n', 2, "TOML syntax"),
        ('hostname = "x"\ndomains = ["a.example"]\n[ports]\nsmtp = 70000\n', 4, "out of range"),
        ('hostname = "x"\ndomains = ["a.example"]\nbogus = 1\n', 3, "unknown key"),
        (
            'hostname = "x"\ndomains = ["a.example"]\n[relay]\nmax_connections = 0\n',
            4,
            "at least 1",
        ),
        ('domains = ["a.example"]\n', None, "hostname"),
        ('hostname = "x"\ndomains = "a.example"\n', 2, "must be list"),
        (
            'hostname = "x"\ndomains = ["a.example"]\n[routes]\n"b.example" = "nohost"\n',
            4,
            "host:port",
        ),
        (
            'hostname = "x"\ndomains = ["a.example"]\n'
            '[[accounts]]\naddress = "u@a.example"\npassword = "p"\n'
            'aliases = ["v@b.example"]\n',
            6,
            "local domain",
        ),
        (
            'hostname = "x"\ndomains = ["a.example"]\n'
            '[[lists]]\naddress = "l@a.example"\nmembers = ["ghost@a.example"]\n',
            5,
            "unknown here",
        ),
        (
            'hostname = "x"\ndomains = ["a.example"]\n[[accounts]]\naddress = "u@a.example"\n',
            4,
            "exactly one of password",
        ),
    ],
)
def test_config_errors_say_where(text: str, line: int | None, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="test.toml")
    assert message in str(info.value)
    assert info.value.line == line
    assert str(info.value).startswith("test.toml")


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(tmp_path / "bin.toml")


@settings(max_examples=60, deadline=None)
@given(
    edges=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 11)), max_size=30),
    start=st.integers(0, 7),
)
def test_expansion_matches_reachability(edges: list[tuple[int, int]], start: int) -> None:
    # Nodes 0-7 are lists, 8-9 accounts, 10 an alias of account 8, 11 remote.
    def addr(n: int) -> str:
        if n < 8:
            return f"l{n}@a.example"
        if n < 10:
            return f"u{n}@a.example"
        return "alias@a.example" if n == 10 else "far@b.example"

    lists: dict[str, list[str]] = {f"l{i}@a.example": [] for i in range(8)}
    for src, dst in edges:
        lists[addr(src)].append(addr(dst))
    d = Directory(
        domains=["a.example"],
        accounts=[_ACCOUNTS[0], _ACCOUNTS[1]],
        aliases={"alias@a.example": "u8@a.example"},
        lists=lists,
    )
    # Reference: plain graph reachability.
    seen, todo = set(), [start]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(dst for src, dst in edges if src == n)
    want_accounts = {"u8@a.example"} if seen & {8, 10} else set()
    if 9 in seen:
        want_accounts.add("u9@a.example")
    res = d.resolve(addr(start))
    assert res is not None
    assert {a.address for a in res.accounts} == want_accounts
    assert len(res.accounts) == len(want_accounts)
    assert set(res.remote) == ({"far@b.example"} if 11 in seen else set())


_ACCOUNTS = [make_account("u8@a.example", "p"), make_account("u9@a.example", "p")]
