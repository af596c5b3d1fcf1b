#!/usr/bin/env bash
# 47. `vrrpd status -w` on B: two watchers (JSON lines and readable text)
#     and one that never reads.  Each starts with B's current state, then
#     sees B take over when A stops, hand back when A returns, a demote and
#     a promote, live; when B's daemon stops they end.  The stuck watcher
#     delays nothing.  VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"
title "47 vrrpd status -w: transitions streamed live to several watchers"
ctl_require
fast_lab v3-ipv4.conf.in
wj=$WORK/watch-json.txt wt=$WORK/watch-text.txt
bg watch_to b "$wj" --json
bg watch_to b "$wt"
# A watcher that asks and then never reads a byte.
bg ip netns exec "$(ns b)" "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"watch\"}\n"); time.sleep(60)' "$WORK/b/daemon.sock"
check "both watchers got B's current state first" wait_for 3 eval '[[ -s $wj && -s $wt ]]'
first=$(head -n 1 "$wj" | cut -d' ' -f2-)
say "first JSON line: $first"
jq -e '.event == "state" and .instance == "VI_1" and .state == "BACKUP" and .master == "192.0.2.20"
    and .priority == 100 and .demoted == null' <<<"$first" >/dev/null || fail "first watch line: $first"
check "readable first line" eval '[[ $(head -n 1 "$wt") == *" VI_1 is BACKUP since "*" (Startup), priority 100" ]]'

# jline JQ: the arrival time and JSON of the first watch line matching JQ.
jline() {
    local t l
    while read -r t l; do
        if jq -e "$1" <<<"$l" >/dev/null 2>&1; then printf '%s %s\n' "$t" "$l"; return 0; fi
    done <"$wj"
    return 1
}
seen() { jline "$1" >/dev/null; }
epoch() { date -d "$1" +%s.%N; }

t=$(now)
stop_daemon a
check "JSON watcher saw BACKUP -> MASTER" wait_for 3 seen '.event == "transition" and .to == "MASTER"'
read -r t_line line < <(jline '.event == "transition" and .to == "MASTER"')
say "line: $line"
jq -e '.from == "BACKUP" and .reason == "MasterResigned" and .priority == 100' <<<"$line" >/dev/null \
    || fail "transition line: $line"
t_event=$(epoch "$(jq -r .time <<<"$line")")
t_vip=$(vip_first b add "$VIP" "$t")
say "measured: transition -> line at the watcher $(ms "$(fcalc "$t_line - $t_event")") (event time has ms precision); VIP on B -> line $(ms "$(fcalc "$t_line - $t_vip")")"
check "the line arrived within 100 ms of the transition" fle "$(fcalc "$t_line - $t_event")" 0.1

start_daemon a "$WORK/a.conf"
check "JSON watcher saw MASTER -> BACKUP (A preempts)" wait_for 3 seen '.event == "transition" and .from == "MASTER" and .to == "BACKUP" and .reason == "HigherPriorityAdvert from 192.0.2.20 priority 101"'
ctl b demote VI_1 --reason "watch test" >/dev/null
check "demote seen" wait_for 2 seen '.event == "demoted" and .by_uid == 0 and .reason == "watch test"'
check "BACKUP -> FAULT (Demoted) seen" wait_for 2 seen '.event == "transition" and .to == "FAULT" and .reason == "Demoted"'
ctl b promote VI_1 >/dev/null
check "FAULT -> BACKUP (Promoted) seen" wait_for 2 seen '.event == "transition" and .from == "FAULT" and .reason == "Promoted"'
check "readable watcher saw the same" wait_for 2 eval 'grep -q "VI_1 BACKUP -> MASTER (MasterResigned), priority 100" "$wt" &&
    grep -q "VI_1 MASTER -> BACKUP (HigherPriorityAdvert from 192.0.2.20 priority 101)" "$wt" &&
    grep -q "VI_1 demoted by uid 0: watch test" "$wt" && grep -q "VI_1 FAULT -> BACKUP (Promoted)" "$wt"'
cut -d' ' -f2- "$wt" | sed 's/^/    watch: /'
lb=$(st b '"\(.lateness_count) adverts as master, lateness max \(.lateness_max_us) us"')
say "B with a stuck watcher attached: $lb"
check "no event lost by the readers" eval '! grep -q "\"lost\"" "$wj" && ! grep -q "lost" "$wt"'

stop_daemon b
check "watchers told the daemon stopped" wait_for 2 eval 'grep -q "the daemon is stopping" "$wt" && grep -q "\"stopping\"" "$wj"'
check "the INIT transition came first" eval 'grep -q "VI_1 BACKUP -> INIT (Shutdown)" "$wt"'
finish
