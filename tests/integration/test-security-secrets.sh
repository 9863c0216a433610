#!/usr/bin/env bash
# No secret anywhere (SECURITY.md): the passwords of IMAP and POP3 accounts
# (IMAP PLAIN and LOGIN, POP3 USER/PASS and AUTH PLAIN; from password_command and
# from the file) and of the SMTP relay (AUTH PLAIN), and their base64 forms
# as they cross the wire, appear in no output of corral fetch or corral run
# at the default verbosity, -v and -vv (libcurl's protocol trace included), nor in the
# error a wrong password gives, nor in /proc/PID/cmdline or environ of
# corral, of the IMAP server it starts or of the pipe actions it runs; and
# corral is not dumpable (no core file, /proc/PID/environ readable by root
# only). Real Dovecot, smtpsink.py with AUTH. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/corral-test.XXXXXX")
chmod 755 "$T" # Dovecot's users reach its files below
SINK=
RPID=
trap '[ -n "$RPID" ] && kill "$RPID" 2>/dev/null; [ -n "$SINK" ] && kill "$SINK" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
need_py aiosmtpd
need base64
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

echo "# $(date +%T) setup"
dovecot_setup "$T/dovecot"
# lib-dovecot.sh exports the passwords: corral and its children must not
# inherit them from this script, or the checks below would find them there.
export -n DOVECOT_PASS_alice DOVECOT_PASS_bob DOVECOT_PASS_carol
dovecot_start
for u in alice bob carol; do dovecot_add_messages "$u" INBOX 3; done

# The secrets: the three users', a wrong one, the relay's, the server user's.
WRONG=wrong-Secret-7f3a
RELAY=relay-Secret-91c2
SERVEPW=serve-Secret-44d1
umask 077
printf '%s\n' "$DOVECOT_PASS_alice" >"$T/pw-alice"
printf '%s\n' "$DOVECOT_PASS_bob" >"$T/pw-bob"
printf '%s\n' "$WRONG" >"$T/pw-wrong"
printf '%s\n' "$RELAY" >"$T/pw-relay"
umask 022
secrets=("$DOVECOT_PASS_alice" "$DOVECOT_PASS_bob" "$DOVECOT_PASS_carol" "$WRONG" "$RELAY" "$SERVEPW")
# What SASL sends: PLAIN's "\0user\0pass" and LOGIN's password, in base64.
for s in "$DOVECOT_PASS_alice:alice" "$DOVECOT_PASS_bob:bob" "$DOVECOT_PASS_carol:carol" "$RELAY:relayuser"; do
	pw=${s%:*} user=${s##*:}
	secrets+=("$(printf '\0%s\0%s' "$user" "$pw" | base64 -w0)" "$(printf '%s' "$pw" | base64 -w0)")
done

sport=$(_dovecot_free_port)
mkdir -p "$T/sink"
/usr/bin/python3 "$here/smtpsink.py" "$sport" "$T/sink" --auth relayuser "$RELAY" >"$T/sink.log" 2>&1 &
SINK=$!
wait_until 10 grep -q '^ready' "$T/sink.log" || setup_fail "smtpsink.py did not start"

hash=$(printf '%s\n' "$SERVEPW" | "$CORRAL" passwd) || setup_fail "corral passwd"
iport=$(_dovecot_free_port)
# Each pipe action dumps its own cmdline and environ, and its parent's (corral).
cat >"$T/rules.yml" <<EOF
- name: all
  if: {subject: "*"}
  then:
    - forward: me@example.org
    - pipe: [sh, -c, 'cat /proc/\$\$/cmdline /proc/\$\$/environ /proc/\$PPID/cmdline /proc/\$PPID/environ >"\$0.\$\$"', $T/dump/pipe]
    - keep
EOF
mkdir -p "$T/dump"
{
	fetch_account alice alice imap implicit "$DOVECOT_IMAPS_PORT" true "password_command: [cat, $T/pw-alice]"
	fetch_account alice-login alice imap starttls "$DOVECOT_IMAP_PORT" true "password_command: [cat, $T/pw-alice]" "auth: login"
	fetch_account bob bob pop3 implicit "$DOVECOT_POP3S_PORT" true "password_command: [cat, $T/pw-bob]" "auth: user"
	fetch_account bob-plain bob pop3 starttls "$DOVECOT_POP3_PORT" true "password_command: [cat, $T/pw-bob]" "auth: plain"
	fetch_account carol carol imap implicit "$DOVECOT_IMAPS_PORT" true
} >"$T/accounts"
# Drop the file password where the account has a password_command.
/usr/bin/python3 - "$T/accounts" <<'PY'
import sys
blocks, cur = [], []
for l in open(sys.argv[1]).read().splitlines():
    if l.startswith("  ") and not l.startswith("    ") and cur:
        blocks.append(cur); cur = []
    cur.append(l)
blocks.append(cur)
out = []
for b in blocks:
    if any("password_command" in l for l in b):
        b = [l for l in b if not l.strip().startswith("password:")]
    out += b
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
fetch_config "$T/c.yml" "$T/Maildir" "$T/state" "rules: $T/rules.yml" \
	"smtp: {host: 127.0.0.1, port: $sport, user: relayuser, password_command: [cat, $T/pw-relay]}" \
	"server: {listen: ['127.0.0.1:$iport'], users: {me: {password_hash: '$hash'}}}" <"$T/accounts"
grep -q 'password_command: \[cat, .*pw-alice\]' "$T/c.yml" && ! grep -q "$DOVECOT_PASS_alice" "$T/c.yml" ||
	setup_fail "the config ($(cat "$T/c.yml"))"

printf '%s\n' "${secrets[@]}" >"$T/secrets"
# nothing_in NAME FILE...: ok when no file holds any secret (NULs and all).
nothing_in() {
	local name=$1 found
	shift
	found=$(grep -aoF -f "$T/secrets" "$@" /dev/null | sort -u | head -5)
	if [ -z "$found" ]; then ok "$name"; else not_ok "$name" "$found"; fi
}

# 1. corral fetch at every verbosity: everything fetched, nothing leaked.
for v in "" -v -vv; do
	echo "# $(date +%T) fetch $v"
	rm -rf "$T/Maildir" "$T/state"
	corral_run 120 -c "$T/c.yml" $v fetch
	cp "$T/err" "$T/fetch$v.err"
	cp "$T/out" "$T/fetch$v.out"
	check "corral $v fetch: exit 0, 15 messages delivered and relayed" \
		sh -c "[ $RC -eq 0 ] && [ \$(find '$T/Maildir/cur' '$T/Maildir/new' -type f | wc -l) -eq 15 ]"
	nothing_in "corral $v fetch: no secret on stdout or stderr" "$T/fetch$v.err" "$T/fetch$v.out"
done
grep -E '> (AUTHENTICATE|LOGIN|AUTH|USER|PASS)|smtp > AUTH' "$T/fetch-vv.err" | sort | uniq -c | sed 's/^/# /'
check "-vv shows the IMAP logins' trace, hidden (so the check above looked at it)" \
	grep -q '> AUTHENTICATE PLAIN' "$T/fetch-vv.err"
check "-vv shows the POP3 logins' trace (USER/PASS and AUTH PLAIN), hidden" \
	sh -c "grep -q '> PASS' '$T/fetch-vv.err' && grep -q '> AUTH PLAIN' '$T/fetch-vv.err'"
check "-vv shows the relay's AUTH, hidden" grep -q 'smtp > AUTH' "$T/fetch-vv.err"
check "the relay authenticated" grep -q 'auth' "$T/sink.log"
n=$(find "$T/sink" -name '*.eml' | wc -l)
check "the relay got every forward ($n)" test "$n" -ge 45
dumps=("$T"/dump/pipe.*)
check "the pipe actions ran and dumped what they saw (${#dumps[@]})" test "${#dumps[@]}" -ge 45
nothing_in "pipe actions: no secret in their cmdline and environ, nor in corral's" "${dumps[@]}"

echo "# $(date +%T)"
# 2. A wrong password: the error says the login was refused, and no password.
{
	fetch_account w alice imap implicit "$DOVECOT_IMAPS_PORT" true "password_command: [cat, $T/pw-wrong]"
} | grep -v '^    password:' >"$T/wrong-accounts"
fetch_config "$T/w.yml" "$T/Mw" "$T/statew" <"$T/wrong-accounts"
corral_run 120 -c "$T/w.yml" -vv fetch
check "a wrong password: exit 77, login refused" sh -c "[ $RC -eq 77 ] && grep -q 'login refused' '$T/err'"
nothing_in "a wrong password: not in the error nor in the -vv trace" "$T/err" "$T/out"
corral_run 60 -c "$T/w.yml" status
nothing_in "corral status: no secret in its output" "$T/err" "$T/out"
grep -rl . "$T/statew" >"$T/statefiles" 2>/dev/null
# shellcheck disable=SC2046
nothing_in "the state files hold no secret" $(cat "$T/statefiles") /dev/null

echo "# $(date +%T)"
# 3. corral run (and the IMAP server it starts): /proc of every process.
rm -rf "$T/Maildir" "$T/state"
"$CORRAL" -c "$T/c.yml" -vv run >"$T/run.out" 2>"$T/run.err" </dev/null &
RPID=$!
wait_until 20 grep -q "listening on 127.0.0.1:$iport" "$T/run.err" || setup_fail "corral run did not start its server"
# A client logs in to corral's server with its password.
/usr/bin/python3 - "$iport" "$SERVEPW" >"$T/imap.out" 2>&1 <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("me", sys.argv[2])
print(m.select("INBOX")[0])
m.logout()
PY
check "a client logged in to corral run's server" grep -q OK "$T/imap.out"
: >"$T/proc.txt"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	for p in $(ps -o pid= --ppid "$RPID") "$RPID"; do
		for q in $p $(ps -o pid= --ppid "$p"); do
			{ cat "/proc/$q/cmdline"; echo; cat "/proc/$q/environ"; echo; } >>"$T/proc.txt" 2>/dev/null
		done
	done
	sleep 0.3
done
nprocs=$(grep -c . "$T/proc.txt")
check "corral run and its children were looked at ($nprocs lines)" test "$nprocs" -ge 4
check "one of them is the IMAP server" grep -q 'serve' "$T/proc.txt"
nothing_in "corral run, its server and children: no secret in /proc/PID/cmdline or environ" "$T/proc.txt"
check "corral run is not dumpable: /proc/PID/environ belongs to root (no core file)" \
	sh -c "[ \"\$(stat -c %u /proc/$RPID/environ)\" = 0 ]"
kill "$RPID"
wait "$RPID" 2>/dev/null
RPID=
nothing_in "corral -vv run and its server: no secret in their output" "$T/run.err" "$T/run.out"

echo "# $(date +%T)"
# 4. Not dumpable, as an ordinary user too (whose /proc files would
# otherwise be theirs): a core file of corral could hold a password.
mkdir -p "$T/nb"
chown nobody "$T/nb"
printf 'maildir: %s/nb/Maildir\nstate: %s/nb/state\nserver:\n  listen: [127.0.0.1:%s]\n  users:\n    me: {password_hash: "%s"}\n' \
	"$T" "$T" "$(_dovecot_free_port)" "$hash" >"$T/nb/c.yml"
chown nobody "$T/nb/c.yml"
chmod 600 "$T/nb/c.yml"
setpriv --reuid=nobody --regid=nogroup --clear-groups --reset-env env -u CORRAL_ALLOW_ROOT HOME="$T/nb" \
	"$CORRAL" -c "$T/nb/c.yml" serve >"$T/nb/out" 2>"$T/nb/err" </dev/null &
RPID=$!
wait_until 20 grep -q listening "$T/nb/err" || not_ok "setup: corral serve as nobody" "$(head -c 300 "$T/nb/err")"
pid=$(pgrep -u nobody -f "$T/nb/c.yml" | head -1)
check "as nobody, corral serve runs with nobody's uid" sh -c "[ -n '$pid' ] && [ \"\$(awk '/^Uid:/{print \$2}' /proc/$pid/status)\" = $(id -u nobody) ]"
check "as nobody, it is not dumpable: its /proc files are root's, not nobody's" \
	sh -c "[ \"\$(stat -c %u /proc/$pid/environ)\" = 0 ]"
kill "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
RPID=

sanitizer_check
finish
