#!/usr/bin/env bash
# 49. `vrrpd reload`: as SIGHUP, but the caller gets the result.  A good
#     config adding a VIP: exit 0 and a summary of what changed, the VIP
#     appears without a transition.  A broken config: exit 4, every error
#     printed with file:line:col (the same list as `vrrpd check`), the
#     daemon unchanged.  A demotion survives a reload.  VRRPv3, 0.1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"
title "49 vrrpd reload: summary on success, every error on failure"
ctl_require
fast_lab reload.conf.in
# shellcheck disable=SC2034 # used through eval
ta=$(transitions a)

conf_for a reload.conf.in VIP2=192.0.2.31 >/dev/null
cp "$WORK/a.conf" "${DCONF[a]}"
t=$(now)
out=$(ctl a reload 2>&1) && rc=0 || rc=$?
took=$(fcalc "$(now) - $t")
say "reload (good): exit $rc in $(ms "$took"): $out"
[[ $rc == 0 && $out == "reloaded ${DCONF[a]}: changed VI_1: vips" ]] || fail "good reload: exit $rc: $out"
check "A holds 192.0.2.31 and $VIP" wait_for 2 eval 'has_vip a 192.0.2.31 && has_vip a "$VIP"'
say "measured: reload -> new VIP on A $(ms "$(fcalc "$(vip_first a add 192.0.2.31 "$t") - $t")")"
# The same file again: nothing to change; --json for machines.
js=$(ctl a reload --json)
jq -e '.ok == true and .summary == "no changes; 1 unchanged" and .plan.unchanged == ["VI_1"] and .diagnostics == []' \
    <<<"$js" >/dev/null || fail "reload --json: $js"
say "ok: reload of an unchanged file: $(jq -c '{ok, summary}' <<<"$js")"

# Broken: exit 4, every error with file:line:col, nothing changes.
cp "$NT_DIR/conf/reload-broken.conf" "${DCONF[a]}"
errs=$(ctl a reload 2>&1 >/dev/null) && rc=0 || rc=$?
printf '%s\n' "$errs" | sed 's/^/    /'
[[ $rc == 4 ]] || fail "broken reload exited $rc, not 4"
n=$(grep -cE "^${DCONF[a]}:[0-9]+:[0-9]+: error: " <<<"$errs" || true)
expected=$("$(daemon_bin)" check -f "${DCONF[a]}" 2>&1 >/dev/null | grep -E ": error: " | sort || true)
got=$(grep -E ": error: " <<<"$errs" | sort || true)
say "errors reported by reload: $n; by vrrpd check: $(grep -c . <<<"$expected")"
((n >= 2)) || fail "expected several located errors, got $n"
[[ $got == "$expected" ]] || fail "reload's errors differ from vrrpd check's"
check "the last line says the running configuration is kept" eval '[[ $(tail -n 1 <<<"$errs") == *"running configuration is kept"* ]]'
check "daemon alive, still holding both VIPs" eval 'daemon_alive a && has_vip a "$VIP" && has_vip a 192.0.2.31'
check "no transition on A" eval '[[ $(transitions a) == "$ta" ]]'
check "status still shows MASTER" st_is a .state MASTER

# A demotion survives a reload.
ctl a demote VI_1 >/dev/null
check "B took over" wait_master b "$VIP" 2
conf_for a reload.conf.in >/dev/null
cp "$WORK/a.conf" "${DCONF[a]}"
out=$(ctl a reload)
say "reload while demoted: $out"
check "A still demoted, holding nothing, after the reload" eval 'st_is a ".state + \" \" + (.demoted != null | tostring)" "FAULT true" && hold_for 0.6 no_vip a "$VIP"'
ctl a promote VI_1 >/dev/null
check "promoted: A master again" wait_master a "$VIP" 3
check "192.0.2.31 (removed by the reload) is not back" no_vip a 192.0.2.31
finish
