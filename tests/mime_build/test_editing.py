"""Lossless editing: untouched bytes stay, changed ones are correct.

The corpus tests run over every message of ``../shared/corpus``: real mail
with LF and CRLF line ends, broken headers, deep nesting.
"""

from __future__ import annotations

import email
import email.policy
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.mime.builder import (
    BuildPolicy,
    HeaderInjectionError,
    MessageBuilder,
    attachment,
    text_part,
)
from mailproto.mime.editing import MessageEditor, edit
from tests.mime_build.checker import check_message

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
FILES = sorted(
    p for p in CORPUS.rglob("*") if p.is_file() and p.name not in ("COPYING", "SOURCES.md")
)
IDS = [str(p.relative_to(CORPUS)) for p in FILES]


_ADDR = "ed@example.com"
_VALUES = {
    **dict.fromkeys(["from", "to", "cc", "bcc", "reply-to", "sender"], _ADDR),
    **dict.fromkeys(["resent-from", "resent-to", "resent-cc", "resent-sender"], _ADDR),
    **dict.fromkeys(["message-id", "in-reply-to", "references", "content-id"], f"<{_ADDR}>"),
    **dict.fromkeys(["date", "resent-date"], "Fri, 01 Mar 2024 00:00:00 +0000"),
}


def _sep(raw: bytes) -> bytes:
    nl = raw.find(b"\n")
    return b"\r\n" if nl > 0 and raw[nl - 1] == 0x0D else b"\n" if nl >= 0 else b"\r\n"


def test_corpus_present() -> None:
    assert len(FILES) > 300


@pytest.mark.parametrize("crlf", [False, True], ids=["as-is", "crlf"])
@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_corpus_header_edits_change_only_that_field(path: Path, crlf: bool) -> None:
    raw = path.read_bytes()
    if crlf:
        # The same message with every line ending CRLF, as on the wire.
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    msg = mime.parse(raw)
    assert bytes(MessageEditor(msg)) == raw  # no edits: the input
    fields = msg.headers.fields
    sep = _sep(raw)
    if fields:
        # Replace one field (the Subject if there is one, else the first).
        target = next((f for f in fields if f.name.lower() == "subject"), fields[0])
        if target.name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            first_same = next(f for f in fields if f.name.lower() == target.name.lower())
            others = [
                f for f in fields if f.name.lower() == target.name.lower() and f is not first_same
            ]
            value = _VALUES.get(target.name.lower(), "edited value")
            out = bytes(MessageEditor(msg).set_header(target.name, value))
            new = target.name.encode("latin-1") + b": " + value.encode()
            if first_same.raw.endswith(b"\n"):
                new += sep
            expected = raw[: first_same.offset] + new
            pos = first_same.offset + len(first_same.raw)
            for f in others:  # set_header removes the duplicates
                expected += raw[pos : f.offset]
                pos = f.offset + len(f.raw)
            expected += raw[pos:]
            assert out == expected
            # Removing it takes out exactly its bytes (and its duplicates').
            out = bytes(MessageEditor(msg).remove_header(target.name))
            expected = raw[: first_same.offset]
            pos = first_same.offset + len(first_same.raw)
            for f in others:
                expected += raw[pos : f.offset]
                pos = f.offset + len(f.raw)
            assert out == expected + raw[pos:]
    # Adding a field inserts it at the end of the section, nothing else moves.
    start, end = msg.headers.span
    out = bytes(MessageEditor(msg).add_header("X-Added", "yes"))
    if end > start and not raw[start:end].endswith(b"\n"):
        assert out == raw[:end] + sep + b"X-Added: yes" + sep + raw[end:]
    else:
        assert out == raw[:end] + b"X-Added: yes" + sep + raw[end:]
    assert mime.parse(out).headers.get("X-Added") == "yes"


def _multiparts(msg: mime.Message) -> list[mime.Message]:
    return [p for p in msg.walk() if p.is_multipart and p.content_type.startswith("multipart/")]


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_corpus_part_edits_keep_other_parts(path: Path) -> None:
    raw = path.read_bytes()
    msg = mime.parse(raw)
    multis = [m for m in _multiparts(msg) if len(m.parts) >= 2]
    if multis:
        parent = multis[0]
        victim = parent.parts[-1]
        kept = [bytes(p) for p in parent.parts[:-1]]
        out = bytes(MessageEditor(msg).remove_part(victim))
        previous = parent.parts[-2]
        assert out == raw[: previous.span[1]] + raw[victim.span[1] :]
        for piece in kept:
            assert piece in out
        assert bytes(victim) not in out or bytes(victim) in b"".join(kept)
    leaves = [p for p in msg.walk() if not p.is_multipart and p.content_type == "text/plain"]
    if leaves and leaves[0].depth > 0:
        leaf = leaves[0]
        out = bytes(MessageEditor(msg).replace_body(leaf, "replaced text\n"))
        assert out.startswith(raw[: leaf.span[0]])
        assert out.endswith(raw[leaf.span[1] :])
        new_leaf = mime.parse(out)
        found = [
            p
            for p in new_leaf.walk()
            if not p.is_multipart and p.text().startswith("replaced text")
        ]
        assert found


# -- targeted behaviour -------------------------------------------------------------


def _sample(**kw: object) -> bytes:
    b = MessageBuilder().from_("a@x.org").to("b@y.org").subject("hello")
    b.header("X-One", "1").header("X-Two", "2").header("X-One", "1b")
    b.text("body\n").html("<p>body</p>")
    b.attach(b"abc", "a.bin")
    return b.as_bytes()


def test_set_header_replaces_first_and_drops_others() -> None:
    raw = _sample()
    msg = mime.parse(raw)
    out = bytes(edit(msg).set_header("x-one", "new"))
    assert b"X-One: 1b" not in out
    assert out.count(b"x-one: new\r\n") == 1
    assert out.index(b"x-one: new") < out.index(b"X-Two: 2")
    assert mime.parse(out).headers.get_all("X-One") == ["new"]


def test_prepend_and_set_absent_header() -> None:
    raw = _sample()
    out = bytes(
        edit(mime.parse(raw))
        .add_header("Received", "from a by b; Thu, 29 Feb 2024 13:14:15 -0500", prepend=True)
        .set_header("Reply-To", "Zoë <zoe@example.org>")
    )
    assert out.startswith(b"Received: from a by b;")
    msg = mime.parse(out)
    assert msg.headers.get("Reply-To") == "Zoë <zoe@example.org>"
    assert check_message(out) == []


def test_structured_values_are_formatted() -> None:
    msg = mime.parse(_sample())
    out = bytes(edit(msg).set_header("To", ["x@y.org", "Ann Other <ann@z.org>"]))
    assert b"To: x@y.org, Ann Other <ann@z.org>\r\n" in out
    with pytest.raises(ValueError):
        edit(msg).set_header("To", "not an address")
    with pytest.raises(ValueError):
        edit(msg).set_header("Content-Type", "text/plain")
    with pytest.raises(ValueError):
        edit(msg).remove_header("MIME-Version")


def test_edit_headers_of_a_subpart() -> None:
    raw = _sample()
    msg = mime.parse(raw)
    att = next(p for p in msg.walk() if p.filename == "a.bin")
    out = bytes(edit(msg).add_header("Content-Description", "the file", part=att))
    assert out.replace(b"Content-Description: the file\r\n", b"") == raw
    got = next(p for p in mime.parse(out).walk() if p.filename == "a.bin")
    assert got.headers.get("Content-Description") == "the file"


def test_part_from_another_message_is_refused() -> None:
    msg = mime.parse(_sample())
    other = mime.parse(_sample())
    with pytest.raises(ValueError):
        edit(msg).remove_part(other.parts[1])
    with pytest.raises(ValueError):
        edit(msg).remove_part(msg)
    with pytest.raises(ValueError):
        MessageEditor(msg.parts[0])


def test_last_part_cannot_be_removed() -> None:
    raw = MessageBuilder().attach(b"x", "x.bin").as_bytes()
    msg = mime.parse(raw)
    with pytest.raises(ValueError):
        edit(msg).remove_part(msg.parts[0])


def test_remove_attachment_and_add_another() -> None:
    raw = _sample()
    msg = mime.parse(raw)
    ed = edit(msg).remove_part(msg.parts[1]).add_attachment(b"new", "n.txt")
    out = bytes(ed)
    assert check_message(out) == []
    new = mime.parse(out)
    assert [p.filename for p in new.parts] == [None, "n.txt"]
    assert bytes(new.parts[0]) == bytes(msg.parts[0])
    stdlib = email.message_from_bytes(out, policy=email.policy.default)
    assert [p.get_filename() for p in stdlib.iter_attachments()] == ["n.txt"]


def test_replace_part_with_a_note() -> None:
    raw = _sample()
    msg = mime.parse(raw)
    att = msg.parts[1]
    note = text_part("[attachment a.bin removed]\n")
    out = bytes(edit(msg).replace_part(att, note))
    assert out.startswith(raw[: att.span[0]])
    assert out.endswith(raw[att.span[1] :])
    new = mime.parse(out)
    assert new.parts[1].text() == "[attachment a.bin removed]\r\n"
    assert new.parts[1].filename is None
    assert check_message(out) == []
    with pytest.raises(ValueError):
        edit(msg).replace_part(msg, note)
    boundary = msg.boundary
    assert boundary is not None
    with pytest.raises(ValueError):
        edit(msg).replace_part(att, text_part(f"--{boundary}\n"))


def test_remove_first_part_keeps_preamble() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n\r\none\r\n"
        b"--b\r\n\r\ntwo\r\n--b--\r\nepilogue\r\n"
    )
    msg = mime.parse(raw)
    out = bytes(edit(msg).remove_part(msg.parts[0]))
    assert out == (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n\r\ntwo\r\n"
        b"--b--\r\nepilogue\r\n"
    )


def test_wrap_single_part_message_lf_convention() -> None:
    raw = (
        b"From: a@x.org\nSubject: s\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe\n"
    )
    msg = mime.parse(raw)
    out = bytes(edit(msg).add_attachment(b"\x00\x01", "d.bin"))
    assert b"\r" not in out
    assert out.startswith(
        b"From: a@x.org\nSubject: s\nMIME-Version: 1.0\nContent-Type: multipart/mixed;"
    )
    assert b"Content-Transfer-Encoding: 8bit\n\n--=_" in out
    # The moved fields and the body are byte for byte in the first child.
    assert (
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        b"Gr\xc3\xbc\xc3\x9fe\n" in out
    )
    new = mime.parse(out)
    assert new.content_type == "multipart/mixed"
    assert new.parts[0].text() == "Grüße\n"
    assert new.parts[1].decoded() == b"\x00\x01"
    assert [d.kind for p in new.walk() for d in p.defects] == []


def test_wrap_alternative_root() -> None:
    raw = MessageBuilder().text("t").html("<p>h</p>").as_bytes()
    msg = mime.parse(raw)
    out = bytes(edit(msg).add_attachment(attachment(b"pdf", "x.pdf")))
    assert check_message(out) == []
    new = mime.parse(out)
    assert [p.content_type for p in new.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]
    assert bytes(new.parts[0]).endswith(bytes(msg.body_view()))


def test_replace_body_keeps_other_fields_and_name() -> None:
    raw = _sample()
    msg = mime.parse(raw)
    att = msg.parts[1]
    out = bytes(edit(msg).replace_body(att, b"\xff" * 100))
    new = next(p for p in mime.parse(out).walk() if p.filename == "a.bin")
    assert new.decoded() == b"\xff" * 100
    assert new.headers.raw("Content-Disposition") == att.headers.raw("Content-Disposition")
    with pytest.raises(ValueError):
        edit(msg).replace_body(msg, "x")
    with pytest.raises(ValueError):
        edit(msg).replace_body(att, "str for a non-text type")


def test_edit_inside_attached_message() -> None:
    inner = MessageBuilder().subject("inner").text("x").as_bytes()
    raw = MessageBuilder().text("outer").attach_message(inner).as_bytes()
    msg = mime.parse(raw)
    enclosed = msg.parts[1].parts[0]
    out = bytes(edit(msg).set_header("Subject", "changed", part=enclosed))
    assert out == raw.replace(b"Subject: inner", b"Subject: changed")


def test_replace_body_in_lf_message_uses_lf() -> None:
    raw = b"Subject: s\n\nold body\n"
    msg = mime.parse(raw)
    out = bytes(edit(msg).replace_body(msg, "new é\nbody\n"))
    assert b"\r" not in out
    assert mime.parse(out).text().replace("\r\n", "\n") == "new é\nbody\n"


def test_header_only_message_gets_body() -> None:
    raw = b"Subject: s"
    msg = mime.parse(raw)
    out = bytes(edit(msg).add_header("X-A", "b"))
    assert out == b"Subject: s\r\nX-A: b\r\n"
    out = bytes(edit(msg).replace_body(msg, "text"))
    new = mime.parse(out)
    assert new.text() == "text"
    assert new.headers.get("Subject") == "s"


def test_8bit_content_widens_its_containers() -> None:
    raw = _sample()
    msg = mime.parse(raw)
    leaf = msg.parts[0].parts[0]
    out = bytes(edit(msg, policy=BuildPolicy(allow_8bit=True)).replace_body(leaf, "Grüße\n"))
    new = mime.parse(out)
    assert new.parts[0].parts[0].content_transfer_encoding == "8bit"
    assert new.parts[0].content_transfer_encoding == "8bit"
    assert new.content_transfer_encoding == "8bit"
    assert check_message(out) == []
    # A wrapper declares the 8bit of a text attachment added to a 7bit message.
    plain = mime.parse(b"Subject: s\r\n\r\nascii\r\n")
    eight = edit(plain, policy=BuildPolicy(allow_8bit=True))
    out = bytes(eight.add_attachment("Grüße\n".encode(), "g.txt", "text/plain"))
    wrapped = mime.parse(out)
    assert wrapped.content_transfer_encoding == "8bit"
    assert wrapped.parts[1].content_transfer_encoding == "8bit"
    assert check_message(out) == []
    # Without 8BITMIME nothing widens.
    out = bytes(edit(msg).replace_body(leaf, "Grüße\n"))
    assert b"Content-Transfer-Encoding: 8bit" not in out


def test_build_returns_parsed() -> None:
    msg = mime.parse(_sample())
    assert edit(msg).set_header("Subject", "x").build().headers.get("Subject") == "x"


BAD = ["\r", "\n", "\r\n", "\x00"]


@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_editor_injection_refused(bad: str) -> None:
    msg = mime.parse(_sample())
    leaf = msg.parts[0].parts[0]
    calls: list[Callable[[], object]] = [
        lambda: edit(msg).set_header("X-A" + bad, "v"),
        lambda: edit(msg).set_header("X-A", "v" + bad + "X-B: w"),
        lambda: edit(msg).set_header("From", f"Evil{bad} <e@x.org>"),
        lambda: edit(msg).add_header("X-A" + bad, "v"),
        lambda: edit(msg).add_header("X-A", bad + "v", prepend=True),
        lambda: edit(msg).remove_header("X-A" + bad),
        lambda: edit(msg).replace_body(leaf, "x", charset="utf-8" + bad),
        lambda: edit(msg).replace_body(leaf, b"x", content_type="text/plain" + bad),
        lambda: edit(msg).add_attachment(b"x", "f" + bad + ".txt"),
        lambda: edit(msg).add_attachment(b"x", "f.bin", "application/x" + bad),
    ]
    for call in calls:
        with pytest.raises(HeaderInjectionError):
            call()


# -- random edits -------------------------------------------------------------------

NAMES = ["Subject", "X-A", "X-B", "Comments", "Keywords"]
values = st.text(st.characters(codec="utf-8", blacklist_characters="\r\n\x00"), max_size=40).filter(
    lambda v: v.strip() == v
)
ops = st.lists(
    st.tuples(st.sampled_from(["set", "add", "prepend", "remove"]), st.sampled_from(NAMES), values),
    max_size=8,
)


@given(ops=ops, crlf=st.booleans())
def test_random_header_edits_match_a_model(ops: list[tuple[str, str, str]], crlf: bool) -> None:
    b = MessageBuilder().from_("a@x.org").subject("original").header("X-A", "one")
    b.header("X-B", "two").header("X-A", "three").text("body\n").attach(b"z", "z.bin")
    raw = b.as_bytes()
    if not crlf:
        raw = raw.replace(b"\r\n", b"\n")
    msg = mime.parse(raw)
    model: list[tuple[str, str]] = [(n, v) for n, v in msg.headers]
    ed = edit(msg)
    for op, name, value in ops:
        key = name.lower()
        if op == "set":
            ed.set_header(name, value)
            idx = [i for i, (n, _) in enumerate(model) if n.lower() == key]
            if idx:
                model[idx[0]] = (name, value)
                model = [m for i, m in enumerate(model) if i not in idx[1:]]
            else:
                model.append((name, value))
        elif op == "add":
            ed.add_header(name, value)
            model.append((name, value))
        elif op == "prepend":
            ed.add_header(name, value, prepend=True)
            model.insert(0, (name, value))
        else:
            ed.remove_header(name)
            model = [m for m in model if m[0].lower() != key]
    out = bytes(ed)
    new = mime.parse(out)
    assert [(n, v) for n, v in new.headers] == model
    # The body (everything after the header section) is untouched.
    assert out[new.headers.span[1] :] == raw[msg.headers.span[1] :]
    # Every original field that survived is byte for byte in the output.
    survivors = {n.lower() for n, _ in model}
    touched = {n.lower() for op, n, _ in ops}
    for f in msg.headers.fields:
        if f.name.lower() not in touched and f.name.lower() in survivors:
            assert f.raw in out
    if crlf:
        assert check_message(out) == []
    else:
        assert b"\r" not in out


# -- hostile input ----------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        b"Subject: a\r\n",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b"--b\r\n",
        b"--b--\r\n",
        b"From x\n",
        b" continuation\r\n",
        b"X: y",
        b"body\n",
    ]
)
hostile = st.lists(st.one_of(_PIECES, st.binary(max_size=10)), max_size=30).map(b"".join)


@given(raw=hostile, rnd=st.randoms(use_true_random=False))
def test_any_bytes_edit_cleanly(raw: bytes, rnd: random.Random) -> None:
    """On any input: no edits give the input; edits raise only ValueError and
    their output parses; header-only edits leave the body bytes alone."""
    msg = mime.parse(raw)
    assert bytes(edit(msg)) == raw
    header_only = edit(msg).set_header("Subject", "new").add_header("X-Q", "v", prepend=True)
    out = bytes(header_only.remove_header("X"))
    assert out.endswith(raw[msg.headers.span[1] :])
    ed = edit(msg)
    parts = list(msg.walk())
    for _ in range(3):
        part = rnd.choice(parts)
        op = rnd.choice(["remove", "replace", "attach", "header"])
        try:
            if op == "remove":
                ed.remove_part(part)
            elif op == "replace":
                ed.replace_body(part, b"new body")
            elif op == "attach":
                ed.add_attachment(b"zz", "z.bin", part=part if rnd.random() < 0.5 else None)
            else:
                ed.set_header("X-P", "1", part=part)
        except ValueError:
            pass
    list(mime.parse(bytes(ed)).walk())
