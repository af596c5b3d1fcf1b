#!/usr/bin/env bash
# 88. umask and vrrp_process_name (keepalived global_parser.c, main.c):
#     A alone (owner) with `umask 077` and `vrrp_process_name vrrp_lab`.
#     What its notify script creates gets the daemon's umask (0600), its
#     pid file stays readable by all (0644, keepalived's exception), and
#     the VRRP process is named vrrp_lab (/proc/PID/comm: ps, pgrep).
. "$(dirname "$0")/lib.sh"
title "88 umask and vrrp_process_name"
require_daemon
lab_up a
printf '#!/bin/sh\necho "$3" >%s/made\n' "$WORK" >"$WORK/mk.sh"
chmod 755 "$WORK/mk.sh"
cat >"$WORK/a.conf" <<CONF
global_defs {
    umask 077
    vrrp_process_name vrrp_lab
}
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 88
    priority 255
    version 3
    advert_int 0.1
    notify_master "$WORK/mk.sh" root
    virtual_ipaddress {
        $VIP
    }
}
CONF
start_daemon a "$WORK/a.conf"
check "A holds $VIP" wait_for 4 has_vip a "$VIP"
check "the notify script ran" wait_for 3 test -s "$WORK/made"
mode=$(stat -c %a "$WORK/made")
say "notify script's file: mode $mode; pid file: mode $(stat -c %a "$WORK/a/daemon.pid")"
check "a file the notify script creates has the daemon's umask (600)" test "$mode" = 600
check "the pid file stays readable by all (644)" test "$(stat -c %a "$WORK/a/daemon.pid")" = 644
comm=$(cat "/proc/${DVPID[a]}/comm")
say "VRRP process name: $comm"
check "the VRRP process is named vrrp_lab" test "$comm" = vrrp_lab
finish
