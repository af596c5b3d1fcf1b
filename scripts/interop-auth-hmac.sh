#!/usr/bin/env bash
# auth_hmac interop against keepalived master (which Debian's 2.2.7 is not):
# vrrpd and KEEPALIVED_MASTER (a keepalived built from git master, 2026) in
# the netns lab, each way round, for VRRPv3 IPv4 multicast, VRRPv2 IPv4
# unicast and VRRPv3 IPv6 multicast, with a key rotation each time:
#
#   1. A vrrpd 150 Master, B keepalived 100 Backup, both enforce on key 1:
#      B must stay Backup (it accepts vrrpd's signed adverts) and log no
#      authentication error.
#   2. Rotation: A then B reloaded with active_key 2: no transition.
#   3. A stops: keepalived B Master; A restarts as vrrpd 50: it must stay
#      Backup (it accepts keepalived's adverts) with no auth_hmac drop.
#   4. Rotation back to key 1 (B then A): no transition.
#
# The VRRP frames are kept as tests/fixtures/auth-hmac-keepalived-master.pcap
# when FIXTURE=1 (tests/wire_auth_hmac.rs verifies and re-signs them).
#
#   KEEPALIVED_MASTER=/var/tmp/kl-master/bin/keepalived scripts/interop-auth-hmac.sh
#
# Without KEEPALIVED_MASTER it says so and exits 77 (skipped): CI cannot
# build keepalived master (no network); the fixtures and netns 100 are its proof.
set -euo pipefail
if [[ -z ${KEEPALIVED_MASTER:-} ]]; then
    echo "SKIP: set KEEPALIVED_MASTER to a keepalived built from git master (auth_hmac); Debian's 2.2.7 does not know auth_hmac"
    exit 77
fi
[[ -x $KEEPALIVED_MASTER ]] || { echo "KEEPALIVED_MASTER=$KEEPALIVED_MASTER is not executable" >&2; exit 2; }
KL_VERSION=$("$KEEPALIVED_MASTER" --version 2>&1 || true)
[[ $KL_VERSION == *VRRP_AUTH* ]] || { echo "$KEEPALIVED_MASTER was built without VRRP_AUTH (auth_hmac)" >&2; exit 2; }
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=netns-tests/interop.sh
. "$REPO_ROOT/netns-tests/interop.sh"
# lib.sh's daemon_bin finds keepalived through PATH; a build without LVS
# has no -P (VRRP only), which lib.sh passes: a wrapper drops it.
mkdir -p "$WORK/klbin"
cat >"$WORK/klbin/keepalived" <<WRAP
#!/usr/bin/env bash
args=()
for a in "\$@"; do [[ \$a == -P ]] || args+=("\$a"); done
exec "$KEEPALIVED_MASTER" "\${args[@]}"
WRAP
chmod +x "$WORK/klbin/keepalived"
PATH=$WORK/klbin:$PATH
export PATH
# shellcheck source=netns-tests/control-lib.sh
. "$NT_DIR/control-lib.sh"
title "auth_hmac interop: vrrpd <-> ${KL_VERSION%%$'\n'*}"
require_both
need jq
lab_up a b
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K2=f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101

write_conf() { # NODE PRIO MODE ACTIVE_KEY
    local n=$1 prio=$2 m=$3 active=$4 vrid=${M_VRID[$3]} ver=${M_VER[$3]} int=${M_INT[$3]} uni='' vip
    vip=${M_VIP[$m]}
    [[ $m == v6 ]] && vip="fe80::66/64
        2001:db8::66/64"
    [[ $m == v2u ]] && uni="    unicast_src_ip ${NODE_V4[$n]}
    unicast_peer {
        ${NODE_V4[$(other "$n")]}
    }"
    cat >"$WORK/$n-$m.conf" <<CONF
vrrp_instance VI_$m {
    state BACKUP
    interface $LAB_IF
    virtual_router_id $vrid
    priority $prio
    version $ver
    advert_int $int
$uni
    auth_hmac {
        key 1 hex:$K1
        key 2 hex:$K2
        active_key $active
    }
    virtual_ipaddress {
        $vip
    }
}
CONF
    printf '%s' "$WORK/$n-$m.conf"
}
reload_as() { # NODE PRIO MODE ACTIVE
    write_conf "$1" "$2" "$3" "$4" >/dev/null
    cp "$WORK/$1-$3.conf" "${DCONF[$1]}"
    hup_daemon "$1"
}
auth_errors() { grep -acE 'authentication (trailer|HMAC|key)|auth_hmac' "$WORK/$1.log" || true; }
vrrpd_auth_drops() { DAEMON=vrrpd ctl "$1" status --json | jq '[.instances[0].drops | to_entries[] | select(.key | startswith("auth_hmac")) | .value] | add // 0'; }
key_of() { "$PY" "$NT_DIR/tools/hmacforge.py" keyids "$WORK/br0.pcap" --src "$2" --vrid "$3" --since "$4"; }

M_DESC[v2u]="v2 IPv4 unicast"
RESULTS=()
for m in v3m v2u v6; do
    vip=${M_VIP[$m]} vrid=${M_VRID[$m]}
    say "--- $m (${M_DESC[$m]}, VRID $vrid)"
    start_as vrrpd a "$(write_conf a 150 "$m" 1)"
    check "$m: vrrpd A Master" wait_for 5 has_vip a "$vip"
    start_as keepalived b "$(write_conf b 100 "$m" 1)"
    sleep 1
    check "$m: keepalived B accepts vrrpd's signed adverts (stays Backup 2 s)" hold_for 2 no_vip b "$vip"
    t=$(now)
    reload_as a 150 "$m" 2
    sleep 0.5
    reload_as b 100 "$m" 2
    check "$m: rotation to key 2 (A then B): B stays Backup" hold_for 2 eval "no_vip b $vip && has_vip a $vip"
    check "$m: keepalived logged no authentication error" test "$(auth_errors b)" -eq 0
    if [[ $m != v6 ]]; then
        k=$(key_of a "${NODE_V4[a]}" "$vrid" "$(fcalc "$t + 1")")
        say "$m: vrrpd A's adverts after the rotation: $k"
    fi
    stop_node a
    check "$m: keepalived B takes over when A stops" wait_for 3 has_vip b "$vip"
    start_as vrrpd a "$(write_conf a 50 "$m" 2)"
    sleep 1
    check "$m: vrrpd A accepts keepalived's signed adverts (stays Backup 2 s)" hold_for 2 no_vip a "$vip"
    t=$(now)
    reload_as b 100 "$m" 1
    sleep 0.5
    reload_as a 50 "$m" 1
    check "$m: rotation back to key 1 (B then A): A stays Backup" hold_for 2 eval "no_vip a $vip && has_vip b $vip"
    d=$(vrrpd_auth_drops a)
    say "$m: vrrpd A's drops: $(DAEMON=vrrpd ctl a status --json | jq -c '.instances[0].drops'), adverts received $(DAEMON=vrrpd ctl a status --json | jq '.instances[0].counters.adverts_received // .instances[0].adverts_received // "?"')"
    check "$m: vrrpd counted no auth_hmac drop" eval '((d == 0))'
    if [[ $m != v6 ]]; then
        say "$m: keepalived B's adverts after its rotation: $(key_of b "${NODE_V4[b]}" "$vrid" "$(fcalc "$t + 1")")"
    fi
    stop_node a
    stop_node b
    RESULTS+=("$m: ok")
    sleep 0.3
done
capture_stop
if [[ ${FIXTURE:-0} == 1 ]]; then
    tcpdump -r "$WORK/br0.pcap" -w "$REPO/tests/fixtures/auth-hmac-keepalived-master.pcap" 'ip proto 112 or ip6 proto 112' 2>/dev/null
    say "fixture: tests/fixtures/auth-hmac-keepalived-master.pcap ($(tcpdump -r "$REPO/tests/fixtures/auth-hmac-keepalived-master.pcap" 2>/dev/null | wc -l) frames)"
fi
say "summary: ${RESULTS[*]}"
finish
