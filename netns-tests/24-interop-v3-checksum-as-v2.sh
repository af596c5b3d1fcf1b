#!/usr/bin/env bash
# Interop: v3_checksum_as_v2 set on both sides (VRRPv3 IPv4 checksum without
# the pseudo-header), multicast and unicast, both directions at once (A
# vrrpd Master of VRIDs 52/53, B keepalived Master of 62/63).  keepalived
# 2.2.7 does not have the option (2.2.8+): then the scenario shows what a
# mixed cluster does (each side drops the other's adverts: dual master,
# both log why) and proves the option between two vrrpd instead.  Checks: the
# wire (every advert's checksum is right without the pseudo-header and wrong
# with it), steady 3 s, graceful handover each way within Skew_Time + 50 ms,
# and a negative control (keepalived restarted without the option drops
# vrrpd's adverts: dual master), which shows the option is in effect.
. "$(dirname "$0")/interop.sh"
title "24 interop: v3_checksum_as_v2 on both sides"
require_both
lab_up a b c
csum_conf() { # NODE CSUM
    local n=$1 rp=100 rs=BACKUP
    [[ $n == b ]] && rp=101 rs=MASTER
    conf_for "$n" interop/checksum.conf.in CSUM="$2" RPRIO=$rp RSTATE=$rs >/dev/null
    cp "$WORK/$n.conf" "$WORK/$n-${3:-csum}.conf"
    printf '%s' "$WORK/$n-${3:-csum}.conf"
}
SET1=(192.0.2.32 192.0.2.33) SET2=(192.0.2.42 192.0.2.43)
holds() { local n=$1 v; shift; for v in "$@"; do has_vip "$n" "$v" || return 1; done; }
lacks() { local n=$1 v; shift; for v in "$@"; do no_vip "$n" "$v" || return 1; done; }
normal() { holds a "${SET1[@]}" && lacks b "${SET1[@]}" && holds b "${SET2[@]}" && lacks a "${SET2[@]}"; }
skew=$(skew_time 3 100 0.1)
# The wire: count adverts per sender whose checksum tshark finds good, with
# and without the pseudo-header.
wire() { # AS_V2 SRC [AFTER]
    tshark -r "$WORK/br0.pcap" -n -o "vrrp.v3_checksum_as_in_v2:$1" -Y "vrrp.version == 3 && ip.src == $2 && frame.time_epoch >= ${3:-0}" \
        -T fields -e vrrp.checksum.status 2>/dev/null | sort | uniq -c | awk '{printf "%s:%s ", ($2 == 1 ? "good" : "bad"), $1}'
}

start_as vrrpd a "$(csum_conf a v3_checksum_as_v2)"
start_as keepalived b "$(csum_conf b v3_checksum_as_v2)"
PEER_B=keepalived
if grep -aq "Unknown keyword 'v3_checksum_as_v2'" "$WORK/b.log"; then
    # keepalived < 2.2.8 has no such option: it keeps the pseudo-header, so
    # each side drops the other's adverts and both become master.  Shown
    # here; the option itself is then proven between two vrrpd.
    say "keepalived $(keepalived -v 2>&1 | head -n 1 | awk '{print $2}') does not know v3_checksum_as_v2 (added in 2.2.8): '$(grep -ao "Unknown keyword 'v3_checksum_as_v2'" "$WORK/b.log" | head -n 1)'"
    check "as expected with keepalived 2.2.7: the two sides drop each other's adverts (dual master)" \
        wait_for 3 eval 'holds a "${SET1[@]}" "${SET2[@]}" && holds b "${SET1[@]}" "${SET2[@]}"'
    say "  keepalived logged $(grep -ac 'Invalid VRRPv3 checksum' "$WORK/b.log") 'Invalid VRRPv3 checksum'; vrrpd logged $(grep -ac 'dropped advert from 192.0.2.21: checksum' "$WORK/a.log") checksum drops"
    check "keepalived's own adverts still carry the pseudo-header" wait_for 3 eval '[[ $(wire FALSE 192.0.2.21) == good:* ]]'
    KDIFF="keepalived 2.2.7 has no v3_checksum_as_v2 (2.2.8+): set it only when every keepalived peer is >= 2.2.8"
    stop_node b
    PEER_B=vrrpd
    T_B=$(now)
    start_as vrrpd b "$WORK/b-csum.conf"
fi
say "the option on both sides: A vrrpd, B $PEER_B"
check "A master of 52/53, B master of 62/63" wait_for 3 normal
sleep 0.3
ta=$(transitions a) tb=$(transitions b)
# shellcheck disable=SC2016
check "steady 3 s, no transition" hold_for 3 eval 'normal && [[ $(transitions a) == "$ta" && $(transitions b) == "$tb" ]]'

for s in 192.0.2.20 192.0.2.21; do
    w2=$(wire TRUE $s "${T_B:-0}") w3=$(wire FALSE $s "${T_B:-0}")
    say "adverts from $s: as v2 (no pseudo-header) [$w2], RFC 9568 default [$w3]"
    [[ $w2 == good:* && $w2 != *bad* ]] || fail "$s: adverts not all correct without the pseudo-header"
    [[ $w3 == bad:* && $w3 != *good* ]] || fail "$s: adverts unexpectedly correct with the pseudo-header"
done

# Graceful handover vrrpd -> keepalived (set 1), then back by preemption.
t0=$(now)
stop_node a
check "$PEER_B B takes 52/53 from the stopped vrrpd" wait_for 2 holds b "${SET1[@]}"
pcap_refresh
for vrid in 52 53; do
    v=192.0.2.$((vrid - 20))
    tp=$(first_p0 192.0.2.20 $vrid "$t0") tv=$(vip_first b add "$v" "$t0")
    bounded "vrid $vrid" "vrrpd prio 0 -> VIP on $PEER_B" "${tp:+${tv:+$(fcalc "$tv - $tp")}}" "$(fcalc "$skew + 0.05")"
done
start_as vrrpd a "$WORK/a-csum.conf"
check "vrrpd A preempts 52/53 back" wait_for 3 normal
# Graceful handover keepalived -> vrrpd (set 2).
t0=$(now)
stop_node b
check "vrrpd A takes 62/63 from the stopped $PEER_B" wait_for 2 holds a "${SET2[@]}"
pcap_refresh
for vrid in 62 63; do
    v=192.0.2.$((vrid - 20))
    tp=$(first_p0 192.0.2.21 $vrid "$t0") tv=$(vip_first a add "$v" "$t0")
    bounded "vrid $vrid" "$PEER_B prio 0 -> VIP on vrrpd" "${tp:+${tv:+$(fcalc "$tv - $tp")}}" "$(fcalc "$skew + 0.05")"
done

# Negative control: keepalived without the option (done above when
# keepalived has no such option).
if [[ $PEER_B == keepalived ]]; then
t0=$(now)
start_as keepalived b "$(csum_conf b '# no v3_checksum_as_v2' plain)"
if wait_for 3 holds b "${SET1[@]}"; then
    d=$(fcalc "$(vip_first b add 192.0.2.32 "$t0") - $t0")
    say "ok: negative control: keepalived without v3_checksum_as_v2 drops vrrpd's adverts and becomes master of 52 too ($(ms "$d") after start): the option is in effect"
    grep -aiE 'checksum' "$WORK/b.log" | head -n 1 | sed 's/^/    keepalived: /' || true
else
    fail "negative control: keepalived without the option still accepted vrrpd's adverts"
fi
fi
verdict
[[ ${KDIFF:-} ]] && printf '  keepalived: expected difference: %s\n' "$KDIFF"
finish
