#!/usr/bin/env bash
# 43. keepalived's weighted trackers on A (priority 101; B 100):
#     track_file (value x weight), track_process (a process disappearing,
#     weight -30) and track_interface (a second link losing carrier, then
#     deleted and recreated, weight -40).  Each moves A's effective priority exactly as keepalived
#     does ("Changing effective priority from 101 to N") and, below B's
#     100, B takes over; restored, A preempts back.  keepalived's
#     track_process needs the kernel proc connector, which answers only in
#     the initial network namespace ("Failed to set/clear process event
#     listen - errno 111"): with DAEMON=keepalived that step is left out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "43 track_file, track_process, track_interface weights"
require_daemon
lab_up a b c
sa=$(ns a)
# A second interface on A to track: a veth pair whose peer we take down.
ip -n "$sa" link add trk0 type veth peer name trk1
ip -n "$sa" link set trk0 up
ip -n "$sa" link set trk1 up
# A process with a name of its own (comm "vrrpdtrk").
cp /bin/sleep "$WORK/vrrpdtrk"
# shellcheck disable=SC2034 # PROC_PID is used through eval in step
start_proc() { bg ip netns exec "$sa" "$WORK/vrrpdtrk" 600; PROC_PID=$BG_LAST; }
start_proc
printf '0\n' >"$WORK/prio-a"
TOP="vrrp_track_file prio {
    file $WORK/prio-a
    weight 1
}"
EXTRA="    track_file {
        prio
    }
    track_interface {
        trk0 weight -40
    }"
if ! is_keepalived; then
    TOP+="
vrrp_track_process trk {
    process vrrpdtrk
    weight -30
}"
    EXTRA+="
    track_process {
        trk
    }"
fi
conf_a=$(track_conf a none)
TOP="" EXTRA=""
conf_b=$(track_conf b none)
start_daemon a "$conf_a"
wait_master a "$VIP" 6 || fail "A did not become master"
start_daemon b "$conf_b"
sleep 1.5
no_vip b "$VIP" || fail "B holds $VIP too after start"
mdi=$(master_down 2 100 1)
bound=$(fcalc "2 + $mdi + 0.5")

# step DESC ACTION RESTORE PRIO: ACTION drops A to PRIO (< 100), B takes
# over; RESTORE brings A back to 101 and it preempts.
step() {
    local desc=$1 action=$2 restore=$3 prio=$4 t
    t=$(now)
    eval "$action"
    check "$desc: A's priority 101 -> $prio" wait_for 3 log_has a "Changing effective priority from 101 to $prio"
    check "$desc: B takes over" wait_master b "$VIP" "$bound"
    say "measured: $desc -> VIP on B $(ms "$(fcalc "$(vip_first b add "$VIP" "$t") - $t")")"
    check "$desc: A is BACKUP, not FAULT" in_state a VI_1 BACKUP
    eval "$restore"
    check "$desc restored: A's priority back to 101" wait_for 3 log_has a "Changing effective priority from $prio to 101"
    check "$desc restored: A preempts" wait_master a "$VIP" "$bound"
}
step "track_file value -20" "printf -- '-20\n' >'$WORK/prio-a'" "printf '0\n' >'$WORK/prio-a'" 81
if is_keepalived; then
    say "track_process step skipped: keepalived's proc connector does not work in a network namespace"
else
    step "tracked process gone" 'kill -TERM "$PROC_PID"' 'start_proc' 71
fi
step "tracked interface down" 'ip -n "$sa" link set trk1 down' 'ip -n "$sa" link set trk1 up' 61
step "tracked interface deleted" 'ip -n "$sa" link del trk0' \
    'ip -n "$sa" link add trk0 type veth peer name trk1; ip -n "$sa" link set trk0 up; ip -n "$sa" link set trk1 up' 61
finish
