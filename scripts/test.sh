#!/usr/bin/env bash
# The test command (what CI runs through .ci/run):
#   formatting and lints, the cargo tests (unit, golden, property, simulation,
#   privileged socket tests), the differential test against keepalived's own
#   parser, the Debian package and systemd unit (scripts/package-test.sh),
#   and every end-to-end scenario in netns-tests/ against vrrpd.
# Needs root for the namespaces; installs the Debian packages it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$EPOCHREALTIME

need=(iproute2 keepalived python3 python3-scapy python3-prometheus-client tcpdump tshark curl jq apache2 psmisc
    util-linux procps systemd systemd-container man-db dpkg-dev passwd strace nftables ethtool iputils-ping)
if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    missing=()
    for p in "${need[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "== installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # Install only: no package may start its service (keepalived, apache2)
        # on the host; the tests start their own copies inside namespaces.
        policy=/usr/sbin/policy-rc.d
        own_policy=0
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
        fi
        apt-get update -qq || true
        apt-get install -y -qq "${missing[@]}" >/dev/null
        if ((own_policy)); then rm -f "$policy"; fi
    fi
fi

# The cloud scenarios' EC2 emulator (netns-tests/cloud-lib.sh): moto in
# server mode, pinned (its known limits are in README "Running on AWS").
MOTO_VERSION=5.2.5
if ! python3 -c "import moto, moto.server, flask, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "== installing moto[server]==$MOTO_VERSION (pip)"
    python3 -m pip install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >/dev/null
fi
# netns-tests/92's SMTP server: the standard library's smtpd, gone from
# Python 3.12 on; aiosmtpd there.
if ! python3 -W ignore -c "import smtpd" 2>/dev/null && ! python3 -c "import aiosmtpd" 2>/dev/null; then
    echo "== installing aiosmtpd==1.4.6 (pip)"
    python3 -m pip install -q --disable-pip-version-check "aiosmtpd==1.4.6" >/dev/null
fi

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
# Everything with the AWS backend (feature `aws`, on in the Debian
# package and in the binary the scenarios run); without it only the
# library, the one place with code for the default build (its stubs):
# the tests are the same either way, and checking them twice cost CI a
# minute.
cargo clippy --all-targets --all-features -- -D warnings
cargo clippy --lib -- -D warnings
echo "== cargo test"
log=$(mktemp)
rc=0
# With every feature: the scenarios run this debug binary, and the cloud
# ones (72-75) need the AWS backend.
cargo test --all-features >"$log" 2>&1 || rc=$?
grep -E "^(test result|     Running)|panicked|^failures:|^---- " "$log" || true
tests=$(awk '/^test result/ {n += $4} END {print n + 0}' "$log")
if ((rc != 0)); then
    tail -n 60 "$log"
    rm -f "$log"
    echo "cargo test failed"
    exit 1
fi
rm -f "$log"
# The scenarios run the debug binary cargo test just built: vrrpd's timing
# does not depend on optimisation, and CI saves a release build.
# shellcheck source=netns-tests/paths.sh
. netns-tests/paths.sh
VRRPD_BIN=$(cargo_target_dir "$PWD")/debug/vrrpd
export VRRPD_BIN
echo "== keepalived differential (scripts/keepalived-diff.sh)"
scripts/keepalived-diff.sh
echo "== Debian package and systemd unit (scripts/package-test.sh)"
PACKAGE_PROFILE=dev scripts/package-test.sh
echo "== end-to-end scenarios (netns-tests/run.sh, DAEMON=vrrpd)"
out=$(mktemp)
rc=0
DAEMON=vrrpd netns-tests/run.sh | tee "$out" || rc=$?
summary=$(tail -n 1 "$out")
rm -f "$out"
((rc == 0)) || exit "$rc"
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')
echo "tests: cargo ${tests} passed; ${summary}; ${took} s"
