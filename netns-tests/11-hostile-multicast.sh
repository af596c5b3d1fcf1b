#!/usr/bin/env bash
# 9a. Hostile adverts (multicast, VRRPv2 PASS) from a third namespace, each
#     claiming priority 254 so that accepting it would make A yield: wrong
#     TTL, bad checksum, wrong password, wrong VRID, truncated, wrong
#     version.  No state change.  A valid spoof at the end is the positive
#     control: it must take A out of MASTER (multicast mode cannot tell a
#     stranger from a peer), proving the crafted packets are well-formed.
. "$(dirname "$0")/lib.sh"
title "11 hostile packets, multicast VRRPv2: dropped, no state change"
require_daemon
lab_up a b c
start_daemon a "$(conf_for a v2-multicast.conf.in)"
start_daemon b "$(conf_for b v2-multicast.conf.in)"
check "A holds $VIP" wait_master a "$VIP" 6
check "B holds no VIP" wait_for 3 no_vip b "$VIP"

mark=$(wc -l <"$WORK/a.log")
steady_mark
for kind in ttl64 badsum badauth wrongvrid truncated v3; do
    hostile "$kind" --src 192.0.2.40 --dst 224.0.0.18 --dst-mac 01:00:5e:00:00:12 --vrid 51 --prio 254
    check "$kind x3 (priority 254): A still master, B still backup" hold_for 0.5 steady
done
n=$(tsh "ip.src == 192.0.2.40 && ip.proto == 112" frame.number | wc -l)
say "$n hostile packets seen on br0"
tail -n +"$((mark + 1))" "$WORK/a.log" | grep -aiE 'ttl|checksum|passw|auth|vrid|length|version|invalid|drop|bogus' \
    | sed 's/^/    A log: /' | head -n 12 || true
hostile valid --src 192.0.2.40 --dst 224.0.0.18 --dst-mac 01:00:5e:00:00:12 --vrid 51 --prio 254 --count 2
check "positive control: a valid priority-254 advert makes A leave MASTER" wait_for 1 no_vip a "$VIP"
finish
