#!/usr/bin/env bash
# The unit's sandbox is enough: vrrpd runs with exactly conf/vrrpd.service's
# CapabilityBoundingSet, SupplementaryGroups and NoNewPrivileges (setpriv),
# under strace, with a scratch /etc/passwd and /etc/group (keepalived_script
# and the vrrpd group) in its private mount namespace. It must become
# master (NET_ADMIN, NET_RAW), run its track and notify scripts as
# keepalived_script (SETUID, SETGID), kill a timed-out script of that user
# (KILL), create its control socket in group vrrpd (no CAP_CHOWN: the
# supplementary group) and answer `vrrpd status` from an unprivileged
# member; make accept mode's nftables table (`nft`, NET_ADMIN); every
# system call it, its scripts and nft made must be in the unit's
# SystemCallFilter (@system-service).
. "$(dirname "$0")/lib.sh"
title "52 unit sandbox: the unit's capabilities, group and syscall filter suffice"
require_daemon
is_keepalived && skip "about vrrpd's own unit"
need setpriv strace systemd-analyze
unit=$REPO/conf/vrrpd.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
groups=$(sed -n 's/^SupplementaryGroups=//p' "$unit")
filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
[[ $caps && $groups == vrrpd && $filter ]] || fail "unit lacks CapabilityBoundingSet, SupplementaryGroups=vrrpd or SystemCallFilter"
grep -q '^NoNewPrivileges=yes' "$unit" || fail "unit lacks NoNewPrivileges=yes"
bounding=-all
for c in $caps; do
    c=${c#CAP_}
    bounding+=,+${c,,}
done
say "unit: CapabilityBoundingSet=$caps SupplementaryGroups=$groups SystemCallFilter=$filter"

# Ids free on this host, used only inside the daemon's mount namespace.
uid=64990 vgid=64991
getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null || getent group "$vgid" >/dev/null \
    && skip "ids $uid/$vgid are taken on this host"
cp /etc/passwd "$WORK/passwd"
cp /etc/group "$WORK/group"
echo "keepalived_script:x:$uid:$uid::/nonexistent:/usr/sbin/nologin" >>"$WORK/passwd"
printf 'keepalived_script:x:%s:\nvrrpd:x:%s:\n' "$uid" "$vgid" >>"$WORK/group"

dir=$WORK/scripts out=$WORK/out
mkdir -p "$dir" "$out"
chmod 1777 "$out"
printf '#!/bin/sh\nid -u >%s/chk-ok.uid\nexit 0\n' "$out" >"$dir/chk-ok.sh"
printf '#!/bin/sh\necho $$ >>%s/slow.pids\nexec sleep 30\n' "$out" >"$dir/chk-slow.sh"
printf '#!/bin/sh\nid -u >%s/notify.uid\n' "$out" >"$dir/notify.sh"
chmod 755 "$dir"/*.sh
printf '0\n' >"$dir/maint"

lab_up a
VRRPD_MOUNT="mount --bind '$WORK/passwd' /etc/passwd && mount --bind '$WORK/group' /etc/group"
VRRPD_WRAP=(strace -f -qq -c -U name -o "$WORK/strace.txt"
    setpriv --bounding-set="$bounding" --groups="$vgid" --no-new-privs --)
conf_render sandbox.conf.in DIR="$dir" >"$WORK/a.conf"
start_daemon a "$WORK/a.conf"
wait_for 5 test -s "$WORK/a/daemon.pid" || fail "no pid file"
pid=$(cat "$WORK/a/daemon.pid")
say "vrrpd pid $pid: $(grep -E '^(CapEff|CapBnd|Groups|NoNewPrivs):' /proc/"$pid"/status | tr -s '\t\n' '  ')"
check "A becomes master (NET_ADMIN, NET_RAW)" wait_master a "$VIP" 5
check "accept mode's table holds the VIP (nft under the unit's capabilities)" wait_for 3 eval \
    "ip netns exec $(ns a) nft list set ip keepalived vips | grep -q '$VIP'"
check "the notify script ran as keepalived_script ($uid)" wait_for 5 grep -qx "$uid" "$out/notify.uid"
check "the track script ran as keepalived_script ($uid)" wait_for 5 grep -qx "$uid" "$out/chk-ok.uid"
# chk_slow times out every second; each run must be gone (SIGKILL needs
# CAP_KILL: the script's uid is not ours).
sleep 3.5
mapfile -t slow <"$out/slow.pids"
alive=0
for p in "${slow[@]}"; do
    [[ $(stat -c %u /proc/"$p" 2>/dev/null) == "$uid" ]] && alive=$((alive + 1))
done
say "measured: ${#slow[@]} timed-out script runs, $alive still alive"
((${#slow[@]} >= 2)) || fail "chk_slow ran ${#slow[@]} times in 3.5 s"
((alive <= 1)) || fail "$alive timed-out scripts of uid $uid still run: not killed"
sock=$WORK/a/daemon.sock
check "control socket in group vrrpd ($vgid): $(stat -c '%A %u:%g' "$sock")" eval '[[ $(stat -c %g "$sock") == "$vgid" ]]'
# A copy uid 65534 may run wherever the checkout is (a private home, a
# mktemp directory).
client=$WORK/vrrpd-client
cp "$(daemon_bin)" "$client"
chmod 755 "$client"
check "an unprivileged member of vrrpd gets the status" eval \
    'setpriv --reuid=65534 --regid=65534 --groups="$vgid" -- "$client" status --socket "$sock" | grep -q MASTER'
check "a non-member is refused" eval \
    '! setpriv --reuid=65534 --regid=65534 --clear-groups -- "$client" status --socket "$sock" >/dev/null 2>&1'
kill -HUP "$pid" # vrrpd itself: the tracer would take a signal sent to it as its own
check "reload (SIGHUP) completes" wait_for 5 grep -aq "Reload complete" "$WORK/a.log"
sleep 0.3
if grep -aiE "operation not permitted|permission denied|EPERM" "$WORK/a.log"; then
    fail "the daemon hit a permission error under the unit's sandbox"
fi
# Graceful stop through the tracer: SIGTERM to vrrpd, strace then writes
# its summary and exits.
kill -TERM "$pid"
wait_for 5 eval '! kill -0 "${DPID[a]}" 2>/dev/null' || fail "vrrpd under strace did not stop"
reap_daemon a
check "stopped: the address was removed" no_vip a "$VIP"
# ExecStopPost runs `vrrpd resign` in the same sandbox: put the address back
# as a crashed master would leave it, and resign it.
ip -n "$(ns a)" addr add "$VIP/32" dev "$LAB_IF"
private_dirs -s "$VRRPD_MOUNT"
ip netns exec "$(ns a)" "${PRIVATE_DIRS[@]}" \
    strace -f -qq -c -U name -o "$WORK/strace-resign.txt" \
    setpriv --bounding-set="$bounding" --groups="$vgid" --no-new-privs -- \
    "$(daemon_bin)" resign -f "$WORK/a.conf" >>"$WORK/a.log" 2>&1 || fail "vrrpd resign failed in the sandbox"
check "resign in the sandbox removed the address" no_vip a "$VIP"
cat "$WORK/strace-resign.txt" >>"$WORK/strace.txt"

# Every system call made (daemon, scripts, notify) against the filter.
systemd-analyze syscall-filter --no-pager >"$WORK/filters.txt" 2>/dev/null
read -ra filter_sets <<<"$filter"
"$PY" - "$WORK/strace.txt" "$WORK/filters.txt" "${filter_sets[@]}" <<'PY' || fail "system calls outside the unit's SystemCallFilter"
import re, sys
strace, filters, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
groups, cur = {}, None
for line in open(filters):
    if line.startswith("@"):
        cur = line.split()[0]
        groups[cur] = set()
    elif cur and line.strip() and not line.strip().startswith("#"):
        groups[cur].add(line.split()[0])
def expand(name, seen=()):
    if not name.startswith("@"):
        return {name}
    out = set()
    for m in groups.get(name, ()):
        out |= expand(m, seen + (name,)) if m not in seen else set()
    return out
allowed = set()
for w in wanted:
    allowed |= expand(w)
used = []
for line in open(strace):
    f = line.split()
    # strace -c may also print "PID ???( <detached ...>" for a thread that
    # ended while it detached (seen once in CI): not a system call name.
    if f and re.fullmatch(r"[a-z_][a-z_0-9]*", f[0]) and f[0] not in ("syscall", "total"):
        used.append(f[0])
outside = sorted(set(used) - allowed)
print(f"  measured: {len(set(used))} distinct system calls, {len(allowed)} allowed by {' '.join(wanted)}")
if outside:
    print("  outside the filter:", " ".join(outside))
    sys.exit(1)
print("  ok: all inside the filter")
PY
finish
