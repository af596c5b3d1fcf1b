# shellcheck shell=bash
# netns-tests/interop.sh - helpers for the keepalived <-> vrrpd interop
# scenarios (2N-interop-*.sh).  Sources lib.sh (same lab, same teardown).
#
# Both daemons run in one cluster: start_as DAEMON NODE CONF sets DAEMON
# only for that start (lib.sh's start_daemon reads $DAEMON at call time;
# stop/kill/wait work from the recorded PIDs, whatever the daemon).  The
# scenarios are the same whatever DAEMON run.sh was given: they always need
# keepalived (the peer) and vrrpd.
#
# Instances ("modes") used by the matrix; A is 192.0.2.20 priority 101,
# B 192.0.2.21 priority 100:
#   v2u  seed loadbalancer1/2: VRRPv2 unicast, PASS auth, VRID 101, 1 s, 192.0.2.30
#   v2m  VI_V2M: VRRPv2 multicast 224.0.0.18, VRID 51, 1 s, 192.0.2.31
#   v3m  VI_V3M: VRRPv3 IPv4 multicast, VRID 52, 0.1 s, 192.0.2.32
#   v3u  VI_V3U: VRRPv3 IPv4 unicast, VRID 53, 0.1 s, 192.0.2.33
#   v6   VI_V6:  VRRPv3 IPv6 ff02::12, VRID 66, 0.1 s, fe80::66 + 2001:db8::66
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IC=interop # templates under netns-tests/conf/interop/
declare -A KIND=()
MODES=(v2u v2m v3m v3u v6)
declare -A M_NAME_A=([v2u]=loadbalancer1 [v2m]=VI_V2M [v3m]=VI_V3M [v3u]=VI_V3U [v6]=VI_V6)
declare -A M_NAME_B=([v2u]=loadbalancer2 [v2m]=VI_V2M [v3m]=VI_V3M [v3u]=VI_V3U [v6]=VI_V6)
declare -A M_VRID=([v2u]=101 [v2m]=51 [v3m]=52 [v3u]=53 [v6]=66)
declare -A M_VER=([v2u]=2 [v2m]=2 [v3m]=3 [v3u]=3 [v6]=3)
declare -A M_INT=([v2u]=1 [v2m]=1 [v3m]=0.1 [v3u]=0.1 [v6]=0.1)
declare -A M_VIP=([v2u]=192.0.2.30 [v2m]=192.0.2.31 [v3m]=192.0.2.32 [v3u]=192.0.2.33 [v6]=2001:db8::66)
declare -A M_DESC=([v2u]="v2 unicast PASS" [v2m]="v2 multicast" [v3m]="v3 IPv4 mcast" [v3u]="v3 IPv4 unicast" [v6]="v3 IPv6")

# mode_name NODE MODE: the instance name in NODE's config.
mode_name() { if [[ $1 == a ]]; then echo "${M_NAME_A[$2]}"; else echo "${M_NAME_B[$2]}"; fi; }
# mode_src NODE MODE: the source address of NODE's adverts for MODE.
mode_src() { if [[ $2 == v6 ]]; then echo "${NODE_LL[$1]}"; else echo "${NODE_V4[$1]}"; fi; }
other() { if [[ $1 == a ]]; then echo b; else echo a; fi; }

require_both() {
    DAEMON=keepalived require_daemon
    DAEMON=vrrpd require_daemon
    say "keepalived: $(keepalived -v 2>&1 | head -n 1); vrrpd: $(DAEMON=vrrpd daemon_bin)"
}

# start_as DAEMON NODE CONF: start_daemon with DAEMON chosen for this node.
start_as() {
    local d=$1 n=$2 c=$3
    DAEMON=$d start_daemon "$n" "$c"
    KIND[$n]=$d
}
# stop_node NODE: SIGTERM (graceful); works for either daemon.
stop_node() { DAEMON=${KIND[$1]} stop_daemon "$1"; }
crash_node() { kill_daemon "$1"; }

# vmac_failover FROM TO ADDR LINK: FROM (Master) stops and TO takes ADDR
# over on its LINK (a VMAC); the client's neighbour entry for ADDR is $VMAC
# before and after, and FROM's LINK is gone after its stop. The caller
# defines `vip_on NODE` (ADDR on NODE's LINK) and `neigh_mac` (the client's
# entry), and runs the client against ADDR (68, 101).
vmac_failover() {
    local from=$1 to=$2 addr=$3 link=$4 t mac
    check "the client is answered by $from" wait_for 5 client_says "node-$from"
    mac=$(neigh_mac)
    say "client's neighbour entry for $addr before: $mac"
    check "it is the virtual MAC" eval "[[ '$mac' == '$VMAC' ]]"
    t=$(now)
    stop_node "$from"
    check "$to holds $addr on $link" wait_for 5 vip_on "$to"
    check "the client is answered by $to" wait_for 5 client_says "node-$to"
    read -r last first <<<"$(client_outage "node-$from" "node-$to" "$t")"
    [[ $first ]] && say "client outage: $(ms "$(fcalc "$first - $last")")"
    mac=$(neigh_mac)
    say "client's neighbour entry for $addr after: $mac"
    check "still the virtual MAC" eval "[[ '$mac' == '$VMAC' ]]"
    check "$from's $link is gone after its stop" wait_for 2 eval "! ip -n $(ns "$from") link show $link >/dev/null 2>&1"
}

# ------------------------------------------------------------ configs

# seed_variant NODE VARIANT: the published seed (lib.sh's mapping), for
# VARIANT normal | nopreempt (A: state BACKUP + nopreempt) | equal (priority 100).
seed_variant() {
    local n=$1 v=$2 i=1
    [[ $n == b ]] && i=2
    case $v in
    normal) seed_config "$i" ;;
    nopreempt) seed_config "$i" | sed -e 's/state MASTER/state BACKUP/' -e 's/^\( *\)priority \(.*\)$/&\n\1nopreempt/' ;;
    equal) seed_config "$i" | sed -e 's/priority 10[01]/priority 100/' ;;
    esac
}

# matrix_conf NODE VARIANT [KEY=VALUE...]: seed instance + the four other
# modes (conf/interop/matrix.conf.in); prints the file name.
matrix_conf() {
    local n=$1 v=$2; shift 2
    local prio=101 state=MASTER np=
    [[ $n == b ]] && prio=100 state=BACKUP
    case $v in
    nopreempt) [[ $n == a ]] && state=BACKUP np=nopreempt ;;
    equal) prio=100 ;;
    esac
    local f=$WORK/$n-$v.conf
    {
        seed_variant "$n" "$v"
        conf_render "$IC/matrix.conf.in" PRIO=$prio STATE=$state NOPREEMPT=$np \
            SELF="${NODE_V4[$n]}" PEER="${NODE_V4[$(other "$n")]}" "$@"
    } >"$f"
    printf '%s' "$f"
}

# ------------------------------------------------------------ captures

# pcap_refresh: one tshark pass over br0.pcap into $WORK/pkts.csv:
#   epoch,ip.src,ipv6.src,vrid,prio,eth.src,arp.src.proto,na.target
# lib.sh's tcpdump runs without --immediate-mode, so libpcap hands packets
# over in blocks, up to ~1 s late: wait (at most 3 s) until the capture
# holds a packet from after the call, so everything before it is in.
pcap_refresh() {
    local t end
    t=$(now)
    end=$(fcalc "$t + 3")
    while :; do
        tshark -r "$WORK/br0.pcap" -n -o vrrp.v3_checksum_as_in_v2:FALSE \
            -Y 'vrrp || (arp.opcode == 1 && arp.src.proto_ipv4 == arp.dst.proto_ipv4) || icmpv6.type == 136' \
            -T fields -E separator=, -e frame.time_epoch -e ip.src -e ipv6.src -e vrrp.virt_rtr_id \
            -e vrrp.prio -e eth.src -e arp.src.proto_ipv4 -e icmpv6.nd.na.target_address \
            >"$WORK/pkts.csv" 2>/dev/null || true
        awk -F, -v t="$t" '$1 >= t {f = 1} END {exit !f}' "$WORK/pkts.csv" && return 0
        fle "$EPOCHREALTIME" "$end" || { say "note: capture has nothing after $t yet"; return 0; }
        sleep 0.2
    done
}
# adverts SRC VRID [AFTER] [BEFORE]: "epoch prio" of SRC's adverts for VRID.
adverts() {
    awk -F, -v s="$1" -v v="$2" -v a="${3:-0}" -v b="${4:-9e12}" \
        '$4 == v && ($2 == s || $3 == s) && $1 >= a && $1 <= b {print $1, $5}' "$WORK/pkts.csv"
}
last_adv() { adverts "$@" | awk '$2 > 0 {t = $1} END {if (t) print t}'; }
first_p0() { adverts "$@" | awk '$2 == 0 {print $1; exit}'; }
# announces ADDR MAC [AFTER]: epochs of gratuitous ARPs / unsolicited NAs for ADDR from MAC.
announces() {
    awk -F, -v ip="$1" -v m="$2" -v a="${3:-0}" \
        '$6 == m && ($7 == ip || $8 == ip) && $1 >= a {print $1}' "$WORK/pkts.csv"
}

# ------------------------------------------------------------ results

RESULTS=()
# row MODE EVENT MEASURED BOUND VERDICT: one line of the scenario's table.
row() { RESULTS+=("$(printf '%-21s %-42s %10s %11s  %s' "$@")"); }
print_table() {
    printf '  %-21s %-42s %10s %11s  %s\n' mode event measured bound verdict
    local r
    for r in "${RESULTS[@]}"; do printf '  %s\n' "$r"; done
}
# bounded MODE EVENT SECONDS BOUND: record a row; fail (after the table) if over.
BAD=()
bounded() {
    local m=$1 e=$2 d=$3 b=$4 v=ok
    if [[ -z $d ]]; then v=MISSING; BAD+=("$m: $e: no measurement")
    elif ! fle "$d" "$b"; then v=OVER; BAD+=("$m: $e: $(ms "$d") > $(ms "$b")"); fi
    row "${M_DESC[$m]:-$m}" "$e" "${d:+$(ms "$d")}" "$(ms "$b")" "$v"
}
verdict() {
    print_table
    if ((${#BAD[@]})); then
        local b
        for b in "${BAD[@]}"; do printf '  VIOLATED: %s\n' "$b"; done
        fail "${#BAD[@]} bound(s) violated"
    fi
}

# ------------------------------------------------------------ logs

# LOGCHK rows: node|daemon|expected text|found
LOGCHK=()
LOGBAD=()
# expect_log NODE TEXT [SINCE_LINE]: NODE's log (after line SINCE) contains TEXT.
expect_log() {
    local n=$1 text=$2 since=${3:-0} ok=yes
    grep -qaF -- "$text" <(tail -n +"$((since + 1))" "$WORK/$n.log") || ok=no
    LOGCHK+=("$(printf '%-10s %-5s %-3s %s' "${KIND[$n]}" "$n" "$ok" "$text")")
    if [[ $ok == no ]]; then
        LOGBAD+=("${KIND[$n]} on $n did not log: $text")
    fi
}
log_mark() { wc -l <"$WORK/$1.log"; }
# log_report: print the table; a line vrrpd did not log is a failure; one
# keepalived did not log is printed (our expectation of keepalived is wrong).
log_report() {
    local r b nfail=0
    printf '  log lines (daemon node found text):\n'
    for r in "${LOGCHK[@]}"; do printf '    %s\n' "$r"; done
    for b in "${LOGBAD[@]}"; do
        if [[ $b == vrrpd* ]]; then printf '  LOG FAIL: %s\n' "$b"; nfail=$((nfail + 1))
        else printf '  note (reference): %s\n' "$b"; fi
    done
    ((nfail == 0)) || fail "$nfail keepalived log line(s) missing from vrrpd's output"
}

# ------------------------------------------------------------ state

# all_vips NODE MODES...: NODE holds the VIP of every mode listed.
all_vips() { local n=$1 m; shift; for m in "$@"; do has_vip "$n" "${M_VIP[$m]}" || return 1; done; }
no_vips() { local n=$1 m; shift; for m in "$@"; do no_vip "$n" "${M_VIP[$m]}" || return 1; done; }
# masters MODE: which nodes hold MODE's VIP ("a", "b", "ab" or "").
masters() { local s=; has_vip a "${M_VIP[$1]}" && s+=a; has_vip b "${M_VIP[$1]}" && s+=b; echo "$s"; }
# max_mdi NODE_PRIO MODES...: the largest Master_Down_Interval among MODES.
max_mdi() {
    local p=$1 m x=0; shift
    for m in "$@"; do
        x=$(awk -v a="$x" -v b="$(master_down "${M_VER[$m]}" "$p" "${M_INT[$m]}")" 'BEGIN{print (a > b) ? a : b}')
    done
    echo "$x"
}
# partition NODE / heal NODE: block / forward NODE's bridge port (carrier stays up).
partition() { ip netns exec "$NS_BR" bridge link set dev "p$1" state 0; }
heal() { ip netns exec "$NS_BR" bridge link set dev "p$1" state 3; }

# steady_window SECONDS [MODES...]: A holds every VIP, B none, no
# transition logged and no VIP event on either node for SECONDS.
steady_window() {
    local secs=$1; shift
    local modes=("$@") m t ta tb
    ((${#modes[@]})) || modes=("${MODES[@]}")
    t=$(now) ta=$(transitions a) tb=$(transitions b)
    # shellcheck disable=SC2016
    hold_for "$secs" eval 'all_vips a "${modes[@]}" && no_vips b "${modes[@]}" &&
        [[ $(transitions a) == "$ta" && $(transitions b) == "$tb" ]]' \
        || fail "steady state broken within ${secs} s (A: $(state_summary a), B: $(state_summary b))"
    for m in "${modes[@]}"; do
        [[ -z $(vip_times a del "${M_VIP[$m]}" "$t") && -z $(vip_times b add "${M_VIP[$m]}" "$t") ]] \
            || fail "${M_DESC[$m]}: a VIP moved during the steady window"
    done
    say "ok: steady for ${secs} s: A (${KIND[a]}) master of ${#modes[@]} instance(s), B (${KIND[b]}) backup, no transition, no VIP event"
}
state_summary() { ip -n "$(ns "$1")" -o addr show dev "$LAB_IF" | awk '$3 ~ /inet/ && $4 !~ /^(192\.0\.2\.2[01]|2001:db8::2[01]|fe80::ff:)/ {printf "%s ", $4}'; }

# ------------------------------------------------------------ the matrix

# matrix_preempt LABEL DA: A (DA) starts again with its normal config and
# preempts B; B yields.  Checks timing, overlap and both sides' log lines.
matrix_preempt() {
    local label=$1 da=$2 m t0 ma mb ta tb mdi
    ma=$(log_mark a) mb=$(log_mark b)
    t0=$(now)
    start_as "$da" a "$WORK/a-normal.conf"
    mdi=$(max_mdi 101 "${MODES[@]}")
    wait_for "$(fcalc "$mdi + 3")" eval 'all_vips a "${MODES[@]}" && no_vips b "${MODES[@]}"' \
        || fail "$label: A did not take every VIP back from B"
    say "$label: A holds every VIP again, B none"
    for m in "${MODES[@]}"; do
        ta=$(vip_first a add "${M_VIP[$m]}" "$t0")
        tb=$(vip_first b del "${M_VIP[$m]}" "$t0")
        bounded "$m" "$label: start A -> VIP on A" "${ta:+$(fcalc "$ta - $t0")}" \
            "$(fcalc "$(master_down "${M_VER[$m]}" 101 "${M_INT[$m]}") + 1")"
        bounded "$m" "$label: overlap (B del - A add)" "${tb:+${ta:+$(fcalc "$tb - $ta")}}" "${M_INT[$m]}"
        expect_log a "($(mode_name a "$m")) Entering BACKUP STATE (init)" "$ma"
        expect_log a "($(mode_name a "$m")) received lower priority (100) advert from $(mode_src b "$m") - discarding" "$ma"
        expect_log a "($(mode_name a "$m")) Entering MASTER STATE" "$ma"
        expect_log b "($(mode_name b "$m")) Master received advert from $(mode_src a "$m") with higher priority 101, ours 100" "$mb"
        expect_log b "($(mode_name b "$m")) Entering BACKUP STATE" "$mb"
    done
}

# run_matrix DA DB: A (priority 101) runs DA, B (100) runs DB; every mode
# at once: steady, graceful handover, preemption back, crash failover,
# preemption after the crash, nopreempt, equal priorities.
run_matrix() {
    local da=$1 db=$2 m t0 ma mb tp tv tl d mdi
    require_both
    lab_up a b c
    matrix_conf a normal >/dev/null
    matrix_conf b normal >/dev/null
    matrix_conf a nopreempt >/dev/null
    matrix_conf a equal >/dev/null

    # --- start: A master of all five, B backup.
    start_as "$da" a "$WORK/a-normal.conf"
    mdi=$(max_mdi 101 "${MODES[@]}")
    wait_for "$(fcalc "$mdi + 3")" all_vips a "${MODES[@]}" || fail "A did not become master of every mode"
    start_as "$db" b "$WORK/b-normal.conf"
    # B's pid file can come before its instances log their start (Entering
    # BACKUP STATE (init)): the steady window counts transitions from here.
    wait_for 3 eval '(($(transitions b) >= ${#MODES[@]}))' || fail "B did not start its instances"
    steady_window "${STEADY_SECS:-3}"

    # --- graceful handover: A stops (priority 0), B takes over within Skew_Time.
    ma=$(log_mark a) mb=$(log_mark b)
    t0=$(now)
    stop_node a
    wait_for 3 all_vips b "${MODES[@]}" || fail "graceful: B did not take every VIP"
    check "graceful: A released every VIP" no_vips a "${MODES[@]}"
    pcap_refresh
    for m in "${MODES[@]}"; do
        tp=$(first_p0 "$(mode_src a "$m")" "${M_VRID[$m]}" "$t0")
        tv=$(vip_first b add "${M_VIP[$m]}" "$t0")
        bounded "$m" "graceful: prio 0 -> VIP on B" "${tp:+${tv:+$(fcalc "$tv - $tp")}}" \
            "$(fcalc "$(skew_time "${M_VER[$m]}" 100 "${M_INT[$m]}") + 0.05")"
        [[ -n $(announces "${M_VIP[$m]}" "${NODE_MAC[b]}" "$t0") ]] || BAD+=("$m: graceful: no GARP/NA from B")
        expect_log a "($(mode_name a "$m")) sent 0 priority" "$ma"
        expect_log b "($(mode_name b "$m")) Backup received priority 0 advertisement" "$mb"
        expect_log b "($(mode_name b "$m")) Entering MASTER STATE" "$mb"
    done

    # --- preemption back.
    matrix_preempt "preempt" "$da"

    # --- crash failover: SIGKILL A; B takes over Master_Down_Interval after A's last advert.
    ma=$(log_mark a) mb=$(log_mark b)
    t0=$(now)
    crash_node a
    mdi=$(max_mdi 100 "${MODES[@]}")
    wait_for "$(fcalc "$mdi + 2")" all_vips b "${MODES[@]}" || fail "crash: B did not take every VIP"
    pcap_refresh
    local stale=0
    for m in "${MODES[@]}"; do
        tl=$(last_adv "$(mode_src a "$m")" "${M_VRID[$m]}" 0 "$(fcalc "$t0 + 0.05")")
        tv=$(vip_first b add "${M_VIP[$m]}" "$t0")
        bounded "$m" "crash: last advert -> VIP on B" "${tl:+${tv:+$(fcalc "$tv - $tl")}}" \
            "$(fcalc "$(master_down "${M_VER[$m]}" 100 "${M_INT[$m]}") + 0.05")"
        [[ -n $(announces "${M_VIP[$m]}" "${NODE_MAC[b]}" "$t0") ]] || BAD+=("$m: crash: no GARP/NA from B")
        has_vip a "${M_VIP[$m]}" && stale=$((stale + 1))
        expect_log b "($(mode_name b "$m")) Receive advertisement timeout" "$mb"
        expect_log b "($(mode_name b "$m")) Entering MASTER STATE" "$mb"
    done
    say "crash: the SIGKILLed $da on A left $stale of ${#MODES[@]} VIPs configured (nobody to remove them); B took over anyway"

    # --- preemption after the crash: A's daemon removes the stale VIPs at start.
    matrix_preempt "preempt after crash" "$da"

    # --- nopreempt: A (state BACKUP, nopreempt) comes back and leaves B master.
    stop_node a
    wait_for 3 all_vips b "${MODES[@]}" || fail "nopreempt: B did not take over from the stopped A"
    ma=$(log_mark a)
    start_as "$da" a "$WORK/a-nopreempt.conf"
    mdi=$(max_mdi 101 "${MODES[@]}")
    t0=$(now)
    # shellcheck disable=SC2016
    hold_for "$(fcalc "$mdi + 1")" eval 'all_vips b "${MODES[@]}" && no_vips a "${MODES[@]}"' \
        || fail "nopreempt: A (priority 101, nopreempt) took a VIP from B"
    d=$(fcalc "$(now) - $t0")
    for m in "${MODES[@]}"; do
        row "${M_DESC[$m]}" "nopreempt: B kept master for" "$(ms "$d")" ">= $(ms "$(fcalc "$(master_down "${M_VER[$m]}" 101 "${M_INT[$m]}")")")" ok
        expect_log a "($(mode_name a "$m")) Entering BACKUP STATE (init)" "$ma"
    done
    grep -aq "Entering MASTER STATE" <(tail -n +"$((ma + 1))" "$WORK/a.log") && fail "nopreempt: A logged MASTER"
    say "ok: nopreempt: A (101, nopreempt) stayed backup behind B (100) for $(ms "$d")"

    # --- equal priorities: A at 100 too; cut A off so both become master, heal:
    #     the higher primary address (B) stays master, A yields, both agree.
    stop_node a
    start_as "$da" a "$WORK/a-equal.conf"
    sleep 0.5
    mdi=$(max_mdi 100 "${MODES[@]}")
    check "equal: A (100) stays backup behind B (100) before the cut" hold_for 1 no_vips a "${MODES[@]}"
    partition a
    wait_for "$(fcalc "$mdi + 2")" eval 'all_vips a "${MODES[@]}" && all_vips b "${MODES[@]}"' \
        || { heal a; fail "equal: cut off, A did not become master of every mode"; }
    say "equal: A cut off (bridge port pa blocked): both masters of every mode"
    ma=$(log_mark a) mb=$(log_mark b)
    t0=$(now)
    heal a
    wait_for 3 eval 'no_vips a "${MODES[@]}" && all_vips b "${MODES[@]}"' || fail "equal: after the heal A still holds a VIP, or B lost one"
    check "equal: B (higher address) stays the only master for 1 s" hold_for 1 eval 'no_vips a "${MODES[@]}" && all_vips b "${MODES[@]}"'
    for m in "${MODES[@]}"; do
        tv=$(vip_first a del "${M_VIP[$m]}" "$t0")
        bounded "$m" "equal: heal -> A yields" "${tv:+$(fcalc "$tv - $t0")}" "$(fcalc "${M_INT[$m]} + 0.1")"
        expect_log a "($(mode_name a "$m")) Master received advert from $(mode_src b "$m") with same priority 100 but higher IP address than ours" "$ma"
        expect_log a "($(mode_name a "$m")) Entering BACKUP STATE" "$ma"
        # B sees a lower-address advert only if A sent one after the heal
        # (vrrpd's step-down advert does; keepalived yields silently).
        if [[ $da == vrrpd ]]; then
            expect_log b "($(mode_name b "$m")) Received advert from $(mode_src a "$m") with lower priority 100, ours 100, forcing new election" "$mb"
        fi
    done
    grep -aq "Entering BACKUP STATE" <(tail -n +"$((mb + 1))" "$WORK/b.log") && fail "equal: B (higher address) yielded"

    verdict
    log_report
    finish
}
