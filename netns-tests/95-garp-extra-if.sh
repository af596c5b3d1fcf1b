#!/usr/bin/env bash
# 95. garp_extra_if (issue 15): A, Master, holds a VIP on its VRRP
#     interface and one on a second interface (eth1, a veth whose peer stays in A). With
#     `garp_extra_if all 1` and no repeat burst beyond the first, eth1 sees
#     one gratuitous ARP for 198.51.100.86 about every second while A is
#     Master (keepalived's vrrp_send_vmac_update()), and the VRRP interface
#     none beyond the transition burst; after `garp_extra_if` is removed by
#     a reload, eth1 stays quiet.
. "$(dirname "$0")/lib.sh"
title "95 garp_extra_if: periodic gratuitous ARPs on the other interfaces"
require_daemon
lab_up a
ip -n "$(ns a)" link add eth1 type veth peer name eth1p
ip -n "$(ns a)" link set eth1p up
ip -n "$(ns a)" link set eth1 up
write_conf() {
    cat >"$WORK/a.conf" <<EOF
vrrp_instance VI_1 {
    interface $LAB_IF
    virtual_router_id 86
    priority 100
    version 3
    advert_int 0.1
    garp_master_delay 0
    $1
    virtual_ipaddress {
        $VIP/24
        198.51.100.86/24 dev eth1
    }
}
EOF
}
bg ip netns exec "$(ns a)" tcpdump -i eth1 -n -l --immediate-mode -tt arp >"$WORK/eth1-arp.txt" 2>/dev/null
bg ip netns exec "$(ns a)" tcpdump -i "$LAB_IF" -n -l --immediate-mode -tt arp >"$WORK/eth0-arp.txt" 2>/dev/null
sleep 0.5
write_conf "garp_extra_if all 1"
start_daemon a "$WORK/a.conf"
check "A is Master" wait_for 3 has_vip a "$VIP"
t0=$(now)
sleep 3.4
# Frames after the transition burst (which is over within 0.1 s).
late() { awk -v t="$(fcalc "$t0 + 0.3")" -v u="${2:-9e12}" '$1 >= t && $1 <= u' "$WORK/$1-arp.txt" | grep -c "198.51.100.86\|$VIP" || true; }
n1=$(late eth1) n0=$(late eth0)
say "gratuitous ARPs in the 3.1 s after the burst: eth1 $n1, $LAB_IF $n0"
awk -v t="$t0" '{printf "    %.3f %s\n", $1 - t, $0}' "$WORK/eth1-arp.txt" | cut -c1-100 | tail -n 6
check "eth1: one a second (3)" test "$n1" -ge 3 -a "$n1" -le 4
check "$LAB_IF: none (adverts refresh the switches there)" test "$n0" = 0
write_conf ""
cp "$WORK/a.conf" "${DCONF[a]}"
hup_daemon a
sleep 0.5
t1=$(now)
sleep 2.2
n=$(awk -v t="$t1" '$1 >= t' "$WORK/eth1-arp.txt" | grep -c "198.51.100.86" || true)
check "after a reload without it, eth1 is quiet" test "$n" = 0
stop_daemon a
finish
