"""Message building: mailproto's MessageBuilder vs stdlib EmailMessage + BytesGenerator.

Workloads (each builds the message from its inputs and serialises it to
bytes, in one run, best of ``--repeat``):

(a) ``5mb``: From/To/Subject/Date/Message-ID, a short text body and one
    5 MB binary attachment (base64);
(b) ``100parts``: the same headers, a text body and 100 small attachments
    (1 KB each; alternately binary and text with a non-ASCII filename);
(c) ``headers``: a message of 30 header fields, address lists and a
    non-ASCII subject, with a short body (header formatting and folding);
(d) ``edit``: take the serialised 5 MB message of (a), parse it, change its
    Subject and serialise it again (mailproto: ``mime.parse`` +
    ``MessageEditor``, lossless; stdlib: ``message_from_bytes`` + replace the
    header + ``BytesGenerator``).

Ratios are what count: the machine is shared, absolute times move between
runs; both peers are measured in the same run.

Usage::

    python benchmarks/bench_build.py [--repeat 5] [--only 5mb,100parts,headers,edit]
"""

from __future__ import annotations

import argparse
import email
import email.generator
import email.message
import email.policy
import email.utils
import functools
import gc
import io
import random
import time
from collections.abc import Callable
from datetime import datetime, timezone

from mailproto import mime
from mailproto.mime.builder import MessageBuilder
from mailproto.mime.editing import MessageEditor

DATE = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
RNG = random.Random(1)
BIG = RNG.randbytes(5 * 1024 * 1024)
SMALL = [RNG.randbytes(1024) for _ in range(100)]
TEXT = "Hello Bob,\n\nplease find the files attached.\n\nAlice\n"
RCPTS = [f"Recipient Number {i} <rcpt{i}@example.org>" for i in range(20)]


def _small_name(i: int) -> str:
    return f"données-{i}.txt" if i % 2 else f"blob-{i}.bin"


# -- mailproto ------------------------------------------------------------------


def mp_5mb() -> bytes:
    b = MessageBuilder()
    b.from_("Alice <alice@example.com>").to("Bob <bob@example.org>").subject("The report")
    b.date(DATE).message_id("<bench@example.com>").text(TEXT)
    b.attach(BIG, "report.bin", "application/octet-stream")
    return b.as_bytes()


def mp_100() -> bytes:
    b = MessageBuilder()
    b.from_("Alice <alice@example.com>").to("Bob <bob@example.org>").subject("Many files")
    b.date(DATE).message_id("<bench@example.com>").text(TEXT)
    for i, data in enumerate(SMALL):
        if i % 2:
            b.attach(data.hex().encode()[:1024], _small_name(i), "text/plain")
        else:
            b.attach(data, _small_name(i), "application/octet-stream")
    return b.as_bytes()


def mp_headers() -> bytes:
    b = MessageBuilder()
    b.from_("Алиса Б. <alice@example.com>").to(RCPTS[:10]).cc(RCPTS[10:])
    b.subject("Résumé of the quarterly meeting — action items for everyone involved")
    b.date(DATE).message_id("<bench@example.com>")
    for i in range(20):
        b.header(f"X-Header-{i}", f"value number {i} with some words in it to fold")
    b.text(TEXT)
    return b.as_bytes()


# -- stdlib -----------------------------------------------------------------------


def _flatten(msg: email.message.EmailMessage) -> bytes:
    buf = io.BytesIO()
    email.generator.BytesGenerator(buf, policy=email.policy.SMTP).flatten(msg)
    return buf.getvalue()


def _std_base(subject: str) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "Alice <alice@example.com>"
    msg["To"] = "Bob <bob@example.org>"
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(DATE)
    msg["Message-ID"] = "<bench@example.com>"
    msg.set_content(TEXT)
    return msg


def std_5mb() -> bytes:
    msg = _std_base("The report")
    msg.add_attachment(BIG, maintype="application", subtype="octet-stream", filename="report.bin")
    return _flatten(msg)


def std_100() -> bytes:
    msg = _std_base("Many files")
    for i, data in enumerate(SMALL):
        if i % 2:
            msg.add_attachment(data.hex()[:1024], subtype="plain", filename=_small_name(i))
        else:
            msg.add_attachment(
                data, maintype="application", subtype="octet-stream", filename=_small_name(i)
            )
    return _flatten(msg)


def std_headers() -> bytes:
    msg = email.message.EmailMessage()
    msg["From"] = "Алиса Б. <alice@example.com>"
    msg["To"] = ", ".join(RCPTS[:10])
    msg["Cc"] = ", ".join(RCPTS[10:])
    msg["Subject"] = "Résumé of the quarterly meeting — action items for everyone involved"
    msg["Date"] = email.utils.format_datetime(DATE)
    msg["Message-ID"] = "<bench@example.com>"
    for i in range(20):
        msg[f"X-Header-{i}"] = f"value number {i} with some words in it to fold"
    msg.set_content(TEXT)
    return _flatten(msg)


# -- editing --------------------------------------------------------------------


@functools.cache
def _edit_input() -> bytes:
    return mp_5mb()


def mp_edit() -> bytes:
    msg = mime.parse(_edit_input())
    return MessageEditor(msg).set_header("Subject", "The report (edited)").as_bytes()


def std_edit() -> bytes:
    msg = email.message_from_bytes(_edit_input(), policy=email.policy.default)
    msg.replace_header("Subject", "The report (edited)")
    buf = io.BytesIO()
    email.generator.BytesGenerator(buf, policy=email.policy.SMTP).flatten(msg)
    return buf.getvalue()


# -- harness ----------------------------------------------------------------------

WORKLOADS: dict[str, tuple[str, Callable[[], bytes], Callable[[], bytes], int]] = {
    "5mb": ("5 MB attachment", mp_5mb, std_5mb, 1),
    "100parts": ("100 small parts", mp_100, std_100, 5),
    "headers": ("30 header fields", mp_headers, std_headers, 50),
    "edit": ("edit Subject, 5 MB", mp_edit, std_edit, 1),
}


def best(fn: Callable[[], bytes], repeat: int, inner: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default=",".join(WORKLOADS))
    args = parser.parse_args()
    print(f"{'workload':<20} {'mailproto ms':>13} {'stdlib ms':>11} {'speed-up':>9}  sizes")
    for key in args.only.split(","):
        label, mp, std, inner = WORKLOADS[key]
        mp_out, std_out = mp(), std()
        t_mp = best(mp, args.repeat, inner)
        t_std = best(std, args.repeat, inner)
        print(
            f"{label:<20} {t_mp * 1e3:>13.2f} {t_std * 1e3:>11.2f} {t_std / t_mp:>8.1f}x"
            f"  {len(mp_out):,} / {len(std_out):,} bytes"
        )


if __name__ == "__main__":
    main()
