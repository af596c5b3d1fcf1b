#!/usr/bin/env bash
# 38. A unicast_src_ip that is not on the interface at start (keepalived
#     #1847; IP_FREEBIND / IPV6_FREEBIND on the unicast socket, as
#     keepalived >= 2.3.3): A (priority 100) starts with 192.0.2.22 as its
#     unicast source before that address exists; B (150) is Master and
#     sends its adverts to 192.0.2.22. A's daemon starts and runs; once the
#     address is added to A's interface, B's adverts reach A, A is Backup
#     following B and holds no VIP, and A's adverts (if any) carry .22.
. "$(dirname "$0")/lib.sh"
title "38 unicast_src_ip added after start: the socket is bound, adverts flow once it is there"
require_daemon
lab_up a b
LATE=192.0.2.22
conf() { # PRIO SRC PEER STATE
    cat <<CONF
vrrp_instance VI_1 {
    state $4
    interface $LAB_IF
    virtual_router_id 54
    priority $1
    version 3
    advert_int 0.1
    unicast_src_ip $2
    unicast_peer {
        $3
    }
    virtual_ipaddress {
        $VIP/24
    }
}
CONF
}
conf 150 "${NODE_V4[b]}" "$LATE" MASTER >"$WORK/b.conf"
conf 100 "$LATE" "${NODE_V4[b]}" BACKUP >"$WORK/a.conf"
start_daemon b "$WORK/b.conf"
check "B holds $VIP" wait_master b "$VIP" 5
start_daemon a "$WORK/a.conf"
check_or_xdiff "A's daemon runs with $LATE absent from its interface" hold_for 1 daemon_alive a
if ! daemon_alive a; then
    say "A's log: $(grep -aiE 'bind|address' "$WORK/a.log" | tail -n 2 | paste -sd'|' -)"
    finish
fi
say "before $LATE exists: A is $(state_of a VI_1) (B's adverts to $LATE cannot be delivered)"
t=$(now)
ip -n "$(ns a)" addr add "$LATE/24" dev "$LAB_IF"
say "added $LATE/24 to A's $LAB_IF"
check_or_xdiff "A is BACKUP following B (keepalived 2.2.7: FAULT, its socket was not bound)" wait_for 3 in_state a VI_1 BACKUP
check "A holds no VIP" wait_for 3 no_vip a "$VIP"
check "B still holds $VIP" has_vip b "$VIP"
sleep 1
n_ba=$(tsh "vrrp && ip.src == ${NODE_V4[b]} && ip.dst == $LATE && vrrp.prio == 150" frame.time_epoch | awk -v t="$t" '$1 > t' | wc -l)
say "B -> $LATE adverts on the bridge since the address was added: $n_ba"
((n_ba >= 5)) || fail "expected B's adverts to reach $LATE, saw $n_ba"
if ! is_keepalived; then
    st=$("$(daemon_bin)" status --json --socket "$WORK/a/daemon.sock") || fail "vrrpd status on A failed"
    read -r a_state a_master a_rx < <(jq -r '.instances[0] | "\(.state) \(.master.address) \(.adverts_received)"' <<<"$st")
    say "status: A $a_state following $a_master, $a_rx adverts received"
    [[ $a_state == BACKUP && $a_master == "${NODE_V4[b]}" && $a_rx -ge 5 ]] || fail "status of A: $a_state $a_master $a_rx"
fi
check_or_xdiff "A stays BACKUP" hold_for 1 in_state a VI_1 BACKUP
finish
