#!/usr/bin/env bash
# 57. keepalived's dump signals: SIGUSR1 -> /tmp/keepalived.data, SIGUSR2 ->
#     /tmp/keepalived.stats, 36 (`keepalived --signum=JSON`) ->
#     /tmp/keepalived.json, 63 (STATS_CLEAR) -> the stats again without
#     killing the daemon. A symlink planted at /tmp/keepalived.json is
#     replaced, never followed; files are 0600; json_file_location moves the
#     JSON after a reload. Then keepalived 2.2.7 runs the same configuration
#     on the same node and its own dumps are the reference: every JSON key
#     vrrpd writes exists in keepalived's with the same type, the stats file
#     has the same layout, every data-dump line label exists in keepalived's.
#     vrrpd only (keepalived is the reference here).
. "$(dirname "$0")/lib.sh"
title "57 keepalived's dump files (USR1, USR2, JSON, STATS_CLEAR) match keepalived 2.2.7's"
require_daemon
is_keepalived && skip "keepalived is this scenario's reference"
command -v keepalived >/dev/null || skip "keepalived not installed"
lab_up a b
cat >"$WORK/dump.conf" <<EOF
global_defs {
    router_id node_a
}
vrrp_script chk {
    script "/bin/true"
    interval 1
    weight -10
}
vrrp_instance VI_1 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 57
    priority 150
    version 3
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.30/24
    }
    track_script {
        chk
    }
}
vrrp_instance VI_2 {
    interface $LAB_IF
    virtual_router_id 58
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    unicast_src_ip ${NODE_V4[a]}
    unicast_peer {
        ${NODE_V4[b]}
    }
    virtual_ipaddress {
        192.0.2.31
    }
}
EOF
start_daemon a "$WORK/dump.conf"
pid=${DPID[a]}
in_a() { nsenter -t "$pid" -m "$@"; }
echo precious >"$WORK/victim"
in_a ln -s "$WORK/victim" /tmp/keepalived.json
wait_master a 192.0.2.30 3 || fail "VI_1 did not become master"
json_sig=$(keepalived --signum=JSON) clear_sig=$(keepalived --signum=STATS_CLEAR)
say "keepalived --signum: JSON=$json_sig STATS_CLEAR=$clear_sig"
kill -USR1 "$pid"
kill -USR2 "$pid"
kill -s "$json_sig" "$pid"
for f in data stats json; do
    wait_for 2 in_a test -f "/tmp/keepalived.$f" || fail "no /tmp/keepalived.$f"
done
sleep 0.2
mkdir -p "$WORK/vrrpd" "$WORK/ka"
for f in data stats json; do in_a cat "/tmp/keepalived.$f" >"$WORK/vrrpd/keepalived.$f"; done
check "the daemon survived the signals" daemon_alive a
check "the planted symlink was replaced, not followed" eval \
    '[[ $(cat "$WORK/victim") == precious && $(in_a stat -c "%F %a" /tmp/keepalived.json) == "regular file 600" ]]'
check "dump files are 0600 regular files" eval \
    '[[ $(in_a stat -c "%F %a" /tmp/keepalived.data /tmp/keepalived.stats | sort -u) == "regular file 600" ]]'
states=$("$PY" -c 'import json,sys; print(" ".join("%s=%d" % (i["data"]["iname"], i["data"]["state"]) for i in json.load(open(sys.argv[1]))))' \
    "$WORK/vrrpd/keepalived.json")
say "JSON states: $states"
check "JSON: VI_1 MASTER (2), VI_2 BACKUP (1)" test "$states" = "VI_1=2 VI_2=1"
check "JSON: no password" eval '! grep -q secret "$WORK/vrrpd/keepalived.json"'
check "data: topology and script status" eval \
    'grep -qx " VRRP Instance = VI_1" "$WORK/vrrpd/keepalived.data" && grep -qx "   State = MASTER" "$WORK/vrrpd/keepalived.data" &&
     grep -qx "   Status = GOOD" "$WORK/vrrpd/keepalived.data"'
# shellcheck disable=SC2034 # used in an eval below
sent0=$(awk '/^VRRP Instance: VI_1/{f=1} f && /Sent:/{print $2; exit}' "$WORK/vrrpd/keepalived.stats")
sleep 0.3
kill -s "$clear_sig" "$pid"
wait_for 2 eval '[[ $(in_a awk "/^VRRP Instance: VI_1/{f=1} f && /Sent:/{print \$2; exit}" /tmp/keepalived.stats) -gt $sent0 ]]' \
    || fail "STATS_CLEAR did not rewrite the stats"
check "STATS_CLEAR: stats rewritten, counters kept, daemon alive" daemon_alive a

# json_file_location moves the JSON (after a reload).
in_a mkdir -p /run/dumps
sed -i 's|router_id node_a|router_id node_a\n    json_file_location /run/dumps/|' "${DCONF[a]}"
hup_daemon a
sleep 0.5
kill -s "$json_sig" "$pid"
check "json_file_location /run/dumps/ honoured after a reload" wait_for 2 in_a test -s /run/dumps/keepalived.json
stop_daemon a

# keepalived 2.2.7 on the same node with the same file: the reference.
DAEMON=keepalived start_daemon a "$WORK/dump.conf"
kpid=${DVPID[a]}
wait_master a 192.0.2.30 3 || fail "keepalived's VI_1 did not become master"
kill -USR1 "$kpid"
kill -USR2 "$kpid"
kill -s "$json_sig" "$kpid"
for f in data stats json; do
    wait_for 2 nsenter -t "$kpid" -m test -s "/tmp/keepalived.$f" || fail "keepalived wrote no /tmp/keepalived.$f"
done
sleep 0.2
for f in data stats json; do nsenter -t "$kpid" -m cat "/tmp/keepalived.$f" >"$WORK/ka/keepalived.$f"; done
DAEMON=keepalived stop_daemon a
say "vrrpd's dumps against keepalived $(keepalived --version 2>&1 | awk 'NR==1{print $2}')'s:"
"$PY" "$NT_DIR/tools/dumpcmp.py" "$WORK/vrrpd" "$WORK/ka" || fail "dumps differ from keepalived's"
finish
