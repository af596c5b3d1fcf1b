#!/usr/bin/env bash
# 31. A vrrp_sync_group of two instances per node (VI_EXT 192.0.2.60,
#     VI_INT 198.51.100.61; VRRPv3 0.1 s; A 101, B 100).  Only VI_EXT
#     tracks a weight-0 check script.  It fails on A: VI_EXT enters FAULT
#     and the group takes VI_INT with it (both send priority 0), so B takes
#     both addresses; the check recovers: A's group leaves FAULT and
#     preempts both back.  The notify FIFO gets keepalived's lines
#     (`INSTANCE "VI_EXT" FAULT 101`, `GROUP "G1" FAULT 0`), every group
#     line next to its members' lines; the `notify` scripts (instances'
#     and group's) run in the same order as the FIFO lines, STOP last
#     (keepalived runs them unordered: an expected difference).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
. "$(dirname "$0")/sync-lib.sh"
title "31 sync group: one member's check fails, both instances move"
require_daemon
lab_up a b
sync_setup a b
start_daemon a "$(sync_conf a)"
wait_for 5 both_vips a || fail "A did not become master of both instances"
start_daemon b "$(sync_conf b)"
sleep 0.8
check "A holds both addresses, B none" one_side a
check "B's group is BACKUP" wait_for 2 eval '[[ $(group_states b) == BACKUP ]]'

t=$(now)
printf 'fail\n' >"$WORK/health-a"
say "A's check fails"
check "B holds both addresses, A none" wait_for 4 one_side b
t_ext=$(vip_first b add "$EXT_VIP" "$t")
t_int=$(vip_first b add "$INT_VIP" "$t")
bound=$(fcalc "1 + $(skew_time 3 100 0.1) + 0.3")
say "measured: check fails -> VIPs on B: VI_EXT $(ms "$(fcalc "$t_ext - $t")"), VI_INT $(ms "$(fcalc "$t_int - $t")") (bound: script interval + Skew_Time + 0.3 s = $(ms "$bound"))"
check "within the bound" fle "$(fcalc "$t_ext - $t")" "$bound"
check "both moved within 60 ms of each other" fle "$(fcalc "($t_ext - $t_int)^2")" 0.0036
check "A: VI_EXT FAULT" in_state a VI_EXT FAULT
check "A: VI_INT FAULT (synced)" in_state a VI_INT FAULT
check "A logged the group sync" log_has a "VRRP_Group\(G1\) Syncing instances to FAULT state"
prio0_vrids() {
    tsh "vrrp && ip.src == 192.0.2.20 && vrrp.prio == 0" vrrp.virt_rtr_id frame.time_epoch \
        | awk -v t="$1" '$2 >= t {print $1}' | sort -u | tr '\n' ' '
}
check "A sent priority 0 for both VRIDs" eval '[[ $(prio0_vrids "$t") == "60 61 " ]]'
check "no flapping: B keeps both for 1.5 s" hold_for 1.5 one_side b

t=$(now)
printf 'ok\n' >"$WORK/health-a"
say "A's check recovers"
check "A preempts both back" wait_for 4 one_side a
say "measured: check recovers -> both VIPs on A $(ms "$(fcalc "$(vip_first a add "$INT_VIP" "$t") - $t")")"
check "no flapping: A keeps both for 1 s" hold_for 1 one_side a
stop_daemon b
stop_daemon a
sleep 0.3

ga=$(group_states a) || fail "A's FIFO: $ga"
gb=$(group_states b) || fail "B's FIFO: $gb"
say "A's FIFO, group G1: $ga"
say "B's FIFO, group G1: $gb"
check "A's group went BACKUP MASTER FAULT BACKUP MASTER" eval '[[ $ga == "BACKUP MASTER FAULT BACKUP MASTER"* ]]'
check "B's group went BACKUP MASTER BACKUP" eval '[[ $gb == "BACKUP MASTER BACKUP"* ]]'
check "A's FIFO: keepalived's lines" eval 'grep -qx "INSTANCE \"VI_EXT\" FAULT 101" "$WORK/fifo-a.txt" && grep -qx "GROUP \"G1\" FAULT 0" "$WORK/fifo-a.txt"'
# The failing member's line comes first (keepalived: the member, then
# vrrp_sync_fault moves the others, then the group).
check "A's FIFO: VI_EXT's FAULT before VI_INT's" eval \
    '[[ $(grep -E "\"VI_(EXT|INT)\" FAULT" "$WORK/fifo-a.txt" | head -n 2 | tr "\n" " ") == "INSTANCE \"VI_EXT\" FAULT 101 INSTANCE \"VI_INT\" FAULT 101 " ]]'
check_or_xdiff "STOP delivered: both instances, then the group" eval '[[ $ga == *" STOP" && $gb == *" STOP" ]]'
for n in a b; do
    say "node $n notify log: $(notify_lines "$n" | tr '\n' ',' | sed 's/,/, /g')"
    check_or_xdiff "node $n: notify scripts ran in FIFO order" eval '[[ "$(notify_lines '"$n"')" == "$(fifo_lines '"$n"')" ]]'
done
finish
