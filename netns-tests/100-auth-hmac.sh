#!/usr/bin/env bash
# 100. auth_hmac (issue 15), two vrrpd nodes, VRRPv3 0.1 s multicast, VRID
#      52: A 101 Master, B 100 Backup.  The three-sweep rollout (no block
#      -> receive-only -> permissive -> enforce, A then B each time) with
#      no transition, A's adverts trailerless until permissive.  Then C
#      sends forged adverts: priority 254 and priority 0 (as A), without a
#      trailer and with a wrong HMAC; replays A's captured adverts; and a
#      correctly signed but stale one: no transition, and the drop counters
#      (`vrrpd status`) name each.  A key rotation (active_key 1 -> 2,
#      reloads A then B) with no transition, A's adverts then on key 2.
#      Last, the positive control: a correctly signed priority-254 advert
#      from C (who knows the key) takes A out of MASTER, so the forged ones
#      were well-formed and were refused for their authentication alone.
. "$(dirname "$0")/lib.sh"
# shellcheck source=netns-tests/control-lib.sh
. "$NT_DIR/control-lib.sh"
title "100 auth_hmac: forged and replayed adverts refused; rollout and key rotation hitless"
is_keepalived && skip "keepalived 2.2.7 has no auth_hmac (see scripts/interop-auth-hmac.sh for keepalived master)"
ctl_require
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K2=f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101
lab_up a b c
# Key 2 from a file, as a systemd credential would be (mode 0600).
(umask 077 && printf 'hex:%s\n' "$K2" >"$WORK/key2")

write_conf() { # NODE MODE ACTIVE_KEY (MODE "none": no auth_hmac block)
    local n=$1 mode=$2 active=$3 prio=101 state=MASTER block=
    [[ $n == b ]] && prio=100 state=BACKUP
    if [[ $mode != none ]]; then
        block="    auth_hmac {
        key 1 hex:$K1
        key 2 file:$WORK/key2
        active_key $active
        mode $mode
    }"
    fi
    cat >"$WORK/$n.conf" <<CONF
global_defs {
    vrrp_version 3
}
vrrp_instance VI_1 {
    state $state
    interface $LAB_IF
    virtual_router_id 52
    priority $prio
    advert_int 0.1
$block
    virtual_ipaddress {
        $VIP
    }
}
CONF
    printf '%s' "$WORK/$n.conf"
}
# reload NODE MODE ACTIVE: rewrite NODE's config and SIGHUP it.
reload() {
    write_conf "$1" "$2" "$3" >/dev/null
    cp "$WORK/$1.conf" "${DCONF[$1]}"
    hup_daemon "$1"
    sleep 0.4
}
forge() { ip netns exec "$(ns c)" "$PY" "$NT_DIR/tools/hmacforge.py" "$@" >/dev/null; }
keyids() { "$PY" "$NT_DIR/tools/hmacforge.py" keyids "$WORK/br0.pcap" --src "${NODE_V4[a]}" --since "$1"; }
drops() { st "$1" ".drops.$2 // 0"; }

start_daemon a "$(write_conf a none 1)"
wait_master a "$VIP" 5 || fail "A did not become master within 5 s"
start_daemon b "$(write_conf b none 1)"
sleep 0.5
steady_mark
check "A is Master, B Backup, no auth_hmac yet" steady

# The rollout: each sweep A then B, each step hitless.
for mode in receive-only permissive enforce; do
    t=$(now)
    reload a "$mode" 1
    reload b "$mode" 1
    check "sweep to $mode: no transition" hold_for 0.3 steady
    sleep 0.2
    k=$(keyids "$(fcalc "$t + 0.5")")
    say "A's adverts after the sweep to $mode: $k"
    case $mode in
    receive-only) check "receive-only sends no trailer" eval '[[ $k =~ ^trailerless=[0-9]+$ ]]' ;;
    *) check "$mode signs with key 1" eval '[[ $k =~ ^key1=[0-9]+$ ]]' ;;
    esac
done

# Forgeries from C. Priority 254 from C's address would make A yield,
# priority 0 as A would make B take over at once, if either were accepted.
C=${NODE_V4[c]} A=${NODE_V4[a]}
for spec in "plain:$C:254" "badhmac:$C:254" "plain:$A:0" "badhmac:$A:0"; do
    IFS=: read -r kind src prio <<<"$spec"
    forge send "$LAB_IF" "$kind" --src "$src" --prio "$prio" --count 5
    check "forged $kind priority $prio from $src x5: no transition" hold_for 0.4 steady
done
# Replays of A's own signed adverts (fresh: inside the window), 100 at 1 kHz.
forge replay "$LAB_IF" "$WORK/br0.pcap" --src "$A" --last 5 --count 100 --gap 0.001
check "100 replayed adverts of A: no transition" hold_for 0.4 steady
# Correctly signed with the real key, but dated 60 s ago, priority 0 as A.
forge send "$LAB_IF" stale --src "$A" --prio 0 --key "$K1" --key-id 1 --skew -60 --count 3
check "a stale signed priority-0 advert x3: no transition" hold_for 0.4 steady

say "B drops: $(ctl b status --json | jq -c '.instances[0].drops')"
say "A drops: $(ctl a status --json | jq -c '.instances[0].drops')"
check "B counted the trailerless ones (>= 10)" eval '(($(drops b auth_hmac_missing) >= 10))'
check "B counted the wrong HMACs (>= 10)" eval '(($(drops b auth_hmac_invalid) >= 10))'
check "B counted the replays (>= 95)" eval '(($(drops b auth_hmac_replay) >= 95))'
check "B counted the stale one (>= 3)" eval '(($(drops b auth_hmac_stale) >= 3))'
check "A counted C's forgeries (>= 5 missing, >= 5 invalid)" \
    eval '(($(drops a auth_hmac_missing) >= 5 && $(drops a auth_hmac_invalid) >= 5))'
check "A logged a rate-limited warning" grep -aq 'dropped advert from 192.0.2.40: invalid authentication HMAC' "$WORK/a.log"
check "no key material in the status" eval '! ctl a status --json | grep -qi "$K1\|$K2"'

# Key rotation: make before break (key 2 is known to both already).
t=$(now)
reload a enforce 2
reload b enforce 2
check "rotation to key 2: no transition" hold_for 0.3 steady
sleep 0.2
k=$(keyids "$(fcalc "$t + 0.3")")
say "A's adverts after the rotation: $k"
check "A signs with key 2 only" eval '[[ $k =~ ^key2=[0-9]+$ ]]'

# Positive control: C knows key 2 and signs a priority-254 advert.
forge send "$LAB_IF" signed --src "$C" --prio 254 --key "$K2" --key-id 2 --count 3
check "positive control: a validly signed priority-254 advert makes A leave MASTER" wait_for 1 no_vip a "$VIP"

# A crashed Master's `vrrpd resign` signs its priority-0 advert with the
# configuration's keys (the runtime record holds none): the enforcing B
# accepts it, where an unsigned one would be counted as missing.
check "A is Master again once C is silent" wait_for 3 has_vip a "$VIP"
zero_before=$(st b '.stats.priority_zero_received // 0')
missing_before=$(drops b auth_hmac_missing)
kill -STOP "${DVPID[a]}"
resign_daemon a
check "A's resign removed $VIP" no_vip a "$VIP"
check "B accepted A's signed priority-0 advert" wait_for 1 eval '(($(st b ".stats.priority_zero_received // 0") > '"$zero_before"'))'
check "and counted no unsigned one" eval '(($(drops b auth_hmac_missing) == '"$missing_before"'))'
check "B takes over" wait_for 2 has_vip b "$VIP"
kill -KILL "${DVPID[a]}" 2>/dev/null || true
finish
