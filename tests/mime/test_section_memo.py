"""The section memo: parts with byte-identical header sections share what the
section says, yet every part gives exactly the answers (and defects) it
would give alone.

The reference is the same message parsed with limits that turn the memo off
(``header_section_size`` of 1,024 octets: the memo only serves trees whose
limits cannot cut a memoised section short; the generated sections are far
smaller, so those limits change nothing else).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.limits import MessageLimits

NO_MEMO = MessageLimits(header_section_size=1024)


def observe(part: mime.Message, order: int) -> tuple[Any, ...]:
    """Everything a user can read of one part, read in one of several orders."""
    if order == 1:
        defects = [(d.kind, d.offset) for d in part.defects]  # before anything else
    if order == 2:
        _ = part.filename, part.is_multipart  # disposition and structure first
    facts = (
        part.span,
        part.body_span,
        part.content_type,
        dict(part.params),
        part.disposition,
        dict(part.disposition_params),
        part.filename,
        part.content_transfer_encoding,
        part.is_multipart,
        len(part.parts),
        part.preamble,
        part.epilogue,
        part.decoded(),
        list(part.headers),
    )
    if order != 1:
        defects = [(d.kind, d.offset) for d in part.defects]
    return (*facts, sorted(defects, key=repr))


def observe_all(msg: mime.Message, order: int) -> list[tuple[Any, ...]]:
    return [observe(part, order) for part in msg.walk()]


# Part header sections drawn from a small pool, so that most parts repeat a
# section seen before (the memo's case), including invalid and multipart
# types, parameter defects, prefixes of one another and empty sections.
part_headers = st.sampled_from(
    [
        [],
        ["Content-Type: text/html; charset=utf-8"],
        ["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64"],
        ["Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base6"],
        ["Content-Type: garbage"],
        ["Content-Type: text/plain; name*0*=bogus'x'%ZZ; name*1=y"],
        ['Content-Disposition: attachment; filename="a b.txt"'],
        ["Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt"],
        ["Content-Type: message/rfc822"],
        ["Content-Type: multipart/mixed; boundary=in"],
        ["MIME-Version: 1.0", "Content-Type: text/plain;", " charset=us-ascii"],
        ["Content-Transfer-Encoding: quoted-printable", "X: y"],
        ["From envelope", "Content-Type: text/x"],
        [": no name", "Content-Type: text/y"],
    ]
)
part_bodies = st.sampled_from(["", "aGVsbG8=", "caf=C3=A9=", "x", "--in\nSubject: z\n\nq\n--in--"])


@st.composite
def repetitive_multipart(draw: st.DrawFn) -> bytes:
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    sub = draw(st.sampled_from(["mixed", "digest"]))
    out = [f"Content-Type: multipart/{sub}; boundary=b", ""]
    # Runs of parts with the same header section (the memo's fast loop),
    # broken by other sections, padded or differently ended delimiter
    # lines, parts shorter than their section and close delimiters.
    for _ in range(draw(st.integers(0, 4))):
        headers = draw(part_headers)
        separator = draw(st.sampled_from(["", "", "", "\r" if eol == "\n" else "\n"]))
        for _ in range(draw(st.integers(1, 4))):
            out.append(draw(st.sampled_from(["--b", "--b", "--b", "--b ", "--b\r", "--b--"])))
            out.extend(headers)
            # Usually the empty line, sometimes none (the part ends in its
            # header section) or a line ending of the other kind.
            out.append(separator)
            if draw(st.booleans()):
                out.append(draw(part_bodies))
    if draw(st.booleans()):
        out.append("--b--")
    return eol.join(out).encode()


@given(repetitive_multipart(), st.integers(0, 2))
def test_memoised_parts_answer_like_unmemoised_ones(raw: bytes, order: int) -> None:
    expected = observe_all(mime.parse(raw, limits=NO_MEMO), order)
    assert observe_all(mime.parse(raw), order) == expected
    # Again with the memo warm (entries made by the first parse).
    assert observe_all(mime.parse(raw), (order + 1) % 3) == observe_all(
        mime.parse(raw, limits=NO_MEMO), (order + 1) % 3
    )


def test_each_part_keeps_its_own_defects() -> None:
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n" + (
        b"--b\nContent-Type: garbage\nContent-Disposition: x; filename*0*=bad'%ZZ\n\nbody\n" * 3
    )
    msg = mime.parse(raw + b"--b--\n")
    parts = msg.parts
    assert len(parts) == 3
    for part in parts:
        assert part.content_type == "text/plain"
        kinds = [d.kind for d in part.defects]
        assert kinds.count("invalid-content-type") == 1
        # Reading again adds nothing.
        assert [d.kind for d in part.defects] == kinds
    assert parts[0].defects == parts[1].defects == parts[2].defects


def test_limits_that_cut_sections_short_bypass_the_memo() -> None:
    # With header_count=1 only the first field of a section counts, so the
    # Content-Type (the second field) is ignored; the memo, filled by the
    # default-limits parse, must not answer for that tree.
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nX-First: 1\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n"
        b"aGk=\n--b--\n"
    )
    assert mime.parse(raw).parts[0].content_type == "text/html"
    few = mime.parse(raw, limits=MessageLimits(header_count=1))
    # The root's own section has one field, so it is still multipart.
    part = few.parts[0]
    assert part.content_type == "text/plain"
    assert part.content_transfer_encoding == "7bit"
    assert part.decoded() == b"aGk="
    assert "too-many-header-fields" in [d.kind for d in part.defects]
    # And the default-limits parse still sees the full section afterwards.
    again = mime.parse(raw).parts[0]
    assert (again.content_type, again.decoded()) == ("text/html", b"hi")


def test_identical_leaves_after_a_container_section() -> None:
    # A section that names "multipart" in a header other than Content-Type
    # is not a leaf; identical sections after it are split the same way.
    section = b"--b\nX-Note: not multipart at all\nContent-Type: text/plain\n\n"
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n" + section + b"one\n" + section
    raw += b"two\n--b--\n"
    parts = mime.parse(raw).parts
    assert [p.content_type for p in parts] == ["text/plain", "text/plain"]
    assert [p.decoded() for p in parts] == [b"one", b"two"]
    assert [p.is_multipart for p in parts] == [False, False]


def test_parts_made_from_the_memo_have_the_state_of_parts_split_alone() -> None:
    # Identical sections after the first are created from the memo entry
    # without the class call; every slot must be set, to what a part split
    # on its own would hold.
    section = b"--b\nContent-Type: text/plain; charset=utf-8\n\n"
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n" + section + b"1\n" + section + b"2\n"
    raw += section + b"3\n--b--\n"
    made = mime.parse(raw).parts
    alone = mime.parse(raw, limits=NO_MEMO).parts
    assert len(made) == len(alone) == 3
    for part, reference in zip(made, alone, strict=True):
        _ = reference.body_span, reference.is_multipart  # split it, find its children
        _ = part.body_span, part.is_multipart
        for name in mime.Message.__slots__:
            if name not in {"_tree", "_section"}:
                assert getattr(part, name) == getattr(reference, name), name
        assert part._section is made[0]._section is not None


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("body", ["", "x", "aGk="])
@pytest.mark.parametrize("close", ["--b--", "--b", ""])
def test_runs_of_identical_parts(eol: str, body: str, close: str) -> None:
    # The memo's tight loop over a run: each part's end (the line ending
    # before the next delimiter belongs to the delimiter), body and answers
    # must be those of parts split one by one.
    section = ["--b", "Content-Type: text/html", "Content-Transfer-Encoding: base64", ""]
    lines = ["Content-Type: multipart/mixed; boundary=b", ""]
    for _ in range(5):
        lines += [*section, body]
    lines += ["--b", "Content-Type: text/plain", "", "other", close]
    raw = eol.join(lines).encode()
    for order in range(3):
        assert observe_all(mime.parse(raw), order) == observe_all(
            mime.parse(raw, limits=NO_MEMO), order
        )
    parts = mime.parse(raw).parts
    assert [p.raw_body for p in parts[:5]] == [body.encode()] * 5
