#!/usr/bin/env bash
# `corral run` against a real Dovecot, bounded in time: three accounts (IMAP
# with IDLE on two folders, IMAP polled, POP3 polled); push latency; the
# state directory's lock; `status --json` while it runs; Dovecot stopped
# and started again (backoff, then recovery); SIGHUP with a changed rule and
# with a broken config; sd_notify messages to a socket standing in for
# systemd; SIGTERM during a large fetch, then exactly once.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
DPID=
LISTENER=
trap 'cp "$T/run.log" /tmp/run.log 2>/dev/null; [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"
need_py socket

# The notify socket: every datagram, one per line ("|" for newlines).
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
LISTENER=$!
for _ in $(seq 100); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
[ -S "$T/notify.sock" ] || setup_fail "the notify socket listener did not start"

M=$T/Maildir
cat >"$T/rules.yml" <<'EOF'
- name: receipts
  if: {subject: "Receipt *"}
  then: {folder: Receipts}
EOF
# The push account idles per folder (notify: false): mail is dropped straight into
# Dovecot's Maildir, which Dovecot's IDLE sees and its NOTIFY does not.
write_run_config() { # FILE
	{
		fetch_account push alice imap implicit "$DOVECOT_IMAPS_PORT" true \
			"folders: [INBOX, Receipts]" "idle: true" "notify: false" "poll: 1h"
		fetch_account polled bob imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true" \
			"idle: false" "poll: 3s"
		fetch_account pop carol pop3 implicit "$DOVECOT_POP3S_PORT" false "poll: 3s"
	} | fetch_config "$1" "$M" "$T/state" "rules: $T/rules.yml"
}
write_run_config "$T/config.yml"
dovecot_maildir alice Receipts >/dev/null

# json ACCOUNT FIELD: one field of `corral status --json`.
json() {
	"$CORRAL" -c "$T/config.yml" status --json 2>/dev/null |
		python3 -c 'import json,sys; a=[x for x in json.load(sys.stdin) if x["account"]==sys.argv[1]][0]; print(a[sys.argv[2]])' "$1" "$2"
}
count() { message_files "$M" | wc -l; }
has_count() { [ "$(count)" -ge "$1" ]; }
# arrive USER FOLDER SECS: adds one message, prints how long it took to land (ms), or "never".
arrive() {
	local before t0 t1
	before=$(count)
	t0=$(date +%s%N)
	dovecot_add_messages "$1" "$2" 1 >/dev/null
	if wait_until "$3" has_count $((before + 1)); then
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000000))
	else
		echo never
	fi
}

CORRAL_IDLE_CHECK=3 NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 "$CORRAL" -c "$T/config.yml" run \
	>"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
check "the daemon starts and says READY=1 to systemd" wait_until 10 grep -q '^READY=1$' "$T/notify.log"
check "IDLE on both folders of the push account" \
	wait_until 15 sh -c "test \$(grep -c 'push: .*waiting for new mail (IDLE)' '$T/run.log') -ge 2"
check "status --json: the push account is idle, pushed" \
	wait_until 10 sh -c "test \"\$(\"$CORRAL\" -c '$T/config.yml' status --json | python3 -c 'import json,sys; a=json.load(sys.stdin)[0]; print(a[\"state\"], a[\"push\"])')\" = 'idle True'"

ms=$(arrive alice INBOX 5)
echo "# IDLE push latency, INBOX: $ms ms"
check "IDLE: a message appended to INBOX arrives within 2 s ($ms ms)" \
	test "$ms" != never -a "${ms/never/99999}" -lt 2000
ms=$(arrive alice Receipts 5)
echo "# IDLE push latency, Receipts: $ms ms"
check "IDLE: a message appended to the second folder arrives within 2 s ($ms ms)" \
	test "$ms" != never -a "${ms/never/99999}" -lt 2000
ms=$(arrive bob INBOX 8)
echo "# polled (poll: 3s) latency: $ms ms"
check "polled IMAP: a message arrives within the poll interval (3 s + 1 s slack: $ms ms)" \
	test "$ms" != never -a "${ms/never/99999}" -lt 4000
ms=$(arrive carol INBOX 8)
echo "# polled POP3 (poll: 3s) latency: $ms ms"
check "polled POP3: a message arrives within the poll interval (3 s + 1 s slack: $ms ms)" \
	test "$ms" != never -a "${ms/never/99999}" -lt 4000
check "status --json: the polled account says polling, with a next poll" \
	sh -c "test \"\$(\"$CORRAL\" -c '$T/config.yml' status --json | python3 -c 'import json,sys; a=json.load(sys.stdin)[1]; print(a[\"state\"] in (\"polling\",\"fetching\"), a[\"next_poll\"] > 0)')\" = 'True True'"
check "systemd hears a STATUS= line" grep -q '^STATUS=3 accounts' "$T/notify.log"
check "systemd hears WATCHDOG=1 (WatchdogSec=1s: at least every 0.5 s)" \
	test "$(grep -c '^WATCHDOG=1$' "$T/notify.log")" -ge 4

# ---- one instance per state directory ----
corral_run 10 -c "$T/config.yml" run
check "a second corral run exits 75 (got $RC)" test "$RC" -eq 75
check "a second corral run says which process holds the state" \
	grep -q "in use by corral run (pid $DPID)" "$T/err"
corral_run 10 -c "$T/config.yml" fetch
check "corral fetch while run holds the state exits 75 (got $RC)" test "$RC" -eq 75

# ---- Dovecot stopped, then started again ----
dovecot_stop
check "Dovecot down: the polled account backs off, status says so" \
	wait_until 15 sh -c "test \"\$(\"$CORRAL\" -c '$T/config.yml' status --json | python3 -c 'import json,sys; a=json.load(sys.stdin)[1]; print(a[\"state\"], a[\"failures\"] > 0, bool(a[\"last_error\"]))')\" = 'backing off True True'"
check "Dovecot down: the log says when it tries next" grep -q "polled: .*next try in" "$T/run.log"
"$CORRAL" -c "$T/config.yml" status >"$T/status.txt"
check "status (text) shows the state and the last error" \
	sh -c "grep -A3 '^polled:' '$T/status.txt' | grep -q 'state:         backing off'"
dovecot_start
before=$(count)
dovecot_add_messages bob INBOX 1 >/dev/null
check "Dovecot back: the polled account recovers and fetches (within 20 s)" \
	wait_until 20 has_count $((before + 1))
check "Dovecot back: a log line says it recovered" wait_until 5 grep -q "polled: recovered after" "$T/run.log"
check "Dovecot back: IDLE is restored on the push account" \
	wait_until 20 sh -c "test \"\$(\"$CORRAL\" -c '$T/config.yml' status --json | python3 -c 'import json,sys; a=json.load(sys.stdin)[0]; print(a[\"push\"])')\" = True"
ms=$(arrive alice INBOX 5)
check "Dovecot back: IDLE pushes again ($ms ms)" test "$ms" != never -a "${ms/never/99999}" -lt 2000

# ---- SIGHUP ----
cat >"$T/rules.yml" <<'EOF'
- name: receipts
  if: {subject: "Receipt *"}
  then: {folder: Receipts}
- name: tests
  if: {subject: "Test message *"}
  then: {folder: Tested}
EOF
kill -HUP "$DPID"
check "SIGHUP: the new config takes over" wait_until 15 grep -q "running with the new config" "$T/run.log"
check "SIGHUP: systemd hears RELOADING=1, then READY=1 again" \
	sh -c "grep -A1000 '^RELOADING=1$' '$T/notify.log' | grep -q '^READY=1$'"
before=$(message_files "$M/.Tested" | wc -l)
dovecot_add_messages bob INBOX 1 >/dev/null
check "SIGHUP: the changed rule files the next message into Tested" \
	wait_until 10 sh -c "test \$(find '$M/.Tested/new' '$M/.Tested/cur' -type f 2>/dev/null | wc -l) -gt $before"
cp "$T/config.yml" "$T/config.good"
printf 'accounts:\n  polled:\n    protocol: imapx\n' >>"$T/config.yml"
kill -HUP "$DPID"
check "SIGHUP with a broken config: its error as FILE:LINE:COL" \
	wait_until 10 grep -qE "config.yml:[0-9]+:[0-9]+: " "$T/run.log"
check "SIGHUP with a broken config: the old one keeps running" \
	grep -q "still running the one loaded before" "$T/run.log"
cp "$T/config.good" "$T/config.yml"
ms=$(arrive bob INBOX 8)
check "after the refused config, mail still arrives ($ms ms)" test "$ms" != never
check "the daemon is still the same process" kill -0 "$DPID"

# ---- SIGTERM during a large fetch ----
# Staged in a folder POP3 does not see, then moved in at once: the running
# daemon must not take some before they are all counted.
: >"$T/big.exp"
track_add "$T/big.exp" carol Staging 3000 20000
inbox=$(dovecot_maildir carol)
find "$(dovecot_maildir carol Staging)/new" -type f -exec mv -t "$inbox/new/" {} +
pop_fetching() { [ "$(json pop state)" = fetching ]; }
check "the large POP3 fetch starts (status: fetching)" wait_until 10 pop_fetching
sleep 0.3
t0=$SECONDS
kill -TERM "$DPID"
wait_until 15 sh -c "! kill -0 $DPID 2>/dev/null"
check "SIGTERM: the daemon exits within a few seconds ($((SECONDS - t0)) s)" \
	sh -c "! kill -0 $DPID 2>/dev/null && test $((SECONDS - t0)) -le 10"
rc=0
wait "$DPID" 2>/dev/null || rc=$?
check "SIGTERM: exit 0 (got $rc)" test "$rc" -eq 0
DPID=
check "SIGTERM: systemd hears STOPPING=1" grep -q '^STOPPING=1$' "$T/notify.log"
left=$(dovecot_count carol)
check "SIGTERM came in the middle of the fetch: $left of 3000 still on the server" \
	test "$left" -gt 0
corral_run 120 -c "$T/config.yml" fetch pop
check "after SIGTERM, corral fetch completes the account (got $RC)" test "$RC" -eq 0
exactly_once "$T/big.exp" "$M" # the Maildir holds the other accounts' messages too
check "after SIGTERM: all 3000 messages exactly once (lost $FETCH_LOST, duplicated $FETCH_DUP)" \
	test "$FETCH_LOST" -eq 0 -a "$FETCH_DUP" -eq 0
# ---- two SIGTERMs: at once, still nothing lost ----
: >"$T/big2.exp"
track_add "$T/big2.exp" carol INBOX 3000 20000
CORRAL_IDLE_CHECK=3 "$CORRAL" -c "$T/config.yml" run >"$T/run2.out" 2>>"$T/run.log" </dev/null &
DPID=$!
check "the large POP3 fetch starts again" wait_until 20 pop_fetching
kill -TERM "$DPID"
sleep 0.05
kill -TERM "$DPID" 2>/dev/null # unless the first was enough
t0=$SECONDS
wait_until 5 sh -c "! kill -0 $DPID 2>/dev/null"
check "SIGTERM twice: the daemon exits at once ($((SECONDS - t0)) s)" sh -c "! kill -0 $DPID 2>/dev/null"
DPID=
corral_run 120 -c "$T/config.yml" fetch pop
check "after SIGTERM twice, corral fetch completes the account (got $RC)" test "$RC" -eq 0
exactly_once "$T/big2.exp" "$M"
check "after SIGTERM twice: all 3000 messages exactly once (lost $FETCH_LOST, duplicated $FETCH_DUP)" \
	test "$FETCH_LOST" -eq 0 -a "$FETCH_DUP" -eq 0
check "the daemon's log has no sanitizer report" \
	sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/run.log'"
sanitizer_check
finish
