#!/usr/bin/env bash
# 30. Fast handover with keepalived 2.2.7 as the peer, both directions at
#     once (VRRPv3, 0.1 s adverts).  A runs vrrpd with `fast_handover` on
#     both instances, B runs keepalived:
#     - FX (VRID 70, 192.0.2.70): vrrpd A Master (101), keepalived B Backup
#       (100).  A's check (weight -10) fails: A advertises 91 at once;
#       keepalived, which has no fast handover, discards it and takes over
#       Master_Down_Interval after A's last 101 advert.
#     - FY (VRID 71, 192.0.2.71): keepalived B Master (101), vrrpd A
#       Backup (100).  B's check (weight -10) fails: keepalived advertises
#       91 at its next advert; vrrpd A, below which its Master now is,
#       takes over at once.
#     Then both checks recover: each instance goes back.  Every step must
#     end with each address on exactly one node and no further transition
#     for 2 s (no dual master, no flapping).  Prints the measured times.
. "$(dirname "$0")/interop.sh"
title "30 interop: fast handover, vrrpd (fast_handover) + keepalived 2.2.7, both directions"
require_both
lab_up a b c
FX=192.0.2.70 FY=192.0.2.71
for n in a b; do
    printf 'ok\n' >"$WORK/health-$n"
    printf '#!/bin/sh\n[ "$(cat %s)" = ok ]\n' "$WORK/health-$n" >"$WORK/chk-$n.sh"
    chmod 755 "$WORK/chk-$n.sh"
done
# fast_conf NODE: FX and FY; NODE's check tracks the instance it is Master of.
fast_conf() {
    local n=$1 fx_prio=101 fy_prio=100 fx_track="    track_script {
        chk
    }" fy_track="" extra="    fast_handover"
    if [[ $n == b ]]; then
        fx_prio=100 fy_prio=101 fy_track=$fx_track fx_track="" extra=""
    fi
    cat >"$WORK/$n.conf" <<CONF
vrrp_script chk {
    script "$WORK/chk-$n.sh"
    interval 1
    timeout 1
    weight -10
}
vrrp_instance FX {
    state BACKUP
    interface $LAB_IF
    version 3
    virtual_router_id 70
    priority $fx_prio
    advert_int 0.1
    virtual_ipaddress {
        $FX
    }
$fx_track
$extra
}
vrrp_instance FY {
    state BACKUP
    interface $LAB_IF
    version 3
    virtual_router_id 71
    priority $fy_prio
    advert_int 0.1
    virtual_ipaddress {
        $FY
    }
$fy_track
$extra
}
CONF
    printf '%s' "$WORK/$n.conf"
}
# only NODE ADDR: ADDR on NODE and not on the other node.
only() { has_vip "$1" "$2" && no_vip "$(other "$1")" "$2"; }
settled() { only a "$FX" && only b "$FY"; }
# quiet SECONDS: FX on A... as given, and no transition logged on either node.
quiet() {
    # shellcheck disable=SC2034 # fx, fy are used through eval
    local secs=$1 fx=$2 fy=$3 ta tb
    ta=$(transitions a) tb=$(transitions b)
    # shellcheck disable=SC2016
    hold_for "$secs" eval 'only "$fx" "$FX" && only "$fy" "$FY" &&
        [[ $(transitions a) == "$ta" && $(transitions b) == "$tb" ]]'
}
mdi=$(master_down 3 100 0.1)

start_as vrrpd a "$(fast_conf a)"
wait_for 3 eval 'has_vip a "$FX" && has_vip a "$FY"' || fail "vrrpd on A did not become master"
start_as keepalived b "$(fast_conf b)"
wait_for 4 settled || fail "keepalived on B did not take FY (priority 101) from A"
check "steady: FX on vrrpd A, FY on keepalived B, no transition for 2 s" quiet 2 a b

# --- FX: the vrrpd Master's check fails.
t=$(now)
printf 'fail\n' >"$WORK/health-a"
say "A's (vrrpd, FX Master) check fails"
check "FX moves to keepalived B" wait_for 3 only b "$FX"
check "FX: one holder, no transition for 2 s" quiet 2 b b
pcap_refresh
t91=$(adverts 192.0.2.20 70 "$t" | awk '$2 == 91 {print $1; exit}')
[[ $t91 ]] || fail "FX: no advert at priority 91 from A"
tprev=$(adverts 192.0.2.20 70 0 "$t91" | awk '$2 == 101 {p = $1} END {print p}')
# When vrrpd logged the drop (its log stamps are UTC, microseconds).
tchg=$(grep -a "(FX) Changing effective priority from 101 to 91" "$WORK/a.log" | tail -n 1 | awk '{print $1}')
tchg=$(date -u -d "$tchg" +%s.%N)
tv=$(vip_first b add "$FX" "$t")
td=$(vip_first a del "$FX" "$t")
fx_gap=$(fcalc "$t91 - $tchg")
fx_take=$(fcalc "$tv - $tprev")
fx_overlap=$(fcalc "$td - $tv")
say "measured FX: A's 91 advert $(ms "$fx_gap") after its priority dropped (fast handover; otherwise up to one interval later); last 101 advert -> VIP on keepalived B $(ms "$fx_take") (Master_Down_Interval $(ms "$mdi")); overlap (A del - B add) $(ms "$fx_overlap")"
check "FX: A advertised its lower priority at once (within 20 ms)" fle "$fx_gap" 0.02
check "FX: keepalived took over within Master_Down_Interval + 50 ms" fle "$fx_take" "$(fcalc "$mdi + 0.05")"
check "FX: A released within one advert interval of B adding" fle "$fx_overlap" 0.1

# --- FY: the keepalived Master's priority drops below the vrrpd Backup.
t=$(now)
printf 'fail\n' >"$WORK/health-b"
say "B's (keepalived, FY Master) check fails"
check "FY moves to vrrpd A" wait_for 3 only a "$FY"
check "FY: one holder, no transition for 2 s" quiet 2 b a
pcap_refresh
t91=$(adverts 192.0.2.21 71 "$t" | awk '$2 == 91 {print $1; exit}')
[[ $t91 ]] || fail "FY: no advert at priority 91 from keepalived B"
tv=$(vip_first a add "$FY" "$t")
td=$(vip_first b del "$FY" "$t")
fy_take=$(fcalc "$tv - $t91")
fy_overlap=$(fcalc "$td - $tv")
say "measured FY: keepalived's first 91 advert -> VIP on vrrpd A $(ms "$fy_take") (without fast handover: Master_Down_Interval $(ms "$mdi")); overlap (B del - A add) $(ms "$fy_overlap")"
check "FY: vrrpd took over within 50 ms of keepalived's lower advert" fle "$fy_take" 0.05
check "FY: keepalived released within one advert interval" fle "$fy_overlap" 0.1
check "A logged the fast handover" eval 'grep -aq "(FY) fast handover: master 192.0.2.21 now advertises priority 91" "$WORK/a.log"'

# --- Both checks recover: FX back to A (vrrpd preempts at once), FY back
#     to B (keepalived preempts after Master_Down_Interval).
t=$(now)
printf 'ok\n' >"$WORK/health-a"
printf 'ok\n' >"$WORK/health-b"
say "both checks recover"
check "FX back on A, FY back on B" wait_for 4 settled
check "settled: one holder each, no transition for 2 s" quiet 2 a b
say "measured: recovery -> FX on A $(ms "$(fcalc "$(vip_first a add "$FX" "$t") - $t")"), FY on B $(ms "$(fcalc "$(vip_first b add "$FY" "$t") - $t")") (both include the 1 s check interval)"
finish
