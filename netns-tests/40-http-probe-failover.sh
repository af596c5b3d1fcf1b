#!/usr/bin/env bash
# 40. Each node tracks its local Apache (real apache2 on 127.0.0.1:8081 in
#     its namespace) with weight -10: A 101, B 100.  Apache on A stops:
#     A's priority drops to 91 and B takes over within probe detection +
#     one advert + Master_Down_Interval.  Apache back: A preempts.
#     vrrpd uses its native HTTP probe (no fork); keepalived the usual
#     vrrp_script with curl.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "40 local Apache stops: priority drops by the weight, B takes over"
require_daemon
need apache2 curl
kind=script
is_keepalived || kind=${TRACK_KIND:-probe}
lab_up a b c
http_up a
http_up b
apache_up a
apache_up b
start_daemon a "$(track_conf a "$kind")"
wait_master a "$VIP" 5 || fail "A did not become master"
start_daemon b "$(track_conf b "$kind")"
sleep 1.5
no_vip b "$VIP" || fail "B holds $VIP too after start"
client_start "http://$VIP/"
check "client answered by A" wait_for 3 client_says node-a
mdi=$(master_down 2 100 1)
bound=$(fcalc "1 + 1 + 1 + $mdi + 0.3")
t=$(now)
apache_stop a
say "apache2 on A stopped"
check "A's priority drops by the weight" wait_for 4 log_has a "Changing effective priority from 101 to 91"
check "B holds $VIP" wait_master b "$VIP" "$bound"
t_vip=$(vip_first b add "$VIP" "$t")
say "measured: Apache stopped -> VIP on B $(ms "$(fcalc "$t_vip - $t")") (bound: probe interval + timeout + one advert + Master_Down_Interval $(ms "$bound"))"
check "A dropped $VIP" wait_for 2 no_vip a "$VIP"
check "client answered by B" wait_for 3 client_says node-b
check "A is BACKUP (not FAULT: weighted tracker)" in_state a VI_1 BACKUP
t=$(now)
apache_up a
say "apache2 on A started again"
check "A's priority back to 101" wait_for 4 log_has a "Changing effective priority from 91 to 101"
check "A preempts and holds $VIP" wait_master a "$VIP" 6
say "measured: Apache back -> VIP on A $(ms "$(fcalc "$(vip_first a add "$VIP" "$t") - $t")")"
check "B dropped $VIP" wait_for 2 no_vip b "$VIP"
check "client answered by A" wait_for 3 client_says node-a
finish
