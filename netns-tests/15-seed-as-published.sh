#!/usr/bin/env bash
# The seed exactly as published: loadbalancer2.conf still names
# 10.0.0.20 (-> 192.0.2.20, node A's address) as its own unicast_src_ip
# and 10.0.0.21 (-> 192.0.2.21, its own address) as its peer.  vrrpd must
# warn at start that unicast_src_ip is not an address of the interface.
# What each daemon then does is reported.
. "$(dirname "$0")/lib.sh"
title "15 the seed as published (unflipped unicast addresses on B)"
require_daemon
seed_lab published
sleep 4
warn=$(grep -aE 'unicast_src_ip|192\.0\.2\.20' "$WORK/b.log" | grep -aiE 'warn|fail|error|not ' || true)
if [[ $warn ]]; then printf '%s\n' "$warn" | head -n 4 | sed 's/^/    B log: /' || true; fi
if is_keepalived; then
    check "keepalived reports the bad source address somehow" eval '[[ -n $warn ]]'
    xdiff "no configuration warning about unicast_src_ip 192.0.2.20; the socket bind fails (EADDRNOTAVAIL) at run time"
else
    check "B warns that unicast_src_ip 192.0.2.20 is not an address of $LAB_IF" \
        eval 'grep -aiq warn <<<"$warn"'
fi
say "after 4 s: A $(state_of a loadbalancer1) $(has_vip a "$VIP" && echo "holds $VIP" || echo "no VIP"), B $(state_of b loadbalancer2) $(has_vip b "$VIP" && echo "holds $VIP" || echo "no VIP")"
n=$(tsh "vrrp && eth.src == ${NODE_MAC[b]}" frame.number | wc -l)
say "adverts sent by B on the wire: $n $(tsh "vrrp && eth.src == ${NODE_MAC[b]}" ip.src ip.dst | sort -u | head -n 1)"
if has_vip a "$VIP" && has_vip b "$VIP"; then
    say "both nodes hold $VIP: the published seed gives a split brain"
fi
finish
