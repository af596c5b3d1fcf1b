# shellcheck shell=bash
# netns-tests/sync-lib.sh - helpers for the sync-group scenarios (3N-sync-*):
# two instances per node in one vrrp_sync_group G1 (VRRPv3, 0.1 s, both on
# eth0): VI_EXT (VRID 60, 192.0.2.60) and VI_INT (VRID 61, 198.51.100.61).
# A is priority 101, B 100.  Each node has a health file its check script
# reads, a notify FIFO (captured to fifo-NODE.txt) and a notify log written
# by the instances' and the group's `notify` scripts.  Source after lib.sh
# and track-lib.sh.

EXT_VIP=192.0.2.60
INT_VIP=198.51.100.61

# sync_setup NODE...: health files, check and notify scripts, FIFO readers.
sync_setup() {
    local n
    # Scripts without a user run unprivileged (vrrpd's default): the log
    # they append to must be writable by anyone.
    printf '#!/bin/sh\nn=$1; shift\necho "$*" >>%s/notify-$n.log\n' "$WORK" >"$WORK/notify.sh"
    chmod 755 "$WORK/notify.sh"
    for n in "$@"; do
        printf 'ok\n' >"$WORK/health-$n"
        printf '#!/bin/sh\n[ "$(cat %s)" = ok ]\n' "$WORK/health-$n" >"$WORK/chk-$n.sh"
        chmod 755 "$WORK/chk-$n.sh"
        : >"$WORK/notify-$n.log"
        chmod 666 "$WORK/notify-$n.log"
        mkfifo -m 644 "$WORK/fifo-$n"
        bg sh -c "exec cat '$WORK/fifo-$n' >'$WORK/fifo-$n.txt'"
    done
}

DEFAULT_CHECK="    track_script {
        chk
    }"

# sync_conf NODE: the node's keepalived.conf (both nodes `state BACKUP`:
# keepalived starts sync-group members as BACKUP anyway).  $CHECK is the check's track
# block for VI_EXT (default: the weight-0 script), $GROUP_EXTRA more lines
# for the group, $INST_EXTRA more lines for both instances, $TOP more
# top-level blocks.
sync_conf() {
    local n=$1 prio=101 i vrid vip
    [[ $n == b ]] && prio=100
    {
        cat <<CONF
global_defs {
    vrrp_notify_fifo $WORK/fifo-$n
}
vrrp_script chk {
    script "$WORK/chk-$n.sh"
    interval 1
    timeout 1
}
${TOP:-}
vrrp_sync_group G1 {
    group {
        VI_EXT
        VI_INT
    }
    notify "$WORK/notify.sh $n"
${GROUP_EXTRA:-}
}
CONF
        for i in EXT INT; do
            vrid=60 vip=$EXT_VIP
            [[ $i == INT ]] && vrid=61 vip=$INT_VIP
            cat <<CONF
vrrp_instance VI_$i {
    state BACKUP
    interface $LAB_IF
    version 3
    virtual_router_id $vrid
    priority $prio
    advert_int 0.1
    virtual_ipaddress {
        $vip
    }
    notify "$WORK/notify.sh $n"
${INST_EXTRA:-}
CONF
            if [[ $i == EXT ]]; then
                printf '%s\n' "${CHECK-$DEFAULT_CHECK}"
            fi
            printf '}\n'
        done
    } >"$WORK/$n.conf"
    printf '%s' "$WORK/$n.conf"
}

# both_vips NODE / no_vips_on NODE
both_vips() { has_vip "$1" "$EXT_VIP" && has_vip "$1" "$INT_VIP"; }
no_vips_on() { no_vip "$1" "$EXT_VIP" && no_vip "$1" "$INT_VIP"; }
# one_side NODE: NODE holds both VIPs, the other node none.
one_side() {
    local o=a
    [[ $1 == a ]] && o=b
    both_vips "$1" && no_vips_on "$o"
}
# group_states NODE: the group's states in NODE's FIFO, checked by
# tools/syncfifo.py (members next to every group line, keepalived's format).
group_states() { "$PY" "$NT_DIR/tools/syncfifo.py" "$WORK/fifo-$1.txt" G1 VI_EXT VI_INT; }
# notify_lines NODE: the notify log as "KIND NAME STATE" (priority dropped).
notify_lines() { awk '{print $1, $2, $3}' "$WORK/notify-$1.log"; }
# fifo_lines NODE: the FIFO's transitions in the same form, names unquoted.
fifo_lines() {
    awk '$3 ~ /^(MASTER|BACKUP|FAULT|STOP|DELETED)$/ {gsub(/"/, "", $2); print $1, $2, $3}' "$WORK/fifo-$1.txt"
}
