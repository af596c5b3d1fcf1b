#!/usr/bin/env bash
# 65. The Debian package upgrades an installed, running vrrpd under a real
#     systemd without moving the floating IP. Node A is a container
#     (systemd-nspawn booting systemd as its PID 1 on a copy-on-write
#     overlay of the host's root, in A's network namespace); B runs vrrpd
#     directly as the Backup. In A: `dpkg -i` of the package (postinst
#     enables and starts the unit: a native config, no keepalived), A is
#     Master; then `dpkg -i` of a newer build (another version, another
#     binary): postinst runs `vrrpd upgrade`, the successor becomes the
#     unit's main process (MAINPID=). Checked while the VIP is polled every
#     10 ms: the unit never leaves active (same invocation, no restart), its
#     MainPID is the successor running the new binary and the old process
#     is gone, the VIP never leaves A, B never becomes Master, no priority-0
#     advert; past WatchdogSec (a drop-in sets 2 s) the successor is still
#     the main process; `systemctl reload` reaches it; `systemctl stop`
#     resigns (priority 0) and B takes over. VRRPv3, 0.1 s adverts.
#     The package: VRRPD_DEB, else built from cargo's target directory
#     (scripts/build-deb.sh, the profile of the binary under test).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/upgrade-lib.sh"
title "65 package upgrade under systemd: the unit follows the new process, the VIP stays"
require_daemon
is_keepalived && skip "keepalived's package restarts it on upgrade (netns 62-64 compare)"
[[ $(id -u) == 0 ]] || skip "needs root (namespaces, overlay, systemd-nspawn)"
need systemd-nspawn systemd-id128 nsenter unshare dpkg-deb jq sha256sum

# Master's watchdog period in the container (the unit says 10 s; a drop-in
# shortens it so that waiting past it stays cheap).
WATCHDOG_S=2

# ---------------------------------------------------------------- packages
mkdir -p "$WORK/deb" # shared with the container as /lab
if [[ ${VRRPD_DEB:-} ]]; then
    cp "$VRRPD_DEB" "$WORK/deb/"
    deb_old=$WORK/deb/$(basename "$VRRPD_DEB")
else
    if ! command -v cargo >/dev/null 2>&1 || ! cargo deb --version >/dev/null 2>&1; then
        skip "no VRRPD_DEB and no cargo-deb to build the package"
    fi
    profile=dev
    [[ $(daemon_bin) == */release/vrrpd ]] && profile=release
    deb_old=$(PACKAGE_PROFILE=$profile "$REPO/scripts/build-deb.sh" "$WORK/deb") || fail "building the package"
fi
# The upgrade: the same package, a newer version and another binary (a
# trailing marker: other bytes, same code), repacked as dpkg-deb builds it.
version=$(dpkg-deb -f "$deb_old" Version)
dpkg-deb -R "$deb_old" "$WORK/pkg"
sed -i "s/^Version: .*/Version: ${version}+netns65/" "$WORK/pkg/DEBIAN/control"
printf '\nnetns-tests/65 rebuild %s\n' "$NT_ID" >>"$WORK/pkg/usr/sbin/vrrpd"
if [[ -f $WORK/pkg/DEBIAN/md5sums ]]; then # cargo-deb 3.8 writes none
    (cd "$WORK/pkg" && sed -i "s|^[0-9a-f]*  usr/sbin/vrrpd\$|$(md5sum usr/sbin/vrrpd)|" DEBIAN/md5sums)
fi
deb_new=$WORK/deb/vrrpd_${version}+netns65_$(dpkg-deb -f "$deb_old" Architecture).deb
dpkg-deb -Zgzip -z1 --root-owner-group -b "$WORK/pkg" "$deb_new" >/dev/null
sha_old=$(dpkg-deb --fsys-tarfile "$deb_old" | tar -xO ./usr/sbin/vrrpd | sha256sum | cut -c1-16)
sha_new=$(sha256sum "$WORK/pkg/usr/sbin/vrrpd" | cut -c1-16)
say "packages: $(basename "$deb_old") (vrrpd $sha_old), $(basename "$deb_new") (vrrpd $sha_new)"

# ---------------------------------------------------------------- node A: a container
lab_up a b
a_conf() { sed '/advert_int/a\    garp_master_delay 0' "$(conf_for "$1" v3-ipv4.conf.in)"; }
# No delayed gratuitous ARPs: what the capture shows after A's first burst
# is what the upgrade sends.
a_conf a >"$WORK/a-keepalived.conf"

# What the container's root has on top of the host's: its own machine id,
# A's configuration (native, so the postinst enables and starts the unit),
# the watchdog drop-in, and a boot target with nothing but journald (no
# getty, no host services, no timers).
croot=$WORK/croot
mkdir -p "$croot/etc/vrrpd" "$croot/etc/systemd/system/vrrpd.service.d"
systemd-id128 new >"$croot/etc/machine-id"
"$(daemon_bin)" convert "$WORK/a-keepalived.conf" >"$croot/etc/vrrpd/vrrpd.toml"
printf '[Service]\nWatchdogSec=%s\n' "$WATCHDOG_S" >"$croot/etc/systemd/system/vrrpd.service.d/netns65.conf"
cat >"$croot/etc/systemd/system/vrrpd-lab.target" <<'EOF'
[Unit]
Description=netns-tests 65: a lab host with journald and the vrrpd package
Wants=systemd-journald.service
After=systemd-journald.service
EOF
ln -s /dev/null "$croot/etc/systemd/system/timers.target"
ln -s /dev/null "$croot/etc/systemd/system/systemd-sysctl.service"
# Removed from the container's view only: the host's policy-rc.d (it would
# forbid the postinst's start), keepalived's enablement (the postinst
# leaves vrrpd off while keepalived is in charge), network-online hooks
# (vrrpd.service wants the target) and man-db's trigger (seconds of CPU).
c_remove=(usr/sbin/policy-rc.d etc/systemd/system/multi-user.target.wants/keepalived.service
    etc/systemd/system/network-online.target.wants var/lib/man-db/auto-update)

# cgroups for nspawn (it keeps its own: --keep-unit, no machined on a host
# whose PID 1 is not systemd); removed at the end.
CG_DIRS=()
while read -r mnt; do
    mkdir "$mnt/netns65-$NT_ID"
    CG_DIRS+=("$mnt/netns65-$NT_ID")
done < <(awk '$3 == "cgroup2" || ($3 == "cgroup" && $4 ~ /name=systemd/) {print $2}' /proc/self/mounts)

# The container's processes, found from A's namespace: its PID 1.
LEADER=
C_PIDS=()
leader() {
    local p
    for p in $(ip netns pids "$(ns a)"); do
        if [[ $(awk '/^NSpid:/ {print (NF > 2 && $NF == 1)}' "/proc/$p/status" 2>/dev/null) == 1 ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
# cexec CMD...: CMD inside the container (all its namespaces, a clean environment).
cexec() {
    nsenter -t "$LEADER" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
container_down() {
    local p t
    # First what talks to the container.
    for p in ${C_PIDS[@]+"${C_PIDS[@]}"}; do kill -TERM "$p" 2>/dev/null; done
    if [[ ${LEADER:-} ]]; then
        cexec journalctl -b --no-pager -o short-unix >"$WORK/journal.txt" 2>&1
    fi
    if [[ ${NSPAWN_PID:-} ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        kill -TERM "$NSPAWN_PID" # the container halts (systemd stops its units)
        wait_for 5 not_running "$NSPAWN_PID" || {
            [[ ${LEADER:-} ]] && kill -KILL "$LEADER"
            kill -KILL "$NSPAWN_PID"
            wait_for 3 not_running "$NSPAWN_PID"
        }
    fi
    # Empty now (nothing of ours is left in them): deepest first.
    for p in ${CG_DIRS[@]+"${CG_DIRS[@]}"}; do
        for t in 1 2 3 4 5; do
            find "$p" -depth -type d -exec rmdir {} + 2>/dev/null
            [[ -d $p ]] || break
            sleep 0.2
        done
        [[ -d $p ]] && printf '  note: cgroup %s not removed\n' "$p"
    done
}
at_exit container_down

# systemd-nspawn in a mount namespace of its own: there the overlay (a
# tmpfs upper layer over the host's root: nothing the container writes
# reaches the host) and a tmpfs on /run (nspawn's own state), all gone
# with it. A's network namespace is passed by a bind of its file (/run is
# covered); the packages are in /lab inside.
touch "$WORK/netns-a"
mkdir "$WORK/ov"
# shellcheck disable=SC2016 # the launcher's own variables
bg unshare -m --propagation private bash -c '
    set -e
    w=$1 ns=$2 name=$3 croot=$4 cgroups=$5
    shift 5
    for cg in $cgroups; do echo $$ >"$cg/cgroup.procs"; done
    mount --bind "/run/netns/$ns" "$w/netns-a"
    mount -t tmpfs -o mode=755 netns65 "$w/ov"
    mkdir "$w/ov/upper" "$w/ov/work" "$w/ov/root"
    mount -t overlay netns65 -o "lowerdir=/,upperdir=$w/ov/upper,workdir=$w/ov/work" "$w/ov/root"
    cp -a "$croot/." "$w/ov/root/"
    for f in "$@"; do rm -rf "${w:?}/ov/root/$f"; done
    mount -t tmpfs -o mode=755 netns65 /run
    exec systemd-nspawn --quiet -D "$w/ov/root" -M "$name" --boot --keep-unit --register=no \
        --capability=CAP_NET_ADMIN --link-journal=no --resolv-conf=off --timezone=off \
        --network-namespace-path="$w/netns-a" --bind="$w/deb:/lab" systemd.unit=vrrpd-lab.target
' netns65 "$WORK" "$(ns a)" "$(ns a)" "$croot" "${CG_DIRS[*]}" "${c_remove[@]}" \
    </dev/null >"$WORK/nspawn.txt" 2>&1
NSPAWN_PID=$BG_LAST
t_boot=$(now)
wait_for 10 leader >/dev/null || { cat "$WORK/nspawn.txt" >&2; fail "the container did not start"; }
LEADER=$(leader)
booted() { [[ $(cexec systemctl is-system-running 2>/dev/null) == @(running|degraded) ]]; }
wait_for 20 booted || { cat "$WORK/nspawn.txt" >&2; fail "the container's systemd did not finish booting"; }
say "measured: the container booted in $(ms "$(fcalc "$(now) - $t_boot")") (systemd $(cexec systemctl --version | awk 'NR == 1 {print $2}'), PID 1 is host pid $LEADER)"
if cexec dpkg-query -W vrrpd >/dev/null 2>&1; then cexec dpkg --purge vrrpd >/dev/null; fi

# The unit's state: one line of KEY=VALUE; one property's value.
unit_show() {
    cexec systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts -p InvocationID vrrpd.service | paste -sd ' '
}
prop() { cexec systemctl show -p "$1" --value vrrpd.service; }
exe_sha() { cexec sha256sum "/proc/$1/exe" | cut -c1-16; }
# poll_vip SECONDS: "EPOCH 1|0" every 10 ms: A holds the VIP or not.
poll_vip() {
    local end=$((SECONDS + $1))
    while ((SECONDS < end)); do
        if has_vip a "$VIP"; then echo "$EPOCHREALTIME 1"; else echo "$EPOCHREALTIME 0"; fi
        sleep 0.01
    done
}
# poll_unit SECONDS: "EPOCH KEY=VALUE..." as fast as systemctl answers.
poll_unit() {
    local end=$((SECONDS + $1))
    while ((SECONDS < end)); do
        echo "$EPOCHREALTIME $(unit_show)"
        sleep 0.02
    done
}
# jstamp TEXT: epoch of the journal's first vrrpd line with TEXT.
jstamp() { grep -aF -- "$1" "$WORK/a.log" | awk 'NR == 1 {print $1}'; }

# The daemon's journal (its log lines, as the netns helpers read a.log).
bg cexec stdbuf -oL journalctl -f -n all -u vrrpd.service -o short-unix --no-pager >"$WORK/a.log" 2>&1
C_PIDS=("$BG_LAST")

# ---------------------------------------------------------------- install, A Master
t=$(now)
cexec dpkg -i "/lab/$(basename "$deb_old")" >"$WORK/dpkg-install.txt" 2>&1 \
    || { cat "$WORK/dpkg-install.txt" >&2; fail "dpkg -i $(basename "$deb_old") in the container"; }
say "measured: dpkg -i (fresh install, the unit started) took $(ms "$(fcalc "$(now) - $t")")"
check "fresh install: the postinst enabled and started vrrpd.service ($(unit_show))" \
    eval '[[ $(cexec systemctl is-enabled vrrpd.service) == enabled && $(prop ActiveState) == active ]]'
wait_master a "$VIP" 5 || fail "A did not become master with $VIP"
a_conf b >"$WORK/b-keepalived.conf"
start_daemon b "$WORK/b-keepalived.conf"
sleep 1
no_vip b "$VIP" || fail "B holds $VIP too after start"
pid0=$(prop MainPID)
# shellcheck disable=SC2034 # read by the checks' eval strings
inv0=$(prop InvocationID)
check "A's main process ($pid0) runs the installed binary ($sha_old)" eval '[[ $(exe_sha "$pid0") == "$sha_old" ]]'
steady_mark
bg poll_vip 40 >"$WORK/vip-a.txt"
VIP_POLL=$BG_LAST
C_PIDS+=("$VIP_POLL")
bg poll_unit 40 >"$WORK/unit.txt"
UNIT_POLL=$BG_LAST
C_PIDS+=("$UNIT_POLL")
sleep 0.5

# ---------------------------------------------------------------- the upgrade
D_T0=$(now)
cexec dpkg -i "/lab/$(basename "$deb_new")" >"$WORK/dpkg-upgrade.txt" 2>&1 \
    || { cat "$WORK/dpkg-upgrade.txt" >&2; fail "dpkg -i $(basename "$deb_new") in the container"; }
D_T1=$(now)
say "measured: dpkg -i (the upgrade) took $(ms "$(fcalc "$D_T1 - $D_T0")")"
sed 's/^/    dpkg: /' "$WORK/dpkg-upgrade.txt" | grep -a "vrrpd" || true
check "the postinst handed over in place (vrrpd upgrade)" grep -aq "upgraded: vrrpd .* took over from" "$WORK/dpkg-upgrade.txt"
check "the old process ($pid0) is gone" wait_for 3 eval '! cexec kill -0 "$pid0" 2>/dev/null'
sleep 0.2 # systemd has seen it go
pid1=$(prop MainPID)
check "the unit was not restarted: active, the same invocation, NRestarts=0 ($(unit_show))" \
    eval '[[ $(prop ActiveState) == active && $(prop InvocationID) == "$inv0" && $(prop NRestarts) == 0 ]]'
check "MainPID is the successor ($pid0 -> $pid1), alive" eval '[[ $pid1 != "$pid0" && $pid1 != 0 ]] && cexec kill -0 "$pid1"'
check "the successor runs the new binary ($sha_new)" eval '[[ $(exe_sha "$pid1") == "$sha_new" ]]'
wait_for 2 eval '[[ $(jstamp "Handed over to pid") ]]' || fail "no hand-over in the journal"
UP_T0=$(jstamp "Upgrade requested")
UP_T1=$(jstamp "Handed over to pid")
say "measured: $(grep -aoE "Handed over to pid .* in [0-9.]+ ms" "$WORK/a.log" | head -n 1)"
# Past the watchdog period: systemd follows the successor's WATCHDOG=1.
sleep "$(fcalc "2 * $WATCHDOG_S + 1")"
check "past WatchdogSec=$WATCHDOG_S s: active, MainPID $pid1, no restart ($(unit_show))" \
    eval '[[ $(prop ActiveState) == active && $(prop MainPID) == "$pid1" && $(prop NRestarts) == 0 && $(prop InvocationID) == "$inv0" ]]'
if grep -aqi "watchdog" "$WORK/a.log"; then fail "the journal names the watchdog: $(grep -ai watchdog "$WORK/a.log" | head -n 3)"; fi
kill -TERM "$VIP_POLL" "$UNIT_POLL" 2>/dev/null || true
wait_for 2 eval 'not_running "$VIP_POLL" && not_running "$UNIT_POLL"' || true

# The unit never left active: one invocation, MainPID old then new.
states=$(awk '{for (i = 2; i <= NF; i++) if ($i ~ /^ActiveState=/) print substr($i, 13)}' "$WORK/unit.txt" | sort | uniq -c | xargs)
pids=$(grep -o "MainPID=[0-9]*" "$WORK/unit.txt" | uniq | cut -d= -f2 | xargs)
say "measured: $(wc -l <"$WORK/unit.txt") unit samples: ActiveState $states; MainPID $pids"
check "every sample active (or reloading, during the hand-over)" \
    eval '! grep -v "ActiveState=active\|ActiveState=reloading" "$WORK/unit.txt" | grep -q .'
check "one invocation, NRestarts=0 throughout" \
    eval '! grep -v "InvocationID=$inv0" "$WORK/unit.txt" | grep -q . && ! grep -v "NRestarts=0 " "$WORK/unit.txt" | grep -q .'
check "MainPID went from $pid0 to $pid1 once, nothing between" test "$pids" = "$pid0 $pid1"
# The VIP never left A (10 ms samples; ip monitor in between).
vip_stats=$(awk 'NR > 1 {g = $1 - t; if (g > m) m = g} {t = $1; n++; if ($2 == 0) z++} END {printf "%d samples, %d without it, largest interval %.1f ms", n, z, m * 1000}' "$WORK/vip-a.txt")
say "measured: VIP on A: $vip_stats"
check "A held $VIP in every sample" eval '[[ -s $WORK/vip-a.txt ]] && ! grep -q " 0$" "$WORK/vip-a.txt"'
check "A holds $VIP, B does not, no transition, no VIP event since before the upgrade" steady
check "B never was Master" eval '! grep -aq "Entering MASTER" "$WORK/b.log"'
# systemd 252 takes a main process that is not its child for an "alien"
# (the successor must be reparented to it first): no waiting on stop.
check "systemd supervises the successor as its own child" eval '! grep -aq "which is not our child" "$WORK/a.log"'
check "nothing resigned (the unit's ExecStopPost did not run)" eval '! grep -aqE "\) resigned: |releasing what" "$WORK/a.log"'
wire_clean "$(fcalc "$D_T0 - 0.5")" "$(now)"
dpkg_gap=$(wire_stats "$D_T0" "$D_T1" | jq -r '.lateness.max_gap_ms // "none"')
say "measured: A's longest advert gap while dpkg ran: $dpkg_gap ms"

# ---------------------------------------------------------------- reload, stop
t=$(now)
check "systemctl reload (kill -HUP \$MAINPID)" cexec systemctl reload vrrpd.service
check "the successor reloaded (its log line, after the request)" \
    wait_for 3 eval '[[ $(grep -aF "vrrpd[$pid1]: Reloading" "$WORK/a.log" | awk -v t="$t" "\$1 >= t" | wc -l) -ge 1 ]]'
check "active again with MainPID $pid1 ($(unit_show))" \
    wait_for 3 eval '[[ $(prop ActiveState) == active && $(prop MainPID) == "$pid1" ]]'
t_stop=$(now)
check "systemctl stop" cexec systemctl stop vrrpd.service
check "stopped cleanly ($(cexec systemctl show -p ActiveState -p Result vrrpd.service | paste -sd ' '))" \
    eval '[[ $(prop ActiveState) == inactive && $(prop Result) == success ]]'
check "B takes $VIP" wait_master b "$VIP" 2
p0=$(first_prio0 "${NODE_V4[a]}" "$t_stop")
check "A sent priority 0 when stopped" test -n "$p0"
took=$(fcalc "$(vip_first b add "$VIP" "$t_stop") - $p0")
skew=$(skew_time 3 100 0.1)
say "measured: B holds $VIP $(ms "$took") after A's priority-0 advert (Skew_Time $(ms "$skew"))"
check "B took over within Skew_Time + 50 ms" fle "$took" "$(fcalc "$skew + 0.05")"
check "A released $VIP" no_vip a "$VIP"
finish
