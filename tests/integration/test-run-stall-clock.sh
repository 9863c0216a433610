#!/bin/bash
# `corral run` when time and servers misbehave, bounded to about two minutes:
#   - a server that trickles (cutproxy.py sends its bytes one at a time, a
#     quarter second apart, on every connection): another account on a
#     healthy server keeps getting its mail within its poll interval, and
#     SIGTERM stops the daemon within a few seconds all the same;
#   - the wall clock stepping back an hour, then forward a day, while the
#     daemon runs (libfaketime, its offset changed through a file; the
#     monotonic clock goes on as the kernel's does): every poll still comes
#     in time and nothing is lost or fetched twice.
# Accounts are IMAP and POP3 with keep: false, polled every 2 s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -r "$FAKETIME_LIB" ] || setup_fail "libfaketime is missing (make check installs it: contrib/install-deps.sh check)"
mktest
fetch_fast_python
DPID=
PROXY=
cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null
	dovecot_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"
M=$T/Maildir

delivered() { message_files "$M" | wc -l; }
has_delivered() { [ "$(delivered)" -ge "$1" ]; }
servers_empty() { [ $(($(dovecot_count bob) + $(dovecot_count carol))) -eq 0 ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# add_known EXP USER N: N messages into USER's INBOX, each renamed into new/
# whole, their Message-IDs appended to EXP first (the daemon may take them
# at once: track_add, which lists the folder after adding, would miss them).
ADDED=0
add_known() {
	local dir f i
	dir=$(dovecot_maildir "$2")
	mkdir -p "$T/gen"
	for ((i = 0; i < $3; i++)); do
		ADDED=$((ADDED + 1))
		echo "<$ADDED.$$.run@corral.test>" >>"$1"
		f=$T/gen/$(date +%s).M${ADDED}P$$.corraltest
		printf 'From: a@example.org\nTo: b@example.com\nSubject: run %d\nMessage-ID: <%d.%d.run@corral.test>\n\nbody %d\n' \
			"$ADDED" "$ADDED" "$$" "$ADDED" >"$f"
		chown nobody: "$f"
		mv "$f" "$dir/new/"
	done
}
# arrive EXP USER N SECS: adds N messages to USER's INBOX; whether all of them
# are delivered within SECS; the milliseconds it took in $TOOK.
arrive() {
	local before t0
	before=$(delivered)
	t0=$(date +%s%N)
	add_known "$1" "$2" "$3"
	wait_until "$4" has_delivered $((before + $3))
	local rc=$?
	TOOK=$((($(date +%s%N) - t0) / 1000000))
	return $rc
}
# stop_daemon: SIGTERM; its exit status in STOP_RC, the milliseconds in STOP_MS.
stop_daemon() {
	local t0
	t0=$(date +%s%N)
	kill -TERM "$DPID"
	wait_until 15 gone "$DPID"
	STOP_MS=$((($(date +%s%N) - t0) / 1000000))
	STOP_RC=0
	wait "$DPID" || STOP_RC=$?
	DPID=
}

# ---- a trickling server next to a healthy one ----
: >"$T/plan"
for _ in $(seq 100); do echo "trickle down 0.25"; done >"$T/plan"
python3 "$here/cutproxy.py" --target "$DOVECOT_IMAP_PORT" --port-file "$T/port" \
	--plan "$T/plan" --log "$T/proxy.log" &
PROXY=$!
wait_until 5 test -s "$T/port" || setup_fail "cutproxy.py listens"
exp=$T/expected.stall
: >"$exp"
track_add "$exp" alice INBOX 3
{
	fetch_account slow alice imap off "$(cat "$T/port")" false "allow_plaintext: true" \
		"poll: 2s" "idle: false" "timeout: 60s"
	fetch_account fast bob imap starttls "$DOVECOT_IMAP_PORT" false "poll: 2s" "idle: false"
	fetch_account pop carol pop3 implicit "$DOVECOT_POP3S_PORT" false "poll: 2s"
} | fetch_config "$T/stall.yml" "$M" "$T/state"
"$CORRAL" -c "$T/stall.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
check "stall: the slow account is being served a byte at a time" \
	wait_until 10 sh -c "test \"\$(head -1 '$T/plan')\" = 'trickle down 0.25' && test \$(wc -l <'$T/plan') -lt 100"
for round in 1 2 3; do
	if arrive "$exp" bob 5 8; then
		ok "stall: round $round: the healthy IMAP account's 5 arrive in $TOOK ms"
	else
		not_ok "stall: round $round: the healthy IMAP account's 5 arrive within 8 s" "$(tail -3 "$T/run.log")"
	fi
	if arrive "$exp" carol 5 8; then
		ok "stall: round $round: the healthy POP3 account's 5 arrive in $TOOK ms"
	else
		not_ok "stall: round $round: the healthy POP3 account's 5 arrive within 8 s" "$(tail -3 "$T/run.log")"
	fi
done
check "stall: the slow account has not finished (its server is still trickling)" \
	test "$(dovecot_count alice)" -eq 3
stop_daemon
check "stall: SIGTERM stops the daemon within 5 s (took $STOP_MS ms)" test "$STOP_MS" -le 5000
check "stall: it exits 0" test "$STOP_RC" -eq 0
kill "$PROXY" 2>/dev/null
PROXY=
# The slow account's mail, without the proxy: nothing lost, nothing twice.
sed -i "s/port: $(cat "$T/port")/port: $DOVECOT_IMAP_PORT/" "$T/stall.yml"
corral_run 60 -c "$T/stall.yml" fetch
check "stall: a fetch without the trickle then exits 0" test "$RC" -eq 0
if exactly_once "$exp" "$M"; then
	ok "stall: $FETCH_DELIVERED messages, lost 0, duplicated 0"
else
	not_ok "stall" "lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
fi
check "stall: the servers are empty" test "$(dovecot_count alice)" -eq 0
[ -f "$T/run.log" ] && cat "$T/run.log" >>"$T/all-run.log"

# ---- the wall clock steps back an hour, then forward a day ----
exp2=$T/expected.clock
cat "$exp" >"$exp2"
# Plain connections: the test certificate is minutes old, and an hour back
# it is not yet valid (a refused TLS handshake, retried an hour later).
{
	fetch_account imap bob imap off "$DOVECOT_IMAP_PORT" false "allow_plaintext: true" \
		"poll: 2s" "idle: false"
	fetch_account pop carol pop3 off "$DOVECOT_POP3_PORT" false "allow_plaintext: true" \
		"poll: 2s"
} | fetch_config "$T/clock.yml" "$M" "$T/state"
echo "+0" >"$T/faketime"
# ASan wants to be first among the libraries; libfaketime comes before it here.
LD_PRELOAD=$FAKETIME_LIB FAKETIME_TIMESTAMP_FILE=$T/faketime FAKETIME_NO_CACHE=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	"$CORRAL" -c "$T/clock.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
if arrive "$exp2" bob 5 8; then
	ok "clock: before the steps, 5 arrive in $TOOK ms"
else
	not_ok "clock: before the steps, 5 arrive within 8 s" "$(tail -3 "$T/run.log")"
fi
# stamped FROM TO: delivered files whose names say a time in [FROM, TO] (s).
stamped() {
	message_files "$M" | sed 's|.*/||' | awk -F. -v a="$1" -v b="$2" '$1 >= a && $1 <= b' | wc -l
}
for step in -1h:-3600 +1d:86400; do
	echo "${step%:*}" >"$T/faketime"
	sleep 1
	for round in 1 2; do
		if arrive "$exp2" bob 5 8 && arrive "$exp2" carol 5 8; then
			ok "clock: stepped ${step%:*}: round $round: the 10 arrive within the poll intervals"
		else
			not_ok "clock: stepped ${step%:*}: round $round: the 10 arrive within 8 s each" \
				"$(tail -3 "$T/run.log")"
		fi
	done
	at=$(($(date +%s) + ${step#*:}))
	check "clock: stepped ${step%:*}: the daemon lives in it (20 files named then)" \
		test "$(stamped $((at - 120)) $((at + 5)))" -ge 20
done
check "clock: the daemon still runs" kill -0 "$DPID"
check "clock: the servers are emptied" wait_until 10 servers_empty
stop_daemon
check "clock: SIGTERM stops it with exit 0 within 5 s (took $STOP_MS ms)" \
	test "$STOP_RC" -eq 0 -a "$STOP_MS" -le 5000
if exactly_once "$exp2" "$M"; then
	ok "clock: $FETCH_DELIVERED messages, lost 0, duplicated 0"
else
	not_ok "clock" "lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
fi
cat "$T/run.log" >>"$T/all-run.log"
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/all-run.log"; then
	cat "$T/all-run.log" >>"$T/sanitizer.log"
fi
dovecot_alive_check
sanitizer_check
finish
