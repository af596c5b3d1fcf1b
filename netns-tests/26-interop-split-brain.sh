#!/usr/bin/env bash
# Interop: split brain and heal, seed configs (VRRPv2 unicast, 1 s), for
# four pairs: vrrpd+vrrpd, keepalived+keepalived, keepalived A + vrrpd B,
# vrrpd A + keepalived B.  B's bridge port is blocked (carrier stays up) so
# both become master, then unblocked just before A's next advert, so A's
# advert is the first to cross (the case of keepalived issue #166).
# Afterwards: exactly one master (A, priority 101), and A re-announces
# (gratuitous ARP from A's MAC after the heal).
#  - vrrpd+vrrpd: hard check.  B yields with one advert at its priority
#    (vrrpd's step-down advert), A answers it with GARPs.
#  - keepalived A + vrrpd B: hard check (vrrpd's step-down advert makes the
#    keepalived survivor re-announce).
#  - keepalived+keepalived: the survivor stays silent: printed as keepalived's
#    expected difference (#166), not a failure.
#  - vrrpd A + keepalived B: keepalived yields silently, so A cannot know
#    there was a second master: printed (a limitation a keepalived peer brings).
. "$(dirname "$0")/interop.sh"
title "26 interop: split brain and heal (seed configs), GARP from the survivor"
require_both
lab_up a b c
seed_config 1 >"$WORK/lb1.conf"
seed_config 2 >"$WORK/lb2.conf"
# A's adverts as text, to time the heal.
bg ip netns exec "$NS_BR" tcpdump -i br0 -n -l --immediate-mode -tt 'ip proto 112 and src host 192.0.2.20' >"$WORK/adv-a.txt" 2>/dev/null
KDIFF=()
# pair DA DB HARD
pair() {
    local da=$1 db=$2 hard=$3 t n0 tl th g m ma mb d sd
    say "---- A $da (101) + B $db (100)"
    start_as "$da" a "$WORK/lb1.conf"
    wait_master a "$VIP" 6 || fail "A did not become master"
    start_as "$db" b "$WORK/lb2.conf"
    sleep 1.2
    no_vip b "$VIP" || fail "B holds $VIP before the cut"
    partition b
    wait_master b "$VIP" 6 || { heal b; fail "cut off, B did not become master"; }
    has_vip a "$VIP" || fail "A lost $VIP during the cut"
    say "B cut off (port pb blocked): both masters"
    # Heal 80 ms before A's next advert.
    n0=$(wc -l <"$WORK/adv-a.txt")
    wait_for 2 eval '(( $(wc -l <"$WORK/adv-a.txt") > n0 ))' || fail "no advert from A seen"
    tl=$(tail -n 1 "$WORK/adv-a.txt" | awk '{print $1}')
    d=$(fcalc "$tl + 0.92 - $EPOCHREALTIME")
    fle 0 "$d" && sleep "$d"
    ma=$(log_mark a) mb=$(log_mark b)
    th=$(now)
    heal b
    say "healed $(ms "$(fcalc "$th - $tl")") after A's last advert"
    wait_for 3 no_vip b "$VIP" || fail "after the heal B still holds $VIP"
    check "exactly one master (A) for 1.5 s after the heal" hold_for 1.5 eval 'has_vip a "$VIP" && no_vip b "$VIP"'
    pcap_refresh
    g=$(announces "$VIP" "${NODE_MAC[a]}" "$th" | wc -l)
    sd=$(adverts 192.0.2.21 101 "$th" | awk '$2 > 0' | wc -l)
    m=$(fcalc "$(vip_first b del "$VIP" "$th") - $th")
    expect_log b "(loadbalancer2) Master received advert from 192.0.2.20 with higher priority 101, ours 100" "$mb"
    expect_log b "(loadbalancer2) Entering BACKUP STATE" "$mb"
    if ((g > 0)); then
        expect_log a "(loadbalancer1) Received advert from 192.0.2.21 with lower priority 100, ours 101, forcing new election" "$ma"
    fi
    row "$da+$db" "heal -> B yields" "$(ms "$m")" "$(ms 1.05)" "$(fle "$m" 1.05 && echo ok || echo OVER)"
    fle "$m" 1.05 || BAD+=("$da+$db: B yielded $(ms "$m") after the heal")
    row "$da+$db" "B adverts after heal / A GARPs" "$sd / $g" ">0 GARP" "$( ((g > 0)) && echo ok || echo SILENT)"
    if ((g == 0)); then
        case $hard in
        hard) BAD+=("$da A + $db B: the survivor sent no gratuitous ARP after the heal") ;;
        ka) KDIFF+=("keepalived pair: the surviving master sent no gratuitous ARP after the heal (keepalived #166); B sent $sd advert(s) after the heal") ;;
        peer) KDIFF+=("vrrpd A + keepalived B: keepalived B yielded without an advert ($sd after the heal), so vrrpd A had nothing to answer: no GARP (a vrrpd survivor needs to hear the other master)") ;;
        esac
    elif [[ $hard == ka ]]; then
        say "note: keepalived's survivor re-announced this time (B's advert crossed first; #166 is the other order)"
    fi
    stop_node b
    stop_node a
}
pair vrrpd vrrpd hard
pair keepalived keepalived ka
pair keepalived vrrpd hard
pair vrrpd keepalived peer
verdict
for k in "${KDIFF[@]}"; do printf '  keepalived: expected difference: %s\n' "$k"; done
log_report
finish
