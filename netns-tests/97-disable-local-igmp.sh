#!/usr/bin/env bash
# 97. disable_local_igmp (issue 15): while the daemon runs, the node's
#     net.ipv4.igmp_link_local_mcast_reports is 0 (no IGMP reports for
#     224.0.0.0/24 groups, VRRP's among them); a clean stop puts it back.
. "$(dirname "$0")/lib.sh"
title "97 disable_local_igmp: igmp_link_local_mcast_reports off from start to stop"
require_daemon
lab_up a
cat >"$WORK/a.conf" <<EOF
global_defs {
    disable_local_igmp
}
vrrp_instance VI_1 {
    interface $LAB_IF
    virtual_router_id 88
    priority 100
    advert_int 1
    virtual_ipaddress {
        $VIP/24
    }
}
EOF
llm() { ip netns exec "$(ns a)" cat /proc/sys/net/ipv4/igmp_link_local_mcast_reports; }
check "on before start" test "$(llm)" = 1
start_daemon a "$WORK/a.conf"
check "off while the daemon runs" wait_for 2 eval '[[ $(llm) == 0 ]]'
stop_daemon a
check "on again after a clean stop" test "$(llm)" = 1
finish
