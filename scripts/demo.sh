#!/usr/bin/env bash
# vrrpd demo: two load balancers share one floating IP; watch it move.
#
#   scripts/demo.sh                      # vrrpd (built with cargo first)
#   DAEMON=keepalived scripts/demo.sh    # the same story with keepalived
#   DEMO_FAST=1 scripts/demo.sh          # no pauses for reading
#
# Needs root (it creates network namespaces; nothing on the host's own
# interfaces is touched) and iproute2, tcpdump, tshark, python3, curl.
# Everything it starts is torn down on exit, even on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export DAEMON=${DAEMON:-vrrpd}

if [[ -t 1 ]]; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' Y=$'\e[33m' C=$'\e[36m' N=$'\e[0m'
else B='' D='' G='' Y='' C='' N=''; fi
step() { printf '\n%s━━ %s%s\n' "$B" "$*" "$N"; }
explain() { printf '%s%s%s\n' "$D" "$*" "$N" | fmt -w 78 | sed 's/^/   /'; }
pause() { [[ ${DEMO_FAST:-} ]] || sleep "${1:-2}"; }

if [[ $(id -u) != 0 ]]; then
    echo "demo.sh needs root: it builds a small lab in network namespaces." >&2
    exit 1
fi

if [[ $DAEMON == vrrpd && -z ${VRRPD_BIN:-} ]]; then
    step "Building vrrpd (cargo build --release)"
    if ! cargo build --release --quiet; then
        echo "cargo build failed. Try DAEMON=keepalived $0 to see the same demo with keepalived." >&2
        exit 1
    fi
fi

# shellcheck disable=SC2034 # read by lib.sh
NT_QUIET_LOGS=1
# shellcheck source-path=SCRIPTDIR/.. source=netns-tests/lib.sh
. netns-tests/lib.sh
# shellcheck disable=SC2034
NT_NAME=demo
require_daemon

printf '%s' "$B"
cat <<'EOF'

  vrrpd demo: a floating IP that follows the healthy load balancer
  ================================================================
EOF
printf '%s' "$N"
explain "Two load balancers, A and B, share one 'floating' address, 192.0.2.30. \
Clients only know that address. VRRP (RFC 3768/9568) decides which balancer holds it: \
the MASTER owns the address and sends an advertisement every second; the BACKUP \
listens. If the backup hears nothing for Master_Down_Interval = 3 adverts + a \
priority-dependent skew, it takes the address and announces it with gratuitous ARP \
so that clients' ARP caches point to it. Daemon under test: $DAEMON."
pause 3

step "1. The lab: three network namespaces on a bridge"
cat <<EOF
   ${C}node A${N} 192.0.2.20 ──┐
   ${C}node B${N} 192.0.2.21 ──┼── bridge br0 (tcpdump listens here)
   ${C}client${N} 192.0.2.40 ──┘        floating IP: ${Y}192.0.2.30${N}
EOF
lab_up a b c
http_up a
http_up b
explain "Each balancer runs a tiny web server that answers its own name, so the \
client's answers show who holds the floating IP."
seed_config 1 >"$WORK/lb1.conf"
seed_config 2 >"$WORK/lb2.conf"
explain "The configs are the published keepalived.conf files of the reference setup, \
unchanged except for the addresses (10.0.0.x -> 192.0.2.x) and the interface \
name (ens5 -> eth0). B's unicast addresses are flipped as the seed's text says \
(the published file forgot to). The essentials of A's config:"
grep -E '^ *(state|priority|advert_int|auth_type|unicast_src_ip|virtual_router_id)' "$WORK/lb1.conf" \
    | sed "s/^ */     /"
explain "B has priority 100 and state BACKUP. Higher priority wins."
pause 3

step "2. Start both daemons and let them elect a master"
start_daemon a "$WORK/lb1.conf"
start_daemon b "$WORK/lb2.conf"
explain "Both start as BACKUP and listen. A, with the higher priority, times out first \
(3 x 1 s + (256-101)/256 s = 3.61 s) and becomes MASTER; from then on B keeps hearing \
A's adverts and stays BACKUP."
wait_master a "$VIP" 8 || fail "A did not become master"
say "A: ${G}$(state_of a loadbalancer1)${N} holds $VIP    B: $(state_of b loadbalancer2), no VIP"
grep -aE '\(loadbalancer[12]\) Entering' "$WORK/a.log" "$WORK/b.log" \
    | sed -E "s|$WORK/||; s/(STATE( \(init\))?).*/\1/; s/^/     /"
client_start "http://$VIP/" 0.05
sleep 1.5
say "the client polls http://$VIP/ every 50 ms: $(tail -n 20 "$WORK/client.txt" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
pause 3

# timeline FROM: the client's answers since FROM, runs compressed.
timeline() {
    awk -v from="$1" -v g="$G" -v y="$Y" -v n="$N" '
        function flush() { if (cnt) printf "     %s  %-7s x%-4d %s\n", stamp, ans, cnt,
                           (ans == "-" ? y "no answer" n : "") }
        $1 < from { next }
        $2 != ans { flush(); ans = $2; cnt = 0; first = $1; stamp = strftime("%H:%M:%S", int($1)) sprintf(".%03d", ($1 - int($1)) * 1000) }
        { cnt++; last = $1 }
        END { flush() }' "$WORK/client.txt"
}

# outage FROM: time between the client's last answer from A and first from B.
outage() {
    local last first
    read -r last first < <(client_outage node-a node-b "$1") || return 0
    printf '   %smeasured%s: client outage %s (last answer from A -> first answer from B)\n' \
        "$B" "$N" "$(ms "$(fcalc "$first - $last")")"
}

step "3. Disaster: A's daemon is killed (SIGKILL) and A's network port goes dead"
explain "No goodbye is sent. B notices only because A's adverts stop; it must wait \
Master_Down_Interval = 3 x 1 s + (256-100)/256 s = 3.609 s after the last one."
t_kill=$(now)
kill_daemon a
ip -n "$NS_BR" link set pa down
wait_master b "$VIP" 6 || fail "B did not take over"
sleep 1
t_vip=$(vip_first b add "$VIP" "$t_kill")
t_last=$(last_advert 192.0.2.20 "$t_kill")
say "B: ${G}$(state_of b loadbalancer2)${N} holds $VIP"
echo "   the client's answers:"
timeline "$(fcalc "$t_kill - 0.3")"
printf '   %smeasured%s: kill -> VIP on B %s; A'"'"'s last advert -> VIP on B %s (protocol: 3609 ms)\n' \
    "$B" "$N" "$(ms "$(fcalc "$t_vip - $t_kill")")" "$(ms "$(fcalc "$t_vip - $t_last")")"
outage "$t_kill"
printf '   gratuitous ARPs from B on the bridge: %s\n' "$(garps "$VIP" "${NODE_MAC[b]}" "$t_kill" | wc -l)"
pause 4

step "4. A comes back: it preempts"
explain "A starts as BACKUP, hears B's adverts with the lower priority 100, ignores them, \
and after its own Master_Down_Interval becomes MASTER again; B hears A's priority 101 \
and steps down at once."
ip -n "$NS_BR" link set pa up
t_start=$(now)
start_daemon a "$WORK/lb1.conf"
wait_master a "$VIP" 8 || fail "A did not preempt"
wait_for 2 no_vip b "$VIP" || fail "B kept the VIP"
sleep 1
t_add=$(vip_first a add "$VIP" "$t_start")
t_del=$(vip_first b del "$VIP" "$t_start")
echo "   the client's answers:"
timeline "$(fcalc "$t_start - 0.3")"
overlap=$(fcalc "$t_del - $t_add")
if fle "$overlap" 0; then
    overlap="no overlap (B dropped it $(ms "$(fcalc "0 - $overlap")") before A added it)"
else
    overlap="both held it for $(ms "$overlap")"
fi
printf '   %smeasured%s: restart -> A master %s; %s\n' "$B" "$N" "$(ms "$(fcalc "$t_add - $t_start")")" "$overlap"
pause 4

if [[ $DAEMON == vrrpd ]]; then
    step "5. A crashes again, but this time systemd is there: ExecStopPost=vrrpd resign"
    explain "When the daemon dies (SIGKILL, OOM kill, panic) on a host that is still up, \
its floating IP would stay on A while B takes it too. vrrpd's unit runs 'vrrpd resign' \
after any stop: it sends priority 0 for the configured instances and removes their \
addresses, so B takes over after Skew_Time instead of Master_Down_Interval."
    t_kill=$(now)
    kill_daemon a
    resign_daemon a || fail "vrrpd resign failed"
    wait_master b "$VIP" 3 || fail "B did not take over"
    sleep 1
    t_vip=$(vip_first b add "$VIP" "$t_kill")
    echo "   the client's answers:"
    timeline "$(fcalc "$t_kill - 0.3")"
    outage "$t_kill"
    printf '   %smeasured%s: kill -> VIP on B %s; A holds the VIP: %s\n' "$B" "$N" \
        "$(ms "$(fcalc "$t_vip - $t_kill")")" "$(has_vip a "$VIP" && echo "yes" || echo "no")"
    t_start=$(now)
    start_daemon a "$WORK/lb1.conf"
    wait_master a "$VIP" 8 || fail "A did not preempt"
    wait_for 2 no_vip b "$VIP" || fail "B kept the VIP"
    wait_for 3 client_says node-a || fail "the client did not come back to A"
    say "A restarted and preempted again; the client is answered by A"
    pause 3
fi

step "6. Planned maintenance: A is stopped gracefully (SIGTERM, as systemctl stop does)"
explain "A sends one advert with priority 0 ('I am leaving') and removes the address. \
B then waits only its Skew_Time, (256-100)/256 = 0.609 s, not the full 3.6 s."
t_term=$(now)
stop_daemon a
wait_master b "$VIP" 3 || fail "B did not take over"
sleep 1
t_vip=$(vip_first b add "$VIP" "$t_term")
t_p0=$(first_prio0 192.0.2.20 "$t_term")
echo "   the client's answers:"
timeline "$(fcalc "$t_term - 0.3")"
outage "$t_term"
printf '   %smeasured%s: SIGTERM -> VIP on B %s; priority-0 advert -> VIP on B %s (protocol: 609 ms)\n' \
    "$B" "$N" "$(ms "$(fcalc "$t_vip - $t_term")")" "$(ms "$(fcalc "$t_vip - ${t_p0:-$t_term}")")"
if [[ $DAEMON == keepalived ]]; then
    explain "(keepalived, killed with SIGKILL, would have left the address on A while B took it \
too; vrrpd ships 'vrrpd resign' as the unit's ExecStopPost for exactly that case.)"
fi
pause 2

step "7. Tear down"
client_stop
stop_daemon b
say "all daemons stopped; namespaces are removed on exit"
echo
