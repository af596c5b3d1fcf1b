# shellcheck shell=bash
# netns-tests/cloud-lib.sh - the emulated EC2 of the cloud scenarios
# (72-75, scripts/bench-cloud.sh; issue 17). Source after lib.sh.
#
#   node M (192.0.2.50): moto in server mode, the EC2 API on port 5000,
#     with the VPC 192.0.2.0/24, A's ENI (.20), B's ENI (.21), the private
#     VIP .30 on A's and an Elastic IP associated with it (tools/ec2lab.py);
#   nodes A and B: an IMDSv2 fixture (tools/imds.py) each, on
#     203.0.113.254:80 inside the node (never 169.254.169.254: the lab
#     uses documentation ranges only), reached through the SDK's
#     AWS_EC2_METADATA_SERVICE_ENDPOINT; it gives the region, and the ENI of
#     the node's MAC, so vrrpd discovers its interface (`interface` auto).
# Each node's daemon signs with its own access key id (AKIDNODEA/B), so
# moto's request recorder tells who called what.

# shellcheck disable=SC2034,SC2154 # NODE_* (associative, lib.sh) are read by node_up
NODE_V4[m]=192.0.2.50 NODE_V6[m]=2001:db8::50 NODE_MAC[m]=02:00:00:00:00:05
EC2_ENDPOINT=http://192.0.2.50:5000
IMDS_ADDR=203.0.113.254
CLOUD_PY=$(command -v python3 || echo "$PY")

# cloud_require: vrrpd built with the aws feature, moto and boto3.
cloud_require() {
    require_daemon
    is_keepalived && skip "the cloud backend is vrrpd's (keepalived needs notify scripts: scripts/bench-cloud.sh)"
    "$CLOUD_PY" -c 'import boto3, flask, moto.server' 2>/dev/null \
        || skip "$CLOUD_PY cannot import moto's server (pip install 'moto[server]==5.2.5')"
    local probe=$WORK/probe
    mkdir -p "$probe"
    printf 'vrrp_instance P {\n interface lo\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.99\n }\n}\n' >"$probe/keepalived.conf"
    printf '[P]\nprovider = "aws"\nregion = "us-east-1"\n' >"$probe/vrrpd-cloud.toml"
    if AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x "$(daemon_bin)" check -f "$probe/keepalived.conf" 2>&1 \
        | grep -q 'without the `aws` feature'; then
        skip "$(daemon_bin) was built without the aws feature"
    fi
    need curl
}

# ec2 ARGS...: tools/ec2lab.py against the emulator, from node M.
ec2() { ip netns exec "$(ns m)" "$CLOUD_PY" "$NT_DIR/tools/ec2lab.py" "$EC2_ENDPOINT" "$@"; }

# moto_up: moto on node M (lab_up must have made it), the VPC set up;
# sets ENI_A, ENI_B, ALLOC.
moto_up() {
    bg ip netns exec "$(ns m)" env MOTO_RECORDER_FILEPATH="$WORK/moto-recording" "$CLOUD_PY" -m moto.server -H "${NODE_V4[m]}" -p 5000 >"$WORK/moto.log" 2>&1
    MOTO_PID=$BG_LAST
    wait_for 20 ip netns exec "$(ns m)" curl -sf -o /dev/null "$EC2_ENDPOINT/moto-api/" \
        || fail "moto did not start (see moto.log)"
    local out
    out=$(ec2 setup) || fail "VPC setup through the emulator failed"
    eval "$out"
    say "emulated VPC: A's ENI $ENI_A, B's ENI $ENI_B, Elastic IP $ALLOC on A's"
}

# moto_stop / moto_start: the API unreachable (connection refused) and back.
moto_stop() {
    kill -STOP "$MOTO_PID"
}
moto_cont() { kill -CONT "$MOTO_PID"; }

# block_api / unblock_api: the API unreachable by dropping M's bridge port
# (the nodes see timeouts, as with a lost route).
block_api() { ip netns exec "$NS_BR" bridge link set dev pm state 0; }
unblock_api() { ip netns exec "$NS_BR" bridge link set dev pm state 3; }

# imds_up NODE ENI: NODE's metadata fixture.
imds_up() {
    local n=$1 eni=$2 s
    s=$(ns "$n")
    ip -n "$s" addr add "$IMDS_ADDR/32" dev lo
    bg ip netns exec "$s" "$CLOUD_PY" "$NT_DIR/tools/imds.py" "$IMDS_ADDR" 80 us-east-1 "i-node$n" \
        "${NODE_MAC[$n]}" "$eni" 2>"$WORK/imds-$n.log"
    wait_for 5 ip netns exec "$s" curl -sf -o /dev/null -X PUT \
        -H 'x-aws-ec2-metadata-token-ttl-seconds: 60' "http://$IMDS_ADDR/latest/api/token" \
        || fail "IMDS fixture on $n did not start"
}

# cloud_side NODE INSTANCE [EXTRA_LINES]: the side file next to NODE's
# daemon.conf (what the seed pair needs: provider, the Elastic IP, the
# emulator's endpoint; region and ENI come from IMDS).
cloud_side() {
    mkdir -p "$WORK/$1"
    cat >"$WORK/$1/vrrpd-cloud.toml" <<SIDE
[$2]
provider = "aws"
allocation_id = "$ALLOC"
endpoint = "$EC2_ENDPOINT"
${3:-}
SIDE
}

# cloud_env NODE: VRRPD_WRAP for NODE's daemon: its credentials and IMDS.
cloud_env() {
    local key
    key=AKIDNODE$(tr '[:lower:]' '[:upper:]' <<<"$1")
    VRRPD_WRAP=(env AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY=secret
        AWS_EC2_METADATA_SERVICE_ENDPOINT="http://$IMDS_ADDR/"
        AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent)
}

# start_cloud_daemon NODE CONFIG: start_daemon with the node's cloud env.
start_cloud_daemon() {
    cloud_env "$1"
    start_daemon "$1" "$2"
    VRRPD_WRAP=()
}

# cstatus NODE JQ: a field of NODE's first instance's cloud status.
cstatus() {
    "$(daemon_bin)" status --json --socket "$WORK/$1/daemon.sock" | jq -r ".instances[0].cloud | $2"
}

# eip_on ENI: the Elastic IP is on ENI.
eip_on() { [[ $(ec2 eip "$ALLOC") == "$1" ]]; }
# eni_lists ENI ADDR
eni_lists() { ec2 lists "$1" "$2"; }
# recorded_by KEYID: the recorded calls of one node.
recorded_by() { ec2 recorded | awk -v k="$1" '$1 == k { $1 = ""; print substr($0, 2) }'; }
# claimed_log NODE: NODE's claim lines.
claimed() { grep -c "cloud: claimed" "$WORK/$1.log" || true; }

# eip_watch ENI TIMEOUT: a poller (from node M, every 5 ms) that notes when
# the Elastic IP is first seen on ENI; eip_seen waits for it and prints
# that epoch time. Started before the event, so its start-up (importing
# boto3 takes ~0.5 s) is not measured.
eip_watch() {
    rm -f "$WORK/eip-seen"
    bg sh -c 'ip netns exec "$1" "$2" "$3" "$4" wait-eip "$5" "$6" "$7" >"$8.tmp" && mv "$8.tmp" "$8"' \
        sh "$(ns m)" "$CLOUD_PY" "$NT_DIR/tools/ec2lab.py" "$EC2_ENDPOINT" "$ALLOC" "$1" "$2" "$WORK/eip-seen"
    EIP_WATCH_PID=$BG_LAST
    sleep 1
}
eip_seen() {
    wait_for 20 test -s "$WORK/eip-seen" || return 1
    cat "$WORK/eip-seen"
}

# cloud_pair [KEY=VALUE...]: lab A, B, M; the VPC; A started (Master,
# claimed), then B (Backup), both on conf/cloud-fast.conf.in with side
# files (CLOUD_EXTRA: more side-file lines, e.g. reconcile_interval).
cloud_pair() {
    lab_up a b m
    moto_up
    imds_up a "$ENI_A"
    imds_up b "$ENI_B"
    conf_for a cloud-fast.conf.in "$@" >/dev/null
    conf_for b cloud-fast.conf.in "$@" >/dev/null
    cloud_side a VI_1 "${CLOUD_EXTRA:-}"
    cloud_side b VI_1 "${CLOUD_EXTRA:-}"
    start_cloud_daemon a "$WORK/a.conf"
    wait_master a "$VIP" 5 || fail "A did not become master"
    wait_for 5 eval '[[ $(claimed a) -ge 1 ]]' || fail "A did not claim"
    start_cloud_daemon b "$WORK/b.conf"
    sleep 0.5
    no_vip b "$VIP" || fail "B holds $VIP too after start"
    say "A is Master and claimed, B is Backup"
}

# metric NODE NAME: a sample's value from NODE's /metrics (first match).
metric() {
    ip netns exec "$(ns "$1")" curl -s http://127.0.0.1:9650/metrics \
        | awk -v m="$2" '$1 == m || index($1, m "{") == 1 { print $2; exit }'
}

# vrrp_cut / vrrp_heal: drop VRRP (IP protocol 112) between the nodes on
# the bridge, nothing else: both sides keep their carrier and still reach
# the API (blocking a bridge port, lab-notes' recipe, would cut the node
# off the emulator too).
vrrp_cut() {
    ip netns exec "$NS_BR" nft -f - <<'NFT'
table bridge splitbrain {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip protocol 112 drop
    }
}
NFT
}
vrrp_heal() { ip netns exec "$NS_BR" nft delete table bridge splitbrain; }
