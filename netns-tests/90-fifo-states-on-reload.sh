#!/usr/bin/env bash
# 90. fifo_write_vrrp_states_on_reload (keepalived 2.3 vrrp_scheduler.c):
#     A alone (owner, in sync group G) writes its transitions to
#     vrrp_notify_fifo; a reload that changes nothing writes the state of
#     the group and the instance again (GROUP line first). keepalived 2.2.7
#     parses the keyword and writes nothing: an expected difference.
. "$(dirname "$0")/lib.sh"
title "90 fifo_write_vrrp_states_on_reload: states written again at a reload"
require_daemon
lab_up a
out=$WORK/fifo.txt
printf '#!/bin/sh\nexec cat "$1" >>%s\n' "$out" >"$WORK/reader.sh"
chmod 755 "$WORK/reader.sh"
cat >"$WORK/a.conf" <<CONF
global_defs {
    vrrp_notify_fifo $WORK/a.fifo
    vrrp_notify_fifo_script "$WORK/reader.sh" root
    fifo_write_vrrp_states_on_reload
}
vrrp_sync_group G {
    group {
        VI_1
    }
}
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 90
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
check "the FIFO got the transition" wait_for 3 grep -q 'INSTANCE "VI_1" MASTER 255' "$out"
sleep 0.3
n=$(wc -l <"$out")
say "FIFO before the reload: $(tr '\n' '|' <"$out")"
hup_daemon a
check_or_xdiff "the reload writes the unchanged states again" \
    wait_for 3 eval '[[ $(tail -n +$((n + 1)) "$out" | tr "\n" "|") == "GROUP \"G\" MASTER 0|INSTANCE \"VI_1\" MASTER 255|" ]]'
say "FIFO after the reload: $(tail -n +$((n + 1)) "$out" | tr '\n' '|')"
check "A still holds $VIP" has_vip a "$VIP"
finish
