"""CPU time per message of each thread of a running server, around one client run.

Usage::

    python benchmarks/thread_cpu.py PID -- /usr/sbin/smtp-source -s 20 -m 5000 ...

Reads ``/proc/PID/task/*/stat`` before and after running the command (which
must carry ``-m COUNT``, smtp-source's message count), and prints messages
per second and, per thread group, user and system milliseconds per message:
``loop`` is the process's main thread (the event loop), the others are
grouped by their kernel name up to the first ``_`` (with the Python used
here every thread it starts is named ``python`` in the kernel, so that is
"all the other threads": the store's).  Then the machine's time split
from ``/proc/stat`` over the same interval, steal included.

Used for the per-thread comparisons of ``docs/performance/server.rst``: on
a shared machine CPU time per message moves much less than wall time, and
it tells the event loop from the store's threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from _mailserver import cpu_times

_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def thread_times(pid: int) -> dict[str, list[int]]:
    """Clock ticks (user, system) of the threads of *pid*, summed by group."""
    out: dict[str, list[int]] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        group = "loop" if tid == str(pid) else name.split("_")[0]
        ticks = out.setdefault(group, [0, 0])
        ticks[0] += int(fields[11])
        ticks[1] += int(fields[12])
    return out


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "--" or "-m" not in sys.argv:
        sys.exit(__doc__)
    pid, command = int(sys.argv[1]), sys.argv[3:]
    messages = int(command[command.index("-m") + 1])
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    before, machine_before = thread_times(pid), cpu_times()
    start = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - start
    after, machine_after = thread_times(pid), cpu_times()
    print(f"{messages / elapsed:.1f} messages/s")
    for group, (user, system) in sorted(after.items()):
        user0, system0 = before.get(group, [0, 0])
        print(
            f"  {group:14s} user {(user - user0) * tick_ms / messages:.3f}"
            f"  sys {(system - system0) * tick_ms / messages:.3f} ms/message"
        )
    deltas = [b - a for a, b in zip(machine_before[:8], machine_after[:8])]
    total = sum(deltas) or 1
    print("  machine: " + ", ".join(f"{n} {d / total:.0%}" for n, d in zip(_FIELDS, deltas)))


if __name__ == "__main__":
    main()
