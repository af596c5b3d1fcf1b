#!/usr/bin/env bash
# 36. The Backup's daemon stalls (SIGSTOP) for three times
#     Master_Down_Interval while the Master keeps advertising: a paused
#     VM, a swap storm, a CPU starved by a flood. On SIGCONT its timer has
#     expired and the Master's adverts wait in its socket, both ready at
#     once. vrrpd hands the core the queued adverts before a Backup's timer
#     (RFC 9568 §6.4.2: each resets Master_Down), so B stays Backup: no
#     transition, no VIP on B. keepalived 2.2.7 stays Backup too (its
#     event loop reads ready sockets before expired timers). Before this
#     release vrrpd's loop let the timer win: B took the VIP for a moment
#     after every stall. VRRPv3, 0.1 s adverts (Master_Down_Interval 0.36 s).
. "$(dirname "$0")/lib.sh"
title "36 Backup stalled past Master_Down_Interval: queued adverts win over its timer"
require_daemon
fast_lab v3-ipv4.conf.in
sleep 0.5
steady_mark
for round in 1 2 3; do
    kill -STOP "${DVPID[b]}"
    sleep 1.1
    kill -CONT "${DVPID[b]}"
    say "round $round: B stopped for 1.1 s (3 x Master_Down_Interval), continued"
    sleep 0.7
done
if steady; then
    say "ok: B stayed Backup through three stalls, A kept $VIP"
else
    say "B's transitions since the mark: $(($(transitions b) - STEADY_TB)); B added $VIP at: $(vip_times b add "$VIP" "$STEADY_T" | tr '\n' ' ')"
    xdiff "B took over after a stall although A's adverts were waiting in its socket"
fi
check "A holds $VIP at the end" has_vip a "$VIP"
check "B is Backup at the end" wait_for 2 no_vip b "$VIP"
finish
