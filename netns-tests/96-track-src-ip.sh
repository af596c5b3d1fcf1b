#!/usr/bin/env bash
# 96. track_src_ip (issue 15): A (priority 150, unicast from 192.0.2.20
#     with `track_src_ip`) is Master, B Backup. Deleting 192.0.2.20, A's
#     only IPv4 address, puts A in FAULT: it gives the VIP up and B takes
#     it; adding it back ends the FAULT and A preempts. Then the same with
#     another address left on the interface. That is what keepalived.conf(5)
#     says ("if the configured src_ip doesn't exist or is removed put the
#     instance into fault state"); keepalived 2.2.7 logs "Deassigned
#     address 192.0.2.20" and stays Master, its adverts leaving from an
#     address it no longer has: expected difference.
. "$(dirname "$0")/lib.sh"
title "96 track_src_ip: the configured source's removal is a FAULT until it is back"
require_daemon
lab_up a b
VIP87=198.51.100.87
write_conf() { # NODE PRIO SRC PEER EXTRA
    cat >"$WORK/$1.conf" <<EOF
vrrp_instance VI_87 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 87
    priority $2
    version 3
    advert_int 0.1
    unicast_src_ip $3
    unicast_peer {
        $4
    }
    $5
    virtual_ipaddress {
        $VIP87/24
    }
}
EOF
}
write_conf a 150 192.0.2.20 192.0.2.21 track_src_ip
write_conf b 100 192.0.2.21 192.0.2.20 ""
start_daemon b "$WORK/b.conf"
start_daemon a "$WORK/a.conf"
check "A is Master" wait_for 3 eval 'has_vip a "$VIP87" && no_vip b "$VIP87"'
ip -n "$(ns a)" addr del 192.0.2.20/24 dev "$LAB_IF"
say "deleted A's source 192.0.2.20 (its only IPv4 address)"
if ! wait_for 2 eval 'no_vip a "$VIP87" && has_vip b "$VIP87"'; then
    # keepalived 2.2.7 logs "Deassigned address" and stays Master.
    xdiff "track_src_ip: the configured source's removal is a FAULT"
    stop_daemon a
    stop_daemon b
    finish
fi
say "ok: A gives the VIP up and B takes it"
check "A says FAULT" wait_for 1 grep -aq "Entering FAULT STATE" "$WORK/a.log"
ip -n "$(ns a)" addr add 192.0.2.20/24 dev "$LAB_IF"
say "added 192.0.2.20 back"
check "A preempts again" wait_for 3 eval 'has_vip a "$VIP87" && no_vip b "$VIP87"'

# Another address stays (promoted): the peer is still reachable.
ip netns exec "$(ns a)" sysctl -qw "net.ipv4.conf.$LAB_IF.promote_secondaries=1"
ip -n "$(ns a)" addr add 192.0.2.120/24 dev "$LAB_IF"
faults=$(grep -ac "Entering FAULT STATE" "$WORK/a.log" || true)
ip -n "$(ns a)" addr del 192.0.2.20/24 dev "$LAB_IF"
say "deleted 192.0.2.20 again, 192.0.2.120 stays"
if wait_for 2 eval 'no_vip a "$VIP87" && has_vip b "$VIP87"'; then
    say "ok: A gives the VIP up and B takes it"
    check "A says FAULT again" wait_for 1 eval '(( $(grep -ac "Entering FAULT STATE" "$WORK/a.log") > faults ))'
else
    xdiff "track_src_ip: the configured source's removal while another address remains is a FAULT"
fi
ip -n "$(ns a)" addr add 192.0.2.20/24 dev "$LAB_IF"
check "A is Master once 192.0.2.20 is back" wait_for 3 eval 'has_vip a "$VIP87" && no_vip b "$VIP87"'
stop_daemon a
stop_daemon b
finish
