#!/usr/bin/env bash
# The Debian package and the systemd unit, end to end:
#   1. cargo-deb (installed if missing) builds the .deb from Cargo.toml's
#      [package.metadata.deb] after `vrrpd generate-assets` wrote the man
#      pages and completions (scripts/build-deb.sh);
#   2. dpkg-deb -I / -c: control fields, conffiles, maintainer scripts, files;
#   3. dpkg installs it into a scratch root with the maintainer scripts run
#      chrootless (DPKG_ROOT), so the host's /etc and services are never
#      touched (checked): the vrrpd group and the vrrpd-script user are created, the service is enabled
#      only with a native config and keepalived not in charge, removal
#      disables it, purge removes the conffile;
#   4. systemd-analyze verify on the installed unit (with the installed
#      binary and man page) and systemd-analyze security's exposure score
#      under EXPOSURE_MAX; man pages render without warnings; the bash
#      completion completes.
# Needs root (dpkg), cargo, dpkg-dev (dpkg-shlibdeps), systemd, man-db.
#   scripts/package-test.sh             (KEEP_WORK=1 keeps the scratch root)
# shellcheck disable=SC2016,SC2034 # checks are eval'd strings using variables set here
set -euo pipefail
cd "$(dirname "$0")/.."

# Measured 3.2 ("OK") for conf/vrrpd.service with systemd 252 (2.8 with
# PrivateTmp, left out for keepalived's /tmp dump paths; 3.0 before
# CAP_SYS_NICE, CAP_IPC_LOCK and realtime scheduling were allowed for
# keepalived's vrrp_priority, vrrp_rt_priority and vrrp_no_swap); a change
# that widens the sandbox past this fails the test.
EXPOSURE_MAX=3.2
CARGO_DEB_VERSION=3.8.0

t_start=$EPOCHREALTIME
secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}'; }
say() { printf '  %s\n' "$*"; }
fail() {
    printf '  FAIL: %s\n' "$*" >&2
    exit 1
}
check() {
    local desc=$1
    shift
    if "$@"; then say "ok: $desc"; else fail "$desc"; fi
}

[[ $(id -u) == 0 ]] || fail "needs root (dpkg into a scratch root)"
for c in cargo dpkg dpkg-deb dpkg-shlibdeps systemd-analyze systemctl man groupadd useradd; do
    command -v "$c" >/dev/null || fail "$c not installed"
done

work=$(mktemp -d /var/tmp/vrrpd-package.XXXXXX)
cleanup() {
    local rc=$?
    if [[ ${KEEP_WORK:-} ]]; then echo "  (kept $work)"; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------- build
if ! cargo deb --version >/dev/null 2>&1; then
    t=$EPOCHREALTIME
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet
    say "measured: cargo install cargo-deb $CARGO_DEB_VERSION took $(secs "$t") s"
fi
# PACKAGE_PROFILE=dev (what scripts/test.sh uses) packages the debug binary
# cargo test already built, stripped; default: release (scripts/build-deb.sh).
profile=${PACKAGE_PROFILE:-release}
# shellcheck source=netns-tests/paths.sh
. netns-tests/paths.sh
case $profile in
release) out=$(cargo_target_dir "$PWD")/release ;;
dev) out=$(cargo_target_dir "$PWD")/debug ;;
*) fail "PACKAGE_PROFILE must be release or dev" ;;
esac
deb=$(scripts/build-deb.sh "$work") || fail "building the package (scripts/build-deb.sh)"
say "built $(basename "$deb"): $(stat -c %s "$deb") bytes, binary $(stat -c %s "$out/vrrpd") bytes ($profile)"

# ---------------------------------------------------------------- inspect
info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: vrrpd" test "$(field Package)" = vrrpd
check "Depends has libc6 (shlibdeps) and passwd (groupadd, useradd): $(field Depends)" \
    eval '[[ $(field Depends) == *libc6* && $(field Depends) == *passwd* ]]'
check "maintainer scripts postinst, prerm, postrm" \
    eval '[[ $info == *" postinst"* && $info == *" prerm"* && $info == *" postrm"* ]]'
conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles 2>/dev/null || true)
check "conffiles: /etc/default/vrrpd only ($conffiles)" test "$conffiles" = /etc/default/vrrpd
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for f in ./usr/sbin/vrrpd ./lib/systemd/system/vrrpd.service ./etc/default/vrrpd \
    ./usr/share/man/man8/vrrpd.8.gz ./usr/share/man/man8/vrrpd-check.8.gz \
    ./usr/share/man/man8/vrrpd-status.8.gz ./usr/share/man/man8/vrrpd-resign.8.gz \
    ./usr/share/bash-completion/completions/vrrpd ./usr/share/zsh/vendor-completions/_vrrpd \
    ./usr/share/fish/vendor_completions.d/vrrpd.fish \
    ./usr/share/doc/vrrpd/examples/vrrpd.toml ./usr/share/doc/vrrpd/copyright; do
    grep -qxF "$f" <<<"$contents" || fail "$f missing from the package"
done
say "ok: $(wc -l <<<"$contents") entries, with the binary, unit, conffile, man pages, completions"
# The annotated example takes 192.0.2.30 on ens5 and would shadow an
# existing keepalived.conf: it must not be installed as the live config.
check "no /etc/vrrpd/vrrpd.toml in the package" eval '! grep -q "^./etc/vrrpd/" <<<"$contents"'
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/vrrpd.service >"$work/unit"
check "packaged unit is conf/vrrpd.service" cmp -s "$work/unit" conf/vrrpd.service

# ---------------------------------------------------------------- install
root=$work/root
mkdir -p "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'root:*::\n' >"$root/etc/gshadow"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
host_before=$(cat /etc/group /etc/gshadow /etc/passwd /etc/shadow 2>/dev/null | md5sum)
host_units_before=$(find /etc/systemd/system 2>/dev/null | sort | md5sum)
dpkg_root() {
    # Maintainer scripts run on the host with DPKG_ROOT=$root (no chroot:
    # the scratch root has no shell); dependencies are the host's business.
    dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null "$@" \
        >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; return 1; }
}
enabled() { [[ -L $root/etc/systemd/system/multi-user.target.wants/vrrpd.service ]]; }

t=$EPOCHREALTIME
check "dpkg -i into the scratch root" dpkg_root -i "$deb"
say "measured: install took $(secs "$t") s"
check "dpkg status: install ok installed" \
    eval '[[ $(dpkg-query --admindir="$root/var/lib/dpkg" -W -f="\${Status}" vrrpd) == "install ok installed" ]]'
check "installed binary runs: $("$root/usr/sbin/vrrpd" --version)" eval '"$root/usr/sbin/vrrpd" --version >/dev/null'
check "postinst created the vrrpd group: $(grep '^vrrpd:' "$root/etc/group")" grep -q '^vrrpd:x:[0-9]*:$' "$root/etc/group"
check "postinst created the vrrpd-script user (system, own group, no login, no home): $(grep '^vrrpd-script:' "$root/etc/passwd")" \
    eval '[[ $(grep "^vrrpd-script:" "$root/etc/passwd") =~ ^vrrpd-script:x:([0-9]+):([0-9]+):[^:]*:/nonexistent:/usr/sbin/nologin$ ]] && ((BASH_REMATCH[1] < 1000)) && grep -q "^vrrpd-script:x:${BASH_REMATCH[2]}:$" "$root/etc/group" && [[ ! -e $root/nonexistent ]] && grep -q "^vrrpd-script:!" "$root/etc/shadow"'
check "no config: the service is not enabled" eval '! enabled'
grep -q "no /etc/vrrpd/vrrpd.toml: not enabled" "$work/dpkg.log" || fail "postinst did not say why it left the service off"
check "host /etc/group, /etc/gshadow, /etc/passwd, /etc/shadow untouched" test "$(cat /etc/group /etc/gshadow /etc/passwd /etc/shadow 2>/dev/null | md5sum)" = "$host_before"

# ---------------------------------------------------------------- unit
# verify: syntax, dependencies, every Exec binary present and executable,
# the man page in Documentation= found. The installed unit, binary and man
# pages are shown at their real paths in a private mount namespace (a tmpfs
# on /usr/sbin there holds only vrrpd), so the host's /usr/sbin is not touched.
if MANPATH=$root/usr/share/man unshare -m --propagation private sh -c '
    mount -t tmpfs tmpfs /usr/sbin && cp "$1/usr/sbin/vrrpd" /usr/sbin/vrrpd &&
    exec systemd-analyze verify "$1/lib/systemd/system/vrrpd.service"' _ "$root" >"$work/verify" 2>&1 \
    && [[ ! -s $work/verify ]]; then
    say "ok: systemd-analyze verify on the installed unit: no findings"
else
    cat "$work/verify" >&2
    fail "systemd-analyze verify"
fi
exposure=$(systemd-analyze security --offline=true --no-pager conf/vrrpd.service 2>/dev/null \
    | sed -n 's/.*Overall exposure level for vrrpd.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
say "measured: systemd-analyze security exposure $exposure (threshold $EXPOSURE_MAX)"
[[ $exposure ]] || fail "no exposure score from systemd-analyze security"
# --threshold counts tenths (exposure 2.8 is 28); over it, the exit status is non-zero.
check "exposure not over $EXPOSURE_MAX" eval 'systemd-analyze security --offline=true --no-pager \
    --threshold="$(awk -v e="$EXPOSURE_MAX" "BEGIN{print e * 10}")" conf/vrrpd.service >/dev/null 2>&1'

# ---------------------------------------------------------------- docs
man_dir=$root/usr/share/man
for page in "$man_dir"/man8/*.8.gz; do
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
    [[ -z $warnings ]] || fail "$(basename "$page"): $warnings"
done
rendered=$(MANWIDTH=80 man -l "$man_dir/man8/vrrpd.8.gz" 2>/dev/null)
for section in NAME SYNOPSIS OPTIONS SUBCOMMANDS FILES SIGNALS "EXIT STATUS"; do
    grep -q "^$section" <<<"$rendered" || fail "vrrpd(8) has no $section section"
done
check "man -M finds vrrpd(8) and vrrpd-status(8)" eval \
    'man -M "$man_dir" -w 8 vrrpd >/dev/null && man -M "$man_dir" -w vrrpd-status >/dev/null'
say "ok: $(find "$man_dir/man8" -name '*.8.gz' | wc -l) man pages render without warnings ($(wc -l <<<"$rendered") lines for vrrpd(8))"
# bash: ask the installed completion what `vrrpd st<TAB>` and `vrrpd check --f<TAB>` give.
completes() {
    bash -c '. "$1"; COMP_WORDS=(${2}); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$2"
        COMP_POINT=${#COMP_LINE}; _vrrpd vrrpd "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; echo "${COMPREPLY[*]}"' \
        _ "$root/usr/share/bash-completion/completions/vrrpd" "$1"
}
check "bash completion: vrrpd st -> $(completes 'vrrpd st')" eval '[[ $(completes "vrrpd st") == *status* ]]'
check "bash completion: vrrpd check --f -> $(completes 'vrrpd check --f')" \
    eval '[[ $(completes "vrrpd check --f") == *--file* && $(completes "vrrpd check --f") == *--format* ]]'
check "zsh and fish completions name the subcommands" eval \
    'grep -q status "$root/usr/share/zsh/vendor-completions/_vrrpd" && grep -q "status" "$root/usr/share/fish/vendor_completions.d/vrrpd.fish"'
check "generate-assets is hidden from help and completions" eval \
    '! "$root/usr/sbin/vrrpd" --help | grep -q generate && ! grep -q generate-assets "$root/usr/share/bash-completion/completions/vrrpd"'

# ---------------------------------------------------------------- lifecycle
check "dpkg -r: removed" dpkg_root -r vrrpd
check "binary gone, conffile kept" eval '[[ ! -e $root/usr/sbin/vrrpd && -f $root/etc/default/vrrpd ]]'
check "dpkg -P: purged, conffile gone" eval 'dpkg_root -P vrrpd && [[ ! -e $root/etc/default/vrrpd ]]'
check "the vrrpd group and the vrrpd-script user stay after purge" eval 'grep -q "^vrrpd:" "$root/etc/group" && grep -q "^vrrpd-script:" "$root/etc/passwd"'
check "reinstall: still one vrrpd-script user" eval 'dpkg_root -i "$deb" && [[ $(grep -c "^vrrpd-script:" "$root/etc/passwd") == 1 ]] && dpkg_root -P vrrpd'

# A native config in place, but keepalived enabled: vrrpd stays off.
mkdir -p "$root/etc/vrrpd" "$root/etc/systemd/system/multi-user.target.wants"
cp conf/toml/loadbalancer1.toml "$root/etc/vrrpd/vrrpd.toml"
ln -s /lib/systemd/system/keepalived.service "$root/etc/systemd/system/multi-user.target.wants/keepalived.service"
check "reinstall with keepalived enabled" dpkg_root -i "$deb"
check "keepalived in charge: vrrpd not enabled" eval '! enabled'
grep -q "keepalived is enabled or running" "$work/dpkg.log" || fail "postinst did not name keepalived"
dpkg_root -P vrrpd
# Native config and no keepalived: enabled (started too on a live systemd).
rm "$root/etc/systemd/system/multi-user.target.wants/keepalived.service"
check "reinstall with /etc/vrrpd/vrrpd.toml" dpkg_root -i "$deb"
check "native config: vrrpd enabled ($(readlink "$root/etc/systemd/system/multi-user.target.wants/vrrpd.service"))" enabled
check "upgrade in place (same version) keeps it enabled" eval 'dpkg_root -i "$deb" && enabled'
check "dpkg -r disables it" eval 'dpkg_root -r vrrpd && ! enabled'
check "host /etc and units untouched by every maintainer script" eval \
    '[[ $(cat /etc/group /etc/gshadow /etc/passwd /etc/shadow 2>/dev/null | md5sum) == "$host_before" && $(find /etc/systemd/system 2>/dev/null | sort | md5sum) == "$host_units_before" ]]'

say "package test passed in $(secs "$t_start") s"
