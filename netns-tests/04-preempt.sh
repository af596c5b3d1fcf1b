#!/usr/bin/env bash
# 4. A comes back: it preempts B (priority 101 > 100); the window where
#    both hold the VIP is shorter than one advert interval; B drops it.
. "$(dirname "$0")/lib.sh"
title "04 A restarted: preemption, overlap < one advert interval"
require_daemon
seed_lab
client_start "http://$VIP/"
stop_daemon a
check "B holds $VIP after A stopped" wait_master b "$VIP" 3
check "client answered by B" wait_for 3 client_says node-b
t_start=$(now)
start_daemon a "$WORK/lb1.conf"
mdi_a=$(master_down 2 101 1)
check "A holds $VIP again (preempted)" wait_master a "$VIP" "$(fcalc "$mdi_a + 3")"
check "B dropped $VIP" wait_for 1 no_vip b "$VIP"
t_add=$(vip_first a add "$VIP" "$t_start")
t_del=$(vip_first b del "$VIP" "$t_start")
overlap=$(fcalc "$t_del - $t_add")
say "measured: restart -> A holds VIP $(ms "$(fcalc "$t_add - $t_start")") (A's Master_Down_Interval ${mdi_a} s)"
say "measured: both held $VIP for $(ms "$overlap") (A added $t_add, B removed $t_del)"
check "overlap shorter than one advert interval (1 s)" fle "$overlap" 1
check "A's log says MASTER" in_state a loadbalancer1 MASTER
check "B's log says BACKUP" in_state b loadbalancer2 BACKUP
check "client answered by A" wait_for 3 client_says node-a
finish
