#!/usr/bin/env bash
# 7a. VRRPv2 multicast (224.0.0.18, TTL 255) with PASS auth, 1 s adverts:
#     A master, B backup; SIGTERM hands over within Skew_Time + 50 ms.
. "$(dirname "$0")/lib.sh"
title "07 VRRPv2 multicast"
require_daemon
lab_up a b c
http_up a
http_up b
start_daemon a "$(conf_for a v2-multicast.conf.in)"
start_daemon b "$(conf_for b v2-multicast.conf.in)"
check "A holds $VIP" wait_master a "$VIP" 6
check "B holds no VIP" hold_for 1.5 no_vip b "$VIP"
bad=$(tsh "vrrp && ip.src == 192.0.2.20 && (ip.dst != 224.0.0.18 || ip.ttl != 255 || vrrp.version != 2)" frame.number | wc -l)
good=$(tsh "vrrp && ip.src == 192.0.2.20 && ip.dst == 224.0.0.18 && ip.ttl == 255 && vrrp.version == 2 && vrrp.virt_rtr_id == 51" frame.number | wc -l)
say "A sent $good VRRPv2 adverts to 224.0.0.18 with TTL 255, $bad others"
((good >= 1 && bad == 0)) || fail "adverts from A: $good good, $bad bad"
t=$(now)
stop_daemon a
check "B holds $VIP" wait_master b "$VIP" 3
t_vip=$(vip_first b add "$VIP" "$t")
t_p0=$(first_prio0 192.0.2.20 "$t")
[[ $t_p0 ]] || fail "no priority-0 advert from A"
d=$(fcalc "$t_vip - $t_p0")
skew=$(skew_time 2 100 1)
say "measured: priority-0 advert -> VIP on B $(ms "$d") (bound $(ms "$(fcalc "$skew + 0.05")"))"
check "handover within Skew_Time + 50 ms" fle "$d" "$(fcalc "$skew + 0.05")"
check "client (one GET) answered by B" eval '[[ $(c_get "http://$VIP/") == node-b ]]'
finish
