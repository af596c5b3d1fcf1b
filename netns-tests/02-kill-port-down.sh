#!/usr/bin/env bash
# 2. A's daemon is SIGKILLed and A's port taken down (a crashed host):
#    B holds the VIP within Master_Down_Interval + 50 ms of A's last advert
#    (tcpdump on br0 vs `ip -ts monitor` in B), B's gratuitous ARP is seen
#    on the bridge, the client is answered by B.
. "$(dirname "$0")/lib.sh"
title "02 SIGKILL + port down: B takes over within Master_Down_Interval"
require_daemon
seed_lab
client_start "http://$VIP/"
check "client answered by A" wait_for 3 client_says node-a
sleep 0.3
mdi=$(master_down 2 100 1)
t_kill=$(now)
kill_daemon a
ip -n "$NS_BR" link set pa down
say "A's daemon SIGKILLed and port pa down; Master_Down_Interval for B (v2, prio 100, 1 s) = ${mdi} s"
check "B holds $VIP" wait_master b "$VIP" "$(fcalc "$mdi + 2")"
t_vip=$(vip_first b add "$VIP" "$t_kill")
t_last=$(last_advert 192.0.2.20 "$t_kill")
[[ $t_vip && $t_last ]] || fail "missing timestamps (vip=$t_vip last advert=$t_last)"
d_last=$(fcalc "$t_vip - $t_last")
say "measured: kill -> VIP on B $(ms "$(fcalc "$t_vip - $t_kill")"); A's last advert -> VIP on B $(ms "$d_last") (bound $(ms "$(fcalc "$mdi + 0.05")"))"
check "last advert -> VIP on B <= Master_Down_Interval + 50 ms" fle "$d_last" "$(fcalc "$mdi + 0.05")"
check "B's gratuitous ARP for $VIP seen on br0" wait_for 2 eval '[[ -n $(garps "$VIP" "${NODE_MAC[b]}" "$t_kill") ]]'
say "B sent $(garps "$VIP" "${NODE_MAC[b]}" "$t_kill" | wc -l) gratuitous ARPs for $VIP so far"
check "client answered by B" wait_for 3 client_says node-b
read -r c_last c_first < <(client_outage node-a node-b "$t_kill") || true
[[ ${c_first:-} ]] && say "measured: client outage $(ms "$(fcalc "$c_first - $c_last")") (last answer from A -> first from B)"
finish
