#!/usr/bin/env bash
# POP3 servers that Dovecot cannot stand in for, played by pop3-quirks.py:
# a greeting with an APOP timestamp and a SASL CRAM-MD5 the server cannot
# check, where only USER/PASS works (GNU Mailutils), and UTF8 announced in
# CAPA, without which 8-bit headers are replaced by a notice (Courier).
# corral logs in with USER/PASS after the refused mechanism, never with APOP,
# and says UTF8 before the login when CAPA announces it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"
DOVECOT_PASS_quser='s3cret pass'

# serve NAME [--utf8]: a quirky server over the spool $T/NAME.spool; $PORT.
serve() {
	local name=$1
	shift
	mkdir -p "$T/$name.spool"
	printf 'From: a@example.org\r\nSubject: plain\r\nMessage-ID: <ascii.%s@quirks.test>\r\n\r\nascii body\r\n.leading dot\r\n' \
		"$name" >"$T/$name.spool/1"
	printf 'From: b@example.org\r\nSubject: Gr\303\274\303\237e aus K\303\266ln\r\nMessage-ID: <utf8.%s@quirks.test>\r\n\r\nbody\r\n' \
		"$name" >"$T/$name.spool/2"
	python3 "$here/pop3-quirks.py" --port-file "$T/$name.port" --spool "$T/$name.spool" \
		--user quser --password "$DOVECOT_PASS_quser" --log "$T/$name.log" "$@" &
	pids+=($!)
	for _ in $(seq 50); do
		[ -s "$T/$name.port" ] && break
		sleep 0.1
	done
	[ -s "$T/$name.port" ] || setup_fail "pop3-quirks.py did not start"
	PORT=$(cat "$T/$name.port")
}

# fetch NAME [LINE...]: one POP3 account on $PORT, plain text, deleting.
fetch() {
	local name=$1
	shift
	fetch_account "$name" quser pop3 off "$PORT" false "allow_plaintext: true" "$@" |
		fetch_config "$T/$name.yml" "$T/$name/Maildir" "$T/$name/state"
	corral_run 30 -c "$T/$name.yml" -vv fetch
}

serve utf8 --utf8
fetch utf8
check "APOP greeting, CRAM-MD5 uncheckable, USER works: logs in and fetches (got $RC)" \
	test "$RC" -eq 0
check "it tried CRAM-MD5, then USER/PASS; never APOP" \
	test "$(grep -E '^(AUTH|USER|PASS|APOP)' "$T/utf8.log" | cut -d' ' -f1-2 | tr '\n' ' ')" = \
	"AUTH CRAM-MD5 USER quser PASS "
check "UTF8 was said before the login" \
	test "$(grep -nE '^(UTF8|USER)' "$T/utf8.log" | head -1 | cut -d: -f2)" = UTF8
check "both messages delivered and deleted on the server" \
	test "$(find "$T/utf8/Maildir/new" -type f | wc -l)/$(find "$T/utf8.spool" -type f | wc -l)" = 2/0
check "the 8-bit header arrived as it was sent" \
	grep -rq "$(printf 'Subject: Gr\303\274\303\237e aus K\303\266ln')" "$T/utf8/Maildir/new"
check "no 'Cannot display Unicode' notice" \
	sh -c "! grep -rq 'Cannot display Unicode' '$T/utf8/Maildir/new'"

serve plain
fetch plain
check "a server without UTF8 in CAPA: no UTF8 command (got $RC)" \
	sh -c "test $RC -eq 0 && ! grep -q '^UTF8' '$T/plain.log'"
check "(that server hands out its notice instead of the 8-bit header, as Courier does)" \
	grep -rq 'Cannot display Unicode' "$T/plain/Maildir/new"

serve wrong --utf8
DOVECOT_PASS_quser=wrong fetch wrong
check "a wrong password: 77 (got $RC)" test "$RC" -eq 77
check "a wrong password: the error names what was tried and quotes the server" \
	grep -q "login refused (tried CRAM-MD5, USER) (server said: -ERR \[AUTH\] Bad login)" "$T/err"
check "a wrong password: nothing fetched, nothing deleted" \
	test "$(find "$T/wrong.spool" -type f | wc -l)" -eq 2

serve named
fetch named "auth: apop"
check "auth: apop is tried because it is named, and only it: 77 (got $RC)" \
	sh -c "test $RC -eq 77 && test \"\$(grep -cE '^(APOP|AUTH|USER)' '$T/named.log')\" = 1"
sanitizer_check
finish
