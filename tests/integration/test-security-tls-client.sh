#!/usr/bin/env bash
# The client side's TLS (SECURITY.md): every connection corral makes checks
# the server's certificate and host name: IMAP and POP3, implicit TLS and
# STARTTLS, against a real Dovecot, and the SMTP relay (implicit and
# STARTTLS) against smtpsink.py. A certificate for another name and a
# self-signed certificate are both refused with a clear error, exit 78,
# nothing fetched; an account opts out only by pinning the server's public
# key (tls_fingerprint) or naming the certificate that signed it (ca_file);
# a wrong pin is refused; insecure: true still connects, with a warning.
# Bounded in time (about 40 connections).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/corral-test.XXXXXX")
chmod 755 "$T" # Dovecot's users (nobody, dovecot) reach its files below
SINKS=()
trap 'dovecot_cleanup; for p in "${SINKS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
need openssl
need_py aiosmtpd
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

dovecot_setup "$T/dovecot"
C=$T/certs
mkdir -p "$C"
# wrong: signed by the test CA, but for mail.example.org only (the tests
# connect to 127.0.0.1). self: self-signed, for the right names.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=mail.example.org" \
	-keyout "$C/wrong.key" -out "$C/wrong.csr" 2>/dev/null &&
	printf 'subjectAltName=DNS:mail.example.org\nextendedKeyUsage=serverAuth\n' >"$C/wrong.ext" &&
	openssl x509 -req -in "$C/wrong.csr" -CA "$DOVECOT_DIR/ca.crt" -CAkey "$DOVECOT_DIR/ca.key" \
		-CAcreateserial -days 2 -extfile "$C/wrong.ext" -out "$C/wrong.crt" 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=localhost" \
		-addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
		-keyout "$C/self.key" -out "$C/self.crt" 2>/dev/null ||
	setup_fail "openssl could not make the test certificates"
chmod 644 "$C"/*.key

# pin CERT: what tls_fingerprint takes (corral.yml(5) shows the same pipe).
pin() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64
}
PIN_WRONG="sha256//$(pin "$C/wrong.crt")"
PIN_SELF="sha256//$(pin "$C/self.crt")"
PIN_OTHER="sha256//$(pin "$DOVECOT_DIR/server.crt")"
[ ${#PIN_SELF} -eq 52 ] && [ ${#PIN_WRONG} -eq 52 ] || setup_fail "computing the pins ($PIN_SELF)"

# use_cert NAME: Dovecot serves $C/NAME.crt (restarted).
use_cert() {
	dovecot_stop
	sed -i -e "s|^ssl_cert = .*|ssl_cert = <$C/$1.crt|" -e "s|^ssl_key = .*|ssl_key = <$C/$1.key|" \
		"$DOVECOT_DIR/dovecot.conf"
	dovecot_start
}

# fetch_with PROTO TLS PORT LINE...: one corral fetch of alice's mail with
# the account's TLS lines; RC, $T/err.
fetch_with() {
	local proto=$1 tls=$2 port=$3
	shift 3
	rm -rf "$T/Maildir" "$T/state"
	fetch_account a alice "$proto" "$tls" "$port" true "$@" |
		fetch_config "$T/c.yml" "$T/Maildir" "$T/state"
	corral_run 60 -c "$T/c.yml" fetch
}

VARIANTS="imap:implicit:$DOVECOT_IMAPS_PORT imap:starttls:$DOVECOT_IMAP_PORT pop3:implicit:$DOVECOT_POP3S_PORT pop3:starttls:$DOVECOT_POP3_PORT"

# refused WHAT PATTERN: the last fetch exited 78 with a TLS error matching PATTERN.
refused() {
	if [ "$RC" -eq 78 ] && grep -q "TLS: " "$T/err" && grep -qiE "$2" "$T/err"; then
		ok "$1: refused (78): $(grep -m1 'TLS: ' "$T/err" | sed 's/.*TLS: //' | cut -c1-90)"
	else
		not_ok "$1: refused" "exit $RC: $(head -c 300 "$T/err")"
	fi
}
accepted() {
	if [ "$RC" -eq 0 ]; then ok "$1: connects"; else not_ok "$1: connects" "exit $RC: $(head -c 300 "$T/err")"; fi
}

# 1. The right certificate: the setup works.
dovecot_start
for v in $VARIANTS; do
	IFS=: read -r proto tls port <<<"$v"
	fetch_with "$proto" "$tls" "$port"
	accepted "$proto $tls, the right name and ca_file of its CA"
done
IFS=: read -r proto tls port <<<"${VARIANTS%% *}"
fetch_with "$proto" "$tls" "$port" "ca_file: /etc/ssl/certs/ca-certificates.crt"
refused "$proto $tls, a CA the system does not know" "certificate"

# 2. A certificate for another name, from a CA the account trusts.
use_cert wrong
for v in $VARIANTS; do
	IFS=: read -r proto tls port <<<"$v"
	fetch_with "$proto" "$tls" "$port"
	refused "$proto $tls, a certificate for another name" "name|subject"
	fetch_with "$proto" "$tls" "$port" "tls_fingerprint: $PIN_WRONG"
	accepted "$proto $tls, another name but its key pinned"
done
fetch_with imap implicit "$DOVECOT_IMAPS_PORT" "insecure: true"
accepted "imap implicit, another name with insecure: true"
check "insecure: true says loudly that nothing is verified" grep -q "NOT verified" "$T/err"

# 3. A self-signed certificate.
use_cert self
for v in $VARIANTS; do
	IFS=: read -r proto tls port <<<"$v"
	fetch_with "$proto" "$tls" "$port" "ca_file: /etc/ssl/certs/ca-certificates.crt"
	refused "$proto $tls, a self-signed certificate" "self.signed|certificate"
	fetch_with "$proto" "$tls" "$port" "tls_fingerprint: $PIN_SELF"
	accepted "$proto $tls, self-signed with its key pinned"
	fetch_with "$proto" "$tls" "$port" "tls_fingerprint: $PIN_OTHER"
	refused "$proto $tls, self-signed, another key pinned" "pinned|public key"
done
fetch_with imap implicit "$DOVECOT_IMAPS_PORT" "ca_file: $C/self.crt"
accepted "imap implicit, self-signed, the certificate itself as ca_file"
fetch_with imap implicit "$DOVECOT_IMAPS_PORT" "tls_fingerprint: $PIN_OTHER;$PIN_SELF"
accepted "imap implicit, two pins (a key rotation), the second matches"
fetch_with imap implicit "$DOVECOT_IMAPS_PORT" "tls_fingerprint: $PIN_SELF" "insecure: true"
check "tls_fingerprint with insecure: true is a config error (78, FILE:LINE:COL)" \
	sh -c "[ $RC -eq 78 ] && grep -qE 'c.yml:[0-9]+:[0-9]+: accounts.a.tls_fingerprint: .*insecure' '$T/err'"
fetch_with imap implicit "$DOVECOT_IMAPS_PORT" "tls_fingerprint: sha256//short="
check "a malformed pin is a config error naming the key" \
	sh -c "[ $RC -eq 78 ] && grep -qE 'c.yml:[0-9]+:[0-9]+: accounts.a.tls_fingerprint: expected sha256//' '$T/err'"

# 4. The SMTP relay (a forward from corral deliver): the same checks.
# Four sinks, started at once: implicit or STARTTLS, serving wrong or self.
SINKS=()
for tls in implicit starttls; do
	for cert in wrong self; do
		port=$(_dovecot_free_port)
		opt=--starttls
		[ "$tls" = implicit ] && opt=--implicit
		mkdir -p "$T/sink-$tls-$cert"
		/usr/bin/python3 "$here/smtpsink.py" "$port" "$T/sink-$tls-$cert" "$opt" "$C/$cert.crt" "$C/$cert.key" \
			>"$T/sink-$tls-$cert.log" 2>&1 &
		SINKS+=($!)
		eval "PORT_${tls}_$cert=$port"
	done
done
for tls in implicit starttls; do
	for cert in wrong self; do
		wait_until 20 grep -q '^ready' "$T/sink-$tls-$cert.log" || setup_fail "smtpsink.py ($tls, $cert) did not start"
	done
done
# relay TLS CERT LINE...: a forward through the sink serving CERT; RC,
# $T/err, SENT (messages that sink stored for it).
relay() {
	local tls=$1 cert=$2 port before
	shift 2
	port=PORT_${tls}_$cert
	port=${!port}
	before=$(find "$T/sink-$tls-$cert" -name '*.eml' | wc -l)
	rm -rf "$T/Maildir" "$T/state"
	printf -- '- name: fwd\n  if: {subject: "*"}\n  then: [{forward: me@example.org}, keep]\n' >"$T/fwd.yml"
	{
		printf 'maildir: %s\nstate: %s\nrules: %s\nsmtp:\n  host: 127.0.0.1\n  port: %s\n  tls: %s\n' \
			"$T/Maildir" "$T/state" "$T/fwd.yml" "$port" "$tls"
		for l in "$@"; do printf '  %s\n' "$l"; done
	} | write_config "$T/c.yml"
	printf 'From: a@example.org\nTo: me@example.org\nSubject: hello\nMessage-ID: <r@x>\n\nbody\n' >"$T/msg"
	CORRAL_STDIN=$T/msg corral_run 60 -c "$T/c.yml" deliver
	SENT=$(($(find "$T/sink-$tls-$cert" -name '*.eml' | wc -l) - before))
}
for tls in implicit starttls; do
	relay "$tls" wrong "ca_file: $DOVECOT_DIR/ca.crt"
	check "smtp $tls, a certificate for another name: nothing relayed, the error says why" \
		sh -c "[ $SENT -eq 0 ] && grep -qiE 'name|subject' '$T/err'"
	relay "$tls" self
	check "smtp $tls, a self-signed certificate: nothing relayed, the error says why" \
		sh -c "[ $SENT -eq 0 ] && grep -qiE 'self.signed|certificate' '$T/err'"
	relay "$tls" self "tls_fingerprint: $PIN_SELF"
	check "smtp $tls, self-signed with its key pinned: relayed (exit $RC)" \
		sh -c "[ $SENT -eq 1 ] && [ $RC -eq 0 ]"
	relay "$tls" self "tls_fingerprint: $PIN_OTHER"
	check "smtp $tls, self-signed, another key pinned: nothing relayed" \
		sh -c "[ $SENT -eq 0 ] && grep -qiE 'pinned|public key' '$T/err'"
done

sanitizer_check
finish
