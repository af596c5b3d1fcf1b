#!/usr/bin/env bash
# 7b. VRRPv3 over IPv4 at advert_int 0.1: A SIGKILLed and its port taken
#     down; B holds the VIP within Master_Down_Interval (0.361 s) + 50 ms
#     of A's last advert.
. "$(dirname "$0")/lib.sh"
title "08 VRRPv3 IPv4, 0.1 s adverts: failover bound 0.361 s"
require_daemon
fast_lab v3-ipv4.conf.in
client_start "http://$VIP/" 0.01
check "client answered by A" wait_for 3 client_says node-a
n=$(tsh "vrrp && ip.src == 192.0.2.20 && vrrp.version == 3 && vrrp.short_adver_int == 10 && ip.dst == 224.0.0.18" frame.number | wc -l)
say "A sent $n VRRPv3 adverts with Max Adver Int 10 cs"
((n >= 3)) || fail "expected VRRPv3 adverts with interval 10 cs from A, saw $n"
mdi=$(master_down 3 100 0.1)
t=$(now)
kill_daemon a
ip -n "$NS_BR" link set pa down
check "B holds $VIP" wait_master b "$VIP" 2
t_vip=$(vip_first b add "$VIP" "$t")
t_last=$(last_advert 192.0.2.20 "$t")
d=$(fcalc "$t_vip - $t_last")
say "measured: kill -> VIP on B $(ms "$(fcalc "$t_vip - $t")"); last advert -> VIP on B $(ms "$d") (Master_Down_Interval $(ms "$mdi"), bound $(ms "$(fcalc "$mdi + 0.05")"))"
check "last advert -> VIP within Master_Down_Interval + 50 ms" fle "$d" "$(fcalc "$mdi + 0.05")"
check "B's gratuitous ARP seen" wait_for 2 eval '[[ -n $(garps "$VIP" "${NODE_MAC[b]}" "$t") ]]'
check "client answered by B" wait_for 3 client_says node-b
read -r c_last c_first < <(client_outage node-a node-b "$t") || true
[[ ${c_first:-} ]] && say "measured: client outage $(ms "$(fcalc "$c_first - $c_last")")"
finish
