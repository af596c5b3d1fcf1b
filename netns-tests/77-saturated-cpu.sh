#!/usr/bin/env bash
# 77. VRRPv3 at 0.02 s (Master_Down_Interval 62 ms on B) while one busy
#     loop per CPU runs in A's namespace, started from this script as the
#     daemon was (one session, one autogroup: the case autogroup does not
#     protect). No false failover: B never leaves BACKUP and sends nothing;
#     A's longest advert gap stays below B's Master_Down_Interval (issue
#     16; the figures against keepalived are the bench's "saturate"
#     section).
. "$(dirname "$0")/lib.sh"
title "77 both CPUs saturated, VRRPv3 0.02 s: no false failover"
require_daemon
WINDOW=${WINDOW:-15}
lab_up a b
conf() {
    printf 'global_defs {\n    vrrp_version 3\n}\nvrrp_instance VI_1 {\n    state BACKUP\n    interface %s\n    virtual_router_id 53\n    priority %d\n    advert_int 0.02\n    virtual_ipaddress {\n        %s\n    }\n}\n' "$LAB_IF" "$1" "$VIP"
}
conf 101 >"$WORK/a-sat.conf"
conf 100 >"$WORK/b-sat.conf"
start_daemon a "$WORK/a-sat.conf"
check "A becomes Master" wait_master a "$VIP" 3
start_daemon b "$WORK/b-sat.conf"
check "B settles as Backup" wait_for 3 in_state b VI_1 BACKUP
sleep 0.5
tb=$(transitions b)
hogs=()
stop_hogs() { kill "${hogs[@]}" 2>/dev/null || true; }
at_exit stop_hogs
for ((c = 0; c < $(nproc); c++)); do
    ip netns exec "$(ns a)" bash -c 'while :; do :; done' &
    hogs+=($!)
done
t0=$(now)
sleep "$WINDOW"
t1=$(now)
stop_hogs
sleep 0.5
js=$("$PY" "$NT_DIR/tools/pcapstat.py" "$WORK/br0.pcap" --from "$t0" --to "$t1" --interval 0.02 --vrids 53)
max_gap=$(jq -r '.lateness.max_gap_ms' <<<"$js")
p99=$(jq -r '.lateness.p99' <<<"$js")
b_adverts=$(jq -r '.nodes.b.adverts' <<<"$js")
say "measured: ${WINDOW} s saturated: A's advert lateness p99 $p99 ms, longest gap $max_gap ms; B sent $b_adverts adverts"
check "B never left BACKUP" eval '(($(transitions b) == tb))'
check "B sent no advert" eval '((b_adverts == 0))'
check "A's longest gap below Master_Down_Interval (62 ms)" fle "$max_gap" 62
check "A still holds the VIP" has_vip a "$VIP"
finish
