#!/usr/bin/env bash
# 56. Prometheus metrics (metrics_listen): A master, B backup, VRRPv3 at
#     0.1 s, each tracking a TCP probe that succeeds (+5) and one that fails
#     (-3). Hostile TTL-64 adverts from C give both a drop counter. Each
#     node's /metrics (text 0.0.4 and OpenMetrics, parsed by the Prometheus
#     client library's parsers) must agree with `vrrpd status --json` taken
#     around it: state, effective and base priority, adverts sent and
#     received, drops by reason, lateness count. The endpoint runs on a
#     niced thread of its own. Then it is abused for 4 s (16 slowloris
#     connections filling every slot, 20 requests/s of scrapes, 404s and
#     garbage) while the advert-lateness histogram is watched: no more
#     adverts later than 25 ms than in a quiet 4 s window just before, plus
#     1% (the shared 2-core CI host makes such outliers on its own). A
#     stops; B's metrics show the BACKUP->MASTER transition and the
#     announcements. Last, a node whose metrics port is taken logs a clear
#     error and runs on. vrrpd only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/track-lib.sh"
title "56 metrics endpoint agrees with vrrpd status, survives abuse"
require_daemon
is_keepalived && skip "keepalived has no metrics endpoint (it needs an exporter)"
"$PY" -c 'import prometheus_client.parser' 2>/dev/null || skip "python3-prometheus-client not installed"
need curl
prom() { "$PY" "$NT_DIR/tools/promcheck.py" "$@"; }
lab_up a b c
start_daemon a "$(conf_for a metrics.conf.in VRID=52)"
wait_master a "$VIP" 5 || fail "A did not become master"
start_daemon b "$(conf_for b metrics.conf.in VRID=52)"
sleep 1
no_vip b "$VIP" || fail "B holds the VIP too"

# node-local helpers
scrape() { # NODE OUT [ACCEPT]
    ip netns exec "$(ns "$1")" curl -sf --max-time 2 ${3:+-H "Accept: $3"} \
        http://127.0.0.1:9650/metrics >"$2"
}
status() { "$(daemon_bin)" status --json --socket "$WORK/$1/daemon.sock" >"$2"; }
metric() { prom value "$@"; }

hostile ttl64 --src 192.0.2.40 --dst 224.0.0.18 --dst-mac 01:00:5e:00:00:12 --vrid 52 --prio 254 \
    --count 5 --gap 0.02 >/dev/null
# The driver republishes counters kept outside the state machine once a second.
sleep 1.3
for n in a b; do
    status "$n" "$WORK/$n-before.json"
    scrape "$n" "$WORK/$n.prom" || fail "scraping $n failed"
    scrape "$n" "$WORK/$n.om" "application/openmetrics-text;version=1.0.0" || fail "OpenMetrics scrape of $n failed"
    status "$n" "$WORK/$n-after.json"
    say "node $n: $(wc -l <"$WORK/$n.prom") lines; metrics vs status:"
    prom compare "$WORK/$n.prom" "$WORK/$n.om" "$WORK/$n-before.json" "$WORK/$n-after.json" \
        || fail "metrics of $n disagree with vrrpd status"
done
check "A: priority 101 +5 (probe ok) -3 (probe failing) = 103" \
    test "$(metric "$WORK/a.prom" vrrpd_instance_priority instance=VI_1)" = 103
check "B: TTL-64 adverts counted under reason=ttl" \
    test "$(metric "$WORK/b.prom" vrrpd_adverts_dropped_total instance=VI_1 reason=ttl)" -ge 5
check "tracker gauges: self up, closed down" eval \
    '[[ $(metric "$WORK/a.prom" vrrpd_tracker_up kind=probe tracker=self) == 1 &&
        $(metric "$WORK/a.prom" vrrpd_tracker_up kind=probe tracker=closed) == 0 ]]'
runs_ok=$(metric "$WORK/a.prom" vrrpd_tracker_runs_total kind=probe tracker=self result=ok)
runs_failed=$(metric "$WORK/a.prom" vrrpd_tracker_runs_total kind=probe tracker=closed result=failed)
dur_n=$(metric "$WORK/a.prom" vrrpd_tracker_run_duration_seconds_count kind=probe tracker=self)
say "measured: probe runs on A: self ok=$runs_ok (duration samples $dur_n), closed failed=$runs_failed"
check "probe runs and durations recorded" eval '((runs_ok >= 5 && runs_failed >= 5 && dur_n >= runs_ok))'
code=$(ip netns exec "$(ns a)" curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:9650/nope)
check "a wrong path is a 404 ($code)" test "$code" = 404

# Serving runs on a thread of its own, at a lower CPU priority.
threads=$(ps -L -o comm=,nice= -p "${DPID[a]}")
check "the endpoint has its own niced thread" grep -qE "^vrrpd-metrics +5$" <<<"$threads"
# Abuse while A sends adverts every 0.1 s, against a quiet window of the same
# length just before (the shared CI host makes its own outliers).
window() { # SECONDS [abuse]: prints "adverts late" for A over the window
    local pre post n0 l0 n1 l1
    pre=$WORK/a-w0.prom post=$WORK/a-w1.prom
    scrape a "$pre"
    if [[ ${2:-} ]]; then
        ip netns exec "$(ns a)" "$PY" "$NT_DIR/tools/abuse_http.py" 127.0.0.1 9650 "$1" 16 >"$WORK/abuse.txt"
    else
        sleep "$1"
    fi
    scrape a "$post" || fail "no scrape after the window"
    read -r n0 l0 < <(prom late "$pre" VI_1 0.025)
    read -r n1 l1 < <(prom late "$post" VI_1 0.025)
    echo "$((n1 - n0)) $((l1 - l0))"
}
read -r qsent qlate < <(window 4)
# shellcheck disable=SC2034 # used in an eval below
tb=$(transitions b)
read -r sent late < <(window 4 abuse)
abuse=$(cat "$WORK/abuse.txt")
say "abuse: $abuse"
say "measured: quiet 4 s: $qsent adverts, $qlate more than 25 ms late; abuse (4 s + up to 3 s for the slow clients): $sent adverts, $late more than 25 ms late"
check "adverts kept their 0.1 s pace under abuse (>= 33 in 4 s)" eval '((sent >= 33))'
check "no more late adverts under abuse than in the quiet window (+1%)" \
    eval '((late <= qlate + (sent + 99) / 100))'
check "slowloris connections were cut off" grep -q "slow_closed=16 of 16" <<<"$abuse"
read -r scrapes ok < <(sed -nE 's/scrapes=([0-9]+) ok=([0-9]+).*/\1 \2/p' <<<"$abuse")
check "scrapes got through the slowloris ($ok of $scrapes)" eval '((scrapes >= 20 && ok >= scrapes - 1))'
check "A still master, B untouched" eval 'has_vip a "$VIP" && [[ $(transitions b) == "$tb" ]]'

# Failover: B's metrics show it.
stop_daemon a
wait_master b "$VIP" 3 || fail "B did not take over"
sleep 1.2
scrape b "$WORK/b2.prom"
check "B: BACKUP->MASTER counted once" \
    test "$(metric "$WORK/b2.prom" vrrpd_transitions_total instance=VI_1 from=BACKUP to=MASTER)" = 1
check "B: state MASTER" test "$(metric "$WORK/b2.prom" vrrpd_instance_state instance=VI_1 state=MASTER)" = 1
check "B: A's priority-0 advert counted" \
    test "$(metric "$WORK/b2.prom" vrrpd_priority_zero_received_total instance=VI_1)" -ge 1
ann=$(metric "$WORK/b2.prom" vrrpd_announcements_total instance=VI_1)
say "measured: B sent $ann gratuitous ARPs after taking over"
check "B: announcements counted" eval '((ann >= 1))'
status b "$WORK/b2-before.json"
scrape b "$WORK/b2.prom"
scrape b "$WORK/b2.om" "application/openmetrics-text"
status b "$WORK/b2-after.json"
prom compare "$WORK/b2.prom" "$WORK/b2.om" "$WORK/b2-before.json" "$WORK/b2-after.json" >/dev/null \
    || fail "B's metrics disagree with its status after the failover"

# The port is taken: a clear error, and the daemon runs on.
bg ip netns exec "$(ns c)" "$PY" -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 9650)); s.listen(); time.sleep(30)'
wait_for 3 eval 'ip netns exec "$(ns c)" ss -Htln | grep -q 127.0.0.1:9650' || fail "port holder did not start"
start_daemon c "$(conf_render metrics.conf.in VRID=53 PRIO=100 STATE=BACKUP >"$WORK/c.conf" && echo "$WORK/c.conf")"
check "port in use: clear error in the log" wait_for 3 log_has c \
    "metrics endpoint disabled: cannot listen on 127.0.0.1:9650 \(metrics_listen\): Address (already )?in use"
check "and the daemon runs on: C becomes master of its VRID" wait_for 5 log_has c "\(VI_1\) Entering MASTER STATE"
finish
