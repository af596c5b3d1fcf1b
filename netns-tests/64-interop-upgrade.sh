#!/usr/bin/env bash
# 64. Interop: `vrrpd upgrade` on the Master (vrrpd, A) with keepalived as
#     the Backup (B): keepalived logs no transition and never takes the
#     VIP; no priority-0 advert, no gratuitous ARP, A's advert gap within
#     one interval + 50 ms. VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/interop.sh"
. "$(dirname "$0")/upgrade-lib.sh"
title "64 interop: vrrpd upgrade on the Master, keepalived Backup sees nothing"
require_both
DAEMON=vrrpd upgrade_require
lab_up a b c
http_up a
http_up b
start_as vrrpd a "$(conf_for a v3-ipv4.conf.in)"
wait_master a "$VIP" 5 || fail "A did not become master"
start_as keepalived b "$(conf_for b v3-ipv4.conf.in)"
sleep 1
no_vip b "$VIP" || fail "keepalived B holds $VIP too"
CLIENT_DURATION=30 client_start "http://$VIP/" 0.01
check "client answered by A" wait_for 3 client_says node-a
past_delayed_garps
steady_mark
pid0=$(pid_of a)
replace_bin "$REAL_BIN"
DAEMON=vrrpd upgrade a
[[ $UP_RC == 0 ]] || fail "vrrpd upgrade failed ($UP_RC): $UP_OUT"
pid1=$(pid_of a)
check "A's pid changed ($pid0 -> $pid1)" eval "[[ $pid1 != $pid0 ]]"
adopt_pid a "$pid1"
sleep 2
check "A holds $VIP, keepalived B does not, no transition on either" steady
wire_clean "$(fcalc "$UP_T0 - 0.5")" "$(now)"
client_clean "$UP_T0" "$(now)"
finish
