#!/usr/bin/env bash
# 60. A local user pre-creates the notify FIFO paths in a world-writable
#     sticky directory (as /tmp): vrrp_notify_fifo is their symbolic link
#     to a root file, notify_fifo their regular file.  Both are refused with
#     a clear error at start, nothing is written through the link or into
#     the file, their FIFO script never starts, and the instance works.  A
#     reload to a root FIFO that others can write (mode 0666) is refused
#     the same way, and nothing reaches its reader.  `vrrpd check` names
#     each path and the reason.  keepalived 2.2.7 opens with O_NOFOLLOW
#     too, but writes into a regular file or a FIFO others can write: an
#     expected difference.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "60 hostile notify FIFO paths refused: link, regular file, FIFO others can write"
require_daemon
need setpriv
lab_up a b
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
pub=$WORK/pub
mkdir -m 1777 "$pub"
secret=$WORK/secret
printf 'root only\n' >"$secret"
chmod 600 "$secret"
as_nobody ln -s "$secret" "$pub/vrrp.fifo"
as_nobody touch "$pub/notify.fifo"
as_nobody chmod 644 "$pub/notify.fifo"
# The FIFO script would tell on itself.
printf '#!/bin/sh\ntouch %s\nexec cat "$1" >/dev/null\n' "$WORK/fifo-script-ran" >"$WORK/reader.sh"
chmod 755 "$WORK/reader.sh"
fifo_conf() {
    TOP="global_defs {
    script_user root
    vrrp_notify_fifo $1
    vrrp_notify_fifo_script $WORK/reader.sh
    notify_fifo $2
}" track_conf a none
}
conf_a=$(fifo_conf "$pub/vrrp.fifo" "$pub/notify.fifo")
if ! is_keepalived; then
    ip netns exec "$(ns a)" "$(daemon_bin)" check -f "$conf_a" >"$WORK/check.txt" 2>&1 || true
    say "vrrpd check: $(grep -c warning "$WORK/check.txt") warnings"
    check "check: the link is named, located at vrrp_notify_fifo" \
        grep -qE "a.conf:3:5: warning: vrrp_notify_fifo: $pub/vrrp.fifo is a symbolic link: refused" "$WORK/check.txt"
    check "check: the regular file is named, located at notify_fifo" \
        grep -qE "a.conf:5:5: warning: notify_fifo: $pub/notify.fifo is a regular file, not a FIFO: refused" "$WORK/check.txt"
fi
start_daemon a "$conf_a"
check "A becomes MASTER with $VIP although its FIFOs are refused" wait_master a "$VIP" 6
start_daemon b "$(track_conf b none)"
sleep 1.5
check "B stays BACKUP" no_vip b "$VIP"
if ! is_keepalived; then
    check "start: the link is refused with a clear error" \
        log_has a "vrrp_notify_fifo: $pub/vrrp.fifo is a symbolic link: refused"
    check "start: the regular file is refused with a clear error" \
        log_has a "notify_fifo: $pub/notify.fifo is a regular file, not a FIFO: refused"
    check "the FIFO script of the refused FIFO is not started (said)" \
        log_has a "vrrp_notify_fifo_script .* not started: its FIFO $pub/vrrp.fifo was refused"
fi
check "nothing written through the link: $secret unchanged" eval '[[ $(cat "$secret") == "root only" ]]'
check "the link is still a link to $secret (not replaced)" eval '[[ $(readlink "$pub/vrrp.fifo") == "$secret" ]]'
check_or_xdiff "nothing written into the user's regular file" eval '[[ ! -s $pub/notify.fifo ]]'
check_or_xdiff "the FIFO script never ran" eval '[[ ! -e $WORK/fifo-script-ran ]]'

# Reload onto a root FIFO that anyone can write (an operator's mkfifo -m 666).
mkfifo -m 666 "$WORK/open.fifo"
chmod 666 "$WORK/open.fifo"
bg sh -c "exec cat '$WORK/open.fifo' >'$WORK/open.txt'"
fifo_conf "$WORK/open.fifo" "$pub/notify.fifo" >/dev/null
cp "$WORK/a.conf" "${DCONF[a]}"
n=$(grep -c "is a regular file, not a FIFO" "$WORK/a.log" || true)
hup_daemon a
if ! is_keepalived; then
    check "reload: the FIFO others can write is refused" wait_for 3 \
        log_has a "vrrp_notify_fifo: $WORK/open.fifo is writable by group or others \(mode 0666\): refused"
    check "reload: the regular file is refused again" \
        eval '(( $(grep -c "is a regular file, not a FIFO" "$WORK/a.log") > n ))'
fi
sleep 1
# A transition that would be written: A stops (STOP, then B's MASTER elsewhere).
stop_daemon a
check "B takes over" wait_master b "$VIP" 5
sleep 0.3
say "the 0666 FIFO's reader got: $(tr '\n' '|' <"$WORK/open.txt")"
check_or_xdiff "nothing reached the reader of the FIFO others can write" eval '[[ ! -s $WORK/open.txt ]]'
check_or_xdiff "nothing written into the user's regular file after the reload" eval '[[ ! -s $pub/notify.fifo ]]'
check "$secret still unchanged" eval '[[ $(cat "$secret") == "root only" ]]'
check_or_xdiff "the FIFO script never ran" eval '[[ ! -e $WORK/fifo-script-ran ]]'
finish
