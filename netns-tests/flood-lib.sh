# shellcheck shell=bash
# netns-tests/flood-lib.sh - floods from node C and what the nodes sent
# meanwhile (18, 19, scripts/bench-flood.sh).  Source after lib.sh.
#
#   flood_capture_start FILE   capture A's and B's frames only (VRRP, ARP,
#                              ICMPv6) on br0, 16 MiB buffer: the flood's own
#                              frames stay out, so the capture keeps up; and
#                              A's own VRRP frames as its interface transmits
#                              them, in FILE.a (A's advert lateness)
#   flood_capture_stop         end both; FLOOD_CAP_DROPS = frames they lost
#   flood_start OUT KINDS PPS SECS [flood.py options]
#                              tools/flood.py in C's namespace, in the
#                              background; its JSON report goes to OUT
#   flood_wait                 wait for it (bounded: SECS + 10 s)
#   pcapstat FILE T0 T1 INTERVAL [pcapstat.py options] > JSON
#   jget JSON_FILE KEY.KEY...  one value of a JSON report ("None" if absent)
#   port_rx PORT               frames the bridge received on pPORT (a, b, c)

FLOOD_CAP_PID=
FLOOD_CAP_A_PID=
FLOOD_CAP_FILE=
FLOOD_CAP_DROPS=0
FLOOD_PID=

flood_capture_start() {
    FLOOD_CAP_FILE=$1
    bg ip netns exec "$NS_BR" tcpdump -i br0 -n -U --immediate-mode -B 16384 -s 128 --time-stamp-precision=micro \
        -w "$FLOOD_CAP_FILE" "(ether src ${NODE_MAC[a]} or ether src ${NODE_MAC[b]}) and (ip proto 112 or ip6 proto 112 or arp or icmp6)" \
        2>"$FLOOD_CAP_FILE.err"
    FLOOD_CAP_PID=$BG_LAST
    # A's lateness is read where A's interface transmits, as a NIC would put
    # the frame on the wire. On br0 every frame of A has first crossed the
    # bridge-side veth's NAPI kernel thread (lab_rx_threads), which the
    # flood's own frames keep busy on a 2-core box: up to 3 ms of that
    # thread's scheduling would be charged to the daemon.
    bg ip netns exec "$(ns a)" tcpdump -i "$LAB_IF" -Q out -n -U --immediate-mode -B 4096 -s 128 \
        --time-stamp-precision=micro -w "$FLOOD_CAP_FILE.a" "ether src ${NODE_MAC[a]} and (ip proto 112 or ip6 proto 112)" \
        2>"$FLOOD_CAP_FILE.a.err"
    FLOOD_CAP_A_PID=$BG_LAST
    wait_for 5 grep -q listening "$FLOOD_CAP_FILE.err" || fail "tcpdump (flood capture) did not start"
    wait_for 5 grep -q listening "$FLOOD_CAP_FILE.a.err" || fail "tcpdump (A's egress capture) did not start"
}

flood_capture_stop() {
    [[ $FLOOD_CAP_PID ]] || return 0
    kill -TERM "$FLOOD_CAP_PID" "$FLOOD_CAP_A_PID" 2>/dev/null || true
    wait_for 5 not_running "$FLOOD_CAP_PID" || true
    wait_for 5 not_running "$FLOOD_CAP_A_PID" || true
    FLOOD_CAP_PID= FLOOD_CAP_A_PID=
    FLOOD_CAP_DROPS=$(cat "$FLOOD_CAP_FILE.err" "$FLOOD_CAP_FILE.a.err" | awk '/dropped by kernel/ {n += $1} END {print n + 0}')
}

flood_start() {
    local out=$1 kinds=$2 pps=$3 secs=$4
    shift 4
    "$PY" -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
    bg ip netns exec "$(ns c)" "$PY" "$NT_DIR/tools/flood.py" "$LAB_IF" "$kinds" --rate "$pps" --duration "$secs" "$@" \
        >"$out" 2>"$out.err"
    FLOOD_PID=$BG_LAST
    FLOOD_SECS=$secs
}

flood_wait() {
    [[ $FLOOD_PID ]] || return 0
    wait_for "$(fcalc "${FLOOD_SECS:-10} + 10")" not_running "$FLOOD_PID" || fail "flood.py did not stop by itself"
    FLOOD_PID=
}

pcapstat() {
    local f=$1 t0=$2 t1=$3 iv=$4
    shift 4
    "$PY" "$NT_DIR/tools/pcapstat.py" "$f" --from "$t0" --to "$t1" --interval "$iv" "$@"
}

jget() {
    "$PY" -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    d = None
for k in sys.argv[2].split("."):
    d = d.get(k) if isinstance(d, dict) else None
print(d)' "$1" "$2"
}

port_rx() { ip netns exec "$NS_BR" cat "/sys/class/net/p$1/statistics/rx_packets"; }
