#!/usr/bin/env bash
# 44. Probes never delay adverts: A alone, VRRPv3 with 0.1 s adverts, for
#     SECS seconds without trackers, then with 50 vrrp_scripts at 0.1 s
#     intervals (500 forks a second) plus an HTTP probe at 0.1 s.  The
#     advert-lateness histogram vrrpd prints at exit: the median must not
#     move (within 1 ms of the baseline) and at most 1% of adverts may be
#     later than a quarter interval (25 ms, where vrrpd warns) - the
#     allowance is for the shared 2-core CI host, where the baseline alone
#     sometimes shows such an outlier.  keepalived 2.2 has no sub-second script interval (and
#     no lateness histogram): vrrpd only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "44 50 scripts at 0.1 s do not delay 0.1 s adverts"
require_daemon
is_keepalived && skip "keepalived: no sub-second vrrp_script interval in 2.2, no lateness histogram"
SECS=${SECS:-20}
lab_up a b
http_up a
printf '#!/bin/sh\nexit 0\n' >"$WORK/ok.sh"
chmod 755 "$WORK/ok.sh"
conf() {
    local n=$1 i
    for ((i = 0; i < n; i++)); do
        printf 'vrrp_script s%d {\n    script "%s %d"\n    interval 0.1\n    timeout 0.5\n    weight 1\n}\n' \
            "$i" "$WORK/ok.sh" "$i"
    done
    ((n)) && printf 'vrrpd_http_check web {\n    url http://%s/\n    interval 0.1\n    timeout 0.09\n    weight 1\n}\n' "${NODE_V4[a]}"
    printf 'vrrp_instance VI_1 {\n    state MASTER\n    interface %s\n    virtual_router_id 51\n    priority 100\n    version 3\n    advert_int 0.1\n    virtual_ipaddress {\n        %s\n    }\n' "$LAB_IF" "$VIP"
    if ((n)); then
        printf '    track_script {\n'
        for ((i = 0; i < n; i++)); do printf '        s%d\n' "$i"; done
        printf '    }\n    track_probe {\n        web\n    }\n'
    fi
    printf '}\n'
}
run() {
    local n=$1 line
    conf "$n" >"$WORK/a-$n.conf"
    : >"$WORK/a.log"
    start_daemon a "$WORK/a-$n.conf"
    wait_master a "$VIP" 3 || fail "A did not become master"
    sleep "$SECS"
    stop_daemon a
    line=$(grep -a "(VI_1) adverts sent" "$WORK/a.log" | tail -n 1)
    say "$n scripts: ${line#*: }"
    LATE_MAX=$(sed -nE 's/.*max=([0-9.]+)ms.*/\1/p' <<<"$line")
    LATE_P99=$(sed -nE 's/.*p99<=([0-9.]+)ms.*/\1/p' <<<"$line")
    LATE_P50=$(sed -nE 's/.*p50<=([0-9.]+)ms.*/\1/p' <<<"$line")
    LATE_N=$(sed -nE 's/.*lateness n=([0-9]+).*/\1/p' <<<"$line")
    LATE_WARNINGS=$(grep -ac "late (more than a quarter" "$WORK/a.log" || true)
}
run 0
base_max=$LATE_MAX base_p99=$LATE_P99 base_p50=$LATE_P50 base_late=$LATE_WARNINGS
run 50
check "the 50 scripts and the probe ran (priority 100 -> 151 in one step)" log_has a "Changing effective priority from 100 to 151"
say "measured: with 50 scripts + 1 HTTP probe at 0.1 s: n=$LATE_N p50 <= $LATE_P50 ms, p99 <= $LATE_P99 ms, max $LATE_MAX ms, $LATE_WARNINGS adverts > 25 ms late"
say "measured: baseline (no trackers): p50 <= $base_p50 ms, p99 <= $base_p99 ms, max $base_max ms, $base_late adverts > 25 ms late"
check "median lateness unchanged (within 1 ms of the baseline)" fle "$LATE_P50" "$(fcalc "$base_p50 + 1")"
check "at most 1% of adverts later than a quarter interval" eval '((LATE_WARNINGS * 100 <= LATE_N))'
finish
