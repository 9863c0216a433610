#!/usr/bin/env bash
# Server response codes decide the exit status (src/net/respcode.c), against
# a real Dovecot: a login refused with IMAP's [LIMIT] (too many connections
# from one user and address) or POP3's [IN-USE] (the maildrop is locked by
# another session) is temporary: exit 75, nothing lost, and the next run,
# once the other sessions are gone, delivers every message once. A wrong
# password stays a refused login (77).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
HOLDER=
trap '[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_setup >/dev/null
# Two IMAP sessions per user and address at most; POP3 sessions lock the maildrop.
cat >>"$DOVECOT_DIR/dovecot.conf" <<'CONF'
protocol imap {
  mail_max_userip_connections = 2
}
pop3_lock_session = yes
CONF
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# hold PROTO USER N: N logged-in sessions that stay until killed.
hold() {
	local pw=DOVECOT_PASS_$2
	rm -f "$T/held"
	/usr/bin/python3 - "$1" "$2" "${!pw}" "$3" "$DOVECOT_IMAP_PORT" "$DOVECOT_POP3_PORT" \
		"$T/held" <<'PY' &
import imaplib, os, poplib, sys, time
proto, user, pw, n, iport, pport, ready = sys.argv[1:8]
held = []
for _ in range(int(n)):
    if proto == "imap":
        m = imaplib.IMAP4("127.0.0.1", int(iport)); m.login(user, pw); m.select("INBOX")
    else:
        m = poplib.POP3("127.0.0.1", int(pport)); m.user(user); m.pass_(pw); m.stat()
    held.append(m)
open(ready, "w").close()
time.sleep(120)
PY
	HOLDER=$!
	for ((i = 0; i < 100; i++)); do [ -e "$T/held" ] && return 0; sleep 0.1; done
	setup_fail "$1 sessions for $2 were not opened"
}
release() {
	kill "$HOLDER" 2>/dev/null
	wait "$HOLDER" 2>/dev/null
	HOLDER=
	sleep 0.5 # Dovecot notices the closed sessions
}

for c in "imap alice imap off $DOVECOT_IMAP_PORT LIMIT 2" "pop3 carol pop3 off $DOVECOT_POP3_PORT IN-USE 1"; do
	read -r name user proto tls port code sessions <<<"$c"
	: >"$T/$name.exp"
	track_add "$T/$name.exp" "$user" INBOX 15
	fetch_account "$name" "$user" "$proto" "$tls" "$port" false "allow_plaintext: true" |
		fetch_config "$T/$name.yml" "$T/$name/Maildir" "$T/$name/state"
	hold "$proto" "$user" "$sessions"
	corral_run 60 -c "$T/$name.yml" fetch
	check "$proto [$code]: exit 75 while the other sessions hold on (got $RC)" test "$RC" -eq 75
	check "$proto [$code]: the error quotes what the server said" grep -q "\[$code\]" "$T/err"
	check "$proto [$code]: nothing was deleted on the server" \
		test "$(dovecot_count "$user")" -eq 15
	release
	corral_run 60 -c "$T/$name.yml" fetch
	check "$proto [$code]: once they are gone, the next run exits 0 (got $RC)" test "$RC" -eq 0
	if exactly_once "$T/$name.exp" "$T/$name/Maildir"; then
		ok "$proto [$code]: all 15 messages delivered once"
	else
		not_ok "$proto [$code]: lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
	fi
done

# The connection cap: 8 accounts of one user, whose server allows 2 IMAP
# sessions per user and address; `max_connections: 2` keeps within it.
: >"$T/cap.exp"
track_add "$T/cap.exp" bob INBOX 200 20000
for i in 1 2 3 4 5 6 7 8; do
	fetch_account "cap$i" bob imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true"
done | fetch_config "$T/cap.yml" "$T/cap/Maildir" "$T/cap/state" "max_connections: 2"
log_before=$(wc -l <"$DOVECOT_LOG")
corral_run 120 -c "$T/cap.yml" fetch
check "8 accounts, 2 sessions allowed, max_connections: 2: every account fetches (got $RC)" \
	test "$RC" -eq 0
check "8 accounts: each delivered its 200 messages" \
	test "$(find "$T/cap/Maildir/new" -type f | wc -l)" -eq 1600
check "8 accounts: the server never refused a connection" \
	sh -c "! tail -n +$((log_before + 1)) '$DOVECOT_LOG' | grep -q 'Maximum number of connections'"

# A wrong password is still a refused login.
fetch_account wrong alice imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true" |
	sed "s/password: .*/password: 'not-the-password'/" |
	fetch_config "$T/wrong.yml" "$T/wrong/Maildir" "$T/wrong/state"
corral_run 60 -c "$T/wrong.yml" fetch
check "a wrong password exits 77 (got $RC)" test "$RC" -eq 77
sanitizer_check
finish
