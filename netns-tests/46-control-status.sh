#!/usr/bin/env bash
# 46. `vrrpd status` (table and --json) against daemons in each state:
#     A MASTER (priority 115, a track_file taking 10), B BACKUP following A,
#     then B in FAULT (its link down) and back.  The control socket refuses
#     the unprivileged user `nobody` (by file mode, and by SO_PEERCRED when
#     the mode lets it connect); malformed requests get an error reply.
#     Neither changes anything on the daemon.  VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"
title "46 vrrpd status in MASTER, BACKUP, FAULT; nobody and garbage refused"
ctl_require
lab_up a b c
printf '1\n' >"$WORK/weight-a"
conf() {
    local prio=$1 track=$2
    cat <<CONF
global_defs {
    vrrp_version 3
}
vrrp_track_file maint {
    file $WORK/weight-a
    weight -10
}
vrrp_instance VI_1 {
    state BACKUP
    interface $LAB_IF
    virtual_router_id 52
    priority $prio
    advert_int 0.1
    $track
    virtual_ipaddress {
        $VIP
    }
}
CONF
}
conf 115 "track_file {
        maint
    }" >"$WORK/a.conf"
conf 100 "" >"$WORK/b.conf"
start_daemon a "$WORK/a.conf"
wait_master a "$VIP" 5 || fail "A did not become master"
start_daemon b "$WORK/b.conf"
sleep 0.6
no_vip b "$VIP" || fail "B holds $VIP too"

# MASTER: every field of the issue's table, checked in the JSON.
ja=$(ctl a status --json)
jq -e --arg vip "$VIP" '.instances[0] | .name == "VI_1" and .interface == "eth0" and .vrid == 52
    and .version == 3 and .state == "MASTER" and (.state_since | test("^20[0-9-]+T[0-9:.]+Z$"))
    and .base_priority == 115 and .effective_priority == 105 and .tracker_adjustment == -10
    and .trackers[0].kind == "file" and .trackers[0].name == "maint" and .trackers[0].reading == 1
    and .trackers[0].adjustment == -10 and .master == null and .vips_held == [$vip]
    and .adverts_sent >= 5 and (.errors | type) == "object" and .lateness_count >= 5
    and (.lateness_p50_us | type) == "number" and .lateness_p99_us >= .lateness_p50_us
    and .lateness_max_us >= .lateness_p99_us and .demoted == null' <<<"$ja" >/dev/null \
    || fail "A's status JSON: $(jq -c '.instances[0]' <<<"$ja")"
say "ok: A MASTER: $(jq -r '.instances[0] | "priority \(.effective_priority) (base \(.base_priority), \(.trackers[0].kind) \(.trackers[0].name) \(.trackers[0].adjustment)), \(.adverts_sent) adverts sent, lateness p50 \(.lateness_p50_us) us p99 \(.lateness_p99_us) us max \(.lateness_max_us) us"' <<<"$ja")"
ta=$(ctl a status)
printf '%s\n' "$ta" | sed 's/^/    /'
check "A's table: state, tracker line, VIPs" eval '[[ $ta == *"state     MASTER since "* && $ta == *"file maint (weight -10): 1 -> -10"* && $ta == *"vips      $VIP"* ]]'

# BACKUP: follows A at its effective priority.
jb=$(ctl b status --json)
jq -e '.instances[0] | .state == "BACKUP" and .reason == "Startup" and .master.address == "192.0.2.20"
    and .master.priority == 105 and .adverts_received >= 5 and .vips_held == [] and .trackers == []' \
    <<<"$jb" >/dev/null || fail "B's status JSON: $(jq -c '.instances[0]' <<<"$jb")"
say "ok: B BACKUP following $(jq -r '.instances[0].master | "\(.address) at priority \(.priority)"' <<<"$jb")"
# shellcheck disable=SC2034 # used through eval
tb=$(ctl b status)
check "B's table names the master" eval '[[ $tb == *"state     BACKUP since "* && $tb == *"master    192.0.2.20 priority 105"* && $tb == *"none held"* ]]'

# FAULT: B's link goes down.
ip -n "$NS_BR" link set pb down
check "B's status says FAULT (link)" wait_for 3 eval 'st_is b ".state + \" \" + .reason + \" \" + (.faults.link|tostring)" "FAULT FaultRaised true"'
tf=$(ctl b status)
printf '%s\n' "$tf" | grep -E 'state|master|vips' | sed 's/^/    /'
check "B's table shows FAULT" eval '[[ $tf == *"state     FAULT since "* ]]'
ip -n "$NS_BR" link set pb up
check "B back to BACKUP (FaultCleared)" wait_for 3 eval 'st_is b ".state + \" \" + .reason" "BACKUP FaultCleared"'
check "A still MASTER" has_vip a "$VIP"

# nobody: refused by the file mode, then (mode opened) by SO_PEERCRED.
# shellcheck disable=SC2034 # used through eval
ta0=$(transitions a)
client=$(nobody_client)
out=$(ip netns exec "$(ns a)" setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$client" status --socket "$WORK/a/daemon.sock" 2>&1) && rc=0 || rc=$?
say "nobody, socket mode $(stat -c %a "$WORK/a/daemon.sock"): exit $rc: $out"
[[ $rc == 3 && $out == *"permission denied"* ]] || fail "nobody was not refused by the socket mode"
chmod 755 "$WORK/a"
chmod 666 "$WORK/a/daemon.sock"
for cmd in "status" "demote VI_1" "reload"; do
    # shellcheck disable=SC2086 # words on purpose
    out=$(ip netns exec "$(ns a)" setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$client" $cmd --socket "$WORK/a/daemon.sock" 2>&1) && rc=0 || rc=$?
    say "nobody, socket mode 666, '$cmd': exit $rc: $out"
    [[ $rc == 3 && $out == *"permission denied for uid 65534"* ]] || fail "nobody's '$cmd' was not refused by SO_PEERCRED"
done
chmod 660 "$WORK/a/daemon.sock"

# Garbage on the socket: an error reply each, nothing reaches the driver.
# shellcheck disable=SC2016
for req in 'garbage' '{"cmd":"status"' '{"cmd":"halt"}' '{"cmd":"demote"}' \
    '{"cmd":"demote","instance":"VI_9"}' '{"v":9,"cmd":"status"}' '{"cmd":"status","x":1}'; do
    reply=$(printf '%s\n' "$req" | ctl_raw a)
    say "request $req -> $reply"
    jq -e '.ok == false and (.error | length) > 0' <<<"$reply" >/dev/null || fail "no error reply to $req"
done
reply=$(head -c 3000 /dev/urandom | ctl_raw a)
say "3000 random bytes -> $reply"
jq -e '.ok == false' <<<"$reply" >/dev/null || fail "no error reply to random bytes"
reply=$("$PY" -c 'print("{" * 10000)' | ctl_raw a)
say "10001 bytes -> $reply"
[[ $reply == *"request too long"* ]] || fail "oversized request not refused"
check "A still MASTER, not demoted, same transitions" eval 'has_vip a "$VIP" && st_is a ".state + (.demoted|tostring)" "MASTERnull" && [[ $(transitions a) == "$ta0" ]]'
check "both daemons alive" eval 'daemon_alive a && daemon_alive b'
finish
