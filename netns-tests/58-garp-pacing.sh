#!/usr/bin/env bash
# 58. GARP pacing on the wire: A becomes master alone with two VIPs and
#     vrrp_garp_master_repeat 5 (10 GARPs, no delayed burst).
#     - vrrp_garp_interval 0.05: consecutive GARPs >= 50 ms apart (less
#       2 ms for capture jitter);
#     - a garp_group { garp_interval 0.08 } on the interface: >= 80 ms;
#     - no interval: the burst leaves back to back (all 10 within 20 ms).
#     keepalived 2.2.7 paces too, but sends one frame per address, not the
#     burst's 5 (xdiff).
. "$(dirname "$0")/lib.sh"
title "58 GARP pacing: vrrp_garp_interval / garp_group spaces the master burst"
require_daemon
lab_up a
VIP2=192.0.2.31
TOL=0.002

# burst TAG PACING GROUP WAIT: start A with that pacing, give its burst
# WAIT seconds after the VIP appears,
# stop it; prints the gaps of its GARPs (seconds, one per line) to
# $WORK/gaps-TAG.txt.
burst() {
    local tag=$1 t
    t=$(now)
    start_daemon a "$(conf_for a garp-pacing.conf.in "PACING=$2" "GROUP=$3")"
    wait_master a "$VIP" 5 || fail "$tag: A did not become master within 5 s"
    sleep "$4"
    stop_daemon a
    { garps "$VIP" "${NODE_MAC[a]}" "$t"; garps "$VIP2" "${NODE_MAC[a]}" "$t"; } | sort -n \
        | awk 'NR > 1 {printf "%.6f\n", $1 - p} {p = $1}' >"$WORK/gaps-$tag.txt"
    n=$(($(wc -l <"$WORK/gaps-$tag.txt") + 1))
    read -r min max < <(sort -n "$WORK/gaps-$tag.txt" | awk 'NR == 1 {m = $1} {x = $1} END {print m, x}')
    say "$tag: $n GARPs, gaps min $(ms "$min") max $(ms "$max")"
}

# 10 frames at 50 ms: 0.45 s; at 80 ms: 0.72 s.
burst paced "vrrp_garp_interval 0.05" "" 0.7
# keepalived 2.2.7 keeps one queued GARP per address while paced: the
# burst's repeats are lost (3 frames instead of 10).
check_or_xdiff "paced: all 10 GARPs of the burst sent" test "$n" -eq 10
check "paced: every gap >= 50 ms - 2 ms" fle "$(fcalc "0.05 - $TOL")" "$min"

burst group "" "garp_group {\n    garp_interval 0.08\n    interface $LAB_IF\n}" 0.95
check_or_xdiff "garp_group: all 10 GARPs of the burst sent" test "$n" -eq 10
check "garp_group: every gap >= 80 ms - 2 ms" fle "$(fcalc "0.08 - $TOL")" "$min"

burst unpaced "" "" 0.3
check "unpaced: 10 GARPs" test "$n" -eq 10
span=$(awk '{s += $1} END {printf "%.6f", s}' "$WORK/gaps-unpaced.txt")
say "unpaced: burst span $(ms "$span")"
check "unpaced: the burst leaves back to back (within 20 ms)" fle "$span" 0.02
finish
