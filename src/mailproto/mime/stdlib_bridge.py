"""Convert between mailproto messages and the standard library's :mod:`email`.

For codebases that adopt mailproto gradually: parse or build with
mailproto and hand an :class:`email.message.EmailMessage` to code that
expects one, or take a message that stdlib code produced and continue with
mailproto.

::

    from mailproto.mime.stdlib_bridge import from_email_message, to_email_message

    em = to_email_message(mime.parse(raw))          # EmailMessage, policy.default
    msg = from_email_message(em)                   # mailproto.mime.Message

The conversion goes through bytes, which both sides define exactly:
``to_email_message`` feeds the message's bytes to :mod:`email`'s parser, and
``from_email_message`` serialises with :class:`email.generator.
BytesGenerator` (CRLF line ends, ``From`` lines not mangled) and parses the
result lazily.  Going *to* stdlib loses nothing (stdlib keeps the raw
header values it parsed); coming *back*, the bytes are whatever stdlib's
generator writes, which may refold headers that stdlib changed — for a
byte-exact round trip of an unchanged message keep the original bytes.
Everything stays in memory: no file or network is touched.  :mod:`email`
is imported on first use only, because importing it loads :mod:`socket`
(``email.utils``), which no mailproto module may load at import time.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from mailproto.mime._message import Message, parse

if TYPE_CHECKING:
    import email.message
    from email.policy import Policy

    from mailproto.mime.builder import MessageBuilder
    from mailproto.mime.editing import MessageEditor

__all__ = ["email_message_bytes", "from_email_message", "to_email_message"]


def to_email_message(
    message: Message | MessageBuilder | MessageEditor | bytes,
    *,
    policy: Policy | None = None,
) -> email.message.EmailMessage:
    """The message as an :class:`email.message.EmailMessage` (``policy.default``).

    Accepts a parsed message or part, a builder, an editor, or raw bytes.
    """
    import email
    import email.message
    import email.policy

    if policy is None:
        policy = email.policy.default
    raw = bytes(message)
    result = email.message_from_bytes(raw, _class=email.message.EmailMessage, policy=policy)
    assert isinstance(result, email.message.EmailMessage)
    return result


def email_message_bytes(message: email.message.Message, *, utf8: bool = False) -> bytes:
    """Serialise a stdlib message with CRLF line ends.

    ``utf8=True`` lets stdlib write RFC 6532 UTF-8 headers instead of
    encoded words (only for :class:`email.policy.EmailPolicy` messages).
    """
    import email.generator
    import email.policy

    policy = message.policy.clone(linesep="\r\n")
    if utf8 and isinstance(policy, email.policy.EmailPolicy):
        policy = policy.clone(utf8=True)
    buffer = io.BytesIO()
    generator = email.generator.BytesGenerator(buffer, mangle_from_=False, policy=policy)
    generator.flatten(message)
    return buffer.getvalue()


def from_email_message(message: email.message.Message, *, utf8: bool = False) -> Message:
    """A stdlib message (any policy) as a parsed :class:`mailproto.mime.Message`."""
    import email.message

    if not isinstance(message, email.message.Message):
        raise TypeError("from_email_message needs an email.message.Message")
    return parse(email_message_bytes(message, utf8=utf8))
