#!/usr/bin/env bash
# 10. The Master's link goes down (its veth set down from the bridge side,
#     so A's eth0 loses carrier): A enters FAULT and drops the VIP, B takes
#     over within Master_Down_Interval + 50 ms of A's last advert.  When the
#     link returns A preempts again.  VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
title "13 Master's link down: FAULT, B takes over"
require_daemon
fast_lab v3-ipv4.conf.in
mdi=$(master_down 3 100 0.1)
t=$(now)
ip -n "$NS_BR" link set pa down
check "A enters FAULT (log)" wait_for 2 in_state a VI_1 FAULT
check "A dropped $VIP" wait_for 1 no_vip a "$VIP"
check "B holds $VIP" wait_master b "$VIP" 2
t_vip=$(vip_first b add "$VIP" "$t")
t_last=$(last_advert 192.0.2.20 "$t")
d=$(fcalc "$t_vip - $t_last")
say "measured: link down -> VIP on B $(ms "$(fcalc "$t_vip - $t")"); A's last advert -> VIP on B $(ms "$d") (bound $(ms "$(fcalc "$mdi + 0.05")"))"
check "B took over within Master_Down_Interval + 50 ms of A's last advert" fle "$d" "$(fcalc "$mdi + 0.05")"
t=$(now)
ip -n "$NS_BR" link set pa up
check "link back: A preempts and holds $VIP" wait_master a "$VIP" 5
check "B dropped $VIP" wait_for 1 no_vip b "$VIP"
say "measured: link up -> A master again $(ms "$(fcalc "$(vip_first a add "$VIP" "$t") - $t")")"
finish
