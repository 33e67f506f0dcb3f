"""Arbitrary nesting: random Part trees round-trip, and random part edits on them are exact."""

from __future__ import annotations

import email
import email.message
import email.policy
from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.mime.builder import (
    MessageBuilder,
    Part,
    attachment,
    inline_part,
    message_part,
    multipart,
    text_part,
)
from mailproto.mime.editing import edit
from tests.mime_build.checker import check_message
from tests.mime_build.strategies import body_text, filenames, header_text


@dataclass
class Node:
    """A built part and what a reader must find in it."""

    part: Part
    ctype: str
    children: list[Node] = field(default_factory=list)
    text: str | None = None
    data: bytes | None = None
    filename: str | None = None
    subject: str | None = None


def _text(args: tuple[str, str]) -> Node:
    subtype, text = args
    return Node(text_part(text, subtype), f"text/{subtype}", text=text)


def _attachment(args: tuple[bytes, str, str]) -> Node:
    data, name, ctype = args
    return Node(attachment(data, name, ctype), ctype, data=data, filename=name)


def _inline(data: bytes) -> Node:
    return Node(inline_part(data, "image/png"), "image/png", data=data)


def _message(args: tuple[str, str]) -> Node:
    subject, text = args
    inner = MessageBuilder().from_("in@example.org").subject(subject).text(text)
    node = Node(message_part(inner), "message/rfc822", subject=subject)
    node.children = [Node(text_part(text), "text/plain", text=text)]
    return node


def _multi(args: tuple[str, list[Node]]) -> Node:
    subtype, children = args
    return Node(multipart(subtype, *[c.part for c in children]), f"multipart/{subtype}", children)


leaves = st.one_of(
    st.tuples(st.sampled_from(["plain", "html", "csv"]), body_text).map(_text),
    st.tuples(
        st.binary(max_size=500),
        filenames,
        st.sampled_from(["application/octet-stream", "application/pdf", "audio/ogg"]),
    ).map(_attachment),
    st.binary(max_size=200).map(_inline),
    st.tuples(header_text, body_text).map(_message),
)
trees = st.recursive(
    leaves,
    lambda kids: st.tuples(
        st.sampled_from(["mixed", "alternative", "related", "parallel"]),
        st.lists(kids, min_size=1, max_size=4),
    ).map(_multi),
    max_leaves=10,
)


def _norm(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check(node: Node, part: mime.Message) -> None:
    assert part.content_type == node.ctype
    if node.ctype.startswith("multipart/"):
        assert len(part.parts) == len(node.children)
        for child, got in zip(node.children, part.parts):
            _check(child, got)
    elif node.ctype == "message/rfc822":
        [enclosed] = part.parts
        assert enclosed.headers.get("Subject") == node.subject
        assert node.children[0].text is not None
        assert _norm(enclosed.text()) == _norm(node.children[0].text)
    elif node.text is not None:
        assert _norm(part.text()) == _norm(node.text)
    else:
        assert part.decoded() == node.data
        assert part.filename == node.filename


def _types(node: Node) -> list[str]:
    out = [node.ctype]
    for child in node.children:
        out.extend(_types(child))
    return out


@given(tree=trees)
def test_random_trees_round_trip(tree: Node) -> None:
    raw = MessageBuilder().from_("a@example.com").body(tree.part).as_bytes()
    assert check_message(raw) == []
    _check(tree, mime.parse(raw))
    em = email.message_from_bytes(raw, policy=email.policy.default)
    assert [p.get_content_type() for p in em.walk()] == _types(tree)
    assert all(not p.defects for p in em.walk())


@given(tree=trees, data=st.data())
def test_random_part_edits_are_exact(tree: Node, data: st.DataObject) -> None:
    raw = MessageBuilder().from_("a@example.com").body(tree.part).as_bytes()
    msg = mime.parse(raw)
    parts = list(msg.walk())
    removable = [
        (p, parent)
        for parent in parts
        if parent.content_type.startswith("multipart/") and len(parent.parts) >= 2
        for p in parent.parts
    ]
    leaves = [p for p in parts if not p.is_multipart]
    ops = ["replace", "attach"] + (["remove"] if removable else [])
    op = data.draw(st.sampled_from(ops))
    if op == "remove":
        victim, parent = data.draw(st.sampled_from(removable))
        i = next(k for k, c in enumerate(parent.parts) if c is victim)
        out = bytes(edit(msg).remove_part(victim))
        if i:
            expected = raw[: parent.parts[i - 1].span[1]] + raw[victim.span[1] :]
        else:
            expected = raw[: victim.span[0]] + raw[parent.parts[1].span[0] :]
        assert out == expected
    elif op == "replace":
        leaf = data.draw(st.sampled_from(leaves))
        new: str | bytes
        if leaf.maintype == "text":
            new = data.draw(body_text)
        else:
            new = data.draw(st.binary(max_size=300))
        out = bytes(edit(msg).replace_body(leaf, new))
        assert out.startswith(raw[: leaf.span[0]])
        assert out.endswith(raw[leaf.span[1] :])
        got = list(mime.parse(out).walk())[parts.index(leaf)]
        if isinstance(new, str):
            assert _norm(got.text()) == _norm(new)
        else:
            assert got.decoded() == new
    else:
        blob = data.draw(st.binary(max_size=300))
        out = bytes(edit(msg).add_attachment(blob, "added.bin"))
        new_msg = mime.parse(out)
        assert new_msg.content_type == "multipart/mixed"
        last = new_msg.parts[-1]
        assert last.filename == "added.bin"
        assert last.decoded() == blob
        if msg.content_type == "multipart/mixed":
            assert out.startswith(raw[: msg.parts[-1].span[1]])
        for p in parts[1:]:
            assert bytes(p) in out
    assert check_message(out) == []
