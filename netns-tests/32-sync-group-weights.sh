#!/usr/bin/env bash
# 32. A vrrp_sync_group with a group-level weighted check
#     (`sync_group_tracking_weight`, weight -10; A 101, B 100) and, for
#     vrrpd, `fast_handover` on both instances.  A's check fails: both of
#     A's instances drop to 91 and B's group takes both addresses (vrrpd:
#     at once, each member waiting for the other; keepalived: after
#     Master_Down_Interval).  The check recovers: A preempts both back.
#     The FIFO shows each group line next to both members' lines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
. "$(dirname "$0")/sync-lib.sh"
title "32 sync group: weighted group check, fast handover"
require_daemon
lab_up a b
sync_setup a b
export CHECK="" GROUP_EXTRA="    track_script {
        chk weight -10
    }
    sync_group_tracking_weight"
is_keepalived || export INST_EXTRA="    fast_handover"
start_daemon a "$(sync_conf a)"
wait_for 5 both_vips a || fail "A did not become master of both instances"
start_daemon b "$(sync_conf b)"
sleep 0.8
check "A holds both addresses, B none" one_side a

mdi=$(master_down 3 100 0.1)
if is_keepalived; then bound=$(fcalc "1.1 + $mdi + 0.1"); else bound=1.2; fi
t=$(now)
printf 'fail\n' >"$WORK/health-a"
say "A's group check fails"
check "A's instances drop to 91" wait_for 3 log_has a "\(VI_INT\) Changing effective priority from 101 to 91"
check "B holds both addresses, A none" wait_for 3 one_side b
t_ext=$(vip_first b add "$EXT_VIP" "$t")
t_int=$(vip_first b add "$INT_VIP" "$t")
late=$(awk -v a="$t_ext" -v b="$t_int" 'BEGIN{print (a > b) ? a : b}')
t91=$(tsh "vrrp && ip.src == 192.0.2.20 && vrrp.prio == 91" frame.time_epoch | awk -v t="$t" '$1 >= t {print; exit}')
[[ $t91 ]] || fail "no advert at priority 91 from A"
say "measured: check fails -> both VIPs on B $(ms "$(fcalc "$late - $t")") (bound: check interval + $(is_keepalived && echo "Master_Down_Interval" || echo "one advert interval") + slack = $(ms "$bound")); A's first 91 advert -> both on B $(ms "$(fcalc "$late - $t91")")"
check "within the bound" fle "$(fcalc "$late - $t")" "$bound"
check "no flapping: B keeps both for 1.5 s" hold_for 1.5 one_side b
check "A's instances are BACKUP (weighted: not FAULT)" eval 'in_state a VI_EXT BACKUP && in_state a VI_INT BACKUP'

t=$(now)
printf 'ok\n' >"$WORK/health-a"
say "A's group check recovers"
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
check "A's group went BACKUP MASTER BACKUP MASTER" eval '[[ $ga == "BACKUP MASTER BACKUP MASTER"* ]]'
check "B's group went BACKUP MASTER BACKUP" eval '[[ $gb == "BACKUP MASTER BACKUP"* ]]'
finish
