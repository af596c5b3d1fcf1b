#!/usr/bin/env bash
# 59. A's configuration changes under the running daemon, then A is
#     SIGKILLed and `vrrpd resign` runs with the daemon's options, as
#     systemd's ExecStopPost would. resign releases what the daemon's
#     runtime record says it held, not what the file says now:
#     (1) the file overwritten with garbage, (2) an edit that moves the VIP
#     and the interface. Each time A's VIP goes and B takes it within
#     Skew_Time + 50 ms of A's priority-0 advert (B logs receiving it).
#     (3) A clean stop removes the record; a resign then says it falls back
#     to the configuration, as with a record of an unknown version.
#     VRRPv2, unicast, PASS, 1 s adverts, a /24 VIP.
#     keepalived has no resign: the VIP stays on the killed node (xdiff).
. "$(dirname "$0")/lib.sh"
title "59 SIGKILL after the configuration was broken or edited: resign releases the record"
require_daemon
fast_lab v2-unicast-pass.conf.in
skew=$(skew_time 2 100 1)
mdi=$(master_down 2 100 1)
record=$(record_of a)

# log_lines NODE PATTERN: how many lines of NODE's log contain PATTERN.
log_lines() { grep -acF "$2" "$WORK/$1.log" || true; }
# more_lines NODE PATTERN N: more than N such lines.
more_lines() { (($(log_lines "$1" "$2") > $3)); }
P0_LINE="(VI_1) Backup received priority 0 advertisement"
RECORD_LINE="releasing what the runtime record"

# kill_and_resign WHAT: SIGKILL A, resign, check the handover.
kill_and_resign() {
    local what=$1 t_kill rc=0 t_vip t_p0 d p0_before record_before
    p0_before=$(log_lines b "$P0_LINE")
    record_before=$(log_lines a "$RECORD_LINE")
    if ! is_keepalived; then
        check "the record lists $VIP ($what)" grep -q "\"$VIP\"" "$record"
    fi
    t_kill=$(now)
    kill_daemon a
    resign_daemon a || rc=$?
    if ((rc == 2)); then
        xdiff "keepalived has no 'resign' command: after SIGKILL ($what) A keeps $VIP and B waits Master_Down_Interval (${mdi} s)"
    elif ((rc != 0)); then
        fail "vrrpd resign exited $rc ($what)"
    else
        say "resign exited 0 after $(ms "$(fcalc "$(now) - $t_kill")")"
        check "resign used the record, not the configuration" more_lines a "$RECORD_LINE" "$record_before"
    fi
    check "B holds $VIP ($what)" wait_master b "$VIP" "$(fcalc "$mdi + 2")"
    t_vip=$(vip_first b add "$VIP" "$t_kill")
    say "measured: kill -> VIP on B $(ms "$(fcalc "$t_vip - $t_kill")")"
    t_p0=$(first_prio0 "${NODE_V4[a]}" "$t_kill")
    if [[ $t_p0 ]]; then
        d=$(fcalc "$t_vip - $t_p0")
        say "measured: priority-0 advert -> VIP on B $(ms "$d") (bound Skew_Time + 50 ms = $(ms "$(fcalc "$skew + 0.05")"))"
        check "B took over within Skew_Time + 50 ms of the priority-0 advert ($what)" \
            fle "$d" "$(fcalc "$skew + 0.05")"
        check "B logged the priority-0 advert" wait_for 1 more_lines b "$P0_LINE" "$p0_before"
    else
        check_or_xdiff "A sent a priority-0 advert after the kill ($what)" false
    fi
    check_or_xdiff "A no longer holds $VIP ($what)" wait_for 1 no_vip a "$VIP"
}

# restart_a: A back with its original configuration; it preempts.
restart_a() {
    ip -n "$(ns a)" addr del "$VIP/24" dev "$LAB_IF" 2>/dev/null || true
    start_daemon a "$WORK/a.conf"
    check "restarted A preempts" wait_master a "$VIP" "$(fcalc "$(master_down 2 101 1) + 3")"
    check "B dropped $VIP" wait_for 2 no_vip b "$VIP"
}

# 1. Broken mid-edit: the file is garbage now.
printf 'vrrp_instance VI_1 {\n    interface %s\n    virtual_ipaddress {\n        192.0.2.\x01\x02 garbage {{{\n' \
    "$LAB_IF" >"${DCONF[a]}"
if ! is_keepalived; then
    rc=0
    "$(daemon_bin)" check -f "${DCONF[a]}" >/dev/null 2>&1 || rc=$?
    check "the configuration no longer loads (check exits 4)" test "$rc" = 4
fi
kill_and_resign "configuration broken"

# 2. Edited: another VIP on another interface (what a fallback to the
#    configuration would release instead, and cannot).
restart_a
sed -e "s/192\.0\.2\.30/192.0.2.31/" -e "s/interface $LAB_IF/interface eth9/" "$WORK/a.conf" >"${DCONF[a]}"
kill_and_resign "VIP and interface edited"

# 3. A clean stop releases the addresses and removes the record.
restart_a
if ! is_keepalived; then
    check "the record exists while A runs" test -s "$record"
    check "the record is not readable by others" test "$(stat -c %a "$record")" = 600
fi
stop_daemon a
check "B holds $VIP after A's clean stop" wait_master b "$VIP" 3
if ! is_keepalived; then
    check "a clean stop removes the record" test ! -e "$record"
    resign_daemon a || fail "resign without a record failed"
    check "resign without a record says it falls back to the configuration" \
        grep -aq "no runtime record at $record: releasing what the configuration" "$WORK/a.log"
    # A record of a format this build does not know is refused, said, and
    # the configuration used instead.
    printf '{"version": 99, "pid": 1, "instances": [], "future": true}\n' >"$record"
    resign_daemon a || fail "resign with an unknown record version failed"
    check "an unknown record version is refused, then the configuration used" \
        grep -aq "record version 99 is not one this vrrpd reads (it reads version 1): refused; releasing what the configuration" "$WORK/a.log"
    rm -f "$record"
fi
finish
