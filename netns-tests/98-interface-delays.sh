#!/usr/bin/env bash
# 98. interface_up_down_delays (issue 15): A alone, Master, with
#     `eth0 1` (down delay 1 s). A 0.3 s link flap (ip link set down/up)
#     is never seen: no FAULT, the VIP stays. A link down that lasts puts A
#     in FAULT about 1 s after it, not before.
. "$(dirname "$0")/lib.sh"
title "98 interface_up_down_delays: a short flap is not seen, a long one after its delay"
require_daemon
lab_up a
cat >"$WORK/a.conf" <<EOF
interface_up_down_delays {
    $LAB_IF 1
}
vrrp_instance VI_1 {
    interface $LAB_IF
    virtual_router_id 89
    priority 100
    advert_int 1
    virtual_ipaddress {
        $VIP/24
    }
}
EOF
faults() { grep -ac "Entering FAULT STATE" "$WORK/a.log" || true; }
start_daemon a "$WORK/a.conf"
check "A is Master" wait_for 5 has_vip a "$VIP"
ip -n "$(ns a)" link set "$LAB_IF" down
sleep 0.3
ip -n "$(ns a)" link set "$LAB_IF" up
say "flapped $LAB_IF for 0.3 s"
check "no FAULT for the flap" hold_for 1.5 eval '[[ $(faults) == 0 ]]'
check "A still holds the VIP" has_vip a "$VIP"
t0=$(now)
ip -n "$(ns a)" link set "$LAB_IF" down
check "not FAULT 0.8 s into a lasting down" hold_for 0.8 eval '[[ $(faults) == 0 ]]'
check "FAULT by 1.5 s" wait_for 0.7 eval '[[ $(faults) == 1 ]]'
say "FAULT $(ms "$(fcalc "$(now) - $t0")") after the link went down (delay 1 s)"
ip -n "$(ns a)" link set "$LAB_IF" up
stop_daemon a
finish
