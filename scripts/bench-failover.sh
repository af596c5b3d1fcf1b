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
#     processes) and CPU (sum of /proc/PID/task/*/schedstat) with 1, 100
#     and 1000 instances (idle1000: VRRPv2 unicast on 4 segments), for the
#     master and the backup; with 1000 instances (1 s) and, section
#     late300, 300 VRRPv3 instances at 0.1 s, the master's advert lateness
#     (gap minus the interval, per instance, pooled) from a capture where
#     A's interfaces transmit, LATE_S (30) s per run.
#   - upgrade: the master upgraded while the client polls every 10 ms;
#     vrrpd: its binary replaced by a rebuilt one (renamed over the file it
#     runs from, as dpkg does) and `vrrpd upgrade`; keepalived: what its
#     package does, a restart. Per run: failed client requests, the longest
#     client gap, the master's longest gap between adverts (capture), the
#     transitions the peer logged; at 1 s (VRRPv2) and 0.1 s (VRRPv3), and
#     for vrrpd also with keepalived as the Backup.
#   - reload100: 100 reloads sent back to back to the master of 100 VRRPv3
#     instances at 0.1 s (SIGHUP; for vrrpd also `vrrpd reload` over the
#     control socket): the master's advert lateness against an idle window
#     of the same length, transitions, time until the reloads are applied.
#   - saturate: VRRPv3 at 0.02 s while one busy loop per CPU runs in the
#     master's namespace for SAT_S (120) s, SAT_RUNS (3) windows with the
#     loops in a session of their own and 3 in the daemon's session: the
#     master's advert gap p99 and max, the backup's transitions.
#     SAT_MODES ("own daemon") picks the placements; SAT_PROBE=1 adds a
#     realtime stall probe per CPU and lists each gap over 30 ms beside the
#     probes' stalls and the daemon's late-send lines (a diagnosis: the
#     probes take a little CPU from both daemons).
# Scenarios: the seed (VRRPv2 unicast, PASS, 1 s) and VRRPv3 IPv4 at 0.1 s.
# A daemon that is not available prints "n/a".  Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
DAEMONS=${DAEMONS:-"keepalived vrrpd"}
# SECTIONS: any of "seed v3 upgrade probe reload100 saturate idle100 idle1000 late300" (all by default), to re-measure one part.
SECTIONS=${SECTIONS:-"seed v3 upgrade probe reload100 saturate idle100 idle1000 late300"}
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
    # segment_lateness LABEL SECS INTERVAL: A's adverts captured where A's
    # eth1-eth4 transmit (tcpdump in A's namespace, µs stamps) for SECS;
    # per instance (segment, VRID) the gap between consecutive adverts
    # minus INTERVAL, pooled: p50 / p99 / max (ms) and the gap count.
    segment_lateness() {
        local label=$1 secs=$2 adv=$3 k pids=() p50 p99 max cnt
        for ((k = 1; k <= 4; k++)); do
            bg ip netns exec "$(ns a)" tcpdump -i "eth$k" -n -U --immediate-mode -B 8192 -s 96 \
                --time-stamp-precision=micro -w "$WORK/late-eth$k.pcap" 'ip proto 112 and src host 203.0.113.'"$((16 * (k - 1) + 1))" \
                2>"$WORK/late-eth$k.err"
            pids+=("$BG_LAST")
        done
        for ((k = 1; k <= 4; k++)); do
            wait_for 5 grep -q listening "$WORK/late-eth$k.err" || fail "tcpdump on eth$k did not start"
        done
        sleep "$secs"
        kill "${pids[@]}" 2>/dev/null || true
        sleep 0.5
        read -r p50 p99 max cnt < <(for ((k = 1; k <= 4; k++)); do
            tshark -r "$WORK/late-eth$k.pcap" -n -Y 'vrrp.prio > 0' -T fields -E separator=' ' \
                -e frame.time_epoch -e vrrp.virt_rtr_id 2>/dev/null | sed "s/\$/ $k/"
        done | awk -v adv="$adv" '{ key = $3 "/" $2; if (key in last) print (($1 - last[key]) - adv) * 1000; last[key] = $1 }' |
            sort -g | awk '{ v[++n] = $1 } END {
                if (!n) { print "nan nan nan 0"; exit }
                i50 = int(n * 0.50 + 0.999999); i99 = int(n * 0.99 + 0.999999)
                printf "%.3f %.3f %.3f %d\n", v[i50], v[i99], v[n], n }')
        progress "  $label: $cnt gaps, advert lateness p50 $p50 p99 $p99 max $max ms"
        rec "$label: advert lateness p50 (ms)" "$p50"
        rec "$label: advert lateness p99 (ms) [target 1]" "$p99"
        rec "$label: advert lateness max (ms) [target 5]" "$max"
        rm -f "$WORK"/late-eth*.pcap
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

    if section upgrade; then
    need jq
    # up_run LABEL ADV VRID CONF_A: one upgrade of A (see the header), then
    # 3 intervals + 1 s of steady state; records the run's figures.
    up_run() {
        local label=$1 adv=$2 vrid=$3 conf_a=$4 tb t0 t1 out js
        tb=$(transitions b)
        t0=$(now)
        if is_keepalived; then
            stop_daemon a
            start_daemon a "$conf_a" 2>/dev/null >&2
            settle_a "$VIP" "$(fcalc "4*$adv + 3")"
        else
            cp "$UP_REAL" "$WORK/bin/vrrpd.new"
            mv -f "$WORK/bin/vrrpd.new" "$WORK/bin/vrrpd"
            out=$(ip netns exec "$(ns a)" "$WORK/vrrpd-client" upgrade --socket "$WORK/a/daemon.sock" 2>&1) ||
                progress "  note: $label: vrrpd upgrade failed: $out"
            DPID[a]=$(cat "$WORK/a/daemon.pid")
            DVPID[a]=${DPID[a]}
        fi
        sleep "$(fcalc "3*$adv + 1")"
        t1=$(now)
        rec "$label: failed client requests" "$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b && $2 == "-"' "$WORK/client.txt" | wc -l)"
        rec_ms "$label: longest client gap (ms)" "$(awk -v a="$t0" -v b="$t1" '$1 < a {if ($2 != "-") last = $1; next}
            $1 > b {exit}
            $2 != "-" {if (last && $1 - last > g) g = $1 - last; last = $1}
            END {printf "%.6f\n", g}' "$WORK/client.txt")"
        js=$("$PY" "$NT_DIR/tools/pcapstat.py" "$WORK/br0.pcap" --from "$t0" --to "$t1" --interval "$adv" --vrids "$vrid")
        rec "$label: master's longest advert gap (ms) [target $(ms "$(fcalc "$adv + 0.005")")]" "$(jq -r '.lateness.max_gap_ms // "nan"' <<<"$js")"
        rec "$label: priority-0 adverts from the master" "$(jq -r '.nodes.a.prio0' <<<"$js")"
        rec "$label: transitions logged by the peer" "$(($(transitions b) - tb))"
    }
    if ! is_keepalived; then
        # A runs from a copy its upgrades replace; the client stays a copy.
        mkdir -p "$WORK/bin"
        UP_REAL=$(daemon_bin)
        cp "$UP_REAL" "$WORK/bin/vrrpd"
        cp "$UP_REAL" "$WORK/vrrpd-client"
    fi
    peers=$DAEMON
    if ! is_keepalived && command -v keepalived >/dev/null; then peers+=" keepalived"; fi
    for peer in $peers; do
        for mode in "v2-multicast.conf.in 1 51 v2 1 s" "v3-ipv4.conf.in 0.1 52 v3 0.1 s"; do
            read -r tmpl adv vrid name <<<"$mode"
            label="upgrade, $name"
            [[ $peer != "$DAEMON" ]] && label+=", $peer backup"
            progress "$label: $RUNS upgrades of the master"
            if is_keepalived; then
                start_daemon a "$(conf_for a "$tmpl")" >&2
            else
                VRRPD_BIN=$WORK/bin/vrrpd start_daemon a "$(conf_for a "$tmpl")" >&2
            fi
            settle_a "$VIP" "$(fcalc "4*$adv + 3")"
            DAEMON=$peer start_daemon b "$(conf_for b "$tmpl")" >&2
            sleep "$(fcalc "4*$adv + 1")"
            for ((r = 1; r <= RUNS; r++)); do
                up_run "$label" "$adv" "$vrid" "$WORK/a.conf"
                progress "  run $r/$RUNS done"
            done
            stop_daemon a
            DAEMON=$peer stop_daemon b
        done
    done
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

    if section reload100; then
    # 100 VRRPv3 instances at 0.1 s (VRIDs 1..100, VIP 198.51.100.N, A 101
    # Master, B 100), multicast.  Per run: an idle window, then A is sent
    # 100 reloads back to back (SIGHUP as fast as the shell sends them; for
    # vrrpd also 100 sequential `vrrpd reload` over the control socket, each
    # waiting for its answer).  Ten of the hundred are preceded by a config
    # change: VI_1's virtual_ipaddress_excluded alternates between
    # 203.0.113.1 and .2 (one address removed and one added per applied
    # change; not in the adverts, so B's VIP-list check is not involved),
    # swapped in by rename so a reload never reads half a file.
    # From the bridge capture: A's advert lateness (per VRID, gap between
    # consecutive adverts of priority > 0 minus 0.1 s; all VRIDs pooled)
    # for every gap that overlaps the storm (first reload sent to 0.2 s
    # after the last one was applied), and over an idle window of the same
    # length just before.  Timestamps of "Reloading" and
    # "Reload complete" are taken as the lines reach the log (logstamp.py:
    # keepalived's own are whole seconds).
    progress "100 instances (VRRPv3 multicast, 0.1 s): $RUNS x 100 reloads back to back"
    # r100_conf NODE [EXCLUDED]: the 100-instance config.
    r100_conf() {
        local n=$1 x=${2:-} prio=101 state=MASTER i
        [[ $n == b ]] && prio=100 state=BACKUP
        printf 'global_defs {\n    vrrp_version 3\n}\n'
        for ((i = 1; i <= 100; i++)); do
            printf 'vrrp_instance VI_%d {\n    state %s\n    interface %s\n    virtual_router_id %d\n    priority %d\n    advert_int 0.1\n    virtual_ipaddress {\n        198.51.100.%d/32\n    }\n' \
                "$i" "$state" "$LAB_IF" "$i" "$prio" "$i"
            if ((i == 1)) && [[ $x ]]; then
                printf '    virtual_ipaddress_excluded {\n        %s/32\n    }\n' "$x"
            fi
            printf '}\n'
        done
    }
    r100_conf a 203.0.113.1 >"$WORK/r100-ax.conf"
    r100_conf a 203.0.113.2 >"$WORK/r100-ay.conf"
    r100_conf b >"$WORK/r100-b.conf"
    # r100_bvips: VIP additions seen on B so far (ip monitor).
    r100_bvips() { grep -acE '^\[[^]]*\] +[0-9]+: .* inet (198\.51\.100|203\.0\.113)\.' "$WORK/mon-b.txt" || true; }
    # r100_stamped PATTERN [AFTER]: stamped reload lines of A matching PATTERN.
    r100_stamped() { awk -v a="${2:-0}" -v p="$1" '$1 >= a && $0 ~ p' "$WORK/r100-a-reloads.txt"; }
    # r100_storm hup|ctl: 100 reloads, a config switch before every tenth.
    r100_storm() {
        local kind=$1 i k=0 src
        for ((i = 1; i <= 10; i++)); do
            src=$WORK/r100-ay.conf
            ((i % 2)) || src=$WORK/r100-ax.conf
            cp "$src" "$WORK/a/next-$i.conf"
        done
        R100_FAILED=0
        for ((i = 1; i <= 100; i++)); do
            if ((i % 10 == 1)); then
                k=$((k + 1))
                mv -f "$WORK/a/next-$k.conf" "${DCONF[a]}"
            fi
            if [[ $kind == hup ]]; then
                kill -HUP "${DPID[a]}"
            else
                ctl a reload >/dev/null 2>&1 || R100_FAILED=$((R100_FAILED + 1))
            fi
        done
    }
    # r100_measure LABEL hup|ctl: idle window, storm, wait until applied.
    # Leaves "T0 T_DONE BASELINE_LEN LABEL" in R100_WINDOWS for the capture
    # analysis after the section (no tshark while measuring).
    declare -A R100_IDLE=([hup]=4 [ctl]=4)
    R100_WINDOWS=()
    r100_measure() {
        local label=$1 kind=$2 ta tb bv la lb_ t0 tdone n c open last_c=-1 stable_since idle lb tr
        ta=$(transitions a) tb=$(transitions b)
        idle=${R100_IDLE[$kind]}
        sleep "$idle"
        tr=$(($(transitions a) - ta + $(transitions b) - tb))
        ((tr == 0)) || progress "  note: $label: $tr transition(s) in the idle window before"
        ta=$(transitions a) tb=$(transitions b) bv=$(r100_bvips)
        la=$(wc -l <"$WORK/a.log") lb_=$(wc -l <"$WORK/b.log")
        t0=$(now)
        r100_storm "$kind"
        progress "  $label: sent in $(ms "$(fcalc "$(now) - $t0")")"
        # Applied: every "Reloading" since t0 has its "Reload complete"
        # (or "Reload failed"), and nothing new for 1.5 s (at most 60 s).
        # Polled every 0.1 s (the times come from the stamps).
        stable_since=$(now)
        for ((n = 0; n < 600; n++)); do
            read -r c open < <(awk -v a="$t0" '$1 >= a { c++; if ($0 ~ / Reloading$/) o++; else o-- }
                END { printf "%d %d\n", c, o }' "$WORK/r100-a-reloads.txt")
            if ((c != last_c)); then last_c=$c stable_since=$(now); fi
            if ((c > 0 && open <= 0)) && fle 1.5 "$(fcalc "$(now) - $stable_since")"; then
                break
            fi
            sleep 0.1
        done
        tdone=$(r100_stamped 'Reload (complete|failed)' "$t0" | awk 'END {print $1}')
        [[ $tdone ]] || fail "$label: no reload was applied within 60 s"
        rec "$label: reloads applied (\"Reload complete\" lines)" "$(r100_stamped 'Reload complete' "$t0" | wc -l)"
        rec "$label: reloads refused (\"Reload failed\" lines)" "$(r100_stamped 'Reload failed' "$t0" | wc -l)"
        rec_ms "$label: first reload sent -> last one applied (ms)" "$(fcalc "$tdone - $t0")"
        # Per reload, in the daemon: "Reloading" -> its "Reload complete".
        r100_stamped 'Reload(ing$| complete)' "$t0" | awk '
            / Reloading$/ { s = $1; next }
            s { d = ($1 - s) * 1000; sum += d; if (d > max) max = d; k++; s = 0 }
            END { if (k) printf "%.1f %.1f\n", sum / k, max }' | {
            read -r mean longest || true
            if [[ $mean ]]; then
                rec "$label: one reload in the daemon, mean (ms)" "$mean"
                rec "$label: one reload in the daemon, longest (ms)" "$longest"
            fi
        }
        [[ $kind == ctl ]] && rec "$label: \`vrrpd reload\` not answered ok" "$R100_FAILED"
        sleep 0.3
        tr=$(($(transitions a) - ta + $(transitions b) - tb))
        rec "$label: transitions on A or B (logs)" "$tr"
        rec "$label: VIPs taken by B" "$(($(r100_bvips) - bv))"
        if ((tr != 0)); then
            progress "  note: $label: $tr transition(s):"
            { tail -n +"$((la + 1))" "$WORK/a.log" | grep -aE 'Entering [A-Z]+ STATE|late' | sed 's/^/A: /'
              tail -n +"$((lb_ + 1))" "$WORK/b.log" | grep -aE 'Entering [A-Z]+ STATE' | sed 's/^/B: /'; } |
                head -n 12 | cut -c1-160 | while IFS= read -r l; do progress "    $l"; done
        fi
        # The last file A read (every switch even: the first one) is in force.
        if ! { has_vip a 203.0.113.1 && no_vip a 203.0.113.2 &&
            (($(ip -n "$(ns a)" -o addr show dev "$LAB_IF" | grep -c 'inet 198\.51\.100\.') == 100)); }; then
            progress "  note: $label: A does not hold its 100 VIPs + 203.0.113.1 after the reloads"
        fi
        # Baseline: the same length as the storm window, just before it.
        lb=$(fcalc "$tdone + 0.2 - $t0")
        fle "$lb" "$(fcalc "$idle - 0.5")" || {
            progress "  note: $label: storm window $(ms "$lb") longer than the idle window; baseline $(ms "$(fcalc "$idle - 0.5")")"
            lb=$(fcalc "$idle - 0.5")
        }
        R100_IDLE[$kind]=$(awk -v l="$(fcalc "$tdone + 0.2 - $t0")" 'BEGIN {printf "%.1f", (l + 1 > 4) ? l + 1 : 4}')
        R100_WINDOWS+=("$t0 $tdone $lb $label")
    }

    bg "$PY" "$NT_DIR/tools/logstamp.py" "$WORK/a.log" 'Reload(ing$| complete| failed)' >"$WORK/r100-a-reloads.txt"
    R100_STAMP=$BG_LAST
    start_daemon a "$WORK/r100-ax.conf" >&2
    wait_for 8 has_vip a 198.51.100.100 || fail "A did not become master of 100 instances"
    start_daemon b "$WORK/r100-b.conf" >&2
    sleep 3
    [[ $(ip -n "$(ns a)" -o addr show | grep -c 'inet 198\.51\.100\.') == 100 ]] || fail "A does not hold 100 VIPs"
    [[ $(ip -n "$(ns b)" -o addr show | grep -c 'inet 198\.51\.100\.') == 0 ]] || fail "B holds VIPs after settling"
    kinds=hup
    if ! is_keepalived; then
        # shellcheck source-path=SCRIPTDIR/.. source=netns-tests/control-lib.sh
        . netns-tests/control-lib.sh
        if [[ -S $WORK/a/daemon.sock ]]; then
            kinds="hup ctl"
        else
            progress "  note: no control socket at $WORK/a/daemon.sock: no \`vrrpd reload\` run"
        fi
    fi
    for ((r = 1; r <= RUNS; r++)); do
        rec "reload100: 1-min load average at the run" "$(cut -d' ' -f1 /proc/loadavg)"
        for kind in $kinds; do
            label="reload100 SIGHUP x100"
            [[ $kind == ctl ]] && label="reload100 ctl reload x100"
            r100_measure "$label" "$kind"
        done
        progress "  run $r/$RUNS done (load $(cut -d' ' -f1-3 /proc/loadavg))"
    done
    stop_daemon a
    stop_daemon b
    kill "$R100_STAMP" 2>/dev/null || true
    sleep 0.5
    # Every advert of A: "epoch vrid"; lateness per window.
    tsh "vrrp && ip.src == ${NODE_V4[a]} && vrrp.prio > 0" frame.time_epoch vrrp.virt_rtr_id >"$WORK/r100-adv.txt"
    for w in "${R100_WINDOWS[@]}"; do
        read -r t0 tdone lb label <<<"$w"
        while read -r which p50 p99 max cnt early; do
            progress "  $label: $which: $cnt gaps ($early < 50 ms), lateness p50 $p50 p99 $p99 max $max ms"
            w_label=$label
            [[ $which == storm ]] || w_label+=": idle (same length)"
            rec "$w_label: advert lateness p50 (ms)" "$p50"
            rec "$w_label: advert lateness p99 (ms)" "$p99"
            rec "$w_label: advert lateness max (ms)" "$max"
            rec "$w_label: gaps < 50 ms (extra adverts)" "$early"
            if [[ $which == storm ]] && ! fle "$max" 25; then
                progress "  note: $label: an advert $max ms late"
            fi
        done < <(awk -v s0="$t0" -v s1="$(fcalc "$tdone + 0.2")" -v b0="$(fcalc "$t0 - $lb")" '
            {
                t = $1; v = $2
                if (v in last) {
                    g = (t - last[v] - 0.1) * 1000
                    if (t > s0 && last[v] < s1) print "storm", g
                    else if (t > b0 && t <= s0) print "idle", g
                }
                last[v] = t
            }' "$WORK/r100-adv.txt" | sort -k1,1 -k2,2g | awk '
            function flush() {
                if (!n) return
                i50 = int(n * 0.50 + 0.999999); i99 = int(n * 0.99 + 0.999999)
                printf "%s %.1f %.1f %.1f %d %d\n", k, v[i50], v[i99], v[n], n, e
            }
            $1 != k { flush(); k = $1; n = 0; e = 0 }
            { v[++n] = $2; if ($2 < -50) e++ }
            END { flush() }')
    done
    fi

    if section saturate; then
    # VRRPv3 at 0.02 s (Master_Down_Interval 62 ms on B), both CPUs kept
    # busy by one shell loop per CPU in A's namespace for SAT_S seconds,
    # SAT_RUNS windows per placement of the hog: "own session" (setsid: an
    # autogroup of its own, the scheduler shares the CPU between the groups)
    # and "daemon's session" (started as the daemon was, from this script:
    # one autogroup with the daemon, which then gets a plain thread's
    # share). Per window: A's advert gaps from the capture (p99, max), B's
    # transitions (a false failover), adverts B sent.
    SAT_S=${SAT_S:-120}
    # On a VM, the time the hypervisor gave this guest's CPUs to someone
    # else (/proc/stat "steal", all CPUs, in USER_HZ ticks): a late wake-up
    # that no guest setting can prevent.
    host_steal_ms() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {print int($9 * 1000 / hz); exit}' /proc/stat; }
    SAT_RUNS=${SAT_RUNS:-3}
    SAT_MODES=${SAT_MODES:-"own daemon"}
    # SAT_GLOBAL: one more global_defs line for both daemons (e.g.
    # "vrrp_rt_priority 1" for keepalived's realtime option).
    nl=$'\n'
    sat_conf() {
        printf 'global_defs {\n    vrrp_version 3\n%s}\nvrrp_instance VI_1 {\n    state BACKUP\n    interface %s\n    virtual_router_id 53\n    priority %d\n    advert_int 0.02\n    virtual_ipaddress {\n        %s\n    }\n}\n' "${SAT_GLOBAL:+    $SAT_GLOBAL$nl}" "$LAB_IF" "$1" "$VIP"
    }
    sat_conf 101 >"$WORK/sat-a.conf"
    sat_conf 100 >"$WORK/sat-b.conf"
    start_daemon a "$WORK/sat-a.conf" >&2
    settle_a "$VIP" 3
    start_daemon b "$WORK/sat-b.conf" >&2
    sleep 1
    for mode in $SAT_MODES; do
        for ((r = 1; r <= SAT_RUNS; r++)); do
            label="saturated 0.02 s, hog in its own session"
            [[ $mode == daemon ]] && label="saturated 0.02 s, hog in the daemon's session"
            tb=$(transitions b)
            hogs=()
            for ((c = 0; c < $(nproc); c++)); do
                if [[ $mode == own ]]; then
                    ip netns exec "$(ns a)" setsid bash -c 'while :; do :; done' &
                else
                    ip netns exec "$(ns a)" bash -c 'while :; do :; done' &
                fi
                hogs+=($!)
            done
            sleep 0.2
            hog_sid=$(ps -o sid= -p "${hogs[0]}" | tr -d ' ')
            daemon_sid=$(ps -o sid= -p "${DVPID[a]}" | tr -d ' ')
            if [[ $mode == own && $hog_sid == "$daemon_sid" ]] || [[ $mode == daemon && $hog_sid != "$daemon_sid" ]]; then
                progress "  note: $label: hog session $hog_sid, daemon session $daemon_sid"
            fi
            # SAT_PROBE=1: a realtime probe per CPU (stallprobe.py --fifo)
            # beside the hog, naming when a CPU itself did not run; each
            # gap over 30 ms is then listed with the probes' stalls and
            # the daemon's own late-send lines around it.
            probes=()
            if [[ ${SAT_PROBE:-} ]]; then
                for ((c = 0; c < $(nproc); c++)); do
                    "$PY" "$NT_DIR/tools/stallprobe.py" --duration "$((SAT_S + 5))" --fifo 50 --cpu "$c" \
                        --log-over-ms 5 >"$WORK/probe-$c.json" &
                    probes+=($!)
                done
            fi
            log_lines=$(wc -l <"$WORK/a.log")
            steal0=$(host_steal_ms)
            t0=$(now)
            sleep "$SAT_S"
            t1=$(now)
            steal=$(($(host_steal_ms) - steal0))
            kill "${hogs[@]}" 2>/dev/null || true
            wait "${hogs[@]}" 2>/dev/null || true
            if ((${#probes[@]})); then
                kill -TERM "${probes[@]}" 2>/dev/null || true
                wait "${probes[@]}" 2>/dev/null || true
            fi
            sleep 1
            js=$("$PY" "$NT_DIR/tools/pcapstat.py" "$WORK/br0.pcap" --from "$t0" --to "$t1" --interval 0.02 --vrids 53 --long-gap-ms 30)
            if [[ ${SAT_PROBE:-} ]]; then
                for ((c = 0; c < $(nproc); c++)); do
                    progress "    CPU $c realtime probe: $(jq -c '{p99, max, stalls}' "$WORK/probe-$c.json")"
                done
                progress "    gaps over 30 ms (end, ms): $(jq -c '.lateness.long_gaps' <<<"$js")"
                progress "    daemon's late-send lines: $(tail -n +"$((log_lines + 1))" "$WORK/a.log" | grep -c -i 'late' || true)"
                { tail -n +"$((log_lines + 1))" "$WORK/a.log" | grep -i 'late' || true; } | head -5 | while read -r l; do progress "      $l"; done
            fi
            p99=$(jq -r '.lateness.p99 // "nan"' <<<"$js")
            rec "$label: master's advert gap p99 (ms) [target 21]" "$(awk -v l="$p99" 'BEGIN{printf "%.1f", l + 20}')"
            rec "$label: master's advert gap max (ms) [target 30]" "$(jq -r '.lateness.max_gap_ms // "nan"' <<<"$js")"
            rec "$label: false failovers (B's transitions)" "$(($(transitions b) - tb))"
            rec "$label: adverts B sent" "$(jq -r '.nodes.b.adverts' <<<"$js")"
            rec "$label: host steal time, ms (the hypervisor ran something else)" "$steal"
            progress "  $label: run $r/$SAT_RUNS: gap p99 $(awk -v l="$p99" 'BEGIN{printf "%.1f", l + 20}') max $(jq -r '.lateness.max_gap_ms' <<<"$js") ms, B transitions $(($(transitions b) - tb)), host steal $steal ms"
            settle_a "$VIP" 3
        done
    done
    stop_daemon a
    stop_daemon b
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
    stop_daemon a
    stop_daemon b
    fi

    if section idle1000; then
    # 1000 VRRPv2 instances at 1 s, unicast (the reference setup's mode),
    # 250 per segment: VRIDs are per interface, so A and B are joined by 4
    # more veth pairs (eth1-eth4, 203.0.113.16k+1/+2 /28) beside the lab's
    # eth0, which stays unused here. The VIPs 198.51.100.1-250 repeat on
    # each segment (both daemons accept that; only 762 documentation
    # addresses exist).
    progress "1000 instances (VRRPv2 unicast, 1 s, 4 segments): idle memory and CPU"
    capture_stop
    thousand_lab
    start_daemon a "$WORK/a-1000.conf" >&2
    wait_for 20 eval '(($(ip -n "$(ns a)" -o -4 addr show | grep -c " 198\.51\.100\.") == 1000))' ||
        fail "A did not become master of 1000 instances"
    start_daemon b "$WORK/b-1000.conf" >&2
    sleep 10
    [[ $(ip -n "$(ns b)" -o -4 addr show | grep -c " 198\.51\.100\.") == 0 ]] || fail "B holds VIPs"
    sample_idle "idle, 1000 instances"
    for ((r = 1; r <= RUNS; r++)); do
        segment_lateness "1000 instances at 1 s, master" "${LATE_S:-30}" 1
    done
    stop_daemon a
    stop_daemon b
    for k in 1 2 3 4; do ip -n "$(ns a)" link del "eth$k"; done
    fi

    if section late300; then
    # 300 VRRPv3 instances at 0.1 s, unicast, 75 per segment on eth1-eth4:
    # the Master's advert lateness from the capture (LATE_S s per run).
    progress "300 instances (VRRPv3 unicast, 0.1 s, 4 segments): advert lateness"
    capture_stop
    thousand_lab 300 0.1 3
    start_daemon a "$WORK/a-300.conf" >&2
    wait_for 20 eval '(($(ip -n "$(ns a)" -o -4 addr show | grep -c " 198\.51\.100\.") == 300))' ||
        fail "A did not become master of 300 instances"
    start_daemon b "$WORK/b-300.conf" >&2
    sleep 5
    [[ $(ip -n "$(ns b)" -o -4 addr show | grep -c " 198\.51\.100\.") == 0 ]] || fail "B holds VIPs"
    for ((r = 1; r <= RUNS; r++)); do
        segment_lateness "300 instances at 0.1 s, master" "${LATE_S:-30}" 0.1
    done
    stop_daemon a
    stop_daemon b
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
