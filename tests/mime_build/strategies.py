"""Hypothesis strategies for builder inputs."""

from __future__ import annotations

from hypothesis import strategies as st

#: Any text a caller may legitimately put in a header: every character but
#: surrogates (not encodable) and CR, LF, NUL (refused as injection).
header_chars = st.characters(codec="utf-8", blacklist_characters="\r\n\x00")
header_text = st.text(header_chars, max_size=120)
display_names = st.text(header_chars, max_size=50)
local_parts = st.from_regex(r"[a-z0-9+_-]{1,10}(\.[a-z0-9+_-]{1,10}){0,2}", fullmatch=True)
domains = st.from_regex(r"[a-z][a-z0-9-]{0,9}[a-z0-9](\.[a-z]{2,6}){1,2}", fullmatch=True)
body_text = st.text(st.characters(codec="utf-8"), max_size=400)
filenames = st.text(header_chars, min_size=1, max_size=80).filter(
    lambda s: s.strip() == s and s != ""
)
media_types = st.sampled_from(
    [
        "application/octet-stream",
        "application/pdf",
        "image/png",
        "audio/ogg",
        "application/x-custom+zip",
    ]
)
attachments = st.lists(
    st.tuples(st.binary(max_size=3000), filenames, st.one_of(st.none(), media_types)),
    max_size=3,
)
