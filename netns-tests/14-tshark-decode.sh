#!/usr/bin/env bash
# 11. Every VRRP packet the daemons emit during a failover and a
#     preemption (VRRPv2 unicast with PASS auth, VRRPv2 multicast, VRRPv3
#     IPv4, VRRPv3 IPv6, priority-0 adverts included) decodes in tshark as
#     VRRP with a good checksum.  tshark preference:
#     vrrp.v3_checksum_as_in_v2:FALSE (VRRPv3 IPv4 checksum includes the
#     pseudo-header, RFC 9568 / keepalived's default).
. "$(dirname "$0")/lib.sh"
title "14 tshark decodes every emitted VRRP packet with a good checksum"
require_daemon
FAST_VIP=192.0.2.32
fast_lab mixed.conf.in
check "A holds all four instances' VIPs" wait_for 5 eval 'has_vip a 192.0.2.30 && has_vip a 192.0.2.31 && has_vip a 2001:db8::66'
stop_daemon a
check "B takes over" wait_for 3 eval 'has_vip b 192.0.2.30 && has_vip b 192.0.2.31 && has_vip b 192.0.2.32 && has_vip b 2001:db8::66'
start_daemon a "$WORK/a.conf"
check "A preempts every instance" wait_for 6 eval 'has_vip a 192.0.2.30 && has_vip a 192.0.2.31 && has_vip a 192.0.2.32 && has_vip a 2001:db8::66'
# Count over a fixed window: the capture keeps growing while tshark runs,
# and the last packets before the cut need a moment to reach the file.
tcut=$(now)
sleep 0.5
ours="frame.time_epoch <= $tcut && (eth.src == ${NODE_MAC[a]} || eth.src == ${NODE_MAC[b]})"
total=$(tsh "$ours && (ip.proto == 112 || ipv6.nxt == 112)" frame.number | wc -l)
decoded=$(tsh "$ours && vrrp" frame.number | wc -l)
good=$(tsh "$ours && vrrp && vrrp.checksum.status == \"Good\"" frame.number | wc -l)
say "packets with IP protocol 112 from A/B: $total; decoded as VRRP: $decoded; checksum good: $good"
tsh "$ours && vrrp" vrrp.version ip.dst ipv6.dst vrrp.virt_rtr_id vrrp.prio vrrp.checksum.status \
    | sort | uniq -c | sort -rn | head -n 16 | sed 's/^/    count version dst vrid prio checksum: /'  || true
((total > 0)) || fail "no VRRP packets captured"
check "every protocol-112 packet decodes as VRRP" eval '((decoded == total))'
check "every VRRP checksum verifies" eval '((good == total))'
for v in "vrrp.version == 2 && ip.dst == 224.0.0.18" "vrrp.version == 2 && ip.dst == 192.0.2.21" \
    "vrrp.version == 3 && ip.dst == 224.0.0.18" "vrrp.version == 3 && ipv6.dst == ff02::12" "vrrp.prio == 0"; do
    n=$(tsh "$ours && vrrp && $v" frame.number | wc -l)
    check "seen: $v ($n packets)" eval '((n > 0))'
done
finish
