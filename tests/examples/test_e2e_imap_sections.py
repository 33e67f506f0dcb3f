"""The IMAP service's fast path for BODY[], BODY[HEADER] and BODY[TEXT] gives
exactly what mailproto.imap.structure.section_data gives (which parses the MIME tree)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime
from mailproto.imap.structure import section_data
from mailproto.imap.types import Section, SectionRequest
from mailserver.imap_service import _simple_section

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
