#!/usr/bin/env bash
# 101. use_vmac on an address of another interface (issue 15): keepalived
#      2.2.7 and vrrpd in one cluster, VRRPv2 multicast on eth0 (VRID 51,
#      192.0.2.31 on eth0 itself, no instance VMAC), and 198.51.100.31 on
#      a second segment (eth1 on each node, bridge br1) with `dev eth1
#      use_vmac`: each node makes `vmx.51` (vmac_addr_prefix vmx), a private
#      macvlan on eth1 with MAC 00:00:5e:00:01:33, at start whatever its
#      state, and the Master's carries the address. Both directions:
#        1. vrrpd Master (A) / keepalived Backup (B); A stops: B takes over;
#        2. keepalived Master (A) / vrrpd Backup (B); A stops: B takes over.
#      Node C, on the second segment too (198.51.100.40), polls
#      http://198.51.100.31/ and records its neighbour table: the address's
#      entry is the virtual MAC before and after each failover and never
#      anything else; every gratuitous ARP for it on br1 leaves from that
#      MAC; each node's vmx.51 is gone after its stop. Without the feature
#      the address sits on eth1 with eth1's MAC and every check on the MAC
#      fails. Then vrrpd alone: a reload without the address's use_vmac
#      deletes vmx.51 (the address goes on eth1), one with it makes it
#      again; after a SIGKILL `vrrpd resign` deletes it, and a start
#      replaces a leftover. keepalived
#      nodes get net.ipv4.conf.all.arp_announce=2 first,
#      as in 68 (vrrpd sets it on the VMAC's base itself).
. "$(dirname "$0")/interop.sh"
title "101 use_vmac on an address of another interface: keepalived and vrrpd, both directions"
require_both
need jq
lab_up a b c
VIP_SEG2=198.51.100.31
VMAC=00:00:5e:00:01:33
AVMAC=vmx.51

# The second segment: bridge br1 in the bridge namespace, eth1 on A, B, C.
ip -n "$NS_BR" link add br1 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip -n "$NS_BR" link set br1 up
for n in a b c; do
    ip -n "$NS_BR" link add "q$n" type veth peer name eth1 netns "$(ns "$n")"
    ip -n "$(ns "$n")" link set eth1 up
    ip -n "$NS_BR" link set "q$n" master br1 up
done
ip -n "$(ns c)" addr add 198.51.100.40/24 dev eth1
bg ip netns exec "$NS_BR" tcpdump -i br1 -n -U --immediate-mode -s 256 -w "$WORK/br1.pcap" arp 2>"$WORK/tcpdump1.err"
BR1_PID=$BG_LAST
wait_for 5 grep -q listening "$WORK/tcpdump1.err" || fail "tcpdump on br1 did not start"

http_up a
http_up b
conf() { # NODE STATE PRIO
    cat >"$WORK/$1-va.conf" <<CONF
global_defs {
    vmac_addr_prefix vmx
}
vrrp_instance VI_VA {
    state $2
    interface $LAB_IF
    virtual_router_id 51
    priority $3
    advert_int 1
    virtual_ipaddress {
        192.0.2.31/24
        $VIP_SEG2/24 dev eth1 use_vmac
    }
}
CONF
    printf '%s' "$WORK/$1-va.conf"
}
has_avmac() { # NODE: vmx.51 is a macvlan on eth1 with the virtual MAC
    local j
    j=$(ip -n "$(ns "$1")" -j -d link show "$AVMAC" 2>/dev/null) || return 1
    [[ $(jq -r '.[0].address' <<<"$j") == "$VMAC" && $(jq -r '.[0].link' <<<"$j") == eth1 &&
        $(jq -r '.[0].linkinfo.info_kind' <<<"$j") == macvlan ]]
}
no_avmac() { ! ip -n "$(ns "$1")" link show "$AVMAC" >/dev/null 2>&1; }
vip_on() {
    local out
    out=$(ip -n "$(ns "$1")" -o addr show dev "$AVMAC" 2>/dev/null) || return 1
    [[ $out =~ inet\ $VIP_SEG2/ ]]
}
neigh_mac() { ip -n "$(ns c)" -j neigh show "$VIP_SEG2" | jq -r '.[0].lladdr // empty'; }
bg ip -n "$(ns c)" -ts monitor neigh >"$WORK/neigh-c.txt" 2>&1
CLIENT_DURATION=60 client_start "http://$VIP_SEG2/" 0.05

operator_tuning() { ip netns exec "$(ns "$1")" sysctl -qw net.ipv4.conf.all.arp_announce=2; }

# 1. vrrpd Master, keepalived Backup.
operator_tuning b
start_as vrrpd a "$(conf a MASTER 101)"
check "A (vrrpd) made $AVMAC on eth1 with $VMAC" wait_for 5 has_avmac a
check "A (vrrpd) holds $VIP_SEG2 on $AVMAC" wait_for 8 vip_on a
start_as keepalived b "$(conf b BACKUP 100)"
check "B (keepalived) made its own $AVMAC, same MAC" wait_for 5 has_avmac b
check "B is BACKUP" wait_for 5 in_state b VI_VA BACKUP
check "B does not hold $VIP_SEG2" hold_for 1 eval '! vip_on b'
vmac_failover a b "$VIP_SEG2" "$AVMAC"

# 2. keepalived Master (A), vrrpd Backup (B).
operator_tuning a
start_as keepalived a "$(conf a MASTER 101)"
check "A (keepalived) takes $VIP_SEG2 back (preempts)" wait_for 8 vip_on a
stop_node b
start_as vrrpd b "$(conf b BACKUP 100)"
check "B (vrrpd) is BACKUP with its $AVMAC" wait_for 5 eval 'in_state b VI_VA BACKUP && has_avmac b'
check "B does not hold $VIP_SEG2" hold_for 1 eval '! vip_on b'
vmac_failover a b "$VIP_SEG2" "$AVMAC"
client_stop
# The interop part ends here (the reload below moves the address to eth1).
sleep 0.2
cp "$WORK/neigh-c.txt" "$WORK/neigh-interop.txt"
cut=$(now)

# vrrpd alone now (B, Master). A reload without the address's use_vmac
# deletes vmx.51 and puts the address on eth1; one with it makes it again.
ifindex() { ip -n "$(ns b)" -j link show "$AVMAC" 2>/dev/null | jq -r '.[0].ifindex // empty'; }
on_eth1() { [[ $(ip -n "$(ns b)" -o addr show dev eth1) =~ inet\ $VIP_SEG2/ ]]; }
conf b BACKUP 100 >/dev/null
sed 's/ dev eth1 use_vmac/ dev eth1/' "$WORK/b-va.conf" >"${DCONF[b]}"
hup_daemon b
check "a reload without it deletes B's $AVMAC" wait_for 3 no_avmac b
check "and puts $VIP_SEG2 on eth1 itself" wait_for 3 on_eth1
cp "$WORK/b-va.conf" "${DCONF[b]}"
hup_daemon b
check "a reload with it makes $AVMAC again, holding $VIP_SEG2" wait_for 3 eval 'has_avmac b && vip_on b'
# Killed, vrrpd leaves vmx.51 (configured name, virtual MAC): `vrrpd
# resign` deletes it from the runtime record, and so does the next start.
kill_daemon b
check "after a SIGKILL B's $AVMAC is still there" has_avmac b
check "vrrpd resign deletes it" eval 'DAEMON=vrrpd resign_daemon b && no_avmac b'
start_as vrrpd b "$WORK/b-va.conf"
check "B's $AVMAC is back" wait_for 5 has_avmac b
old=$(ifindex)
kill_daemon b
start_as vrrpd b "$WORK/b-va.conf"
check "a start replaces the leftover $AVMAC" wait_for 5 eval 'has_avmac b && [[ $(ifindex) && $(ifindex) != '"$old"' ]]'
grep -aq "Removed VMAC interface $AVMAC left by an earlier run" "$WORK/b.log" && say "B: leftover $AVMAC removed at start"
stop_node b
check "B's (vrrpd) $AVMAC is gone after its stop" wait_for 2 no_avmac b
kill "$BR1_PID" 2>/dev/null || true
wait_for 5 not_running "$BR1_PID" || true

# Both interop directions: the client's entry never had another MAC, and
# gratuitous ARPs for the address only ever came from the VMAC.
others=$(grep -a "$VIP_SEG2 " "$WORK/neigh-interop.txt" | grep -ao 'lladdr [0-9a-f:]*' | awk '{print $2}' | sort -u | paste -sd, -)
say "MACs the client's neighbour table had for $VIP_SEG2: $others"
check "only the virtual MAC" eval "[[ '$others' == '$VMAC' ]]"
garp=$(tshark -r "$WORK/br1.pcap" -n -Y "frame.time_epoch < $cut && arp.opcode == 1 && arp.src.proto_ipv4 == $VIP_SEG2 && arp.dst.proto_ipv4 == $VIP_SEG2" \
    -T fields -e eth.src 2>/dev/null | sort -u | paste -sd, -)
say "source MACs of gratuitous ARPs for $VIP_SEG2 on br1: $garp"
check "gratuitous ARPs from $VMAC only" eval "[[ '$garp' == '$VMAC' ]]"
finish
