#!/usr/bin/env bash
# 45. Two probes on A against its local Apache: HTTP with status 200 only
#     (weight -10) and TCP connect (weight 0).  The page disappears (Apache
#     answers 404): the HTTP probe fails, A's priority drops 101 -> 91 and
#     B takes over, A stays BACKUP.  Page back: A preempts.  Apache stops
#     (connection refused): the unweighted TCP probe puts A in FAULT.
#     vrrpd: native vrrpd_http_check / vrrpd_tcp_check; keepalived: the
#     equivalent vrrp_scripts (curl -f, a Python connect).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "45 HTTP status and TCP refused: weighted drop, then FAULT"
require_daemon
need apache2 curl
lab_up a b c
apache_up a
printf '#!%s\nimport socket, sys\nsocket.create_connection(("127.0.0.1", 8081), 0.5).close()\n' "$PY" >"$WORK/tcp.py"
chmod 755 "$WORK/tcp.py"
if is_keepalived; then
    TOP="vrrp_script page {
    script \"/usr/bin/curl -sf -o /dev/null --max-time 0.5 http://127.0.0.1:8081/index.html\"
    interval 1
    timeout 1
    weight -10
}
vrrp_script port {
    script \"$WORK/tcp.py\"
    interval 1
    timeout 1
}"
    EXTRA="    track_script {
        page
        port
    }"
else
    TOP="vrrpd_http_check page {
    url http://127.0.0.1:8081/index.html
    status_code 200
    interval 1
    timeout 0.5
    weight -10
}
vrrpd_tcp_check port {
    connect 127.0.0.1:8081
    interval 1
    timeout 0.5
}"
    EXTRA="    track_probe {
        page
        port
    }"
fi
conf_a=$(track_conf a none)
TOP="" EXTRA=""
conf_b=$(track_conf b none)
start_daemon a "$conf_a"
wait_master a "$VIP" 6 || fail "A did not become master"
start_daemon b "$conf_b"
sleep 1.5
no_vip b "$VIP" || fail "B holds $VIP too after start"
mdi=$(master_down 2 100 1)
bound=$(fcalc "2 + $mdi + 0.5")
page=$WORK/apache-a/www/index.html

t=$(now)
mv "$page" "$page.off"
check "page gone (404): A's priority 101 -> 91" wait_for 3 log_has a "Changing effective priority from 101 to 91"
check "B takes over" wait_master b "$VIP" "$bound"
say "measured: 404 -> VIP on B $(ms "$(fcalc "$(vip_first b add "$VIP" "$t") - $t")")"
check "A is BACKUP, not FAULT" in_state a VI_1 BACKUP
mv "$page.off" "$page"
check "page back: A's priority 91 -> 101" wait_for 3 log_has a "Changing effective priority from 91 to 101"
check "A preempts" wait_master a "$VIP" "$bound"

t=$(now)
apache_stop a
check "Apache stopped (TCP refused): A enters FAULT" wait_for 3 in_state a VI_1 FAULT
check "B holds $VIP" wait_master b "$VIP" 2
say "measured: Apache stopped -> VIP on B $(ms "$(fcalc "$(vip_first b add "$VIP" "$t") - $t")")"
apache_up a
check "Apache back: A leaves FAULT and preempts" wait_master a "$VIP" 8
finish
