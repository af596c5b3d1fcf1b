#!/usr/bin/env bash
# journald: a real systemd-journald (Debian's systemd package) receives
# vrrpd's native entries and journalctl reads them back. journald runs as a
# journal namespace in its own mount namespace with its sockets and volatile
# storage under $WORK, so the host's logging is untouched.
# Node A starts as systemd starts it (stdout/stderr a journal stream that
# JOURNAL_STREAM names, -D); node B with --log journald and no -D. A becomes
# master; stopped, it resigns and B takes over. Checked per transition: one
# entry, MESSAGE in keepalived's words, VRRP_INSTANCE, VRRP_VRID,
# VRRP_STATE_FROM, VRRP_STATE_TO, REASON, VRRP_PRIORITY, and PRIORITY the
# syslog level (6, single-valued); keepalived's detail lines only with -D.
. "$(dirname "$0")/lib.sh"
title "50 journald: structured transition entries read back with journalctl"
require_daemon
is_keepalived && skip "keepalived logs syslog text, no structured fields"
need journalctl
JOURNALD=/lib/systemd/systemd-journald
[[ -x $JOURNALD ]] || skip "$JOURNALD not installed (Debian package systemd)"
lab_up a b

# ---- journald, namespace "vt<PID>": sockets in $jrun/journal.NS/.
jns=$NT_ID
jrun=$WORK/jrun
jlog=$WORK/jlog
mkdir -p "$jrun/journald@$jns.conf.d" "$jlog"
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n' \
    >"$jrun/journald@$jns.conf.d/test.conf"
bg unshare -m --propagation private sh -c '
    mount -t tmpfs tmpfs /run && mkdir -p /run/systemd /run/log &&
    mount --bind "$1" /run/systemd && mount --bind "$2" /run/log &&
    { [ ! -d /var/log/journal ] || mount -t tmpfs tmpfs /var/log/journal; } &&
    exec "$3" "$4"' _ "$jrun" "$jlog" "$JOURNALD" "$jns" >"$WORK/journald.out" 2>&1
wait_for 5 test -S "$jrun/journal.$jns/stdout" || fail "systemd-journald did not start: $(cat "$WORK/journald.out")"
say "systemd-journald $(journalctl --version | awk 'NR == 1 {print $2}') running (namespace $jns, pid $BG_LAST)"
# The daemons see it at the standard path (/run is private to each daemon).
VRRPD_MOUNT="mkdir -p /run/systemd/journal && mount --bind '$jrun/journal.$jns' /run/systemd/journal"

VRRPD_WRAP=("$PY" "$NT_DIR/tools/journal-stream.py" "$jrun/journal.$jns/stdout" vrrpd)
start_daemon a "$(conf_for a v3-ipv4.conf.in)"
pid_a=${DPID[a]}
wait_master a "$VIP" 5 || fail "A did not become master"
VRRPD_WRAP=() VRRPD_ARGS=(--log journald) VRRPD_DETAIL=""
start_daemon b "$(conf_for b v3-ipv4.conf.in)"
pid_b=${DPID[b]}
sleep 0.5
no_vip b "$VIP" || fail "B holds the VIP too"
stop_daemon a
wait_master b "$VIP" 3 || fail "B did not take over after A stopped"
stop_daemon b
say "A ($pid_a) was master, resigned on SIGTERM; B ($pid_b) took over"

jdir=$(echo "$jlog"/journal/*."$jns")
[[ -d $jdir ]] || fail "no journal directory under $jlog (Storage=volatile ignored?)"
journalctl -D "$jdir" -o json --no-pager SYSLOG_IDENTIFIER=vrrpd >"$WORK/journal.json"
say "journalctl -D: $(wc -l <"$WORK/journal.json") vrrpd entries"
# An operator's query: A's MASTER transition of VI_1, with its fields.
journalctl -D "$jdir" --no-pager -o verbose VRRP_INSTANCE=VI_1 VRRP_STATE_TO=MASTER _PID="$pid_a" \
    | grep -E '^ *(MESSAGE|VRRP_|REASON|PRIORITY|_TRANSPORT)=' | sed 's/^ */    /'

"$PY" - "$WORK/journal.json" "$pid_a" "$pid_b" <<'PY' || fail "journal entries (see above)"
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
pid_a, pid_b = sys.argv[2], sys.argv[3]
bad = []

def of(pid, **match):
    return [e for e in entries if e.get("_PID") == pid and all(e.get(k) == v for k, v in match.items())]

def transition(pid, name, frm, to, prio, reasons):
    msg = f"(VI_1) Entering {to} STATE" + (" (init)" if frm == "INIT" else "")
    found = of(pid, VRRP_STATE_FROM=frm, VRRP_STATE_TO=to)
    if len(found) != 1:
        bad.append(f"{name}: {len(found)} entries {frm}->{to}, expected 1")
        return
    e = found[0]
    want = {"MESSAGE": msg, "VRRP_INSTANCE": "VI_1", "VRRP_VRID": "52", "VRRP_PRIORITY": prio,
            "PRIORITY": "6", "_TRANSPORT": "journal", "SYSLOG_IDENTIFIER": "vrrpd"}
    for k, v in want.items():
        if e.get(k) != v:
            bad.append(f"{name} {frm}->{to}: {k}={e.get(k)!r}, expected {v!r}")
    if e.get("REASON") not in reasons:
        bad.append(f"{name} {frm}->{to}: REASON={e.get('REASON')!r}, expected one of {reasons}")
    print(f"  ok: {name}: MESSAGE={e.get('MESSAGE')!r} REASON={e.get('REASON')} VRRP_PRIORITY={e.get('VRRP_PRIORITY')}")

transition(pid_a, "A (journal stream)", "INIT", "BACKUP", "101", ["Startup"])
transition(pid_a, "A (journal stream)", "BACKUP", "MASTER", "101", ["MasterDown"])
transition(pid_b, "B (--log journald)", "INIT", "BACKUP", "100", ["Startup"])
transition(pid_b, "B (--log journald)", "BACKUP", "MASTER", "100", ["MasterResigned", "MasterDown"])
# keepalived's detail lines (its -D): A has them, B (no -D) has none.
for pid, name, want in ((pid_a, "A (-D)", True), (pid_b, "B (no -D)", False)):
    for line in ("(VI_1) setting VIPs.", "(VI_1) Receive advertisement timeout"):
        has = bool(of(pid, MESSAGE=line))
        if has != want:
            bad.append(f"{name}: {line!r} {'missing' if want else 'logged without -D'}")
    print(f"  ok: {name}: keepalived's detail lines {'present' if want else 'absent'}")
if not of(pid_a, MESSAGE="(VI_1) sent 0 priority"):
    bad.append("A: no '(VI_1) sent 0 priority' on SIGTERM (-D)")
# Nothing from either daemon fell back to plain stderr text.
text = [e for e in entries if e.get("_TRANSPORT") == "stdout"]
if text:
    bad.append(f"{len(text)} stderr line(s) instead of native entries, e.g. {text[0].get('MESSAGE')!r}")
for b in bad:
    print("  FAIL:", b)
sys.exit(1 if bad else 0)
PY
finish
