#!/usr/bin/env bash
# 78. vrrpd's default advert thread is realtime and guarded. With no
#     scheduling keyword it runs SCHED_RR priority 1, reset on fork, under
#     an RLIMIT_RTTIME of 0.5 s (soft) / 1 s (hard). A flood that makes it
#     use more than its CPU budget puts it back on SCHED_OTHER with one
#     warning while the adverts go on (no transition, the VIP on A alone);
#     once the hold (10 s) has passed and the flood is over, it is realtime
#     again. The budget (realtime_cpu_budget_percent, TOML; default 25 %)
#     is set by a reload to three times what the idle thread was measured
#     to use, plus 1 %, so that a 3 s flood of 10 000 frames/s crosses it
#     and the idle thread stays within half of it whatever the build and
#     machine. VRRPv3, 0.1 s. vrrpd only: keepalived runs SCHED_OTHER unless told
#     (vrrp_rt_priority).
. "$(dirname "$0")/lib.sh"
# shellcheck source=netns-tests/flood-lib.sh
. "$NT_DIR/flood-lib.sh"
title "78 realtime advert thread by default, SCHED_OTHER while a flood keeps it over its CPU budget"
require_daemon
is_keepalived && skip "vrrpd's own default: keepalived's advert thread is SCHED_OTHER unless configured"
need chrt prlimit
lab_up a b c
# A: the lab's VRRPv3 configuration in TOML, so that its guard's budget
# (TOML only) can be set: first 50 %, while the idle thread is measured.
"$(daemon_bin)" convert "$(conf_for a v3-ipv4.conf.in)" >"$WORK/a.toml" ||
    fail "vrrpd convert failed"
grep -q '^\[global.scheduling\]' "$WORK/a.toml" && fail "convert wrote a scheduling table: this scenario adds its own"
a_conf() { cat "$WORK/a.toml"; printf '\n[global.scheduling]\nrealtime_cpu_budget_percent = %d\n' "$1"; }
a_conf 50 >"$WORK/a50.toml"
start_daemon a "$WORK/a50.toml"
wait_master a "$VIP" 5 || fail "A did not become master within 5 s"
start_daemon b "$(conf_for b v3-ipv4.conf.in)"
sleep 0.5
no_vip b "$VIP" || fail "B holds $VIP too after start"
pid=${DVPID[a]}
policy() { chrt -p "$pid" | sed -n 's/.*policy: //p'; }
rtprio() { chrt -p "$pid" | sed -n 's/.*priority: //p'; }
say "A's advert thread: $(policy) priority $(rtprio), RTTIME soft/hard $(prlimit --rttime --noheadings --output SOFT,HARD --pid "$pid" | tr -s ' ')"
check "SCHED_RR priority 1, reset on fork, by default" eval '[[ $(policy) == "SCHED_RR|SCHED_RESET_ON_FORK" && $(rtprio) == 1 ]]'
check "RLIMIT_RTTIME soft 0.5 s, hard 1 s" eval '[[ $(prlimit --rttime --noheadings --output SOFT,HARD --pid "$pid" | tr -s " ") == "500000 1000000" ]]'
check "vrrpd says so" grep -aq "Advert thread: SCHED_RR priority 1 (vrrpd's default: while it uses at most 50 % of a CPU)" "$WORK/a.log"
# The thread's own CPU time (schedstat, ns) over 2 s of the idle Master
# (a debug build spends ten times what a release build does). The budget:
# three times that plus 1 %, so the idle thread stays within half of it
# and the flood (a release build ~10 %) crosses it. Set by a reload.
busy() { awk '{print $1}' "/proc/$pid/task/$pid/schedstat"; }
sleep 1
c0=$(busy)
sleep 2
idle_pct=$(awk -v a="$c0" -v b="$(busy)" 'BEGIN {printf "%.2f", (b - a) / 2e9 * 100}')
budget=$(awk -v i="$idle_pct" 'BEGIN {b = int(3 * i + 1.999); print (b < 2 ? 2 : b)}')
say "A's advert thread idle: $idle_pct % of a CPU; budget $budget %"
a_conf "$budget" >"${DCONF[a]}"
hup_daemon a
check "the reload sets the budget" wait_for 3 grep -aq "Advert thread: SCHED_RR priority 1 (vrrpd's default: while it uses at most $budget % of a CPU)" "$WORK/a.log"
check "no demotion while idle" eval '! grep -aq "Advert thread used" "$WORK/a.log"'
# Past the reload's first window, which the guard does not judge.
sleep 1.2
lines=$(wc -l <"$WORK/a.log")
steady_mark
flood_start "$WORK/flood.json" unknownvrid,oversized 10000 3
demoted=0
wait_for 4 eval 'tail -n +$((lines + 1)) "$WORK/a.log" | grep -aq "Advert thread used"' && demoted=1
during=$(policy)
held=1
hold_for 1 steady || held=0
flood_wait
steady || held=0
say "flood: $(jget "$WORK/flood.json" sent) frames at $(jget "$WORK/flood.json" pps) pps; A's thread during it: $during"
say "A logged: $(tail -n +$((lines + 1)) "$WORK/a.log" | grep -a "Advert thread" | head -2 | tr '\n' ' ')"
check "the guard demoted the thread under the flood" test "$demoted" = 1
check "SCHED_OTHER while demoted" eval '[[ $during == SCHED_OTHER* ]]'
check "no transition, VIP on A alone through the flood" test "$held" = 1
# Hold 10 s from the demotion, then the first calm window.
check "realtime again after the hold" wait_for 14 eval 'tail -n +$((lines + 1)) "$WORK/a.log" | grep -aq "Advert thread back to realtime"'
check "SCHED_RR priority 1 again" eval '[[ $(policy) == "SCHED_RR|SCHED_RESET_ON_FORK" && $(rtprio) == 1 ]]'
check "still no transition" steady
finish
