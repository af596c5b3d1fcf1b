#!/usr/bin/env bash
# 99. linkbeat_interfaces (issue 15): A alone, Master, with its interface
#     polled (ETHTOOL_GLINK and the interface flags, once a second) instead
#     of read from netlink. Taking the bridge side of A's veth down drops
#     A's carrier: "Linkbeat reports eth0 down" and FAULT within the poll
#     period; back up, "Linkbeat reports eth0 up" and Master again.
. "$(dirname "$0")/lib.sh"
title "99 linkbeat_interfaces: the link state polled"
require_daemon
lab_up a
cat >"$WORK/a.conf" <<EOF
linkbeat_interfaces {
    $LAB_IF
}
vrrp_instance VI_1 {
    interface $LAB_IF
    virtual_router_id 90
    priority 100
    advert_int 1
    virtual_ipaddress {
        $VIP/24
    }
}
EOF
start_daemon a "$WORK/a.conf"
check "A is Master" wait_for 5 has_vip a "$VIP"
t0=$(now)
ip -n "$NS_BR" link set pa down
check "no report before a change" eval '! grep -aq "Linkbeat reports" "$WORK/a.log"'
check "Linkbeat reports the carrier loss" wait_for 2 grep -aq "Linkbeat reports $LAB_IF down" "$WORK/a.log"
check "A is in FAULT" wait_for 1 grep -aq "Entering FAULT STATE" "$WORK/a.log"
say "FAULT $(ms "$(fcalc "$(now) - $t0")") after the carrier went (poll period 1 s)"
ip -n "$NS_BR" link set pa up
check "Linkbeat reports it back (a change only: the state at start is not a report)" wait_for 2 eval '[[ $(grep -ac "Linkbeat reports $LAB_IF up" "$WORK/a.log") == 1 ]]'
check "A is Master again" wait_for 5 has_vip a "$VIP"
stop_daemon a
finish
