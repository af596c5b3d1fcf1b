#!/usr/bin/env python3
"""How late the machine wakes a process (stdlib only): the control beside a
daemon's advert lateness (scripts/bench-flood.sh, bench-failover.sh).

usage: stallprobe.py --duration S [--period-ms 1] [--fifo PRIO] [--cpu N]
                     [--log-over-ms MS]

Sleeps PERIOD in a loop for S seconds, or until SIGTERM, and prints one JSON
object: n, and the oversleep (time woken minus time asked) p50, p99 and max
in ms. By default at the default policy and nice level (SCHED_OTHER, nice
0, as the daemons run by default): on a shared 2-core box a few ms of
oversleep is the box (other tasks, the hypervisor), not the process.

--fifo PRIO (SCHED_FIFO) and --cpu N (pinned) make it a probe of the
machine itself: a realtime thread alone at its priority on one CPU wakes
late only when that virtual CPU did not run (the hypervisor ran something
else) or the kernel kept interrupts off. --log-over-ms adds "stalls":
[wall-clock epoch of the wake-up, oversleep ms] of each oversleep over MS,
to line up with a capture. The interpreter adds ~0.05 ms.
"""
import argparse
import json
import os
import signal
import time

ap = argparse.ArgumentParser()
ap.add_argument("--duration", type=float, required=True)
ap.add_argument("--period-ms", type=float, default=1.0)
ap.add_argument("--fifo", type=int, default=None)
ap.add_argument("--cpu", type=int, default=None)
ap.add_argument("--log-over-ms", type=float, default=None)
a = ap.parse_args()
if a.cpu is not None:
    os.sched_setaffinity(0, {a.cpu})
if a.fifo is not None:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(a.fifo))
stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
period = a.period_ms / 1000
late = []
stalls = []
end = time.monotonic() + a.duration
while not stop and time.monotonic() < end:
    t = time.monotonic()
    time.sleep(period)
    over = time.monotonic() - t - period
    late.append(over)
    if a.log_over_ms is not None and over * 1000 > a.log_over_ms:
        stalls.append([round(time.time(), 6), round(over * 1000, 2)])
if a.fifo is not None:
    # The summary and the interpreter's exit take tens of ms: at a realtime
    # priority on every CPU they would stall the daemons under test.
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
late.sort()


def pct(p):
    return round(late[min(len(late) - 1, int(p * len(late)))] * 1000, 2) if late else None


out = {"n": len(late), "p50": pct(0.50), "p99": pct(0.99), "max": round(late[-1] * 1000, 2) if late else None}
if a.log_over_ms is not None:
    out["stalls"] = stalls
print(json.dumps(out))
