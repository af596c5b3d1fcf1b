#!/usr/bin/env bash
# 85. Receive buffers (issue 15): keepalived sizes each VRRP socket's
#     receive buffer as the sum over the instances on it of their
#     `kernel_rx_buf_size`, else the global `vrrp_rx_bufs_policy` share
#     (a size, or `vrrp_rx_bufs_multiplier` times the MTU or the advert
#     length). Two instances share A's multicast socket: 65536 + 4096 =
#     69632 bytes, which SO_RCVBUF reads back doubled (139264, the
#     kernel's bookkeeping); a reload to `MTU` with multiplier 10 makes it
#     65536 + 10 x 1500 = 80536 (SO_RCVBUF 161072).
. "$(dirname "$0")/lib.sh"
title "85 kernel_rx_buf_size / vrrp_rx_bufs_policy: the VRRP socket's receive buffer"
require_daemon
lab_up a
write_conf() { # POLICY MULTIPLIER
    cat >"$WORK/a.conf" <<EOF
global_defs {
    vrrp_rx_bufs_policy $1
    vrrp_rx_bufs_multiplier $2
}
vrrp_instance VI_1 {
    interface $LAB_IF
    virtual_router_id 85
    priority 100
    version 3
    advert_int 0.1
    kernel_rx_buf_size 65536
    virtual_ipaddress {
        192.0.2.85/24
    }
}
vrrp_instance VI_2 {
    interface $LAB_IF
    virtual_router_id 86
    priority 100
    version 3
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.86/24
    }
}
EOF
}
# The receive buffers of A's VRRP sockets (SO_RCVBUF, which the kernel
# reports doubled), read from the daemon's descriptors.
rbufs() { "$PY" "$NT_DIR/tools/rcvbuf.py" $(daemon_pids a); }
write_conf 4096 3
start_daemon a "$WORK/a.conf"
check "A is Master of both" wait_for 3 eval 'has_vip a 192.0.2.85 && has_vip a 192.0.2.86'
say "A's VRRP sockets: $(rbufs)"
check "the socket's buffer is 65536 + 4096 bytes (SO_RCVBUF 139264)" wait_for 2 eval '[[ $(rbufs) == *rcvbuf=139264* ]]'
write_conf MTU 10
cp "$WORK/a.conf" "${DCONF[a]}"
hup_daemon a
check "after a reload to MTU x 10: 65536 + 15000 bytes (SO_RCVBUF 161072)" wait_for 3 eval '[[ $(rbufs) == *rcvbuf=161072* ]]'
check "no socket keeps the old size" eval '[[ $(rbufs) != *rcvbuf=139264* ]]'
stop_daemon a
finish
