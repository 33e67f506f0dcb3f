"""Header value decoding: mailproto vs stdlib ``email``, in one run.

What the message benchmark's "decoded Subject/From/To/Date" step costs, per
value kind, over every such header value of the real-world corpus
``../shared/corpus`` (the two hostile values over 100 KB — flanker's
long-header.eml Subject and mimekit's stack-overflow.txt To — are timed
separately):

* ``subject``: :func:`mailproto.codecs.encoded_words.decode_header_text` vs
  ``email.policy.default.header_factory`` (what ``msg["Subject"]`` does) and
  vs the legacy ``email.header.decode_header`` + ``make_header``;
* ``address``: :func:`mailproto.imf.parse_address_list` (+ formatting) vs
  ``header_factory`` and vs ``email.utils.getaddresses``;
* ``date``: :func:`mailproto.imf.parse_date` vs ``header_factory`` and vs
  ``email.utils.parsedate_to_datetime``;
* body transfer decodings on 4 MB: base64, quoted-printable (vs
  ``base64.b64decode``, ``quopri.decodestring``).

Ratios are what count (the machine is shared); best of ``--repeat``.

Usage::

    python benchmarks/bench_imf_values.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import email.header
import email.policy
import email.utils
import functools
import quopri
import re
import time
from collections.abc import Callable
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from mailproto.codecs import b64, quoted_printable
from mailproto.codecs.encoded_words import decode_header_text
from mailproto.imf import format_address_list, parse_address_list, parse_date

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
ADDRESS = {"from", "to", "cc", "reply-to", "sender", "bcc"}
FACTORY = email.policy.default.header_factory
_BREAK = re.compile(r"\r\n|\r|\n")


def load() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"subject": [], "address": [], "date": [], "hostile": []}
    parser = BytesHeaderParser(policy=email.policy.compat32)
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.name in ("SOURCES.md", "COPYING"):
            continue
        for name, raw in parser.parsebytes(path.read_bytes()).raw_items():
            if not isinstance(raw, str) or re.search("[\udc80-\udcff]", raw):
                continue
            value = "".join(_BREAK.split(raw)).lstrip(" \t")
            lname = name.lower()
            kind = (
                "subject"
                if lname == "subject"
                else "address"
                if lname in ADDRESS
                else "date"
                if lname == "date"
                else None
            )
            if kind is None:
                continue
            if len(value) > 100_000:
                out["hostile"].append(f"{lname}\0{value}")
            else:
                out[kind].append(value)
    return out


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _safe(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    def run(v: str) -> Any:
        try:
            return fn(v)
        except Exception:
            return None

    return run


def _std_str(name: str, value: str) -> str | None:
    try:
        return str(FACTORY(name, value))
    except Exception:
        return None


def _run_all(fn: Callable[[str], Any], vals: list[str]) -> None:
    for v in vals:
        fn(v)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    values = load()
    legacy_subject = _safe(lambda v: str(email.header.make_header(email.header.decode_header(v))))
    rows: list[tuple[str, int, dict[str, Callable[[str], Any]]]] = [
        (
            "subject",
            len(values["subject"]),
            {
                "mailproto decode_header_text": decode_header_text,
                "email header_factory": _safe(lambda v: str(FACTORY("Subject", v))),
                "email decode_header+make_header": legacy_subject,
            },
        ),
        (
            "address",
            len(values["address"]),
            {
                "mailproto parse_address_list": lambda v: parse_address_list(v).addresses,
                "mailproto parse+format": lambda v: format_address_list(
                    parse_address_list(v).items
                ),
                "email header_factory": _safe(lambda v: FACTORY("To", v).addresses),
                "email.utils.getaddresses": _safe(lambda v: email.utils.getaddresses([v])),
            },
        ),
        (
            "date",
            len(values["date"]),
            {
                "mailproto parse_date": parse_date,
                "email header_factory": _safe(lambda v: FACTORY("Date", v).datetime),
                "email.utils.parsedate_to_datetime": _safe(email.utils.parsedate_to_datetime),
            },
        ),
    ]
    print(f"corpus: {CORPUS}")
    for kind, count, impls in rows:
        vals = values[kind]
        print(f"\n{kind}: {count} values")
        base = None
        for label, fn in impls.items():
            t = best(functools.partial(_run_all, fn, vals), args.repeat)
            if base is None:
                base = t
            print(f"  {label:36s} {t * 1e6 / max(count, 1):8.2f} us/value   x{t / base:6.1f}")

    print("\nhostile values (one run each):")
    for item in values["hostile"]:
        name, value = item.split("\0", 1)
        kind = "Subject" if name == "subject" else "To"
        ours_fn: Callable[[str], Any] = (
            decode_header_text if kind == "Subject" else parse_address_list
        )
        ours = best(functools.partial(ours_fn, value), 1)
        std = best(functools.partial(_std_str, kind, value), 1)
        print(
            f"  {name} ({len(value)} chars): mailproto {ours * 1e3:.1f} ms, "
            f"email {std * 1e3:.1f} ms, x{std / ours:.0f}"
        )

    print("\nbody transfer decodings (4 MB):")
    data = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    enc64 = b64.encode(data)
    text = (
        b"Ligne de texte accentu\xc3\xa9e, assez longue pour \xc3\xaatre coup\xc3\xa9e. " * 4
        + b"\n"
    ) * 15_000
    encqp = quoted_printable.encode(text)
    decoders: list[tuple[str, Callable[[], bytes], Callable[[], bytes]]] = [
        ("base64", lambda: b64.decode(enc64), lambda: base64.b64decode(enc64)),
        (
            "quoted-printable",
            lambda: quoted_printable.decode(encqp),
            lambda: quopri.decodestring(encqp),
        ),
    ]
    for label, ours_dec, peer in decoders:
        to = best(ours_dec, args.repeat)
        tp = best(peer, args.repeat)
        print(
            f"  {label:18s} mailproto {to * 1e3:7.1f} ms   stdlib {tp * 1e3:7.1f} ms   "
            f"stdlib/mailproto x{tp / to:.1f}"
        )


if __name__ == "__main__":
    main()
