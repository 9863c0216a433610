#!/usr/bin/env bash
# Login mechanisms as mail clients choose them, against a real Dovecot whose
# passwords are stored hashed (SHA512-CRYPT), so that it lists CRAM-MD5 but
# cannot check it (libcurl's own first choice). corral prefers PLAIN, tries
# the next mechanism the server offered when one is refused (at most two
# refusals), says which it tried, and tries only the one the user named.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
need doveadm
mktest
fetch_fast_python
trap 'dovecot_cleanup; rm -rf "$T"' EXIT
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# start_with MECHANISMS: a Dovecot offering them, passwords hashed.
start_with() {
	dovecot_cleanup
	dovecot_setup >/dev/null
	local u pw hash
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
	corral_run 60 -c "$T/$name.yml" fetch
}

start_with "plain login cram-md5"
dovecot_add_messages alice INBOX 3
dovecot_add_messages bob INBOX 3
login imap alice imap "$DOVECOT_IMAP_PORT"
check "PLAIN, LOGIN and CRAM-MD5 offered, CRAM-MD5 uncheckable: IMAP logs in (got $RC)" test "$RC" -eq 0
login pop bob pop3 "$DOVECOT_POP3_PORT"
check "the same over POP3 (got $RC)" test "$RC" -eq 0
login named alice imap "$DOVECOT_IMAP_PORT" "auth: cram-md5"
check "auth: cram-md5 is the only mechanism tried: refused, 77 (got $RC)" test "$RC" -eq 77
fetch_account wrong alice imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true" |
	sed "s/password: .*/password: 'wrong'/" |
	fetch_config "$T/wrong.yml" "$T/wrong/Maildir" "$T/wrong/state"
failed_before=$(grep -c 'auth failed' "$DOVECOT_LOG")
corral_run 60 -c "$T/wrong.yml" fetch
check "a wrong password: 77 (got $RC)" test "$RC" -eq 77
check "a wrong password: the error says which mechanisms were tried" \
	grep -q "tried PLAIN, LOGIN)" "$T/err"
check "a wrong password: two refusals, not more" \
	test $(($(grep -c 'auth failed' "$DOVECOT_LOG") - failed_before)) -eq 2

start_with "login cram-md5"
login imap2 alice imap "$DOVECOT_IMAP_PORT"
check "no PLAIN offered, CRAM-MD5 uncheckable: IMAP falls back to LOGIN (got $RC)" test "$RC" -eq 0
login pop2 bob pop3 "$DOVECOT_POP3_PORT"
check "the same over POP3 (got $RC)" test "$RC" -eq 0
sanitizer_check
finish
