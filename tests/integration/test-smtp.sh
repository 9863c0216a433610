#!/bin/bash
# SMTP re-injection (src/out/smtp.c) against a real SMTP server
# (tests/integration/smtpsink.py, Debian's python3-aiosmtpd): bytes, envelope,
# per-recipient results, TLS, authentication, a relay that is down or slow.
#
# `forward` and `deliver: smtp` are not wired into corral yet, so these cases
# drive the module through tests/unit/smtp-send.c, built here from the
# sources (with ASan+UBSan when the compiler has them). Once corral can
# forward, the same cases should run through "$CORRAL".
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest

PY=/usr/bin/python3 # Debian's python, where python3-aiosmtpd lives
SINK_PIDS=()
cleanup() {
	for p in "${SINK_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SINK_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT

need openssl
need_py aiosmtpd

# ---- the driver (tests/unit/smtp-send.c, built by make next to corral) ----
driver smtp-send
SEND=$DRIVER
export ASAN_OPTIONS=detect_leaks=1

# ---- certificates: a test CA and a server certificate; a second CA that signed nothing ----
certs() {
	local d=$T/certs
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=corral smtp test CA" \
		-keyout "$d/ca.key" -out "$d/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=some other CA" \
		-keyout "$d/other.key" -out "$d/other.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
}
certs
CA=$T/certs/ca.crt

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_sink NAME [SINK OPTIONS...]: sets PORT and DIR; the sink stores into $T/NAME.
start_sink() {
	local name=$1
	shift
	DIR=$T/$name
	PORT=$(free_port)
	mkdir -p "$DIR"
	"$PY" tests/integration/smtpsink.py "$PORT" "$DIR" "$@" >"$T/$name.log" 2>&1 &
	SINK_PIDS+=($!)
	for _ in $(seq 1 100); do
		grep -q '^ready' "$T/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# the sink did not start:" >&2
	cat "$T/$name.log" >&2
	return 1
}

# What an MTA stores for a message file: bare LF -> CRLF, a final CRLF added.
expected() {
	"$PY" - "$1" "$2" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
data = re.sub(rb"(?<!\r)\n", b"\r\n", data)
if data and not data.endswith(b"\r\n"):
    data += b"\r\n"
open(sys.argv[2], "wb").write(data)
PY
}

# count DIR: how many messages the sink stored there
count() {
	local n=0 f
	for f in "$1"/*.eml; do [ -e "$f" ] && n=$((n + 1)); done
	echo "$n"
}

# json FILE EXPR: a value from a sidecar, e.g. json 1.json 'd["rcpt_tos"]'
json() {
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# ---- test messages ----
M=$T/msgs
mkdir -p "$M"
printf 'From: a@example.com\r\nSubject: dots\r\n\r\n.\r\n..\r\n.x\r\n..x\r\n...\r\n .\r\nend\r\n' >"$M/dots.eml"
printf '.starts with a dot\r\n\r\nbody\r\n' >"$M/firstdot.eml"
printf 'Subject: bare lf\n\nline one\n.\nmixed\r\nend\n' >"$M/barelf.eml"
printf 'Subject: 8bit\r\n\r\ncaf\xc3\xa9 \xff\xfe raw\r\nnul:\x00:\r\n' >"$M/8bit.eml"
printf 'Subject: no final newline\r\n\r\nlast line' >"$M/nofinal.eml"
printf 'Subject: ends with CR\r\n\r\nlast\r' >"$M/finalcr.eml"
"$PY" -c 'import sys; sys.stdout.write("Subject: long\r\n\r\n" + "x" * 5000 + "\r\n")' >"$M/longline.eml"
"$PY" - "$M/big.eml" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big\r\n\r\n")
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"
    n = 0
    while n < 20 * 1024 * 1024:
        f.write(line)
        f.write(b".dot line %d\r\n" % n)
        n += len(line) + 16
PY
printf 'Subject: plain\r\n\r\nhello\r\n' >"$M/plain.eml"

# ---- bytes ----
start_sink plain
PLAIN_PORT=$PORT PLAIN_DIR=$DIR
n=0
for f in dots firstdot barelf 8bit nofinal finalcr longline big; do
	before=$(count "$PLAIN_DIR")
	if ! out=$("$SEND" --port "$PLAIN_PORT" --timeout 30 --from s@example.com "$M/$f.eml" \
		to@example.com 2>&1); then
		not_ok "$f.eml is delivered" "$out"
		continue
	fi
	n=$((before + 1))
	expected "$M/$f.eml" "$T/$f.expected"
	if cmp -s "$T/$f.expected" "$PLAIN_DIR/$n.eml"; then
		ok "$f.eml: the relay stores exactly the expected bytes"
	else
		not_ok "$f.eml: the relay stores exactly the expected bytes" \
			"$(cmp "$T/$f.expected" "$PLAIN_DIR/$n.eml" 2>&1 | head -1)"
	fi
done
size=$(json "$PLAIN_DIR/$n.json" '[o for o in d["mail_options"] if o.startswith("SIZE=")]')
check "SIZE= announces the size before dot-stuffing" \
	test "$size" = "['SIZE=$(stat -c %s "$T/big.expected")']"

out=$("$SEND" --mem --port "$PLAIN_PORT" "$M/barelf.eml" to@example.com)
n=$(count "$PLAIN_DIR")
check "a message from memory arrives as from a file" cmp -s "$T/barelf.expected" "$PLAIN_DIR/$n.eml"

# ---- envelope ----
check "envelope sender and recipient as given" test \
	"$(json "$PLAIN_DIR/1.json" '(d["mail_from"], d["rcpt_tos"])')" = "('s@example.com', ['to@example.com'])"
"$SEND" --port "$PLAIN_PORT" "$M/plain.eml" a@example.com b@example.org >/dev/null
n=$(count "$PLAIN_DIR")
check "a null sender is sent as <>, two recipients in one transaction" test \
	"$(json "$PLAIN_DIR/$n.json" '(d["mail_from"], d["rcpt_tos"])')" = "('<>', ['a@example.com', 'b@example.org'])"

out=$("$SEND" --port "$PLAIN_PORT" --received work imap.example.com "$M/plain.eml" me@example.com)
n=$(count "$PLAIN_DIR")
check "a Received: field records the fetch, the message follows unchanged" "$PY" - "$PLAIN_DIR/$n.eml" "$M/plain.eml" <<'PY'
import re, sys
got, msg = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
m = re.match(rb"Received: from imap\.example\.com\r\n\tby \S+ \(corral, account work\)\r\n"
             rb"\tfor <me@example\.com>;\r\n\t\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n", got)
sys.exit(0 if m and got[m.end():] == msg else 1)
PY

out=$("$SEND" --port "$PLAIN_PORT" --repeat 3 "$M/plain.eml" me@example.com)
n=$(count "$PLAIN_DIR")
ports=$(for i in $((n - 2)) $((n - 1)) $n; do json "$PLAIN_DIR/$i.json" 'd["peer"][1]'; done | sort -u | wc -l)
check "three messages on one handle share one connection" test "$ports" -eq 1

# ---- per-recipient results ----
rc=0
out=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" tempfail@example.com 2>/dev/null) || rc=$?
check "451 is a temporary result" test "$rc" -eq 75 -a "$out" = \
	"tempfail@example.com temp 451 451 4.3.0 <tempfail@example.com>: temporary failure, try later"
rc=0
out=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" reject@example.com 2>/dev/null) || rc=$?
check "550 is permanent, with the relay's text" test "$rc" -eq 1 -a "$out" = \
	"reject@example.com perm 550 550 5.1.1 <reject@example.com>: recipient rejected"

before=$(count "$PLAIN_DIR")
rc=0
out=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" good@example.com reject@example.com \
	tempfail@example.com 2>/dev/null) || rc=$?
n=$(count "$PLAIN_DIR")
check "mixed recipients: one 250, one 550, one 451, each its own result" test "$rc" -eq 75 -a \
	"$(echo "$out" | cut -d' ' -f1-3 | tr '\n' ' ')" = \
	"good@example.com ok 250 reject@example.com perm 550 tempfail@example.com temp 451 "
check "mixed recipients: the relay got the message once, for the accepted one" test \
	"$n" -eq $((before + 1)) -a "$(json "$PLAIN_DIR/$n.json" 'd["rcpt_tos"]')" = "['good@example.com']"

rc=0
out=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" flaky1@example.com 2>/dev/null) || rc=$?
rc2=0
out2=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" flaky1@example.com 2>/dev/null) || rc2=$?
check "greylisting: 451 first, delivered when tried again" test "$rc" -eq 75 -a "$rc2" -eq 0 \
	-a "${out2%% *}" = "flaky1@example.com"

rc=0
out=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" datareject@example.com x@example.com 2>/dev/null) || rc=$?
check "554 after DATA is permanent for every accepted recipient" test "$rc" -eq 1 -a \
	"$(echo "$out" | cut -d' ' -f2,3 | sort -u)" = "perm 554"
rc=0
out=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" datatempfail@example.com 2>/dev/null) || rc=$?
check "452 after DATA is temporary" test "$rc" -eq 75 -a "$(echo "$out" | cut -d' ' -f2,3)" = "temp 452"

rc=0
out=$("$SEND" --port "$PLAIN_PORT" "$M/plain.eml" 'bad<addr>@example.com' ok2@example.com 2>/dev/null) || rc=$?
check "an address with <> is refused before sending, the others go" test "$rc" -eq 1 -a \
	"$(echo "$out" | cut -d' ' -f2 | tr '\n' ' ')" = "perm ok "

rc=0
out=$("$SEND" --port "$PLAIN_PORT" --repeat 2 "$M/plain.eml" reject@example.com 2>/dev/null) || rc=$?
before=$(count "$PLAIN_DIR")
out2=$("$SEND" --port "$PLAIN_PORT" --repeat 2 "$M/plain.eml" reject@example.com ok3@example.com 2>/dev/null) || true
check "after a refused transaction the handle goes on (new connection)" test "$rc" -eq 1 -a \
	"$(echo "$out" | cut -d' ' -f2,3 | tr '\n' ' ')" = "perm 550 perm 550 " -a \
	"$(count "$PLAIN_DIR")" -eq $((before + 2))

start_sink no8bit --no-8bitmime
rc=0
out=$("$SEND" -v --port "$PORT" "$M/8bit.eml" to@example.com 2>&1) || rc=$?
check "no 8BITMIME offered: the 8-bit message still goes, noted at debug level" test "$rc" -eq 0 \
	-a "$(echo "$out" | grep -c 'no 8BITMIME offered')" -eq 1 -a "$(echo "$out" | grep -c '250-8BITMIME')" -eq 0
check "no 8BITMIME offered: the bytes are exact" cmp -s "$T/8bit.expected" "$DIR/1.eml"

# ---- a relay that is down or slow ----
down=$(free_port)
t0=$(date +%s%N)
rc=0
out=$("$SEND" --port "$down" --timeout 10 "$M/plain.eml" a@example.com b@example.com 2>/dev/null) || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "a relay that is down: temporary for all, quickly (${ms} ms)" test "$rc" -eq 75 -a "$ms" -lt 3000 \
	-a "$(echo "$out" | cut -d' ' -f2,3 | sort -u)" = "temp 0"
t0=$(date +%s%N)
rc=0
out=$("$SEND" --port "$PLAIN_PORT" --timeout 1 "$M/plain.eml" slow@example.com 2>/dev/null) || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
# libcurl waits for the reply, then for QUIT's reply: about twice the timeout.
check "a relay that does not answer in time: temporary (${ms} ms)" test "$rc" -eq 75 -a "$ms" -lt 5000

# ---- TLS ----
start_sink starttls --starttls "$T/certs/server.crt" "$T/certs/server.key"
rc=0
out=$("$SEND" --port "$PORT" --tls starttls --ca "$CA" "$M/dots.eml" to@example.com 2>&1) || rc=$?
check "STARTTLS with the test CA delivers over TLS" test "$rc" -eq 0 -a \
	"$(json "$DIR/1.json" 'd["tls"]')" = True
check "STARTTLS: the bytes are exact too" cmp -s "$T/dots.expected" "$DIR/1.eml"
rc=0
out=$("$SEND" --port "$PORT" --tls starttls --ca "$T/certs/other.crt" "$M/plain.eml" to@example.com 2>&1) || rc=$?
check "STARTTLS with the wrong CA fails, temporary, nothing stored" test "$rc" -eq 75 -a ! -e "$DIR/2.eml"
rc=0
out=$("$SEND" --port "$PORT" --tls starttls --insecure "$M/plain.eml" to@example.com 2>&1) || rc=$?
check "insecure: true skips verification and says so" test "$rc" -eq 0 -a -e "$DIR/2.eml" \
	-a "$(echo "$out" | grep -c 'NOT verified')" -ge 1
rc=0
out=$("$SEND" --port "$PLAIN_PORT" --tls starttls --ca "$CA" "$M/plain.eml" to@example.com 2>&1) || rc=$?
check "tls: starttls refuses a relay without STARTTLS (no plaintext fallback)" test "$rc" -eq 75

start_sink implicit --implicit "$T/certs/server.crt" "$T/certs/server.key"
rc=0
out=$("$SEND" --port "$PORT" --tls implicit --ca "$CA" "$M/8bit.eml" to@example.com 2>&1) || rc=$?
check "implicit TLS (smtps) delivers byte-exact" test "$rc" -eq 0 -a \
	"$(json "$DIR/1.json" 'd["tls"]')" = True
check "implicit TLS: the bytes are exact" cmp -s "$T/8bit.expected" "$DIR/1.eml"

# ---- authentication ----
start_sink auth --auth smtpuser 'S3cret-pw!'
rc=0
out=$("$SEND" -v --port "$PORT" --user smtpuser --password-command "printf S3cret-pw!" \
	"$M/plain.eml" to@example.com 2>&1) || rc=$?
b64=$(printf '\0smtpuser\0S3cret-pw!' | base64)
check "password_command: authenticated and delivered" test "$rc" -eq 0 -a -e "$DIR/1.eml" -a -s "$DIR/.logins"
check "the password never reaches the log, even with -vv" test \
	"$(echo "$out" | grep -c -e 'S3cret' -e "$b64" -e 'UzNjcmV0')" -eq 0
rc=0
out=$("$SEND" --port "$PORT" --user smtpuser --password wrong "$M/plain.eml" to@example.com 2>&1) || rc=$?
check "a refused login is temporary (the user fixes the config, nothing is filed as failed)" \
	test "$rc" -eq 75
rc=0
out=$("$SEND" --port "$PORT" --user smtpuser --password-command "false" "$M/plain.eml" to@example.com 2>&1) || rc=$?
check "a failing password_command is temporary and named" test "$rc" -eq 75 -a \
	"$(echo "$out" | grep -c 'smtp.password_command')" -ge 1

finish
