#!/usr/bin/env bash
# 63. Refused upgrades leave the old daemon serving: the new binary exits
#     at start; it hangs (not ready within 1 s); it refuses the state (the
#     configuration on disk changed the instance's VRID since the daemon
#     loaded it). Each time `vrrpd upgrade` exits non-zero with the reason,
#     A keeps its PID and the VIP, adverts go on within one interval + 50 ms,
#     no priority-0 advert, no gratuitous ARP, no transition on either node.
#     VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/upgrade-lib.sh"
title "63 vrrpd upgrade refused (exits, hangs, refuses the state): the old daemon serves on"
upgrade_require
fast_lab v3-ipv4.conf.in
CLIENT_DURATION=60 client_start "http://$VIP/" 0.01
check "client answered by A" wait_for 3 client_says node-a
past_delayed_garps
pid0=$(pid_of a)

# refused CASE NEEDLE: after an upgrade that must fail, with NEEDLE in the reason.
refused() {
    local needle=$2
    [[ $UP_RC != 0 ]] || fail "$1: vrrpd upgrade exited 0: $UP_OUT"
    check "$1: the reason is given ($needle)" eval '[[ $UP_OUT == *"$needle"* && $UP_OUT == *"carries on"* ]]'
    check "$1: A keeps its pid" eval "[[ \$(pid_of a) == $pid0 ]] && kill -0 $pid0"
    sleep 1
    check "$1: A holds $VIP, B does not, no transition" steady
    check "$1: A's log says why" eval 'grep -a "this daemon carries on" "$WORK/a.log" | grep -aqF -- "$needle"'
    wire_clean "$(fcalc "$UP_T0 - 0.5")" "$(now)"
    client_clean "$UP_T0" "$(now)"
}

sleep 1
steady_mark
printf '#!/bin/sh\necho "broken build" >&2\nexit 1\n' >"$WORK/broken"
replace_bin "$WORK/broken"
upgrade a
refused "exits at start" "exited"

steady_mark
printf '#!/bin/sh\nexec sleep 30\n' >"$WORK/hangs"
replace_bin "$WORK/hangs"
upgrade a
refused "hangs" "not ready within 1 s"
check "the hung process was killed" eval "! pgrep -f 'sleep 30' >/dev/null"

steady_mark
replace_bin "$REAL_BIN"
sed -i 's/virtual_router_id 52/virtual_router_id 53/' "${DCONF[a]}"
upgrade a
refused "state refused" "(VI_1) virtual_router_id (52 -> 53)"
sed -i 's/virtual_router_id 53/virtual_router_id 52/' "${DCONF[a]}"

# And it still can: the same binary, the configuration back.
steady_mark
upgrade a
[[ $UP_RC == 0 ]] || fail "the upgrade after the refusals failed: $UP_OUT"
pid1=$(pid_of a)
check "A's pid changed ($pid0 -> $pid1)" eval "[[ $pid1 != $pid0 ]]"
adopt_pid a "$pid1"
sleep 1
check "A holds $VIP, B does not, no transition" steady
finish
