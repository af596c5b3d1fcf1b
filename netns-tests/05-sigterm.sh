#!/usr/bin/env bash
# 5. SIGTERM to A (systemctl stop): A sends priority 0 and removes the VIP;
#    B takes over within Skew_Time + 50 ms (B: priority 100, v2: 0.609 s).
. "$(dirname "$0")/lib.sh"
title "05 SIGTERM: graceful handover within Skew_Time"
require_daemon
seed_lab
client_start "http://$VIP/"
check "client answered by A" wait_for 3 client_says node-a
sleep 0.3
skew=$(skew_time 2 100 1)
t_term=$(now)
stop_daemon a
say "A stopped (SIGTERM) after $(ms "$(fcalc "$(now) - $t_term")")"
check "B holds $VIP" wait_master b "$VIP" 3
check "A no longer holds $VIP" no_vip a "$VIP"
t_vip=$(vip_first b add "$VIP" "$t_term")
t_p0=$(first_prio0 192.0.2.20 "$t_term")
[[ $t_p0 ]] || fail "no priority-0 advert from A on br0"
d=$(fcalc "$t_vip - $t_p0")
say "measured: SIGTERM -> VIP on B $(ms "$(fcalc "$t_vip - $t_term")"); priority-0 advert -> VIP on B $(ms "$d") (bound $(ms "$(fcalc "$skew + 0.05")"))"
check "handover within Skew_Time + 50 ms" fle "$d" "$(fcalc "$skew + 0.05")"
check "client answered by B" wait_for 3 client_says node-b
read -r c_last c_first < <(client_outage node-a node-b "$t_term") || true
[[ ${c_first:-} ]] && say "measured: client outage $(ms "$(fcalc "$c_first - $c_last")")"
finish
