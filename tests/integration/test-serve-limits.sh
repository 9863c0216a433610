#!/usr/bin/env bash
# `corral serve`'s limits and listeners: a listen address that is a name
# binds what the name resolves to (never every address) or the config is
# refused with FILE:LINE:COL; a plain listener on a non-loopback address
# says LOGINDISABLED until STARTTLS unless server.allow_plaintext says
# otherwise; sessions are capped in all and per client address; failed
# logins are counted per address across connections; login_timeout and
# idle_timeout close silent sessions. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"
need ss
M=$(serve_maildir "$T/mail")
serve_add "$M" 2

# talk HOST PORT LINE...: sends each line after the answer to the one
# before (greeting first), prints every line received; "@close" ends.
talk() {
	/usr/bin/python3 - "$@" <<'PY'
import socket, sys, time
host, port, lines = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
s = socket.create_connection((host, port), timeout=30)
f = s.makefile("rb")
print(f.readline().decode().rstrip())
for i, line in enumerate(lines):
    tag = "t%d" % i
    s.sendall(("%s %s\r\n" % (tag, line)).encode())
    while True:
        l = f.readline().decode()
        if not l:
            sys.exit(0)
        print(l.rstrip())
        if l.startswith(tag + " "):
            break
PY
}

# 1. listen: [localhost:PORT] binds what localhost names, loopback only:
# 127.0.0.1, and [::1] too where /etc/hosts names it localhost (as a fresh
# Debian's does), never 0.0.0.0 or [::].
SERVE_HOST=localhost serve_start "$M"
listening=$(ss -ltnH "sport = :$SERVE_PORT" | awk '{print $4}' | sort | tr '\n' ' ')
echo "# listening: $listening"
loopback_only() {
	local a
	[ -n "$listening" ] && echo "$listening" | grep -q "127.0.0.1:$SERVE_PORT" || return 1
	for a in $listening; do
		case $a in "127.0.0.1:$SERVE_PORT" | "[::1]:$SERVE_PORT") ;; *) return 1 ;; esac
	done
}
check "listen: [localhost:P] binds 127.0.0.1:P (and [::1]:P), not 0.0.0.0 ($listening)" \
	loopback_only
check "the log names the address the name resolved to" \
	grep -q "listening on 127.0.0.1:$SERVE_PORT (localhost)" "$T/serve.log"
serve_stop

# 2. A name that does not resolve: the config is refused, with its place.
cp "$T/config.yml" "$T/bad.yml"
sed -i 's/listen: \[.*\]/listen: ["no-such-host.invalid:1143"]/' "$T/bad.yml"
out=$("$CORRAL" -c "$T/bad.yml" check 2>&1)
rc=$?
echo "# $out"
check "an unresolvable listen name is refused (exit $rc) with FILE:LINE:COL" \
	sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'bad.yml:[0-9]*:[0-9]*: server.listen\[0\]: no-such-host.invalid does not resolve'"

# 3. A plain listener on a non-loopback address: LOGINDISABLED, LOGIN refused.
ext=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.[0-9.]+$' | grep -v '^127\.')
if [ -z "$ext" ]; then
	not_ok "setup: this host has a non-loopback IPv4 address (hostname -I)"
else
	SERVE_HOST=$ext serve_start "$M"
	out=$(talk "$ext" "$SERVE_PORT" CAPABILITY "LOGIN me sesame")
	echo "$out" | sed 's/^/# /'
	check "on $ext without TLS: CAPABILITY says LOGINDISABLED, not AUTH=PLAIN" \
		sh -c "echo '$out' | grep '^\* CAPABILITY' | grep -q LOGINDISABLED && ! echo '$out' | grep '^\* CAPABILITY' | grep -q AUTH=PLAIN"
	check "on $ext without TLS: LOGIN is refused" sh -c "echo '$out' | grep -q '^t1 NO \[PRIVACYREQUIRED\]'"
	serve_stop
	SERVE_HOST=$ext serve_start "$M" "allow_plaintext: true"
	out=$(talk "$ext" "$SERVE_PORT" CAPABILITY "LOGIN me sesame")
	check "with server.allow_plaintext: true: AUTH=PLAIN and LOGIN works on $ext" \
		sh -c "echo '$out' | grep '^\* CAPABILITY' | grep -q AUTH=PLAIN && echo '$out' | grep -q '^t1 OK'"
	serve_stop
fi

# 4. Caps: 2 sessions per address, 3 in all (clients from two addresses,
# 127.0.0.1 and 127.0.0.2).
serve_start "$M" "max_connections: 3" "max_connections_per_address: 2"
/usr/bin/python3 - "$SERVE_PORT" >"$T/caps.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn(host):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(host, 0))
    s.settimeout(10)
    return s, s.makefile("rb").readline().decode().rstrip()
held = []
for i, host in enumerate(["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"]):
    s, greeting = conn(host)
    print(i + 1, host, greeting)
    held.append(s)
    time.sleep(0.2)
for s in held:
    s.close()
time.sleep(1.5)
s, greeting = conn("127.0.0.1")
print("after", greeting)
PY
sed 's/^/# /' "$T/caps.out"
check "two sessions from one address are served" sh -c "grep -q '^2 127.0.0.1 \* OK' '$T/caps.out'"
check "the third from that address gets BYE (max_connections_per_address)" \
	sh -c "grep -q '^3 127.0.0.1 \* BYE too many connections from your address' '$T/caps.out'"
check "another address is served while under max_connections" sh -c "grep -q '^4 127.0.0.2 \* OK' '$T/caps.out'"
check "past max_connections: BYE" sh -c "grep -q '^5 127.0.0.2 \* BYE too many connections' '$T/caps.out'"
check "once they leave, a session is served again" sh -c "grep -q '^after \* OK' '$T/caps.out'"
serve_stop

# 5. Failed logins: the delay grows across connections (1 s, 2 s, then 4 s
# on a new connection; it was 1 s again when each connection counted alone).
serve_start "$M"
/usr/bin/python3 - "$SERVE_PORT" >"$T/fail.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def attempt(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    took = []
    for i in range(n):
        t = time.monotonic()
        s.sendall(b"a%d LOGIN me wrong\r\n" % i)
        l = f.readline().decode()
        took.append((round(time.monotonic() - t, 1), l.split(" ")[1]))
    s.close()
    return took
print("first", attempt(2))
print("second", attempt(1))
PY
sed 's/^/# /' "$T/fail.out"
second=$(sed -n 's/^second \[(\([0-9.]*\), .NO.)\]/\1/p' "$T/fail.out")
check "a failed login on a new connection waits longer after two failed before (${second:-?} s >= 3.5)" \
	sh -c "[ -n '$second' ] && python3 -c 'import sys; sys.exit(0 if float(\"$second\") >= 3.5 else 1)'"
serve_stop

# 6. Idle time: a connection that does not log in is closed after
# login_timeout (it holds a slot of max_connections_per_address); a
# logged-in one after idle_timeout without a command (not in IDLE).
serve_start "$M" "login_timeout: 2s" "idle_timeout: 4s"
/usr/bin/python3 - "$SERVE_PORT" >"$T/idle.out" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def wait_bye(s, f):
    t = time.monotonic()
    lines = []
    for l in f:
        lines.append(l.decode().rstrip())
    return round(time.monotonic() - t, 1), lines
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
f.readline()
print("prelogin", *wait_bye(s, f))
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
f.readline()
s.sendall(b"a LOGIN me sesame\r\n")
print("login", f.readline().decode().rstrip())
time.sleep(2.5)
s.sendall(b"b NOOP\r\n")
print("noop", f.readline().decode().rstrip())
print("postlogin", *wait_bye(s, f))
PY
sed 's/^/# /' "$T/idle.out"
check "login_timeout: 2s: no login, then BYE after about 2 s and the end" \
	grep -qE "^prelogin (1\.[89]|2\.[0-9]|3\.[0-9]) \['\* BYE autologout: no login in time'\]$" "$T/idle.out"
check "a command within idle_timeout keeps the session (NOOP after 2.5 s, once logged in)" \
	grep -q '^noop b OK' "$T/idle.out"
check "idle_timeout: 4s: then BYE after about 4 s without a command" \
	grep -qE "^postlogin (3\.[89]|4\.[0-9]|5\.[0-9]) \['\* BYE autologout: idle for too long'\]$" "$T/idle.out"
serve_stop
serve_sanitizer_check
finish
