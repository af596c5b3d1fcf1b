#!/usr/bin/env bash
# 71. vrrp_strict implies no_accept; the drop set follows mastership; nft
#     failures are reported and retried while VRRP goes on (issue 15,
#     part 3). A (priority 101) and B (100), `vrrp_strict`, no `nftables`
#     keyword (keepalived then uses table `keepalived` by itself):
#     - A Master: its set `vips` holds the VIP and C's ping to it goes
#       unanswered; B has no table;
#     - A stopped: B Master, its set holds the VIP, A's tables are gone;
#       A back (preempting): A's set holds it, B's set is empty;
#     - the table deleted by hand on A, then a reload adding a second VIP
#       (on both nodes):
#       the refused batch is logged and retried from scratch, A's set ends
#       with both VIPs (keepalived 2.2.7 logs an error and never restores
#       it: expected difference), B stays BACKUP throughout;
#     - vrrpd only: A restarted with no `nft` on its PATH: Master anyway
#       (VIP held, B BACKUP), the failure logged and retried; once `nft`
#       appears the set is made with the VIP; SIGKILLed, it leaves the
#       table, which `vrrpd resign` deletes.
. "$(dirname "$0")/lib.sh"
title "71 vrrp_strict: drop set follows failover; nft failures retried, adverts unaffected"
require_daemon
need nft ping
lab_up a b c
VIP2=192.0.2.31

conf() { # conf NODE [EXTRA_VIP]
    local prio=101
    [[ $1 == b ]] && prio=100
    cat >"$WORK/$1.conf" <<CONF
global_defs {
    vrrp_strict
}
vrrp_instance VI_1 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 72
    priority $prio
    version 3
    advert_int 0.1
    virtual_ipaddress {
        $VIP/32
        ${2:-}
    }
}
CONF
    printf '%s' "$WORK/$1.conf"
}
elements() { # elements NODE: the addresses in set ip keepalived vips
    ip netns exec "$(ns "$1")" nft -j list set ip keepalived vips 2>/dev/null \
        | "$PY" -c 'import json,sys; d=json.load(sys.stdin)["nftables"]; print(" ".join(sorted(str(e) for o in d if "set" in o for e in o["set"].get("elem", []))))' \
        2>/dev/null || true
}
set_is() { [[ $(elements "$1") == "$2" ]]; }
no_tables() { [[ -z $(ip netns exec "$(ns "$1")" nft list tables) ]]; }
ping4() { ip netns exec "$(ns c)" ping -c 1 -W 1 "$1" >/dev/null 2>&1; }
b_backup() { in_state b VI_1 BACKUP && has_vip a "$VIP"; }

start_daemon a "$(conf a)"
start_daemon b "$(conf b)"
check "A becomes Master" wait_master a "$VIP" 5
check "A's set vips holds $VIP (strict implies no_accept)" wait_for 3 set_is a "$VIP"
check "no ping answer from the VIP on the Master" eval '! ping4 $VIP'
check "A answers on its own address" ping4 "${NODE_V4[a]}"
check "B (Backup) has no table" no_tables b

stop_daemon a
check "B takes over" wait_master b "$VIP" 3
check "B's set holds $VIP" wait_for 3 set_is b "$VIP"
check "A's tables are gone" no_tables a
start_daemon a "$(conf a)"
check "A preempts" wait_master a "$VIP" 5
check "A's set holds $VIP" wait_for 3 set_is a "$VIP"
check "B's set is empty, its table kept" wait_for 3 eval 'set_is b "" && ! no_tables b'

b_transitions=$(transitions b)
ip netns exec "$(ns a)" nft delete table ip keepalived
say "deleted A's table ip keepalived by hand"
# Both nodes get the second VIP (keepalived 2.2.7 in strict mode drops
# adverts whose address list differs from its own).
conf a "$VIP2/32" >/dev/null
cp "$WORK/a.conf" "${DCONF[a]}"
conf b "$VIP2/32" >/dev/null
cp "$WORK/b.conf" "${DCONF[b]}"
hup_daemon a
hup_daemon b
check "A holds $VIP2 after the reload" wait_master a "$VIP2" 3
check_or_xdiff "A's set is rebuilt with both VIPs" wait_for 5 set_is a "$VIP $VIP2"
if ! is_keepalived; then
    check "the refused batch was logged" grep -q "nftables table keepalived: .*retrying" "$WORK/a.log"
    check "and its recovery" grep -q "nftables table keepalived: in place after" "$WORK/a.log"
fi
check "B stayed BACKUP, A Master" hold_for 1 b_backup
[[ $(transitions b) == "$b_transitions" ]] || fail "B changed state while A's nft batches failed"

if ! is_keepalived; then
    stop_daemon a
    check "B takes over again" wait_master b "$VIP" 3
    mkdir -p "$WORK/bin"
    VRRPD_WRAP=(env "PATH=$WORK/bin:/usr/bin:/bin")
    start_daemon a "$WORK/a.conf"
    unset VRRPD_WRAP
    check "A (no nft on its PATH) is Master anyway" wait_master a "$VIP" 5
    check "the nft failure is logged" wait_for 3 grep -q "nftables table keepalived: .*retrying" "$WORK/a.log"
    say "$(grep -a "nftables table keepalived:" "$WORK/a.log" | tail -n 1 | cut -c1-200)"
    b_transitions=$(transitions b)
    check "VRRP goes on: B BACKUP, A Master for 2 s" hold_for 2 b_backup
    [[ $(transitions b) == "$b_transitions" ]] || fail "B changed state while nft was missing"
    ln -s "$(command -v nft)" "$WORK/bin/nft"
    say "nft appears on A's PATH"
    check "A's set is made with both VIPs (retry, at most 30 s backoff)" wait_for 35 set_is a "$VIP $VIP2"
    kill_daemon a
    check "a SIGKILLed A leaves its table" eval '! no_tables a'
    resign_daemon a || fail "vrrpd resign failed"
    check "vrrpd resign (ExecStopPost) deletes it" no_tables a
fi
finish
