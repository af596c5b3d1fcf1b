#!/usr/bin/env bash
# 6. nopreempt: A (priority 101, nopreempt) comes back after B took over
#    and stays Backup; B keeps the VIP.  (keepalived requires state BACKUP
#    with nopreempt, so both nodes use it.)  VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
title "06 nopreempt: A comes back and stays Backup"
require_daemon
fast_lab v3-ipv4.conf.in STATE=BACKUP NOPREEMPT=nopreempt
stop_daemon a
check "B holds $VIP after A stopped" wait_master b "$VIP" 2
t_start=$(now)
start_daemon a "$WORK/a.conf"
mdi=$(master_down 3 101 0.1)
check "A stays without VIP for 10 x its Master_Down_Interval ($(ms "$(fcalc "10*$mdi")"))" \
    hold_for "$(fcalc "10*$mdi")" no_vip a "$VIP"
check "B still holds $VIP" has_vip b "$VIP"
check "A's log says BACKUP" in_state a VI_1 BACKUP
check "B's log says MASTER" in_state b VI_1 MASTER
say "measured: A restarted $(ms "$(fcalc "$(now) - $t_start")") ago, still Backup"
finish
