#!/usr/bin/env bash
# 87. net_namespace NAME (keepalived namespaces.c): A's daemon is started
#     in an empty namespace X with `net_namespace <A's namespace>`; it must
#     run in A's (its process, its adverts from A's address, the VIP on A's
#     eth0), B (started as usual) hears it and stays Backup; a clean stop
#     removes the VIP from A and B takes over. Without the setns the daemon
#     would find no eth0 in X and hold nothing.
. "$(dirname "$0")/lib.sh"
title "87 net_namespace: the daemon runs in the named namespace"
require_daemon
lab_up a b
nsx=$(ns x)
ip netns add "$nsx"
NAMESPACES+=("$nsx")
ip -n "$nsx" link set lo up
conf() { # PRIORITY [TOP]
    cat <<CONF
${2:-}
vrrp_instance VI_1 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 87
    priority $1
    version 3
    advert_int 0.1
    virtual_ipaddress {
        $VIP
    }
}
CONF
}
conf 150 "net_namespace $(ns a)" >"$WORK/a.conf"
conf 100 >"$WORK/b.conf"
# Started by hand (not start_daemon): from X, not A's namespace.
d=$WORK/a
mkdir -p "$d"
bin=$(daemon_bin)
printf '=== %s start %s in %s\n' "$(date -u +%T.%N)" "$DAEMON" "$nsx" >>"$WORK/a.log"
case $DAEMON in
keepalived)
    ip netns exec "$nsx" "$bin" -f "$WORK/a.conf" -n -l -D -G -P -p "$d/daemon.pid" -r "$d/vrrp.pid" \
        >>"$WORK/a.log" 2>&1 &
    ;;
vrrpd)
    ip netns exec "$nsx" "$bin" -f "$WORK/a.conf" -n -l -D -p "$d/daemon.pid" >>"$WORK/a.log" 2>&1 &
    ;;
esac
DPID[a]=$!
DVPID[a]=${DPID[a]}
disown "${DPID[a]}"
check "A's daemon takes $VIP on A's $LAB_IF" wait_for 5 has_vip a "$VIP"
check "the daemon's process is in A's namespace" \
    eval '[[ $(ip netns identify "${DPID[a]}") == "$(ns a)" ]]'
start_daemon b "$WORK/b.conf"
check "B hears A and stays Backup" hold_for 1.5 no_vip b "$VIP"
n=$(tsh "vrrp && ip.src == ${NODE_V4[a]} && vrrp.prio == 150" frame.number | wc -l)
say "adverts from A's address at priority 150: $n"
check "A's adverts leave from A's address" test "$n" -gt 5
t=$(now)
stop_daemon a
check "a clean stop removes $VIP from A" no_vip a "$VIP"
check "B takes over" wait_for 2 has_vip b "$VIP"
say "measured: stop -> VIP on B $(ms "$(fcalc "$(vip_first b add "$VIP" "$t") - $t")")"
finish
