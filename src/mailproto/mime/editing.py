"""Lossless editing of a parsed message.

::

    from mailproto import mime
    from mailproto.mime.editing import MessageEditor

    msg = mime.parse(raw)
    ed = MessageEditor(msg)
    ed.set_header("Subject", "[ticket 42] " + (msg.headers.get("Subject") or ""))
    ed.add_header("X-Spam-Score", "0.1", prepend=True)
    for part in msg.walk():
        if part.filename == "virus.exe":
            ed.remove_part(part)
    ed.add_attachment(report, "report.pdf")
    new_raw = bytes(ed)

Theory of operation
-------------------
The parsed tree (:mod:`mailproto.mime._message`) is immutable and knows the
exact byte span of every part, of every header section and of every header
field (:class:`~mailproto.imf.headers.HeaderField` keeps its raw bytes and
offset).  The editor is an *overlay*: operations are recorded against the
parts they concern, and serialising walks the tree and copies every span
that no operation touched straight from the original buffer.  Only what
changed is generated:

* a header operation on a part regenerates that field only; the fields
  around it, and any non-field lines in the section (an mbox ``From``
  line, a stray continuation), are copied as they were;
* a part whose body was replaced gets new body bytes and new
  ``Content-Type``/``Content-Transfer-Encoding`` fields, every other field
  of it is kept;
* removing a part drops its bytes and the delimiter line before it; adding
  one inserts a delimiter line and the new part before the close
  delimiter; the preamble, the other parts and the epilogue are copied;
* a part with no change below it is one slice of the original bytes.

So serialising an editor with no operations gives the input byte for
byte, and the bytes of every untouched part and header field are
unchanged — what a DKIM signature over untouched fields (RFC 6376 §5.4)
and an IMAP ``APPEND`` of an edited draft need.

New bytes follow the message's own conventions: the line ending of the
header section's first line (CRLF, or LF for messages stored that way) is
used for everything generated, and values are encoded and folded by the
builder's rules (:mod:`mailproto.mime.builder`), including its refusal of
CR, LF and NUL in any caller-supplied text.

Adding an attachment to a message whose root is not ``multipart/mixed``
wraps it: the root's ``Content-*`` fields move, byte for byte, into a new
first child whose body is the original body, and the root becomes a
``multipart/mixed`` with a new, collision-checked boundary.

Downgrading for a narrower transport
------------------------------------
``downgrade(message, allow_8bit=...)`` is what an MTA does with a message
it accepted as ``BODY=BINARYMIME`` (RFC 3030) or ``8BITMIME`` (RFC 6152)
when the next hop cannot take that: RFC 3030 §3 and RFC 6152 §3 let it
either convert the message or return it as undeliverable.  It re-encodes,
with :meth:`MessageEditor.set_transfer_encoding`, every leaf whose body the
transport cannot carry as it is -- a ``binary`` part, one with NUL, a bare
CR or LF, a line over 998 octets (RFC 5322 §2.1.1, RFC 2045 §2.7-§2.8), or
8-bit octets for a 7-bit hop -- as quoted-printable (text without bare LF,
mostly ASCII) or base64, and relabels the containers above them (RFC 2045
§6.4: a multipart or ``message/rfc822`` is only ever 7bit, 8bit or binary,
and says the widest encoding inside it).  Decoded content is unchanged,
octet for octet, and no encoding is nested in another (both required by
RFC 3030 §3); everything else is copied byte for byte.  It returns
``None`` when no conversion can make the message fit: a header section, a
preamble or an epilogue that is not clean CRLF text, a body that is not MIME
(no ``MIME-Version`` at the top) or whose encoding is unknown, or 8-bit
header text for a 7-bit hop.  A conversion invalidates signatures over the
parts it changes (DKIM body hashes, S/MIME, PGP/MIME).
"""

from __future__ import annotations

import re
import secrets

from mailproto.codecs import quoted_printable as qp
from mailproto.mime._folding import HeaderInjectionError, check_name, check_text
from mailproto.mime._message import Message, parse
from mailproto.mime.builder import (
    BuildPolicy,
    Part,
    _b64_body,
    _line_safe,
    attachment,
    format_header,
)

__all__ = ["HeaderInjectionError", "MessageEditor", "downgrade", "edit"]

# Fields that describe the body: replace_body and add_attachment manage them.
_MANAGED = frozenset({"content-type", "content-transfer-encoding", "mime-version"})
# Encoding classes, narrowest first (RFC 2045 §6.4).
_RANK = {"7bit": 0, "8bit": 1, "binary": 2}
_CLASSES = ("7bit", "8bit", "binary")
# Every transfer encoding RFC 2045 §6.1 defines.
_ENCODINGS = frozenset({"7bit", "8bit", "binary", "quoted-printable", "base64"})


class _Edits:
    """Everything recorded against one part."""

    __slots__ = (
        "appended",
        "body",
        "children_added",
        "prepended",
        "removed_children",
        "replaced",
        "whole",
        "wrap",
        "wrap_added",
        "wrap_rank",
    )

    def __init__(self) -> None:
        #: original field index -> new bytes, or None for a removed field.
        self.replaced: dict[int, bytes | None] = {}
        #: New fields (lower-case name, bytes), before the first field / at the end.
        self.prepended: list[tuple[str, bytes]] = []
        self.appended: list[tuple[str, bytes]] = []
        #: New body bytes (already transfer-encoded), for a replaced leaf body.
        self.body: bytes | None = None
        #: ids of children removed from this multipart.
        self.removed_children: set[int] = set()
        #: Rendered new children (bytes), appended before the close delimiter.
        self.children_added: list[bytes] = []
        #: For the root: wrap it into multipart/mixed with this boundary.
        self.wrap: str | None = None
        #: Rendered parts that follow the original content in the wrapper.
        self.wrap_added: list[bytes] = []
        #: The widest encoding class (_RANK) among the parts added to the wrapper.
        self.wrap_rank = 0
        #: The part's new bytes, replacing all of it (replace_part).
        self.whole: bytes | None = None


def _line_ending(data: bytes, start: int) -> bytes:
    """The line ending of the first line at ``start``: CRLF or LF (CRLF if none)."""
    nl = data.find(b"\n", start)
    if nl > start and data[nl - 1] == 0x0D:
        return b"\r\n"
    if nl >= 0:
        return b"\n"
    return b"\r\n"


#: The start of a line that a header section would take as its own: a
#: field name and a colon (RFC 5322 §2.2, ftext), or white space that
#: continues the field before it (§2.2.3).
_FIELD_START = re.compile(rb"[ \t]|[!-9;-~]+[ \t]*:")


def _reads_as_more_fields(chunks: list[bytes]) -> bool:
    """Would *chunks*, written right after a header section, begin with a field?"""
    head = b""
    for chunk in chunks:
        head += chunk[:1000]
        if len(head) >= 1000 or b"\n" in head:
            break
    return _FIELD_START.match(head) is not None


class MessageEditor:
    """Record edits to a parsed message; ``bytes(editor)`` applies them losslessly.

    ``part`` arguments are parts of *this* message, as returned by its
    ``walk()`` or ``parts``; the default is the root.  Every method returns
    the editor, so calls chain.  The parsed message itself is never
    modified; :meth:`build` parses the result into a new one.
    """

    def __init__(self, message: Message, *, policy: BuildPolicy | None = None) -> None:
        if not isinstance(message, Message):
            raise TypeError("MessageEditor needs a parsed mailproto.mime.Message")
        if message.depth != 0 or message.span[0] != 0:
            raise ValueError("edit the root message (mime.parse's result), not a part of it")
        self._root = message
        self._data = bytes(message)
        self.policy = policy or BuildPolicy()
        self._sep = _line_ending(self._data, 0)
        self._edits: dict[int, _Edits] = {}
        # id(part) -> (part, parent); parts are kept alive here, so ids stay unique.
        self._parents: dict[int, tuple[Message, Message | None]] | None = None

    # -- bookkeeping ------------------------------------------------------------

    def _family(self) -> dict[int, tuple[Message, Message | None]]:
        parents = self._parents
        if parents is None:
            parents = {id(self._root): (self._root, None)}
            for part in self._root.walk():
                for child in part.parts:
                    parents[id(child)] = (child, part)
            self._parents = parents
        return parents

    def _check_part(self, part: Message | None) -> Message:
        if part is None:
            return self._root
        if id(part) not in self._family() or self._family()[id(part)][0] is not part:
            raise ValueError("that part does not belong to this message")
        return part

    def _edits_for(self, part: Message) -> _Edits:
        edits = self._edits.get(id(part))
        if edits is None:
            edits = self._edits[id(part)] = _Edits()
        return edits

    def _field(self, name: str, value: object) -> bytes:
        return format_header(name, value, policy=self.policy, linesep=self._sep.decode("ascii"))

    # -- header operations ----------------------------------------------------------

    def set_header(self, name: str, value: object, *, part: Message | None = None) -> MessageEditor:
        """Set ``name`` to ``value``: the first such field is replaced in place and
        any others removed; when there is none, the field is added at the end
        of the section.

        The value is validated and formatted as :func:`mailproto.mime.builder.
        format_header` does (addresses, dates, message ids, encoded words).
        ``Content-Type``, ``Content-Transfer-Encoding`` and ``MIME-Version``
        follow from the body: use :meth:`replace_body`.
        """
        target = self._check_part(part)
        key = check_name(name).lower()
        if key in _MANAGED:
            raise ValueError(f"{name} follows from the body: use replace_body()")
        self._set(target, name, self._field(name, value))
        return self

    def add_header(
        self, name: str, value: object, *, part: Message | None = None, prepend: bool = False
    ) -> MessageEditor:
        """Add a field at the end of the section, or first with ``prepend=True``
        (where trace fields go: RFC 5322 §3.6.7, RFC 5321 §4.4)."""
        target = self._check_part(part)
        key = check_name(name).lower()
        if key in _MANAGED:
            raise ValueError(f"{name} follows from the body: use replace_body()")
        raw = self._field(name, value)
        edits = self._edits_for(target)
        if prepend:
            # Each prepended field goes on top, as each hop's Received does.
            edits.prepended.insert(0, (key, raw))
        else:
            edits.appended.append((key, raw))
        return self

    def remove_header(self, name: str, *, part: Message | None = None) -> MessageEditor:
        """Remove every field called ``name`` (original or added)."""
        target = self._check_part(part)
        key = check_name(name).lower()
        if key in _MANAGED:
            raise ValueError(f"{name} follows from the body and cannot be removed")
        self._remove(target, key)
        return self

    def _remove(self, target: Message, key: str) -> None:
        edits = self._edits_for(target)
        for i, f in enumerate(target.headers.fields):
            if f.name.lower() == key:
                edits.replaced[i] = None
        edits.prepended = [(k, b) for k, b in edits.prepended if k != key]
        edits.appended = [(k, b) for k, b in edits.appended if k != key]

    def _set(self, target: Message, name: str, raw: bytes) -> None:
        """Replace the first ``name`` field in output order, drop the others.

        Output order is: prepended fields, the original fields, appended
        fields; the replacement takes the place of the first match.
        """
        key = name.lower()
        edits = self._edits_for(target)
        pre = next((i for i, (k, _) in enumerate(edits.prepended) if k == key), None)
        live = [
            i
            for i, f in enumerate(target.headers.fields)
            if f.name.lower() == key and edits.replaced.get(i, b"") is not None
        ]
        app = next((i for i, (k, _) in enumerate(edits.appended) if k == key), None)
        # Entries before the first match have other names, so its index
        # survives the removal.
        self._remove(target, key)
        if pre is not None:
            edits.prepended.insert(pre, (key, raw))
        elif live:
            edits.replaced[live[0]] = raw
        elif app is not None:
            edits.appended.insert(app, (key, raw))
        else:
            edits.appended.append((key, raw))

    # -- body operations ---------------------------------------------------------------

    def replace_body(
        self,
        part: Message,
        content: str | bytes,
        *,
        content_type: str | None = None,
        charset: str | None = None,
    ) -> MessageEditor:
        """Give a leaf part new content; its Content-Type and
        Content-Transfer-Encoding are regenerated, its other fields kept.

        ``content`` is text (``str``, for ``text/*``) or bytes.  The content
        type stays the part's unless given; its parameters other than
        ``charset`` (a ``name``, a ``format``) are kept when it stays.
        The transfer encoding is chosen as the builder does.  As with
        :meth:`set_transfer_encoding`, no line of the new body may start with
        an enclosing multipart's delimiter: escaped in quoted-printable, a
        :class:`ValueError` in an identity encoding.
        """
        target = self._check_part(part)
        if target.is_multipart or target.content_type.startswith("multipart/"):
            raise ValueError("replace_body is for leaf parts; edit a multipart's children")
        ctype = content_type or target.content_type
        params: dict[str, str] = {}
        if content_type is None:
            params = {k: v for k, v in target.params.items() if k not in ("charset", "boundary")}
        if isinstance(content, str):
            if not ctype.startswith("text/"):
                raise ValueError(f"str content needs a text/* type, not {ctype}")
            new = Part(ctype, text=content, charset=charset, params=params)
        else:
            new = Part(ctype, body=content, charset=charset, params=params)
        chunks: list[bytes] = []
        klass = new._render(self.policy, chunks)
        self._widen_ancestors(target, klass)
        header_bytes, body = chunks[0], b"".join(chunks[2:])
        fields = parse(header_bytes + b"\r\n").headers
        cte = (fields.get("Content-Transfer-Encoding") or "7bit").strip().lower()
        body = self._keep_delimiters_out(target, body, cte)
        edits = self._edits_for(target)
        sep = self._sep
        for key, name in (("content-type", "Content-Type"), ("content-transfer-encoding", None)):
            raw = fields.raw(key)
            if raw is None:
                self._remove(target, key)
            else:
                self._set(target, name or "Content-Transfer-Encoding", self._convert(raw, sep))
        edits.body = self._convert(body, sep)
        return self

    def set_transfer_encoding(self, part: Message, encoding: str) -> MessageEditor:
        """Give a part another Content-Transfer-Encoding, keeping its content.

        A leaf is re-encoded: its decoded content (:meth:`Message.decoded`)
        is written with *encoding* -- ``base64``, ``quoted-printable``,
        ``7bit``, ``8bit`` or ``binary`` -- and decodes to the same octets
        afterwards (quoted-printable content with a bare LF is written with
        CR and LF escaped, RFC 2045 §6.7 rule (4), so that it does too).
        Only the ``Content-Transfer-Encoding`` field and the body change;
        every other field is kept byte for byte.  ``7bit`` needs ASCII
        lines, ``8bit`` lines (CRLF only, no NUL, at most 998 octets, RFC
        2045 §2.7-§2.8) and a policy that allows 8bit or binary, ``binary``
        a policy that allows it; otherwise :class:`ValueError`.  So does a
        part whose current encoding is not one of these five (nothing
        decodes it) unless the new one is the same.  No line of the new body
        may start with an enclosing multipart's delimiter (RFC 2046 §5.1.1):
        quoted-printable writes such a line's first ``-`` as ``=2D``; content
        that would need one in ``7bit``, ``8bit`` or ``binary`` is a
        :class:`ValueError` (base64 never has one).

        A multipart or an enclosed message (a part with children) is not
        encoded at all (RFC 2045 §6.4): *encoding* is then ``7bit``,
        ``8bit`` or ``binary`` and only relabels it, as the class of
        what is inside; re-encode its children first.  The same rule keeps
        other ``message/*`` leaves (``delivery-status``, ``partial`` ...) to
        those three; only the RFC 6532 ``message/global*`` types may also
        be base64 or quoted-printable (RFC 6532 §3.7, RFC 6533 §6).
        """
        target = self._check_part(part)
        cte = check_text(encoding, "transfer encoding").strip().lower()
        if cte not in _ENCODINGS:
            raise ValueError(f"unknown transfer encoding {encoding!r}")
        composite = target.content_type.startswith("multipart/") or target.is_multipart
        if composite:
            if cte not in _RANK:
                raise ValueError(
                    f"{target.content_type} may only be 7bit, 8bit or binary (RFC 2045 §6.4)"
                )
            self._set(
                target, "Content-Transfer-Encoding", self._field("Content-Transfer-Encoding", cte)
            )
            return self
        if cte not in _RANK and not _encodable(target.content_type):
            raise ValueError(
                f"{target.content_type} may only be 7bit, 8bit or binary (RFC 2045 §6.4)"
            )
        current = target.content_transfer_encoding
        if current not in _ENCODINGS and current != cte:
            raise ValueError(f"cannot decode the transfer encoding {current!r}")
        data = target.decoded()
        policy = self.policy
        if cte == "7bit" and not (data.isascii() and _line_safe(data)):
            raise ValueError("7bit requires ASCII lines of at most 998 octets (RFC 2045 §2.7)")
        if cte == "8bit":
            if not (policy.allow_8bit or policy.allow_binary):
                raise ValueError("8bit needs BuildPolicy(allow_8bit=True)")
            if not _line_safe(data):
                raise ValueError("8bit requires lines of at most 998 octets (RFC 2045 §2.8)")
        if cte == "binary" and not policy.allow_binary:
            raise ValueError("binary needs BuildPolicy(allow_binary=True)")
        if cte == "base64":
            body = _b64_body(data)
            if not target.raw_body.endswith(b"\n"):
                # The original body ended without a line break (the CRLF
                # before a boundary delimiter belongs to the delimiter, RFC
                # 2046 §5.1.1): so does the new one, with no empty line added.
                body = body[:-2]
            body = self._convert(body, self._sep)
        elif cte == "quoted-printable":
            # Body mode reads CRLF and a bare LF as line breaks and writes
            # CRLF; a bare LF would come back as CRLF, so content that has
            # one is encoded with every CR and LF escaped instead.
            bare_lf = data.count(b"\n") != data.count(b"\r\n")
            body = qp.encode(data, binary=bare_lf)
            if bare_lf and target.raw_body.endswith(b"\n"):
                # Every line break is escaped: end with a soft one, so the
                # body still ends a line (a transport adding CRLF at the end
                # of the data would otherwise add it to the content).
                body += b"=\r\n"
            body = self._convert(body, self._sep)
        else:
            body = data  # identity encodings: the content is the body
        body = self._keep_delimiters_out(target, body, cte)
        self._set(
            target, "Content-Transfer-Encoding", self._field("Content-Transfer-Encoding", cte)
        )
        self._edits_for(target).body = body
        return self

    def _widen_ancestors(self, part: Message, klass: str, *, include_self: bool = False) -> None:
        """Declare 8bit/binary on the containers of new 8bit/binary content.

        RFC 2045 §6.4: a multipart or message/rfc822 entity's encoding must
        be at least as wide as anything inside it.  Only possible when the
        editor's policy allows 8bit or binary output.
        """
        if klass not in _RANK or _RANK[klass] == 0:
            return
        family = self._family()
        node = part if include_self else family[id(part)][1]
        while node is not None:
            if _RANK.get(node.content_transfer_encoding, 0) < _RANK[klass]:
                self._set(
                    node,
                    "Content-Transfer-Encoding",
                    self._field("Content-Transfer-Encoding", klass),
                )
            node = family[id(node)][1]

    def _convert(self, data: bytes, sep: bytes) -> bytes:
        """Generated CRLF bytes in the message's line-ending convention."""
        return data if sep == b"\r\n" else data.replace(b"\r\n", sep)

    def _keep_delimiters_out(self, part: Message, body: bytes, cte: str) -> bytes:
        """*body*, written into *part*, with no line that starts an enclosing delimiter.

        RFC 2046 §5.1.1: a multipart's boundary must not appear in what it
        encloses, or a reader splits there.  Content that is re-encoded in
        place keeps its ancestors' boundaries, so the new body is checked
        against each of them (any line starting ``--boundary``, more than
        the parser needs).  Quoted-printable writes such a line's first
        ``-`` as ``=2D`` (RFC 2045 §6.7 rule (1): any octet may be
        escaped), so the content is kept; base64 cannot contain ``-``; an
        identity encoding would change the structure: :class:`ValueError`.
        """
        family = self._family()
        node = family[id(part)][1]
        while node is not None:
            boundary = node.boundary
            if boundary and (node.is_multipart or node.content_type.startswith("multipart/")):
                needle = _dash_boundary(boundary)
                if body.startswith(needle) or b"\n" + needle in body:
                    if cte != "quoted-printable":
                        raise ValueError(
                            "the new body contains a delimiter of an enclosing multipart"
                        )
                    body = re.sub(rb"(\A|\n)-(?=" + re.escape(needle[1:]) + rb")", rb"\1=2D", body)
            node = family[id(node)][1]
        return body

    def replace_part(self, part: Message, new: Part) -> MessageEditor:
        """Replace a whole body part (headers and body) with a newly built one.

        For example, swap an attachment for a short ``text/plain`` note.  The
        root cannot be replaced (build a new message instead); the new part
        must not contain its parent's boundary.
        """
        target = self._check_part(part)
        parent = self._family()[id(target)][1]
        if parent is None:
            raise ValueError("the root cannot be replaced; build a new message")
        if not isinstance(new, Part):
            raise TypeError("replace_part needs a builder Part")
        chunks: list[bytes] = []
        klass = new._render(self.policy, chunks)
        rendered = self._convert(b"".join(chunks), self._sep)
        boundary = parent.boundary
        if boundary and parent.content_type.startswith("multipart/"):
            if _dash_boundary(boundary) in rendered:
                raise ValueError("the new part contains its parent's boundary")
        if not parent.content_type.startswith("multipart/"):
            # The enclosed message of a message/rfc822 part: it ends the body.
            rendered = rendered.rstrip(b"\r\n") + self._sep
        self._edits_for(target).whole = rendered
        self._widen_ancestors(target, klass)
        return self

    def remove_part(self, part: Message) -> MessageEditor:
        """Remove a body part from its multipart (with its delimiter line).

        The last remaining part of a multipart cannot be removed (RFC 2046
        §5.1.1 requires at least one); remove the multipart instead.
        """
        target = self._check_part(part)
        parent = self._family()[id(target)][1]
        if parent is None:
            raise ValueError("the root cannot be removed")
        if not parent.content_type.startswith("multipart/"):
            raise ValueError("only a body part of a multipart can be removed")
        edits = self._edits_for(parent)
        left = [c for c in parent.parts if id(c) not in edits.removed_children]
        if target not in left:
            return self
        if len(left) == 1 and not edits.children_added:
            raise ValueError("a multipart needs at least one part (RFC 2046 §5.1.1)")
        edits.removed_children.add(id(target))
        return self

    def add_attachment(
        self,
        data: bytes | Part,
        filename: str | None = None,
        content_type: str | None = None,
        *,
        part: Message | None = None,
    ) -> MessageEditor:
        """Add an attachment (bytes with a filename, or any :class:`Part`).

        It goes at the end of ``part`` (a multipart of this message), or of
        the root: a ``multipart/mixed`` root gets it as a new last part; any
        other root is wrapped into a new ``multipart/mixed`` first.
        """
        if isinstance(data, Part):
            if filename is not None or content_type is not None:
                raise ValueError("filename and content type belong to the Part")
            new = data
        else:
            new = attachment(data, filename, content_type)
        chunks: list[bytes] = []
        klass = new._render(self.policy, chunks)
        rendered = self._convert(b"".join(chunks), self._sep)
        target = self._check_part(part)
        if part is not None or target.content_type == "multipart/mixed":
            self._widen_ancestors(target, klass, include_self=True)
            if not target.is_multipart or not target.content_type.startswith("multipart/"):
                raise ValueError("attachments go into a multipart part")
            if any(d.kind == "too-many-parts" for d in target.defects):
                raise ValueError("this multipart was not fully split (too many parts)")
            boundary = target.boundary or ""
            if _dash_boundary(boundary) in rendered:
                raise ValueError("the new part contains the multipart's boundary")
            self._edits_for(target).children_added.append(rendered)
            return self
        edits = self._edits_for(target)
        if edits.wrap is None:
            edits.wrap = self._wrap_boundary(rendered)
        elif _dash_boundary(edits.wrap) in rendered:
            raise ValueError("the new part contains the boundary")
        edits.wrap_added.append(rendered)
        edits.wrap_rank = max(edits.wrap_rank, _RANK.get(klass, 0))
        return self

    def _wrap_boundary(self, rendered: bytes) -> str:
        data = self._data
        while True:
            boundary = "=_" + secrets.token_hex(16)
            needle = _dash_boundary(boundary)
            if needle not in data and needle not in rendered:
                return boundary

    # -- output ---------------------------------------------------------------------

    def _dirty(self) -> set[int]:
        """ids of parts with edits, and of all their ancestors."""
        family = self._family()
        dirty: set[int] = set()
        for key in self._edits:
            node: Message | None = family[key][0]
            while node is not None and id(node) not in dirty:
                dirty.add(id(node))
                node = family[id(node)][1]
        return dirty

    def _header_pieces(self, part: Message, edits: _Edits | None) -> list[tuple[str | None, bytes]]:
        """The header section as (lower-case name or None for non-field bytes, bytes)."""
        data = self._data
        start, end = part.headers.span
        if edits is None:
            return [(None, data[start:end])]
        pieces: list[tuple[str | None, bytes]] = []
        pos = start
        fields = part.headers.fields
        for i, field in enumerate(fields):
            if field.offset > pos:
                pieces.append((None, data[pos : field.offset]))
            if i == 0:
                pieces.extend(edits.prepended)
            new = edits.replaced.get(i, field.raw)
            if new is not None:
                if new is not field.raw and not field.raw.endswith(b"\n"):
                    # The section's last field had no line ending: neither
                    # does its replacement, so what follows stays the same.
                    new = new.rstrip(b"\r\n")
                pieces.append((field.name.lower(), new))
            pos = field.offset + len(field.raw)
        if not fields:
            pieces.extend(edits.prepended)
        if end > pos:
            pieces.append((None, data[pos:end]))
        if edits.appended:
            if pieces and not pieces[-1][1].endswith(b"\n"):
                pieces.append((None, self._sep))
            pieces.extend(edits.appended)
        return pieces

    def _emit(self, part: Message, dirty: set[int], out: list[bytes]) -> None:
        data = self._data
        start, end = part.span
        if id(part) not in dirty:
            out.append(data[start:end])
            return
        edits = self._edits.get(id(part))
        if edits is not None and edits.whole is not None:
            out.append(edits.whole)
            return
        pieces = self._header_pieces(part, edits)
        header_end = part.headers.span[1]
        body_start = part.body_span[0]
        separator = data[header_end:body_start]
        body: list[bytes] = []
        if edits is not None and edits.body is not None:
            body.append(edits.body)
        else:
            self._emit_body(part, edits, dirty, body)
        if edits is not None and edits.wrap is not None:
            self._emit_wrapped(pieces, separator, body, edits, out)
            return
        out.extend(b for _, b in pieces)
        if not separator and ((edits is not None and edits.body) or _reads_as_more_fields(body)):
            # A part that had no body (and so perhaps no empty line) got one;
            # or a part whose body began right after its last field (no empty
            # line: a defect the parser tolerates, ending the header section
            # at the first line that is not a field) is written with a body
            # that now starts like a field -- an enclosed message given a
            # field, say -- and would read as more fields of this part.  The
            # empty line keeps the parse of the original.
            if pieces and not pieces[-1][1].endswith(b"\n"):
                out.append(self._sep)
            separator = self._sep
        out.append(separator)
        out.extend(body)

    def _emit_body(
        self, part: Message, edits: _Edits | None, dirty: set[int], out: list[bytes]
    ) -> None:
        data = self._data
        body_start, end = part.body_span
        children = part.parts if part.is_multipart else []
        if not children:
            out.append(data[body_start:end])
            return
        if not part.content_type.startswith("multipart/"):
            # message/rfc822: the enclosed message is the whole body.
            self._emit(children[0], dirty, out)
            return
        removed = edits.removed_children if edits is not None else set()
        out.append(data[body_start : children[0].span[0]])  # preamble + first delimiter
        first = True
        for i, child in enumerate(children):
            if id(child) in removed:
                continue
            if not first:
                # The delimiter line that preceded this child.
                out.append(data[children[i - 1].span[1] : child.span[0]])
            first = False
            self._emit(child, dirty, out)
        tail = data[children[-1].span[1] : end]  # close delimiter + epilogue
        if edits is not None and edits.children_added:
            sep = self._sep
            delimiter = _dash_boundary(part.boundary or "")
            for rendered in edits.children_added:
                out.append(sep + delimiter + sep + rendered)
        out.append(tail)

    def _emit_wrapped(
        self,
        pieces: list[tuple[str | None, bytes]],
        separator: bytes,
        body: list[bytes],
        edits: _Edits,
        out: list[bytes],
    ) -> None:
        sep = self._sep
        assert edits.wrap is not None
        delimiter = _dash_boundary(edits.wrap)
        moved = [b for n, b in pieces if n is not None and n.startswith("content-")]
        kept = [b for n, b in pieces if n is None or not n.startswith("content-")]
        names = {n for n, _ in pieces if n is not None}
        out.extend(kept)
        if kept and not kept[-1].endswith(b"\n"):
            out.append(sep)
        if "mime-version" not in names:
            out.append(self._field("MIME-Version", "1.0"))
        ctype = f'Content-Type: multipart/mixed; boundary="{edits.wrap}"'
        out.append(ctype.encode("ascii") + sep)
        # RFC 2045 §6.4: the wrapper declares the widest encoding inside it.
        rank = max(_RANK.get(self._root.content_transfer_encoding, 0), edits.wrap_rank)
        if rank:
            cte = ("7bit", "8bit", "binary")[rank]
            out.append(b"Content-Transfer-Encoding: " + cte.encode("ascii") + sep)
        out.append(sep)
        out.append(delimiter + sep)
        out.extend(moved)
        if moved and not moved[-1].endswith(b"\n"):
            out.append(sep)
        out.append(separator or sep)
        out.extend(body)
        for rendered in edits.wrap_added:
            out.append(sep + delimiter + sep + rendered)
        out.append(sep + delimiter + b"--" + sep)

    def as_bytes(self) -> bytes:
        """The edited message: original bytes wherever nothing changed."""
        if not self._edits:
            return self._data
        out: list[bytes] = []
        self._emit(self._root, self._dirty(), out)
        return b"".join(out)

    def __bytes__(self) -> bytes:
        return self.as_bytes()

    def build(self) -> Message:
        """The edited message, parsed."""
        return parse(self.as_bytes())


def edit(message: Message, *, policy: BuildPolicy | None = None) -> MessageEditor:
    """A :class:`MessageEditor` for ``message``."""
    return MessageEditor(message, policy=policy)


# -- downgrade (RFC 3030 §3, RFC 6152 §3) ------------------------------------------------

# Containers by type even when the parser did not split them (no boundary,
# too deep, too many parts): they can only carry 7bit/8bit/binary (RFC 2045 §6.4).
_COMPOSITE = ("multipart/", "message/rfc822", "message/news")
_HIGH = bytes(range(128, 256))


def _dash_boundary(boundary: str) -> bytes:
    """``"--" boundary`` as it stands in the message (RFC 2046 §5.1.1 dash-boundary).

    Parsed boundaries keep non-UTF-8 octets as surrogates, so they are
    written back as the octets they came from.
    """
    return b"--" + boundary.encode("utf-8", "surrogateescape")


def _encodable(content_type: str) -> bool:
    """May this leaf type be base64 or quoted-printable?  RFC 2045 §6.4
    forbids it for every ``message/*`` type (composite by definition), and
    RFC 6532 §3.7 / RFC 6533 §6 lift that for the ``message/global*`` ones."""
    return not content_type.startswith("message/") or content_type.startswith("message/global")


def _fits(data: bytes, allow_8bit: bool) -> bool:
    """*data* can travel as it is: CRLF lines of at most 998 octets, no NUL,
    and ASCII unless the transport is 8-bit (RFC 5321 §2.3.8, §4.5.3.1.6;
    RFC 6152 §3)."""
    return (allow_8bit or data.isascii()) and _line_safe(data)


def _leaf_encoding(data: bytes, text: bool, allow_8bit: bool) -> str:
    """The narrowest encoding that carries *data* on the transport, octets intact."""
    if _line_safe(data):
        if data.isascii():
            return "7bit"
        if allow_8bit:
            return "8bit"
    if text and data.count(b"\n") == data.count(b"\r\n"):
        # Quoted-printable keeps text readable; worth it while at most one
        # octet in six needs an escape (the builder's rule: beyond that,
        # base64 is shorter).  Without a bare LF its body mode keeps every
        # octet.
        high = len(data) - len(data.translate(None, _HIGH))
        nul = data.count(b"\x00")
        if (high + nul) * 6 <= len(data):
            return "quoted-printable"
    return "base64"


def downgrade(message: Message | bytes, *, allow_8bit: bool = False) -> bytes | None:
    """*message* converted for a 7-bit transport, or an 8-bit one with *allow_8bit*.

    See "Downgrading for a narrower transport" above.  Returns the message
    itself (the same bytes) when it fits already, the converted bytes, or
    ``None`` when no conversion can make it fit.  Never raises on any input.
    """
    msg = message if isinstance(message, Message) else parse(bytes(message))
    data = bytes(msg)
    rank = 1 if allow_8bit else 0
    editor = MessageEditor(msg, policy=BuildPolicy(allow_8bit=allow_8bit))
    changed = False
    containers: list[Message] = []
    for part in msg.walk():
        cte = part.content_transfer_encoding
        composite = part.is_multipart or part.content_type.startswith(_COMPOSITE)
        if composite:
            if _RANK.get(cte, 0) > rank:
                containers.append(part)
            if not part.is_multipart and not _fits(part.raw_body, allow_8bit):
                return None  # an unsplit container cannot be re-encoded
            continue
        if _RANK.get(cte, 0) <= rank and _fits(part.raw_body, allow_8bit):
            continue  # travels as it is (base64 and quoted-printable included)
        if cte not in _ENCODINGS:
            return None  # x-uuencode, x-anything: nothing here re-encodes it faithfully
        content = part.decoded()
        text = part.content_type.startswith("text/")
        new = _leaf_encoding(content, text, allow_8bit)
        if new not in _RANK and not _encodable(part.content_type):
            return None  # e.g. message/delivery-status with a NUL: identity only
        try:
            editor.set_transfer_encoding(part, new)
        except ValueError:
            if new not in _RANK:
                return None
            # An identity body with a line that starts like an enclosing
            # delimiter (RFC 2046 §5.1.1 forbids it; the part had it as a
            # binary one): quoted-printable escapes it, base64 has no "-".
            try:
                editor.set_transfer_encoding(part, "quoted-printable" if text else "base64")
            except ValueError:
                return None
        changed = True
    if changed or containers:
        if msg.headers.get("MIME-Version") is None:
            # Not MIME: there is no Content-Transfer-Encoding to change.
            return None
        for part in containers:
            editor.set_transfer_encoding(part, _CLASSES[rank])
        data = editor.as_bytes()
    # Header sections, preambles, epilogues and delimiters were copied as
    # they were: the whole result must fit, or nothing can be sent.
    return data if _fits(data, allow_8bit) else None
