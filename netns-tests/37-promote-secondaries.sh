#!/usr/bin/env bash
# 37. promote_secondaries (issue 15, part 4): an instance with it sets
#     net.ipv4.conf.IF.promote_secondaries=1 on its interface (in A's
#     namespace; it was 0), so removing the primary address of a subnet
#     promotes the VIP (a secondary in that /24) instead of deleting it with
#     the primary. The subnet is not the one of A's VRRP source, which stays
#     (keepalived, like vrrpd, keeps advertising). A clean stop puts the
#     sysctl back to 0, as keepalived's shutdown does.
. "$(dirname "$0")/lib.sh"
title "37 promote_secondaries: sysctl set, VIP promoted when the primary goes, reset at stop"
require_daemon
lab_up a
sysctl_a() { ip netns exec "$(ns a)" cat "/proc/sys/net/ipv4/conf/$LAB_IF/promote_secondaries"; }
ip netns exec "$(ns a)" sh -c "echo 0 >/proc/sys/net/ipv4/conf/$LAB_IF/promote_secondaries"
PRIMARY=198.51.100.1
VIP2=198.51.100.30
ip -n "$(ns a)" addr add "$PRIMARY/24" dev "$LAB_IF"
before=$(sysctl_a)
say "A's $LAB_IF promote_secondaries before start: $before"
[[ $before == 0 ]] || fail "expected 0 before start, got $before"
cat >"$WORK/a.conf" <<CONF
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 53
    priority 255
    version 3
    advert_int 0.1
    promote_secondaries
    virtual_ipaddress {
        $VIP2/24
    }
}
CONF
start_daemon a "$WORK/a.conf"
check "A holds $VIP2" wait_master a "$VIP2" 5
check "promote_secondaries is 1 on A's $LAB_IF" wait_for 2 eval '[[ $(sysctl_a) == 1 ]]'
addrs=$(ip -n "$(ns a)" -4 -o addr show dev "$LAB_IF")
say "A's IPv4 addresses: $(awk '{print $4, ($0 ~ /secondary/ ? "secondary" : "primary")}' <<<"$addrs" | paste -sd, -)"
[[ $addrs =~ inet\ $VIP2/24.*secondary ]] || fail "$VIP2 is not a secondary of $PRIMARY/24: $addrs"
t=$(now)
ip -n "$(ns a)" addr del "$PRIMARY/24" dev "$LAB_IF"
say "removed the subnet's primary $PRIMARY/24"
check "$VIP2 survives" hold_for 1 has_vip a "$VIP2"
addrs=$(ip -n "$(ns a)" -4 -o addr show dev "$LAB_IF")
say "A's IPv4 addresses: $(awk '{print $4, ($0 ~ /secondary/ ? "secondary" : "primary")}' <<<"$addrs" | paste -sd, -)"
[[ $addrs =~ inet\ $VIP2/24 && ! $addrs =~ $VIP2/24[^$'\n']*secondary ]] || fail "$VIP2 was not promoted: $addrs"
deleted=$(vip_times a del "$VIP2" "$t" | wc -l)
say "ip monitor: $VIP2 deleted $deleted times after the primary was removed"
((deleted == 0)) || fail "$VIP2 was deleted with the primary"
check "A is still MASTER" in_state a VI_1 MASTER
stop_daemon a
after=$(sysctl_a)
say "promote_secondaries after a clean stop: $after"
[[ $after == 0 ]] || fail "expected 0 after stop (put back as keepalived does), got $after"
finish
