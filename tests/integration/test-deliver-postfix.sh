#!/bin/bash
# corral deliver behind a real Postfix (pipe(8), as with mailbox_command):
# a local mistake never bounces mail. With broken rules Postfix logs
# status=sent and the message is in INBOX; with no config Postfix defers it
# (4.3.0, the message stays queued, the log says why) and delivers it once
# the config is back. No bounce is ever made. Postfix listens on 127.0.0.1
# only, with its own config, queue and log under the test's directory.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
need_root
need postfix postconf postqueue python3 setpriv

T=$(mktemp -d "${TMPDIR:-/tmp}/corral-postfix.XXXXXX")
PF=$T/postfix
cleanup() {
	[ -f "$PF/conf/main.cf" ] && postfix -c "$PF/conf" stop >/dev/null 2>&1
	pkill -f "master -c $PF/conf" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
chmod 755 "$T"

# corral runs as nobody (pipe(8) never runs a command as root): its own copy.
mkdir -p "$T/bin" "$T/home"
cp "$CORRAL" "$T/bin/corral"
chmod 755 "$T/bin" "$T/bin/corral"
M=$T/home/Maildir
cat >"$T/home/rules.yml" <<'EOF'
- name: typo
  if: {frm: boss@example.com}
  then: {folder: Boss}
EOF
printf 'maildir: %s\nstate: %s/home/state\nrules: %s/home/rules.yml\n' "$M" "$T" "$T" >"$T/home/config.yml"
chown -R nobody: "$T/home"
chmod 600 "$T/home/config.yml"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$PF/conf" "$PF/queue" "$PF/data"
chown postfix "$PF/data"
cat >"$PF/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.corral.test
mydomain = corral.test
myorigin = corral.test
mydestination = corral.test
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = corral
corral_destination_recipient_limit = 1
default_transport = error:this test relays nothing
maillog_file_prefixes = $T
maillog_file = $PF/maillog
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_banner = \$myhostname ESMTP
biff = no
EOF
sed -e "s/^smtp      inet .*/127.0.0.1:$port inet n - n - - smtpd/" \
	-e 's/^#postlog .*/postlog   unix-dgram n  -       n       -       1       postlogd/' \
	/etc/postfix/master.cf >"$PF/conf/master.cf"
cat >>"$PF/conf/master.cf" <<EOF
corral    unix  -       n       n       -       -       pipe
  flags=Rq user=nobody argv=$T/bin/corral -c $T/home/config.yml deliver
EOF
postfix -c "$PF/conf" start >"$T/start.log" 2>&1 ||
	setup_fail "postfix did not start: $(tail -3 "$T/start.log" "$PF/maillog" 2>/dev/null | tr '\n' ' ')"
wait_until 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" ||
	setup_fail "postfix does not listen on 127.0.0.1:$port"

# send SUBJECT: one message from sender@corral.test to user@corral.test.
send() {
	python3 - "$port" "$1" <<'PY'
import smtplib, sys
body = ("From: boss@example.com\r\nTo: user@corral.test\r\nSubject: %s\r\n"
        "Message-ID: <%s@corral.test>\r\n\r\nbody\r\n" % (sys.argv[2], sys.argv[2]))
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.sendmail("sender@corral.test", ["user@corral.test"], body.encode())
s.quit()
PY
}
files() { find "$M/new" "$M/cur" -type f 2>/dev/null | wc -l; }
has_files() { [ "$(files)" -ge "$1" ]; }
logged() { grep -q "$1" "$PF/maillog" 2>/dev/null; }
queued() { postqueue -c "$PF/conf" -p 2>/dev/null | grep -c '^[0-9A-F]' || true; }

# ---- broken rules: delivered into INBOX, Postfix says sent ----
send broken-rules || setup_fail "Postfix refused the test message"
check "broken rules: Postfix logs status=sent" wait_until 20 logged "status=sent (delivered via corral service"
check "broken rules: Postfix's log has corral's reason, the rule's position" \
	logged "status=sent (delivered via corral service (.*rules.yml:2:8: rule #1"
check "broken rules: the message is in INBOX" wait_until 5 has_files 1
check "broken rules: corral status shows why" \
	bash -c "setpriv --reuid=nobody --regid=nogroup --clear-groups '$T/bin/corral' -c '$T/home/config.yml' status | grep -q 'problem: .*rules have errors'"

# ---- no config: deferred and queued, delivered once it is back ----
mv "$T/home/config.yml" "$T/home/config.away"
send no-config || setup_fail "Postfix refused the second message"
check "no config: Postfix defers (4.3.0) and logs corral's reason" \
	wait_until 20 logged "dsn=4.3.0, status=deferred.*no usable config"
check "no config: the message is still in the queue" test "$(queued)" -eq 1
mv "$T/home/config.away" "$T/home/config.yml"
postqueue -c "$PF/conf" -f
check "config back: the queued message is delivered" wait_until 30 has_files 2
check "config back: the queue is empty" wait_until 10 bash -c "[ \"\$(postqueue -c '$PF/conf' -p | grep -c '^[0-9A-F]')\" -eq 0 ]"

# ---- nothing bounced ----
check "no message bounced (no status=bounced in Postfix's log)" bash -c "! grep -q 'status=bounced' '$PF/maillog'"
check "no bounce was made (no sender non-delivery notification)" bash -c "! grep -q 'non-delivery notification' '$PF/maillog'"
check "INBOX holds exactly the two messages, no bounce" test "$(files)" -eq 2
if [ "$_failed" -gt 0 ]; then
	sed 's/^/# /' "$PF/maillog" | tail -20
fi
finish
