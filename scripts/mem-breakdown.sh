#!/usr/bin/env bash
# Where vrrpd's memory goes with many instances: one node alone in a
# namespace, N (1000) VRRPv3 1 s instances, 250 per interface on 4 veth
# pairs (VIPs 198.51.100.1-250 repeat per interface), all Master. Prints
# the process's RSS/PSS split, its largest mappings, and with HEAPTRACK=1
# the live heap by the innermost vrrpd function that allocated it
# (heaptrack from Debian; the debug build names functions best).
#
#   sudo scripts/mem-breakdown.sh [BINARY]      # default: target/release/vrrpd
#   sudo N=1 scripts/mem-breakdown.sh
#   sudo PAUSE=300 scripts/mem-breakdown.sh    # keep it running to look at it
#   sudo HEAPTRACK=1 SETTLE=45 scripts/mem-breakdown.sh target/debug/vrrpd
#   sudo ROLE=backup scripts/mem-breakdown.sh  # a peer (priority 200) is Master
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR/.. source=netns-tests/paths.sh
. netns-tests/paths.sh
BIN=${1:-$(cargo_target_dir "$PWD")/release/vrrpd}
N=${N:-1000}
SETTLE=${SETTLE:-12}
[[ -x $BIN ]] || { echo "no vrrpd binary at $BIN (cargo build --release)" >&2; exit 1; }
if [[ ${HEAPTRACK:-} ]] && ! command -v heaptrack >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq heaptrack >/dev/null
fi
NS=vmem$$a PEER=vmem$$b
W=$(mktemp -d /var/tmp/vrrpd-mem.XXXXXX)
PID= PEER_PID=
cleanup() {
    [[ $PID ]] && kill "$PID" 2>/dev/null && sleep 1
    [[ $PEER_PID ]] && kill "$PEER_PID" 2>/dev/null && sleep 1
    ip netns del "$NS" 2>/dev/null || true
    ip netns del "$PEER" 2>/dev/null || true
    [[ ${KEEP:-} ]] || rm -rf "$W"
}
trap cleanup EXIT
ip netns add "$NS"
ip netns add "$PEER"
ip -n "$NS" link set lo up
for k in 0 1 2 3; do
    ip -n "$NS" link add "eth$k" type veth peer name "p$k" netns "$PEER"
    ip -n "$NS" addr add "203.0.113.$((16 * k + 1))/28" dev "eth$k"
    ip -n "$NS" link set "eth$k" up
    ip -n "$PEER" link set "p$k" up
    ip -n "$PEER" addr add "203.0.113.$((16 * k + 2))/28" dev "p$k"
done
{
    printf 'global_defs {\n vrrp_version 3\n}\n'
    for ((i = 0; i < N; i++)); do
        k=$((i / 250)) v=$((i % 250 + 1))
        printf 'vrrp_instance VI_%d {\n state BACKUP\n interface eth%d\n virtual_router_id %d\n priority 100\n advert_int 1\n virtual_ipaddress {\n  198.51.100.%d/32\n }\n}\n' "$i" "$k" "$v" "$v"
    done
} >"$W/many.conf"
if [[ ${ROLE:-master} == backup ]]; then
    # The same instances at priority 200 on the peer's ends: it is Master,
    # the node measured stays Backup. Its own /run and /tmp (control
    # socket, runtime record).
    sed -e 's/priority 100/priority 200/' -e 's/interface eth/interface p/' "$W/many.conf" >"$W/peer.conf"
    private_dirs -c /run -c /tmp -k "$BIN" -k "$W"
    ip netns exec "$PEER" "${PRIVATE_DIRS[@]}" "$BIN" -f "$W/peer.conf" -n -l -G >"$W/peer.log" 2>&1 &
    PEER_PID=$!
    sleep 3
fi
run=(ip netns exec "$NS")
[[ ${HEAPTRACK:-} ]] && run+=(heaptrack -o "$W/heap")
"${run[@]}" "$BIN" -f "$W/many.conf" -n -l -D -p "$W/pid" >"$W/log" 2>&1 &
for _ in $(seq 1 40); do [[ -s $W/pid ]] && break; sleep 0.5; done
sleep "$SETTLE"
PID=$(cat "$W/pid")
echo "role ${ROLE:-master}: instances Master: $(grep -c 'Entering MASTER' "$W/log"), VIPs held: $(ip -n "$NS" -4 -o addr | grep -c ' 198\.51\.100\.' || true)"
grep -E '^(Rss|Pss|Pss_Anon|Pss_File):' "/proc/$PID/smaps_rollup" | tr -s ' ' | tr '\n' ' '
echo
echo "largest mappings (RSS kB, name):"
awk '/^[0-9a-f]+-[0-9a-f]+ / {name = ($6 == "" ? "[anon]" : $6)} /^Rss:/ {if ($2 > 100) print "  " $2, name}' "/proc/$PID/smaps" | sort -rn | head -8
if [[ ${PAUSE:-} ]]; then
    # Time to look at the live process (its smaps, threads) before cleanup.
    echo "pid $PID, namespace $NS: pausing ${PAUSE} s"
    sleep "$PAUSE"
fi
if [[ ${HEAPTRACK:-} ]]; then
    # SIGKILL: what is still allocated is the live heap at that moment.
    kill -KILL "$PID"
    PID=
    sleep 3
    heaptrack_print -f "$W"/heap*.zst -F "$W/leaked.txt" --flamegraph-cost-type leaked >/dev/null 2>&1 || true
    python3 - "$W/leaked.txt" <<'PY'
import collections, re, sys
agg = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, cost = line.rstrip().rpartition(" ")
    frames = [re.sub(r"::h[0-9a-f]{16}", "", re.sub(r"\(.*", "", f)).strip() for f in stack.split(";")]
    ours = [f for f in frames if "vrrpd::" in f]
    agg[ours[-1][-90:] if ours else "(outside vrrpd)"] += int(cost)
print(f"live heap {sum(agg.values()) / 1024:.0f} KB, by innermost vrrpd function:")
for k, v in agg.most_common(20):
    print(f"  {v / 1024:7.0f} KB  {k}")
PY
fi
