#!/usr/bin/env bash
# Failover benchmark: vrrpd and keepalived side by side, same namespace
# topology, same keepalived.conf files (the seed, mapped to the lab).
#
#   scripts/bench-failover.sh            # RUNS=10 runs of every measurement
#   RUNS=20 scripts/bench-failover.sh
#   DAEMONS="keepalived" scripts/bench-failover.sh
#
# Measured per daemon (median / min / max over RUNS):
#   - SIGKILL of the master + its port down -> VIP on the backup
#   - master's last advert (tcpdump on the bridge) -> VIP on the backup
#     (`ip -ts monitor`), against the protocol bound Master_Down_Interval
#   - graceful handover: SIGTERM -> priority-0 advert -> VIP on the backup,
#     against Skew_Time
#   - client outage (last answer from A -> first answer from B, 10 ms polls)
#   - the local balancer (the node's HTTP server) stopped on the master ->
#     VIP on the backup, with a health check of weight -10 (A 101, B 100;
#     VRRPv2 multicast, 1 s): keepalived with a `vrrp_script` running curl,
#     vrrpd with its native HTTP probe, default and with `fast_handover`;
#     also from the master's first lowered-priority advert
#   - idle RSS and PSS (sum of /proc/PID/smaps_rollup over the daemon's
#     processes) and CPU (sum of /proc/PID/task/*/schedstat) with 1 and 100
#     instances, for the master and the backup.
# Scenarios: the seed (VRRPv2 unicast, PASS, 1 s) and VRRPv3 IPv4 at 0.1 s.
# A daemon that is not available prints "n/a".  Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
DAEMONS=${DAEMONS:-"keepalived vrrpd"}
# SECTIONS: any of "seed v3 probe idle100" (all by default), to re-measure one part.
SECTIONS=${SECTIONS:-"seed v3 probe idle100"}
section() { [[ " $SECTIONS " == *" $1 "* ]]; }

# ------------------------------------------------------------ one daemon
if [[ ${1:-} == --one ]]; then
    OUT=$2
    # shellcheck disable=SC2034 # read by lib.sh
    NT_QUIET_LOGS=1
    # shellcheck source-path=SCRIPTDIR/.. source=netns-tests/lib.sh
    . netns-tests/lib.sh
    require_daemon
    rec() { printf '%s\t%s\n' "$1" "$2" >>"$OUT"; }
    rec_ms() { rec "$1" "$(awk -v s="$2" 'BEGIN{printf "%.1f", s*1000}')"; }
    progress() { printf '  [%s] %s\n' "$DAEMON" "$*" >&2; }

    # cpu_ns NODE: CPU time of every thread of the daemon's processes.
    cpu_ns() {
        local p t sum=0
        for p in $(daemon_pids "$1"); do
            for t in /proc/"$p"/task/*/schedstat; do
                [[ -r $t ]] && sum=$((sum + $(cut -d' ' -f1 "$t")))
            done
        done
        echo "$sum"
    }
    # mem_kb NODE Rss|Pss: sum over the daemon's processes.
    mem_kb() {
        local p sum=0 v
        for p in $(daemon_pids "$1"); do
            v=$(awk -v k="$2:" '$1 == k {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
            sum=$((sum + ${v:-0}))
        done
        echo "$sum"
    }
    # sample_idle LABEL: RUNS samples of 1 s: memory and CPU of A and B.
    sample_idle() {
        local label=$1 i n
        sleep 2
        for ((i = 0; i < RUNS; i++)); do
            declare -A c0=() c1=()
            for n in a b; do c0[$n]=$(cpu_ns "$n"); done
            sleep 1
            for n in a b; do c1[$n]=$(cpu_ns "$n"); done
            for n in a b; do
                local role=master
                [[ $n == b ]] && role=backup
                rec "$label, $role: CPU (% of a core)" "$(awk -v d="$((c1[$n] - c0[$n]))" 'BEGIN{printf "%.3f", d/1e7}')"
                rec "$label, $role: RSS (MB)" "$(awk -v k="$(mem_kb "$n" Rss)" 'BEGIN{printf "%.2f", k/1024}')"
                rec "$label, $role: PSS (MB)" "$(awk -v k="$(mem_kb "$n" Pss)" 'BEGIN{printf "%.2f", k/1024}')"
            done
        done
    }
    # settle_a VIP TIMEOUT: A master again, B backup.
    settle_a() {
        wait_master a "$1" "$2" || fail "A did not take the VIP back"
        wait_for 2 no_vip b "$1" || fail "B kept the VIP"
        sleep 0.3
    }
    # outage METRIC SINCE: client's last answer from A -> first from B.
    outage() {
        local o last first
        o=$(client_outage node-a node-b "$2")
        if [[ $o ]]; then
            read -r last first <<<"$o"
            rec_ms "$1" "$(fcalc "$first - $last")"
        else
            progress "note: the client got no answer from B after $(date -u -d "@${2%.*}" +%T) ($1)"
        fi
    }
    # cycle LABEL VERSION ADVERT_INT CONF_A: one graceful and one crash failover.
    cycle() {
        local label=$1 ver=$2 adv=$3 conf_a=$4 t tv tp tl
        # Graceful: SIGTERM -> priority 0 -> B after Skew_Time.
        t=$(now)
        stop_daemon a
        wait_master b "$VIP" 3 || fail "B did not take over after SIGTERM"
        tv=$(vip_first b add "$VIP" "$t")
        start_daemon a "$conf_a" 2>/dev/null >&2
        settle_a "$VIP" "$(fcalc "4*$adv + 3")"
        tp=$(first_prio0 192.0.2.20 "$t")
        rec_ms "$label: SIGTERM -> VIP on backup (ms)" "$(fcalc "$tv - $t")"
        [[ $tp ]] && rec_ms "$label: priority-0 advert -> VIP on backup (ms) [Skew_Time $(ms "$(skew_time "$ver" 100 "$adv")")]" "$(fcalc "$tv - $tp")"
        outage "$label: client outage, graceful (ms)" "$t"
        # Crash: SIGKILL + port down -> B after Master_Down_Interval.
        t=$(now)
        kill_daemon a
        ip -n "$NS_BR" link set pa down
        wait_master b "$VIP" "$(fcalc "4*$adv + 2")" || fail "B did not take over after SIGKILL"
        tv=$(vip_first b add "$VIP" "$t")
        ip -n "$NS_BR" link set pa up
        start_daemon a "$conf_a" 2>/dev/null >&2
        settle_a "$VIP" "$(fcalc "4*$adv + 3")"
        tl=$(last_advert 192.0.2.20 "$t")
        rec_ms "$label: SIGKILL -> VIP on backup (ms)" "$(fcalc "$tv - $t")"
        rec_ms "$label: last advert -> VIP on backup (ms) [bound $(ms "$(master_down "$ver" 100 "$adv")")]" "$(fcalc "$tv - $tl")"
        outage "$label: client outage, crash (ms)" "$t"
    }

    CLIENT_DURATION=3600
    lab_up a b c
    http_up a
    HTTP_A=$BG_LAST
    http_up b
    client_start "http://$VIP/" 0.01

    if section seed; then
    progress "seed configs (VRRPv2 unicast, 1 s): $RUNS graceful + $RUNS crash failovers"
    seed_config 1 >"$WORK/lb1.conf"
    seed_config 2 >"$WORK/lb2.conf"
    start_daemon a "$WORK/lb1.conf" >&2
    start_daemon b "$WORK/lb2.conf" >&2
    settle_a "$VIP" 8
    sample_idle "idle, 1 instance"
    for ((r = 1; r <= RUNS; r++)); do
        cycle "v2 1 s" 2 1 "$WORK/lb1.conf"
        progress "  run $r/$RUNS done"
    done
    stop_daemon a
    stop_daemon b
    fi

    if section v3; then
    progress "VRRPv3 IPv4 multicast, 0.1 s: $RUNS graceful + $RUNS crash failovers"
    start_daemon a "$(conf_for a v3-ipv4.conf.in)" >&2
    settle_a "$VIP" 3
    start_daemon b "$(conf_for b v3-ipv4.conf.in)" >&2
    sleep 1
    for ((r = 1; r <= RUNS; r++)); do cycle "v3 0.1 s" 3 0.1 "$WORK/a.conf"; done
    stop_daemon a
    stop_daemon b
    fi

    if section probe; then
    # probe_conf NODE MODE: VRRPv2 multicast 1 s, priority A 101 / B 100,
    # the local HTTP server checked every second with weight -10: natively
    # by vrrpd (MODE default or fast), by a curl vrrp_script for keepalived.
    probe_conf() {
        local n=$1 mode=$2 prio=101 track
        [[ $n == b ]] && prio=100
        if is_keepalived; then
            printf 'vrrp_script web {\n    script "/usr/bin/curl -sf -o /dev/null --max-time 0.5 http://127.0.0.1/"\n    interval 1\n    timeout 1\n    weight -10\n}\n'
            track='track_script'
        else
            printf 'vrrpd_http_check web {\n    url http://127.0.0.1/\n    interval 1\n    timeout 0.5\n    weight -10\n}\n'
            track='track_probe'
        fi
        printf 'vrrp_instance VI_1 {\n    state BACKUP\n    interface %s\n    virtual_router_id 51\n    priority %d\n    advert_int 1\n    virtual_ipaddress {\n        %s\n    }\n    %s {\n        web\n    }\n%s}\n' \
            "$LAB_IF" "$prio" "$VIP" "$track" "$([[ $mode == fast ]] && printf '    fast_handover\n')"
    }
    modes=default
    is_keepalived || modes="default fast"
    for mode in $modes; do
        label="probe, v2 1 s"
        [[ $mode == fast ]] && label+=", fast_handover"
        progress "$label: $RUNS balancer stops"
        probe_conf a "$mode" >"$WORK/pa.conf"
        probe_conf b "$mode" >"$WORK/pb.conf"
        start_daemon a "$WORK/pa.conf" >&2
        settle_a "$VIP" 6
        start_daemon b "$WORK/pb.conf" >&2
        sleep 4
        for ((r = 1; r <= RUNS; r++)); do
            t=$(now)
            kill -TERM "$HTTP_A"
            wait_master b "$VIP" 8 || fail "$label: B did not take over after the balancer stopped"
            tv=$(vip_first b add "$VIP" "$t")
            tl=$(tsh "vrrp && ip.src == 192.0.2.20 && vrrp.prio == 91" frame.time_epoch | awk -v t="$t" '$1 >= t {print; exit}')
            rec_ms "$label: balancer stopped -> VIP on backup (ms)" "$(fcalc "$tv - $t")"
            [[ $tl ]] && rec_ms "$label: first lowered advert -> VIP on backup (ms) [bound $(ms "$(master_down 2 100 1)")]" "$(fcalc "$tv - $tl")"
            outage "$label: client outage (ms)" "$t"
            http_up a
            HTTP_A=$BG_LAST
            settle_a "$VIP" 8
            # Let the next stop fall anywhere in the probe's period.
            sleep "$(awk -v r="$RANDOM" 'BEGIN{printf "%.2f", 1 + r / 32768}')"
            progress "  run $r/$RUNS done"
        done
        stop_daemon a
        stop_daemon b
    done
    fi

    if section idle100; then
    progress "100 instances (VRRPv2 multicast, 1 s): idle memory and CPU"
    for n in a b; do
        prio=101
        [[ $n == b ]] && prio=100
        for ((i = 1; i <= 100; i++)); do
            printf 'vrrp_instance VI_%d {\n    state BACKUP\n    interface %s\n    virtual_router_id %d\n    priority %d\n    advert_int 1\n    virtual_ipaddress {\n        198.51.100.%d/32\n    }\n}\n' \
                "$i" "$LAB_IF" "$i" "$prio" "$i"
        done >"$WORK/$n-100.conf"
    done
    # Without IRQ time accounting (CONFIG_IRQ_TIME_ACCOUNTING, off in many
    # kernels) the softirq that carries each advert through the lab's
    # bridge, to the peer and to the capture, is charged to the sending
    # daemon: about half of a master's figure, the same for both daemons.
    # From here on the capture is stopped and every veth receives in its own
    # NAPI thread, so each daemon is charged for its own work, as on hosts
    # with their own NICs.
    capture_stop
    lab_rx_threads
    start_daemon a "$WORK/a-100.conf" >&2
    wait_for 8 has_vip a 198.51.100.100 || fail "A did not become master of 100 instances"
    start_daemon b "$WORK/b-100.conf" >&2
    sleep 5
    [[ $(ip -n "$(ns a)" -o addr show | grep -c 198.51.100.) == 100 ]] || fail "A does not hold 100 VIPs"
    sample_idle "idle, 100 instances"
    fi
    exit 0
fi

# ------------------------------------------------------------ parent
if [[ $(id -u) != 0 ]]; then
    echo "bench-failover.sh needs root (network namespaces)" >&2
    exit 1
fi
if ! command -v ethtool >/dev/null && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ethtool >/dev/null || true
fi
RES=$(mktemp -d /var/tmp/vrrpd-bench.XXXXXX)
trap 'rm -rf "$RES"' EXIT
declare -A VERSION=()
for d in $DAEMONS; do
    case $d in
    keepalived) VERSION[$d]="keepalived $(keepalived -v 2>&1 | awk 'NR == 1 {print $2}')" ;;
    vrrpd)
        VERSION[$d]=vrrpd
        if [[ -z ${VRRPD_BIN:-} ]] && command -v cargo >/dev/null; then
            echo "== building vrrpd (cargo build --release)" >&2
            cargo build --release --quiet >&2 || echo "   build failed: vrrpd column will be n/a" >&2
        fi ;;
    esac
    echo "== $d: $RUNS runs" >&2
    rc=0
    DAEMON=$d bash "$0" --one "$RES/$d.tsv" >"$RES/$d.out" 2>&1 || rc=$?
    grep -a '^  \[' "$RES/$d.out" | grep -a "\[$d\]" >&2 || true
    if ((rc == 77)); then
        echo "   $d not available: $(grep -a SKIP "$RES/$d.out" | head -n 1)" >&2
        rm -f "$RES/$d.tsv"
    elif ((rc != 0)); then
        echo "   $d run failed (exit $rc):" >&2
        tail -n 20 "$RES/$d.out" | sed 's/^/     /' >&2
        # keep partial results
    fi
done

# Table: one row per metric, one "median / min / max" column per daemon.
metrics=$(cat "$RES"/*.tsv 2>/dev/null | cut -f1 | awk '!seen[$0]++')
printf '\nvrrpd failover benchmark - %s - %s, %s CPUs, kernel %s - %s runs\n\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$(nproc)" "$(uname -r)" "$RUNS"
printf '| %-72s |' "metric (median / min / max)"
for d in $DAEMONS; do printf ' %-24s |' "${VERSION[$d]}"; done
printf '\n|%s|' "$(printf -- '-%.0s' {1..74})"
for d in $DAEMONS; do printf '%s|' "$(printf -- '-%.0s' {1..26})"; done
printf '\n'
while IFS= read -r m; do
    [[ $m ]] || continue
    printf '| %-72s |' "$m"
    for d in $DAEMONS; do
        cell=n/a
        if [[ -f $RES/$d.tsv ]]; then
            cell=$(awk -F'\t' -v m="$m" '$1 == m {print $2}' "$RES/$d.tsv" | sort -g | awk '
                { v[NR] = $1 }
                END {
                    if (!NR) { print "n/a"; exit }
                    med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                    printf "%g / %g / %g", med, v[1], v[NR]
                }')
        fi
        printf ' %-24s |' "$cell"
    done
    printf '\n'
done <<<"$metrics"
[[ $metrics ]] || echo "(no results)"
