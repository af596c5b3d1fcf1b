#!/usr/bin/env bash
# 1. The seed configs on two nodes (VRRPv2, unicast, PASS auth, 1 s adverts):
#    A (priority 101) is Master and holds the VIP, the client is answered
#    by A, B (priority 100) holds no VIP.
. "$(dirname "$0")/lib.sh"
title "01 seed configs: A master, client answered by A, B holds no VIP"
require_daemon
seed_lab
client_start "http://$VIP/"
check "client answered by A" wait_for 3 client_says node-a
check "B holds no VIP" no_vip b "$VIP"
check "B stays without VIP for 2 adverts" hold_for 2 no_vip b "$VIP"
check "A still holds the VIP" has_vip a "$VIP"
check "A's log says MASTER" in_state a loadbalancer1 MASTER
check "B's log says BACKUP" in_state b loadbalancer2 BACKUP
n=$(tsh "vrrp && ip.src == 192.0.2.20 && ip.dst == 192.0.2.21 && vrrp.auth_string == \"password\"" frame.number | wc -l)
say "A sent $n unicast VRRPv2 adverts to B with auth \"password\" (auth_pass truncated to 8)"
((n >= 2)) || fail "expected at least 2 unicast adverts A -> B with auth \"password\", saw $n"
if ! is_keepalived; then
    # vrrpd status over the control socket next to each daemon's pid file.
    st_a=$("$(daemon_bin)" status --json --socket "$WORK/a/daemon.sock") || fail "vrrpd status on A failed"
    st_b=$("$(daemon_bin)" status --json --socket "$WORK/b/daemon.sock") || fail "vrrpd status on B failed"
    read -r a_state a_vips a_sent < <(jq -r '.instances[0] | "\(.state) \(.vips_held | join(",")) \(.adverts_sent)"' <<<"$st_a")
    read -r b_state b_master b_prio < <(jq -r '.instances[0] | "\(.state) \(.master.address) \(.master.priority)"' <<<"$st_b")
    say "status: A $a_state holding $a_vips ($a_sent adverts sent); B $b_state following $b_master at priority $b_prio"
    [[ $a_state == MASTER && $a_vips == "$VIP" && $a_sent -ge 2 ]] || fail "status of A: $a_state $a_vips $a_sent"
    [[ $b_state == BACKUP && $b_master == 192.0.2.20 && $b_prio == 101 ]] || fail "status of B: $b_state $b_master $b_prio"
    "$(daemon_bin)" status --socket "$WORK/a/daemon.sock" | sed 's/^/    /'
    # A malformed control request is answered with an error and changes nothing.
    reply=$(printf 'garbage\n' | ip netns exec "$(ns a)" timeout 5 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.recv(4096).decode().strip())' "$WORK/a/daemon.sock")
    say "malformed request -> $reply"
    [[ $reply == *malformed* ]] || fail "malformed control request not refused: $reply"
    check "A still MASTER after the malformed request" has_vip a "$VIP"
fi
finish
