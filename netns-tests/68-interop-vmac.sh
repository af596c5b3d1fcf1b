#!/usr/bin/env bash
# 68. use_vmac interop (issue 15, part 1): keepalived 2.2.7 and vrrpd, both
#     with `use_vmac`, in one cluster (VRRPv2 multicast, VRID 51, VIP
#     192.0.2.31 on each node's vrrp.51), in both directions:
#       1. vrrpd Master (A) / keepalived Backup (B); A stops: B takes over;
#       2. keepalived Master (A) / vrrpd Backup (B); A stops: B takes over.
#     Node C polls http://VIP/ throughout and watches its neighbour table:
#     the VIP's entry is the virtual MAC 00:00:5e:00:01:33 before and after
#     each failover and is never anything else; every advert on the wire
#     leaves from 00:00:5e:00:01:33 (tcpdump -e on the bridge).
#     A keepalived node gets net.ipv4.conf.all.arp_announce=2 first, the
#     operator's part of keepalived's VMAC set-up (its software design
#     document): without it, its kernel asks for the client's MAC with the
#     VIP as sender from eth0's MAC, and the client's entry for the VIP
#     becomes eth0's MAC (seen here with keepalived 2.2.7: set
#     KEEPALIVED_ARP_ANNOUNCE=0 to watch it). vrrpd sets arp_announce=2 on
#     the VMAC's base itself.
. "$(dirname "$0")/interop.sh"
title "68 use_vmac interop: keepalived and vrrpd with VMACs, both directions"
require_both
need jq
lab_up a b c
VIP4=192.0.2.31
VMAC=00:00:5e:00:01:33
http_up a
http_up b
vmac_conf() { # NODE STATE PRIO
    cat >"$WORK/$1-vmac.conf" <<CONF
vrrp_instance VI_VMAC {
    state $2
    interface $LAB_IF
    virtual_router_id 51
    priority $3
    advert_int 1
    use_vmac
    virtual_ipaddress {
        $VIP4/24
    }
}
CONF
    printf '%s' "$WORK/$1-vmac.conf"
}
vip_on() {
    local out
    out=$(ip -n "$(ns "$1")" -o addr show dev vrrp.51 2>/dev/null) || return 1
    [[ $out =~ inet\ $VIP4/ ]]
}
neigh_mac() { ip -n "$(ns c)" -j neigh show "$VIP4" | jq -r '.[0].lladdr // empty'; }
bg ip -n "$(ns c)" -ts monitor neigh >"$WORK/neigh-c.txt" 2>&1
CLIENT_DURATION=120 client_start "http://$VIP4/" 0.05


# operator_tuning NODE: what keepalived's documentation asks of the host.
operator_tuning() {
    ip netns exec "$(ns "$1")" sysctl -qw "net.ipv4.conf.all.arp_announce=${KEEPALIVED_ARP_ANNOUNCE:-2}"
}

# 1. vrrpd Master, keepalived Backup.
operator_tuning b
start_as vrrpd a "$(vmac_conf a MASTER 101)"
check "A (vrrpd) holds $VIP4 on vrrp.51" wait_for 8 vip_on a
start_as keepalived b "$(vmac_conf b BACKUP 100)"
check "B (keepalived) made its own vrrp.51" wait_for 5 eval "ip -n $(ns b) link show vrrp.51 >/dev/null"
check "B is BACKUP" wait_for 5 in_state b VI_VMAC BACKUP
check "B does not hold $VIP4" hold_for 2 eval '! vip_on b'
vmac_failover a b "$VIP4" vrrp.51

# 2. keepalived Master (A), vrrpd Backup (B).
operator_tuning a
start_as keepalived a "$(vmac_conf a MASTER 101)"
check "A (keepalived) takes $VIP4 back (preempts)" wait_for 8 vip_on a
stop_node b
start_as vrrpd b "$(vmac_conf b BACKUP 100)"
check "B (vrrpd) is BACKUP with its vrrp.51" wait_for 5 eval 'in_state b VI_VMAC BACKUP && ip -n '"$(ns b)"' link show vrrp.51 >/dev/null'
check "B does not hold $VIP4" hold_for 2 eval '! vip_on b'
vmac_failover a b "$VIP4" vrrp.51
sleep 1
client_stop
stop_node b
capture_stop

# The whole run: the neighbour entry never had another MAC, adverts and
# gratuitous ARPs only ever came from the VMAC.
others=$(grep -a "^.*$VIP4 " "$WORK/neigh-c.txt" | grep -ao 'lladdr [0-9a-f:]*' | awk '{print $2}' | sort -u | paste -sd, -)
say "MACs the client's neighbour table had for $VIP4: $others"
check "only the virtual MAC" eval "[[ '$others' == '$VMAC' ]]"
srcs=$(tsh "vrrp" eth.src | sort -u | paste -sd, -)
say "source MACs of every advert on the wire: $srcs"
check "every advert left from $VMAC" eval "[[ '$srcs' == '$VMAC' ]]"
for n in a b; do
    cnt=$(tsh "vrrp && ip.src == ${NODE_V4[$n]}" frame.number | wc -l)
    check "$n sent adverts ($cnt)" eval "((cnt > 0))"
done
garp=$(tsh "arp.opcode == 1 && arp.src.proto_ipv4 == $VIP4 && arp.dst.proto_ipv4 == $VIP4" eth.src | sort -u | paste -sd, -)
say "source MACs of gratuitous ARPs for $VIP4: $garp"
check "gratuitous ARPs from $VMAC only" eval "[[ '$garp' == '$VMAC' ]]"
finish
