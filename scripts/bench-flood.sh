#!/usr/bin/env bash
# Flood benchmark: vrrpd and keepalived side by side, in one run on the same
# namespaces (netns-tests/lib.sh's lab), A Master priority 101, B Backup
# priority 100, VRRPv3; a third namespace C floods the bridge
# (netns-tests/tools/flood.py: frames built by scapy, sent through a raw
# socket with time-based pacing; the rate reached is measured, not assumed).
#
#   scripts/bench-flood.sh                          # the full grid, RUNS=5
#   RUNS=1 FLOOD_S=5 KINDS="oversized lowprio" RATES=2000 SECTIONS=one scripts/bench-flood.sh
#   DAEMONS=vrrpd VRRPD_BIN=target/debug/vrrpd scripts/bench-flood.sh
#   scripts/bench-flood.sh --table A.tsv B.tsv      # the table of saved runs
#   BENCH_GLOBAL='vrrp_rt_priority 1' scripts/bench-flood.sh   # global_defs lines for both daemons
#   BENCH_KEEP=DIR scripts/bench-flood.sh           # keep each run's captures and flood report in DIR
#
# Flood kinds (KINDS, all by default), each claiming priority 254 unless said:
#   oversized    1400-byte protocol-112 datagrams to 224.0.0.18
#   truncated    VRRPv3 adverts for our VRID cut 2 bytes short
#   ttl          valid adverts for our VRID with IP TTL 64
#   unknownvrid  valid adverts for VRIDs nobody runs (201-250)
#   nonpeer      valid adverts for our VRID unicast to A's address from C, a
#                non-peer: both nodes run unicast (unicast_src_ip, the other
#                node as unicast_peer) with check_unicast_src, so both
#                daemons should drop them; what is measured is the load
#   lowprio      valid adverts for our VRID at priority 1 (a Master answers
#                each with an advert and a gratuitous ARP burst)
# Rates (RATES): 200, 2000 and 10000 frames/s, FLOOD_S seconds each (10).
# Sections (SECTIONS):
#   one     1 instance, VRID 52, advert_int 0.1 s, VIP 192.0.2.30
#   many    100 instances, VRIDs 1-100, advert_int MANY_INT (1 s), VIPs
#           198.51.100.1-100; the flood cycles over the 100 VRIDs.  At 0.1 s
#           the Master alone would send 1000 adverts/s and the Backup read
#           as many: with the flood sender, tcpdump and both nodes on a
#           2-core box the figures would measure the box, not the daemons
#           (MANY_INT=0.1 runs it anyway).
# Per run (RUNS per cell, 5):
#   - false failover: a VIP on B (or A without one) at any 100 ms sample, a
#     VIP added on B per `ip monitor`, or B entering MASTER per its log
#   - A's advert lateness p50/p99/max: per VRID, each gap between two of
#     A's adverts minus the interval (p50/p99 over all the cell's runs'
#     gaps pooled, kept in TSV.late), from a capture of what A's interface
#     transmits (flood-lib.sh says why not the bridge's; the bridge's p99
#     and max are the TSV's last two columns) (negative
#     when A sends more often than its interval: answers to the flood)
#   - frames each node sent per second during the flood, adverts and
#     GARP/NA apart, by Ethernet source
#   - each daemon's CPU (utime + stime delta from /proc/PID/stat, every
#     process of the daemon, % of one core) and max RSS during the flood
#   - the control: how late the box woke an ordinary process (a 1 ms sleep
#     at SCHED_OTHER, nice 0: netns-tests/tools/stallprobe.py), p99 / max;
#     a daemon's lateness is read against it
# The lab's veths receive in their own NAPI threads (lab_rx_threads), so
# each daemon is charged for its own work, not for the softirqs of frames it
# sends. CPU figures are noisy on a shared 2-core machine. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DAEMONS=${DAEMONS:-"keepalived vrrpd"}
SECTIONS=${SECTIONS:-"one many"}
KINDS=${KINDS:-"oversized truncated ttl unknownvrid nonpeer lowprio"}
RATES=${RATES:-"200 2000 10000"}
FLOOD_S=${FLOOD_S:-10}
MANY_INT=${MANY_INT:-1}
export RUNS DAEMONS SECTIONS KINDS RATES FLOOD_S MANY_INT

# ------------------------------------------------------------ the lab
if [[ ${1:-} == --lab ]]; then
    OUT=$2
    # shellcheck disable=SC2034 # read by lib.sh
    NT_QUIET_LOGS=1
    # shellcheck source-path=SCRIPTDIR/.. source=netns-tests/lib.sh
    . netns-tests/lib.sh
    # shellcheck source=netns-tests/flood-lib.sh
    . netns-tests/flood-lib.sh
    progress() { printf '  [%s] %s\n' "$(date -u +%T)" "$*" >&2; }

    # conf NODE SECTION MODE: the instances of SECTION, multicast (mc) or
    # unicast with check_unicast_src (uc).
    conf() {
        local n=$1 sec=$2 mode=$3 prio=101 self=${NODE_V4[a]} peer=${NODE_V4[b]} i uc=""
        if [[ $n == b ]]; then prio=100 self=${NODE_V4[b]} peer=${NODE_V4[a]}; fi
        [[ $mode == uc ]] && uc=$(printf '    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n    check_unicast_src\n' "$self" "$peer")
        [[ ${BENCH_GLOBAL:-} ]] && printf 'global_defs {\n%b\n}\n' "$BENCH_GLOBAL"
        for i in $(vrid_seq "$sec"); do
            printf 'vrrp_instance VI_%d {\n    state BACKUP\n    interface %s\n    version 3\n    virtual_router_id %d\n    priority %d\n    advert_int %s\n%s\n    virtual_ipaddress {\n        %s/32\n    }\n}\n' \
                "$i" "$LAB_IF" "$i" "$prio" "$(interval "$sec")" "$uc" "$(vip_of "$sec" "$i")"
        done
    }
    vrid_seq() { if [[ $1 == one ]]; then echo 52; else seq 1 100; fi; }
    vrid_spec() { if [[ $1 == one ]]; then echo 52; else echo 1-100; fi; }
    interval() { if [[ $1 == one ]]; then echo 0.1; else echo "$MANY_INT"; fi; }
    vip_of() { if [[ $1 == one ]]; then echo "$VIP"; else echo "198.51.100.$2"; fi; }
    count_of() { if [[ $1 == one ]]; then echo 1; else echo 100; fi; }
    # vips NODE: how many of the section's VIPs NODE holds.
    vips() { ip -n "$(ns "$1")" -o -4 addr show dev "$LAB_IF" | grep -cE " inet ($VIP_RE)/" || true; }
    settled() { (($(vips a) == NVIP && $(vips b) == 0)); }
    # shellcheck disable=SC2317 # called through wait_for
    a_holds_all() { (($(vips a) == NVIP)); }
    # cpu_ticks NODE: utime + stime of every process of the daemon.
    cpu_ticks() {
        local p sum=0 v
        for p in $(daemon_pids "$1"); do
            v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
            sum=$((sum + ${v:-0}))
        done
        echo "$sum"
    }
    rss_kb() {
        local p sum=0 v
        for p in $(daemon_pids "$1"); do
            v=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$p/status" 2>/dev/null)
            sum=$((sum + ${v:-0}))
        done
        echo "$sum"
    }
    masters() { grep -acE "Entering MASTER STATE" "$WORK/$1.log" 2>/dev/null || true; }

    # start_pair SECTION MODE: A first (it becomes Master of every instance),
    # then B; returns after the Master's delayed GARP burst (5 s).
    start_pair() {
        local sec=$1 mode=$2 md
        conf a "$sec" "$mode" >"$WORK/a-$sec-$mode.conf"
        conf b "$sec" "$mode" >"$WORK/b-$sec-$mode.conf"
        md=$(master_down 3 101 "$(interval "$sec")")
        start_daemon a "$WORK/a-$sec-$mode.conf" >&2
        wait_for "$(fcalc "$md + 8")" a_holds_all || fail "$DAEMON: A did not become master of $NVIP instances"
        start_daemon b "$WORK/b-$sec-$mode.conf" >&2
        sleep 6
        settled || fail "$DAEMON: A master, B backup did not settle"
    }
    # stop_pair: SIGTERM to both; a daemon still busy after a flood gets 30 s
    # (noted when it needs more than 2), then SIGKILL.
    stop_pair() {
        local n t took
        for n in a b; do
            daemon_alive "$n" || continue
            t=$(now)
            kill -TERM "${DPID[$n]}"
            if wait_for 30 not_running "${DPID[$n]}"; then
                took=$(fcalc "$(now) - $t")
                fle "$took" 2 || progress "    note: $DAEMON on $n took $took s to exit after SIGTERM"
                if [[ ${DVPID[$n]} ]]; then wait_for 2 not_running "${DVPID[$n]}" || true; fi
                reap_daemon "$n"
            else
                progress "    note: $DAEMON on $n still running 30 s after SIGTERM: SIGKILL"
                kill_daemon "$n"
            fi
        done
    }
    # resettle SECTION MODE: after a false failover, back to A Master, B
    # Backup; restart both when they do not get there by themselves.
    resettle() {
        if wait_for "$(fcalc "4 * $(interval "$1") + 5")" settled; then
            sleep 1
            return 0
        fi
        progress "    $DAEMON did not settle back: restarting both"
        stop_pair
        start_pair "$1" "$2"
    }

    # one_run SECTION KIND RATE RUN
    one_run() {
        local sec=$1 kind=$2 rate=$3 run=$4 iv mb0 mon_a mon_b c0a c0b c1a c1b rx0 rx1 t0 t1 el
        local fkind=$kind stall_pid opts=() rssa=0 rssb=0 r both=0 bonly=0 alost=0 fo=0 bm madd mdel i=0 va vb max_samples
        max_samples=$(awk -v s="$FLOOD_S" 'BEGIN{printf "%d", s * 20 + 100}')
        iv=$(interval "$sec")
        opts=(--vrids "$(vrid_spec "$sec")" --adv-cs "$(awk -v i="$iv" 'BEGIN{printf "%d", i * 100}')" --prio 254)
        [[ $sec == many ]] && opts+=(--vip '198.51.100.{vrid}')
        case $kind in
        nonpeer) fkind=valid opts+=(--dst "${NODE_V4[a]}" --dst-mac "${NODE_MAC[a]}") ;;
        lowprio) fkind=valid opts+=(--prio 1) ;;
        esac
        settled || resettle "$sec" "$(mode_of "$kind")"
        mb0=$(masters b)
        mon_a=$(wc -l <"$WORK/mon-a.txt")
        mon_b=$(wc -l <"$WORK/mon-b.txt")
        flood_capture_start "$WORK/run.pcap"
        sleep "$(fcalc "$iv + 0.3")"
        c0a=$(cpu_ticks a) c0b=$(cpu_ticks b) rx0=$(port_rx c)
        flood_start "$WORK/flood.json" "$fkind" "$rate" "$FLOOD_S" "${opts[@]}"
        # The control: how late the box wakes an ordinary process meanwhile.
        "$PY" netns-tests/tools/stallprobe.py --duration "$FLOOD_S" >"$WORK/stall.json" &
        stall_pid=$!
        # 100 ms samples while the flood lasts (bounded, should flood.py hang).
        while ! not_running "$FLOOD_PID" && ((i++ < max_samples)); do
            va=$(vips a) vb=$(vips b)
            ((vb > 0 && va > 0)) && both=$((both + 1))
            ((vb > 0 && va == 0)) && bonly=$((bonly + 1))
            ((va < NVIP)) && alost=$((alost + 1))
            r=$(rss_kb a)
            ((r > rssa)) && rssa=$r
            r=$(rss_kb b)
            ((r > rssb)) && rssb=$r
            sleep 0.1
        done
        flood_wait
        wait "$stall_pid" || true
        c1a=$(cpu_ticks a) c1b=$(cpu_ticks b) rx1=$(port_rx c)
        # A Backup that fell behind may act on its backlog after the flood.
        sleep 0.5
        flood_capture_stop
        t0=$(jget "$WORK/flood.json" t_first)
        t1=$(jget "$WORK/flood.json" t_last)
        el=$(jget "$WORK/flood.json" elapsed)
        [[ $t0 != None ]] || fail "flood.py reported nothing: $(cat "$WORK/flood.json.err")"
        pcapstat "$WORK/run.pcap" "$t0" "$t1" "$iv" --vrids "$(vrid_spec "$sec")" >"$WORK/stat.json"
        pcapstat "$WORK/run.pcap.a" "$t0" "$t1" "$iv" --vrids "$(vrid_spec "$sec")" --samples >"$WORK/stat-a.json"
        # Every gap's lateness, for the table's p50/p99 pooled over a cell's runs.
        "$PY" -c 'import json, sys; print(" ".join(sys.argv[2:] + [str(x) for x in json.load(open(sys.argv[1]))["lateness"].get("samples", [])]))' \
            "$WORK/stat-a.json" "$sec" "$kind" "$rate" "$DAEMON" "$run" >>"$OUT.late"
        if [[ ${BENCH_KEEP:-} ]]; then
            mkdir -p "$BENCH_KEEP"
            mv "$WORK/run.pcap" "$BENCH_KEEP/$DAEMON-$sec-$kind-$rate-$run.pcap"
            mv "$WORK/run.pcap.a" "$BENCH_KEEP/$DAEMON-$sec-$kind-$rate-$run.a.pcap"
            cp "$WORK/flood.json" "$BENCH_KEEP/$DAEMON-$sec-$kind-$rate-$run.flood.json"
        fi
        rm -f "$WORK/run.pcap" "$WORK/run.pcap.a"
        bm=$(($(masters b) - mb0))
        madd=$(tail -n +"$((mon_b + 1))" "$WORK/mon-b.txt" | grep -v Deleted | grep -cE " inet ($VIP_RE)/" || true)
        mdel=$(tail -n +"$((mon_a + 1))" "$WORK/mon-a.txt" | grep Deleted | grep -cE " inet ($VIP_RE)/" || true)
        ((both + bonly + alost + bm + madd + mdel > 0)) && fo=1
        st() { jget "$WORK/stat.json" "$1"; }
        sta() { jget "$WORK/stat-a.json" "$1"; }
        local rec=("$sec" "$kind" "$rate" "$DAEMON" "$run"
            "$(awk -v n="$((rx1 - rx0))" -v e="$el" 'BEGIN{printf "%.0f", n / e}')" "$(jget "$WORK/flood.json" pps)"
            "$fo" "$bm" "$both" "$bonly" "$alost"
            "$(sta lateness.p50)" "$(sta lateness.p99)" "$(sta lateness.max)"
            "$(st nodes.a.adverts_ps)" "$(awk -v g="$(st nodes.a.garps_ps)" -v n="$(st nodes.a.nas_ps)" 'BEGIN{print g + n}')"
            "$(st nodes.b.adverts_ps)" "$(awk -v g="$(st nodes.b.garps_ps)" -v n="$(st nodes.b.nas_ps)" 'BEGIN{print g + n}')"
            "$(awk -v d="$((c1a - c0a))" -v e="$el" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", 100 * d / hz / e}')"
            "$(awk -v d="$((c1b - c0b))" -v e="$el" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", 100 * d / hz / e}')"
            "$(awk -v k="$rssa" 'BEGIN{printf "%.1f", k / 1024}')" "$(awk -v k="$rssb" 'BEGIN{printf "%.1f", k / 1024}')"
            "$FLOOD_CAP_DROPS" "$madd" "$mdel" "$(st lateness.p99)" "$(st lateness.max)"
            "$(jget "$WORK/stall.json" p99)" "$(jget "$WORK/stall.json" max)")
        (IFS=$'\t'; echo "${rec[*]}") >>"$OUT"
        progress "    $DAEMON $sec $kind $rate pps run $run: $(tail -n 1 "$OUT" | cut -f6,8,13-23 | tr '\t' ' ')"
        if ((fo)); then resettle "$sec" "$(mode_of "$kind")"; fi
        # A lower-priority flood leaves a delayed burst (garp_lower_prio_delay, 5 s).
        if [[ $kind == lowprio ]]; then sleep 5.5; else sleep 1; fi
    }
    mode_of() { if [[ $1 == nonpeer ]]; then echo uc; else echo mc; fi; }

    lab_up a b c
    # Each run has its own capture of A's and B's frames (flood-lib.sh).
    capture_stop
    lab_rx_threads
    for sec in $SECTIONS; do
        NVIP=$(count_of "$sec")
        if [[ $sec == one ]]; then VIP_RE='192\.0\.2\.30'; else VIP_RE='198\.51\.100\.[0-9]+'; fi
        for kind in $KINDS; do
            for d in $DAEMONS; do
                DAEMON=$d
                daemon_available || { progress "$d not available ($(daemon_bin))"; continue; }
                progress "$d: $sec ($NVIP instance(s), $(interval "$sec") s), $kind flood, rates $RATES, $RUNS run(s) each"
                start_pair "$sec" "$(mode_of "$kind")"
                for rate in $RATES; do
                    for ((r = 1; r <= RUNS; r++)); do one_run "$sec" "$kind" "$rate" "$r"; done
                done
                stop_pair
            done
        done
    done
    exit 0
fi

# ------------------------------------------------------------ parent
if [[ ${1:-} == --table ]]; then
    # --table TSV...: the table again from saved per-run figures (merged).
    shift
    exec /usr/bin/python3 scripts/bench_flood_table.py --many-int "$MANY_INT" "$@"
fi
if [[ $(id -u) != 0 ]]; then
    echo "bench-flood.sh needs root (network namespaces)" >&2
    exit 1
fi
for c in ethtool tcpdump; do
    if ! command -v "$c" >/dev/null && command -v apt-get >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$c" >/dev/null || true
    fi
done
if ! /usr/bin/python3 -c 'import scapy' 2>/dev/null && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-scapy >/dev/null || true
fi
RES=$(mktemp -d /var/tmp/vrrpd-bench-flood.XXXXXX)
trap 'rm -rf "$RES"' EXIT
declare -A VERSION=()
for d in $DAEMONS; do
    case $d in
    keepalived) VERSION[$d]="keepalived $(keepalived -v 2>&1 | awk 'NR == 1 {print $2}')" ;;
    vrrpd)
        if [[ -z ${VRRPD_BIN:-} ]] && command -v cargo >/dev/null; then
            echo "== building vrrpd (cargo build --release)" >&2
            cargo build --release --quiet >&2 || echo "   build failed: no vrrpd rows" >&2
            # The release build, even when a debug build is newer (lib.sh
            # would take the newer).
            export VRRPD_BIN=$PWD/target/release/vrrpd
        fi
        VERSION[$d]="vrrpd $(git log -1 --format=%h 2>/dev/null || true), ${VRRPD_BIN:-the newer of the release and debug builds}" ;;
    esac
done
start=$EPOCHREALTIME
echo "== flood benchmark: sections '$SECTIONS', kinds '$KINDS', rates '$RATES', $RUNS run(s) of ${FLOOD_S} s, daemons '$DAEMONS'" >&2
rc=0
# Progress lines go to the terminal as they come; the rest is kept for a failure.
bash "$0" --lab "$RES/runs.tsv" >"$RES/lab.out" 2> >(tee "$RES/lab.err" | grep -a --line-buffered '^  \[' >&2) || rc=$?
if ((rc != 0)); then
    echo "   the lab run failed (exit $rc):" >&2
    cat "$RES/lab.out" "$RES/lab.err" | tail -n 20 | sed 's/^/     /' >&2
fi
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')

printf '\nvrrpd flood benchmark - %s - %s, %s CPUs, kernel %s - %s run(s) of %s s per cell, %s s in all\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$(nproc)" "$(uname -r)" "$RUNS" "$FLOOD_S" "$took"
for d in $DAEMONS; do printf '%s: %s\n' "$d" "${VERSION[$d]}"; done
[[ -s $RES/runs.tsv ]] || { echo "(no results)"; exit 1; }
cp "$RES/runs.tsv" "${BENCH_TSV:-/var/tmp/bench-flood.tsv}"
[[ -s $RES/runs.tsv.late ]] && cp "$RES/runs.tsv.late" "${BENCH_TSV:-/var/tmp/bench-flood.tsv}.late"
echo "(per-run figures: ${BENCH_TSV:-/var/tmp/bench-flood.tsv})"
/usr/bin/python3 scripts/bench_flood_table.py --many-int "$MANY_INT" "$RES/runs.tsv"
exit "$rc"
