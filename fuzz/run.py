"""Run the fuzz targets of ``fuzz/targets.py``.

::

    python fuzz/run.py smtp_server --seconds 300         # one target, atheris
    python fuzz/run.py --all --seconds 1800               # every target, in turn
    python fuzz/run.py mime_parse --engine hypothesis     # no atheris needed

Engines: ``atheris`` (coverage-guided libFuzzer; the default when atheris is
installed) and ``hypothesis`` (random and mutated seeds; runs anywhere,
also for hours).  Seeds: the message corpus (``../shared/corpus`` or
``$MAILPROTO_CORPUS``), the RFC transcripts in ``tests/``, and every file in
``fuzz/regressions/<target>/`` (inputs that once crashed: keep them).
The working corpus grows in ``fuzz/corpus/<target>/``; a crash is saved as
``fuzz/crashes/<target>-crash-*`` and the run stops with a non-zero status.

At the end each run prints ``RESULT <target> <engine> <inputs> inputs in
<seconds> s`` — the numbers the fuzzing how-to records.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

CORPUS = Path(os.environ.get("MAILPROTO_CORPUS", ROOT.parent / "shared" / "corpus"))
NAMES = [
    "mime_parse",
    "mime_downgrade",
    "imf_values",
    "imap_codec_command",
    "imap_codec_response",
    "imap_codec_command_roundtrip",
    "imap_codec_response_roundtrip",
    "smtp_server",
    "smtp_client",
    "pop3_server",
    "pop3_client",
    "imap_server",
    "imap_client",
    "imap_response_zero_copy",
]

POP3_RFC1939 = [
    (b"C", b"APOP mrose c4c9334bac560ecc979e58001b3e22fb"),
    (b"S", b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
    (b"S", b"+OK mrose's maildrop has 2 messages (320 octets)"),
    (b"C", b"STAT"),
    (b"S", b"+OK 2 320"),
    (b"C", b"LIST"),
    (b"S", b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n."),
    (b"C", b"RETR 1"),
    (b"S", b"+OK 120 octets\r\nSubject: x\r\n\r\n..dot\r\n."),
    (b"C", b"TOP 1 0"),
    (b"C", b"UIDL"),
    (b"C", b"DELE 1"),
    (b"S", b"+OK message 1 deleted"),
    (b"C", b"CAPA"),
    (b"S", b"+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN\r\n."),
    (b"C", b"AUTH PLAIN"),
    (b"S", b"+ "),
    (b"C", b"AGEAYg=="),
    (b"C", b"STLS"),
    (b"C", b"QUIT"),
    (b"S", b"+OK dewey POP3 server signing off (maildrop empty)"),
]


def _corpus_messages(limit: int = 400) -> list[bytes]:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.stat().st_size < 1 << 20)
    return [p.read_bytes() for p in files[:limit]]


def _smtp_traces() -> tuple[list[bytes], list[bytes]]:
    client, server = [], []
    for path in sorted((ROOT / "tests" / "smtp" / "traces").glob("*.txt")):
        c = s = b""
        for line in path.read_bytes().splitlines():
            if line.startswith(b"C: "):
                c += line[3:] + b"\r\n"
            elif line.startswith(b"S: "):
                s += line[3:] + b"\r\n"
        client.append(c)
        server.append(s)
    return client, server


def seeds(target: str) -> list[bytes]:
    """The starting inputs of *target* (connection targets: chunk byte first)."""
    out: list[bytes] = []
    if target in ("mime_parse", "mime_downgrade"):
        out = _corpus_messages()
    elif target == "imf_values":
        for msg in _corpus_messages(150):
            head = msg.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
            for line in head.splitlines():
                name, _, value = line.partition(b":")
                if name.lower() in (
                    b"from",
                    b"to",
                    b"cc",
                    b"date",
                    b"subject",
                    b"message-id",
                    b"references",
                    b"reply-to",
                ):
                    out.append(value.strip())
    elif target.startswith("imap_"):
        try:
            from tests.imap import rfc_examples
        except ImportError:  # pragma: no cover - tests not shipped
            rfc_examples = None  # type: ignore[assignment]
        commands = [c for c, _ in getattr(rfc_examples, "COMMANDS", [])]
        responses = [r for r, _ in getattr(rfc_examples, "RESPONSES", [])]
        if target.startswith("imap_codec_command"):
            out = commands
        elif target.startswith("imap_codec_response"):
            out = responses
        elif target == "imap_server":
            out = [b"\x00" + b"".join(commands[i : i + 5]) for i in range(0, len(commands), 5)]
        else:
            out = [
                b"\x00* OK ready\r\n" + b"".join(responses[i : i + 5])
                for i in range(0, len(responses), 5)
            ]
    elif target.startswith("smtp_"):
        client, server = _smtp_traces()
        out = [b"\x00" + (c if target == "smtp_server" else s) for c, s in zip(client, server)]
    elif target.startswith("pop3_"):
        side = b"C" if target == "pop3_server" else b"S"
        out = [b"\x00" + b"".join(t + b"\r\n" for s, t in POP3_RFC1939 if s == side)]
    regressions = HERE / "regressions" / target
    if regressions.is_dir():
        out += [p.read_bytes() for p in sorted(regressions.iterdir()) if p.is_file()]
    return [s for s in out if s]


def run_atheris(target: str, seconds: int) -> int:
    """One libFuzzer run in this process (it exits when done)."""
    import atheris

    with atheris.instrument_imports():
        import targets as mod  # mailproto is imported (instrumented) through it
    fn = mod.TARGETS[target]
    corpus = HERE / "corpus" / target
    corpus.mkdir(parents=True, exist_ok=True)
    crashes = HERE / "crashes"
    crashes.mkdir(exist_ok=True)
    seed_dir = Path(tempfile.mkdtemp(prefix=f"seeds-{target}-"))
    for i, data in enumerate(seeds(target)):
        (seed_dir / f"seed-{i:04d}").write_bytes(data)
    args = [
        sys.argv[0],
        str(corpus),
        str(seed_dir),
        f"-max_total_time={seconds}",
        "-timeout=20",
        "-rss_limit_mb=2048",
        "-max_len=262144",
        f"-artifact_prefix={crashes}/{target}-",
        "-print_final_stats=1",
    ]
    atheris.Setup(args, fn)
    atheris.Fuzz()
    return 0  # not reached: libFuzzer exits


def run_hypothesis(target: str, seconds: int) -> int:
    """Random bytes and mutated seeds, for *seconds*; prints the RESULT line."""
    import targets as mod
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from mailproto.testing import mutations

    fn = mod.TARGETS[target]
    pool = seeds(target) or [b""]
    count = 0
    inputs = st.one_of(
        st.binary(max_size=4096), st.sampled_from(pool), mutations(st.sampled_from(pool))
    )

    @settings(
        max_examples=2000,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs)
    def batch(data: bytes) -> None:
        nonlocal count
        count += 1
        fn(data)

    start = time.monotonic()
    while time.monotonic() - start < seconds:
        batch()
    print(f"RESULT {target} hypothesis {count} inputs in {time.monotonic() - start:.0f} s")
    return 0


_DONE = re.compile(rb"Done (\d+) runs in (\d+) second")


def run_child(target: str, seconds: int, engine: str) -> int:
    """Run one target in a fresh process (libFuzzer exits at the end)."""
    cmd = [
        sys.executable,
        str(Path(__file__)),
        target,
        "--seconds",
        str(seconds),
        "--engine",
        engine,
        "--child",
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True)
    sys.stdout.buffer.write(proc.stdout)
    tail = proc.stderr[-4000:]
    if engine == "atheris":
        m = _DONE.search(proc.stderr)
        if m:
            print(f"RESULT {target} atheris {int(m.group(1))} inputs in {int(m.group(2))} s")
    if proc.returncode != 0:
        sys.stdout.buffer.write(tail)
        print(f"FAILED {target} (exit {proc.returncode})")
    sys.stdout.flush()
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(NAMES))
    p.add_argument("--all", action="store_true", help="every target, one after the other")
    p.add_argument("--seconds", type=int, default=60, help="per target")
    p.add_argument("--minutes", type=float, help="per target (overrides --seconds)")
    try:
        import atheris  # noqa: F401

        default = "atheris"
    except ImportError:  # pragma: no cover
        default = "hypothesis"
    p.add_argument("--engine", choices=["atheris", "hypothesis"], default=default)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    seconds = int(args.minutes * 60) if args.minutes else args.seconds
    names = NAMES if args.all else args.targets
    if not names:
        p.error("name a target or give --all")
    for name in names:
        if name not in NAMES:
            p.error(f"unknown target {name!r}; choose from {', '.join(NAMES)}")
    if args.child:
        [name] = names
        if args.engine == "atheris":
            return run_atheris(name, seconds)
        return run_hypothesis(name, seconds)
    status = 0
    for name in names:
        status |= run_child(name, seconds, args.engine)
    return status


if __name__ == "__main__":
    sys.exit(main())
