#!/usr/bin/env bash
# Interop: rolling migration from keepalived to vrrpd with the seed configs
# (VRRPv2 unicast, PASS, 1 s), as an operator does it:
#   0. keepalived on A (Master) and B (Backup);
#   1. B: `vrrpd check -f` the same file, stop keepalived, start vrrpd on it;
#   2. A: stop keepalived (priority 0): B (vrrpd) takes over;
#   3. A: `vrrpd check -f`, start vrrpd on the same file: A preempts (fail back).
# A client on C polls http://192.0.2.30/ every 10 ms (each node serves its
# name).  Each step: the longest gap between two answers stays under the
# step's protocol bound, and the answers never alternate between the nodes
# (a node change happens once per takeover, never back and forth).
. "$(dirname "$0")/interop.sh"
title "25 interop: rolling migration keepalived -> vrrpd (seed configs)"
require_both
lab_up a b c
seed_config 1 >"$WORK/lb1.conf"
seed_config 2 >"$WORK/lb2.conf"
http_up a
http_up b
start_as keepalived a "$WORK/lb1.conf"
wait_master a "$VIP" 8 || fail "keepalived A did not become master"
start_as keepalived b "$WORK/lb2.conf"
CLIENT_DURATION=90 client_start "http://$VIP/" 0.01
check "client answered by A" wait_for 3 client_says node-a
sleep 1
skew=$(skew_time 2 100 1)
CT=0.2 # the client's per-request timeout
# gap_in FROM TO: longest time between consecutive answers in [FROM, TO].
gap_in() {
    awk -v a="$1" -v b="$2" '$1 < a {if ($2 != "-") last = $1; next}
        $1 > b {exit}
        $2 != "-" {if (last && $1 - last > g) g = $1 - last; last = $1}
        END {printf "%.6f\n", g}' "$WORK/client.txt"
}
answers_in() { awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b {n[$2]++} END {for (k in n) printf "%s=%d ", k, n[k]}' "$WORK/client.txt"; }
# step NAME FROM BOUND: record the step's longest gap.
step() {
    local to g
    to=$(now)
    g=$(gap_in "$2" "$to")
    row "" "$1: longest client gap" "$(ms "$g")" "$(ms "$3")" "$(fle "$g" "$3" && echo ok || echo OVER)"
    fle "$g" "$3" || BAD+=("$1: client gap $(ms "$g") > $(ms "$3")")
    say "$1: answers $(answers_in "$2" "$to")"
}
vcheck() { ip netns exec "$(ns "$1")" "$(DAEMON=vrrpd daemon_bin)" check -f "$2" >"$WORK/check-$1.txt" 2>&1; }

# ---- 1. B: keepalived -> vrrpd, same file.
t=$(now)
check "vrrpd check -f accepts B's keepalived.conf" vcheck b "$WORK/lb2.conf"
sed 's/^/    check: /' "$WORK/check-b.txt" | head -n 5
stop_node b
mb=$(log_mark b)
start_as vrrpd b "$WORK/lb2.conf"
check "vrrpd on B is backup" wait_for 2 eval 'grep -aq "(loadbalancer2) Entering BACKUP STATE (init)" <(tail -n +"$((mb + 1))" "$WORK/b.log")'
steady_window 3 v2u
step "1 replace B" "$t" 0.1

# ---- 2. A: stop keepalived; B (vrrpd) takes over.
t=$(now) ma=$(log_mark a) mb=$(log_mark b)
stop_node a
check "B (vrrpd) holds $VIP" wait_master b "$VIP" 3
check "client answered by B" wait_for 3 client_says node-b
pcap_refresh
tp=$(first_p0 192.0.2.20 101 "$t") tv=$(vip_first b add "$VIP" "$t")
bounded v2u "2 keepalived A prio 0 -> VIP on vrrpd B" "${tp:+${tv:+$(fcalc "$tv - $tp")}}" "$(fcalc "$skew + 0.05")"
expect_log a "(loadbalancer1) sent 0 priority" "$ma"
expect_log b "(loadbalancer2) Backup received priority 0 advertisement" "$mb"
expect_log b "(loadbalancer2) Entering MASTER STATE" "$mb"
[[ -n $(announces "$VIP" "${NODE_MAC[b]}" "$t") ]] || BAD+=("2: no gratuitous ARP from B")
sleep 3
check "B still master, A holds nothing" eval 'has_vip b "$VIP" && no_vip a "$VIP"'
step "2 fail over to B" "$t" "$(fcalc "$skew + 0.05 + $CT + 0.01")"

# ---- 3. A: vrrpd on the same file; it preempts (fail back).
t=$(now) ma=$(log_mark a) mb=$(log_mark b)
check "vrrpd check -f accepts A's keepalived.conf" vcheck a "$WORK/lb1.conf"
start_as vrrpd a "$WORK/lb1.conf"
check "A (vrrpd) preempts" wait_master a "$VIP" "$(fcalc "$(master_down 2 101 1) + 2")"
check "B released $VIP" wait_for 1 no_vip b "$VIP"
check "client answered by A" wait_for 3 client_says node-a
ta=$(vip_first a add "$VIP" "$t") tb=$(vip_first b del "$VIP" "$t")
bounded v2u "3 start A -> VIP on A" "$(fcalc "$ta - $t")" "$(fcalc "$(master_down 2 101 1) + 1")"
bounded v2u "3 overlap (B del - A add)" "$(fcalc "$tb - $ta")" 1
expect_log a "(loadbalancer1) received lower priority (100) advert from 192.0.2.21 - discarding" "$ma"
expect_log b "(loadbalancer2) Master received advert from 192.0.2.20 with higher priority 101, ours 100" "$mb"
steady_window 3 v2u
step "3 replace A, fail back" "$t" "$(fcalc "$CT + 0.05 + 0.01")"
client_stop
sleep 0.1

# Never two nodes at once: the answers change node exactly twice (A->B, B->A).
seq=$(awk '$2 != "-" && $2 != prev {printf "%s ", $2; prev = $2}' "$WORK/client.txt")
n=$(wc -l <"$WORK/client.txt") fails=$(awk '$2 == "-"' "$WORK/client.txt" | wc -l)
say "client: $n requests, $fails without answer; node sequence: $seq"
check "answers went A -> B -> A, never back and forth" test "$seq" = "node-a node-b node-a "
verdict
log_report
finish
