#!/usr/bin/env bash
# Interop steady state, 30 s, both directions at once: A runs vrrpd, B
# keepalived 2.2.7, ten instances (the five modes twice: A Master of one
# set, B Master of the other).  No transition, no VIP event, every advert
# accepted: vrrpd's exit summary shows no dropped advert, keepalived logs
# no receive error, each Master's advert rate matches its interval.  (The
# other interop scenarios use 3 s steady windows; this is the long one.)
. "$(dirname "$0")/interop.sh"
title "20 interop steady state: vrrpd + keepalived, both directions, ${STEADY_LONG:=30} s"
require_both
lab_up a b c
declare -A RVRID=([v2u]=102 [v2m]=61 [v3m]=62 [v3u]=63 [v6]=76)
for n in a b; do
    rp=100 rs=BACKUP
    [[ $n == b ]] && rp=101 rs=MASTER
    matrix_conf "$n" normal >/dev/null
    conf_render "$IC/reverse.conf.in" RPRIO=$rp RSTATE=$rs SELF="${NODE_V4[$n]}" \
        PEER="${NODE_V4[$(other "$n")]}" >>"$WORK/$n-normal.conf"
done
declare -A RVIP=([v2u]=192.0.2.44 [v2m]=192.0.2.41 [v3m]=192.0.2.42 [v3u]=192.0.2.43 [v6]=2001:db8::76)
rev_on() { local n=$1 m; for m in "${MODES[@]}"; do has_vip "$n" "${RVIP[$m]}" || return 1; done; }
rev_off() { local n=$1 m; for m in "${MODES[@]}"; do no_vip "$n" "${RVIP[$m]}" || return 1; done; }
start_as vrrpd a "$WORK/a-normal.conf"
start_as keepalived b "$WORK/b-normal.conf"
mdi=$(max_mdi 100 "${MODES[@]}")
check "A (vrrpd) master of set 1, B (keepalived) master of set 2" \
    wait_for "$(fcalc "$mdi + 4")" eval 'all_vips a "${MODES[@]}" && rev_on b && no_vips b "${MODES[@]}" && rev_off a'
sleep 1
t0=$(now) ta=$(transitions a) tb=$(transitions b) mb=$(log_mark b) ma=$(log_mark a)
say "steady window: ${STEADY_LONG} s from now"
# shellcheck disable=SC2016
hold_for "$STEADY_LONG" eval 'all_vips a "${MODES[@]}" && rev_on b && no_vips b "${MODES[@]}" && rev_off a &&
    [[ $(transitions a) == "$ta" && $(transitions b) == "$tb" ]]' || fail "steady state broken"
t1=$(now)
for m in "${MODES[@]}"; do
    for v in "${M_VIP[$m]}" "${RVIP[$m]}"; do
        for n in a b; do
            [[ -z $(vip_times "$n" add "$v" "$t0") && -z $(vip_times "$n" del "$v" "$t0") ]] || fail "$v moved on $n during the window"
        done
    done
done
say "ok: ${STEADY_LONG} s: no transition on either node, no VIP event for any of the 10 instances"
pcap_refresh
printf '  %-16s %-28s %8s %8s %s\n' mode "master (daemon)" adverts expected verdict
for m in "${MODES[@]}"; do
    for set in 1 2; do
        if [[ $set == 1 ]]; then n=a vrid=${M_VRID[$m]}; else n=b vrid=${RVRID[$m]}; fi
        c=$(adverts "$(mode_src "$n" "$m")" "$vrid" "$t0" "$t1" | awk '$2 > 0' | wc -l)
        e=$(fcalc "($t1 - $t0) / ${M_INT[$m]}")
        # Unicast modes: one copy per peer (one peer here).
        v=ok
        awk -v c="$c" -v e="$e" 'BEGIN{exit !(c >= e * 0.95 - 1 && c <= e * 1.05 + 1)}' || { v=BAD; BAD+=("$m set $set: $c adverts, expected ~$e"); }
        o=$(adverts "$(mode_src "$(other "$n")" "$m")" "$vrid" "$t0" "$t1" | wc -l)
        [[ $o == 0 ]] || { v=BAD; BAD+=("$m set $set: the backup sent $o adverts"); }
        printf '  %-16s %-28s %8s %8.0f %s\n' "${M_DESC[$m]}" "$n (${KIND[$n]}) VRID $vrid" "$c" "$e" "$v"
    done
done
((${#BAD[@]} == 0)) || fail "advert rates: ${BAD[*]}"
# Receive errors, from each daemon's own account.
kerr=$(tail -n +"$((mb + 1))" "$WORK/b.log" | grep -acE 'invalid|mismatch|bogus|wrong VRRP|unexpected|not present|discard' || true)
check "keepalived logged no receive error or discard in the window ($kerr)" test "$kerr" = 0
late=$(tail -n +"$((ma + 1))" "$WORK/a.log" | grep -ac 'late (more than' || true)
say "vrrpd logged $late late-advert warning(s) in the window"
stop_node a
summ=$(grep -a 'adverts sent' "$WORK/a.log" || true)
printf '%s\n' "$summ" | sed -E 's/^.*INFO /    vrrpd: /'
check "vrrpd's exit summary lists 10 instances" test "$(grep -c . <<<"$summ")" = 10
check "vrrpd dropped none of keepalived's adverts" eval '! grep -q "dropped \[[^]]" <<<"$summ"'
finish
