#!/usr/bin/env bash
# 17. Sixty VRRPv3 instances at 0.1 s on one interface: the Master's adverts
#     leave in batches (one sendmmsg per timer wake-up) and the Backup reads
#     them in batches (recvmmsg). Every instance advertises on time and the
#     Backup takes none of them over; when A is killed, B takes all sixty
#     within Master_Down_Interval (the addresses then go in one by one).
. "$(dirname "$0")/lib.sh"
title "17 60 instances, VRRPv3 0.1 s: batched adverts, steady, failover of all"
require_daemon
COUNT=60
WINDOW=3
lab_up a b c
for n in a b; do
    prio=101
    [[ $n == b ]] && prio=100
    for ((i = 1; i <= COUNT; i++)); do
        printf 'vrrp_instance VI_%d {\n    state BACKUP\n    interface %s\n    virtual_router_id %d\n    version 3\n    priority %d\n    advert_int 0.1\n    virtual_ipaddress {\n        198.51.100.%d/32\n    }\n}\n' \
            "$i" "$LAB_IF" "$i" "$prio" "$i"
    done >"$WORK/$n-many.conf"
done
vips_on() { ip -n "$(ns "$1")" -o -4 addr show dev "$LAB_IF" | grep -c ' 198\.51\.100\.' || true; }

start_daemon a "$WORK/a-many.conf"
check "A holds all $COUNT VIPs" wait_for 8 eval '(($(vips_on a) == COUNT))'
start_daemon b "$WORK/b-many.conf"
check "B settles as backup of every instance" wait_for 5 eval \
    '(($(grep -ac "Entering BACKUP STATE" "$WORK/b.log") >= COUNT))'
ta=$(transitions a)
tb=$(transitions b)
t0=$(now)
sleep "$WINDOW"
t1=$(now)
no_new_transitions() { [[ $(transitions a) == "$ta" && $(transitions b) == "$tb" ]]; }
check "no transition on either node in ${WINDOW} s" no_new_transitions
check "B holds none of the VIPs" eval '(($(vips_on b) == 0))'

# Adverts per VRID from A inside the window, off the bridge capture.
per_vrid=$(tsh "vrrp && ip.src == 192.0.2.20 && vrrp.prio > 0 && frame.time_epoch >= $t0 && frame.time_epoch <= $t1" vrrp.virt_rtr_id |
    awk '{c[$1]++} END {for (v in c) print v, c[v]}')
vrids=$(wc -l <<<"$per_vrid")
read -r lo hi < <(awk 'NR == 1 {lo = hi = $2} {if ($2 < lo) lo = $2; if ($2 > hi) hi = $2} END {print lo + 0, hi + 0}' <<<"$per_vrid")
total=$(awk '{s += $2} END {print s + 0}' <<<"$per_vrid")
expect=$((WINDOW * 10))
say "measured: $total adverts from A in ${WINDOW} s for $vrids VRIDs, per VRID $lo..$hi (expected $expect each)"
check "every instance advertised" eval '((vrids == COUNT))'
# A 0.1 s timer may fire one more or one less time inside the window.
check "each VRID $((expect - 2))..$((expect + 2)) adverts" eval '((lo >= expect - 2 && hi <= expect + 2))'

mdi=$(master_down 3 100 0.1)
t=$(now)
kill_daemon a
ip -n "$NS_BR" link set pa down
check "B holds all $COUNT VIPs" wait_for 3 eval '(($(vips_on b) == COUNT))'
adds=$(for ((i = 1; i <= COUNT; i++)); do vip_first b add "198.51.100.$i" "$t"; done | sort -n)
t_last=$(last_advert 192.0.2.20 "$t")
d_first=$(fcalc "$(head -n 1 <<<"$adds") - $t_last")
d_all=$(fcalc "$(tail -n 1 <<<"$adds") - $t_last")
say "measured: A's last advert -> first VIP on B $(ms "$d_first"), all $COUNT $(ms "$d_all") (Master_Down_Interval $(ms "$mdi"))"
check "first VIP within Master_Down_Interval + 50 ms" fle "$d_first" "$(fcalc "$mdi + 0.05")"
# The addresses go in one after another through the netlink worker.
check "all $COUNT within Master_Down_Interval + 250 ms" fle "$d_all" "$(fcalc "$mdi + 0.25")"
finish
