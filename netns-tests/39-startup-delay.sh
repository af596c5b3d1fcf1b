#!/usr/bin/env bash
# 39. vrrp_startup_delay: A alone (priority 255, VRRPv3 at 0.1 s) with a
#     1.5 s startup delay sends no advert and adds no VIP for 1.5 s after
#     start, then takes the VIP at once (an owner). Meanwhile the daemon
#     answers `vrrpd status` (the delay is a deadline, not a sleep).
. "$(dirname "$0")/lib.sh"
title "39 vrrp_startup_delay: nothing before the delay, Master right after"
require_daemon
lab_up a
cat >"$WORK/a.conf" <<CONF
global_defs {
    vrrp_startup_delay 1.5
}
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 55
    priority 255
    version 3
    advert_int 0.1
    virtual_ipaddress {
        $VIP
    }
}
CONF
t0=$(now)
start_daemon a "$WORK/a.conf"
if ! is_keepalived; then
    sleep 0.5
    st=$("$(daemon_bin)" status --json --socket "$WORK/a/daemon.sock") || fail "vrrpd status during the delay failed"
    say "status during the delay: $(jq -r '.instances[0].state' <<<"$st")"
fi
check "A holds $VIP" wait_for 4 has_vip a "$VIP"
t_vip=$(vip_first a add "$VIP" "$t0")
first=$(tsh "vrrp && ip.src == ${NODE_V4[a]}" frame.time_epoch | awk -v t="$t0" '$1 > t' | head -n 1)
say "measured: start -> first advert $(ms "$(fcalc "$first - $t0")"), start -> VIP $(ms "$(fcalc "$t_vip - $t0")")"
check "no advert within the 1.5 s delay" fle 1.5 "$(fcalc "$first - $t0")"
check "no VIP within the 1.5 s delay" fle 1.5 "$(fcalc "$t_vip - $t0")"
check "first advert within 0.5 s after the delay" fle "$(fcalc "$first - $t0")" 2.0
finish
