#!/usr/bin/env bash
# 69. use_vmac's life cycle on one vrrpd node (issue 15, part 1):
#     - start: the macvlan vrrp.51 (private mode, 00:00:5e:00:01:33) on
#       eth0 with keepalived's sysctls (vrrp.51: arp_ignore=1,
#       accept_local=1, rp_filter=0; eth0: arp_ignore=1, arp_filter=1,
#       and arp_announce=2, which keepalived leaves to the operator),
#       the VIP on it; an IPv6 instance's VMAC vrrp.66 (00:00:5e:00:02:42)
#       whose adverts leave from that MAC and eth0's link-local address;
#     - an upgrade (`vrrpd upgrade`) leaves both VMACs untouched (same
#       ifindex, VIP kept);
#     - a clean stop deletes them and puts eth0's sysctls back;
#     - after a SIGKILL the VMAC stays; `vrrpd resign` deletes it (and the
#       VIP) and puts eth0's sysctls back (from the runtime record); the
#       next start deletes leftovers (a vrrp.52 with a VRRP MAC) but never
#       someone else's macvlan (mv0);
#     - eth0 deleted and re-created: vrrp.51 follows it (created again on
#       the new eth0, VIP back);
#     - a reload removing an instance deletes its VMAC, and eth0's sysctls
#       go back with its last VMAC.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/upgrade-lib.sh"
title "69 use_vmac life cycle: create, sysctls, IPv6 VMAC adverts, upgrade, stop, leftovers, resign, base re-created"
upgrade_require
lab_up a
NA=$(ns a)
VIP4=192.0.2.31
VIP6=2001:db8::66
MAC4=00:00:5e:00:01:33
MAC6=00:00:5e:00:02:42
sys() { ip netns exec "$NA" cat "/proc/sys/net/$1/conf/$2/$3"; }
# link_of NAME: "index mac kind mode lower-device" of NAME in A, or nothing.
link_of() {
    ip -n "$NA" -d -j link show dev "$1" 2>/dev/null | jq -r '.[0] |
        "\(.ifindex) \(.address) \(.linkinfo.info_kind // "-") \(.linkinfo.info_data.mode // "-") \(.link // "-")"'
}
has_link() { [[ $(link_of "$1") ]]; }
no_link() { ! has_link "$1"; }
# (no `| grep -q`: with pipefail, ip's SIGPIPE when grep quits early fails it)
vip_on() {
    local out
    out=$(ip -n "$NA" -o addr show dev "$1" 2>/dev/null) || return 1
    [[ $out =~ inet6?\ $2/ ]]
}

for f in arp_ignore arp_filter arp_announce; do
    ip netns exec "$NA" sh -c "echo 0 >/proc/sys/net/ipv4/conf/$LAB_IF/$f"
done
cat >"$WORK/a.conf" <<CONF
vrrp_instance VI_4 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 51
    priority 150
    advert_int 0.5
    use_vmac
    virtual_ipaddress {
        $VIP4/24
    }
}
vrrp_instance VI_6 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 66
    priority 150
    version 3
    advert_int 0.5
    use_vmac
    virtual_ipaddress {
        fe80::66
        $VIP6/64
    }
}
CONF

start_daemon a "$WORK/a.conf"
check "vrrp.51 holds $VIP4" wait_for 5 vip_on vrrp.51 "$VIP4"
check "vrrp.66 holds $VIP6" wait_for 5 vip_on vrrp.66 "$VIP6"
l51=$(link_of vrrp.51)
l66=$(link_of vrrp.66)
say "vrrp.51: $l51; vrrp.66: $l66"
base=$LAB_IF
read -r _ m k mode b <<<"$l51"
check "vrrp.51 is a private macvlan on eth0 with $MAC4" eval "[[ '$m $k $mode' == '$MAC4 macvlan private' && $b == $base ]]"
read -r _ m k mode b <<<"$l66"
check "vrrp.66 is a private macvlan on eth0 with $MAC6" eval "[[ '$m $k $mode' == '$MAC6 macvlan private' && $b == $base ]]"
got="$(sys ipv4 vrrp.51 arp_ignore) $(sys ipv4 vrrp.51 accept_local) $(sys ipv4 vrrp.51 rp_filter) $(sys ipv6 vrrp.51 disable_ipv6)"
say "vrrp.51 arp_ignore accept_local rp_filter disable_ipv6: $got"
check "vrrp.51's sysctls are keepalived's" eval "[[ '$got' == '1 1 0 1' ]]"
got="$(sys ipv4 "$LAB_IF" arp_ignore) $(sys ipv4 "$LAB_IF" arp_filter) $(sys ipv4 "$LAB_IF" arp_announce)"
check "eth0 arp_ignore arp_filter arp_announce are 1 1 2 ($got)" eval "[[ '$got' == '1 1 2' ]]"
check "vrrp.66 has eth0's link-local ${NODE_LL[a]}" vip_on vrrp.66 "${NODE_LL[a]}"
check "no VIP on eth0" eval "! vip_on $LAB_IF $VIP4 && ! vip_on $LAB_IF $VIP6"
sleep 1.5
capture_stop
v4src=$(tsh "vrrp && ip.src == ${NODE_V4[a]}" eth.src | sort -u | paste -sd, -)
v6src=$(tsh "vrrp && ipv6.src == ${NODE_LL[a]}" eth.src | sort -u | paste -sd, -)
say "adverts' source MACs: IPv4 $v4src; IPv6 $v6src"
check "IPv4 adverts leave from $MAC4 only" eval "[[ '$v4src' == '$MAC4' ]]"
check "IPv6 adverts leave from $MAC6 only" eval "[[ '$v6src' == '$MAC6' ]]"
na=$(tsh "icmpv6.type == 136 && icmpv6.nd.na.target_address == $VIP6" eth.src | sort -u | paste -sd, -)
garp=$(tsh "arp.opcode == 1 && arp.src.proto_ipv4 == $VIP4" eth.src | sort -u | paste -sd, -)
check "gratuitous ARPs from $MAC4 ($garp), NAs from $MAC6 ($na)" eval "[[ '$garp' == '$MAC4' && '$na' == '$MAC6' ]]"

# An upgrade adopts both VMACs as they are.
pid0=$(pid_of a)
upgrade a
[[ $UP_RC == 0 ]] || fail "vrrpd upgrade failed ($UP_RC): $UP_OUT"
pid1=$(pid_of a)
adopt_pid a "$pid1"
check "the old process exited" wait_for 3 not_running "$pid0"
check "vrrp.51 and vrrp.66 untouched by the upgrade (same index)" \
    eval "[[ \$(link_of vrrp.51) == '$l51' && \$(link_of vrrp.66) == '$l66' ]]"
check "VIPs kept" eval "vip_on vrrp.51 $VIP4 && vip_on vrrp.66 $VIP6"

stop_daemon a
check "a clean stop deletes vrrp.51 and vrrp.66" eval "no_link vrrp.51 && no_link vrrp.66"
got="$(sys ipv4 "$LAB_IF" arp_ignore) $(sys ipv4 "$LAB_IF" arp_filter) $(sys ipv4 "$LAB_IF" arp_announce)"
check "eth0 arp_ignore arp_filter arp_announce back to 0 0 0 ($got)" eval "[[ '$got' == '0 0 0' ]]"

# SIGKILL: the VMAC and its VIP stay; resign removes both.
start_daemon a "$WORK/a.conf"
check "vrrp.51 holds $VIP4 again" wait_for 5 vip_on vrrp.51 "$VIP4"
kill_daemon a
check "after SIGKILL vrrp.51 is still there with $VIP4" hold_for 0.5 vip_on vrrp.51 "$VIP4"
resign_daemon a || fail "vrrpd resign failed"
check "vrrpd resign deleted vrrp.51 and vrrp.66" eval "no_link vrrp.51 && no_link vrrp.66"
got="$(sys ipv4 "$LAB_IF" arp_ignore) $(sys ipv4 "$LAB_IF" arp_filter) $(sys ipv4 "$LAB_IF" arp_announce)"
check "and put eth0's sysctls back to 0 0 0 ($got)" eval "[[ '$got' == '0 0 0' ]]"

# SIGKILL again, plus a leftover of another VRID and someone else's macvlan.
start_daemon a "$WORK/a.conf"
check "vrrp.51 holds $VIP4 again" wait_for 5 vip_on vrrp.51 "$VIP4"
kill_daemon a
old51=$(link_of vrrp.51)
ip -n "$NA" link add link "$LAB_IF" name vrrp.52 address 00:00:5e:00:01:34 type macvlan mode private
ip -n "$NA" link add link "$LAB_IF" name mv0 address 02:00:00:00:aa:01 type macvlan mode private
start_daemon a "$WORK/a.conf"
check "the leftover vrrp.52 is deleted at start" wait_for 5 no_link vrrp.52
check "the log says so" wait_for 2 grep -aq "Removed VMAC interface vrrp.52 left by an earlier run" "$WORK/a.log"
check "someone else's macvlan mv0 is left alone" has_link mv0
check "vrrp.51 was created afresh (new index) and holds $VIP4" \
    wait_for 5 eval "[[ \$(link_of vrrp.51) && \$(link_of vrrp.51 | cut -d' ' -f1) != '${old51%% *}' ]] && vip_on vrrp.51 $VIP4"

# The base interface deleted and re-created: the VMAC follows it.
ip -n "$NA" link del "$LAB_IF"
check "vrrp.51 went with eth0" wait_for 2 no_link vrrp.51
node_link a
check "vrrp.51 is created again on the new eth0 and holds $VIP4" wait_for 5 vip_on vrrp.51 "$VIP4"
read -r _ _ _ _ b <<<"$(link_of vrrp.51)"
check "on the new eth0" eval "[[ $b == $LAB_IF ]]"
# Reloads: an instance removed takes its VMAC with it; the base's sysctls
# go back with the last VMAC on it.
awk '/^vrrp_instance VI_6/,0' "$WORK/a.conf" >"${DCONF[a]}"
hup_daemon a
check "a reload without VI_4 deletes vrrp.51, keeps vrrp.66" wait_for 3 eval "no_link vrrp.51 && vip_on vrrp.66 $VIP6"
got="$(sys ipv4 "$LAB_IF" arp_ignore) $(sys ipv4 "$LAB_IF" arp_filter) $(sys ipv4 "$LAB_IF" arp_announce)"
check "eth0's sysctls stay while a VMAC is on it ($got)" eval "[[ '$got' == '1 1 2' ]]"
sed -e 's/^    use_vmac$//' "$WORK/a.conf" | awk '/^vrrp_instance VI_4/,/^}/' >"${DCONF[a]}"
hup_daemon a
check "a reload without VMACs deletes vrrp.66" wait_for 3 no_link vrrp.66
check "eth0's sysctls back to 0 0 0" wait_for 2 eval "[[ \"\$(sys ipv4 $LAB_IF arp_ignore) \$(sys ipv4 $LAB_IF arp_filter) \$(sys ipv4 $LAB_IF arp_announce)\" == '0 0 0' ]]"
check "VI_4, started again without use_vmac, holds $VIP4 on eth0" wait_for 5 vip_on "$LAB_IF" "$VIP4"
stop_daemon a
check "stopped: no VMAC left" eval "no_link vrrp.51 && no_link vrrp.66"
finish
