#!/usr/bin/env python3
"""nftnorm.py: `nft -j list ruleset` (stdin or FILE) as comparable lines.

One line per table, chain, set and rule, in a stable order, without what
differs between two runs of the same ruleset: handles, the metainfo
object, counter values, and the order the kernel lists set elements in.
Used by netns-tests 70/71 to compare what vrrpd creates with what
keepalived 2.2.7 creates (tests/fixtures/nft-keepalived-2.2.7.txt).

    nftnorm.py [FILE] [--no-elements]

--no-elements leaves set elements out (for comparing layouts only).
"""
import json
import signal
import sys

# `| grep -q` may stop reading early: no traceback for that.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def scrub(v):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "handle":
                continue
            if k == "counter" and isinstance(x, dict):
                out[k] = {}
                continue
            out[k] = scrub(x)
        return out
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    no_elements = "--no-elements" in sys.argv
    text = open(args[0]).read() if args else sys.stdin.read()
    doc = json.loads(text) if text.strip() else {"nftables": []}
    lines = []
    for obj in doc.get("nftables", []):
        ((kind, body),) = obj.items()
        if kind == "metainfo":
            continue
        body = scrub(body)
        if kind == "set":
            elems = body.pop("elem", [])
            if not no_elements:
                body["elem"] = sorted(elems, key=lambda e: json.dumps(e, sort_keys=True))
        lines.append(kind + " " + json.dumps(body, sort_keys=True))
    # Tables, chains, sets in name order; rules by family, table and
    # chain, keeping their order within a chain.
    order = {"table": 0, "chain": 1, "set": 2, "rule": 3}
    keyed = []
    for i, line in enumerate(lines):
        kind, body = line.split(" ", 1)
        if kind == "rule":
            b = json.loads(body)
            key = json.dumps([b.get("family"), b.get("table"), b.get("chain")])
        else:
            key = line
        keyed.append((order.get(kind, 9), key, i, line))
    for _, _, _, line in sorted(keyed):
        print(line)


if __name__ == "__main__":
    main()
