#!/usr/bin/env bash
# Cloud failover benchmark (issue 17): VRRP takeover -> Elastic IP moved, on
# moto's emulated EC2 API (netns-tests/cloud-lib.sh), two nodes in
# namespaces, VRRPv3 at 0.1 s.
#
#   scripts/bench-cloud.sh                    # RUNS=10, both daemons, outages 5 20 60
#   RUNS=3 DAEMONS=vrrpd OUTAGES="5" IDLE=0 scripts/bench-cloud.sh
#   VRRPD_BIN_DEFAULT=path/to/vrrpd-without-aws  (adds it to the idle PSS rows)
#
# Per daemon (median / min / max over RUNS): A (Master, holds the Elastic
# IP) is killed; from the VIP appearing on B (`ip -ts monitor`) to the
# Elastic IP seen on B's ENI (a poller on the emulator, every 5 ms, started
# before the kill). Then A comes back and takes over again (preempt), and
# the Elastic IP goes back, before the next run.
#   - vrrpd: its cloud backend (side file vrrpd-cloud.toml: provider, the
#     Elastic IP, the endpoint; region and ENI from the IMDS fixture);
#   - keepalived 2.2.7 with `notify_master` running the AWS CLI (PyPI
#     awscli): `aws ec2 associate-address --allow-reassociation`, the
#     script every keepalived-on-AWS guide has.
# Outages: the emulator's bridge port blocked for N s from just before the
# kill; from the unblock to the Elastic IP on B's ENI, or "never" when not
# there 30 s after the unblock.
# Needs root, keepalived, moto[server] 5.2.5 and awscli (pip; installed
# here when missing), and vrrpd built with `--features aws`
# (VRRPD_BIN, else target/release/vrrpd).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
DAEMONS=${DAEMONS:-"vrrpd keepalived"}
OUTAGES=${OUTAGES:-"5 20 60"}

# ------------------------------------------------------------ one daemon
if [[ ${1:-} == --one ]]; then
    OUT=$2
    # shellcheck disable=SC2034 # read by lib.sh
    NT_QUIET_LOGS=1
    # shellcheck source-path=SCRIPTDIR/.. source=netns-tests/lib.sh
    . netns-tests/lib.sh
    # shellcheck source-path=SCRIPTDIR/.. source=netns-tests/cloud-lib.sh
    . netns-tests/cloud-lib.sh
    require_daemon
    need jq curl
    rec() { printf '%s\t%s\n' "$1" "$2" >>"$OUT"; }
    progress() { printf '  [%s] %s\n' "$DAEMON" "$*" >&2; }
    PYX=$("$CLOUD_PY" -c 'import sys; print(sys.executable)')
    lab_up a b m
    moto_up
    imds_up a "$ENI_A"
    imds_up b "$ENI_B"
    conf() { # conf NODE PRIO ENI
        local notify=""
        if is_keepalived; then
            cat >"$WORK/notify-$1.sh" <<SH
#!/bin/sh
exec env AWS_ACCESS_KEY_ID=AKIDNODE$(tr '[:lower:]' '[:upper:]' <<<"$1") AWS_SECRET_ACCESS_KEY=secret \\
    AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent \\
    "$PYX" -m awscli --endpoint-url "$EC2_ENDPOINT" ec2 associate-address \\
    --allocation-id "$ALLOC" --network-interface-id "$3" --private-ip-address "$VIP" \\
    --allow-reassociation >>"$WORK/notify-$1.log" 2>&1
SH
            chmod 755 "$WORK/notify-$1.sh"
            notify="notify_master \"$WORK/notify-$1.sh\""
        fi
        cat >"$WORK/$1.conf" <<CONF
global_defs {
    vrrp_version 3
    script_user root
}
vrrp_instance VI_1 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 52
    priority $2
    advert_int 0.1
    $notify
    virtual_ipaddress {
        $VIP
    }
}
CONF
        is_keepalived || cloud_side "$1" VI_1
    }
    conf a 101 "$ENI_A"
    conf b 100 "$ENI_B"
    start_a() {
        if is_keepalived; then start_daemon a "$WORK/a.conf"; else start_cloud_daemon a "$WORK/a.conf"; fi
    }
    start_a
    wait_master a "$VIP" 5 || fail "A did not become master"
    if is_keepalived; then start_daemon b "$WORK/b.conf"; else start_cloud_daemon b "$WORK/b.conf"; fi
    wait_for 10 eip_on "$ENI_A" || fail "the Elastic IP is not on A's ENI"
    for ((i = 1; i <= RUNS; i++)); do
        sleep 1
        eip_watch "$ENI_B" 20
        t_kill=$(now)
        kill_daemon a
        wait_master b "$VIP" 3 || fail "B did not take over"
        t_eip=$(eip_seen) || fail "run $i: the Elastic IP never reached B's ENI"
        t_vip=$(vip_first b add "$VIP" "$t_kill")
        d=$(fcalc "$t_eip - $t_vip")
        rec takeover "$d"
        progress "run $i: VIP on B -> Elastic IP on B's ENI $(ms "$d")"
        start_a
        wait_master a "$VIP" 5 || fail "A did not take back"
        wait_for 20 eip_on "$ENI_A" || fail "run $i: the Elastic IP did not come back to A"
    done
    for o in $OUTAGES; do
        sleep 1
        block_api
        t_block=$(now)
        kill_daemon a
        wait_master b "$VIP" 3 || { unblock_api; fail "B did not take over"; }
        rest=$(fcalc "$o - ($(now) - $t_block)")
        fle 0 "$rest" && sleep "$rest"
        eip_watch "$ENI_B" 31
        unblock_api
        t_up=$(now)
        if t_eip=$(eip_seen); then
            rec "outage$o" "$(fcalc "$t_eip - $t_up")"
            progress "outage $o s: converged $(ms "$(fcalc "$t_eip - $t_up")") after the API answered"
        else
            rec "outage$o" never
            progress "outage $o s: not converged 30 s after the API answered"
        fi
        start_a
        wait_master a "$VIP" 5 || fail "A did not take back"
        # keepalived's CLI may still be retrying for B: not waited for.
        wait_for 20 eip_on "$ENI_A" || true
    done
    finish >/dev/null
fi

# ------------------------------------------------------------ idle PSS
# --idle OUT: one vrrpd instance (VRRPv3 0.1 s, Master), idle PSS after
# 12 s (a reconcile included): the default build (VRRPD_BIN_DEFAULT), the
# aws build without a cloud instance, and with one (claimed on moto).
if [[ ${1:-} == --idle ]]; then
    OUT=$2
    # shellcheck disable=SC2034 # read by lib.sh
    NT_QUIET_LOGS=1 DAEMON=vrrpd
    # shellcheck source-path=SCRIPTDIR/.. source=netns-tests/lib.sh
    . netns-tests/lib.sh
    # shellcheck source-path=SCRIPTDIR/.. source=netns-tests/cloud-lib.sh
    . netns-tests/cloud-lib.sh
    lab_up a b m
    moto_up
    imds_up a "$ENI_A"
    conf_for a cloud-fast.conf.in >/dev/null
    pss() { awk '/^Pss:/ {print $2 / 1024}' "/proc/${DPID[a]}/smaps_rollup"; }
    measure() { # LABEL BIN CLOUD(0|1)
        VRRPD_BIN=$2
        rm -f "$WORK/a/vrrpd-cloud.toml"
        [[ $3 == 1 ]] && cloud_side a VI_1
        start_cloud_daemon a "$WORK/a.conf"
        wait_master a "$VIP" 5 || fail "A did not become master"
        sleep 12
        printf '%s\t%s\n' "$1" "$(pss)" >>"$OUT"
        printf '  [idle] %s: PSS %s MB\n' "$1" "$(pss)" >&2
        [[ $3 == 1 ]] && { cstatus a .stats >&2 || true; }
        stop_daemon a
    }
    aws_bin=$VRRPD_BIN
    [[ -x ${VRRPD_BIN_DEFAULT:-} ]] && measure "default build" "$VRRPD_BIN_DEFAULT" 0
    measure "aws build, no cloud instance" "$aws_bin" 0
    measure "aws build, cloud backend on" "$aws_bin" 1
    finish >/dev/null
fi

# ------------------------------------------------------------ driver
[[ $(id -u) == 0 ]] || { echo "bench-cloud.sh: needs root" >&2; exit 1; }
python3 -c "import moto.server" 2>/dev/null || python3 -m pip install -q "moto[server]==5.2.5"
python3 -c "import awscli" 2>/dev/null || python3 -m pip install -q awscli
command -v keepalived >/dev/null || apt-get install -y -qq keepalived >/dev/null
. netns-tests/paths.sh
: "${VRRPD_BIN:=$(cargo_target_dir "$PWD")/release/vrrpd}"
export VRRPD_BIN RUNS OUTAGES
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
for d in $DAEMONS; do
    while [ -e /var/tmp/bench-quiet ]; do sleep 10; done
    echo "== $d" >&2
    DAEMON=$d nice -n 19 bash "$0" --one "$res/$d.tsv" || echo "  ($d failed)" >&2
done
stats() { # FILE KEY: median min max (ms) of numeric samples
    awk -F'\t' -v k="$2" '$1 == k && $2 != "never" {print $2 * 1000}' "$1" | sort -n | awk '
        {v[NR] = $1} END {
            if (NR == 0) { print "n/a"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.0f ms (%.0f-%.0f), n=%d", m, v[1], v[NR], NR }'
}
if [[ ${IDLE:-1} == 1 ]]; then
    while [ -e /var/tmp/bench-quiet ]; do sleep 10; done
    nice -n 19 bash "$0" --idle "$res/idle.tsv" || echo "  (idle failed)" >&2
    printf '\nidle PSS, one instance (Master), MB:\n'
    awk -F'\t' '{printf "  %-32s %.2f\n", $1, $2}' "$res/idle.tsv" 2>/dev/null || true
fi
printf '\n%-34s %-36s %s\n' "VIP on B -> Elastic IP on B's ENI" "vrrpd (cloud backend)" "keepalived + notify_master aws CLI"
row() {
    local label=$1 key=$2 cells=() d f v
    for d in vrrpd keepalived; do
        f=$res/$d.tsv
        if [[ ! -f $f ]]; then cells+=("n/a")
        elif [[ $key == outage* ]]; then
            v=$(awk -F'\t' -v k="$key" '$1 == k {print $2}' "$f")
            if [[ -z $v ]]; then cells+=("n/a")
            elif [[ $v == never ]]; then cells+=("never (30 s)")
            else cells+=("$(awk -v s="$v" 'BEGIN{printf "%.0f ms after the API answered", s*1000}')"); fi
        else cells+=("$(stats "$f" "$key")"); fi
    done
    printf '%-34s %-36s %s\n' "$label" "${cells[0]}" "${cells[1]}"
}
row "takeover (median (min-max))" takeover
for o in $OUTAGES; do row "API unreachable ${o} s" "outage$o"; done
