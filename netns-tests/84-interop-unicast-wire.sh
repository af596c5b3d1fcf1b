#!/usr/bin/env bash
# 84. Interop, unicast VRRPv3 IPv4 on the wire (issue 15): A vrrpd with
#     `unicast_ttl 64` and `old_unicast_checksum` (keepalived 1.3.6's sum:
#     the multicast group in the pseudo-header), B keepalived 2.2.7 with
#     neither. On the wire every advert of A has TTL 64 and a checksum
#     that is wrong for its real destination; keepalived switches to the
#     old sum by itself ("Setting unicast VRRPv3 checksum to old version")
#     and stays Backup. Then keepalived with `old_unicast_checksum` is
#     Master and a vrrpd with neither option switches the same way on its
#     adverts, stays Backup, and after B's stop sends the old sum itself.
. "$(dirname "$0")/interop.sh"
title "84 interop: unicast_ttl and old_unicast_checksum against keepalived"
require_both
lab_up a b
VIP84=192.0.2.84
write_conf() { # NODE PRIO EXTRA...
    local n=$1 prio=$2 me peer
    shift 2
    me=${NODE_V4[$n]} peer=${NODE_V4[$(other "$n")]}
    cat >"$WORK/$n.conf" <<EOF
vrrp_instance VI_84 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 84
    priority $prio
    version 3
    advert_int 0.1
    unicast_src_ip $me
    unicast_peer {
        $peer
    }
$(printf '    %s\n' "$@")
    virtual_ipaddress {
        $VIP84/24
    }
}
EOF
    printf '%s' "$WORK/$n.conf"
}
# tshark over A's or B's adverts since AFTER: "ttl checksum-status" counts.
wire() { # SRC AFTER
    tshark -r "$WORK/br0.pcap" -n -o vrrp.v3_checksum_as_in_v2:FALSE \
        -Y "vrrp.version == 3 && ip.src == $1 && frame.time_epoch >= $2" \
        -T fields -e ip.ttl -e vrrp.checksum.status 2>/dev/null |
        awk '{print "ttl=" $1, ($2 == 1 ? "good" : "bad")}' | sort | uniq -c | tr -s ' ' | sed 's/^ //' | paste -sd, -
}
start_as vrrpd a "$(write_conf a 150 'unicast_ttl 64' 'old_unicast_checksum')"
start_as keepalived b "$(write_conf b 100)"
check "vrrpd A is Master" wait_for 3 has_vip a "$VIP84"
check "keepalived B switched to the old sum" wait_for 3 grep -aq "Setting unicast VRRPv3 checksum to old version" "$WORK/b.log"
check "and stays Backup (A's adverts accepted)" hold_for 1 no_vip b "$VIP84"
pcap_refresh
w=$(wire 192.0.2.20 0)
say "A's adverts: $w"
check "every one has TTL 64 and the old (group) sum" eval '[[ $w =~ ^[0-9]+\ ttl=64\ bad$ ]]'

t0=$(now)
stop_node a
check "keepalived B takes over" wait_for 2 has_vip b "$VIP84"
sleep 0.5
pcap_refresh
# Not checked, said: keepalived 2.2.7's switch updates the checksum before
# it records the new mode (vrrp_csum_mcast() runs while the mode is still
# "none"), so its own adverts keep the sum it built for the real peer.
say "keepalived B's adverts as Master after its switch: $(wire 192.0.2.21 "$t0")"
stop_node b

# keepalived told `old_unicast_checksum`: it sums the old way from the
# start; a vrrpd with neither option switches on its adverts.
start_as keepalived b "$(write_conf b 200 'old_unicast_checksum')"
check "keepalived B is Master" wait_for 3 has_vip b "$VIP84"
t0=$(now)
start_as vrrpd a "$(write_conf a 150)"
check "vrrpd A switches to the old sum on B's adverts" wait_for 3 grep -aq "(VI_84) Setting unicast VRRPv3 checksum to old version" "$WORK/a.log"
check "and stays Backup (B's adverts accepted)" hold_for 1 eval 'no_vip a "$VIP84" && has_vip b "$VIP84"'
pcap_refresh
w=$(wire 192.0.2.21 "$t0")
say "B's adverts: $w"
check "B's are the old sum, TTL 255" eval '[[ $w =~ ^[0-9]+\ ttl=255\ bad$ ]]'
stop_node b
check "A takes over when B stops" wait_for 2 has_vip a "$VIP84"
sleep 0.5
pcap_refresh
w=$(wire 192.0.2.20 "$(fcalc "$(now) - 0.4")")
say "A's adverts as Master: $w"
check "A sends the old sum it switched to" eval '[[ $w =~ ^[0-9]+\ ttl=255\ bad$ ]]'
stop_node a
finish
