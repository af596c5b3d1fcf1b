#!/usr/bin/env bash
# 61. enable_script_security with commands run as root: A's notify_master
#     is a script a non-root user owns (and so can rewrite), its
#     notify_backup sits in a directory anyone can write.  Both are refused
#     at start with one log line each (keepalived's "Unsafe permissions
#     found for script"), said again at a reload, and never run; the safe
#     `notify` command runs on every transition (BACKUP at start, MASTER,
#     STOP) and B takes over when A stops.  `vrrpd check` prints the
#     daemon's own lines, located at the keywords.  keepalived 2.2.7
#     refuses them too.  Started with NOTIFY_SOCKET and INVOCATION_ID (as
#     under systemd), vrrpd passes neither to its scripts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "61 insecure notify commands refused under enable_script_security"
require_daemon
lab_up a b
out=$WORK/out
mkdir -m 755 "$out"
hooks=$WORK/hooks
open=$WORK/open
mkdir -m 755 "$hooks"
mkdir -m 777 "$open"
chmod 777 "$open"
marker() { printf '#!/bin/sh\necho "$*" >>%s/%s\n' "$out" "$1"; }
marker bad-master.log >"$hooks/master.sh"
marker bad-backup.log >"$open/backup.sh"
{ marker good.log; printf 'env >>%s/env.txt\n' "$out"; } >"$hooks/notify.sh"
chmod 755 "$hooks/master.sh" "$open/backup.sh" "$hooks/notify.sh"
chown 65534 "$hooks/master.sh"
TOP="global_defs {
    enable_script_security
    script_user root
}" EXTRA="    notify_master $hooks/master.sh
    notify_backup $open/backup.sh
    notify $hooks/notify.sh" track_conf a none >/dev/null
conf_a=$WORK/a.conf
# A starts in BACKUP (notify_backup's turn), then takes over (notify_master's).
sed -i 's/state MASTER/state BACKUP/' "$conf_a"
bad_master="Unsafe permissions found for script (VI_1) notify_master \`$hooks/master.sh\`: $hooks/master.sh is owned by uid 65534, not root - disabling"
bad_backup="Unsafe permissions found for script (VI_1) notify_backup \`$open/backup.sh\`: $open is writable by others (mode 0777) - disabling"
if ! is_keepalived; then
    ip netns exec "$(ns a)" "$(daemon_bin)" check -f "$conf_a" >"$WORK/check.txt" 2>&1 || true
    check "check: notify_master refused, at its keyword, in the daemon's words" \
        grep -qF "a.conf:18:5: warning: $bad_master" "$WORK/check.txt"
    check "check: notify_backup refused, at its keyword" \
        grep -qF "a.conf:19:5: warning: $bad_backup" "$WORK/check.txt"
    check "check: nothing about the safe notify" eval '! grep -q "notify.sh" "$WORK/check.txt"'
fi
# As under systemd: the daemon has NOTIFY_SOCKET and INVOCATION_ID.
NOTIFY_SOCKET=$WORK/no-such.sock INVOCATION_ID=0123456789abcdef start_daemon a "$conf_a"
check "A becomes MASTER with $VIP" wait_master a "$VIP" 6
start_daemon b "$(track_conf b none)"
sleep 1.5
check "B stays BACKUP" no_vip b "$VIP"
check "the refusal is logged" log_has a "Unsafe permissions found for script"
if ! is_keepalived; then
    count() { grep -cF "$1" "$WORK/a.log" || true; }
    check "start: one line for notify_master, the same as check's" eval '[[ $(count "$bad_master") == 1 ]]'
    check "start: one line for notify_backup" eval '[[ $(count "$bad_backup") == 1 ]]'
    hup_daemon a
    check "reload: said once more, each" wait_for 3 eval '[[ $(count "$bad_master") == 2 && $(count "$bad_backup") == 2 ]]'
    sleep 0.5
fi
check "the safe notify ran for BACKUP, then MASTER" wait_for 3 \
    eval '[[ $(awk "{print \$3}" "$out/good.log" | tr "\n" " ") == "BACKUP MASTER " ]]'
stop_daemon a
check "B takes over when A stops" wait_master b "$VIP" 5
check "the safe notify ran for STOP" wait_for 3 grep -q "INSTANCE VI_1 STOP" "$out/good.log"
say "safe notify saw: $(awk '{print $3}' "$out/good.log" | tr '\n' ' ')"
check_or_xdiff "scripts do not inherit NOTIFY_SOCKET or INVOCATION_ID" \
    eval '! grep -qE "^(NOTIFY_SOCKET|INVOCATION_ID)=" "$out/env.txt"'
if ! is_keepalived; then
    check "scripts get the fixed PATH: $(grep '^PATH=' "$out/env.txt" | head -n 1)" \
        eval '[[ $(grep "^PATH=" "$out/env.txt" | sort -u) == "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]]'
fi
check "the script a non-root user owns never ran" eval '[[ ! -e $out/bad-master.log ]]'
check "the script in a directory anyone can write never ran" eval '[[ ! -e $out/bad-backup.log ]]'
finish
