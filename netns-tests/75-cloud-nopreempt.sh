#!/usr/bin/env bash
# 75. An old Master that comes back with `nopreempt` never claims (issue
#     17). A (101, nopreempt) and B (100), state BACKUP both, VRRPv3 at
#     0.1 s. A becomes Master first and claims; A is killed, B takes over
#     and claims; A restarts: it stays BACKUP, and the recorder shows A
#     made reads at most (no AssignPrivateIpAddresses, no
#     AssociateAddress) while the Elastic IP stays on B's ENI.
. "$(dirname "$0")/lib.sh"
. "$NT_DIR/cloud-lib.sh"
title "75 cloud: an old Master back with nopreempt never claims"
cloud_require
need jq
cloud_pair STATE=BACKUP NOPREEMPT=nopreempt
kill_daemon a
wait_master b "$VIP" 3 || fail "B did not take over"
check "B claims" wait_for 5 eip_on "$ENI_B"
ec2 record-start
start_cloud_daemon a "$WORK/a.conf"
mdi=$(master_down 3 101 0.1)
check "A stays without VIP for 10 x its Master_Down_Interval + 2 s" hold_for "$(fcalc "10*$mdi + 2")" no_vip a "$VIP"
check "A's log says BACKUP" in_state a VI_1 BACKUP
recorded_by AKIDNODEA >"$WORK/rec-a.txt"
sed 's/^/    A: /' "$WORK/rec-a.txt"
check "A made no write call" eval "! grep -qE '^(AssignPrivateIpAddresses|AssociateAddress) ' '$WORK/rec-a.txt'"
check "the Elastic IP is still on B's ENI" eip_on "$ENI_B"
check "A's status shows B's ENI as the holder" wait_for 3 eval '[[ $(cstatus a .holder) == "$ENI_B" ]]'
finish
