#!/usr/bin/env bash
# 8. SIGHUP adding a VIP: no transition, the new VIP appears and is
#    announced (gratuitous ARP).  SIGHUP with a broken config: the daemon
#    keeps running unchanged and logs the errors with file:line:col
#    (keepalived instead stops: expected difference).
. "$(dirname "$0")/lib.sh"
title "10 SIGHUP: add a VIP without a flap; a broken config is refused"
require_daemon
fast_lab reload.conf.in
sleep 0.5
# shellcheck disable=SC2034 # used inside eval
ta=$(transitions a) tb=$(transitions b)
conf_for a reload.conf.in VIP2=192.0.2.31 >/dev/null
cp "$WORK/a.conf" "${DCONF[a]}"
t=$(now)
hup_daemon a
check "A holds the new VIP 192.0.2.31" wait_master a 192.0.2.31 3
say "measured: SIGHUP -> new VIP on A $(ms "$(fcalc "$(vip_first a add 192.0.2.31 "$t") - $t")")"
check "A still holds $VIP" has_vip a "$VIP"
check "A's gratuitous ARP for 192.0.2.31 seen" wait_for 2 eval '[[ -n $(garps 192.0.2.31 "${NODE_MAC[a]}" "$t") ]]'
check "$VIP was never removed from A" eval '[[ -z $(vip_times a del "$VIP" "$t") ]]'
sleep 1
check "B holds no VIP" eval 'no_vip b "$VIP" && no_vip b 192.0.2.31'
check "no state transition on A (log)" eval '[[ $(transitions a) == "$ta" ]]'
check "no state transition on B (log)" eval '[[ $(transitions b) == "$tb" ]]'
n=$(tsh "vrrp && ip.src == 192.0.2.20 && vrrp.addr_count == 2 && frame.time_epoch > $t" frame.number | wc -l)
say "A sent $n adverts listing both VIPs since the reload"
((n > 0)) || fail "A's adverts do not list the new VIP"

# A broken file: the daemon must keep running with the config it has.
cp "$NT_DIR/conf/reload-broken.conf" "${DCONF[a]}"
mark=$(wc -l <"$WORK/a.log")
t=$(now)
hup_daemon a
sleep 1.5
new_log=$(tail -n +"$((mark + 1))" "$WORK/a.log")
printf '%s\n' "$new_log" | grep -aiE 'error|invalid|warn|expected|line|stop' | head -n 8 | sed 's/^/    log: /' || true
check_or_xdiff "daemon still running after a broken reload" daemon_alive a
check_or_xdiff "A still holds $VIP and 192.0.2.31" eval 'has_vip a "$VIP" && has_vip a 192.0.2.31'
check_or_xdiff "errors logged with file:line:col" eval 'grep -qE "daemon\.conf:[0-9]+:[0-9]+" <<<"$new_log"'
if daemon_alive a; then
    check "no state transition on A after the broken reload" eval '[[ $(transitions a) == "$ta" ]]'
else
    check "B took over after A stopped" wait_master b "$VIP" 2
    if has_vip a "$VIP"; then
        say "note: the daemon on A exited and left its VIPs behind: A and B both hold $VIP"
    fi
fi
finish
