#!/usr/bin/env bash
# `corral run` and connections that die: an IDLE connection that a proxy
# stops forwarding (a NAT that forgot it, a suspended laptop: no FIN, no
# RST) is noticed within CORRAL_IDLE_CHECK + the account's timeout and
# opened again, and mail pushed after that arrives; a server that does not
# offer IDLE is polled instead, with one log line; under systemd
# (JOURNAL_STREAM) the lines carry journald priorities. Real Dovecot, bounded.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
DPID=
PROXY=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

python3 "$here/cutproxy.py" --target "$DOVECOT_IMAP_PORT" --port-file "$T/proxy.port" \
	--plan "$T/plan" --log "$T/proxy.log" --stall-file "$T/stall" &
PROXY=$!
for _ in $(seq 100); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
[ -s "$T/proxy.port" ] || setup_fail "cutproxy.py did not start"

M=$T/Maildir
# IDLE itself (Dovecot offers NOTIFY too: test-run-notify.sh).
fetch_account cut alice imap off "$(cat "$T/proxy.port")" true "allow_plaintext: true" \
	"idle: true" "notify: false" "poll: 1h" "timeout: 3s" |
	fetch_config "$T/config.yml" "$M" "$T/state"

idles() { grep -c 'cut: INBOX: waiting for new mail (IDLE)' "$T/run.log"; }
count() { message_files "$M" | wc -l; }

CORRAL_IDLE_CHECK=3 "$CORRAL" -c "$T/config.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
check "IDLE through the proxy" wait_until 15 sh -c "test \$(grep -c 'cut: INBOX: waiting for new mail' '$T/run.log') -ge 1"
before=$(idles)
t0=$(date +%s%N)
touch "$T/stall"
check "a stalled IDLE connection is noticed and opened again (within 15 s)" \
	wait_until 15 sh -c "test \$(grep -c 'cut: INBOX: waiting for new mail' '$T/run.log') -gt $before"
t1=$(date +%s%N)
echo "# a dead IDLE connection noticed and replaced in $(((t1 - t0) / 1000000)) ms (CORRAL_IDLE_CHECK=3, timeout: 3s)"
check "the log says what happened to the dead connection" grep -q "cut: INBOX: IDLE: .*no answer within 3 s" "$T/run.log"
rm -f "$T/stall"
n=$(count)
dovecot_add_messages alice INBOX 1 >/dev/null
check "after the new connection, pushed mail arrives within 2 s" \
	wait_until 2 sh -c "test \$(cd '$M' && find . -path '*/new/*' -type f | wc -l) -gt $n"
kill -TERM "$DPID"
wait_until 10 sh -c "! kill -0 $DPID 2>/dev/null"
DPID=

# A server without IDLE: polled, with one log line.
dovecot_stop
printf 'protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS\n}\n' \
	>>"$DOVECOT_DIR/dovecot.conf"
dovecot_start
fetch_account noidle bob imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true" \
	"idle: true" "poll: 2s" |
	fetch_config "$T/noidle.yml" "$T/M2" "$T/state2"
# Its stderr stands in for journald's stream: JOURNAL_STREAM names it.
: >"$T/run2.log"
CORRAL_IDLE_CHECK=3 JOURNAL_STREAM=$(stat -c '%d:%i' "$T/run2.log") \
	"$CORRAL" -c "$T/noidle.yml" run >"$T/run.out" 2>>"$T/run2.log" </dev/null &
DPID=$!
check "a server without IDLE: one log line says it is polled instead" \
	wait_until 15 grep -q "^<6>noidle: INBOX: .*does not offer IDLE; polling every 2 s instead" "$T/run2.log"
check "JOURNAL_STREAM is stderr: every line has a journald priority, no 'corral:' prefix" \
	sh -c "! grep -qv '^<[3467]>' '$T/run2.log'"
dovecot_add_messages bob INBOX 1 >/dev/null
check "a server without IDLE: mail arrives by polling (within 4 s)" \
	wait_until 4 sh -c "test \$(find '$T/M2/new' -type f 2>/dev/null | wc -l) -ge 1"
sleep 3
check "a server without IDLE: said once, not again" \
	test "$(grep -c 'does not offer IDLE' "$T/run2.log")" -eq 1
kill -TERM "$DPID"
wait_until 10 sh -c "! kill -0 $DPID 2>/dev/null"
DPID=
check "the daemons' logs have no sanitizer report" \
	sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/run.log' '$T/run2.log'"
finish
