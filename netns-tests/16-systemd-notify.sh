#!/usr/bin/env bash
# systemd integration (Type=notify): READY=1 once every instance has its
# initial state, WATCHDOG=1 from the advert loop at least twice per
# WatchdogSec, RELOADING=1 + MONOTONIC_USEC then READY=1 on SIGHUP,
# STOPPING=1 on SIGTERM. A fake $NOTIFY_SOCKET stands in for systemd.
. "$(dirname "$0")/lib.sh"
title "16 systemd notify: READY, WATCHDOG, RELOADING, STOPPING"
require_daemon
is_keepalived && skip "keepalived 2.2.7's Debian unit is Type=simple with no watchdog"
lab_up a b c
sock=$WORK/notify.sock
bg "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(0.2)
end = time.time() + 20
with open(sys.argv[2], "a") as out:
    while time.time() < end:
        try:
            out.write("%.6f %s\n" % (time.time(), s.recv(4096).decode().replace("\n", " ").strip()))
            out.flush()
        except socket.timeout:
            pass' "$sock" "$WORK/notify.log"
wait_for 3 test -S "$sock" || fail "fake notify socket not up"
export NOTIFY_SOCKET=$sock WATCHDOG_USEC=1000000
start_daemon a "$(conf_for a v3-ipv4.conf.in)"
unset NOTIFY_SOCKET WATCHDOG_USEC
check "READY=1 after start" wait_for 5 grep -q "READY=1" "$WORK/notify.log"
t0=$(now)
sleep 3
kicks=$(awk -v t="$t0" '$1 >= t && /WATCHDOG=1/' "$WORK/notify.log" | wc -l)
say "measured: $kicks WATCHDOG=1 in 3 s with WatchdogSec=1 s"
((kicks >= 6)) || fail "expected at least 2 watchdog kicks per second, saw $kicks in 3 s"
hup_daemon a
check "RELOADING=1 with MONOTONIC_USEC on SIGHUP" wait_for 3 grep -q "RELOADING=1 MONOTONIC_USEC=" "$WORK/notify.log"
check "READY=1 again after the reload" wait_for 3 eval '[[ $(grep -c "READY=1" "$WORK/notify.log") -ge 2 ]]'
stop_daemon a
check "STOPPING=1 on SIGTERM" wait_for 3 grep -q "STOPPING=1" "$WORK/notify.log"
finish
