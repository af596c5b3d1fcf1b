#!/usr/bin/env bash
# 66. virtual_routes and virtual_rules (issue 15, part 2): a pair with IPv4
#     and IPv6 routes (one via a gateway, one in table 100, a blackhole) and
#     rules (a lookup of table 100, an IPv6 rule, a blackhole rule). They are
#     in the Master's kernel only, move to B when A stops (gone from A), and
#     are gone from B when B stops too. With DAEMON=vrrpd, keepalived 2.2.7
#     then runs the same configuration on A: the kernel's routes and rules
#     and the JSON dump's `vroutes`/`vrules` must be the same as vrrpd's.
#     A tracked route deleted from outside is put back on the Master (vrrpd
#     stays Master; keepalived goes BACKUP and preempts back: expected
#     difference); a no_track one stays deleted. After a SIGKILL, `vrrpd
#     resign` removes what the runtime record says A held; `vrrpd upgrade`
#     hands them to the new process without touching the kernel.
#     (No `inet6` word: keepalived 2.2.7 skips the token after `inet` /
#     `inet6` in routes and rules; the family comes from the addresses.)
. "$(dirname "$0")/lib.sh"
title "66 virtual_routes/virtual_rules follow mastership (IPv4, IPv6, table, blackhole)"
require_daemon
lab_up a b
write_conf() {
    local n=$1 prio=$2
    cat >"$WORK/$n.conf" <<EOF
vrrp_instance VI_1 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 66
    priority $prio
    version 3
    advert_int 0.1
    virtual_ipaddress {
        $VIP/24
    }
    virtual_routes {
        198.51.100.0/25 via 192.0.2.1 dev $LAB_IF
        198.51.100.128/25 src $VIP dev $LAB_IF table 100
        blackhole 203.0.113.0/24
        2001:db8:66::/64 via 2001:db8::1 dev $LAB_IF metric 66
    }
    virtual_rules {
        from $VIP/32 table 100 priority 100
        to 2001:db8:66::/64 table 100 priority 101
        to 203.0.113.128/25 blackhole priority 102
    }
}
EOF
}
write_conf a 150
write_conf b 100
# What the kernel holds of ours on NODE, one line each, sorted: routes of
# protocol 18 (keepalived) in every table, and rules 100-102.
ours() {
    local s
    s=$(ns "$1")
    {
        ip -n "$s" -4 route show table all proto keepalived
        ip -n "$s" -6 route show table all proto keepalived
        ip -n "$s" -4 rule show | grep -E '^10[0-2]:' || true
        ip -n "$s" -6 rule show | grep -E '^10[0-2]:' || true
    } | sed 's/ *$//' | sort -u
}
# The entries a Master holds (4 routes, 3 rules).
holds_all() {
    local o
    o=$(ours "$1")
    grep -q '^198.51.100.0/25 via 192.0.2.1 dev' <<<"$o" &&
        grep -q "^198.51.100.128/25 dev $LAB_IF table 100 .*src $VIP" <<<"$o" &&
        grep -q '^blackhole 203.0.113.0/24' <<<"$o" &&
        grep -q '^2001:db8:66::/64 via 2001:db8::1 dev .* metric 66' <<<"$o" &&
        grep -q "^100:.*from $VIP lookup 100" <<<"$o" &&
        grep -q '^101:.*to 2001:db8:66::/64 lookup 100' <<<"$o" &&
        grep -q '^102:.*to 203.0.113.128/25 blackhole' <<<"$o"
}
holds_none() { [[ -z $(ours "$1") ]]; }
json_of() {
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]["data"]; print(json.dumps([d.get("vroutes"), d.get("vrules")]))' "$1"
}

start_daemon a "$WORK/a.conf"
check "A is Master with $VIP" wait_master a "$VIP" 5
check "A holds its 4 routes and 3 rules" wait_for 2 holds_all a
ours a | sed 's/^/    A: /'
check "the routes carry keepalived's protocol (18)" eval \
    '[[ $(ip -n "$(ns a)" route show 198.51.100.0/25) == *"proto keepalived"* ]]'
start_daemon b "$WORK/b.conf"
sleep 1
check "B (Backup) holds none" holds_none b
check "A routes from $VIP to 198.51.100.200 through table 100" eval \
    '[[ $(ip -n "$(ns a)" route get 198.51.100.200 from "$VIP") == *"table 100"* ]]'
ours a >"$WORK/kernel-$DAEMON.txt"
json_a=
if ! is_keepalived; then
    # The JSON dump lists them as keepalived's format_iproute/format_iprule.
    pid=${DPID[a]}
    kill -s "$(keepalived --signum=JSON 2>/dev/null || echo 36)" "$pid"
    wait_for 2 nsenter -t "$pid" -m test -s /tmp/keepalived.json || fail "no JSON dump"
    nsenter -t "$pid" -m cat /tmp/keepalived.json >"$WORK/vrrpd.json"
    json_a=$(json_of "$WORK/vrrpd.json")
    say "vrrpd's JSON: $json_a"
    n=$(ip netns exec "$(ns a)" "$(daemon_bin)" status --json --socket "$WORK/a/daemon.sock" |
        "$PY" -c 'import json,sys; i=json.load(sys.stdin)["instances"][0]; print(sum(1 for r in i.get("routes", []) if r["state"] == "installed"))')
    check "vrrpd status --json: 7 routes and rules installed" test "$n" = 7
fi
# Someone deletes a tracked route on the Master: vrrpd puts it back and
# stays Master; keepalived 2.2.7 puts A to BACKUP (set_vrrp_backup), B
# takes over, and A preempts back (expected difference). A deleted
# no_track route (the blackhole) stays deleted under both.
# shellcheck disable=SC2034 # used inside eval
ta=$(transitions a)
ip -n "$(ns a)" route del 198.51.100.0/25
say "deleted A's tracked route 198.51.100.0/25 from outside"
check "it is back on A" wait_for 3 holds_all a
sleep 0.5
check_or_xdiff "A stayed Master through it (no transition)" eval '[[ $(transitions a) == "$ta" ]]'
ip -n "$(ns a)" route del blackhole 203.0.113.0/24
check "the deleted no_track blackhole stays deleted" hold_for 1 eval \
    '[[ -z $(ip -n "$(ns a)" route show 203.0.113.0/24) ]]'
# Failover: A stops, B takes the VIP, its routes and rules; A keeps none.
t=$(now)
stop_daemon a
check "B is Master with $VIP" wait_master b "$VIP" 3
check "B holds the 4 routes and 3 rules" wait_for 2 holds_all b
say "measured: A stopped -> B holds everything within $(ms "$(fcalc "$(now) - $t")")"
check "A holds none after its stop" holds_none a
stop_daemon b
check "B holds none after its stop" holds_none b

if ! is_keepalived; then
    # A crash (SIGKILL) leaves them in the kernel; `vrrpd resign` (the
    # unit's ExecStopPost) removes what the runtime record says A held.
    start_daemon a "$WORK/a.conf"
    wait_master a "$VIP" 5 || fail "A did not become Master again"
    wait_for 2 holds_all a || fail "A did not install them again"
    wait_for 2 eval 'grep -q 198.51.100.0/25 "$(record_of a)"' || fail "the runtime record lists no route"
    kill_daemon a
    check "after SIGKILL A's kernel still holds them" holds_all a
    resign_daemon a
    check "vrrpd resign removed them (from the runtime record)" holds_none a
    # `vrrpd upgrade` hands them over: the new process adopts them, none is
    # deleted or added again (`ip monitor route` stays silent), and a stop
    # of the new process removes them.
    . "$NT_DIR/upgrade-lib.sh"
    upgrade_require
    start_daemon a "$WORK/a.conf"
    wait_master a "$VIP" 5 || fail "A did not become Master for the upgrade"
    wait_for 2 holds_all a || fail "A did not install them for the upgrade"
    bg ip -n "$(ns a)" monitor route >"$WORK/route-mon-upgrade.txt" 2>&1
    sleep 0.3
    pid0=$(pid_of a)
    replace_bin "$REAL_BIN"
    upgrade a
    [[ $UP_RC == 0 ]] || fail "vrrpd upgrade failed ($UP_RC): $UP_OUT"
    pid1=$(pid_of a)
    check "A's pid changed ($pid0 -> $pid1)" eval "[[ $pid1 != $pid0 ]] && kill -0 $pid1"
    adopt_pid a "$pid1"
    sleep 0.5
    check "after the upgrade A holds them all" holds_all a
    check "the upgrade deleted and added no route" eval '[[ ! -s "$WORK/route-mon-upgrade.txt" ]]'
    n=$(uctl a status --json | "$PY" -c 'import json,sys; i=json.load(sys.stdin)["instances"][0]; print(sum(1 for r in i.get("routes", []) if r["state"] == "installed"))')
    check "the new process lists the 7 as installed" test "$n" = 7
    stop_daemon a
    check "its stop removed them" holds_none a
fi
if ! is_keepalived && command -v keepalived >/dev/null; then
    # keepalived 2.2.7 on A with the same file: the reference.
    DAEMON=keepalived start_daemon a "$WORK/a.conf"
    kpid=${DVPID[a]}
    wait_master a "$VIP" 5 || fail "keepalived's VI_1 did not become master"
    wait_for 2 holds_all a || fail "keepalived did not install them all"
    ours a >"$WORK/kernel-keepalived.txt"
    kill -s "$(keepalived --signum=JSON)" "$kpid"
    wait_for 2 nsenter -t "$kpid" -m test -s /tmp/keepalived.json || fail "keepalived wrote no JSON"
    nsenter -t "$kpid" -m cat /tmp/keepalived.json >"$WORK/ka.json"
    DAEMON=keepalived stop_daemon a
    json_k=$(json_of "$WORK/ka.json")
    say "keepalived's JSON: $json_k"
    check "the JSON dump's vroutes/vrules are keepalived's" test "$json_a" = "$json_k"
    if ! diff -u "$WORK/kernel-keepalived.txt" "$WORK/kernel-vrrpd.txt" | sed 's/^/    /'; then
        fail "the kernel holds different routes or rules under vrrpd and keepalived"
    fi
    say "ok: the kernel holds the same routes and rules under both ($(wc -l <"$WORK/kernel-vrrpd.txt") lines)"
    check "keepalived removed them at stop too" holds_none a
fi
finish
