#!/usr/bin/env bash
# 91. reload_file and reload_time_file (keepalived main.c,
#     reload_monitor.c): A alone (owner). At a SIGHUP the reload file
#     exists while the reload runs, and is gone after it (inotify on its
#     directory sees it created, then deleted; keepalived 2.2.7 does not
#     without reload_check_config: expected difference). A time 2 s ahead written to
#     the reload time file makes the daemon reload itself then, and the
#     file is removed (no reload_repeat).
. "$(dirname "$0")/lib.sh"
title "91 reload_file and reload_time_file"
require_daemon
lab_up a
mkdir -p "$WORK/flag"
cat >"$WORK/a.conf" <<CONF
global_defs {
    reload_file $WORK/flag/k.reload
    reload_time_file $WORK/when
}
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 91
    priority 255
    version 3
    advert_int 0.1
    virtual_ipaddress {
        $VIP
    }
}
CONF
start_daemon a "$WORK/a.conf"
check "A holds $VIP" wait_for 4 has_vip a "$VIP"
# IN_CREATE | IN_DELETE on the reload file's directory.
bg "$PY" -c '
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init()
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x100 | 0x200) < 0:
    sys.exit("inotify failed")
print("ready", flush=True)
while True:
    buf = os.read(fd, 4096)
    i = 0
    while i < len(buf):
        _, mask, _, n = struct.unpack_from("iIII", buf, i)
        name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
        print("CREATE" if mask & 0x100 else "DELETE", name, flush=True)
        i += 16 + n
' "$WORK/flag" >"$WORK/inotify.txt"
wait_for 3 grep -q ready "$WORK/inotify.txt" || fail "inotify watcher did not start"
reloads() { grep -ac "Reloading" "$WORK/a.log" || true; }
n=$(reloads)
hup_daemon a
check "the reload ran" wait_for 3 eval '(( $(reloads) > n ))'
# keepalived 2.2.7 makes the file only with reload_check_config (it
# creates it from the configuration it has not read yet): an expected
# difference from its man page's rule, which vrrpd follows.
check_or_xdiff "the reload file was created, then removed" \
    wait_for 3 eval '[[ $(grep -v ready "$WORK/inotify.txt" | tr "\n" "|") == "CREATE k.reload|DELETE k.reload|" ]]'
check "no reload file left" test ! -e "$WORK/flag/k.reload"

n=$(reloads)
at=$(( $(date +%s) + 2 ))
date -d "@$at" +%H:%M:%S >"$WORK/when"
say "reload time written: $(cat "$WORK/when") (local)"
check "A reloads at the time written" wait_for 4.5 eval '(( $(reloads) > n ))'
t=$(now)
say "measured: reload seen $(ms "$(fcalc "$t - $at")") after the time written"
check "not before the time written" fle "$at" "$t"
check "the reload time file is removed (no reload_repeat)" wait_for 1 test ! -e "$WORK/when"
check "A still holds $VIP" has_vip a "$VIP"
finish
