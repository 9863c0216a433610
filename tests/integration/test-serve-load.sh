#!/usr/bin/env bash
# run-all: alone (loads both cores itself, or measures time under load)
# `corral serve` under load: 20 sessions at once (serve-load.py, one
# process each) SELECT, IDLE, FETCH, STORE, COPY, MOVE, APPEND, EXPUNGE,
# SEARCH, LIST and STATUS for 20 s while `corral fetch` sorts new messages
# from a real Dovecot into the same folders, run after run. Every answer is
# checked against the session's own view; at the end every view is the
# disk's, every message is there as often as fetch and the clients say, the
# log has no sanitizer report and only the listener is left. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
SPID=
LPID=
trap '[ -n "$LPID" ] && kill "$LPID" 2>/dev/null; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
need_py socket multiprocessing json
need ps
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

SECS=20
CLIENTS=20
M=$T/Maildir
hash=$(printf 'sesame\n' | "$CORRAL" passwd) || setup_fail "corral passwd"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/rules.yml" <<'EOF'
- name: ones
  if: {subject: 'Test message *1'}
  then: {folder: Work}
- name: twos
  if: {subject: 'Test message *2'}
  then: {folder: Lists}
EOF
fetch_account load alice imap starttls "$DOVECOT_IMAP_PORT" true |
	fetch_config "$T/config.yml" "$M" "$T/state" "rules: $T/rules.yml" \
		"server:" "  listen: [127.0.0.1:$port]" "  users:" "    me: {password_hash: \"$hash\"}"

# A first delivery, so that the folders hold mail before the clients come.
track_add "$T/expected" alice INBOX 40
corral_run 60 -c "$T/config.yml" fetch
[ "$RC" -eq 0 ] || setup_fail "the first corral fetch (exit $RC): $(head -c 300 "$T/err")"
[ -d "$M/.Work/cur" ] && [ -d "$M/.Lists/cur" ] || setup_fail "the rules made no Work and Lists folders"

"$CORRAL" -c "$T/config.yml" serve >"$T/serve.out" 2>"$T/serve.log" </dev/null &
SPID=$!
wait_until 10 grep -q "listening on 127.0.0.1:$port" "$T/serve.log" || setup_fail "corral serve did not listen"

timeout 200 python3 "$here/serve-load.py" "$port" me sesame "$M" "$T/load" "$SECS" "$CLIENTS" \
	"$T/fetch.done" "$T/expected" >"$T/py.out" 2>&1 &
LPID=$!

# Meanwhile: new messages at Dovecot, and corral fetch sorting them in.
runs=0
fetch_bad=""
end=$((SECONDS + SECS - 3))
while [ $SECONDS -lt $end ]; do
	sleep 1
	track_add "$T/expected" alice INBOX 12
	corral_run 60 -c "$T/config.yml" fetch
	runs=$((runs + 1))
	[ "$RC" -eq 0 ] || fetch_bad="$fetch_bad run $runs: exit $RC $(head -c 200 "$T/err" | tr '\n' ' ')"
done
: >"$T/fetch.done"
wait "$LPID"
rc=$?
LPID=
check "corral fetch ran $runs times during the load, each exit 0" test "$runs" -ge 3 -a -z "$fetch_bad"
[ -n "$fetch_bad" ] && echo "# $fetch_bad"

while IFS=$'\t' read -r verdict name seen; do
	case $verdict in
	PASS) ok "$name" ;;
	FAIL) not_ok "$name" "$seen" ;;
	*) echo "# $verdict $name $seen" ;;
	esac
done <"$T/py.out"
check "serve-load.py ran to its end (exit 0)" test "$rc" -eq 0
n=$(grep -cE '^(PASS|FAIL)' "$T/py.out")
check "serve-load.py made all its checks ($n)" test "$n" -ge 14

sessions() { ps -o pid= --ppid "$SPID" | wc -l; }
wait_until 10 test "$(sessions)" -eq 0
check "after the clients leave only the listener is left ($(sessions) sessions)" test "$(sessions)" -eq 0
check "corral serve still runs" kill -0 "$SPID"
kill "$SPID"
wait_until 5 sh -c "! kill -0 $SPID 2>/dev/null"
SPID=
grep -E 'warn|error' "$T/serve.log" | sort | uniq -c | sort -rn | head -5 | sed 's/^/# serve log: /'
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/serve.log"; then
	not_ok "corral serve's log has no sanitizer report" \
		"$(grep -m 3 -E 'ERROR|runtime error|#[0-3] ' "$T/serve.log" | tr '\n' ' ')"
else
	ok "corral serve's log has no sanitizer report"
fi
sanitizer_check
finish
