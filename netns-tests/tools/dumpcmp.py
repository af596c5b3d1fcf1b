#!/usr/bin/env python3
"""Compare vrrpd's keepalived-style dumps with keepalived's own.

usage: dumpcmp.py VRRPD_DIR KEEPALIVED_DIR

Each directory holds keepalived.json, keepalived.stats and keepalived.data.
JSON: every key vrrpd writes (per instance, in "data" and "stats") must
exist in keepalived's dump of the same instance with the same JSON type
(number, string, bool, array); the keys keepalived has and vrrpd lacks are
listed. Stats: the same lines once the numbers are taken out. Data: every
line label vrrpd writes ("   State", "   Virtual Router ID", ...) must occur
in keepalived's dump. Exits 1 on a difference.
"""
import json
import re
import sys


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def labels(text):
    out = set()
    for line in text.splitlines():
        if line.startswith("------<"):
            out.add(line)
            continue
        if " = " in line:
            key = line.split(" = ")[0]
        elif " : " in line:
            key = line.split(" : ")[0]
        else:
            key = re.sub(r"[0-9].*", "", line)
        out.add(key.rstrip())
    return out


def main(mine_dir, ka_dir):
    bad = []
    mine = json.load(open(mine_dir + "/keepalived.json"))
    ka = json.load(open(ka_dir + "/keepalived.json"))
    ka_by = {i["data"]["iname"]: i for i in ka}
    lacking = set()
    for inst in mine:
        name = inst["data"]["iname"]
        theirs = ka_by.get(name)
        if theirs is None:
            bad.append("instance %s missing from keepalived's dump" % name)
            continue
        for part in ("data", "stats"):
            for k, v in inst[part].items():
                if k not in theirs[part]:
                    bad.append("%s.%s.%s: not in keepalived's dump" % (name, part, k))
                elif kind(v) != kind(theirs[part][k]):
                    bad.append("%s.%s.%s: %s here, %s in keepalived's"
                               % (name, part, k, kind(v), kind(theirs[part][k])))
            lacking |= {"%s.%s" % (part, k) for k in theirs[part] if k not in inst[part]}
        checked = len(inst["data"]) + len(inst["stats"])
        print("  json %s: %d keys, all in keepalived's dump with the same types" % (name, checked)
              if not bad else "  json %s: %d keys checked" % (name, checked))
    print("  json: keepalived keys vrrpd does not write: %s" % (", ".join(sorted(lacking)) or "none"))

    def shape(text):
        return [re.sub(r"[0-9]+", "N", line) for line in text.splitlines()]

    s_mine = shape(open(mine_dir + "/keepalived.stats").read())
    s_ka = shape(open(ka_dir + "/keepalived.stats").read())
    if s_mine != s_ka:
        bad.append("stats layout differs")
    print("  stats: %d lines, layout %s keepalived's" % (len(s_mine), "equal to" if s_mine == s_ka else "DIFFERENT from"))

    d_mine = labels(open(mine_dir + "/keepalived.data").read())
    d_ka = labels(open(ka_dir + "/keepalived.data").read())
    extra = sorted(d_mine - d_ka)
    if extra:
        bad.append("data lines keepalived does not write: %s" % extra)
    print("  data: %d line labels, %d not in keepalived's dump %s"
          % (len(d_mine), len(extra), extra if extra else ""))
    if bad:
        print("DIFFERENCES:\n  " + "\n  ".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
