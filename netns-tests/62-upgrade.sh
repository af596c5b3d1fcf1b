#!/usr/bin/env bash
# 62. `vrrpd upgrade` on the Master (A) while a client polls the VIP every
#     10 ms: the binary on disk is replaced as a package does (a new file
#     renamed over it) and A hands over to it. A's PID changes, A keeps the
#     VIP, the old process exits; the Backup (B, vrrpd) logs no transition;
#     the capture shows no priority-0 advert and no gratuitous ARP, and A's
#     longest gap between adverts stays within one interval + 50 ms; every
#     client request is answered by A. Twice in a row (the new process
#     hands over again). VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/upgrade-lib.sh"
title "62 vrrpd upgrade on the Master: new PID, VIP kept, the peer sees nothing"
upgrade_require
fast_lab v3-ipv4.conf.in
CLIENT_DURATION=60 client_start "http://$VIP/" 0.01
check "client answered by A" wait_for 3 client_says node-a
past_delayed_garps
for round in 1 2; do
    sleep 1
    steady_mark
    pid0=$(pid_of a)
    replace_bin "$REAL_BIN"
    upgrade a
    [[ $UP_RC == 0 ]] || fail "vrrpd upgrade failed ($UP_RC): $UP_OUT"
    pid1=$(pid_of a)
    check "round $round: A's pid changed ($pid0 -> $pid1)" eval "[[ $pid1 != $pid0 ]] && kill -0 $pid1"
    check "round $round: the old process exited" wait_for 3 not_running "$pid0"
    adopt_pid a "$pid1"
    sleep 1.5
    check "round $round: A holds $VIP, B does not, no transition, no VIP event" steady
    check "round $round: the new process answers status (MASTER)" \
        eval "[[ \$(uctl a status --json | jq -r '.instances[0].state') == MASTER ]]"
    wire_clean "$(fcalc "$UP_T0 - 0.5")" "$(now)"
    client_clean "$UP_T0" "$(now)"
done
check "A's log says it handed over" grep -aq "Handed over to pid" "$WORK/a.log"
check "A's log says the new process took over in MASTER state" grep -aq "taken over in MASTER state" "$WORK/a.log"
if grep -aq "sent 0 priority" "$WORK/a.log"; then fail "A's log shows a priority-0 advert"; fi
stop_daemon a
check "a stop after the upgrade still hands over to B" wait_master b "$VIP" 2
finish
