#!/usr/bin/env bash
# 19. A third host floods the VRRPv3 0.1 s pair (A 101 Master, B 100
#     Backup, VRID 52) for 3 s at 5 000 frames/s with valid adverts for our
#     VRID at priority 1.  A Master answers a lower-priority advert with an
#     advert and a gratuitous ARP burst (garp_lower_prio_repeat, 5 by
#     default), but a flood must not turn it into an amplifier: no
#     transition on either node, and A sends at most 1 advert + 1 burst per
#     advert interval, counted over the flood and the half second after it
#     (answers queued during the flood and sent later count too; the
#     window's two edge intervals allowed).  keepalived 2.2.7 answers every packet (about 1
#     advert + 8 gratuitous ARPs each): expected difference.
#     FLOOD_RATE / FLOOD_SECS override 5000 / 3.
. "$(dirname "$0")/lib.sh"
# shellcheck source=netns-tests/flood-lib.sh
. "$NT_DIR/flood-lib.sh"
title "19 flood of valid priority-1 adverts: no transition, no amplification"
require_daemon
RATE=${FLOOD_RATE:-5000}
SECS=${FLOOD_SECS:-3}
IV=0.1
BURST=5
fast_lab v3-ipv4.conf.in
flood_capture_start "$WORK/flood.pcap"
sleep 0.5
steady_mark
rx0=$(port_rx c)
flood_start "$WORK/flood.json" valid "$RATE" "$SECS" --vrids 52 --adv-cs 10 --prio 1
held=1
hold_for "$SECS" steady || held=0
flood_wait
sleep 0.5
steady || held=0
flood_capture_stop
rx1=$(port_rx c)

t0=$(jget "$WORK/flood.json" t_first)
t1=$(jget "$WORK/flood.json" t_last)
pps=$(jget "$WORK/flood.json" pps)
[[ $t0 != None && $t1 != None ]] || fail "flood.py reported nothing: $(cat "$WORK/flood.json.err")"
# The capture ran until at least 0.5 s after the flood (sleep above).
pcapstat "$WORK/flood.pcap" "$t0" "$(fcalc "$t1 + 0.5")" "$IV" --vrids 52 >"$WORK/stat.json"
st() { jget "$WORK/stat.json" "$1"; }
intervals=$(st per_interval.intervals)
adverts=$(st nodes.a.adverts)
announce=$(($(st nodes.a.garps) + $(st nodes.a.nas)))
max_adverts=$((intervals + 2))
max_announce=$(((intervals + 2) * BURST))
say "flood: $(jget "$WORK/flood.json" sent) frames in $(jget "$WORK/flood.json" elapsed) s = $pps pps (target $RATE), $((rx1 - rx0)) reached the bridge"
say "measured: A sent $adverts adverts and $announce GARP/NA in $intervals intervals (flood + 0.5 s): per interval mean $(st per_interval.adverts_mean) + $(st per_interval.announce_mean), max $(st per_interval.adverts_max) + $(st per_interval.announce_max)"
say "measured: A's adverts late by p50 $(st lateness.p50) ms, p99 $(st lateness.p99) ms, max $(st lateness.max) ms; B sent $(st nodes.b.adverts) adverts"
((FLOOD_CAP_DROPS == 0)) || say "note: the capture dropped $FLOOD_CAP_DROPS frames (the counts above are lower bounds)"
check "the flood reached at least half its rate ($pps of $RATE pps)" fle "$(fcalc "$RATE / 2")" "$pps"
b_adverts=$(st nodes.b.adverts)
steady_held() { ((held == 1 && b_adverts == 0)); }
check "no transition, VIP on A alone during the whole flood" steady_held
check_or_xdiff "at most 1 advert per interval: $adverts adverts <= $max_adverts" eval '((adverts <= max_adverts))'
check_or_xdiff "at most 1 GARP burst ($BURST) per interval: $announce GARP/NA <= $max_announce" \
    eval '((announce <= max_announce))'
finish
