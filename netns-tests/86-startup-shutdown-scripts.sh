#!/usr/bin/env bash
# 86. startup_script / shutdown_script (keepalived main.c): A alone (owner,
#     VRRPv3 at 0.1 s). The startup script runs 1 s; the daemon waits for
#     it: no advert, no VIP before it ended. At SIGTERM the shutdown script
#     runs after the VIP is gone; it hangs, so it is killed at its 1 s
#     timeout and the daemon exits (within timeout + the 2 s kill grace).
. "$(dirname "$0")/lib.sh"
title "86 startup_script / shutdown_script: waited for, around the VRRP run"
require_daemon
lab_up a
hooks=$WORK/hooks.txt
: >"$hooks"
chmod 666 "$hooks"
cat >"$WORK/up.sh" <<SH
#!/bin/bash
echo "up \$EPOCHREALTIME" >>$hooks
sleep 1
echo "upend \$EPOCHREALTIME" >>$hooks
SH
cat >"$WORK/down.sh" <<SH
#!/bin/bash
echo "down \$EPOCHREALTIME \$(ip -o addr show dev $LAB_IF | grep -c ' $VIP/')" >>$hooks
sleep 30
echo "downend \$EPOCHREALTIME" >>$hooks
SH
chmod 755 "$WORK/up.sh" "$WORK/down.sh"
cat >"$WORK/a.conf" <<CONF
global_defs {
    startup_script "$WORK/up.sh" root
    shutdown_script "$WORK/down.sh" root
    shutdown_script_timeout 1
}
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 86
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
check "A holds $VIP" wait_for 5 has_vip a "$VIP"
up=$(awk '$1 == "up" {print $2}' "$hooks")
upend=$(awk '$1 == "upend" {print $2}' "$hooks")
[[ $up && $upend ]] || fail "the startup script did not run to its end: $(cat "$hooks")"
first=$(tsh "vrrp && ip.src == ${NODE_V4[a]}" frame.time_epoch | awk -v t="$t0" '$1 > t' | head -n 1)
t_vip=$(vip_first a add "$VIP" "$t0")
say "measured: start -> script start $(ms "$(fcalc "$up - $t0")"), script end -> first advert $(ms "$(fcalc "$first - $upend")"), -> VIP $(ms "$(fcalc "$t_vip - $upend")")"
check "no advert before the startup script ended" fle "$upend" "$first"
check "no VIP before the startup script ended" fle "$upend" "$t_vip"

t_stop=$(now)
kill -TERM "${DPID[a]}"
check "the shutdown script ran" wait_for 3 grep -q '^down ' "$hooks"
read -r _ down held < <(awk '$1 == "down"' "$hooks")
check "the VIP was gone when the shutdown script ran" test "$held" = 0
check "the daemon exits once the hanging script is killed (timeout 1 s + 2 s grace)" \
    wait_for 4.5 not_running "${DPID[a]}"
t_end=$(now)
reap_daemon a
say "measured: SIGTERM -> shutdown script $(ms "$(fcalc "$down - $t_stop")"), -> exit $(ms "$(fcalc "$t_end - $t_stop")")"
check "the daemon waited for the script's timeout" fle 1 "$(fcalc "$t_end - $t_stop")"
check "the hanging script was killed (never finished)" eval '! grep -q "^downend" "$hooks"'
finish
