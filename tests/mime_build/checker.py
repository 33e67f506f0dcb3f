"""An output-validity checker for built messages (RFC 5322 §2, RFC 2045–2047, RFC 2231).

Written independently of the builder: it reads the bytes line by line and
checks the rules every generated message must satisfy, returning a list of
human-readable violations (empty when the message is valid).  The MIME
structure is found with ``mailproto.mime.parse``, and the delimiter lines of
every multipart are counted independently, so a boundary that also occurs
inside a part is caught.
"""

from __future__ import annotations

import re

from mailproto import mime

# RFC 5322 §3.6.8: field-name = 1*ftext; ftext = %d33-57 / %d59-126.
_FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
_ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')
_TOKEN = rb"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_CTYPE = re.compile(rb"\s*" + _TOKEN + rb"/" + _TOKEN + rb"\s*(;|\Z)")
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_B64_LINE = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_QP_BAD = re.compile(rb"=(?![0-9A-F]{2})|[^\t\x20-\x7e]")


def _lines(data: bytes) -> list[bytes]:
    """Split on CRLF (the last piece may lack its line end)."""
    return data.split(b"\r\n")


def check_headers(section: bytes, *, utf8: bool, where: str) -> list[str]:
    problems: list[str] = []
    lines = _lines(section)
    if lines and lines[-1] == b"":
        lines.pop()
    for n, line in enumerate(lines):
        tag = f"{where} header line {n + 1}"
        if len(line) > 998:
            problems.append(f"{tag}: {len(line)} octets > 998")
        if b"\r" in line or b"\n" in line or b"\x00" in line:
            problems.append(f"{tag}: CR, LF or NUL inside a line")
        if not utf8 and not line.isascii():
            problems.append(f"{tag}: 8-bit data without RFC 6532 output")
        if utf8:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(f"{tag}: invalid UTF-8")
        if line[:1] in (b" ", b"\t"):
            if n == 0:
                problems.append(f"{tag}: continuation before the first field")
            if not line.strip(b" \t"):
                problems.append(f"{tag}: a folded line of only whitespace (RFC 5322 §3.2.2)")
            body = line.lstrip(b" \t")
        else:
            m = _FIELD_LINE.match(line)
            if m is None:
                problems.append(f"{tag}: not a field line: {line[:40]!r}")
                continue
            body = line[m.end() :].lstrip(b" \t")
        if len(line) > 78:
            # Folding at 78 is preferred: a longer line must be one piece
            # that could not be split (no unquoted whitespace in it).
            rest = _QUOTED.sub(b"Q", body)
            if b" " in rest or b"\t" in rest:
                problems.append(f"{tag}: {len(line)} characters but foldable")
        # Encoded words: complete on one line, at most 75 characters,
        # delimited by whitespace or the start/end of the line (RFC 2047 §2, §5),
        # or by the quotes/specials they sit next to in structured fields.
        for m2 in _ENCODED_WORD.finditer(line):
            if len(m2.group()) > 75:
                problems.append(f"{tag}: encoded word longer than 75 characters")
        stripped = _ENCODED_WORD.sub(b"", line)
        if b"=?" in stripped and b"?=" in stripped[stripped.find(b"=?") :]:
            problems.append(f"{tag}: a broken encoded word")
    return problems


def check_message(raw: bytes, *, utf8: bool = False, binary_ok: bool = False) -> list[str]:
    """Every rule violation found in ``raw`` (an empty list for a valid message)."""
    problems: list[str] = []
    if not binary_ok:
        if re.search(rb"\r(?!\n)|(?<!\r)\n", raw):
            problems.append("a bare CR or LF (RFC 5322 §2.1: CRLF line ends only)")
        for n, line in enumerate(_lines(raw)):
            if len(line) > 998:
                problems.append(f"line {n + 1}: {len(line)} octets > 998 (RFC 5322 §2.1.1)")
    msg = mime.parse(raw)
    if msg.headers.value("MIME-Version") != "1.0":
        problems.append("missing MIME-Version: 1.0")
    for part in msg.walk():
        where = f"part {part.span}"
        for d in part.defects:
            problems.append(f"{where}: parser defect {d.kind}: {d.message}")
        start, header_end = part.headers.span
        problems.extend(check_headers(raw[start:header_end], utf8=utf8, where=where))
        ctype = part.headers.raw("Content-Type")
        if ctype is not None and _CTYPE.match(ctype.split(b":", 1)[1]) is None:
            problems.append(f"{where}: invalid Content-Type {ctype[:60]!r}")
        cte = part.content_transfer_encoding
        body = part.raw_body
        if cte not in ("7bit", "8bit", "binary", "quoted-printable", "base64"):
            problems.append(f"{where}: unknown transfer encoding {cte!r}")
        if (part.is_multipart or part.maintype == "message") and cte not in (
            "7bit",
            "8bit",
            "binary",
        ):
            problems.append(f"{where}: {part.content_type} with {cte} (RFC 2045 §6.4)")
        if part.is_multipart and part.maintype == "multipart":
            boundary = part.boundary or ""
            if _BOUNDARY.fullmatch(boundary) is None:
                problems.append(f"{where}: invalid boundary {boundary!r}")
            delim = b"--" + boundary.encode()
            count = sum(1 for line in _lines(body) if line.startswith(delim))
            if count != len(part.parts) + 1:
                problems.append(
                    f"{where}: {count} lines start with the delimiter, "
                    f"expected {len(part.parts) + 1} (boundary occurs in content)"
                )
            continue
        if part.is_multipart:
            continue
        if cte == "7bit" and (not body.isascii() or b"\x00" in body):
            problems.append(f"{where}: 7bit body with 8-bit data or NUL")
        if cte == "8bit" and b"\x00" in body:
            problems.append(f"{where}: 8bit body with NUL")
        if cte == "base64":
            for line in _lines(body):
                if len(line) > 76 or _B64_LINE.fullmatch(line) is None:
                    problems.append(f"{where}: bad base64 line {line[:20]!r}")
                    break
        if cte == "quoted-printable":
            for line in _lines(body):
                if len(line) > 76:
                    problems.append(f"{where}: QP line over 76 characters")
                if line.endswith((b" ", b"\t")):
                    problems.append(f"{where}: QP line with trailing whitespace")
                if _QP_BAD.search(line.removesuffix(b"=")):
                    problems.append(f"{where}: QP line with an invalid character {line[:30]!r}")
    return problems
