#!/usr/bin/env python3
"""Check a notify FIFO capture for one sync group, keepalived's format.

usage: syncfifo.py FILE GROUP MEMBER...

Every line must be `INSTANCE "NAME" STATE PRIO` or `GROUP "NAME" STATE 0`.
Each `GROUP "GROUP" STATE 0` line must have, next to it (right before it,
after the previous group line; or for the first group line right after
it, keepalived's start-up order), one line per member entering the same
STATE: the members moved together; and no member transition may be left
over (other events, such as MASTER_RX_LOWER_PRI, are not transitions).
Prints the group's states in order
(e.g. "BACKUP MASTER FAULT") and exits 1 with the reason otherwise.
"""
import re
import sys

TRANSITIONS = {"MASTER", "BACKUP", "FAULT", "STOP", "DELETED"}
LINE = re.compile(r'^(INSTANCE|GROUP) "([^"]+)" ([A-Z_]+) (\d+)$')


def main() -> int:
    path, group, members = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    events = []
    for l in lines:
        m = LINE.match(l)
        if not m:
            print(f"not keepalived's FIFO format: {l!r}")
            return 1
        kind, name, state, prio = m.groups()
        if kind == "GROUP" and prio != "0":
            print(f"group priority must be 0: {l!r}")
            return 1
        # Events that are not transitions (MASTER_RX_LOWER_PRI, *_PRIORITY)
        # belong to one instance.
        if state in TRANSITIONS:
            events.append((kind, name, state))
    states = []
    used = set()
    prev = -1
    idx = [i for i, e in enumerate(events) if e[0] == "GROUP" and e[1] == group]
    for n, i in enumerate(idx):
        state = events[i][2]
        nxt = idx[n + 1] if n + 1 < len(idx) else len(events)

        def take(lo, hi):
            return [j for j in range(lo, hi) if events[j][0] == "INSTANCE"
                    and events[j][1] in members and events[j][2] == state and j not in used]

        before, after = take(prev + 1, i), take(i + 1, nxt)
        names = lambda js: sorted(events[j][1] for j in js)
        if names(before) == sorted(members):
            used.update(before)
        elif n == 0 and state != "STOP" and names(after) == sorted(members):
            used.update(after)
        else:
            print(f"GROUP {state} (line {i + 1}) without every member entering {state} next to it")
            print("\n".join(lines))
            return 1
        states.append(state)
        prev = i
    alone = [j for j, e in enumerate(events) if e[0] == "INSTANCE" and e[1] in members and j not in used]
    if alone:
        print(f"a member moved without its group: {events[alone[0]]}")
        print("\n".join(lines))
        return 1
    print(" ".join(states))
    return 0


if __name__ == "__main__":
    sys.exit(main())
