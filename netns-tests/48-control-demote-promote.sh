#!/usr/bin/env bash
# 48. Maintenance without editing configs: `vrrpd demote VI_1` on the Master
#     A sends priority 0 and drops the VIP, B takes over within Skew_Time;
#     A stays out of the election (no advert above 0), even as the only node
#     once B stops.  `vrrpd promote VI_1` brings A back through BACKUP and it
#     preempts after Master_Down_Interval.  An unknown instance is an error
#     listing the names.  VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"
title "48 vrrpd demote / promote: VIP to the peer and back"
ctl_require
fast_lab v3-ipv4.conf.in
skew=$(skew_time 3 100 0.1)

t=$(now)
out=$(ctl a demote VI_1 --reason "kernel upgrade")
say "demote: $out"
[[ $out == "VI_1: demoted; now FAULT (Demoted), no VIPs held" ]] || fail "demote said: $out"
check "B holds $VIP" wait_master b "$VIP" 2
check "A dropped $VIP" no_vip a "$VIP"
t0=$(first_prio0 192.0.2.20 "$t")
[[ $t0 ]] || fail "A sent no priority-0 advert"
t_vip=$(vip_first b add "$VIP" "$t")
say "measured: demote -> A's priority 0 $(ms "$(fcalc "$t0 - $t")"), -> VIP on B $(ms "$(fcalc "$t_vip - $t")") (A's priority 0 -> VIP on B $(ms "$(fcalc "$t_vip - $t0")"), Skew_Time $(ms "$skew"))"
check "B took over within Skew_Time + 50 ms of A's priority 0" fle "$(fcalc "$t_vip - $t0")" "$(fcalc "$skew + 0.05")"
ja=$(ctl a status --json)
jq -e '.instances[0] | .state == "FAULT" and .reason == "Demoted" and .demoted.by_uid == 0
    and .demoted.reason == "kernel upgrade" and .vips_held == []' <<<"$ja" >/dev/null \
    || fail "A's status: $(jq -c '.instances[0] | {state, reason, demoted, vips_held}' <<<"$ja")"
ta=$(ctl a status)
printf '%s\n' "$ta" | grep -E '^  (state|demoted)' | sed 's/^/    /'
check "A's table shows the demotion" eval '[[ $ta == *"demoted   by uid 0 at "*": kernel upgrade (undo: vrrpd promote VI_1)"* ]]'
out=$(ctl a demote VI_1)
check "demoting again: no change" eval '[[ $out == "VI_1: already demoted; now FAULT (Demoted), no VIPs held" ]]'
out=$(ctl a demote VI_9 2>&1) && rc=0 || rc=$?
say "unknown instance: exit $rc: $out"
[[ $rc == 1 && $out == *"no instance 'VI_9' (instances: VI_1)"* ]] || fail "unknown instance not refused with the names"

# Alone: B stops (and resigns); the demoted A must not take over.
t_stop=$(now)
stop_daemon b
check "A stays without $VIP for 1.5 s alone (Master_Down_Interval is $(ms "$(master_down 3 101 0.1)"))" hold_for 1.5 no_vip a "$VIP"
n=$(tsh "vrrp && ip.src == 192.0.2.20 && vrrp.prio > 0 && frame.time_epoch > $t0" frame.number | wc -l)
say "A's adverts with priority > 0 since its priority 0: $n"
((n == 0)) || fail "a demoted A advertised"
check "A still FAULT (Demoted)" st_is a '.state + " " + .reason' "FAULT Demoted"
say "B stopped $(ms "$(fcalc "$(now) - $t_stop")") ago; starting it again"
start_daemon b "$WORK/b.conf"
check "B master again" wait_master b "$VIP" 3

# Promote: A goes through BACKUP and preempts B after Master_Down_Interval.
t=$(now)
out=$(ctl a promote VI_1)
say "promote: $out"
[[ $out == "VI_1: promoted; now BACKUP (Promoted), no VIPs held" ]] || fail "promote said: $out"
check "A holds $VIP again" wait_master a "$VIP" 3
check "B dropped $VIP" wait_for 1 no_vip b "$VIP"
mdi=$(master_down 3 101 0.1)
t_vip=$(vip_first a add "$VIP" "$t")
say "measured: promote -> VIP on A $(ms "$(fcalc "$t_vip - $t")") (Master_Down_Interval $(ms "$mdi"))"
check "A took over within Master_Down_Interval + 200 ms of the command" fle "$(fcalc "$t_vip - $t")" "$(fcalc "$mdi + 0.2")"
check "A's status: MASTER, not demoted" st_is a '.state + " " + (.demoted|tostring)' "MASTER null"
check "A's log names who demoted and promoted" eval 'grep -q "(VI_1) demoted by uid 0 (pid [0-9]*): kernel upgrade" "$WORK/a.log" && grep -q "(VI_1) promoted by uid 0" "$WORK/a.log"'
finish
