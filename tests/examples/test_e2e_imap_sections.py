"""The IMAP service's fast paths give exactly what the general path gives.

BODY[], BODY[HEADER] and BODY[TEXT] sliced from the file equal
mailproto.imap.structure.section_data over the parsed MIME tree; answers
built from the cached header section alone (mailserver.imap_cache) equal
those built from the whole message.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.imap.structure import envelope, section_data
from mailproto.imap.types import Section, SectionRequest
from mailproto.imf.headers import split_header_section
from mailserver import imap_cache
from mailserver.imap_service import _header_only, _simple_section

_lines = st.lists(
    st.sampled_from(
        [b"Subject: x", b"From: a@b", b" folded", b"", b"body", b".", b"\tx", b"a\nb", b"x\r"]
    ),
    max_size=12,
)
_requests = st.sampled_from(
    [
        SectionRequest(),
        SectionRequest(section=Section(text="HEADER")),
        SectionRequest(section=Section(text="TEXT")),
        SectionRequest(section=Section(text="HEADER"), partial=(3, 10)),
        SectionRequest(section=Section(text="TEXT"), partial=(0, 1)),
        SectionRequest(partial=(5, 1000)),
    ]
)


@given(_lines, _requests)
def test_fast_path_equals_the_mime_tree(lines: list[bytes], request: SectionRequest) -> None:
    raw = b"\r\n".join(lines) + b"\r\n"
    fast = _simple_section(raw, request)
    if fast is not None:
        assert fast == section_data(mime.parse(raw), request)


def test_fast_path_declines_what_it_cannot_slice() -> None:
    raw = b"Subject: x\r\n\r\nbody\r\n"
    assert _simple_section(raw, SectionRequest(section=Section(part=(1,)))) is None
    assert (
        _simple_section(
            raw, SectionRequest(section=Section(text="HEADER.FIELDS", fields=("Subject",)))
        )
        is None
    )
    lf = _simple_section(b"Subject: x\n\nbody\n", SectionRequest(section=Section(text="TEXT")))
    assert lf is not None and lf.data == b"body\n"
    header = _simple_section(raw, SectionRequest(section=Section(text="HEADER")))
    assert header is not None and header.data == b"Subject: x\r\n\r\n"


# -- header sections from mailserver.imap_cache ---------------------------------------------

_header_requests = st.sampled_from(
    [
        SectionRequest(section=Section(text="HEADER")),
        SectionRequest(section=Section(text="HEADER.FIELDS", fields=("Subject", "From"))),
        SectionRequest(section=Section(text="HEADER.FIELDS.NOT", fields=("subject",))),
        SectionRequest(section=Section(text="HEADER.FIELDS", fields=("X",)), partial=(1, 4)),
    ]
)
_messages = st.builds(
    lambda lines, sep: sep.join(lines) + sep,
    st.lists(
        st.sampled_from(
            [
                b"Subject: x",
                b"From: A <a@b.example>",
                b"To: c@d.example, e@f.example",
                b"Content-Type: multipart/mixed; boundary=zz",
                b"--zz",
                b" folded",
                b"",
                b"body",
                b"x\r",
                b"\tx",
            ]
        ),
        max_size=14,
    ),
    st.sampled_from([b"\r\n", b"\n"]),
)


@given(_messages, st.sampled_from([1, 2, 7, 16, 64, 8192]))
def test_read_header_equals_the_split_of_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes, head_read: int
) -> None:
    path = tmp_path_factory.mktemp("hdr") / "m"
    path.write_bytes(raw)
    _, body_start, _ = split_header_section(raw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(imap_cache, "HEAD_READ", head_read)
        assert imap_cache.read_header(str(path)) == raw[:body_start]


@given(_messages, _header_requests)
def test_header_only_answers_equal_the_whole_message(raw: bytes, request: SectionRequest) -> None:
    _, body_start, _ = split_header_section(raw)
    head = raw[:body_start]
    assert _header_only({"UID", "ENVELOPE"}, [request])
    whole, part = mime.parse(raw), mime.parse(head)
    assert envelope(part) == envelope(whole)
    fast = _simple_section(head, request, header_only=True)
    expected = section_data(whole, request)
    assert (fast if fast is not None else section_data(part, request)) == expected


def test_header_only_is_refused_for_anything_else() -> None:
    assert not _header_only({"BODYSTRUCTURE"}, [])
    assert not _header_only({"RFC822"}, [])
    assert not _header_only(set(), [SectionRequest()])
    assert not _header_only(set(), [SectionRequest(section=Section(text="TEXT"))])
    assert not _header_only(set(), [SectionRequest(section=Section(part=(1,), text="HEADER"))])
    assert _header_only({"RFC822.HEADER", "FLAGS"}, [])


def test_cache_survives_renames_and_stays_bounded(tmp_path: Path) -> None:
    from mailserver.maildir import Store

    folder = Store(tmp_path).mailbox("u@example.org").folder("INBOX")
    uids = [
        folder.append(f"Subject: {n}\r\n\r\n{'x' * 100}\r\n".encode(), flags=[], internaldate=None)
        for n in range(5)
    ]
    cache = imap_cache.MessageCache(max_bytes=40)
    info = folder.get(uids[0])
    assert info is not None
    assert cache.read(folder, info) == folder.read(uids[0])
    folder.store_flags([uids[0]], ["\\Seen"], "add")  # renames the file
    info = folder.get(uids[0])
    assert info is not None
    assert cache.read(folder, info) == folder.read(uids[0])
    for uid in uids:
        info = folder.get(uid)
        assert info is not None
        assert cache.header(folder, info) == f"Subject: {uid - 1}\r\n\r\n".encode()
    assert len(cache) == 2  # 16 octets each, 40 at most


def test_derived_values_are_computed_once_and_bounded(tmp_path: Path) -> None:
    from mailserver.maildir import Store

    folder = Store(tmp_path).mailbox("u@example.org").folder("INBOX")
    uids = [folder.append(f"Subject: {n}\r\n\r\nx\r\n".encode()) for n in range(3)]
    cache = imap_cache.MessageCache(max_derived=2)
    calls: list[int] = []

    def compute(uid: int) -> str:
        calls.append(uid)
        return f"value {uid}"

    infos = [folder.get(uid) for uid in uids]
    assert all(info is not None for info in infos)
    for info in infos:
        assert info is not None
        make = functools.partial(compute, info.uid)
        assert cache.derived("X", "f", info, make) == f"value {info.uid}"
    first = infos[0]
    assert first is not None
    cache.derived("X", "f", first, lambda: compute(-1))  # evicted: computed again
    last = infos[2]
    assert last is not None
    cache.derived("X", "f", last, lambda: compute(-2))  # still cached
    assert calls == [*uids, -1]
