#!/usr/bin/env bash
# 70. Accept mode through nftables (issue 15, part 3). A (priority 101) and
#     B (100) with `nftables` and `no_accept`, an IPv4 instance (VIP
#     192.0.2.30) and an IPv6 one (fe80::30, 2001:db8::30):
#     - on the Master A, traffic to the VIPs is dropped: from C a ping and
#       a TCP connect to 192.0.2.30 and a ping to 2001:db8::30 get no
#       answer, while A's own address answers and VRRP goes on (B stays
#       BACKUP; ND for the IPv6 VIP still works);
#     - A's `nft -j list ruleset` is what keepalived 2.2.7 creates for the
#       same configuration (tables ip/ip6 keepalived, chains in/out/
#       in_link_local/out_link_local, sets vips/vips_link_local/
#       neighbor-discovery, the rules and their elements), compared with
#       tests/fixtures/nft-keepalived-2.2.7.txt (recorded by running this
#       scenario with DAEMON=keepalived NFT_RECORD=FILE), and so is the
#       kernel's bytecode of every rule (`nft --debug=netlink`, .bytecode);
#       B, a Backup that never was Master, has no table;
#     - vrrpd only: `vrrpd upgrade` on A leaves the ruleset untouched
#       (handles included);
#     - a clean stop of A deletes its tables; B, Master now, has them;
#     - A again with `accept` (preempting B): ping and TCP to the VIP work
#       and A creates no table;
#     - the settings (`nftables vrrp_fw`, `nftables_priority -7`,
#       `nftables_counters`, `dont_track_primary` for the name-keyed
#       link-local set): ruleset and bytecode again keepalived's
#       (nft-keepalived-2.2.7-settings.*).
. "$(dirname "$0")/lib.sh"
. "$NT_DIR/upgrade-lib.sh"
title "70 no_accept: VIP traffic dropped on the Master through keepalived's nftables layout"
require_daemon
need nft curl ping
if ! is_keepalived; then
    # For the `vrrpd upgrade` step (upgrade_require without its skip).
    need jq
    mkdir -p "$WORK/bin"
    cp "$(daemon_bin)" "$WORK/bin/vrrpd"
    cp "$(daemon_bin)" "$WORK/vrrpd-client"
    export VRRPD_BIN=$WORK/bin/vrrpd
fi
lab_up a b c
http_up a
FIXTURE=$REPO/tests/fixtures/nft-keepalived-2.2.7.txt

GLOBAL="nftables" V6_EXTRA=""
conf() { # conf NODE ACCEPT_KEYWORD (GLOBAL: global_defs, V6_EXTRA: VI_6's)
    local prio=101 state=MASTER
    [[ $1 == b ]] && prio=100 state=BACKUP
    cat >"$WORK/$1.conf" <<CONF
global_defs {
    $GLOBAL
}
vrrp_instance VI_4 {
    state $state
    interface $LAB_IF
    virtual_router_id 70
    priority $prio
    version 3
    advert_int 0.1
    $2
    virtual_ipaddress {
        $VIP/32
    }
}
vrrp_instance VI_6 {
    state $state
    interface $LAB_IF
    virtual_router_id 71
    priority $prio
    version 3
    advert_int 0.1
    $2
    $V6_EXTRA
    virtual_ipaddress {
        fe80::30
        2001:db8::30
    }
}
CONF
    printf '%s' "$WORK/$1.conf"
}
ruleset() { ip netns exec "$(ns "$1")" nft -j list ruleset; }
norm() { ruleset "$1" | "$PY" "$NT_DIR/tools/nftnorm.py" "${@:2}"; }
tables() { ip netns exec "$(ns "$1")" nft list tables; }
no_tables() { [[ -z $(tables "$1") ]]; }
ping4() { ip netns exec "$(ns c)" ping -c 1 -W 1 "$1" >/dev/null 2>&1; }
ping6() { ip netns exec "$(ns c)" ping -6 -c 1 -W 1 "$1" >/dev/null 2>&1; }
tcp_ok() { [[ $(ip netns exec "$(ns c)" curl -sg --max-time 1 "http://$1/" || true) == node-a ]]; }
vrrp_steady() { in_state a VI_4 MASTER && in_state b VI_4 BACKUP && in_state b VI_6 BACKUP; }

start_daemon a "$(conf a no_accept)"
check "A holds $VIP" wait_master a "$VIP" 5
check "A holds 2001:db8::30" wait_master a 2001:db8::30 5
start_daemon b "$(conf b no_accept)"
check "B is BACKUP" wait_for 3 eval 'in_state b VI_4 BACKUP && in_state b VI_6 BACKUP'
check "A's set vips holds $VIP" wait_for 3 eval "norm a | grep -q '\"$VIP\"'"
check "A answers on its own address" ping4 "${NODE_V4[a]}"
check "no ping answer from the VIP $VIP on the Master" eval '! ping4 $VIP'
check "no TCP connection to the VIP $VIP" eval '! tcp_ok $VIP'
check "TCP to A's own address works" tcp_ok "${NODE_V4[a]}"
check "no ping answer from 2001:db8::30" eval '! ping6 2001:db8::30'
nd=$(ip -n "$(ns c)" -6 neigh show 2001:db8::30 dev "$LAB_IF")
say "C's neighbour entry for 2001:db8::30 (ND not dropped): ${nd:-none}"
[[ $nd == *"${NODE_MAC[a]}"* ]] || fail "ND for 2001:db8::30 did not resolve to A"
check "VRRP goes on: A MASTER, B BACKUP for 2 s" hold_for 2 vrrp_steady
check "B (Backup, never Master) has no table" no_tables b
norm a >"$WORK/a.nft"
say "A's ruleset: $(grep -c '^rule' "$WORK/a.nft") rules, $(grep -c '^set' "$WORK/a.nft") sets, $(grep -c '^chain' "$WORK/a.nft") chains"
# The kernel's bytecode of each rule (nft --debug=netlink), without
# handles: the same rule text can come from different expressions (a
# dependency nft adds by itself, say); keepalived writes them by hand.
# One line per set or rule (its header and expressions), sorted.
# compare_with FIXTURE: A's ruleset (normalized) and bytecode against
# FIXTURE.txt / FIXTURE.bytecode, recorded from keepalived 2.2.7.
compare_with() {
    local f=$1
    norm a >"$WORK/a.nft"
    bytecode a >"$WORK/a.bytecode"
    if [[ ${NFT_RECORD:-} ]]; then
        local r=${NFT_RECORD%.txt}${f#"${FIXTURE%.txt}"}
        cp "$WORK/a.nft" "$r.txt"
        ruleset a >"$r.json"
        cp "$WORK/a.bytecode" "$r.bytecode"
        say "recorded $r.txt"
    fi
    if ! diff -u "$f.txt" "$WORK/a.nft" >"$WORK/nft.diff"; then
        sed 's/^/    /' "$WORK/nft.diff" | head -40
        fail "A's nftables ruleset differs from keepalived 2.2.7's ($f.txt)"
    fi
    say "ok: A's ruleset is keepalived 2.2.7's ($(wc -l <"$f.txt") objects)"
    if ! diff -u "$f.bytecode" "$WORK/a.bytecode" >"$WORK/bytecode.diff"; then
        sed 's/^/    /' "$WORK/bytecode.diff" | head -40
        fail "A's rules differ from keepalived 2.2.7's in the kernel's bytecode"
    fi
    say "ok: and so is the kernel's bytecode of its $(grep -c '^ip' "$WORK/a.bytecode") sets and rules"
}
bytecode() {
    ip netns exec "$(ns "$1")" nft --debug=netlink list ruleset 2>&1 \
        | grep -E '^(ip|ip6) |^  \[' | sed -E 's/( [0-9]+)+$//' \
        | awk '/^  \[/ { line = line " " $0; next } { if (line != "") print line; line = $0 } END { if (line != "") print line }' \
        | sed -E 's/ +/ /g; s/counter pkts [0-9]+ bytes [0-9]+/counter/g' | LC_ALL=C sort
}
# The interface index in vips_link_local is 2 in every fresh namespace
# here (lo is 1); the comparison includes it.
compare_with "${FIXTURE%.txt}"

if ! is_keepalived; then
    # vrrpd upgrade: the successor adopts the tables as they are (same
    # handles, same elements: nothing deleted or re-created).
    before=$(ruleset a)
    pid0=$(pid_of a)
    upgrade a
    [[ $UP_RC == 0 ]] || fail "vrrpd upgrade failed ($UP_RC): $UP_OUT"
    pid1=$(pid_of a)
    check "A's pid changed ($pid0 -> $pid1)" eval "[[ $pid1 != $pid0 ]] && kill -0 $pid1"
    check "the old process exited" wait_for 3 not_running "$pid0"
    adopt_pid a "$pid1"
    sleep 0.5
    [[ $(ruleset a) == "$before" ]] || fail "the upgrade touched A's nftables ruleset"
    say "ok: A's ruleset is untouched by the upgrade (handles included)"
    check "VRRP goes on after the upgrade" hold_for 1 vrrp_steady
    st=$(uctl a status)
    say "vrrpd status: $(grep nftables <<<"$st")"
    [[ $st == *"nftables table keepalived: 3 address(es) dropped of 3 wanted"* ]] \
        || fail "vrrpd status does not show the drop set: $st"
fi

stop_daemon a
check "A's tables are gone after a clean stop" no_tables a
check "B takes over" wait_master b "$VIP" 3
check "B (Master now) has its table with $VIP" wait_for 3 eval "norm b | grep -q '\"$VIP\"'"

start_daemon a "$(conf a accept)"
check "A (accept) preempts" wait_master a "$VIP" 5
check "ping to the VIP answered by A in accept mode" wait_for 3 ping4 "$VIP"
check "TCP to the VIP works in accept mode" wait_for 3 tcp_ok "$VIP"
check "ping to 2001:db8::30 answered" wait_for 3 ping6 2001:db8::30
check "A (accept) creates no table" no_tables a
check "B, Backup again, keeps its table with an empty set" wait_for 3 eval "norm b | grep -q '^set.*\"name\": \"vips\"' && ! norm b | grep -q '\"$VIP\"'"
stop_daemon b
check "B's tables are gone after a clean stop" no_tables b

# The settings: another table name and chain priority, counters, and
# link-local addresses keyed by interface name (dont_track_primary).
stop_daemon a
GLOBAL=$'nftables vrrp_fw\n    nftables_priority -7\n    nftables_counters' V6_EXTRA=dont_track_primary
start_daemon a "$(conf a no_accept)"
check "A holds 2001:db8::30" wait_master a 2001:db8::30 5
check "A's set vips_link_local_name holds fe80::30" wait_for 3 eval "norm a | grep '\"vips_link_local_name\"' | grep -q fe80::30"
compare_with "${FIXTURE%.txt}-settings"
stop_daemon a
check "A's tables are gone after a clean stop" no_tables a
finish
