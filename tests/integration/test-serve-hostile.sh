#!/usr/bin/env bash
# `corral serve` against hostile input (serve-hostile.py): garbage, a 10 MB
# line, huge literals (synchronizing and LITERAL+), unknown commands and
# commands in the wrong state, 10000 nested lists, cut connections, 1000
# pipelined commands, IDLE then a disconnect, NULs, overlong tags, sequence
# numbers past 2^32, 1000 keywords, login floods. Each is answered BAD, NO
# or BYE; after each a new client still logs in, the session's RSS stays
# bounded and the log has no sanitizer report; a client connected
# throughout still works at the end. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
case $CORRAL in /*) ;; *) CORRAL=$PWD/$CORRAL ;; esac
mktest
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"' EXIT
need_py socket threading
[ -x "$CORRAL" ] || setup_fail "no corral binary at $CORRAL"
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

M=$T/Maildir
mkdir -p "$M/cur" "$M/new" "$M/tmp" || setup_fail "making the Maildir"
for i in 1 2 3; do
	printf 'From: a@example.org\nSubject: message %s\nMessage-ID: <%s@hostile.test>\n\nbody %s\n' \
		"$i" "$i" "$i" >"$M/new/170000000$i.M$i.hostile"
done
hash=$(printf 'sesame\n' | "$CORRAL" passwd) || setup_fail "corral passwd"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_config "$T/config.yml" <<YAML
maildir: $M
state: $T/state
server:
  listen: [127.0.0.1:$port]
  users:
    me: {password_hash: "$hash"}
YAML
"$CORRAL" -c "$T/config.yml" serve >"$T/serve.out" 2>"$T/serve.log" </dev/null &
SPID=$!
wait_until 10 grep -q "listening on 127.0.0.1:$port" "$T/serve.log" || setup_fail "corral serve did not listen"

timeout 150 python3 "$here/serve-hostile.py" "$port" me sesame "$SPID" "$T/serve.log" "$M" >"$T/py.out" 2>&1
rc=$?
while IFS=$'\t' read -r verdict name seen; do
	case $verdict in
	PASS) ok "$name" ;;
	FAIL) not_ok "$name" "$seen" ;;
	*) echo "# $verdict $name $seen" ;;
	esac
done <"$T/py.out"
check "serve-hostile.py ran to its end (exit 0)" test "$rc" -eq 0
n=$(grep -cE '^(PASS|FAIL)' "$T/py.out")
check "serve-hostile.py made all its checks ($n)" test "$n" -ge 51

check "corral serve still runs" kill -0 "$SPID"
kill "$SPID"
wait_until 5 sh -c "! kill -0 $SPID 2>/dev/null"
SPID=
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/serve.log"; then
	not_ok "corral serve's log has no sanitizer report" \
		"$(grep -m 3 -E 'ERROR|runtime error|#[0-3] ' "$T/serve.log" | tr '\n' ' ')"
else
	ok "corral serve's log has no sanitizer report"
fi
finish
