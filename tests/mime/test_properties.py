"""Properties: lossless bytes and "never raises", for arbitrary and near-valid input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailproto import mime


def exercise(msg: mime.Message) -> int:
    """Touch everything a user can touch; return the number of parts."""
    n = 0
    for part in msg.walk():
        n += 1
        touched = (
            part.content_type,
            part.params,
            part.filename,
            part.charset,
            part.disposition,
            part.preamble,
            part.epilogue,
            list(part.headers),
        )
        assert touched[0] == touched[0].lower()
        part.headers.get("Subject")
        part.headers.get("From")
        part.headers.date()
        part.decoded()
        part.text()
        assert isinstance(part.defects, list)
        start, end = part.span
        assert bytes(part) == part._tree.data[start:end]
        body_start, body_end = part.body_span
        assert start <= body_start <= body_end == end
        for child in part.parts:
            child_start, child_end = child.span
            # Children lie inside their parent's body, in order.
            assert body_start <= child_start <= child_end <= end
    return n


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_round_trip_and_never_raise(raw: bytes) -> None:
    msg = mime.parse(raw)
    assert bytes(msg) == raw
    exercise(msg)


# Near-valid messages: real header names and MIME structure, with random
# damage (bad boundaries, missing lines, odd encodings, mixed line endings).
boundaries = st.sampled_from(["b", "bb", "=_x", "simple boundary", "b--", ""])
eols = st.sampled_from(["\r\n", "\n"])
header_lines = st.sampled_from(
    [
        "Subject: =?utf-8?q?caf=C3=A9?=",
        "Subject: =?bogus?x?zz?=",
        "From: A <a@example.com>",
        "To: undisclosed-recipients:;",
        "Date: Mon, 1 Jan 2001 00:00:00 +0000",
        "Date: garbage",
        "Content-Transfer-Encoding: base64",
        "Content-Transfer-Encoding: quoted-printable",
        "Content-Transfer-Encoding: x-uuencode",
        "Content-Disposition: attachment; filename*0*=utf-8''%E2%82; filename*1=x",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/plain; charset=x-nope",
        "Content-Type: message/rfc822",
        "Content-Type: multipart/digest; boundary=b",
        "Content-Type: garbage",
        " continuation",
        "no colon here",
        "From envelope",
    ]
)
body_lines = st.sampled_from(
    ["", "text", "aGVsbG8=", "=E2=82", "--b", "--bb", "--b--", "--=_x", "--b  ", "begin 644 x", "="]
)


@st.composite
def near_valid(draw: st.DrawFn, depth: int = 0) -> str:
    eol = draw(eols)
    lines = draw(st.lists(header_lines, max_size=5))
    if depth < 3 and draw(st.booleans()):
        boundary = draw(boundaries)
        sub = draw(st.sampled_from(["mixed", "alternative", "digest"]))
        lines.append(f'Content-Type: multipart/{sub}; boundary="{boundary}"')
        body = [draw(st.sampled_from(["preamble", ""]))]
        for _ in range(draw(st.integers(0, 3))):
            body.append(f"--{boundary}{draw(st.sampled_from(['', ' ', '--', 'x']))}")
            body.append(draw(near_valid(depth + 1)))
        if draw(st.booleans()):
            body.append(f"--{boundary}--")
        body.extend(draw(st.lists(body_lines, max_size=3)))
        text = eol.join(body)
    else:
        text = eol.join(draw(st.lists(body_lines, max_size=6)))
    separator = draw(st.sampled_from([eol, "", eol + eol]))
    return eol.join(lines) + eol + separator + text


@given(near_valid(), st.sampled_from(["utf-8", "latin-1"]))
def test_near_valid_round_trip_and_never_raise(text: str, encoding: str) -> None:
    raw = text.encode(encoding, "replace")
    msg = mime.parse(raw)
    assert bytes(msg) == raw
    assert exercise(msg) >= 1
