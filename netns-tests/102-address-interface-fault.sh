#!/usr/bin/env bash
# 102. An address on another interface tracks that interface (keepalived's
#      TRACK_ADDR, vrrp_complete_instance()): keepalived 2.2.7 and vrrpd in
#      one cluster, VRRPv3 0.1 s on eth0 (VRID 52), 192.0.2.32 on eth0 and
#      198.51.100.32 `dev eth1` on a second segment (bridge br1). Both
#      directions (vrrpd Master / keepalived Backup, then the reverse):
#        - the Master's eth1 down: it enters FAULT and the Backup takes both
#          addresses; eth1 up: the Master preempts them back;
#      then vrrpd with the address `no_track`: eth1 down changes nothing,
#      and eth1 deleted and made again gets the held address back; tracked,
#      a deleted eth1 is FAULT and its return brings the instance back.
#      vrrpd before TRACK_ADDR stayed Master with its eth1 down (the
#      address unreachable, the peer Backup): the first check fails.
. "$(dirname "$0")/interop.sh"
title "102 an address's interface down faults its instance: keepalived and vrrpd, both directions"
require_both
lab_up a b
VIP2=198.51.100.32

ip -n "$NS_BR" link add br1 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n "$NS_BR" link set br1 up
for n in a b; do
    ip -n "$NS_BR" link add "q$n" type veth peer name eth1 netns "$(ns "$n")"
    ip -n "$(ns "$n")" link set eth1 up
    ip -n "$NS_BR" link set "q$n" master br1 up
done
conf() { # NODE STATE PRIO [no_track]
    cat >"$WORK/$1-ta.conf" <<CONF
global_defs {
    vrrp_version 3
}
vrrp_instance VI_TA {
    state $2
    interface $LAB_IF
    virtual_router_id 52
    priority $3
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.32/24
        $VIP2/24 dev eth1 ${4:-}
    }
}
CONF
    printf '%s' "$WORK/$1-ta.conf"
}
on_eth1() { [[ $(ip -n "$(ns "$1")" -o addr show dev eth1) =~ inet\ $VIP2/ ]]; }
eth1() { ip -n "$(ns "$1")" link set eth1 "$2"; }

round() { # MASTER_DAEMON BACKUP_DAEMON
    start_as "$1" a "$(conf a MASTER 101)"
    check "A ($1) is Master with $VIP2 on eth1" wait_for 5 eval 'in_state a VI_TA MASTER && on_eth1 a'
    start_as "$2" b "$(conf b BACKUP 100)"
    check "B ($2) is Backup" wait_for 5 in_state b VI_TA BACKUP
    local t
    t=$(now)
    eth1 a down
    check "A ($1) enters FAULT with its eth1 down" wait_for 3 in_state a VI_TA FAULT
    check "B ($2) takes both addresses" wait_for 3 eval 'in_state b VI_TA MASTER && on_eth1 b && has_vip b 192.0.2.32'
    say "$1 Master's eth1 down -> $2 holds $VIP2: $(ms "$(fcalc "$(now) - $t")")"
    eth1 a up
    check "A ($1) preempts back once eth1 is up" wait_for 5 eval 'in_state a VI_TA MASTER && on_eth1 a'
    check "B ($2) is Backup again" wait_for 3 eval 'in_state b VI_TA BACKUP && ! on_eth1 b'
    stop_node b
    stop_node a
}

round vrrpd keepalived
round keepalived vrrpd

# no_track: the address's interface is not tracked.
start_as vrrpd a "$(conf a MASTER 101 no_track)"
check "A (vrrpd, no_track) is Master" wait_for 5 eval 'in_state a VI_TA MASTER && on_eth1 a'
start_as vrrpd b "$(conf b BACKUP 100 no_track)"
check "B is Backup" wait_for 5 in_state b VI_TA BACKUP
eth1 a down
check "with no_track A stays Master with eth1 down" hold_for 1 in_state a VI_TA MASTER
check "and B stays Backup" in_state b VI_TA BACKUP
# eth1 deleted and made again under its name: the held address follows it.
make_eth1() {
    ip -n "$NS_BR" link add "q$1" type veth peer name eth1 netns "$(ns "$1")"
    ip -n "$NS_BR" link set "q$1" master br1 up
    ip -n "$(ns "$1")" link set eth1 up
}
ip -n "$(ns a)" link del eth1
make_eth1 a
check "A (no_track) puts $VIP2 on the new eth1, still Master" wait_for 3 eval 'on_eth1 a && in_state a VI_TA MASTER'
stop_node b
stop_node a

# Tracked: deleted is FAULT, made again the instance takes it back.
start_as vrrpd a "$(conf a MASTER 101)"
check "A (vrrpd) is Master again" wait_for 5 eval 'in_state a VI_TA MASTER && on_eth1 a'
ip -n "$(ns a)" link del eth1
check "A enters FAULT when its eth1 is deleted" wait_for 3 in_state a VI_TA FAULT
make_eth1 a
check "eth1 made again: A is Master with $VIP2 on it" wait_for 5 eval 'in_state a VI_TA MASTER && on_eth1 a'
finish
