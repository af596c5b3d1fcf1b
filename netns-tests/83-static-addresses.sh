#!/usr/bin/env bash
# 83. static_ipaddress (issue 15): added at start whatever the instance's
#     state (A is a Backup: B is Master), a tracked one deleted from
#     outside is added again ("Restoring deleted static address", keepalived
#     does the same), a no_track one is not; a reload that drops one removes
#     that one only; after a SIGKILL `vrrpd resign` leaves them (as the
#     static routes: they are the node's, not the Master's); a restart takes
#     them over and a clean stop removes them all (keepalived deletes its
#     static addresses at start and adds them again, and deletes them at
#     stop).
. "$(dirname "$0")/lib.sh"
title "83 static_ipaddress: at start, restored, one dropped by a reload, kept by resign, gone at stop"
require_daemon
lab_up a b
write_conf() {
    local n=$1 prio=$2 extra=$3
    cat >"$WORK/$n.conf" <<EOF
static_ipaddress {
    198.51.100.83/24 dev $LAB_IF
    2001:db8:83::1/64 dev $LAB_IF
    203.0.113.83 dev $LAB_IF no_track
    $extra
}
vrrp_instance VI_1 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 83
    priority $prio
    version 3
    advert_int 0.1
    virtual_ipaddress {
        $VIP/24
    }
}
EOF
}
statics() {
    ip -n "$(ns "$1")" -o addr show dev "$LAB_IF" |
        grep -oE '(198\.51\.100\.83/24|203\.0\.113\.84/24|203\.0\.113\.83/32|2001:db8:83::1/64)' | sort
}
has() { grep -qx "$2" <<<"$(statics "$1")"; }
count() { statics "$1" | wc -l; }
write_conf b 200 ""
start_daemon b "$WORK/b.conf"
wait_master b "$VIP" 5 || fail "B did not become Master"
write_conf a 100 "203.0.113.84/24 dev $LAB_IF"
start_daemon a "$WORK/a.conf"
check "A holds its 4 static addresses as a Backup" wait_for 3 eval '[[ $(count a) == 4 ]]'
check "A is Backup (no VIP)" eval '! has_vip a "$VIP"'
statics a | sed 's/^/    A: /'

ip -n "$(ns a)" addr del 198.51.100.83/24 dev "$LAB_IF"
say "deleted A's static 198.51.100.83/24 from outside"
check "it is added again" wait_for 3 has a 198.51.100.83/24
check "and said so" grep -aq "Restoring deleted static address 198.51.100.83" "$WORK/a.log"
ip -n "$(ns a)" addr del 203.0.113.83/32 dev "$LAB_IF"
check "the deleted no_track one stays deleted" hold_for 1 eval '! has a 203.0.113.83/32'
ip -n "$(ns a)" addr add 203.0.113.83/32 dev "$LAB_IF"

# Reload without 203.0.113.84: that one goes, the others are not touched.
bg ip -n "$(ns a)" -ts monitor address >"$WORK/addr-mon-a.txt" 2>&1
sleep 0.2
write_conf a 100 ""
cp "$WORK/a.conf" "${DCONF[a]}"
hup_daemon a
check "the reload removed 203.0.113.84/24" wait_for 3 eval '! has a 203.0.113.84/24'
sleep 0.3
check "and kept the 3 others" eval '[[ $(count a) == 3 ]]'
others=$(grep '^Deleted' "$WORK/addr-mon-a.txt" | grep -vc '203\.0\.113\.84/' || true)
check "nothing else was deleted by the reload (ip monitor)" test "$others" = 0

if ! is_keepalived; then
    kill_daemon a
    resign_daemon a || true
    check "after SIGKILL + resign the static addresses stay" eval '[[ $(count a) == 3 ]]'
    start_daemon a "$WORK/a.conf"
    sleep 1
    check "a restart keeps them" eval '[[ $(count a) == 3 ]]'
fi
stop_daemon a
check "a clean stop removed them all" eval '[[ $(count a) == 0 ]]'
check "B's are untouched" eval '[[ $(count b) == 3 ]]'
stop_daemon b
check "B's are gone after its stop" eval '[[ $(count b) == 0 ]]'
finish
