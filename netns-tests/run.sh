#!/usr/bin/env bash
# Run every end-to-end scenario (netns-tests/NN-*.sh, NNN-*.sh) against DAEMON
# (keepalived or vrrpd; default keepalived).  Needs root.  Prints one
# summary line and exits non-zero if any scenario failed.
#
#   netns-tests/run.sh [PATTERN...]      e.g. run.sh 02 05
#   DAEMON=vrrpd netns-tests/run.sh
#
# Scenario exit codes: 0 pass, 77 skipped, 78 passed with a documented
# keepalived difference (counted as skipped and listed), anything else fail.
set -euo pipefail
cd "$(dirname "$0")"
export DAEMON=${DAEMON:-keepalived}
: "${SCENARIO_TIMEOUT:=90}"

scenarios=()
# Two or three digits (100 and up sort after 99 by number, not by name).
for f in [0-9][0-9]-*.sh [0-9][0-9][0-9]-*.sh; do
    [[ -e $f ]] || continue
    if (($#)); then
        for p in "$@"; do [[ $f == *"$p"* ]] && scenarios+=("$f") && break; done
    else
        scenarios+=("$f")
    fi
done

pass=0 failed=0 skipped=0
failures=() xdiffs=() skips=()
start=$EPOCHREALTIME
for f in "${scenarios[@]}"; do
    t=$EPOCHREALTIME
    rc=0
    timeout --kill-after=10 "$SCENARIO_TIMEOUT" bash "$f" || rc=$?
    took=$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
    case $rc in
    0) pass=$((pass + 1)); echo "  -> pass (${took} s)" ;;
    77) skipped=$((skipped + 1)); skips+=("$f"); echo "  -> skipped (${took} s)" ;;
    78) skipped=$((skipped + 1)); xdiffs+=("$f"); echo "  -> keepalived: expected difference (${took} s)" ;;
    124 | 137) failed=$((failed + 1)); failures+=("$f (timed out after ${SCENARIO_TIMEOUT} s)"); echo "  -> FAILED: timeout" ;;
    *) failed=$((failed + 1)); failures+=("$f (exit $rc)"); echo "  -> FAILED (exit $rc, ${took} s)" ;;
    esac
    echo
done
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')
for f in "${failures[@]}"; do echo "failed: $f"; done
for f in "${xdiffs[@]}"; do echo "keepalived: expected difference: $f"; done
for f in "${skips[@]}"; do echo "skipped: $f"; done
extra=""
((${#xdiffs[@]})) && extra=" (${#xdiffs[@]} of them keepalived: expected difference)"
echo "netns-tests: $pass passed, $failed failed, $skipped skipped$extra [DAEMON=$DAEMON, ${took} s]"
((failed == 0))
