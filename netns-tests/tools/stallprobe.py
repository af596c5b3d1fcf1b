#!/usr/bin/env python3
"""How late the machine wakes an ordinary process (stdlib only): the control
beside a daemon's advert lateness (scripts/bench-flood.sh).

usage: stallprobe.py --duration S [--period-ms 1]

Sleeps PERIOD in a loop at the default policy and nice level (SCHED_OTHER,
nice 0, as the daemons run by default) for S seconds, or until SIGTERM, and
prints one JSON object: n, and the oversleep (time woken minus time asked)
p50, p99 and max in ms. On a shared 2-core box a few ms of oversleep is
the box (other tasks, the hypervisor), not the process; a daemon's lateness
in the same window can be read against it. The interpreter adds ~0.05 ms.
"""
import argparse
import json
import signal
import time

ap = argparse.ArgumentParser()
ap.add_argument("--duration", type=float, required=True)
ap.add_argument("--period-ms", type=float, default=1.0)
a = ap.parse_args()
stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
period = a.period_ms / 1000
late = []
end = time.monotonic() + a.duration
while not stop and time.monotonic() < end:
    t = time.monotonic()
    time.sleep(period)
    late.append(time.monotonic() - t - period)
late.sort()


def pct(p):
    return round(late[min(len(late) - 1, int(p * len(late)))] * 1000, 2) if late else None


print(json.dumps({"n": len(late), "p50": pct(0.50), "p99": pct(0.99), "max": round(late[-1] * 1000, 2) if late else None}))
