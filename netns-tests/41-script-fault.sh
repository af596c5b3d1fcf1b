#!/usr/bin/env bash
# 41. A vrrp_script with weight 0 (keepalived's default) on A: failing, it
#     puts A in FAULT (B takes over); healthy again, A leaves FAULT through
#     BACKUP and preempts.  A run that hangs is killed at the timeout with
#     its whole process group and counts as a failure ("timed_out").  A
#     tracked script that does not exist is disabled, not a failure.  A
#     reload while the script fails keeps A in FAULT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "41 weight-0 script: FAULT on failure and on timeout"
require_daemon
lab_up a b c
health=$WORK/health-a
printf 'ok\n' >"$health"
printf '#!/bin/sh\ncase $(cat %s) in\nok) exit 0 ;;\nhang) sleep 30; exit 0 ;;\n*) exit 1 ;;\nesac\n' \
    "$health" >"$WORK/chk.sh"
chmod 755 "$WORK/chk.sh"
TOP="vrrp_script chk {
    script \"$WORK/chk.sh\"
    interval 1
    timeout 1
}
vrrp_script missing {
    script \"$WORK/does-not-exist.sh\"
    interval 1
}"
EXTRA="    track_script {
        chk
        missing
    }"
conf_a=$(track_conf a none)
TOP="" EXTRA=""
conf_b=$(track_conf b none)
start_daemon a "$conf_a"
wait_master a "$VIP" 5 || fail "A did not become master"
start_daemon b "$conf_b"
sleep 1.5
no_vip b "$VIP" || fail "B holds $VIP too after start"
check "A is MASTER although 'missing' cannot run" hold_for 1.5 in_state a VI_1 MASTER

t=$(now)
printf 'fail\n' >"$health"
check "failing script: A enters FAULT" wait_for 3 in_state a VI_1 FAULT
check "A dropped $VIP" wait_for 1 no_vip a "$VIP"
check "B holds $VIP (A's priority-0 advert)" wait_master b "$VIP" 2
say "measured: script fails -> VIP on B $(ms "$(fcalc "$(vip_first b add "$VIP" "$t") - $t")")"

n=$(transitions a)
hup_daemon a
check "reload (SIGHUP) keeps the failed script's state: A stays in FAULT" hold_for 2.5 in_state a VI_1 FAULT
check_or_xdiff "no transition through BACKUP during the reload" eval '[[ $(transitions a) == "$n" ]]'
printf 'ok\n' >"$health"
check "healthy again: A leaves FAULT, preempts and holds $VIP" wait_master a "$VIP" 8
check "A went FAULT -> BACKUP -> MASTER" eval '[[ $(states_of a VI_1 | tail -n 3 | tr "\n" " ") == "FAULT BACKUP MASTER " ]]'

t=$(now)
printf 'hang\n' >"$health"
check "hanging script: timed out" wait_for 4 log_has a "VRRP_Script\(chk\) timed_out"
check "timed out counts as failure: A enters FAULT" wait_for 2 in_state a VI_1 FAULT
check "B holds $VIP" wait_master b "$VIP" 2
say "measured: script hangs -> VIP on B $(ms "$(fcalc "$(vip_first b add "$VIP" "$t") - $t")")"
printf 'ok\n' >"$health"
sleeps() {
    local p
    for p in $(ip netns pids "$(ns a)"); do { tr "\0" " " <"/proc/$p/cmdline"; } 2>/dev/null; echo; done \
        | grep -c '^sleep 30' || true
}
check "the timed-out script's process group is gone (no 'sleep 30' left)" wait_for 4 eval '[[ $(sleeps) == 0 ]]'
check "healthy again: A preempts" wait_master a "$VIP" 8
finish
