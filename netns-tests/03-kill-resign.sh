#!/usr/bin/env bash
# 3. A's daemon is SIGKILLed while the host stays up, then `vrrpd resign -f
#    CONF` runs in A's namespace as systemd's ExecStopPost would: B takes
#    over within Skew_Time + 50 ms of the resign's priority-0 advert and A
#    no longer holds the VIP.  keepalived has no such command and leaves
#    the VIP on A after SIGKILL (both nodes hold it): expected difference.
. "$(dirname "$0")/lib.sh"
title "03 SIGKILL + resign (ExecStopPost): B takes over within Skew_Time"
require_daemon
seed_lab
client_start "http://$VIP/"
check "client answered by A" wait_for 3 client_says node-a
sleep 0.3
skew=$(skew_time 2 100 1)
mdi=$(master_down 2 100 1)
t_kill=$(now)
kill_daemon a
rc=0
resign_daemon a || rc=$?
t_resign=$(now)
if ((rc == 2)); then
    xdiff "keepalived has no 'resign' command; nothing can hand over after SIGKILL before Master_Down_Interval (${mdi} s)"
elif ((rc != 0)); then
    fail "vrrpd resign exited $rc"
else
    say "resign exited 0 after $(ms "$(fcalc "$t_resign - $t_kill")")"
fi
check "B holds $VIP" wait_master b "$VIP" "$(fcalc "$mdi + 2")"
t_vip=$(vip_first b add "$VIP" "$t_kill")
say "measured: kill -> VIP on B $(ms "$(fcalc "$t_vip - $t_kill")")"
t_p0=$(first_prio0 192.0.2.20 "$t_kill")
if [[ $t_p0 ]]; then
    d=$(fcalc "$t_vip - $t_p0")
    say "measured: priority-0 advert -> VIP on B $(ms "$d") (bound Skew_Time + 50 ms = $(ms "$(fcalc "$skew + 0.05")"))"
    check "B took over within Skew_Time + 50 ms of the priority-0 advert" fle "$d" "$(fcalc "$skew + 0.05")"
else
    check_or_xdiff "A sent a priority-0 advert after the kill" false
    t_last=$(last_advert 192.0.2.20 "$t_kill")
    say "measured: A's last advert -> VIP on B $(ms "$(fcalc "$t_vip - $t_last")") (Master_Down_Interval, not Skew_Time)"
fi
check_or_xdiff "A no longer holds $VIP" wait_for 1 no_vip a "$VIP"
if has_vip a "$VIP" && has_vip b "$VIP"; then
    say "both A and B hold $VIP now (split ownership of the floating IP)"
fi
check "client answered by B" wait_for 3 client_says node-b
# The unit restarts the daemon: A preempts, B drops the VIP, and the
# client follows A again.
t_start=$(now)
start_daemon a "$WORK/lb1.conf"
check "restarted A preempts" wait_master a "$VIP" "$(fcalc "$(master_down 2 101 1) + 3")"
check "B dropped $VIP" wait_for 1 no_vip b "$VIP"
say "measured: restart -> A holds VIP $(ms "$(fcalc "$(vip_first a add "$VIP" "$t_start") - $t_start")")"
check "client answered by A again" wait_for 3 client_says node-a
finish
