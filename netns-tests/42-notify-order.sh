#!/usr/bin/env bash
# 42. Rapid transitions on A (a weight-0 script toggled: MASTER, FAULT,
#     BACKUP, FAULT, BACKUP, MASTER, then SIGTERM): the `notify` script
#     (keepalived's arguments) sees every state in transition order even
#     though its MASTER run is slow, notify_master runs before `notify`,
#     STOP is delivered at shutdown, and vrrp_notify_fifo gets the same
#     events as `INSTANCE "VI_1" STATE PRIO` lines.  keepalived runs its
#     notify scripts unordered (its #996, #1835): an expected difference.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "42 notifications in transition order, STOP at shutdown, FIFO lines"
require_daemon
lab_up a b
health=$WORK/health-a
printf 'ok\n' >"$health"
printf '#!/bin/sh\n[ "$(cat %s)" = ok ]\n' "$health" >"$WORK/chk.sh"
# The MASTER notification is slow: an unordered runner logs it late.
printf '#!/bin/sh\ncase "$*" in *" MASTER "*) sleep 1.5 ;; esac\necho "$*" >>%s\n' \
    "$WORK/notify-a.log" >"$WORK/notify.sh"
chmod 755 "$WORK/chk.sh" "$WORK/notify.sh"
# vrrpd runs commands that name no user as 'nobody' (no script_user, no
# keepalived_script user): the log must be writable by it.
: >"$WORK/notify-a.log"
chmod 666 "$WORK/notify-a.log"
fifo=$WORK/notify-a.fifo
mkfifo -m 644 "$fifo"
bg sh -c "exec cat '$fifo' >'$WORK/fifo-a.txt'"
TOP="global_defs {
    vrrp_notify_fifo $fifo
}
vrrp_script chk {
    script \"$WORK/chk.sh\"
    interval 1
    timeout 1
}"
EXTRA="    track_script {
        chk
    }
    notify_master \"$WORK/notify.sh SPECIFIC MASTER\"
    notify \"$WORK/notify.sh\""
start_daemon a "$(track_conf a none)"
wait_master a "$VIP" 6 || fail "A did not become master"
sleep 0.2
printf 'fail\n' >"$health"
check "FAULT" wait_for 3 in_state a VI_1 FAULT
printf 'ok\n' >"$health"
check "BACKUP" wait_for 3 in_state a VI_1 BACKUP
printf 'fail\n' >"$health"
check "FAULT" wait_for 3 in_state a VI_1 FAULT
printf 'ok\n' >"$health"
check "MASTER again" wait_master a "$VIP" 8
stop_daemon a
expected=$( { states_of a VI_1; echo STOP; } | tr '\n' ' ')
say "transitions: $expected"
generic() { grep -a '^INSTANCE' "$WORK/notify-a.log" | awk '{print $3}' | tr '\n' ' '; }
check "STOP delivered at shutdown" wait_for 4 eval 'generic | grep -q STOP'
sleep 0.3
say "notify saw:  $(generic)"
check_or_xdiff "notify ran in transition order" eval '[[ $(generic) == "$expected" ]]'
check_or_xdiff "notify_master ran before notify, each time" eval \
    '[[ $(grep -a -A1 "^SPECIFIC MASTER" "$WORK/notify-a.log" | grep -ac "^INSTANCE VI_1 MASTER") == $(states_of a VI_1 | grep -c MASTER) ]]'
fifo_states=$(awk '$1 == "INSTANCE" && $2 == "\"VI_1\"" {print $3}' "$WORK/fifo-a.txt" | tr '\n' ' ')
say "FIFO saw:    $fifo_states"
check "FIFO lines are keepalived's format" eval 'grep -aqE "^INSTANCE \"VI_1\" MASTER [0-9]+$" "$WORK/fifo-a.txt"'
check_or_xdiff "FIFO saw every transition in order, STOP last" eval '[[ $fifo_states == "$expected" ]]'
if ! is_keepalived; then
    check "each notify's exit status is logged" log_has a "notify_master .* exited with status 0 after"
fi
finish
