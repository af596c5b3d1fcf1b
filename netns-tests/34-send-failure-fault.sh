#!/usr/bin/env bash
# 34. The Master cannot send its adverts (an OUTPUT firewall in its
#     namespace drops protocol 112: sendto fails with EPERM) while its link
#     and its checks are fine. B hears nothing and takes over after
#     Master_Down_Interval. keepalived logs "send advert error" and stays
#     Master: two holders of the VIP until the firewall goes. vrrpd puts the
#     instance in FAULT after Master_Down_Interval of failed sends, so it
#     releases the VIP and B is the only holder; when sends work again its
#     priority-0 probe leaves, it leaves FAULT and preempts back.
#     VRRPv3, 0.1 s adverts.
. "$(dirname "$0")/lib.sh"
title "34 Master's adverts refused by an OUTPUT firewall: FAULT, one holder"
require_daemon
need nft
fast_lab v3-ipv4.conf.in
mdi=$(master_down 3 101 0.1)
fw() { ip netns exec "$(ns a)" nft "$@"; }
t=$(now)
fw add table inet vrrpd_test
fw add chain inet vrrpd_test out '{ type filter hook output priority 0 ; }'
fw add rule inet vrrpd_test out meta l4proto 112 drop
say "A's VRRP adverts are dropped on output from now"
check "B holds $VIP" wait_master b "$VIP" 2
if wait_for "$(fcalc "$mdi + 0.5")" no_vip a "$VIP"; then
    t_rel=$(vip_first a del "$VIP" "$t")
    say "measured: firewall -> A released $VIP $(ms "$(fcalc "$t_rel - $t")") (Master_Down_Interval $(ms "$mdi"))"
    # The first refused advert leaves up to one interval after the firewall.
    check "A released it within Master_Down_Interval + one interval + 50 ms" \
        fle "$(fcalc "$t_rel - $t")" "$(fcalc "$mdi + 0.15")"
    check "A is in FAULT (log)" in_state a VI_1 FAULT
    check "B stays the only holder for 1 s" hold_for 1 eval "no_vip a $VIP && has_vip b $VIP"
else
    xdiff "A still holds $VIP $(ms "$(fcalc "$(now) - $t")") after its adverts stopped leaving (dual master)"
fi
t=$(now)
fw delete table inet vrrpd_test
say "firewall removed"
check "A is master again and holds $VIP" wait_master a "$VIP" 3
check "B dropped $VIP" wait_for 1 no_vip b "$VIP"
t_add=$(vip_first a add "$VIP" "$t")
[[ $t_add ]] && say "measured: firewall removed -> A holds $VIP again $(ms "$(fcalc "$t_add - $t")")"
finish
