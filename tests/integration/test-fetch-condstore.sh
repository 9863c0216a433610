#!/usr/bin/env bash
# CONDSTORE (RFC 7162) on the fetch side, against the real Dovecot through
# a counting proxy (countproxy.py): a poll of 20 unchanged folders costs one
# STATUS (UIDNEXT UIDVALIDITY HIGHESTMODSEQ) per folder and nothing else
# beyond the login and LOGOUT; the bytes are counted and bounded. A folder
# whose UIDNEXT or HIGHESTMODSEQ changed is listed again (new mail
# fetched once; a flag changed by another client: listed, nothing
# fetched); a server without CONDSTORE is polled in full. Every poll is a
# new process: the marks come from the journal. Bounded: about 20 s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
need doveadm
mktest
PROXY=
trap '[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

python3 "$here/countproxy.py" --target "$DOVECOT_IMAP_PORT" --port-file "$T/proxy.port" \
	--log "$T/proxy.log" &
PROXY=$!
for _ in $(seq 100); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
[ -s "$T/proxy.port" ] || setup_fail "countproxy.py did not start"

folders=()
for i in $(seq 1 20); do
	dovecot_maildir bob "C$i" >/dev/null
	folders+=("C$i")
done
dovecot_add_messages bob C3 2 >/dev/null
dovecot_add_messages bob C20 1 >/dev/null
list=$(IFS=,; echo "${folders[*]}")
M=$T/Maildir
fetch_account cs bob imap off "$(cat "$T/proxy.port")" true "allow_plaintext: true" \
	"folders: [$list]" | fetch_config "$T/config.yml" "$M" "$T/state"

count() { find "$M/new" -type f 2>/dev/null | wc -l; }
# The verbs the client sent in the last poll, one per line.
verbs() { awk '/^> /{print toupper($3)}' "$T/proxy.log"; }
poll() {
	: >"$T/proxy.log"
	corral_run 30 -c "$T/config.yml" fetch
	# The proxy writes its totals once both sockets closed.
	wait_until 5 grep -q '^conn up' "$T/proxy.log"
}

poll
check "first poll: exit 0 and the 3 messages" sh -c "test $RC -eq 0 && test \$(find '$M/new' -type f | wc -l) -eq 3"
check "first poll: every folder listed (20 EXAMINE)" test "$(verbs | grep -c '^EXAMINE$')" -eq 20

poll
check "unchanged poll: exit 0, nothing fetched" sh -c "test $RC -eq 0 && test \$(find '$M/new' -type f | wc -l) -eq 3"
check "unchanged poll: one STATUS per folder (20)" test "$(verbs | grep -c '^STATUS$')" -eq 20
check "unchanged poll: the STATUS asks UIDNEXT UIDVALIDITY HIGHESTMODSEQ" \
	test "$(grep -c '^> [a-z0-9]* STATUS "C[0-9]*" (UIDNEXT UIDVALIDITY HIGHESTMODSEQ)$' "$T/proxy.log")" -eq 20
others=$(verbs | grep -cvE '^(STATUS|CAPABILITY|AUTHENTICATE|LOGIN|LOGOUT)$')
check "unchanged poll: nothing else beyond the login and LOGOUT ($others other commands)" test "$others" -eq 0
check "unchanged poll: one LOGOUT, one connection" \
	sh -c "test \$(grep -c '^conn up' '$T/proxy.log') -eq 1 && test \$(awk '/^> /{print toupper(\$3)}' '$T/proxy.log' | grep -c '^LOGOUT\$') -eq 1"
up=$(awk '/^conn up/{print $3}' "$T/proxy.log")
down=$(awk '/^conn up/{print $5}' "$T/proxy.log")
echo "# a poll of 20 unchanged folders: $up bytes up, $down bytes down, $(verbs | wc -l) commands"
check "unchanged poll: under 3000 bytes up and 8000 down" sh -c "test $up -lt 3000 && test $down -lt 8000"

# New mail in one folder: that folder alone is listed, the message fetched once.
dovecot_add_messages bob C7 1 >/dev/null
poll
check "new mail in C7: fetched" sh -c "test $RC -eq 0 && test \$(find '$M/new' -type f | wc -l) -eq 4"
check "new mail in C7: only C7 listed (1 EXAMINE)" sh -c "test \$(awk '/^> /{print toupper(\$3)}' '$T/proxy.log' | grep -c '^EXAMINE\$') -eq 1 && grep -q '^> [a-z0-9]* EXAMINE \"C7\"' '$T/proxy.log'"

# A flag changed by another client: HIGHESTMODSEQ moved, the folder is listed, nothing fetched twice.
doveadm -c "$DOVECOT_DIR/dovecot.conf" flags add -u bob '\Flagged' mailbox C3 1:1 ||
	setup_fail "doveadm flags add"
poll
check "a flag changed in C3: C3 listed again (1 EXAMINE), nothing fetched" \
	sh -c "test $RC -eq 0 && test \$(find '$M/new' -type f | wc -l) -eq 4 && test \$(awk '/^> /{print toupper(\$3)}' '$T/proxy.log' | grep -c '^EXAMINE\$') -eq 1 && grep -q '^> [a-z0-9]* EXAMINE \"C3\"' '$T/proxy.log'"
poll
check "then unchanged again: 20 STATUS, no EXAMINE" \
	sh -c "test \$(awk '/^> /{print toupper(\$3)}' '$T/proxy.log' | grep -c '^STATUS\$') -eq 20 && ! grep -q ' EXAMINE ' '$T/proxy.log'"
ids=$(msgids_tree "$M" | sort)
check "each message delivered once (4 files, no Message-ID twice)" \
	sh -c "test $(count) -eq 4 && test $(printf '%s\n' "$ids" | grep -c .) -eq 4 && test -z '$(printf '%s\n' "$ids" | uniq -d)'"

# A server without CONDSTORE: every folder listed, no STATUS.
dovecot_stop
printf 'protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS IDLE\n}\n' \
	>>"$DOVECOT_DIR/dovecot.conf"
dovecot_start
dovecot_add_messages bob C11 1 >/dev/null
poll
check "without CONDSTORE: every folder listed, no STATUS, the new message fetched" \
	sh -c "test $RC -eq 0 && test \$(find '$M/new' -type f | wc -l) -eq 5 && test \$(awk '/^> /{print toupper(\$3)}' '$T/proxy.log' | grep -c '^EXAMINE\$') -eq 20 && ! grep -q ' STATUS ' '$T/proxy.log'"
sanitizer_check
finish
