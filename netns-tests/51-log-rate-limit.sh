#!/usr/bin/env bash
# Log lines caused by received packets are rate limited: a stranger floods
# master A with 100 VRRPv3 adverts in 1 s (lower priority, 1 s interval
# against A's 0.1 s). Each would log keepalived's "forcing new election" and
# "advertisement interval mismatch" lines; at most ratelimit::BURST (3) per
# kind per 10 s window reach the log, A stays master, and the first line
# after the window says how many were suppressed.
. "$(dirname "$0")/lib.sh"
title "51 log rate limit: a flood of bad adverts does not flood the log"
require_daemon
is_keepalived && skip "keepalived 2.2.7 logs every bad advert (rate limited from 2.3.3)"
lab_up a c
start_daemon a "$(conf_for a v3-ipv4.conf.in)"
wait_master a "$VIP" 3 || fail "A did not become master"
mark=$(wc -l <"$WORK/a.log")
flood() {
    hostile v3 --src 192.0.2.40 --dst 224.0.0.18 --dst-mac 01:00:5e:00:00:12 --vrid 52 --prio 50 \
        --adv 1 --count "$1" --gap 0.01
}
flood 100
t_end=$(now)
sleep 0.3
sent=$(tsh "ip.src == 192.0.2.40 && vrrp" frame.number | wc -l)
lines=$(tail -n +"$((mark + 1))" "$WORK/a.log" | grep -ac "192.0.2.40" || true)
# Each also triggers a gratuitous ARP burst, whose detail line (-D) is limited too.
garp_lines=$(tail -n +"$((mark + 1))" "$WORK/a.log" | grep -ac "Sending/queueing gratuitous ARPs" || true)
say "measured: $sent bad adverts on br0, $lines log lines about them, $garp_lines gratuitous-ARP lines"
tail -n +"$((mark + 1))" "$WORK/a.log" | grep -a "192.0.2.40" | sed 's/^/    A log: /'
((sent >= 90)) || fail "only $sent of 100 hostile adverts were seen on the bridge"
((lines >= 1)) || fail "no line at all about the bad adverts (the limiter is not a mute)"
((lines <= 2 * 3)) || fail "$lines lines for $sent bad adverts: not rate limited"
# At most BURST, plus the one delayed burst (garp_lower_prio_delay, 5 s later).
((garp_lines <= 4)) || fail "$garp_lines gratuitous-ARP lines for $sent lower-priority adverts: not rate limited"
check "A is still master" has_vip a "$VIP"
# The window (10 s from the first packet, which came less than 1 s before
# the flood ended) is over: the next line carries the suppressed count.
sleep "$(fcalc "9.2 - ($(now) - $t_end)")"
mark=$(wc -l <"$WORK/a.log")
flood 1
check "the first line after the window counts the suppressed ones" wait_for 2 eval \
    'tail -n +"$((mark + 1))" "$WORK/a.log" | grep -a "192.0.2.40" | grep -qE "\(9[0-9] similar messages suppressed\)"'
say "after the window: $(tail -n +"$((mark + 1))" "$WORK/a.log" | grep -a "suppressed" | head -n 1 | sed 's/.*(VI_1)/(VI_1)/')"
finish
