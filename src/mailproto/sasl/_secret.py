"""A wrapper that keeps passwords, tokens and SASL blobs out of logs.

Why a type and not a convention: secrets travel through events, questions and
exception messages, and any of those may end up in a log line, a debugger, a
traceback or a hypothesis "Falsifying example" report.  All of these print
values through :func:`repr`/:func:`str`, so the only robust protection is an
object whose ``repr`` and ``str`` never contain the value.  The plaintext is
reachable only through an explicit, greppable :meth:`Secret.reveal` call.

The class is written by hand rather than with attrs because it needs what
attrs would generate differently: a generic type (``Secret[str]`` for
passwords and tokens, ``Secret[bytes]`` for raw blobs), a constant-time
``__eq__``, a hash that does not depend on the value, and pretty-printer and
``__format__`` hooks that hide the value too.
"""

from __future__ import annotations

import hmac
from typing import Any, Generic, TypeVar

__all__ = ["Secret"]

T = TypeVar("T", str, bytes)


class Secret(Generic[T]):
    """A password, token or SASL blob whose ``repr`` never shows it.

    ``Secret("pencil")`` prints as ``Secret(***)``; :meth:`reveal` returns the
    wrapped ``str`` or ``bytes``.  Equality with another :class:`Secret` is
    constant-time (:func:`hmac.compare_digest` over the UTF-8 bytes), so that
    comparing a supplied password with a stored one does not leak, through
    timing, how long a prefix matched.  A secret never equals a plain
    ``str``/``bytes``: compare ``secret.reveal()`` explicitly if you must.

    The class is immutable and slotted; it is hashable (by the length of the
    value only, so that the hash itself reveals as little as possible).
    """

    __slots__ = ("_value",)

    _value: T

    def __init__(self, value: T) -> None:
        if not isinstance(value, (str, bytes)):
            raise TypeError(f"Secret wraps str or bytes, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> T:
        """Return the wrapped value.  Every call site is a place a secret leaves."""
        return self._value

    def reveal_bytes(self) -> bytes:
        """Return the value as bytes (``str`` values are UTF-8 encoded)."""
        value = self._value
        if isinstance(value, str):
            return value.encode("utf-8", "surrogatepass")
        return value

    # -- never show the value ------------------------------------------------

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's and hypothesis's pretty printers look for this hook first.
        printer.text("Secret(***)")

    def __format__(self, format_spec: str) -> str:
        return "Secret(***)"

    # -- immutability ----------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))

    # -- comparison ------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        if isinstance(self._value, str) != isinstance(other._value, str):
            return False
        return hmac.compare_digest(self.reveal_bytes(), other.reveal_bytes())

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __len__(self) -> int:
        return len(self._value)
