#!/usr/bin/env bash
# The Dovecot harness itself: IMAP, IMAPS, STARTTLS, POP3 and POP3S answer
# on 127.0.0.1 with certificates from the test CA, and the users can read
# the messages put into their Maildir.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-dovecot.sh
. "$here/lib-dovecot.sh"

pass=0
fail=0
check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >"$DOVECOT_DIR/check.out" 2>&1; then
		echo "ok - $what"
		pass=$((pass + 1))
	else
		echo "not ok - $what"
		sed 's/^/#   /' "$DOVECOT_DIR/check.out" | tail -n 15
		fail=$((fail + 1))
	fi
}

command -v curl >/dev/null 2>&1 || {
	echo "not ok - setup: curl is missing (make check installs it: contrib/install-deps.sh check)"
	echo "0 passed, 1 failed"
	exit 1
}

dovecot_setup
trap dovecot_cleanup EXIT
dovecot_start

dovecot_add_messages alice INBOX 5 1500
dovecot_add_messages bob INBOX 3 800
dovecot_add_messages alice Work 2 600

py_imap() { # MODE: plain | starttls | implicit
	python3 - "$1" <<'EOF'
import imaplib, os, ssl, sys
mode = sys.argv[1]
ctx = ssl.create_default_context(cafile=os.environ["DOVECOT_CA"])
if mode == "implicit":
    m = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["DOVECOT_IMAPS_PORT"]), ssl_context=ctx)
else:
    m = imaplib.IMAP4("127.0.0.1", int(os.environ["DOVECOT_IMAP_PORT"]))
    assert "STARTTLS" in m.capabilities, m.capabilities
    if mode == "starttls":
        m.starttls(ssl_context=ctx)
m.login("alice", os.environ["DOVECOT_PASS_alice"])
typ, data = m.select("INBOX", readonly=True)
assert typ == "OK" and data[0] == b"5", data
typ, data = m.uid("FETCH", "1:*", "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
assert typ == "OK", data
subjects = [d[1] for d in data if isinstance(d, tuple)]
assert subjects[0].strip() == b"Subject: Test message 1", subjects[0]
typ, data = m.select("Work", readonly=True)
assert typ == "OK" and data[0] == b"2", data
m.logout()
EOF
}

py_imap_bad_password() {
	python3 - <<'EOF'
import imaplib, os
m = imaplib.IMAP4("127.0.0.1", int(os.environ["DOVECOT_IMAP_PORT"]))
try:
    m.login("alice", "wrong")
except imaplib.IMAP4.error:
    raise SystemExit(0)
raise SystemExit("a wrong password was accepted")
EOF
}

curl_pop3() { # SCHEME PORT [curl options]
	local scheme=$1 port=$2 out
	shift 2
	out=$(curl -sS --max-time 20 --cacert "$DOVECOT_CA" "$@" \
		--user "bob:$DOVECOT_PASS_bob" "$scheme://127.0.0.1:$port/1")
	grep -q '^Subject: Test message 1' <<<"$out"
}

curl_pop3_list() {
	local out
	out=$(curl -sS --max-time 20 --user "bob:$DOVECOT_PASS_bob" \
		"pop3://127.0.0.1:$DOVECOT_POP3_PORT/")
	[ "$(wc -l <<<"$out")" -eq 3 ]
}

curl_imaps_verify_fails_without_ca() {
	! curl -sS --max-time 20 --user "alice:$DOVECOT_PASS_alice" \
		"imaps://127.0.0.1:$DOVECOT_IMAPS_PORT/INBOX;UID=1" >/dev/null 2>&1
}

curl_imaps_fetch() {
	local out
	out=$(curl -sS --max-time 20 --cacert "$DOVECOT_CA" --user "alice:$DOVECOT_PASS_alice" \
		"imaps://localhost:$DOVECOT_IMAPS_PORT/INBOX;UID=2")
	grep -q '^Subject: Test message 2' <<<"$out"
}

check "imap plain login and read-only select" py_imap plain
check "imap starttls verifies with the test CA" py_imap starttls
check "imaps verifies with the test CA" py_imap implicit
check "imap refuses a wrong password" py_imap_bad_password
check "imaps fetch through curl by host name" curl_imaps_fetch
check "imaps without the CA fails verification" curl_imaps_verify_fails_without_ca
check "pop3 plain list shows three messages" curl_pop3_list
check "pop3 stls retrieves a message" curl_pop3 pop3 "$DOVECOT_POP3_PORT" --ssl-reqd
check "pop3s retrieves a message" curl_pop3 pop3s "$DOVECOT_POP3S_PORT"
check "messages are stored in the user's maildir" test "$(dovecot_count alice)" -eq 5

dovecot_stop
stopped() { ! _dovecot_port_open "$DOVECOT_IMAP_PORT"; }
check "dovecot_stop closes the ports" stopped

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
