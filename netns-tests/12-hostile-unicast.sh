#!/usr/bin/env bash
# 9b. Hostile adverts against the seed's unicast VRRPv2 pair: the wrong
#     password from a spoofed peer; a priority-0 "resign" from a non-peer
#     to the backup; a priority-254 takeover from a non-peer to the master.
#     No state change.  keepalived accepts unicast adverts from anyone
#     (check_unicast_src is off by default): expected difference.  The
#     positive control (valid advert spoofing the peer's address) must
#     make A yield.
. "$(dirname "$0")/lib.sh"
title "12 hostile packets, unicast VRRPv2 (seed): non-peers ignored"
require_daemon
seed_lab
A_MAC=${NODE_MAC[a]} B_MAC=${NODE_MAC[b]}
settled() { has_vip a "$VIP" && no_vip b "$VIP"; }
resettle() {
    wait_for 10 settled || fail "A/B did not settle back to A master, B backup"
    sleep 1
    steady_mark
}
steady_mark
mark=$(wc -l <"$WORK/a.log")

hostile badauth --src 192.0.2.21 --dst 192.0.2.20 --dst-mac "$A_MAC" --vrid 101 --prio 254
check "wrong password from the peer's address (prio 254): A still master" hold_for 1 steady

hostile valid --src 192.0.2.40 --dst 192.0.2.21 --dst-mac "$B_MAC" --vrid 101 --prio 0 --count 1
check_or_xdiff "priority 0 from non-peer 192.0.2.40 to B: B stays backup" hold_for 1.5 steady
resettle

hostile valid --src 192.0.2.40 --dst 192.0.2.20 --dst-mac "$A_MAC" --vrid 101 --prio 254
check_or_xdiff "priority 254 from non-peer 192.0.2.40 to A: A stays master" hold_for 1.5 steady
resettle
tail -n +"$((mark + 1))" "$WORK/a.log" "$WORK/b.log" 2>/dev/null \
    | grep -aiE 'passw|auth|peer|192\.0\.2\.40|invalid|drop|higher|lower' | sed 's/^/    log: /' | head -n 12 || true

hostile valid --src 192.0.2.21 --dst 192.0.2.20 --dst-mac "$A_MAC" --vrid 101 --prio 254 --count 2
check "positive control: a valid advert from the peer's address (prio 254) makes A yield" wait_for 1 no_vip a "$VIP"
finish
