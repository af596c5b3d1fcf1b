#!/usr/bin/env bash
# Differential test: what real keepalived understands of a configuration
# versus what `vrrpd check` builds from it.
#
# For each seed config and keepalived sample: rewrite its addresses into the
# documentation ranges, create a network namespace with veth links named as
# the config's interfaces, run keepalived (VRRP only) inside it with a private
# /tmp, take its JSON dump (signal 36) and its -d configuration dump, and
# compare VRID, priority, state, advert interval, version, auth, VIPs,
# unicast peers, tracker weights and more with `vrrpd check --format json`.
#
# Needs root, keepalived, iproute2, python3. Without them it says SKIP and
# exits 0 (set KEEPALIVED_DIFF_REQUIRED=1 to make that a failure).
# Touches nothing outside the namespaces it creates; cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

skip() {
    echo "keepalived-diff: SKIP: $*"
    [ "${KEEPALIVED_DIFF_REQUIRED:-0}" = 1 ] && exit 1
    exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v keepalived >/dev/null || skip "keepalived not installed"
command -v ip >/dev/null || skip "iproute2 not installed"
command -v python3 >/dev/null || skip "python3 not installed"
command -v unshare >/dev/null && command -v nsenter >/dev/null || skip "util-linux unshare/nsenter missing"

# shellcheck source=netns-tests/paths.sh
. "$ROOT/netns-tests/paths.sh"
cargo build -q --bin vrrpd
VRRPD=$(cargo_target_dir "$ROOT")/debug/vrrpd
HELPER=$ROOT/scripts/keepalived_diff.py
WORK=$(mktemp -d /var/tmp/vrrpd-keepalived-diff.XXXXXX)
NSES=()
PIDS=()

cleanup() {
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
    for ns in "${NSES[@]:-}"; do
        [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
    done
    [ "${KEEP:-0}" = 1 ] && echo "keepalived-diff: work files kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

wait_for() { # FILE TRIES LOG: the VRRP pid file, unless keepalived gives up
    local i
    for ((i = 0; i < $2; i++)); do
        [ -s "$1" ] && return 0
        grep -q "has no configuration to run" "$3" 2>/dev/null && return 1
        sleep 0.05
    done
    return 1
}

if [ $# -gt 0 ]; then
    CASES=("$@")
else
    CASES=(conf/keepalived/loadbalancer1.conf conf/keepalived/loadbalancer2.conf)
    for f in conf/samples/* conf/diff/*; do
        case "$f" in *.md) continue ;; esac
        CASES+=("$f")
    done
fi

echo "keepalived-diff: $(keepalived --version 2>&1 | head -1) against vrrpd check, ${#CASES[@]} configs"
echo "  per instance: vrid, priority, state (wantstate), advert_int, version, auth type and password,"
echo "  VIPs with prefix/dev/label, excluded VIPs with dev, each address's use_vmac and VMAC, nopreempt, preempt_delay,"
echo "  accept, strict, skip_check_adv_addr,"
echo "  dont_track_primary, 6 GARP settings, lower_prio_no_advert, higher_prio_send_advert, smtp_alert, vmac, promote_secondaries,"
echo "  unicast peers with TTL range, track_interface, track_script and track_file weights, unicast_ttl,"
echo "  old_unicast_checksum, kernel_rx_buf_size, garp_extra_if in effect, notify_priority_changes, use_vmac_addr"
echo "  (the last ten from the -d dump)."
echo "  Not compared: check_unicast_src (vrrpd turns it on by default, keepalived off)."
failed=0
n=0
export KEEPALIVED_DIFF_TOTALS=$WORK/totals
: >"$KEEPALIVED_DIFF_TOTALS"
t0=$SECONDS
for conf in "${CASES[@]}"; do
    n=$((n + 1))
    name=$(basename "$conf")
    dir=$WORK/$n
    mkdir -p "$dir"
    id_args=() ka_id=()
    case "$name" in *conditional*) id_args=(--config-id high) ka_id=(-i high) ;; esac
    echo "- $conf"
    python3 "$HELPER" rewrite "$conf" "$dir/keepalived.conf"
    "$VRRPD" check -f "$dir/keepalived.conf" --format json --syntax keepalived "${id_args[@]}" >"$dir/vrrpd.json" || {
        echo "  FAIL vrrpd check rejected $conf"
        failed=1
        continue
    }
    ns="kadiff-$$-$n"
    ip netns add "$ns"
    NSES+=("$ns")
    ip -n "$ns" link set lo up
    while read -r kind a b; do
        case "$kind" in
            link)
                # veth named as the config's interface; the peer stays unused.
                ip -n "$ns" link add "$a" type veth peer name "p$n-${a:0:10}"
                ip -n "$ns" link set "$a" up
                ip -n "$ns" link set "p$n-${a:0:10}" up
                ;;
            addr) ip -n "$ns" addr add "$b" dev "$a" ;;
        esac
    done < <(python3 "$HELPER" plan "$dir/vrrpd.json")
    # keepalived with a private /tmp (its dumps), still seeing its files.
    private_dirs -c /tmp -k "$WORK" -k "$ROOT"
    ip netns exec "$ns" "${PRIVATE_DIRS[@]}" keepalived -f "$dir/keepalived.conf" ${ka_id[@]+"${ka_id[@]}"} \
        -n -l -d -G -P -p "$dir/k.pid" -r "$dir/v.pid" >"$dir/keepalived.log" 2>&1 &
    PIDS+=("$!")
    disown "$!"
    if ! wait_for "$dir/v.pid" 100 "$dir/keepalived.log"; then
        if grep -q "has no configuration to run" "$dir/keepalived.log"; then
            ip netns del "$ns"
            python3 "$HELPER" compare "$name" "$dir/vrrpd.json" - "$dir/keepalived.log" || failed=1
            continue
        fi
        echo "  FAIL keepalived did not start its VRRP process"
        sed 's/^/    /' "$dir/keepalived.log" | tail -20
        failed=1
        continue
    fi
    vpid=$(cat "$dir/v.pid")
    PIDS+=("$vpid" "$(cat "$dir/k.pid" 2>/dev/null || true)")
    sleep 0.3
    kill -36 "$vpid"
    got=0
    for ((i = 0; i < 60; i++)); do
        if nsenter -t "$vpid" -m cat /tmp/keepalived.json >"$dir/keepalived.json" 2>/dev/null && [ -s "$dir/keepalived.json" ]; then
            got=1
            break
        fi
        sleep 0.05
    done
    kill -9 "$vpid" "$(cat "$dir/k.pid" 2>/dev/null || echo "$vpid")" 2>/dev/null || true
    ip netns del "$ns"
    if [ $got = 0 ]; then
        echo "  FAIL no JSON dump from keepalived"
        failed=1
        continue
    fi
    python3 "$HELPER" compare "$name" "$dir/vrrpd.json" "$dir/keepalived.json" "$dir/keepalived.log" || failed=1
done
read -r insts fields ndiff < <(awk '{i+=$1; f+=$2; d+=$3} END {print i+0, f+0, d+0}' "$KEEPALIVED_DIFF_TOTALS")
echo "keepalived-diff: $n configs, $insts instances, $fields fields compared, $ndiff differences, $((SECONDS - t0)) s: $([ $failed = 0 ] && echo 'PASS' || echo 'FAIL')"
exit $failed
