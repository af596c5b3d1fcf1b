# shellcheck shell=bash
# netns-tests/control-lib.sh - helpers for the control-socket scenarios
# (46-49): `vrrpd status`, `status -w`, `demote`/`promote`, `reload`.
# vrrpd only: keepalived has no control socket.  Source after lib.sh.

ctl_require() {
    require_daemon
    is_keepalived && skip "keepalived has no control socket (vrrpd status/demote/promote/reload)"
    need jq setpriv
}

# ctl NODE ARGS...: `vrrpd ARGS --socket SOCK` against NODE's daemon, run in
# NODE's namespace (so teardown ends it with the namespace).
ctl() {
    local n=$1; shift
    ip netns exec "$(ns "$n")" "$(daemon_bin)" "$@" --socket "$WORK/$n/daemon.sock"
}
# st NODE JQ: a field of NODE's first instance in `vrrpd status --json`.
st() { ctl "$1" status --json | jq -r ".instances[0] | $2"; }
# st_is NODE JQ VALUE: that field equals VALUE.
st_is() { [[ $(st "$1" "$2") == "$3" ]]; }

# ctl_raw NODE: sends stdin as is to NODE's control socket, prints the reply.
ctl_raw() {
    timeout 8 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(7)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
print(s.makefile().readline().strip())' "$WORK/$1/daemon.sock"
}

# watch_to NODE FILE [ARGS...]: `vrrpd status -w ARGS` on NODE, each line
# prefixed with its arrival time (epoch seconds) into FILE.
watch_to() {
    local n=$1 f=$2; shift 2
    ctl "$n" status -w "$@" | while IFS= read -r line; do
        printf '%s %s\n' "$EPOCHREALTIME" "$line"
    done >"$f"
}

# as_nobody CMD...: CMD as uid/gid 65534 with no supplementary groups.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# nobody_client: a copy of the binary that nobody may execute.
nobody_client() {
    cp "$(daemon_bin)" "$WORK/vrrpd-client"
    chmod 755 "$WORK/vrrpd-client"
    printf '%s' "$WORK/vrrpd-client"
}
