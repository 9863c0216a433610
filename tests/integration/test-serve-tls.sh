#!/usr/bin/env bash
# `corral serve`'s TLS and logins: implicit TLS (server.tls_listen),
# STARTTLS (and the bytes a client pipelines after it, which must never
# run), TLS 1.2 at least, AUTHENTICATE PLAIN with and without an initial
# response, LOGINDISABLED on a plain address that is not loopback, the cap
# on commands per second and on failed logins before login, garbage on the
# TLS port. Clients: Python's imaplib and ssl, openssl s_client. No Dovecot.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
mktest
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"' EXIT
need openssl timeout
need_py imaplib ssl
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || setup_fail "openssl req"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
	-keyout "$T/other-key.pem" -out "$T/other-cert.pem" 2>/dev/null || setup_fail "openssl req"
M=$T/Maildir
mkdir -p "$M/cur" "$M/new" "$M/tmp"
printf 'From: a@example.org\nSubject: one\n\nbody\n' >"$M/cur/1700000000.M1P1.test:2,S"

hash=$(printf 'sesame\n' | "$CORRAL" passwd)
freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
plain=$(freeport)
tls=$(freeport)
# A local address that is not loopback, for LOGINDISABLED.
ext=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -1)
config() { # CERT KEY LISTEN...
	local cert=$1 key=$2
	shift 2
	write_config "$T/config.yml" <<EOF
maildir: $M
state: $T/state
server:
  listen: [$(
		IFS=,
		echo "$*"
	)]
  tls_listen: [127.0.0.1:$tls]
  cert: $cert
  key: $key
  users:
    me: {password_hash: "$hash"}
EOF
}

# Startup: a key that does not match, a certificate that is not PEM.
config "$T/cert.pem" "$T/other-key.pem" "127.0.0.1:$plain"
timeout 10 "$CORRAL" -c "$T/config.yml" serve >"$T/bad1.out" 2>&1
rc=$?
sed 's/^/# /' "$T/bad1.out"
check "a key that does not match the certificate: serve stops (rc $rc), naming both files" \
	sh -c "[ $rc -ne 0 ] && grep -q 'other-key.pem does not match server.cert .*cert.pem' '$T/bad1.out'"
echo "not a certificate" >"$T/junk.pem"
config "$T/junk.pem" "$T/key.pem" "127.0.0.1:$plain"
timeout 10 "$CORRAL" -c "$T/config.yml" serve >"$T/bad2.out" 2>&1
rc=$?
sed 's/^/# /' "$T/bad2.out"
check "a certificate that is not PEM: serve stops (rc $rc), naming the file" \
	sh -c "[ $rc -ne 0 ] && grep -q 'server.cert .*junk.pem' '$T/bad2.out'"

if [ -n "$ext" ]; then
	config "$T/cert.pem" "$T/key.pem" "127.0.0.1:$plain" "$ext:$plain"
else
	config "$T/cert.pem" "$T/key.pem" "127.0.0.1:$plain"
fi
"$CORRAL" -c "$T/config.yml" -v serve >"$T/serve.out" 2>"$T/serve.log" </dev/null &
SPID=$!
check "corral serve listens on the plain and the TLS address" \
	wait_until 10 grep -q "listening on 127.0.0.1:$tls (TLS)" "$T/serve.log"

/usr/bin/python3 - "$plain" "$tls" "${ext:-}" >"$T/py.out" 2>&1 <<'PY'
import base64, imaplib, os, socket, ssl, sys, time
plain, tls, ext = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

def caps(m):
    return " ".join(sorted(m.capabilities))

def step(name, f):
    try:
        print(name, f())
    except Exception as e:
        print(name, "error", type(e).__name__, e)

def raw(host, port, wrap=False):
    s = socket.create_connection((host, port), timeout=10)
    if wrap:
        s = ctx.wrap_socket(s)
    f = s.makefile("rb")
    greeting = f.readline()
    return s, f, greeting

def until(f, tag):
    """Lines up to and including the tagged answer."""
    out = []
    while True:
        l = f.readline()
        if not l:
            out.append(b"<eof>")
            return out
        out.append(l.rstrip(b"\r\n"))
        if l.startswith(tag + b" "):
            return out

def b64(s):
    return base64.b64encode(s).decode()

# Implicit TLS: login and SELECT.
def implicit():
    m = imaplib.IMAP4_SSL("127.0.0.1", tls, ssl_context=ctx)
    c = caps(m)
    m.login("me", "sesame")
    typ, d = m.select("INBOX")
    v = m.sock.version()
    m.logout()
    return "%s %s %s caps %s" % (v, typ, d[0].decode(), c)
step("implicit", implicit)

# STARTTLS with imaplib, then LOGIN.
def starttls():
    m = imaplib.IMAP4("127.0.0.1", plain)
    before = caps(m)
    m.starttls(ssl_context=ctx)
    after = caps(m)
    typ, d = m.login("me", "sesame")
    m.logout()
    return "before %s | after %s | login %s" % (before, after, typ)
step("starttls", starttls)

# STARTTLS with a command pipelined after it in the same packet: the
# injected command must not run, neither in the clear nor over TLS.
def injection(injected):
    s = socket.create_connection(("127.0.0.1", plain), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a STARTTLS\r\n" + injected)
    lines = until(f, b"a")
    # Nothing more in the clear before the handshake.
    s.settimeout(0.5)
    try:
        extra = s.recv(100)
    except socket.timeout:
        extra = b""
    s.settimeout(10)
    t = ctx.wrap_socket(s)
    tf = t.makefile("rb")
    t.sendall(b"c NOOP\r\nd SELECT INBOX\r\n")
    after = until(tf, b"c") + until(tf, b"d")
    t.close()
    return "clear %r extra %r tls %r" % (lines, extra, after)
step("inject-noop", lambda: injection(b"b NOOP\r\n"))
step("inject-login", lambda: injection(b"b LOGIN me sesame\r\n"))

# AUTHENTICATE PLAIN.
def sasl_ir(blob):
    s, f, g = raw("127.0.0.1", plain)
    s.sendall(b"a AUTHENTICATE PLAIN " + blob.encode() + b"\r\n")
    r = until(f, b"a")[-1]
    s.close()
    return r.decode()
step("sasl-ir", lambda: sasl_ir(b64(b"\0me\0sesame")))
step("sasl-ir-authzid-self", lambda: sasl_ir(b64(b"me\0me\0sesame")))
step("sasl-ir-authzid-other", lambda: sasl_ir(b64(b"root\0me\0sesame")))
step("sasl-ir-wrong", lambda: sasl_ir(b64(b"\0me\0wrong")))
step("sasl-ir-badb64", lambda: sasl_ir("!!!!"))
def continuation():
    m = imaplib.IMAP4("127.0.0.1", plain)
    typ, d = m.authenticate("PLAIN", lambda ch: b"\0me\0sesame")
    m.logout()
    return typ
step("sasl-cont", continuation)
def cont_raw(line):
    s, f, g = raw("127.0.0.1", plain)
    s.sendall(b"a AUTHENTICATE PLAIN\r\n")
    plus = f.readline().rstrip(b"\r\n")
    s.sendall(line + b"\r\n")
    r = until(f, b"a")[-1]
    s.sendall(b"b NOOP\r\n")
    n = until(f, b"b")[-1]
    s.close()
    return "%r %s | then %s" % (plus, r.decode(), n.decode())
step("sasl-cancel", lambda: cont_raw(b"*"))
step("sasl-cont-wrong", lambda: cont_raw(b64(b"\0me\0wrong").encode()))
step("sasl-cont-badb64", lambda: cont_raw(b"@@@@"))
def unknown_mech():
    s, f, g = raw("127.0.0.1", plain)
    s.sendall(b"a AUTHENTICATE CRAM-MD5\r\n")
    r = until(f, b"a")[-1]
    s.close()
    return r.decode()
step("sasl-unknown", unknown_mech)

# LOGINDISABLED on a plain address that is not loopback.
def logindisabled():
    m = imaplib.IMAP4(ext, plain)
    c = caps(m)
    s, f, g = raw(ext, plain)
    s.sendall(b"a LOGIN me sesame\r\nb AUTHENTICATE PLAIN " + b64(b"\0me\0sesame").encode() + b"\r\n")
    l = until(f, b"a")[-1].decode()
    a = until(f, b"b")[-1].decode()
    s.close()
    m.starttls(ssl_context=ctx)
    c2 = caps(m)
    typ, d = m.login("me", "sesame")
    m.logout()
    return "caps %s | login %s | auth %s | tls caps %s | tls login %s" % (c, l, a, c2, typ)
if ext:
    step("logindisabled", logindisabled)

# Over TLS: many pipelined commands in one write after login (OpenSSL
# buffers records poll() cannot see).
def pipelined():
    s, f, g = raw("127.0.0.1", tls, wrap=True)
    s.sendall(b"a LOGIN me sesame\r\n")
    until(f, b"a")
    s.sendall(b"".join(b"n%d NOOP\r\n" % i for i in range(2000)) + b"z LOGOUT\r\n")
    lines = until(f, b"z")
    s.close()
    return "%d ok" % sum(1 for l in lines if l.startswith(b"n") and b" OK " in l)
step("tls-pipelined", pipelined)

# Before login, 100 NOOPs in one packet: BYE, then a new connection works.
def flood():
    s, f, g = raw("127.0.0.1", plain)
    s.sendall(b"".join(b"n%d NOOP\r\n" % i for i in range(100)))
    lines = []
    while True:
        l = f.readline()
        if not l:
            break
        lines.append(l.rstrip(b"\r\n"))
    s.close()
    oks = sum(1 for l in lines if b" OK " in l)
    bye = [l.decode() for l in lines if l.startswith(b"* BYE")]
    s2, f2, g2 = raw("127.0.0.1", plain)
    s2.close()
    return "ok %d bye %s closed next %s" % (oks, bye, g2.split(b"]")[-1].strip().decode())
step("flood", flood)

# Garbage to the TLS port, and a half handshake: the server goes on.
def garbage():
    for n in range(3):
        s = socket.create_connection(("127.0.0.1", tls), timeout=10)
        s.sendall(os.urandom(4096))
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
    s = socket.create_connection(("127.0.0.1", tls), timeout=10)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(40))
    s.close()
    m = imaplib.IMAP4_SSL("127.0.0.1", tls, ssl_context=ctx)
    typ, d = m.login("me", "sesame")
    m.logout()
    return "then " + typ
step("garbage", garbage)
PY
sed 's/^/# /' "$T/py.out"
got() { grep -qE "$1" "$T/py.out"; }
check "implicit TLS: TLS 1.2 or 1.3, login, SELECT INBOX (1 message)" \
	got '^implicit TLSv1\.[23] OK 1 caps '
check "implicit TLS: AUTH=PLAIN, no STARTTLS, no LOGINDISABLED" \
	sh -c "grep '^implicit' '$T/py.out' | grep -q 'AUTH=PLAIN' && ! grep '^implicit' '$T/py.out' | grep -qE 'STARTTLS|LOGINDISABLED'"
# caps_has LINE-PREFIX PART WANT... : the capabilities on that line (PART:
# 1 before the first "|", 2 after it) hold each WANT (a !NAME must be absent).
caps_has() {
	local line part
	line=$(grep "^$1 " "$T/py.out" | head -1)
	part=$(echo "$line" | cut -d'|' -f"$2")
	shift 2
	for w in "$@"; do
		case $w in
		!*) echo " $part " | grep -q " ${w#!} " && return 1 ;;
		*) echo " $part " | grep -q " $w " || return 1 ;;
		esac
	done
	return 0
}
check "plain loopback: STARTTLS and AUTH=PLAIN advertised, no LOGINDISABLED" \
	caps_has starttls 1 IMAP4REV1 AUTH=PLAIN STARTTLS SASL-IR !LOGINDISABLED
check "after STARTTLS: the capabilities again, without STARTTLS; LOGIN works" \
	sh -c "grep -q '^starttls .* login OK\$' '$T/py.out'"
check "after STARTTLS: AUTH=PLAIN, no STARTTLS" caps_has starttls 2 AUTH=PLAIN !STARTTLS
check "STARTTLS + a pipelined NOOP: no answer to it in the clear" \
	got "^inject-noop clear \[b'a OK [^']*'\] extra b'' "
check "STARTTLS + a pipelined NOOP: no answer to it over TLS either" \
	got "^inject-noop .*tls \[b'c OK [^']*', b'd BAD [^']*'\]$"
check "STARTTLS + a pipelined LOGIN: it did not run (SELECT after TLS is BAD: not logged in)" \
	got "^inject-login clear \[b'a OK [^']*'\] extra b'' tls \[b'c OK [^']*', b'd BAD [^']*LOGIN'\]$"
check "AUTHENTICATE PLAIN with an initial response (SASL-IR)" got '^sasl-ir a OK .*logged in'
check "SASL-IR: an authzid equal to the user is fine" got '^sasl-ir-authzid-self a OK '
check "SASL-IR: another authzid is NO" got '^sasl-ir-authzid-other a NO \[AUTHORIZATIONFAILED\]'
check "SASL-IR: a wrong password is NO" got '^sasl-ir-wrong a NO \[AUTHENTICATIONFAILED\]'
check "SASL-IR: bad base64 is BAD" got '^sasl-ir-badb64 a BAD '
check "AUTHENTICATE PLAIN through the empty + continuation (imaplib)" got '^sasl-cont OK$'
check "continuation: * cancels (BAD), the session goes on" got "^sasl-cancel b'\+ ?' a BAD .*cancel.* \| then b OK"
check "continuation: a wrong password is NO" got "^sasl-cont-wrong b'\+ ?' a NO \[AUTHENTICATIONFAILED\]"
check "continuation: bad base64 is BAD" got "^sasl-cont-badb64 b'\+ ?' a BAD "
check "AUTHENTICATE with another mechanism is NO" got '^sasl-unknown a NO '
if [ -n "$ext" ]; then
	check "plain on $ext (not loopback): LOGINDISABLED and STARTTLS, no AUTH=PLAIN" \
		caps_has "logindisabled caps" 1 LOGINDISABLED STARTTLS !AUTH=PLAIN
	check "plain on $ext: LOGIN and AUTHENTICATE are NO [PRIVACYREQUIRED]" \
		got '^logindisabled .*\| login a NO \[PRIVACYREQUIRED\].*\| auth b NO \[PRIVACYREQUIRED\]'
	check "on $ext after STARTTLS: AUTH=PLAIN, no LOGINDISABLED, LOGIN works" \
		sh -c "grep '^logindisabled ' '$T/py.out' | grep -q '| tls caps [^|]*AUTH=PLAIN[^|]*| tls login OK\$' && ! grep '^logindisabled ' '$T/py.out' | grep -q 'tls caps [^|]*LOGINDISABLED'"
else
	echo "# skip: this machine has no local address other than loopback (hostname -I): LOGINDISABLED not checked"
fi
check "over TLS: 2000 pipelined NOOPs in one write, 2000 answers" got '^tls-pipelined 2000 ok$'
check "100 NOOPs before login: at most 20 run, then BYE and the end" \
	got "^flood ok ([0-9]|1[0-9]|20) bye \['\* BYE too many commands'\] closed"
check "after the flood a new connection is served" got '^flood .* next corral ready$'
check "random bytes and a cut handshake on the TLS port: then a login works" got '^garbage then OK$'

# openssl s_client: STARTTLS, and the protocol versions.
s_client() { # ARGS...: s_client's output (a NOOP, then LOGOUT)
	printf 'a NOOP\r\nb LOGOUT\r\n' | timeout 15 openssl s_client -ign_eof "$@" 2>&1
}
s_client -connect "127.0.0.1:$plain" -starttls imap >"$T/sc-starttls.out"
check "openssl s_client -starttls imap: the handshake, then IMAP over TLS" \
	sh -c "grep -qE '^ *Protocol *: TLSv1\.[23]' '$T/sc-starttls.out' && grep -q '^a OK' '$T/sc-starttls.out'"
s_client -connect "127.0.0.1:$tls" -tls1_2 >"$T/sc-12.out"
check "openssl s_client -tls1_2 is accepted" \
	sh -c "grep -qE '^ *Protocol *: TLSv1\.2' '$T/sc-12.out' && grep -q '^a OK' '$T/sc-12.out'"
# The client allows TLS 1.1 (Debian's default security level would refuse
# it before the server is asked); the server must refuse it.
s_client -connect "127.0.0.1:$tls" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' >"$T/sc-11.out"
sed -n '1,3p' "$T/sc-11.out" | sed 's/^/# /'
check "openssl s_client -tls1_1 is refused by the server (protocol version alert)" \
	sh -c "grep -q 'alert protocol version' '$T/sc-11.out' && ! grep -q '^a OK' '$T/sc-11.out'"
s_client -connect "127.0.0.1:$plain" -starttls imap -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' >"$T/sc-11s.out"
check "STARTTLS with TLS 1.1 is refused too (protocol version alert)" \
	sh -c "grep -q 'alert protocol version' '$T/sc-11s.out' && ! grep -q '^a OK' '$T/sc-11s.out'"
# No TLS compression (CRIME): s_client offers it where its OpenSSL has it;
# the server must not pick it.
check "no TLS compression (s_client: Compression: NONE)" \
	sh -c "grep -q '^Compression: NONE' '$T/sc-12.out' && ! grep -qE '^Compression: [^N]' '$T/sc-12.out'"
# The curated TLS 1.2 suites (SECURITY.md): forward secret AEAD only.
s_client -connect "127.0.0.1:$tls" -tls1_2 -cipher 'AES128-SHA:AES256-SHA256:@SECLEVEL=0' >"$T/sc-cbc.out"
check "TLS 1.2 with only RSA key exchange and CBC suites offered is refused" \
	sh -c "grep -qiE 'alert handshake failure|no shared cipher|handshake failure' '$T/sc-cbc.out' && ! grep -q '^a OK' '$T/sc-cbc.out'"
s_client -connect "127.0.0.1:$tls" -tls1_2 -cipher 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:@SECLEVEL=0' >"$T/sc-ecbc.out"
check "TLS 1.2 with only ECDHE+CBC suites offered is refused" \
	sh -c "! grep -q '^a OK' '$T/sc-ecbc.out'"
s_client -connect "127.0.0.1:$tls" -tls1_2 -cipher 'ECDHE-RSA-AES256-GCM-SHA384' >"$T/sc-gcm.out"
check "TLS 1.2 with ECDHE-RSA-AES256-GCM-SHA384 is accepted" \
	sh -c "grep -qE 'Cipher *: ECDHE-RSA-AES256-GCM-SHA384' '$T/sc-gcm.out' && grep -q '^a OK' '$T/sc-gcm.out'"
s_client -connect "127.0.0.1:$tls" -tls1_3 >"$T/sc-13.out"
check "TLS 1.3 is accepted (an AEAD suite)" \
	sh -c "grep -qE '^ *Protocol *: TLSv1\.3' '$T/sc-13.out' && grep -qE 'Cipher is TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)' '$T/sc-13.out' && grep -q '^a OK' '$T/sc-13.out'"

# Five failed logins end the connection (1+2+4+8+8 s of delays).
/usr/bin/python3 - "$plain" >"$T/fail.out" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
f = s.makefile("rb")
f.readline()
s.sendall(b"".join(b"a%d LOGIN me wrong%d\r\n" % (i, i) for i in range(7)))
lines = [l.rstrip(b"\r\n").decode() for l in f]
print("no", sum(1 for l in lines if " NO " in l), "last", lines[-1] if lines else "")
PY
sed 's/^/# /' "$T/fail.out"
check "five failed logins: five NO, then BYE and the end" \
	grep -qx 'no 5 last \* BYE too many failed logins' "$T/fail.out"

check "corral serve still runs" kill -0 "$SPID"
kill "$SPID"
wait_until 5 sh -c "! kill -0 $SPID 2>/dev/null"
SPID=
check "corral serve's log has no sanitizer report" \
	sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|AddressSanitizer' '$T/serve.log'"
finish
