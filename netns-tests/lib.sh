# shellcheck shell=bash
# netns-tests/lib.sh - shared helpers for the end-to-end VRRP scenarios.
#
# Source it from a scenario; it sets `set -euo pipefail` and a trap that
# tears everything down on exit.  The lab:
#
#            namespace BR: bridge br0 (tcpdump runs here)
#            |pa            |pb            |pc
#   node A: eth0       node B: eth0     node C: eth0 (client, hostile traffic)
#   192.0.2.20         192.0.2.21       192.0.2.40
#   2001:db8::20       2001:db8::21     2001:db8::40
#
# Every host lives in a namespace created here (names unique per run:
# vt<PID>a, vt<PID>b, ...); the host's own interfaces are never touched.
# Only documentation ranges are used (192.0.2.0/24, 198.51.100.0/24,
# 203.0.113.0/24, 2001:db8::/32) plus link-local.
#
# The daemon under test is chosen with DAEMON=keepalived|vrrpd; everything
# daemon-specific is in start_daemon/stop_daemon/kill_daemon/hup_daemon/
# resign_daemon below.  Scenario exit codes: 0 pass, 1 fail, 77 skipped,
# 78 passed except for a documented keepalived difference ("xdiff").

set -euo pipefail

NT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$NT_DIR/.." && pwd)
# shellcheck source=netns-tests/paths.sh
. "$NT_DIR/paths.sh"
# cargo's output, where daemon_bin looks when VRRPD_BIN is not set.
TARGET_DIR=
[[ ${VRRPD_BIN:-} ]] || TARGET_DIR=$(cargo_target_dir "$REPO")
DAEMON=${DAEMON:-keepalived}
LAB_IF=eth0
NT_NAME=$(basename "${0%.sh}")
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

# Node addressing (seed mapping: 10.0.0.20 -> 192.0.2.20, .21, VIP .30).
# shellcheck disable=SC2034 # used by the scenarios
declare -A NODE_V4=([a]=192.0.2.20 [b]=192.0.2.21 [c]=192.0.2.40)
declare -A NODE_V6=([a]=2001:db8::20 [b]=2001:db8::21 [c]=2001:db8::40)
# shellcheck disable=SC2034
declare -A NODE_LL=([a]=fe80::ff:fe00:1 [b]=fe80::ff:fe00:2 [c]=fe80::ff:fe00:3)
declare -A NODE_MAC=([a]=02:00:00:00:00:01 [b]=02:00:00:00:00:02 [c]=02:00:00:00:00:03)
VIP=192.0.2.30

NT_ID=vt$$
NS_BR=${NT_ID}br
ns() { printf '%s%s' "$NT_ID" "$1"; }

WORK=$(mktemp -d /var/tmp/vrrpd-netns.XXXXXX)
chmod 755 "$WORK"
T0=$EPOCHREALTIME
BG_PIDS=()
NAMESPACES=()
XDIFFS=()
declare -A DPID=() DVPID=() DCONF=()

# ---------------------------------------------------------------- output

now() { printf '%s' "$EPOCHREALTIME"; }
# say MSG: a timestamped line (seconds since the scenario started).
say() { printf '  [%6.3f] %s\n' "$(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*"; }
title() { printf '== %s (DAEMON=%s)\n' "$*" "$DAEMON"; }
fail() {
    printf '  FAIL: %s\n' "$*" >&2
    dump_logs >&2 || true
    exit 1
}
skip() { printf '  SKIP: %s\n' "$*"; exit 77; }
is_keepalived() { [[ $DAEMON == keepalived ]]; }

# xdiff MSG: a check keepalived is known to fail (the reason vrrpd exists).
# With DAEMON=vrrpd the same situation is a failure.
xdiff() {
    if is_keepalived; then
        printf '  keepalived: expected difference: %s\n' "$*"
        XDIFFS+=("$*")
    else
        fail "$*"
    fi
}

# check DESC CMD...: run CMD; pass or fail loudly.
check() {
    local desc=$1; shift
    if "$@"; then say "ok: $desc"; else fail "$desc"; fi
}
# check_or_xdiff DESC CMD...: like check, but a keepalived failure is an xdiff.
check_or_xdiff() {
    local desc=$1; shift
    if "$@"; then say "ok: $desc"; else xdiff "$desc"; fi
}

# finish: the scenario's verdict and exit code.
finish() {
    if ((${#XDIFFS[@]})); then
        printf '  XDIFF %s: passed, with %d keepalived expected difference(s)\n' "$NT_NAME" "${#XDIFFS[@]}"
        exit 78
    fi
    printf '  PASS %s\n' "$NT_NAME"
    exit 0
}

# Float helpers.
fcalc() { awk "BEGIN{printf \"%.6f\", $*}"; }
fle() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a <= b)}'; }
ms() { awk -v s="$1" 'BEGIN{printf "%.1f ms", s*1000}'; }

# VRRP timers (RFC 3768 / RFC 9568, keepalived's arithmetic).
# skew_time VERSION PRIORITY ADVERT_INT
skew_time() {
    if [[ $1 == 2 ]]; then fcalc "(256-$2)/256"; else fcalc "(256-$2)*$3/256"; fi
}
# master_down VERSION PRIORITY ADVERT_INT
master_down() { fcalc "3*$3 + $(skew_time "$@")"; }

# ---------------------------------------------------------------- teardown

dump_logs() {
    local f
    [[ ${NT_QUIET_LOGS:-} ]] && return 0
    for f in "$WORK"/*.log; do
        [[ -f $f ]] || continue
        printf '  --- last lines of %s\n' "$(basename "$f")"
        tail -n 15 "$f" | sed 's/^/    /'
    done
}

# at_exit SHELL: eval SHELL first when the scenario ends, before the lab's
# own teardown (the latest registered first): for what a scenario starts
# beyond the lab (a container).
EXIT_HOOKS=()
at_exit() { EXIT_HOOKS=("$1" ${EXIT_HOOKS[@]+"${EXIT_HOOKS[@]}"}); }

cleanup() {
    local rc=$? p n h
    set +e
    trap - EXIT INT TERM ERR
    for h in ${EXIT_HOOKS[@]+"${EXIT_HOOKS[@]}"}; do eval "$h"; done
    # Daemons first (graceful, so keepalived's VRRP child goes too), then
    # everything else we started, then whatever still runs inside our
    # namespaces (all started by us).  By PID only.
    for n in "${!DPID[@]}"; do
        [[ -n ${DPID[$n]} ]] && kill -TERM "${DPID[$n]}" 2>/dev/null
    done
    for n in "${!DPID[@]}"; do
        [[ -n ${DPID[$n]} ]] && wait_for 3 eval "! kill -0 ${DPID[$n]} 2>/dev/null"
    done
    for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.2
    for n in "${NAMESPACES[@]}"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    done
    for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2>/dev/null; done
    if [[ ${KEEP_WORK:-} || $rc -ne 0 && $rc -ne 78 && $rc -ne 77 ]]; then
        printf '  (artifacts kept in %s)\n' "$WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
set -E
trap '[[ $BASHPID == "$$" ]] || exit 1; fail "unexpected error at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# bg CMD...: start CMD in the background, remember its PID for teardown.
# The PID is left in BG_LAST.
bg() {
    "$@" &
    BG_LAST=$!
    disown "$BG_LAST"
    BG_PIDS+=("$BG_LAST")
}

# wait_for TIMEOUT_S CMD...: poll CMD every 10 ms until it succeeds.
wait_for() {
    local timeout=$1; shift
    local end
    end=$(fcalc "$EPOCHREALTIME + $timeout")
    while ! "$@"; do
        fle "$EPOCHREALTIME" "$end" || return 1
        sleep 0.01
    done
}
# hold_for SECONDS CMD...: CMD must stay true for the whole period.
hold_for() {
    local secs=$1; shift
    local end
    end=$(fcalc "$EPOCHREALTIME + $secs")
    while fle "$EPOCHREALTIME" "$end"; do
        "$@" || return 1
        sleep 0.05
    done
}

# ---------------------------------------------------------------- the lab

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
    done
}

# lab_up [NODES...]: bridge namespace + nodes (default: a b c).
lab_up() {
    local nodes=("$@") n
    ((${#nodes[@]})) || nodes=(a b c)
    [[ $(id -u) == 0 ]] || skip "needs root (network namespaces)"
    need ip tcpdump tshark "$PY"
    ip netns add "$NS_BR"
    NAMESPACES+=("$NS_BR")
    ip -n "$NS_BR" link set lo up
    # Bridged frames skip the host's iptables (br_netfilter, when loaded,
    # is on by default in every namespace): the lab must not depend on host
    # firewall rules, and its cost would land on whichever daemon sends.
    ip netns exec "$NS_BR" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
        net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
    ip -n "$NS_BR" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    ip -n "$NS_BR" link set br0 up
    for n in "${nodes[@]}"; do node_up "$n"; done
    # tcpdump on the bridge: VRRP, ARP, ICMPv6 (NA), with µs timestamps.
    bg ip netns exec "$NS_BR" tcpdump -i br0 -n -U --immediate-mode -s 512 --time-stamp-precision=micro \
        -w "$WORK/br0.pcap" 'ip proto 112 or ip6 proto 112 or arp or icmp6' 2>"$WORK/tcpdump.err"
    CAPTURE_PID=$BG_LAST
    wait_for 5 grep -q listening "$WORK/tcpdump.err" || fail "tcpdump did not start"
}

# thousand_lab [N [ADVERT_INT [VERSION]]]: A and B joined by 4 more veth
# pairs (eth1-eth4, 203.0.113.16k+1/+2 /28), and $WORK/a-N.conf /
# b-N.conf: N (1000) unicast instances at ADVERT_INT (1) s, VRRP VERSION
# (2), N/4 per segment in turn, A 101 and B 100 (the VIPs 198.51.100.1-250
# repeat per segment). For netns 76 and the bench's idle1000 and late300
# sections.
thousand_lab() {
    local total=${1:-1000} adv=${2:-1} ver=${3:-2} per k n i v prio me peer
    per=$(((total + 3) / 4))
    for ((k = 1; k <= 4; k++)); do
        ip -n "$(ns a)" link add "eth$k" type veth peer name "eth$k" netns "$(ns b)"
        ip -n "$(ns a)" addr add "203.0.113.$((16 * (k - 1) + 1))/28" dev "eth$k"
        ip -n "$(ns b)" addr add "203.0.113.$((16 * (k - 1) + 2))/28" dev "eth$k"
        ip -n "$(ns a)" link set "eth$k" up
        ip -n "$(ns b)" link set "eth$k" up
    done
    for n in a b; do
        prio=101 me=1 peer=2
        [[ $n == b ]] && prio=100 me=2 peer=1
        {
            ((ver == 3)) && printf 'global_defs {\n    vrrp_version 3\n}\n'
            for ((i = 0; i < total; i++)); do
                k=$((i / per + 1)) v=$((i % per + 1))
                printf 'vrrp_instance VI_%d {\n    state BACKUP\n    interface eth%d\n    virtual_router_id %d\n    priority %d\n    advert_int %s\n    unicast_src_ip 203.0.113.%d\n    unicast_peer {\n        203.0.113.%d\n    }\n    virtual_ipaddress {\n        198.51.100.%d/32\n    }\n}\n' \
                    "$i" "$k" "$v" "$prio" "$adv" "$((16 * (k - 1) + me))" "$((16 * (k - 1) + peer))" "$v"
            done
        } >"$WORK/$n-$total.conf"
    done
}

# lab_rx_threads: every veth end processes what it receives in its own NAPI
# kernel thread (GRO on enables NAPI on a veth, TSO off on the sender makes
# every frame take it, sysfs `threaded` moves it to a kthread), as a real
# NIC's receive path runs on the receiving host.
# Without it a veth delivers in the sender's softirq, and on a kernel
# without CONFIG_IRQ_TIME_ACCOUNTING the whole way through the bridge to
# every listening socket is charged to the sending process. For CPU
# measurements; needs ethtool.
lab_rx_threads() {
    local n s
    need ethtool
    for n in "${!NODE_V4[@]}"; do
        s=$(ns "$n")
        ip netns list | grep -qw "$s" || continue
        ip netns exec "$NS_BR" ethtool -K "p$n" gro on tso off
        ip netns exec "$NS_BR" sh -c "echo 1 >/sys/class/net/p$n/threaded"
        ip netns exec "$s" ethtool -K "$LAB_IF" gro on tso off
        ip netns exec "$s" sh -c "echo 1 >/sys/class/net/$LAB_IF/threaded"
    done
}

# capture_stop: end the bridge capture (br0.pcap keeps what it has).
capture_stop() {
    [[ ${CAPTURE_PID:-} ]] || return 0
    kill "$CAPTURE_PID" 2>/dev/null || true
    wait_for 5 not_running "$CAPTURE_PID" || true
    CAPTURE_PID=
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

node_up() {
    local n=$1 s
    s=$(ns "$n")
    ip netns add "$s"
    NAMESPACES+=("$s")
    ip netns exec "$s" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$s" link set lo up
    node_link "$n"
    # Address events with timestamps (the VIP appearing/disappearing).
    bg ip -n "$s" -ts monitor address >"$WORK/mon-$n.txt" 2>&1
}

# node_link NODE: NODE's lab interface (a veth to the bridge) with its MAC
# and addresses; also re-creates it after a scenario deleted it.
node_link() {
    local n=$1 s
    s=$(ns "$n")
    ip -n "$NS_BR" link add "p$n" type veth peer name "$LAB_IF" netns "$s"
    ip -n "$s" link set "$LAB_IF" address "${NODE_MAC[$n]}"
    ip -n "$s" link set "$LAB_IF" up
    ip -n "$s" addr add "${NODE_V4[$n]}/24" dev "$LAB_IF"
    ip -n "$s" addr add "${NODE_V6[$n]}/64" dev "$LAB_IF" nodad
    ip -n "$NS_BR" link set "p$n" master br0 up
}

# http_up NODE: a tiny web server on port 80 answering the node's name.
http_up() {
    local n=$1
    mkdir -p "$WORK/www-$n"
    printf 'node-%s\n' "$n" >"$WORK/www-$n/index.html"
    bg ip netns exec "$(ns "$n")" "$PY" -m http.server 80 --bind :: --directory "$WORK/www-$n" \
        >"$WORK/http-$n.out" 2>&1
    wait_for 5 ip netns exec "$(ns "$n")" curl -s -o /dev/null "http://${NODE_V4[$n]}/" \
        || fail "http server on $n did not start"
}

# client_start URL [INTERVAL]: node C polls URL; answers go to client.txt.
client_start() {
    bg ip netns exec "$(ns c)" "$PY" "$NT_DIR/tools/client.py" "$1" \
        --interval "${2:-0.02}" --timeout 0.2 --duration "${CLIENT_DURATION:-240}" >"$WORK/client.txt"
    CLIENT_PID=$BG_LAST
}
client_stop() { kill -TERM "$CLIENT_PID" 2>/dev/null || true; }
# client_last: the latest answer ("node-a", "node-b" or "-").
client_last() { tail -n 1 "$WORK/client.txt" 2>/dev/null | awk '{print $2}'; }
client_says() { [[ $(client_last) == "$1" ]]; }
# client_outage FROM TO AFTER: prints "last_FROM first_TO" epochs after AFTER.
client_outage() {
    awk -v from="$1" -v to="$2" -v after="$3" '
        $2 == from && !seen { last = $1 }
        $1 >= after && $2 == to && !seen { first = $1; seen = 1 }
        END { if (seen && last) printf "%s %s\n", last, first }' "$WORK/client.txt"
}

# ---------------------------------------------------------------- state

has_vip() {
    local out
    out=$(ip -n "$(ns "$1")" -o addr show dev "$LAB_IF")
    [[ $out =~ inet6?\ $2/ ]]
}
no_vip() { ! has_vip "$@"; }
# vip_times NODE add|del ADDR [AFTER]: epochs of VIP events from ip monitor.
vip_times() { "$PY" "$NT_DIR/tools/montime.py" "$WORK/mon-$1.txt" "$2" "$3" "${4:-0}"; }
vip_first() { vip_times "$@" | awk 'NR == 1'; }
# state_of NODE INSTANCE: last "(INSTANCE) Entering X STATE" in the node's log.
state_of() {
    { grep -aoE "\($2\) Entering [A-Z]+ STATE" "$WORK/$1.log" 2>/dev/null || true; } \
        | tail -n 1 | awk '{print $3}'
}
in_state() { [[ $(state_of "$1" "$2") == "$3" ]]; }
# transitions NODE: number of "Entering ... STATE" lines so far.
transitions() { grep -acE "Entering [A-Z]+ STATE" "$WORK/$1.log" 2>/dev/null || true; }

# ---------------------------------------------------------------- captures

# tsh FILTER FIELDS...: tshark over the bridge capture.
tsh() {
    local filter=$1; shift
    local args=() f
    for f in "$@"; do args+=(-e "$f"); done
    tshark -r "$WORK/br0.pcap" -n -o vrrp.v3_checksum_as_in_v2:FALSE -Y "$filter" \
        -T fields -E separator=' ' "${args[@]}" 2>/dev/null
}
# last_advert SRC [BEFORE]: epoch of SRC's last VRRP advert with priority > 0.
last_advert() {
    tsh "vrrp && ip.src == $1 && vrrp.prio > 0" frame.time_epoch \
        | awk -v b="${2:-9e12}" '$1 <= b {t=$1} END{if (t) print t}'
}
# first_prio0 SRC [AFTER]: epoch of SRC's first priority-0 advert.
first_prio0() {
    local f=ip.src
    [[ $1 == *:* ]] && f=ipv6.src
    tsh "vrrp && $f == $1 && vrrp.prio == 0" frame.time_epoch \
        | awk -v a="${2:-0}" '$1 >= a && !n++'
}
# garps IP MAC [AFTER]: gratuitous ARPs for IP from MAC (sender = target = IP).
garps() {
    tsh "arp.opcode == 1 && arp.src.proto_ipv4 == $1 && arp.dst.proto_ipv4 == $1 && eth.src == $2" \
        frame.time_epoch | awk -v a="${3:-0}" '$1 >= a'
}
# unsolicited_nas IP MAC [AFTER]: unsolicited neighbour adverts for IP.
unsolicited_nas() {
    tsh "icmpv6.type == 136 && icmpv6.nd.na.target_address == $1 && eth.src == $2" \
        frame.time_epoch | awk -v a="${3:-0}" '$1 >= a'
}

# ---------------------------------------------------------------- configs

# seed_config 1|2 [flipped|published]: the published seed, mapped to the lab.
seed_config() {
    local src=$NT_DIR/conf/seed/loadbalancer$1.conf
    [[ -f $src ]] || fail "seed config $1 not found"
    if [[ $1 == 2 && ${2:-flipped} == flipped ]]; then
        # What the seed's text says was done: own source .21, peer .20.
        sed -e "s/ens5/$LAB_IF/" -e 's/unicast_src_ip 10\.0\.0\.20/unicast_src_ip 192.0.2.21/' \
            -e 's/^\( *\)10\.0\.0\.21 *$/\1192.0.2.20/' -e 's/10\.0\.0\./192.0.2./g' "$src"
    else
        sed -e "s/ens5/$LAB_IF/" -e 's/10\.0\.0\./192.0.2./g' "$src"
    fi
}

# conf_render TEMPLATE KEY=VALUE...: netns-tests/conf/TEMPLATE with @KEY@ replaced.
conf_render() {
    local t=$NT_DIR/conf/$1; shift
    local sedargs=(-e "s/@IF@/$LAB_IF/g") kv
    for kv in "$@"; do sedargs+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
    sed "${sedargs[@]}" "$t"
}

# ---------------------------------------------------------------- the daemon

daemon_bin() {
    case $DAEMON in
    keepalived) command -v keepalived || echo /usr/sbin/keepalived ;;
    vrrpd)
        # VRRPD_BIN, else the newer of the release and debug builds.
        local rel=$TARGET_DIR/release/vrrpd dbg=$TARGET_DIR/debug/vrrpd
        if [[ ${VRRPD_BIN:-} ]]; then echo "$VRRPD_BIN"
        elif [[ -x $rel && (! -x $dbg || $rel -nt $dbg) ]]; then echo "$rel"
        else echo "$dbg"; fi ;;
    *) fail "DAEMON must be keepalived or vrrpd, not '$DAEMON'" ;;
    esac
}
daemon_available() { [[ -x $(daemon_bin) ]]; }
require_daemon() {
    daemon_available || skip "$DAEMON binary not found ($(daemon_bin))"
    local help
    [[ $DAEMON == vrrpd ]] && help=$("$(daemon_bin)" --help 2>&1 || true)
    if [[ $DAEMON == vrrpd && $help != *--dont-fork* ]]; then
        skip "$(daemon_bin) has no daemon mode yet (no -n/--dont-fork in --help)"
    fi
}

# node_dirs BIN DIR... [-s SHELL]: PRIVATE_DIRS (paths.sh) for a daemon:
# DIRs (/tmp, /run) private to it, with everything of ours under them
# still there: the checkout, the daemon binary BIN (wherever
# CARGO_TARGET_DIR or VRRPD_BIN put it), the work directory.
node_dirs() {
    local keep=(-k "$REPO" -k "$WORK" -k "$1") opts=()
    shift
    while (($#)) && [[ $1 != -s ]]; do opts+=(-c "$1"); shift; done
    private_dirs "${opts[@]}" "${keep[@]}" "$@"
}

# start_daemon NODE CONFIG_FILE: run the daemon in NODE's namespace in the
# foreground, logging to $WORK/NODE.log, pid files in $WORK/NODE/.  It gets
# private /tmp and /run (mount namespace) so two nodes never share a JSON
# dump, control socket or pid file; node_dirs keeps the checkout, binary
# and work directory visible wherever they live.
start_daemon() {
    local n=$1 conf=$2 d bin
    d=$WORK/$n
    mkdir -p "$d"
    cp "$conf" "$d/daemon.conf"
    DCONF[$n]=$d/daemon.conf
    rm -f "$d/daemon.pid" "$d/vrrp.pid"
    bin=$(daemon_bin)
    [[ -x $bin ]] || fail "$DAEMON binary not found: $bin"
    printf '=== %s start %s\n' "$(date -u +%T.%N)" "$DAEMON" >>"$WORK/$n.log"
    case $DAEMON in
    keepalived)
        node_dirs "$bin" /tmp
        ip netns exec "$(ns "$n")" "${PRIVATE_DIRS[@]}" \
            "$bin" -f "$d/daemon.conf" -n -l -D -G -P -p "$d/daemon.pid" -r "$d/vrrp.pid" \
            >>"$WORK/$n.log" 2>&1 &
        DPID[$n]=$!
        disown "${DPID[$n]}"
        wait_for 5 test -s "$d/vrrp.pid" || fail "keepalived on $n wrote no VRRP pid file"
        DVPID[$n]=$(cat "$d/vrrp.pid")
        ;;
    vrrpd)
        # Hooks for scenarios about the process environment: VRRPD_WRAP=(...)
        # a launcher the daemon is exec'd through, VRRPD_ARGS=(...) extra
        # flags, VRRPD_DETAIL (default -D; empty for none), VRRPD_MOUNT shell
        # run in the daemon's mount namespace before exec.
        node_dirs "$bin" /tmp /run -s "${VRRPD_MOUNT:-:}"
        ip netns exec "$(ns "$n")" "${PRIVATE_DIRS[@]}" ${VRRPD_WRAP[@]+"${VRRPD_WRAP[@]}"} \
            "$bin" -f "$d/daemon.conf" -n -l ${VRRPD_DETAIL--D} -p "$d/daemon.pid" \
            ${VRRPD_ARGS[@]+"${VRRPD_ARGS[@]}"} >>"$WORK/$n.log" 2>&1 &
        DPID[$n]=$!
        disown "${DPID[$n]}"
        DVPID[$n]=${DPID[$n]}
        wait_for 5 test -s "$d/daemon.pid" || say "note: vrrpd on $n wrote no pid file (-p)"
        ;;
    esac
    kill -0 "${DPID[$n]}" 2>/dev/null || fail "$DAEMON on $n exited at start"
    say "$DAEMON started on $n (pid ${DPID[$n]})"
}

daemon_alive() { [[ ${DPID[$1]:-} ]] && kill -0 "${DPID[$1]}" 2>/dev/null; }
# daemon_pids NODE: every process of the daemon (keepalived: parent + VRRP child).
daemon_pids() {
    local p=${DPID[$1]:-} v=${DVPID[$1]:-}
    [[ $p ]] && echo "$p"
    [[ $v && $v != "$p" ]] && echo "$v"
    return 0
}
reap_daemon() {
    local n=$1
    DPID[$n]=""
    DVPID[$n]=""
}

# stop_daemon NODE: SIGTERM, as systemctl stop does; waits up to 5 s.
stop_daemon() {
    local n=$1
    daemon_alive "$n" || return 0
    kill -TERM "${DPID[$n]}"
    wait_for 5 eval '! kill -0 '"${DPID[$n]}"' 2>/dev/null' || fail "$DAEMON on $n ignored SIGTERM for 5 s"
    if [[ ${DVPID[$n]} ]]; then
        wait_for 2 eval '! kill -0 '"${DVPID[$n]}"' 2>/dev/null' || true
    fi
    reap_daemon "$n"
}

# kill_daemon NODE: SIGKILL every daemon process at once (a crash / OOM
# kill).  keepalived's parent is stopped first so it cannot respawn its
# VRRP child or pass it a SIGTERM.
kill_daemon() {
    local n=$1 p=${DPID[$1]} v=${DVPID[$1]}
    if [[ $v != "$p" ]]; then
        kill -STOP "$p" 2>/dev/null || true
        kill -KILL "$v" 2>/dev/null || true
    fi
    kill -KILL "$p" 2>/dev/null || true
    reap_daemon "$n"
}

# hup_daemon NODE: SIGHUP (reload).
hup_daemon() { kill -HUP "${DPID[$1]}"; }

# resign_daemon NODE: `vrrpd -p PID resign -f CONF` in NODE's namespace
# with the daemon's own options, as the unit's ExecStopPost runs it (the
# pid file names the runtime record it releases).  Returns 2 for
# keepalived (no such command).
resign_daemon() {
    local n=$1
    is_keepalived && return 2
    ip netns exec "$(ns "$n")" "$(daemon_bin)" -p "$WORK/$n/daemon.pid" resign -f "${DCONF[$n]}" \
        >>"$WORK/$n.log" 2>&1
}

# record_of NODE: vrrpd's runtime record for NODE (next to its pid file).
record_of() { printf '%s' "$WORK/$1/daemon.held.json"; }

# wait_master NODE VIP TIMEOUT: NODE holds VIP.
wait_master() { wait_for "$3" has_vip "$1" "$2"; }

# seed_lab: A and B with the seed configs (B's unicast addresses flipped),
# web servers, client polling the VIP; returns when A is master.
seed_lab() {
    lab_up a b c
    seed_config 1 >"$WORK/lb1.conf"
    seed_config 2 "${1:-flipped}" >"$WORK/lb2.conf"
    http_up a
    http_up b
    start_daemon a "$WORK/lb1.conf"
    start_daemon b "$WORK/lb2.conf"
    wait_master a "$VIP" 8 || fail "A did not become master with $VIP within 8 s"
    say "A holds $VIP (master after $(awk -v a="$T0" -v b="$(vip_first a add "$VIP")" 'BEGIN{printf "%.3f", b-a}') s)"
}

# conf_for NODE TEMPLATE [KEY=VALUE...]: render a template for NODE.  A is
# priority 101 (state MASTER), B priority 100 (state BACKUP); SELF/PEER are
# the unicast addresses.  Explicit KEY=VALUEs win over these defaults.
conf_for() {
    local n=$1 t=$2; shift 2
    local prio=101 state=MASTER self=${NODE_V4[a]} peer=${NODE_V4[b]}
    if [[ $n == b ]]; then prio=100 state=BACKUP self=${NODE_V4[b]} peer=${NODE_V4[a]}; fi
    conf_render "$t" "$@" PRIO=$prio STATE=$state SELF="$self" PEER="$peer" NOPREEMPT= VIP2= \
        >"$WORK/$n.conf"
    printf '%s' "$WORK/$n.conf"
}

# fast_lab TEMPLATE [KEY=VALUE...]: lab with A and B on TEMPLATE, web
# servers on both; A is started first and is master when this returns.
fast_lab() {
    local t=$1; shift
    lab_up a b c
    http_up a
    http_up b
    start_daemon a "$(conf_for a "$t" "$@")"
    wait_master a "${FAST_VIP:-$VIP}" 5 || fail "A did not become master within 5 s"
    start_daemon b "$(conf_for b "$t" "$@")"
    # B must settle as backup (it listens for Master_Down_Interval first).
    sleep 0.5
    no_vip b "${FAST_VIP:-$VIP}" || fail "B holds ${FAST_VIP:-$VIP} too after start"
    say "A is master with ${FAST_VIP:-$VIP}, B is backup"
}

# c_get URL: one HTTP GET from node C; prints the answer.
c_get() { ip netns exec "$(ns c)" curl -sg --max-time 1 "$1" || true; }

# hostile KIND [hostile.py options...]: crafted VRRP packets from node C.
hostile() {
    "$PY" -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
    ip netns exec "$(ns c)" "$PY" "$NT_DIR/tools/hostile.py" "$LAB_IF" "$@"
}

# Steady state "A master, B backup" since a baseline: no VIP event and no
# logged transition on either node since steady_mark (a VIP that lives a
# few milliseconds counts too).
steady_mark() {
    STEADY_T=$(now)
    STEADY_TA=$(transitions a)
    STEADY_TB=$(transitions b)
}
steady() {
    has_vip a "$VIP" && no_vip b "$VIP" &&
        [[ $(transitions a) == "$STEADY_TA" && $(transitions b) == "$STEADY_TB" ]] &&
        [[ -z $(vip_times a del "$VIP" "$STEADY_T") && -z $(vip_times b add "$VIP" "$STEADY_T") ]]
}
