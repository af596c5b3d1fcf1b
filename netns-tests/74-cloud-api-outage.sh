#!/usr/bin/env bash
# 74. The API unreachable during a takeover (issue 17). A Master (claimed),
#     B Backup, VRRPv3 at 0.1 s. The emulator's bridge port is blocked
#     (timeouts, as a lost route), then A is killed: B takes over and
#     keeps the VIP locally while its claim fails:
#     - while it lasts the outage is visible: B's status shows the failure
#       (error, attempts, how long) and its metrics vrrpd_cloud_failing 1
#       and vrrpd_cloud_failures_total > 0;
#     - 5 s later the port is unblocked: B claims within one backoff step
#       (5 s at most), the Elastic IP is on B's ENI, status in sync and
#       vrrpd_cloud_failing 0.
#     OUTAGE=20 or 60 runs the same with a longer outage.
. "$(dirname "$0")/lib.sh"
. "$NT_DIR/cloud-lib.sh"
OUTAGE=${OUTAGE:-5}
title "74 cloud: API unreachable for ${OUTAGE} s during a takeover, claimed once it answers"
cloud_require
need jq
cloud_pair
block_api
t_block=$(now)
kill_daemon a
wait_master b "$VIP" 3 || { unblock_api; fail "B did not take over"; }
check "B's claim fails while the API is unreachable (status)" \
    wait_for 6 eval '[[ $(cstatus b .failure.error.kind) == unreachable ]]'
say "B's status during the outage:"
"$(daemon_bin)" status --socket "$WORK/b/daemon.sock" | grep -E '^  cloud|^            ' | sed 's/^/    /'
check "metrics: vrrpd_cloud_failing 1" eval '[[ $(metric b vrrpd_cloud_failing) == 1 ]]'
check "metrics: vrrpd_cloud_failures_total > 0" eval '(( $(metric b vrrpd_cloud_failures_total) > 0 ))'
check "B holds the VIP locally meanwhile" has_vip b "$VIP"
rest=$(fcalc "$OUTAGE - ($(now) - $t_block)")
fle 0 "$rest" && sleep "$rest"
unblock_api
t_up=$(now)
eip_watch "$ENI_B" 15
t_eip=$(eip_seen) || fail "the Elastic IP never moved to B's ENI"
late=$(fcalc "$t_eip - $t_up")
say "measured: API back -> Elastic IP on B's ENI $(ms "$late") (outage ${OUTAGE} s)"
check "claimed within one backoff step (5 s) + 1 s of the API answering" fle "$late" 6
check "B's ENI lists the VIP" eni_lists "$ENI_B" "$VIP"
check "B's status: in sync, no failure" wait_for 3 eval '[[ $(cstatus b .in_sync) == true && $(cstatus b .failure) == null ]]'
check "metrics: vrrpd_cloud_failing 0" eval '[[ $(metric b vrrpd_cloud_failing) == 0 ]]'
grep -E "cloud: (claim|API answering)" "$WORK/b.log" | sed 's/^/    /' | tail -n 4
finish
