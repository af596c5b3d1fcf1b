#!/usr/bin/env bash
# 72. The seed pair on an emulated VPC (issue 17): the published seed
#     configs (unicast, 1 s adverts) plus a vrrpd-cloud.toml side file of
#     four lines each; moto as the EC2 API, an IMDSv2 fixture per node.
#     - A starts as Master and claims: the Elastic IP stays on A's ENI;
#     - A is killed (SIGKILL): B takes over and, within the failover
#       bound plus the API round trip, B's ENI lists the private VIP and
#       the Elastic IP is on B's ENI;
#     - the recorder shows B's calls: AssignPrivateIpAddresses (B's ENI,
#       the VIP, AllowReassignment=true), then AssociateAddress (the
#       allocation, B's ENI, the VIP, AllowReassociation=true), then the
#       read-back (DescribeNetworkInterfaces, DescribeAddresses); nothing
#       from A after it died;
#     - B's status says the holder is B's ENI (this node), with the claim's
#       latency; its metrics count one claim.
. "$(dirname "$0")/lib.sh"
. "$NT_DIR/cloud-lib.sh"
title "72 cloud: seed pair, kill the Master, the VIP and Elastic IP follow through the EC2 API"
cloud_require
need jq
lab_up a b m
moto_up
imds_up a "$ENI_A"
imds_up b "$ENI_B"
seed_config 1 >"$WORK/a.conf"
seed_config 2 >"$WORK/b.conf"
cloud_side a loadbalancer1
cloud_side b loadbalancer2
cp "$WORK/a.conf" "$WORK/a/daemon.conf"
ip netns exec "$(ns a)" env AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \
    AWS_EC2_METADATA_SERVICE_ENDPOINT="http://$IMDS_ADDR/" "$(daemon_bin)" check -f "$WORK/a/daemon.conf" >"$WORK/check-a.txt" 2>&1 \
    || fail "vrrpd check refused A's config: $(cat "$WORK/check-a.txt")"
start_cloud_daemon a "$WORK/a.conf"
wait_master a "$VIP" 6 || fail "A did not become master"
start_cloud_daemon b "$WORK/b.conf"
check "A claims as Master at start (log line)" wait_for 5 eval '[[ $(claimed a) -ge 1 ]]'
check "A's status: the cloud holder is A's ENI" wait_for 5 eval '[[ $(cstatus a .holder) == "$ENI_A (this node)" ]]'
check "the Elastic IP is on A's ENI" eip_on "$ENI_A"
sleep 1
in_state b loadbalancer2 BACKUP || fail "B is not BACKUP"
check "B (Backup) made no claim" eval '[[ $(claimed b) == 0 ]]'

ec2 record-start
# The poller is started (and has imported boto3) before the kill.
eip_watch "$ENI_B" 15
t_kill=$(now)
kill_daemon a
wait_master b "$VIP" 6 || fail "B did not take over"
t_vip=$(vip_first b add "$VIP" "$t_kill")
t_eip=$(eip_seen) || fail "the Elastic IP never moved to B's ENI"
# Failover bound of the seed (priority 100, 1 s): 3 x 1 s + skew, plus 1 s
# for the API round trip.
bound=$(fcalc "$(master_down 2 100 1) + 1")
took=$(fcalc "$t_eip - $t_kill")
say "measured: kill -> VIP on B $(ms "$(fcalc "$t_vip - $t_kill")"), VIP on B -> Elastic IP on B's ENI $(ms "$(fcalc "$t_eip - $t_vip")") (poller granularity ~5 ms)"
check "Elastic IP on B's ENI $(ms "$took") after the kill (bound $(ms "$bound"))" fle "$took" "$bound"
check "B's ENI lists the private VIP $VIP" eni_lists "$ENI_B" "$VIP"
check "B logged its claim" wait_for 5 eval '[[ $(claimed b) -ge 1 ]]'
grep "cloud: claimed" "$WORK/b.log" | tail -n 1 | sed 's/^/    /'
wait_for 5 eval '[[ $(cstatus b .holder) == "$ENI_B (this node)" ]]' || true
recorded_by AKIDNODEB >"$WORK/rec-b.txt"
recorded_by AKIDNODEA >"$WORK/rec-a.txt"
sed 's/^/    B: /' "$WORK/rec-b.txt"
first2=$(grep -E '^(AssignPrivateIpAddresses|AssociateAddress) ' "$WORK/rec-b.txt" | head -n 2 | awk '{print $1}' | paste -sd' ')
check "B's first writes: AssignPrivateIpAddresses then AssociateAddress" [ "$first2" == "AssignPrivateIpAddresses AssociateAddress" ]
check "B's AssignPrivateIpAddresses: its ENI, the VIP, AllowReassignment" \
    grep -qE "^AssignPrivateIpAddresses AllowReassignment=true NetworkInterfaceId=$ENI_B PrivateIpAddress.1=$VIP$" "$WORK/rec-b.txt"
check "B's AssociateAddress: the allocation, AllowReassociation, its ENI, the VIP" \
    grep -qE "^AssociateAddress AllocationId=$ALLOC AllowReassociation=true NetworkInterfaceId=$ENI_B PrivateIpAddress=$VIP$" "$WORK/rec-b.txt"
check "B read the mapping back after claiming" \
    eval "awk '/^Assoc/{c=1} c && /^DescribeNetworkInterfaces/{f=1} END{exit !f}' '$WORK/rec-b.txt'"
check "nothing from A after it died" [ ! -s "$WORK/rec-a.txt" ]
st=$("$(daemon_bin)" status --socket "$WORK/b/daemon.sock")
grep -E '^  cloud|last claim' <<<"$st" | sed 's/^/    /'
check "B's status shows the claim's latency" [ "$(cstatus b '.last_claim.ok')" == true ]
check "B's claims counted once" [ "$(cstatus b '.stats.claims')" == 1 ]
finish
