"""The two shapes every mechanism has: a server side and a client side.

Server side
-----------
A :class:`ServerMechanism` is a tiny state machine with two inputs and one
output type::

    step(response)  ->  Challenge | Question | Success | Failure
    answer(answer)  ->  Challenge | Question | Success | Failure

What input is allowed next depends only on the kind of the last output, and
that rule is one table (:data:`_NEXT`):

==================  =====================================================
last output         next input
==================  =====================================================
(none yet)          ``step(initial_response or None)``
``Challenge``       ``step(response)``
a ``Question``      ``answer(...)``
``Success``         nothing: the exchange is over
``Failure``         nothing: the exchange is over
==================  =====================================================

Each mechanism keeps its own finer state (which message it expects), but the
base class enforces this table, so a protocol can drive any mechanism without
knowing which one it is; calling the wrong method raises
:class:`~mailproto.errors.LocalProtocolError`.  A malformed client response
raises :class:`~mailproto.sasl.SASLError` and also ends the exchange.

Client side
-----------
A :class:`ClientMechanism` turns challenges into responses::

    initial_response()  ->  bytes | None     (optional, first)
    respond(challenge)  ->  bytes
    verify_final(data)                       (when the server said "success")

Client-first mechanisms (PLAIN, SCRAM, ...) produce their first message from
``initial_response()`` when the protocol can carry it (SMTP ``AUTH PLAIN
<ir>``, IMAP with SASL-IR, POP3 with the SASL capability); otherwise the
server sends an empty challenge and ``respond(b"")`` produces the same
message.  Both paths are handled here once, for every mechanism.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from mailproto.errors import LocalProtocolError
from mailproto.sasl._errors import SASLError
from mailproto.sasl._steps import Answer, Challenge, Failure, Question, Step, Success

__all__ = ["DEFAULT_MAX_RESPONSE_LENGTH", "ClientMechanism", "ServerMechanism"]

#: The largest decoded client response a server mechanism accepts by default.
#: RFC 4616 §2 asks PLAIN servers to accept 255 octets per field and RFC 7628
#: bearer tokens (JWTs) can reach a few kilobytes; 64 KiB covers both with a
#: wide margin while bounding the parsing work a hostile client can cause.
#: (The protocols also bound their command lines, see :mod:`mailproto.limits`.)
DEFAULT_MAX_RESPONSE_LENGTH = 65536


class _Expect(enum.Enum):
    """What a server mechanism accepts next."""

    RESPONSE = "step"
    ANSWER = "answer"
    DONE = "nothing"


# The table of the module docstring: the kind of the last step decides the
# next allowed input.  Anything not in it is a bug in the caller.
_NEXT: dict[type, _Expect] = {
    Challenge: _Expect.RESPONSE,
    Question: _Expect.ANSWER,
    Success: _Expect.DONE,
    Failure: _Expect.DONE,
}


def _expect_after(step: Step) -> _Expect:
    for kind, expect in _NEXT.items():
        if isinstance(step, kind):
            return expect
    raise TypeError(f"not a SASL step: {type(step).__name__}")  # pragma: no cover


class ServerMechanism:
    """Base class of the server side of every mechanism.

    Create one per exchange (they are cheap).  Feed it the decoded client
    responses with :meth:`step` and the application's answers with
    :meth:`answer`; send every :class:`Challenge` it returns; stop at
    :class:`Success` or :class:`Failure`.
    """

    #: The mechanism's registered name, upper case (``"SCRAM-SHA-256"``).
    name: ClassVar[str]
    #: True when an eavesdropper learns a reusable credential from the
    #: exchange (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER): offer these only over
    #: TLS (RFC 4954 §4, RFC 4616 §6, RFC 7628 §5).
    plaintext: ClassVar[bool] = False

    def __init__(self, *, max_response_length: int = DEFAULT_MAX_RESPONSE_LENGTH) -> None:
        self._expect = _Expect.RESPONSE
        self._started = False
        self._pending: Question | None = None
        self._outcome: Success | Failure | None = None
        self._max_response_length = max_response_length

    # -- public API ----------------------------------------------------------

    @property
    def pending(self) -> Question | None:
        """The question waiting for :meth:`answer`, if any."""
        return self._pending

    @property
    def outcome(self) -> Success | Failure | None:
        """The final step, once the exchange is over."""
        return self._outcome

    @property
    def complete(self) -> bool:
        """True once the exchange ended (successfully, failed, or in error)."""
        return self._expect is _Expect.DONE

    def step(self, response: bytes | None) -> Step:
        """Feed the client's decoded response; return what to do next.

        The first call passes the initial response, or ``None`` when the
        client sent none (then most mechanisms answer with an empty or a
        mechanism-specific :class:`Challenge`).  Raises
        :class:`~mailproto.sasl.SASLError` if the response is malformed;
        the exchange is then over.
        """
        if self._expect is not _Expect.RESPONSE:
            raise LocalProtocolError(
                f"{self.name}: step() called but the mechanism expects {self._expect.value}"
            )
        first = not self._started
        if response is None and not first:
            raise LocalProtocolError(f"{self.name}: only the first step may lack a response")
        self._started = True
        if response is not None and len(response) > self._max_response_length:
            self._expect = _Expect.DONE
            raise SASLError(
                f"{self.name}: client response longer than {self._max_response_length} octets"
            )
        try:
            result = self._on_response(response, first)
        except SASLError:
            self._expect = _Expect.DONE
            raise
        return self._record(result)

    def answer(self, answer: Answer) -> Step:
        """Give the application's answer to :attr:`pending`; return what next.

        The accepted types are documented on each question class; passing the
        wrong one raises :class:`~mailproto.errors.LocalProtocolError`.
        """
        if self._expect is not _Expect.ANSWER:
            raise LocalProtocolError(
                f"{self.name}: answer() called but the mechanism expects {self._expect.value}"
            )
        question = self._pending
        assert question is not None
        result = self._on_answer(question, answer)
        self._pending = None
        return self._record(result)

    # -- for subclasses --------------------------------------------------------

    def _on_response(self, response: bytes | None, first: bool) -> Step:
        raise NotImplementedError

    def _on_answer(self, question: Question, answer: Answer) -> Step:
        raise NotImplementedError

    def _record(self, result: Step) -> Step:
        self._expect = _expect_after(result)
        if isinstance(result, Question):
            self._pending = result
        elif isinstance(result, (Success, Failure)):
            self._outcome = result
        return result

    def _bool_answer(self, answer: Answer) -> bool:
        # bool is checked exactly: an int or a str is a caller bug here.
        if not isinstance(answer, bool):
            raise LocalProtocolError(
                f"{self.name}: this question is answered with True or False, "
                f"not {type(answer).__name__}"
            )
        return answer

    def _identity_answer(self, answer: Answer, requested: str | None) -> str | None:
        """For questions answerable with an identity: the accepted identity,
        or ``None`` when the application said no."""
        if isinstance(answer, str):
            return answer
        if self._bool_answer(answer):
            return requested or ""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} expecting {self._expect.value}>"


class ClientMechanism:
    """Base class of the client side of every mechanism.

    Create one per exchange with the credentials; call
    :meth:`initial_response` if the protocol can send one, then
    :meth:`respond` to each challenge; when the server reports success, call
    :meth:`verify_final` (with the success data, if the protocol carried any)
    — for SCRAM that is where the client checks that the *server* knew the
    password.
    """

    #: The mechanism's registered name, upper case.
    name: ClassVar[str]
    #: See :attr:`ServerMechanism.plaintext`.
    plaintext: ClassVar[bool] = False

    def __init__(self) -> None:
        self._started = False
        self._complete = False

    @property
    def complete(self) -> bool:
        """True once the client has everything it needs from the server
        (for SCRAM: the verified server signature)."""
        return self._complete

    def initial_response(self) -> bytes | None:
        """The initial response, or ``None`` if the mechanism has none.

        Call at most once, before :meth:`respond`, and only if the protocol
        can carry one (SMTP ``AUTH`` argument, IMAP SASL-IR, POP3 ``AUTH``
        argument).  An empty result must be sent as ``=``
        (:func:`~mailproto.sasl.encode_response` with ``initial=True``).
        """
        if self._started:
            raise LocalProtocolError(f"{self.name}: initial_response() after the exchange began")
        self._started = True
        return self._first_message()

    def respond(self, challenge: bytes) -> bytes:
        """Return the response to the server's decoded *challenge*.

        Raises :class:`~mailproto.sasl.SASLError` if the challenge is
        malformed or the server failed to prove itself; the protocol should
        then cancel (send ``*``).
        """
        if self._complete:
            raise LocalProtocolError(f"{self.name}: respond() after the exchange completed")
        if not self._started:
            # No initial response was sent: a client-first mechanism gets an
            # empty challenge and answers with what the initial response
            # would have been (RFC 4422 §5 item 2).
            self._started = True
            first = self._first_message()
            if first is not None:
                if challenge:
                    raise SASLError(f"{self.name}: expected an empty first challenge")
                return first
        return self._on_challenge(challenge)

    def verify_final(self, data: bytes | None = None) -> None:
        """Check the server's outcome: call when the server reported success.

        *data* is the "additional data with success" if the protocol carried
        it.  Raises :class:`~mailproto.sasl.SASLError` if the server did not
        prove itself (SCRAM) or sent data the mechanism does not define.
        """
        if data:
            raise SASLError(f"{self.name}: unexpected additional data with success")
        self._complete = True

    # -- for subclasses --------------------------------------------------------

    def _first_message(self) -> bytes | None:
        return None

    def _on_challenge(self, challenge: bytes) -> bytes:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} complete={self._complete}>"
