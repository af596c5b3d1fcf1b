#!/usr/bin/env bash
# Interop matrix, vrrpd Master (A, priority 101) + keepalived Backup (B, 100), all
# five modes at once (seed v2 unicast PASS, v2 multicast, v3 IPv4 multicast
# and unicast, v3 IPv6): steady 3 s, graceful handover (priority 0),
# preemption back, crash failover (SIGKILL), preemption after the crash,
# nopreempt, equal priorities (higher primary address wins on both sides).
# Prints a table of measured times; keepalived's and vrrpd's log lines.
. "$(dirname "$0")/interop.sh"
title "21 interop matrix: vrrpd Master + keepalived Backup"
run_matrix vrrpd keepalived
