# shellcheck shell=bash
# netns-tests/track-lib.sh - helpers for the tracking scenarios (40-49):
# a real Apache as the probed local balancer, configs with a tracker for
# either daemon, notify logs.  Source after lib.sh.

declare -A APACHE_PID=()

# apache_up NODE: Debian's apache2 on 127.0.0.1:8081 inside NODE's
# namespace (lab-notes.md: minimal config, no mod_mime).
apache_up() {
    local n=$1 d=$WORK/apache-$1
    mkdir -p "$d/www"
    printf 'node-%s OK\n' "$n" >"$d/www/index.html"
    cat >"$d/httpd.conf" <<CONF
ServerRoot "/etc/apache2"
PidFile $d/apache.pid
Mutex file:$d default
Listen 127.0.0.1:8081
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
User www-data
Group www-data
ErrorLog $d/error.log
DocumentRoot $d/www
ServerName node-$n
CONF
    chmod -R a+rX "$d"
    rm -f "$d/apache.pid"
    bg ip netns exec "$(ns "$n")" apache2 -f "$d/httpd.conf" -DFOREGROUND
    APACHE_PID[$n]=$BG_LAST
    wait_for 5 apache_answers "$n" || fail "apache2 on $n did not answer on 127.0.0.1:8081"
}
apache_answers() { ip netns exec "$(ns "$1")" curl -sf -o /dev/null --max-time 0.5 http://127.0.0.1:8081/; }
# apache_stop NODE: SIGTERM to Apache's parent (graceful stop).
apache_stop() {
    local n=$1
    kill -TERM "${APACHE_PID[$n]}" 2>/dev/null || true
    wait_for 5 eval "! kill -0 ${APACHE_PID[$n]} 2>/dev/null" || fail "apache2 on $n did not stop"
}

# track_conf NODE KIND: a VRRPv2 multicast instance (A 101, B 100, 1 s
# adverts) tracking the local Apache with weight -10, natively (KIND=probe,
# vrrpd only), with keepalived's `vrrp_script` + curl (KIND=script), or
# not at all (KIND=none).
# Extra instance lines come from $EXTRA, extra top-level blocks from $TOP.
track_conf() {
    local n=$1 kind=$2 prio=101 state=MASTER
    [[ $n == b ]] && prio=100 state=BACKUP
    {
        printf '%s\n' "${TOP:-}"
        if [[ $kind == probe ]]; then
            cat <<CONF
vrrpd_http_check apache {
    url http://127.0.0.1:8081/
    body_contains OK
    interval 1
    timeout 0.5
    weight -10
}
CONF
        elif [[ $kind == script ]]; then
            cat <<CONF
vrrp_script apache {
    script "/usr/bin/curl -sf -o /dev/null --max-time 0.5 http://127.0.0.1:8081/"
    interval 1
    timeout 1
    weight -10
}
CONF
        fi
        cat <<CONF
vrrp_instance VI_1 {
    state $state
    interface $LAB_IF
    virtual_router_id 51
    priority $prio
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass password
    }
    virtual_ipaddress {
        $VIP
    }
CONF
        [[ $kind == none ]] || printf '    track_%s {\n        apache\n    }\n' "$kind"
        printf '%s\n}\n' "${EXTRA:-}"
    } >"$WORK/$n.conf"
    printf '%s' "$WORK/$n.conf"
}

# log_has NODE REGEX: the daemon's log matches.
log_has() { grep -aqE "$2" "$WORK/$1.log"; }
# states_of NODE INSTANCE: every state entered, in order, one per line.
states_of() {
    { grep -aoE "\($2\) Entering [A-Z]+ STATE" "$WORK/$1.log" || true; } | awk '{print $3}'
}
