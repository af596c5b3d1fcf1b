#!/usr/bin/env bash
# 33. A reload removes three instances of A (alone, VRRPv3 0.1 s):
#     VI_D (Master, `notify_deleted "cmd"`), VI_F (Master, no
#     notify_deleted) and VI_Q (in FAULT, no notify_deleted).  keepalived's
#     rules (clear_diff_vrrp): VI_D is reported DELETED (its command and
#     `notify ... DELETED`), VI_F as FAULT, VI_Q not at all; the Masters
#     send priority 0 and release their addresses.  VI_K stays, untouched.
#     keepalived 2.2.7 writes none of these to its FIFO (expected difference).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "33 reload removes instances: DELETED with notify_deleted, else FAULT"
require_daemon
lab_up a
printf '#!/bin/sh\necho "$*" >>%s\n' "$WORK/notify.log" >"$WORK/notify.sh"
printf '#!/bin/sh\nexit 1\n' >"$WORK/fail.sh"
chmod 755 "$WORK/notify.sh" "$WORK/fail.sh"
: >"$WORK/notify.log"
chmod 666 "$WORK/notify.log"
mkfifo -m 644 "$WORK/fifo"
bg sh -c "exec cat '$WORK/fifo' >'$WORK/fifo.txt'"
# inst NAME VRID [LINES...]: one VRRPv3 0.1 s instance with a `notify`.
inst() {
    local name=$1 vrid=$2
    shift 2
    printf 'vrrp_instance %s {\n    state BACKUP\n    interface %s\n    version 3\n    virtual_router_id %d\n    priority 101\n    advert_int 0.1\n    virtual_ipaddress {\n        192.0.2.%d\n    }\n    notify "%s"\n' \
        "$name" "$LAB_IF" "$vrid" "$vrid" "$WORK/notify.sh"
    printf '    %s\n' "$@"
    printf '}\n'
}
head="global_defs {
    vrrp_notify_fifo $WORK/fifo
}
vrrp_script fail {
    script \"$WORK/fail.sh\"
    interval 1
}"
{
    printf '%s\n' "$head"
    inst VI_K 80
    inst VI_D 81 "notify_deleted \"$WORK/notify.sh DELETED-CMD\""
    inst VI_F 82
    inst VI_Q 83 "track_script {" "    fail" "}"
} >"$WORK/a.conf"
start_daemon a "$WORK/a.conf"
check "VI_K, VI_D, VI_F Master" wait_for 4 eval 'has_vip a 192.0.2.80 && has_vip a 192.0.2.81 && has_vip a 192.0.2.82'
# keepalived enters FAULT for a failing weight-0 script without a log line.
check "VI_Q in FAULT (no address)" hold_for 1 no_vip a 192.0.2.83
{
    printf '%s\n' "$head"
    inst VI_K 80
} >"${DCONF[a]}"
: >"$WORK/notify.log"
mark=$(wc -l <"$WORK/fifo.txt")
t=$(now)
hup_daemon a
check "VI_D and VI_F released their addresses" wait_for 3 eval 'no_vip a 192.0.2.81 && no_vip a 192.0.2.82'
check "VI_K kept its address" has_vip a 192.0.2.80
sleep 0.5
fifo=$(tail -n +"$((mark + 1))" "$WORK/fifo.txt" | tr '\n' ',')
say "FIFO after the reload: $fifo"
say "notify after the reload: $(tr '\n' ',' <"$WORK/notify.log")"
# keepalived 2.2.7 runs the commands but writes no FIFO line for them (its
# FIFO is reopened by the reload first): an expected difference.
check_or_xdiff "FIFO: VI_D DELETED, VI_F FAULT, nothing for VI_Q or VI_K" eval \
    '[[ $(tail -n +"$((mark + 1))" "$WORK/fifo.txt" | sort | tr "\n" ",") == "INSTANCE \"VI_D\" DELETED 101,INSTANCE \"VI_F\" FAULT 101," ]]'
check "notify_deleted's command ran" grep -qx "DELETED-CMD" "$WORK/notify.log"
check "notify got INSTANCE VI_D DELETED and INSTANCE VI_F FAULT" eval \
    'grep -qx "INSTANCE VI_D DELETED 101" "$WORK/notify.log" && grep -qx "INSTANCE VI_F FAULT 101" "$WORK/notify.log" && ! grep -q VI_Q "$WORK/notify.log"'
check "priority 0 sent for VI_D and VI_F" eval \
    '[[ $(tsh "vrrp && ip.src == 192.0.2.20 && vrrp.prio == 0" vrrp.virt_rtr_id frame.time_epoch | awk -v t="$t" "\$2 >= t {print \$1}" | sort -u | tr "\n" " ") == "81 82 " ]]'
finish
