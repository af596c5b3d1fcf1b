#!/usr/bin/env python3
"""The markdown table of scripts/bench-flood.sh from its per-run TSV files
(one line per run; several files are merged)."""
import argparse
import math
import statistics

ap = argparse.ArgumentParser()
ap.add_argument("--many-int", default="1")
ap.add_argument("tsv", nargs="+")
a = ap.parse_args()
rows = [l.rstrip("\n").split("\t") for f in a.tsv for l in open(f) if l.strip()]
# FILE.late beside a TSV: every gap's lateness per run ("sec kind rate daemon
# run ms ms ..."), so a cell's p50 / p99 pool all its runs' adverts (with 1
# instance a 5 s run has only 50 gaps: its own p99 is nearly its max).
samples = {}
for f in a.tsv:
    try:
        for l in open(f + ".late"):
            w = l.split()
            if len(w) >= 5:
                samples[tuple(w[:5])] = [float(x) for x in w[5:]]
    except OSError:
        pass
many_int = a.many_int
cols = ("sec kind rate daemon run wire sent fo bmaster both bonly alost p50 p99 max "
        "a_adv a_ann b_adv b_ann cpu_a cpu_b rss_a rss_b drops madd mdel br_p99 br_max box_p99 box_max").split()
cells = {}
for r in rows:
    d = dict(zip(cols, r))
    cells.setdefault((d["sec"], d["kind"], int(d["rate"]), d["daemon"]), []).append(d)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(runs, k):
    v = [x for x in (num(d[k]) for d in runs) if x is not None]
    return statistics.median(v) if v else None


def top(runs, k):
    v = [x for x in (num(d[k]) for d in runs) if x is not None]
    return max(v) if v else None


def pct(sorted_vals, q):
    """The nearest-rank percentile, as pcapstat.py computes a run's."""
    if not sorted_vals:
        return None
    return sorted_vals[max(0, math.ceil(q * len(sorted_vals)) - 1)]


def f(v, nd=0):
    if v is None:
        return "n/a"
    return f"{v:,.{nd}f}".replace(",", " ")


sec_name = {"one": "1 × 0.1 s", "many": f"100 × {many_int} s"}
print()
print("| instances | flood | pps target (reached) | daemon | false failovers | A advert lateness p50 / p99 / max (ms) "
      "| A adverts/s | A GARP+NA/s | B adverts/s | B GARP+NA/s | CPU A / B (% core) | RSS A / B (MB) "
      "| box stall p99 / max (ms) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
order = {"one": 0, "many": 1}
korder = {k: i for i, k in enumerate("oversized truncated ttl unknownvrid nonpeer lowprio".split())}
for key in sorted(cells, key=lambda k: (order.get(k[0], 9), korder.get(k[1], 9), k[2], k[3])):
    sec, kind, rate, daemon = key
    runs = cells[key]
    fo = sum(int(d["fo"]) for d in runs)
    what = []
    if sum(int(d["both"]) for d in runs):
        what.append("dual Master sampled")
    if sum(int(d["bonly"]) for d in runs):
        what.append("B alone sampled")
    if sum(int(d["madd"]) for d in runs):
        what.append(f"VIP added on B ×{sum(int(d['madd']) for d in runs)}")
    if sum(int(d["mdel"]) for d in runs):
        what.append(f"VIP removed on A ×{sum(int(d['mdel']) for d in runs)}")
    if sum(int(d["bmaster"]) for d in runs):
        what.append(f"B MASTER ×{sum(int(d['bmaster']) for d in runs)}")
    fos = f"{fo}/{len(runs)}" + (f" ({', '.join(what)})" if what else "")
    drops = sum(int(d["drops"] or 0) for d in runs)
    keys = [(d["sec"], d["kind"], d["rate"], d["daemon"], d["run"]) for d in runs]
    if all(k in samples for k in keys):
        pooled = sorted(x for k in keys for x in samples[k])
        late = (f"{f(pct(pooled, 0.50), 1)} / {f(pct(pooled, 0.99), 1)} / {f(top(runs, 'max'), 1)}")
    else:
        late = f"{f(med(runs, 'p50'), 1)} / {f(med(runs, 'p99'), 1)} / {f(top(runs, 'max'), 1)}"
    if drops:
        late += f" (capture lost {drops})"
    print(f"| {sec_name.get(sec, sec)} | {kind} | {f(rate)} ({f(med(runs, 'wire'))}) | {daemon} | {fos} | {late} "
          f"| {f(med(runs, 'a_adv'), 1)} | {f(med(runs, 'a_ann'), 1)} | {f(med(runs, 'b_adv'), 1)} | {f(med(runs, 'b_ann'), 1)} "
          f"| {f(med(runs, 'cpu_a'), 1)} / {f(med(runs, 'cpu_b'), 1)} | {f(med(runs, 'rss_a'), 1)} / {f(med(runs, 'rss_b'), 1)} "
          f"| {f(med(runs, 'box_p99'), 1)} / {f(top(runs, 'box_max'), 1)} |")
print()
print("Medians over the runs; lateness p50 / p99 over all the runs' adverts pooled (where the runs' samples were")
print("kept, else the median of the runs' own), max the largest over the runs; a negative lateness means A advertised")
print("more often than its interval (answers to the flood). Reached = frames the bridge received from C per second.")
print("Box stall: how late the machine woke an ordinary process (1 ms sleeps, SCHED_OTHER) in the same window")
print("(median of the runs' p99, largest max); n/a in runs saved before the probe existed.")
