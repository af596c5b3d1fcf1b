# shellcheck shell=bash
# netns-tests/paths.sh - where the build lives, and a private /tmp or /run
# that still shows it.  Sourced by lib.sh and scripts/keepalived-diff.sh
# (and the scripts that run cargo); defines functions only.  The checkout
# may be anywhere: under /tmp, in a path with spaces, read-only with the
# build elsewhere (CARGO_TARGET_DIR).

# cargo_target_dir REPO: cargo's target directory for the checkout at REPO,
# absolute (a relative CARGO_TARGET_DIR is taken from REPO, where the
# scripts run cargo). cargo metadata knows about config files too; without
# cargo (sudo's PATH), CARGO_TARGET_DIR or REPO/target.
cargo_target_dir() {
    local repo=$1 dir=
    if command -v cargo >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
        dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
            | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null) || dir=
    fi
    if [[ -z $dir ]]; then
        dir=${CARGO_TARGET_DIR:-target}
        [[ $dir == /* ]] || dir=$repo/$dir
    fi
    printf '%s\n' "$dir"
}

# private_dirs [-c DIR]... [-k PATH]... [-s SHELL]: sets PRIVATE_DIRS to a
# command prefix that runs a command in a new mount namespace (propagation
# private: nothing reaches the host) where each DIR (/tmp, /run) is an empty
# tmpfs of its own, except that every PATH under it is still there (bound
# back from the original); SHELL (eval'd, default none) runs last, just
# before the command is exec'd in the caller's working directory. The PID
# stays the command's (unshare and sh exec):
#
#   private_dirs -c /tmp -c /run -k "$REPO" -k "$bin"
#   ip netns exec NS "${PRIVATE_DIRS[@]}" "$bin" -f "$conf" &
#
# A PATH that is a file keeps its directory; a PATH reached through a
# symlink keeps its real location too. Paths travel as arguments, never
# inside shell text, so spaces and quotes survive.
#
# How: sh enters each DIR (cd), mounts the tmpfs over it, and binds each
# PATH back from "./REL": relative to the working directory, which is still
# the covered original (mount -c: no canonicalisation, that would resolve
# the path in the new tmpfs). No stash directory, nothing left to unmount.
private_dirs() {
    local opt cover=() keep=() setup=: k p d
    local OPTIND=1 OPTARG
    while getopts c:k:s: opt; do
        case $opt in
        c) cover+=("${OPTARG%/}") ;;
        k)
            k=$OPTARG
            [[ $k == /* ]] || k=$PWD/$k
            [[ -e $k ]] || continue
            [[ -d $k ]] || k=$(dirname "$k")
            keep+=("$k")
            p=$(cd "$k" && pwd -P) && [[ $p != "$k" ]] && keep+=("$p")
            ;;
        s) setup=$OPTARG ;;
        *) return 2 ;;
        esac
    done
    # Per DIR, the paths under it relative to it, outermost first, none
    # inside another (its bind would be hidden by the outer one anyway).
    local args=() rels kept rel r inner
    for d in ${cover[@]+"${cover[@]}"}; do
        args+=("$d")
        rels=()
        for k in ${keep[@]+"${keep[@]}"}; do
            [[ $k == "$d"/* ]] && rels+=("${k#"$d"/}")
        done
        ((${#rels[@]})) || continue
        mapfile -t rels < <(printf '%s\n' "${rels[@]}" | sort -u)
        kept=()
        for rel in "${rels[@]}"; do
            inner=0
            for r in ${kept[@]+"${kept[@]}"}; do
                [[ $rel == "$r"/* ]] && inner=1 && break
            done
            ((inner)) || kept+=("$rel")
        done
        args+=("${kept[@]}")
    done
    # shellcheck disable=SC2016,SC2034 # the program's own variables; read by the callers
    PRIVATE_DIRS=(unshare -m --propagation private sh -c '
        cwd=$1 setup=$2
        shift 2
        while [ "$1" != -- ]; do
            dir=$1
            shift
            cd "$dir" && mount -t tmpfs tmpfs "$dir" || exit 126
            while [ "$1" != -- ] && [ "${1#/}" = "$1" ]; do
                mkdir -p "$dir/$1" && mount -c --bind "./$1" "$dir/$1" || exit 126
                shift
            done
        done
        shift
        cd "$cwd" 2>/dev/null || cd /
        eval "$setup" && exec "$@"' private-dirs "$PWD" "$setup" ${args[@]+"${args[@]}"} --)
}
