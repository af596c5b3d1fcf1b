#!/usr/bin/env bash
# 73. Split brain and heal with the cloud backend (issue 17). A (101) and
#     B (100), VRRPv3 at 0.1 s, reconcile every 1 s. VRRP alone is dropped
#     on the bridge (both nodes keep their carrier and reach the API), so
#     both become Master and both claim: the cloud follows whichever
#     claimed last, each Master re-claims when its reconciliation finds
#     the address elsewhere (bounded by the backoff). Then the heal:
#     - B sees A's higher-priority advert and goes BACKUP; from then on B
#       makes no claim (recorder: no write call of B's key);
#     - A hears B's adverts (a peer event) and reconciles: the Elastic IP
#       and the VIP end on A's ENI, and the last claims are A's;
#     - how many claims each side made during the split is printed (the
#       backoff bounds the tug of war).
. "$(dirname "$0")/lib.sh"
. "$NT_DIR/cloud-lib.sh"
title "73 cloud: split brain and heal, the survivor's claims are the last"
cloud_require
need jq nft
CLOUD_EXTRA="reconcile_interval = 1" cloud_pair
ec2 record-start
vrrp_cut
t_cut=$(now)
wait_master b "$VIP" 3 || { vrrp_heal; fail "B did not become master with VRRP cut"; }
has_vip a "$VIP" || fail "A lost $VIP during the split"
check "B claims during the split" wait_for 5 eval '[[ $(claimed b) -ge 1 ]]'
sleep 4
writes() { recorded_by "$1" | grep -cE '^(AssignPrivateIpAddresses|AssociateAddress) ' || true; }
say "during 4 s of split brain: A made $(writes AKIDNODEA) write call(s), B $(writes AKIDNODEB)"
vrrp_heal
t_heal=$(now)
wait_for 3 no_vip b "$VIP" || fail "B kept $VIP after the heal"
check "B is BACKUP after the heal" wait_for 3 in_state b VI_1 BACKUP
# B's jobs in flight at the heal end within one API call (2 s at most);
# from then on nothing of B's may reach the API.
sleep 2.5
ec2 record-start
check "A ends with the Elastic IP on its ENI" wait_for 12 eip_on "$ENI_A"
check "A's ENI lists the VIP" eni_lists "$ENI_A" "$VIP"
sleep 2
recorded_by AKIDNODEB >"$WORK/rec-b-after.txt"
check "B made no claim after it saw the winner" \
    eval "! grep -qE '^(AssignPrivateIpAddresses|AssociateAddress) ' '$WORK/rec-b-after.txt'"
check "A's status: in sync, holder A's ENI" eval '[[ $(cstatus a .holder) == "$ENI_A (this node)" && $(cstatus a .in_sync) == true ]]'
# Any claim of B's that completed after B left MASTER is logged as stale,
# and no claim of B's is logged after that.
b_backup=$(grep -a "Entering BACKUP STATE" "$WORK/b.log" | tail -n 1 | awk '{print $1}')
late=$(awk -v t="$b_backup" '$1 > t && /cloud: claimed/' "$WORK/b.log" | wc -l)
check "no claim logged by B after it entered BACKUP ($b_backup)" [ "$late" == 0 ]
say "A: claims $(cstatus a .stats.claims), drifts $(cstatus a .stats.drifts); B: claims $(cstatus b .stats.claims), stale $(cstatus b .stats.stale_claims)"
say "measured: heal -> Elastic IP back on A's ENI within the checks above ($(ms "$(fcalc "$(now) - $t_heal")") incl. waits); split lasted $(ms "$(fcalc "$t_heal - $t_cut")")"
finish
