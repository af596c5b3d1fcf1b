#!/usr/bin/env bash
# 89. max_auto_priority (keepalived scheduler.c / process.c): A alone with
#     `max_auto_priority 5` and `min_auto_priority_delay 200000` (0.2 s).
#     Stopped for 0.6 s (SIGSTOP: a starved daemon), it wakes late, logs it
#     and moves its advert thread to SCHED_RR 1; a second starvation, to 2.
#     Before, it is SCHED_OTHER. `vrrp_rlimit_rttime 1000000`: at
#     keepalived's default of 10 ms the kernel killed a debug build in CI
#     while it caught up on 0.6 s of timers at SCHED_RR (the limit counts
#     CPU time without sleeping); what is tested here is the raise.
. "$(dirname "$0")/lib.sh"
title "89 max_auto_priority: starved, the advert thread goes realtime"
require_daemon
need chrt
lab_up a
cat >"$WORK/a.conf" <<CONF
global_defs {
    max_auto_priority 5
    min_auto_priority_delay 200000
    vrrp_rlimit_rttime 1000000
}
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 89
    priority 255
    version 3
    advert_int 0.1
    virtual_ipaddress {
        $VIP
    }
}
CONF
start_daemon a "$WORK/a.conf"
check "A holds $VIP" wait_for 4 has_vip a "$VIP"
pid=${DVPID[a]}
policy() { chrt -p "$pid" | awk -F': ' '/policy/ {sub(/[|]SCHED_RESET_ON_FORK/, "", $2); print $2} /priority/ {print $2}' | tr '\n' ' '; }
say "before: $(policy)"
check "SCHED_OTHER before any starvation" eval '[[ $(policy) == "SCHED_OTHER 0 " ]]'
starve() {
    kill -STOP "$pid"
    sleep 0.6
    kill -CONT "$pid"
}
starve
check "starved: SCHED_RR 1" wait_for 2 eval '[[ $(policy) == "SCHED_RR 1 " ]]'
check "logged the raise" grep -q "Set realtime priority 1" "$WORK/a.log"
starve
check "starved again: SCHED_RR 2" wait_for 2 eval '[[ $(policy) == "SCHED_RR 2 " ]]'
say "after: $(policy); $(grep -ac 'expired' "$WORK/a.log") late wake-up line(s)"
check "A still holds $VIP" has_vip a "$VIP"
finish
