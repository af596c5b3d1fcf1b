#!/usr/bin/env bash
# Builds the Debian package from this tree into OUTDIR and prints its path
# (the last line on stdout; progress goes to stderr):
#   cargo build, `vrrpd generate-assets` (man pages, completions; the man
#   pages gzipped as Debian policy wants, no timestamp), then cargo-deb from
#   Cargo.toml's [package.metadata.deb].
# PACKAGE_PROFILE=release (default) or dev: the debug binary cargo test
# already built, stripped (the packaging is what is under test, and CI has
# no time for a second, fat-LTO build).
# Used by scripts/package-test.sh and netns-tests/65. Needs cargo-deb
# (package-test.sh installs it), dpkg-dev (dpkg-shlibdeps).
#   scripts/build-deb.sh OUTDIR
set -euo pipefail
cd "$(dirname "$0")/.."
out_dir=${1:?usage: build-deb.sh OUTDIR}
mkdir -p "$out_dir"

secs() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}'; }
# shellcheck source=netns-tests/paths.sh
. netns-tests/paths.sh
target=$(cargo_target_dir "$PWD")
profile=${PACKAGE_PROFILE:-release}
case $profile in
release) out=$target/release deb_args=() ;;
dev) out=$target/debug deb_args=(--profile dev --strip --fast) ;;
*)
    echo "build-deb.sh: PACKAGE_PROFILE must be release or dev" >&2
    exit 2
    ;;
esac
t=$EPOCHREALTIME
# The package has the AWS cloud backend (Cargo.toml [package.metadata.deb]).
features=aws
# dev: the features `cargo test --all-features` resolved (tokio's
# test-util comes from the dev-dependencies), so that the dependencies it
# built are reused: 198.7 -> 41.8 s in CI (aws-sdk-ec2 is not built twice).
[[ $profile == dev ]] && features+=,tokio/test-util
cargo build --profile "$profile" --features "$features" --quiet
printf '  measured: cargo build --profile %s took %s s\n' "$profile" "$(secs "$t")" >&2
rm -rf "$out/assets"
"$out/vrrpd" generate-assets "$out/assets" >/dev/null
gzip -9n "$out"/assets/man/*.8
err=$(mktemp)
trap 'rm -f "$err"' EXIT
deb=$(cargo deb --no-build --quiet "${deb_args[@]}" --output "$out_dir/" 2>"$err" | tail -n 1) \
    || { cat "$err" >&2; exit 1; }
[[ -f $deb ]] || { echo "build-deb.sh: cargo deb produced no .deb (got '$deb')" >&2; exit 1; }
printf '%s\n' "$deb"
