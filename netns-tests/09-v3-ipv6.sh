#!/usr/bin/env bash
# 7c. VRRPv3 over IPv6 (ff02::12, hop limit 255) with a link-local and a
#     global VIP: A holds both and sends unsolicited NAs; on SIGTERM B
#     takes both within Skew_Time + 50 ms; the client reaches B over IPv6.
. "$(dirname "$0")/lib.sh"
title "09 VRRPv3 IPv6: link-local + global VIP"
require_daemon
FAST_VIP=2001:db8::66
fast_lab v3-ipv6.conf.in
check "A holds fe80::66" has_vip a fe80::66
check "B holds neither VIP" eval 'no_vip b fe80::66 && no_vip b 2001:db8::66'
n=$(tsh "vrrp && ipv6.src == ${NODE_LL[a]} && ipv6.dst == ff02::12 && ipv6.hlim == 255 && vrrp.version == 3" frame.number | wc -l)
say "A sent $n VRRPv3 IPv6 adverts from ${NODE_LL[a]} to ff02::12 with hop limit 255"
((n >= 3)) || fail "expected IPv6 adverts from A's link-local address, saw $n"
check "A's unsolicited NA for 2001:db8::66 seen" wait_for 2 eval '[[ -n $(unsolicited_nas 2001:db8::66 "${NODE_MAC[a]}") ]]'
check "client reaches A at [2001:db8::66]" eval '[[ $(c_get "http://[2001:db8::66]/") == node-a ]]'
t=$(now)
stop_daemon a
check "B holds 2001:db8::66" wait_master b 2001:db8::66 2
check "B holds fe80::66" has_vip b fe80::66
check "A holds neither VIP" eval 'no_vip a fe80::66 && no_vip a 2001:db8::66'
t_vip=$(vip_first b add 2001:db8::66 "$t")
t_p0=$(first_prio0 "${NODE_LL[a]}" "$t")
[[ $t_p0 ]] || fail "no priority-0 advert from A"
skew=$(skew_time 3 100 0.1)
d=$(fcalc "$t_vip - $t_p0")
say "measured: priority-0 advert -> VIP on B $(ms "$d") (Skew_Time $(ms "$skew"), bound $(ms "$(fcalc "$skew + 0.05")"))"
check "handover within Skew_Time + 50 ms" fle "$d" "$(fcalc "$skew + 0.05")"
check "B's unsolicited NA for 2001:db8::66 seen" wait_for 2 eval '[[ -n $(unsolicited_nas 2001:db8::66 "${NODE_MAC[b]}" "$t") ]]'
check "client reaches B at [2001:db8::66]" wait_for 3 eval '[[ $(c_get "http://[2001:db8::66]/") == node-b ]]'
finish
