"""Who receives mail here: accounts, aliases and distribution lists.

* An **account** is an address with a password and a mailbox.  The password
  is kept only as SCRAM-SHA-256 keys (RFC 5802 §3, RFC 7677): SCRAM checks a
  client proof against them directly, and PLAIN/LOGIN are checked by deriving
  the keys again from the password the client sent (same salt and iteration
  count) and comparing in constant time.  APOP (RFC 1939 §7) needs the shared
  secret itself, so an account can opt in with ``apop = true``; only then is
  the password kept in memory (as a :class:`mailproto.sasl.Secret`).
* An **alias** is another address of an account.
* A **list** is an address with no mailbox that expands to its members:
  accounts, aliases, other lists, or remote addresses.

Addresses are compared case-insensitively (local part included): RFC 5321
§2.4 lets the receiving host decide, and every common MTA folds case.

**postmaster**: RFC 5321 §4.5.1 says a host that accepts mail MUST accept
it for ``postmaster@`` each of its domains, and for the bare ``<Postmaster>``
(§4.1.1.3).  A domain whose ``postmaster@`` address is not defined gets one
implicitly, delivering to the configured ``postmaster`` address (an
account, alias, list or remote address), by default the first account; the
account it lands in may also send as it.

:meth:`Directory.resolve` expands an address depth-first with a visited set,
so a list that contains itself (directly or through other lists) expands
once and terminates; every account appears once in the result however many
paths lead to it (one copy per account, RFC 5321 §3.9 for lists).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence

import attrs

from mailproto import sasl

__all__ = ["Account", "Directory", "DirectoryError", "Resolution", "normalize_address"]

#: The only SCRAM mechanism accounts have keys for.
SCRAM_MECHANISMS = frozenset({"SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"})


class DirectoryError(ValueError):
    """The directory's definition is inconsistent (duplicate or dangling address)."""


def normalize_address(address: str) -> str:
    """The lookup key of *address*: stripped of ``<>`` and folded to lower case."""
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    return address.lower()


def domain_of(address: str) -> str:
    """The domain part of *address* (lower case), ``""`` when it has none."""
    at = address.rfind("@")
    return address[at + 1 :].lower() if at != -1 else ""


@attrs.frozen(kw_only=True)
class Account:
    """A user with a mailbox."""

    #: The account's address in canonical (lower-case) form; also its login name.
    address: str
    #: SCRAM-SHA-256 keys derived from the password.
    scram: sasl.ScramCredentials = attrs.field(repr=False)
    #: The plaintext secret for APOP, only when the account allows APOP.
    apop_secret: sasl.Secret[str] | None = attrs.field(default=None, repr=False)

    @property
    def mailbox_name(self) -> str:
        """The directory name of this account's mailbox under the store root.

        Canonical addresses were validated at load (no ``/``, no NUL, not
        starting with a dot), so the address itself is a safe name.
        """
        return self.address


@attrs.frozen(kw_only=True)
class Resolution:
    """Where mail for one or more addresses goes."""

    #: Local accounts, each once, in first-reached order.
    accounts: tuple[Account, ...] = ()
    #: Remote addresses (canonical form), each once.
    remote: tuple[str, ...] = ()


def _check_address(address: str) -> str:
    key = normalize_address(address)
    local, at, domain = key.rpartition("@")
    if not at or not local or not domain:
        raise DirectoryError(f"{address!r} is not local@domain")
    # The account address doubles as a directory name: refuse anything that
    # could escape the store root or confuse the filesystem.
    if "/" in key or "\\" in key or key.startswith(".") or any(ord(c) < 0x20 for c in key):
        raise DirectoryError(f"{address!r} contains characters not allowed here")
    if " " in key:
        raise DirectoryError(f"{address!r} contains a space")
    return key


class Directory:
    """The accounts, aliases and lists of a set of local domains."""

    def __init__(
        self,
        *,
        domains: Iterable[str],
        accounts: Iterable[Account],
        aliases: Mapping[str, str] | None = None,
        lists: Mapping[str, Sequence[str]] | None = None,
        postmaster: str | None = None,
    ) -> None:
        self.domains: frozenset[str] = frozenset(d.lower().rstrip(".") for d in domains)
        self._accounts: dict[str, Account] = {}
        self._aliases: dict[str, str] = {}
        self._lists: dict[str, tuple[str, ...]] = {}
        # Implicit postmaster addresses (RFC 5321 §4.5.1) -> where they deliver.
        self._postmaster: dict[str, str] = {}
        for account in accounts:
            key = _check_address(account.address)
            if key in self._accounts:
                raise DirectoryError(f"account {key} defined twice")
            self._check_local(key)
            self._accounts[key] = attrs.evolve(account, address=key)
        for alias, target in (aliases or {}).items():
            key, tkey = _check_address(alias), normalize_address(target)
            self._check_local(key)
            if key in self._accounts or key in self._aliases:
                raise DirectoryError(f"alias {key} is already an address here")
            if tkey not in self._accounts:
                raise DirectoryError(f"alias {key} points to {tkey}, which is not an account")
            self._aliases[key] = tkey
        for name, members in (lists or {}).items():
            key = _check_address(name)
            self._check_local(key)
            if key in self._accounts or key in self._aliases or key in self._lists:
                raise DirectoryError(f"list {key} is already an address here")
            self._lists[key] = tuple(_check_address(m) for m in members)
        # Before the members are checked: a list may name postmaster@.
        self._add_postmasters(postmaster)
        for key, members in self._lists.items():
            for member in members:
                if self.is_local(member) and not self.exists(member):
                    raise DirectoryError(f"list {key} has member {member}, unknown here")

    def _add_postmasters(self, postmaster: str | None) -> None:
        if postmaster is not None:
            target = _check_address(postmaster)
            if self.is_local(target) and not self.exists(target):
                raise DirectoryError(f"postmaster {target} is unknown here")
        elif self._accounts:
            target = next(iter(self._accounts))
        else:
            return  # nobody to deliver to: postmaster stays unknown
        for domain in sorted(self.domains):
            key = f"postmaster@{domain}"
            if not self.exists(key):
                self._postmaster[key] = target
        # The bare "Postmaster" (no domain) is everybody's: the same target.
        self._postmaster["postmaster"] = target

    def _check_local(self, key: str) -> None:
        if domain_of(key) not in self.domains:
            raise DirectoryError(
                f"{key} is not in a local domain ({', '.join(sorted(self.domains))})"
            )

    # -- lookups ---------------------------------------------------------------

    @property
    def accounts(self) -> tuple[Account, ...]:
        """Every account."""
        return tuple(self._accounts.values())

    @property
    def aliases(self) -> Mapping[str, str]:
        """Alias address -> account address."""
        return dict(self._aliases)

    @property
    def lists(self) -> Mapping[str, tuple[str, ...]]:
        """List address -> member addresses."""
        return dict(self._lists)

    @property
    def postmasters(self) -> Mapping[str, str]:
        """Implicit ``postmaster@`` addresses (and ``postmaster``) -> where they deliver."""
        return dict(self._postmaster)

    def is_local_domain(self, domain: str) -> bool:
        """True when *domain* is served here."""
        return domain.lower().rstrip(".") in self.domains

    def is_local(self, address: str) -> bool:
        """True when *address* is in a local domain (whether or not it exists).

        The bare ``postmaster`` (RFC 5321 §4.1.1.3) is local too.
        """
        key = normalize_address(address)
        return key == "postmaster" or self.is_local_domain(domain_of(key))

    def is_list(self, address: str) -> bool:
        """True when *address* is a local distribution list (whatever its members)."""
        return normalize_address(address) in self._lists

    def exists(self, address: str) -> bool:
        """True when *address* is a local account, alias, list or postmaster."""
        key = normalize_address(address)
        return (
            key in self._accounts
            or key in self._aliases
            or key in self._lists
            or key in self._postmaster
        )

    def account(self, address: str) -> Account | None:
        """The account that owns *address* (its own address, an alias, a postmaster)."""
        key = normalize_address(address)
        key = self._postmaster.get(key, key)
        key = self._aliases.get(key, key)
        return self._accounts.get(key)

    def resolve(self, address: str) -> Resolution | None:
        """Expand one envelope recipient.

        A remote address resolves to itself in :attr:`Resolution.remote`; an
        unknown address in a local domain resolves to ``None`` (answer 550
        5.1.1).  Lists expand recursively; cycles stop at the first repeat.
        """
        key = normalize_address(address)
        if self.is_local(key) and not self.exists(key):
            return None
        return self.resolve_all([key])

    def resolve_all(self, addresses: Iterable[str]) -> Resolution:
        """Expand several recipients into one de-duplicated :class:`Resolution`.

        Unknown local addresses are skipped (check each with :meth:`resolve`
        at RCPT time).
        """
        accounts: dict[str, Account] = {}
        remote: dict[str, None] = {}
        seen: set[str] = set()
        # An explicit stack rather than recursion: a hostile config cannot
        # exhaust the Python stack with a deep chain of lists.
        stack = [normalize_address(a) for a in reversed(list(addresses))]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            postmaster = self._postmaster.get(key)
            if postmaster is not None:
                stack.append(postmaster)
                continue
            if not self.is_local(key):
                remote[key] = None
                continue
            target = self._aliases.get(key, key)
            account = self._accounts.get(target)
            if account is not None:
                accounts.setdefault(account.address, account)
                continue
            members = self._lists.get(key)
            if members is not None:
                stack.extend(reversed(members))
        return Resolution(accounts=tuple(accounts.values()), remote=tuple(remote))

    # -- authentication --------------------------------------------------------

    def scram_credentials(self, username: str, mechanism: str) -> sasl.ScramCredentials | None:
        """Answer a :class:`mailproto.sasl.LookupScramCredentials` question.

        ``None`` for unknown users and for mechanisms whose hash the account
        has no keys for (only SHA-256 is stored).
        """
        if mechanism.upper() not in SCRAM_MECHANISMS:
            return None
        account = self._accounts.get(normalize_address(username))
        return account.scram if account is not None else None

    def check_password(self, username: str, password: str) -> Account | None:
        """The account when *password* is right for *username* (PLAIN, LOGIN, USER/PASS).

        Derives SCRAM keys from *password* with the stored salt and iteration
        count and compares ``StoredKey`` in constant time.  Unknown users cost
        the same derivation, so timing does not reveal which users exist.
        """
        account = self._accounts.get(normalize_address(username))
        if account is None:
            reference = _DUMMY
        else:
            reference = account.scram
        try:
            derived = sasl.scram_credentials(
                password, salt=reference.salt, iterations=reference.iterations
            )
        except (ValueError, sasl.SASLprepError):
            return None
        if account is None:
            return None
        return account if hmac.compare_digest(derived.stored_key, reference.stored_key) else None

    def apop_secret(self, username: str) -> sasl.Secret[str] | None:
        """The shared secret for APOP, or ``None`` (unknown user or APOP not enabled)."""
        account = self._accounts.get(normalize_address(username))
        return account.apop_secret if account is not None else None


def make_account(
    address: str,
    password: str,
    *,
    apop: bool = False,
    iterations: int = sasl.DEFAULT_SCRAM_ITERATIONS,
) -> Account:
    """An :class:`Account` with SCRAM-SHA-256 keys derived from *password*."""
    return Account(
        address=_check_address(address),
        scram=sasl.scram_credentials(password, iterations=iterations),
        apop_secret=sasl.Secret(password) if apop else None,
    )


# Keys for an unknown user, so that check_password costs the same either way.
_DUMMY = sasl.scram_credentials("not a password", salt=b"mailserver-dummy-salt")
