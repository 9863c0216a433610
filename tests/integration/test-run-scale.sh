#!/usr/bin/env bash
# `corral run` with 50 accounts on 127.0.0.1: 49 on a real Dovecot and one
# on a server that accepts and never answers. The 49 deliver while the
# hanging one waits out its timeout; max_connections keeps Dovecot from
# refusing anyone; then at least 500 poll cycles with no growth in the
# daemon's open descriptors or memory. Prints the daemon's RSS. Bounded:
# at most about 2 minutes.
#
# Memory is measured on the plain build (the corral people run): under ASan
# the RSS grows with the sanitizer's quarantine of freed memory. The other
# daemon tests (test-run.sh, test-run-idle.sh) run under ASan.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
CORRAL=$(cd "$here/../.." && pwd)/corral
[ -x "$CORRAL" ] || setup_fail "the plain build ($CORRAL) is not there: make all"
mktest
fetch_fast_python
DPID=
HANG=
trap 'cp "$T/run.log" /tmp/scale.log 2>/dev/null; [ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; [ -n "$HANG" ] && kill "$HANG" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# A server that accepts connections and never says anything.
python3 - "$T/hang.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
held = []
while True:
    c, _ = s.accept()
    held.append(c)
PY
HANG=$!
for _ in $(seq 100); do [ -s "$T/hang.port" ] && break; sleep 0.05; done
[ -s "$T/hang.port" ] || setup_fail "the hanging server did not start"

for u in alice bob carol; do dovecot_add_messages "$u" INBOX 1 >/dev/null; done
M=$T/Maildir
{
	fetch_account hang alice imap off "$(cat "$T/hang.port")" true "allow_plaintext: true" \
		"idle: false" "poll: 1s" "timeout: 10s"
	users=(alice bob carol)
	for i in $(seq 1 49); do
		fetch_account "a$i" "${users[$((i % 3))]}" imap off "$DOVECOT_IMAP_PORT" true \
			"allow_plaintext: true" "idle: false" "poll: 1s"
	done
} | fetch_config "$T/config.yml" "$M" "$T/state"

delivered() { [ "$(find "$M/new" -type f 2>/dev/null | wc -l)" -ge 49 ]; }
cycles() { grep -c ': INBOX: 0 new' "$T/run.log"; }
# The daemon's open descriptors less one report pipe per running child (a
# fetch's pipe comes and goes with it): the most frequent value over 30
# samples in 3 s.
fds() {
	local n k
	for _ in $(seq 30); do
		n=$(ls /proc/"$DPID"/fd | wc -l)
		k=$(pgrep -c -P "$DPID")
		echo $((n - k))
		sleep 0.1
	done | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}'
}
rss() { awk '/^VmRSS/ {print $2}' /proc/"$DPID"/status; }

"$CORRAL" -c "$T/config.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
t0=$SECONDS
check "49 accounts deliver within 10 s while one server hangs" wait_until 10 delivered
echo "# 49 accounts delivered in $((SECONDS - t0)) s"
check "the hanging account does not fetch, and nothing else failed" \
	sh -c "test \$(find '$M/new' -type f | wc -l) -eq 49 && ! grep -v '^corral: error: hang:' '$T/run.log' | grep -q 'error:'"
check "Dovecot never refused a connection (max_connections 4 of its 10)" \
	sh -c "! grep -q 'Maximum number of connections' '$DOVECOT_LOG'"
wait_until 30 sh -c "test \$(grep -c ': INBOX: 0 new' '$T/run.log') -ge 100"
fd0=$(fds)
rss0=$(rss)
c0=$(cycles)
wait_until 90 sh -c "test \$(grep -c ': INBOX: 0 new' '$T/run.log') -ge $((c0 + 500))"
c1=$(cycles)
fd1=$(fds)
rss1=$(rss)
echo "# poll cycles $c0 -> $c1; open descriptors $fd0 -> $fd1; RSS $rss0 -> $rss1 kB (50 accounts)"
check "at least 500 poll cycles ($((c1 - c0)))" test $((c1 - c0)) -ge 500
check "no descriptor growth over them ($fd0 -> $fd1)" test "$fd1" -le "$fd0"
check "no memory growth over them ($rss0 -> $rss1 kB; at most 256 kB allowed)" \
	test $((rss1 - rss0)) -le 256
check "the hanging account is backing off, in status" \
	sh -c "\"$CORRAL\" -c '$T/config.yml' status --json | python3 -c 'import json,sys; a=json.load(sys.stdin)[0]; sys.exit(0 if a[\"state\"] in (\"backing off\", \"fetching\") and a[\"failures\"] >= 1 else 1)'"
kill -TERM "$DPID"
wait_until 15 sh -c "! kill -0 $DPID 2>/dev/null"
check "SIGTERM with a fetch hanging: the daemon exits within 15 s" sh -c "! kill -0 $DPID 2>/dev/null"
DPID=
check "the daemon's log has no sanitizer report" \
	sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/run.log'"
finish
