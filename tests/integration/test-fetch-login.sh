#!/usr/bin/env bash
# Login mechanisms as mail clients choose them, against a real Dovecot whose
# passwords are stored hashed (SHA512-CRYPT), so that it lists CRAM-MD5 but
# cannot check it (libcurl's own first choice). corral prefers PLAIN, tries
# the next mechanism the server offered when one is refused (at most two
# refusals), says which it tried, and tries only the one the user named.
# POP3: USER/PASS as the last resort and by name (auth: user), APOP only by
# name (auth: apop), against a Dovecot whose greeting offers APOP.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
need doveadm
mktest
fetch_fast_python
trap 'dovecot_cleanup; rm -rf "$T"' EXIT
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# start_with MECHANISMS [clear]: a Dovecot offering them, passwords hashed
# (or kept in the clear, as APOP and CRAM-MD5 need).
start_with() {
	dovecot_cleanup
	dovecot_setup >/dev/null
	local u pw hash
	if [ "${2:-}" = clear ]; then
		sed -i "s/^auth_mechanisms = .*/auth_mechanisms = $1/" "$DOVECOT_DIR/dovecot.conf"
		dovecot_start
		return
	fi
	for u in $DOVECOT_USERS; do
		pw=DOVECOT_PASS_$u
		hash=$(doveadm pw -s SHA512-CRYPT -p "${!pw}") || setup_fail "doveadm pw"
		python3 - "$DOVECOT_DIR/passwd" "$u" "${!pw}" "$hash" <<'PY'
import sys
p, u, pw, h = sys.argv[1:5]
s = open(p).read().replace("%s:{PLAIN}%s:" % (u, pw), "%s:%s:" % (u, h))
open(p, "w").write(s)
PY
	done
	grep -q '{PLAIN}' "$DOVECOT_DIR/passwd" && setup_fail "the passwords were not hashed"
	sed -i "s/^auth_mechanisms = .*/auth_mechanisms = $1/" "$DOVECOT_DIR/dovecot.conf"
	dovecot_start
}

# login NAME USER PROTO PORT [LINE...]: a fetch of one account; $RC, $T/err.
login() {
	local name=$1 user=$2 proto=$3 port=$4
	shift 4
	fetch_account "$name" "$user" "$proto" off "$port" true "allow_plaintext: true" "$@" |
		fetch_config "$T/$name.yml" "$T/$name/Maildir" "$T/$name/state"
	corral_run 60 -c "$T/$name.yml" -vv fetch
	cp "$T/err" "$T/$name.err"
}

# wrong NAME USER PROTO PORT [LINE...]: as login, with a wrong password.
wrong() {
	local name=$1 user=$2 proto=$3 port=$4
	shift 4
	fetch_account "$name" "$user" "$proto" off "$port" true "allow_plaintext: true" "$@" |
		sed "s/password: .*/password: 'wrong'/" |
		fetch_config "$T/$name.yml" "$T/$name/Maildir" "$T/$name/state"
	corral_run 60 -c "$T/$name.yml" -vv fetch
	cp "$T/err" "$T/$name.err"
}

start_with "plain login cram-md5"
dovecot_add_messages alice INBOX 3
dovecot_add_messages bob INBOX 3
login imap alice imap "$DOVECOT_IMAP_PORT"
check "PLAIN, LOGIN and CRAM-MD5 offered, CRAM-MD5 uncheckable: IMAP logs in (got $RC)" test "$RC" -eq 0
login pop bob pop3 "$DOVECOT_POP3_PORT"
check "the same over POP3 (got $RC)" test "$RC" -eq 0
check "POP3: with AUTH PLAIN, the first mechanism offered" grep -q '> AUTH PLAIN \.\.\.' "$T/err"
check "POP3: the password is never in the -vv log" \
	sh -c "! grep -qF '$DOVECOT_PASS_bob' '$T/err'"
login named alice imap "$DOVECOT_IMAP_PORT" "auth: cram-md5"
check "auth: cram-md5 is the only mechanism tried: refused, 77 (got $RC)" test "$RC" -eq 77
failed_before=$(grep -c 'auth failed' "$DOVECOT_LOG")
wrong wrong alice imap "$DOVECOT_IMAP_PORT"
check "a wrong password: 77 (got $RC)" test "$RC" -eq 77
check "a wrong password: the error says which mechanisms were tried" \
	grep -q "tried PLAIN, LOGIN)" "$T/err"
check "a wrong password: two refusals, not more" \
	test $(($(grep -c 'auth failed' "$DOVECOT_LOG") - failed_before)) -eq 2
log_before=$(wc -l <"$DOVECOT_LOG")
wrong popwrong bob pop3 "$DOVECOT_POP3_PORT"
check "POP3, a wrong password: 77 (got $RC)" test "$RC" -eq 77
check "POP3, a wrong password: the error quotes the server and names what was tried" \
	grep -q "login refused (tried PLAIN, LOGIN) (server said: -ERR \[AUTH\]" "$T/err"
sleep 1 # Dovecot logs the disconnection a moment later
check "POP3, a wrong password: two refusals on one connection, not more" \
	sh -c "tail -n +$((log_before + 1)) '$DOVECOT_LOG' | grep -c 'auth failed, 2 attempts' | grep -qx 1"
login user bob pop3 "$DOVECOT_POP3_PORT" "auth: user"
check "auth: user logs in with USER and PASS (got $RC)" test "$RC" -eq 0
check "auth: user: USER/PASS and nothing else" \
	sh -c "grep -q '> PASS \.\.\.' '$T/err' && ! grep -q '> AUTH' '$T/err'"
login imapuser alice imap "$DOVECOT_IMAP_PORT" "auth: user"
check "auth: user on an IMAP account: a config error, 78 (got $RC)" test "$RC" -eq 78
check "auth: user on an IMAP account: FILE:LINE:COL names the key" \
	grep -qE "imapuser.yml:[0-9]+:[0-9]+: .*auth.*POP3 login" "$T/err"
login noapop bob pop3 "$DOVECOT_POP3_PORT" "auth: apop"
check "auth: apop against a greeting without APOP: 78, says so (got $RC)" \
	sh -c "test $RC -eq 78 && grep -q 'offers no APOP' '$T/err'"

start_with "login cram-md5"
login imap2 alice imap "$DOVECOT_IMAP_PORT"
check "no PLAIN offered, CRAM-MD5 uncheckable: IMAP falls back to LOGIN (got $RC)" test "$RC" -eq 0
login pop2 bob pop3 "$DOVECOT_POP3_PORT"
check "the same over POP3 (got $RC)" test "$RC" -eq 0


start_with "plain cram-md5 apop" clear
login popclear bob pop3 "$DOVECOT_POP3_PORT"
check "a greeting that offers APOP: logs in without being told (got $RC)" test "$RC" -eq 0
check "a greeting that offers APOP: APOP is never chosen unasked" \
	sh -c "grep -q 'logged in with PLAIN' '$T/err' && ! grep -q '> APOP' '$T/err'"
login apop bob pop3 "$DOVECOT_POP3_PORT" "auth: apop"
check "auth: apop logs in with APOP (got $RC)" \
	sh -c "test $RC -eq 0 && grep -q 'logged in with APOP' '$T/err'"
wrong apopwrong bob pop3 "$DOVECOT_POP3_PORT" "auth: apop"
check "auth: apop, a wrong password: 77 (got $RC)" test "$RC" -eq 77
login cram bob pop3 "$DOVECOT_POP3_PORT" "auth: cram-md5"
check "auth: cram-md5 with a server that can check it: logs in (got $RC)" \
	sh -c "test $RC -eq 0 && grep -q 'logged in with CRAM-MD5' '$T/err'"
sanitizer_check
finish
