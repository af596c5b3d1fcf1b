#!/usr/bin/env python3
"""Check a vrrpd /metrics scrape against `vrrpd status --json`.

usage: promcheck.py compare METRICS.txt OPENMETRICS.txt BEFORE.json AFTER.json
       promcheck.py value METRICS.txt NAME [LABEL=VALUE...]
       promcheck.py late METRICS.txt INSTANCE BOUND_S   (adverts, adverts later than BOUND_S)

The text is parsed with the Prometheus client library's own parsers
(python3-prometheus-client): the 0.0.4 text format and OpenMetrics. Counters
must lie between the two status snapshots taken around the scrape; state and
priorities must equal them. Prints what it compared; exits 1 on a mismatch.
"""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse


def samples(text, parser):
    out = {}
    for fam in parser(text):
        for s in fam.samples:
            labels = dict(s.labels)
            if "le" in labels:
                # 5e-05 and 0.00005 are one bound: compare numerically.
                labels["le"] = repr(float(labels["le"]))
            out[(s.name, tuple(sorted(labels.items())))] = s.value
    return out


def get(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))))


def lateness_n(status_instance):
    # status "lateness" reads "n=123 p50<=... p99<=... max=..."
    return int(status_instance["lateness"].split()[0][2:])


def compare(metrics_file, om_file, before_file, after_file):
    text = open(metrics_file).read()
    m = samples(text, text_parse)
    om = samples(open(om_file).read(), om_parse)
    before = {i["name"]: i for i in json.load(open(before_file))["instances"]}
    after = {i["name"]: i for i in json.load(open(after_file))["instances"]}
    bad = []
    # Both formats describe the same series.
    if {k for k in m} != {k for k in om}:
        bad.append("0.0.4 and OpenMetrics scrapes list different series: %s"
                   % sorted(set(m) ^ set(om))[:5])

    def between(what, lo, v, hi):
        ok = v is not None and lo <= v <= hi
        print("  %-52s %s <= %s <= %s %s" % (what, lo, v, hi, "ok" if ok else "MISMATCH"))
        if not ok:
            bad.append(what)

    def equal(what, want, v):
        ok = v == want
        print("  %-52s metric %s, status %s %s" % (what, v, want, "ok" if ok else "MISMATCH"))
        if not ok:
            bad.append(what)

    for name, a in after.items():
        b = before[name]
        if a["state"] != b["state"] or a["effective_priority"] != b["effective_priority"]:
            bad.append("%s changed state or priority during the scrape" % name)
        for st in ("INIT", "BACKUP", "MASTER", "FAULT"):
            equal("%s state{%s}" % (name, st), 1 if st == a["state"] else 0,
                  get(m, "vrrpd_instance_state", instance=name, state=st))
        equal(name + " priority", a["effective_priority"],
              get(m, "vrrpd_instance_priority", instance=name))
        equal(name + " base priority", a["base_priority"],
              get(m, "vrrpd_instance_base_priority", instance=name))
        for key in ("adverts_sent", "adverts_received"):
            between("%s %s" % (name, key), b[key],
                    get(m, "vrrpd_%s_total" % key, instance=name), a[key])
        # "errors": every drop by reason, the state machine's included.
        errs_a, errs_b = a.get("errors", a["drops"]), b.get("errors", b["drops"])
        for reason, n in sorted(errs_a.items()):
            if reason == "send_error":
                between(name + " send errors", errs_b.get(reason, 0),
                        get(m, "vrrpd_advert_send_errors_total", instance=name), n)
                continue
            between("%s dropped{%s}" % (name, reason), errs_b.get(reason, 0),
                    get(m, "vrrpd_adverts_dropped_total", instance=name, reason=reason), n)
        between(name + " lateness count", lateness_n(b),
                get(m, "vrrpd_advert_lateness_seconds_count", instance=name), lateness_n(a))
        st = a["stats"]
        between(name + " priority-0 received", b["stats"]["priority_zero_received"],
                get(m, "vrrpd_priority_zero_received_total", instance=name),
                st["priority_zero_received"])
    if bad:
        print("MISMATCH: " + ", ".join(bad))
        sys.exit(1)


def value(metrics_file, name, pairs):
    m = samples(open(metrics_file).read(), text_parse)
    labels = dict(p.split("=", 1) for p in pairs)
    v = get(m, name, **labels)
    if v is None:
        sys.exit("no sample %s%s" % (name, labels))
    print(int(v) if v == int(v) else v)


def late(metrics_file, instance, bound):
    m = samples(open(metrics_file).read(), text_parse)
    total = get(m, "vrrpd_advert_lateness_seconds_count", instance=instance)
    within = get(m, "vrrpd_advert_lateness_seconds_bucket", instance=instance,
                 le=repr(float(bound)))
    if total is None or within is None:
        sys.exit("no lateness histogram for %s with bucket %s" % (instance, bound))
    print(int(total), int(total - within))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "compare":
        compare(*sys.argv[2:6])
    elif cmd == "value":
        value(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "late":
        late(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
