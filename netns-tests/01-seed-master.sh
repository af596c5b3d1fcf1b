#!/usr/bin/env bash
# 1. The seed configs on two nodes (VRRPv2, unicast, PASS auth, 1 s adverts):
#    A (priority 101) is Master and holds the VIP, the client is answered
#    by A, B (priority 100) holds no VIP.
. "$(dirname "$0")/lib.sh"
title "01 seed configs: A master, client answered by A, B holds no VIP"
require_daemon
seed_lab
client_start "http://$VIP/"
check "client answered by A" wait_for 3 client_says node-a
check "B holds no VIP" no_vip b "$VIP"
check "B stays without VIP for 2 adverts" hold_for 2 no_vip b "$VIP"
check "A still holds the VIP" has_vip a "$VIP"
check "A's log says MASTER" in_state a loadbalancer1 MASTER
check "B's log says BACKUP" in_state b loadbalancer2 BACKUP
n=$(tsh "vrrp && ip.src == 192.0.2.20 && ip.dst == 192.0.2.21 && vrrp.auth_string == \"password\"" frame.number | wc -l)
say "A sent $n unicast VRRPv2 adverts to B with auth \"password\" (auth_pass truncated to 8)"
((n >= 2)) || fail "expected at least 2 unicast adverts A -> B with auth \"password\", saw $n"
finish
