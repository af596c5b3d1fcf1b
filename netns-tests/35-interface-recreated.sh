#!/usr/bin/env bash
# 35. The Master's interface is deleted and re-created under the same name
#     (a driver reload, a VM's NIC hot-replugged, a container's veth
#     rebuilt): a new interface index. A enters FAULT and B takes over; when
#     the interface is back, vrrpd re-binds its socket to the new index,
#     leaves FAULT and preempts again (keepalived 2.2.7 does too; older
#     releases stayed in FAULT: keepalived #2259, #2683).
#     VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
title "35 Master's interface deleted and re-created: re-bound, back from FAULT"
require_daemon
fast_lab v3-ipv4.conf.in
old=$(ip -n "$(ns a)" -o link show "$LAB_IF" | cut -d: -f1)
ip -n "$(ns a)" link del "$LAB_IF"
say "A's $LAB_IF (index $old) deleted"
check "A enters FAULT (log)" wait_for 2 in_state a VI_1 FAULT
check "B holds $VIP" wait_master b "$VIP" 2
sleep 0.5
t=$(now)
node_link a
new=$(ip -n "$(ns a)" -o link show "$LAB_IF" | cut -d: -f1)
say "A's $LAB_IF re-created (index $new)"
if wait_master a "$VIP" 3; then
    say "measured: re-created -> A holds $VIP again $(ms "$(fcalc "$(vip_first a add "$VIP" "$t") - $t")")"
    check "B dropped $VIP" wait_for 1 no_vip b "$VIP"
    check "one holder for 1 s" hold_for 1 eval "has_vip a $VIP && no_vip b $VIP"
    if ! is_keepalived; then
        check "vrrpd says it re-bound" grep -aq "re-bound" "$WORK/a.log"
    fi
else
    xdiff "A did not come back within 3 s of its interface returning ($(state_of a VI_1))"
fi
finish
