#!/usr/bin/env bash
# corral init against a real Dovecot on 127.0.0.1, the servers found through
# DNS SRV records (RFC 6186) served by a stub DNS server (CORRAL_DNS_SERVER):
# the config it writes passes corral check and fetches; a wrong password is
# caught before anything is written; an existing config is never
# overwritten; --add-account keeps the rest of the file byte for byte.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
dns_pid=""
trap '[ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
export HOME=$T/home XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/xdg
export CORRAL_RULES_DIR=$here/../../rules
mkdir -p "$HOME"

dovecot_setup >/dev/null
dovecot_start
dovecot_add_messages alice INBOX 3
dovecot_add_messages bob INBOX 2
dovecot_add_messages carol INBOX 4

/usr/bin/python3 "$here/dns-srv-stub.py" "$T/dns.port" \
	"_imaps._tcp.corral.test=0:1:$DOVECOT_IMAPS_PORT:localhost" \
	"_imaps._tcp.nothere.test=0:0:0:." \
	"_imap._tcp.nothere.test=0:0:0:." \
	"_pop3s._tcp.nothere.test=5:0:$DOVECOT_POP3S_PORT:localhost" &
dns_pid=$!
wait_until 5 test -s "$T/dns.port" || setup_fail "the DNS stub did not start"
export CORRAL_DNS_SERVER=127.0.0.1:$(cat "$T/dns.port")
printf '%s\n' "$DOVECOT_PASS_alice" >"$T/alice.pw"
printf '%s\n' "$DOVECOT_PASS_bob" >"$T/bob.pw"
printf '%s\n' "$DOVECOT_PASS_carol" >"$T/carol.pw"
printf 'wrong\n' >"$T/wrong.pw"
CFG=$T/xdg/corral/config.yml

# init_alice PASSWORDFILE [ARG...]: init for alice@corral.test, servers from SRV.
init_alice() {
	local pw=$1
	shift
	corral_run 60 init --non-interactive --email alice@corral.test --user alice \
		--password-command "cat $pw" --ca-file "$DOVECOT_CA" --maildir "$T/Maildir" "$@"
}

init_alice "$T/wrong.pw"
check "a wrong password: init fails" test "$RC" -ne 0 -a "$RC" -ne 124
check "a wrong password: it says so and that nothing was written" grep -q 'nothing written' "$T/err"
check "a wrong password: no config, no directory" test ! -e "$T/xdg/corral"

init_alice "$T/alice.pw"
check "init with SRV records exits 0" test "$RC" -eq 0
[ "$RC" -eq 0 ] || cat "$T/err"
check "init says which SRV record named the server" grep -q "_imaps._tcp.corral.test: localhost port $DOVECOT_IMAPS_PORT" "$T/out"
check "init logged in before writing" grep -q 'TLS and login ok' "$T/out"
check "the config is mode 0600" test "$(stat -c %a "$CFG" 2>/dev/null)" = 600
check "the rule file is mode 0600" test "$(stat -c %a "$T/xdg/corral/rules.yml" 2>/dev/null)" = 600
check "the config names the SRV target and port" \
	bash -c "grep -q 'host: localhost' '$CFG' && grep -q 'port: $DOVECOT_IMAPS_PORT' '$CFG'"
check "the config lists the default ready rule sets" \
	bash -c "grep -q 'spam.yml' '$CFG' && grep -q 'lists.yml' '$CFG'"
check "the config says where the server came from" grep -q '# server from the DNS SRV record' "$CFG"
corral_run 30 check
check "corral check accepts the config" test "$RC" -eq 0
corral_run 60 fetch
check "corral fetch with it exits 0" test "$RC" -eq 0
check "corral fetch with it fetched alice's 3 messages" \
	test "$(find "$T/Maildir/new" "$T/Maildir/cur" -type f 2>/dev/null | wc -l)" -eq 3

sum=$(sha256sum "$CFG")
init_alice "$T/alice.pw"
check "a second init refuses (exit 73)" test "$RC" -eq 73
check "a second init says --force" grep -q -- '--force' "$T/err"
check "a second init leaves the config byte-identical" test "$(sha256sum "$CFG")" = "$sum"

# --add-account: bob over POP3 (plain host and port), the file grows only.
cp "$CFG" "$T/before.yml"
add_bob() { # PASSWORDFILE [ARG...]
	local pw=$1
	shift
	corral_run 60 init --non-interactive --add-account bob --host 127.0.0.1 --protocol pop3 \
		--port "$DOVECOT_POP3S_PORT" --user bob --password-command "cat $pw" \
		--ca-file "$DOVECOT_CA" "$@"
}
add_bob "$T/wrong.pw"
check "--add-account with a wrong password fails" test "$RC" -ne 0 -a "$RC" -ne 124
check "--add-account with a wrong password changes nothing" cmp -s "$CFG" "$T/before.yml"
add_bob "$T/bob.pw"
check "--add-account exits 0" test "$RC" -eq 0
[ "$RC" -eq 0 ] || cat "$T/err"
size=$(stat -c %s "$T/before.yml")
check "--add-account keeps the rest byte-identical (the old file is a prefix)" \
	cmp -s -n "$size" "$CFG" "$T/before.yml"
check "--add-account added bob" grep -q '^  bob:' "$CFG"
check "--add-account keeps mode 0600" test "$(stat -c %a "$CFG")" = 600
corral_run 60 fetch bob
check "the added account fetches (bob's 2 messages)" \
	test "$RC" -eq 0 -a "$(find "$T/Maildir/new" "$T/Maildir/cur" -type f | wc -l)" -eq 5
cp "$CFG" "$T/before2.yml"
add_bob "$T/bob.pw"
check "--add-account of an existing name fails and changes nothing" \
	bash -c "[ $RC -ne 0 ] && cmp -s '$CFG' '$T/before2.yml' && grep -q \"already has an account 'bob'\" '$T/err'"

# An account inserted where accounts: is not the last key: what follows stays.
write_config "$T/mid.yml" <<YML
# my config
maildir: $T/Maildir2
accounts:
    old:   # four spaces here
        protocol: imap
        host: 127.0.0.1
        port: $DOVECOT_IMAPS_PORT
        ca_file: $DOVECOT_CA
        user: alice
        password_command: cat $T/alice.pw

# after the accounts
dedupe: 7d
YML
cp "$T/mid.yml" "$T/mid.before"
corral_run 60 -c "$T/mid.yml" init --non-interactive --add-account carol --host 127.0.0.1 \
	--port "$DOVECOT_IMAPS_PORT" --user carol --password-command "cat $T/carol.pw" \
	--ca-file "$DOVECOT_CA"
check "--add-account into the middle exits 0" test "$RC" -eq 0
[ "$RC" -eq 0 ] || cat "$T/err"
only_added() { # OLD NEW: diff shows added lines only, in one place
	diff "$1" "$2" >"$T/diff"
	[ "$(grep -c '^[0-9]' "$T/diff")" -eq 1 ] && ! grep -q '^[<-]' "$T/diff"
}
check "--add-account into the middle: the lines before and after are unchanged" \
	only_added "$T/mid.before" "$T/mid.yml"
check "--add-account into the middle: carol is indented like old" grep -q '^    carol:' "$T/mid.yml"
check "--add-account into the middle: still one dedupe key" test "$(grep -c '^dedupe: 7d' "$T/mid.yml")" -eq 1

# POP3 found by SRV (IMAP's records say "no service"): carol@nothere.test.
corral_run 60 -c "$T/pop/config.yml" init --non-interactive --email carol@nothere.test \
	--user carol --password-command "cat $T/carol.pw" --ca-file "$DOVECOT_CA" \
	--maildir "$T/PopMail" --rule-sets none
check "SRV: a '.' target is skipped for the next service (POP3S)" \
	bash -c "[ $RC -eq 0 ] && grep -q 'protocol: pop3' '$T/pop/config.yml'"
check "--rule-sets none lists only rules.yml" test "$(grep -c '^  - .*\.yml' "$T/pop/config.yml")" -eq 1
corral_run 60 -c "$T/pop/config.yml" fetch
check "the POP3 config fetches carol's 4 messages" \
	test "$(find "$T/PopMail/new" "$T/PopMail/cur" -type f 2>/dev/null | wc -l)" -eq 4

corral_run 60 -c "$T/none/config.yml" init --non-interactive --email x@no-srv.test \
	--password-command "cat $T/alice.pw"
check "no preset and no SRV record: exit 64, asks for --host" \
	bash -c "[ $RC -eq 64 ] && grep -q -- '--host' '$T/err'"
check "no preset and no SRV record: nothing written" test ! -e "$T/none"
corral_run 60 -c "$T/sets/config.yml" init --non-interactive --email x@gmail.com --no-verify \
	--rule-sets spam,nosuchset
check "an unknown rule set: exit 64, named" bash -c "[ $RC -eq 64 ] && grep -q nosuchset '$T/err'"
corral_run 60 -c "$T/nocred/config.yml" init --non-interactive --email x@gmail.com
check "no credential and no --no-verify: exit 64" test "$RC" -eq 64
# On a terminal (script(1) gives it one), init asks for what is missing.
# Where no pseudo-terminal can be had (a chroot without /dev/pts, as
# ../shared/tools/fresh-root.sh makes), this part says so and counts nothing.
need script
if python3 -c 'import os; os.openpty()' 2>/dev/null; then
	printf '%s\n' alice@corral.test alice "cat $T/alice.pw" "$T/IMail" none >"$T/answers"
	timeout 60 script -qec "$CORRAL -c $T/inter/config.yml init --ca-file $DOVECOT_CA" /dev/null \
		<"$T/answers" >"$T/out" 2>&1
	RC=$?
	check "init on a terminal asks and writes (exit 0)" test "$RC" -eq 0
	[ "$RC" -eq 0 ] || cat "$T/out"
	check "init on a terminal asked for the address and the password command" \
		bash -c "grep -q 'your email address' '$T/out' && grep -q 'command that prints the password' '$T/out'"
	check "init on a terminal wrote the answers" \
		bash -c "grep -q 'user: alice$' '$T/inter/config.yml' && grep -q 'maildir: $T/IMail' '$T/inter/config.yml'"

else
	echo "# skip: no pseudo-terminal can be opened here (is /dev/pts mounted?): init on a terminal is not tried"
fi

sanitizer_check
dovecot_alive_check
finish
