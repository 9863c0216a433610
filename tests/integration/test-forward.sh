#!/bin/bash
# forward, pipe and deliver: smtp through corral itself, against a real SMTP
# relay (aiosmtpd, tests/integration/smtpsink.py) and a real Dovecot:
# per-action outcomes, 451 retried alone, 550 filed into corral-failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
. tests/integration/lib-dovecot.sh
PY=/usr/bin/python3
need_root
need_py aiosmtpd
mktest
SINK_PID=
cleanup() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	dovecot_cleanup
	rm -rf "$T"
}
if [ -n "${KEEP:-}" ]; then trap - EXIT; else trap cleanup EXIT; fi

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/sink"
"$PY" tests/integration/smtpsink.py "$port" "$T/sink" > "$T/sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 100); do grep -q '^ready' "$T/sink.log" && break; sleep 0.1; done
sunk() { ls "$T"/sink/*.eml 2>/dev/null | wc -l; }
in_folder() { find "$T/Maildir/$1/new" "$T/Maildir/$1/cur" -type f 2>/dev/null | wc -l; }

cat > "$T/rules.yml" <<'YML'
- name: boss
  if: {subject: {contains: boss}}
  then: [{forward: phone@example.net}, keep]
- name: bounce
  if: {subject: {contains: reject}}
  then: {forward: reject@example.net}
- name: later
  if: {subject: {contains: later}}
  then: {forward: tempfail@example.net}
- name: flaky one
  if: {subject: {regex: 'Test message 1$'}}
  then: [{forward: flaky1@example.net}, {folder: Copies}]
- name: flaky two
  if: {subject: {regex: 'Test message 2$'}}
  then: [{forward: flaky2@example.net}, {folder: Copies}]
- name: piped
  if: {subject: {contains: pipe}}
  then: [{pipe: [sh, -c, 'cat > "$0"', PIPEOUT]}, {folder: Piped}]
YML
sed -i "s|PIPEOUT|$T/piped.eml|" "$T/rules.yml"
write_config "$T/config.yml" <<YML
maildir: $T/Maildir
state: $T/state
rules: rules.yml
smtp:
  host: 127.0.0.1
  port: $port
  tls: off
  to: local@example.org
YML

# ---- corral deliver ----
printf 'Return-Path: <sender@example.com>\nFrom: b@x\nSubject: boss says hi\n\nbody\n.\n..\n' > "$T/boss.eml"
"$CORRAL" -c "$T/config.yml" deliver < "$T/boss.eml"
check "deliver: forward + keep exits 0" test $? -eq 0
check "deliver: the relay got the forward" test "$(sunk)" -eq 1
check "deliver: INBOX has the kept copy" test "$(in_folder .)" -eq 1
f=$(ls "$T"/sink/*.json | head -1)
check "deliver: envelope sender from Return-Path" grep -q '"mail_from": "sender@example.com"' "$f"
check "deliver: envelope recipient from the rule" grep -q 'phone@example.net' "$f"
check "deliver: a Received line records corral" bash -c "head -4 '${f%.json}.eml' | grep -q 'corral, account deliver'"

printf 'From: b@x\nSubject: please reject\n\nbody\n' | "$CORRAL" -c "$T/config.yml" deliver 2>"$T/err"
check "deliver: 550 exits 0" test $? -eq 0
check "deliver: 550 files into corral-failed" test "$(in_folder .corral-failed)" -eq 1
check "deliver: the relay's reply is logged" grep -q '550' "$T/err"

before=$(find "$T/Maildir" -type f -path '*/new/*' | wc -l)
printf 'From: b@x\nSubject: later please\n\nbody\n' | "$CORRAL" -c "$T/config.yml" deliver 2>/dev/null
check "deliver: 451 exits 75 for the MTA to retry" test $? -eq 75
check "deliver: 451 delivers nothing" test "$(find "$T/Maildir" -type f -path '*/new/*' | wc -l)" -eq "$before"

printf 'From: b@x\nSubject: pipe me\n\nthrough a pipe\n' > "$T/pipe.eml"
"$CORRAL" -c "$T/config.yml" deliver < "$T/pipe.eml"
check "deliver: pipe gets the message on stdin byte-exact" cmp -s "$T/pipe.eml" "$T/piped.eml"
check "deliver: pipe + folder files the copy" test "$(in_folder .Piped)" -eq 1

# ---- corral fetch: 451 then 250 delivers the folder copy once ----
dovecot_setup >/dev/null
dovecot_start
dovecot_add_messages alice INBOX 5 1500
cat >> "$T/config.yml" <<YML
accounts:
  alice:
    protocol: imap
    host: 127.0.0.1
    port: $DOVECOT_IMAPS_PORT
    ca_file: $DOVECOT_CA
    user: alice
    password: $DOVECOT_PASS_alice
    keep: false
YML
rm -rf "$T/sink"/*.eml "$T/sink"/*.json
"$CORRAL" -c "$T/config.yml" fetch > "$T/out1" 2>&1
check "fetch: a 451 forward exits 75" test $? -eq 75
check "fetch: the folder copies are delivered at once" test "$(in_folder .Copies)" -eq 2
check "fetch: messages with a pending forward stay on the server" test "$(dovecot_count alice)" -eq 2
"$CORRAL" -c "$T/config.yml" fetch > "$T/out2" 2>&1
check "fetch: within the retry delay nothing is retried (75)" test $? -eq 75
check "fetch: nothing was forwarded yet" test "$(sunk)" -eq 0
CORRAL_RETRY_DELAY=0 "$CORRAL" -c "$T/config.yml" fetch > "$T/out3" 2>&1
check "fetch: the retry succeeds (exit 0)" test $? -eq 0
check "fetch: both forwards arrived once" test "$(sunk)" -eq 2
check "fetch: the folder copies were not delivered twice" test "$(in_folder .Copies)" -eq 2
check "fetch: the server is empty once every action is done" test "$(dovecot_count alice)" -eq 0
"$CORRAL" -c "$T/config.yml" fetch > "$T/out4" 2>&1
check "fetch: a further run does nothing (exit 0)" test $? -eq 0
check "fetch: and forwards nothing again" test "$(sunk)" -eq 2

# ---- a relay that is down: 75, nothing lost, delivered once when it is back ----
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null
dovecot_add_files alice INBOX "$T/boss.eml"
inbox_before=$(in_folder .)
"$CORRAL" -c "$T/config.yml" fetch alice > "$T/out6" 2>&1
check "relay down: fetch exits 75" test $? -eq 75
check "relay down: the message stays on the server" test "$(dovecot_count alice)" -eq 1
check "relay down: its INBOX copy is delivered" test "$(in_folder .)" -eq $((inbox_before + 1))
"$PY" tests/integration/smtpsink.py "$port" "$T/sink" > "$T/sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 100); do grep -q '^ready' "$T/sink.log" && break; sleep 0.1; done
CORRAL_RETRY_DELAY=0 "$CORRAL" -c "$T/config.yml" fetch alice > "$T/out7" 2>&1
check "relay back: the retry exits 0" test $? -eq 0
check "relay back: the forward arrived once" test "$(grep -l phone@example.net "$T"/sink/*.json | wc -l)" -eq 1
check "relay back: the INBOX copy was not delivered twice" test "$(in_folder .)" -eq $((inbox_before + 1))
check "relay back: the server is empty" test "$(dovecot_count alice)" -eq 0

# ---- deliver: smtp hands everything to smtp.to ----
dovecot_add_messages bob INBOX 3 1500
cat >> "$T/config.yml" <<YML
  bob:
    protocol: pop3
    host: 127.0.0.1
    port: $DOVECOT_POP3S_PORT
    ca_file: $DOVECOT_CA
    user: bob
    password: $DOVECOT_PASS_bob
    deliver: smtp
YML
before=$(find "$T/Maildir" -type f -path '*/new/*' | wc -l)
"$CORRAL" -c "$T/config.yml" fetch bob > "$T/out5" 2>&1
check "deliver: smtp exits 0" test $? -eq 0
check "deliver: smtp sent the 3 messages to smtp.to" test "$(grep -l 'local@example.org' "$T"/sink/*.json | wc -l)" -eq 3
check "deliver: smtp filed nothing into the Maildir" test "$(find "$T/Maildir" -type f -path '*/new/*' | wc -l)" -eq "$before"

# ---- corral status ----
"$CORRAL" -c "$T/config.yml" status > "$T/status" 2>&1
check "status: exit 0" test $? -eq 0
check "status: each account has a section" bash -c "grep -q '^alice: imap://127.0.0.1' '$T/status' && grep -q '^bob: pop3://' '$T/status'"
check "status: a last success is recorded" bash -c "! grep -A1 '^alice:' '$T/status' | grep -q 'last success:  never'"
check "status: the messages fetched are counted" bash -c "grep -A6 '^bob:' '$T/status' | grep -q 'fetched:       3 by the last run, 3 in all'"
check "status: the last error of a failed run is shown" bash -c "grep -A6 '^alice:' '$T/status' | grep -q 'last error:    none'"
"$CORRAL" -c "$T/config.yml" status nobody > /dev/null 2>&1
check "status: an unknown account exits 64" test $? -eq 64

finish
