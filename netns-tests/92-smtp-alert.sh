#!/usr/bin/env bash
# 92. smtp_alert (keepalived smtp.c, vrrp_notify.c): A alone (owner) with
#     smtp_alert mails its transitions through an SMTP server on C (Python's
#     smtpd): "Entering MASTER state" at start, "Stopping" at a clean stop,
#     to every notification_email, from notification_email_from, with
#     keepalived's subject ([router_id] VRRP Instance NAME - ...) and body.
#     keepalived 2.2.7 sends no "Stopping" mail (it exits first): expected
#     difference.
. "$(dirname "$0")/lib.sh"
title "92 smtp_alert: transitions mailed through smtp_server"
require_daemon
# A real SMTP server on C: the standard library's smtpd (Python <= 3.11),
# else aiosmtpd (.ci/run installs it where smtpd is gone).
if "$PY" -W ignore -c 'import smtpd, asyncore' 2>/dev/null; then
    sink='
import asyncore, smtpd, sys
class Sink(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        with open(sys.argv[3], "a") as f:
            f.write("MAIL FROM %s TO %s\n%s\n.\n" % (mailfrom, ",".join(rcpttos), data))
Sink((sys.argv[1], int(sys.argv[2])), None, decode_data=True)
print("ready", flush=True)
asyncore.loop(timeout=0.2)
'
elif "$PY" -c 'import aiosmtpd' 2>/dev/null; then
    sink='
import asyncio, sys
from aiosmtpd.smtp import SMTP
class Sink:
    async def handle_DATA(self, server, session, envelope):
        with open(sys.argv[3], "a") as f:
            data = envelope.content.decode("utf-8", "replace").replace("\r\n", "\n")
            f.write("MAIL FROM %s TO %s\n%s\n.\n" % (envelope.mail_from, ",".join(envelope.rcpt_tos), data))
        return "250 OK"
async def main():
    srv = await asyncio.get_running_loop().create_server(lambda: SMTP(Sink()), sys.argv[1], int(sys.argv[2]))
    print("ready", flush=True)
    await srv.serve_forever()
asyncio.run(main())
'
else
    skip "python3 has neither smtpd nor aiosmtpd"
fi
lab_up a c
mails=$WORK/mails.txt
: >"$mails"
bg ip netns exec "$(ns c)" "$PY" -W ignore -c "$sink" "${NODE_V4[c]}" 2525 "$mails" >"$WORK/smtpd.out" 2>&1
wait_for 3 grep -q ready "$WORK/smtpd.out" || fail "smtpd did not start: $(cat "$WORK/smtpd.out")"
cat >"$WORK/a.conf" <<CONF
global_defs {
    router_id lb-a
    notification_email {
        ops@example.org
        oncall@example.org
    }
    notification_email_from vrrp@example.org
    smtp_server ${NODE_V4[c]} 2525
    smtp_connect_timeout 3
    smtp_helo_name lb-a.example.org
}
vrrp_instance VI_1 {
    state MASTER
    interface $LAB_IF
    virtual_router_id 92
    priority 255
    version 3
    advert_int 0.1
    smtp_alert
    virtual_ipaddress {
        $VIP
    }
}
CONF
start_daemon a "$WORK/a.conf"
check "A holds $VIP" wait_for 4 has_vip a "$VIP"
check "the MASTER mail arrived" wait_for 5 grep -q "Subject: \[lb-a\] VRRP Instance VI_1 - Entering MASTER state" "$mails"
check "to both recipients, from notification_email_from" \
    grep -q "^MAIL FROM vrrp@example.org TO ops@example.org,oncall@example.org" "$mails"
check "keepalived's body" grep -q "=> VRRP Instance is now owning VRRP VIPs <=" "$mails"
stop_daemon a
# keepalived 2.2.7 exits before its STOP mail is out: an expected
# difference (vrrpd waits for queued notifications at a stop, bounded).
check_or_xdiff "the Stopping mail arrived" wait_for 5 grep -q "Subject: \[lb-a\] VRRP Instance VI_1 - Stopping" "$mails"
say "mails: $(grep -c '^Subject:' "$mails"): $(grep '^Subject:' "$mails" | tr '\n' '|')"
finish
