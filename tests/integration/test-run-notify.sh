#!/usr/bin/env bash
# `corral run` and NOTIFY (RFC 5465) against the real Dovecot: ten folders
# of one account are watched over ONE connection (counted with `doveadm
# who`), and a message delivered into each folder (doveadm save, as a
# delivery agent would) is fetched within 2 s. Then Dovecot without NOTIFY
# in its capability: one IDLE connection per folder instead, said once in
# the log, and mail still arrives. Bounded: about 40 s.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
need doveadm
mktest
DPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_setup >/dev/null
# Reports about folders other than the selected one come from the mailbox list index.
printf 'mailbox_list_index = yes\n' >>"$DOVECOT_DIR/dovecot.conf"
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

folders=()
for i in $(seq 1 10); do
	dovecot_maildir alice "F$i" >/dev/null
	folders+=("F$i")
done
list=$(IFS=,; echo "${folders[*]}")
M=$T/Maildir
fetch_account nt alice imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true" \
	"folders: [$list]" "poll: 1h" |
	fetch_config "$T/config.yml" "$M" "$T/state"

dv() { doveadm -c "$DOVECOT_DIR/dovecot.conf" "$@"; }
# Alice's IMAP connections now.
conns() { dv who -1 2>/dev/null | awk '$1 == "alice" && $2 == "imap"' | wc -l; }
count() { find "$M/new" -type f 2>/dev/null | wc -l; }
deliver() { # USER FOLDER SUBJECT
	printf 'From: a@example.com\nTo: %s@example.com\nSubject: %s\nMessage-ID: <%s.%s@corral.test>\n\nhello\n' \
		"$1" "$3" "$3" "$$" | dv save -u "$1" -m "$2"
}

"$CORRAL" -c "$T/config.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
check "the daemon watches the 10 folders over NOTIFY" \
	wait_until 15 grep -q 'nt: waiting for new mail in 10 folders over one connection (NOTIFY)' "$T/run.log"
# The catch-up fetch after the watcher is ready: done when it logged every folder.
wait_until 10 sh -c "test \$(grep -c 'nt: F10: ' '$T/run.log') -ge 2"
check "one IMAP connection for the 10 folders (doveadm who)" wait_until 5 sh -c "test \$(doveadm -c '$DOVECOT_DIR/dovecot.conf' who -1 2>/dev/null | awk '\$1 == \"alice\"' | wc -l) -eq 1"
echo "# alice's IMAP connections while watching 10 folders: $(conns)"
late=0
worst=0
for i in $(seq 1 10); do
	deliver alice "F$i" "notify-$i" || setup_fail "doveadm save into F$i"
	# From the moment the message is in the folder, to the millisecond.
	t0=$(date +%s%N)
	ms=0
	while [ "$(count)" -lt "$i" ] && [ "$ms" -le 2000 ]; do
		sleep 0.02
		ms=$((($(date +%s%N) - t0) / 1000000))
	done
	[ "$ms" -gt "$worst" ] && worst=$ms
	[ "$(count)" -ge "$i" ] && [ "$ms" -le 2000 ] || late=$((late + 1))
done
echo "# slowest of 10 deliveries fetched through NOTIFY: $worst ms"
check "a message delivered into each of the 10 folders is fetched within 2 s" test "$late" -eq 0
check "each message once: 10 files" test "$(count)" -eq 10
check "no IDLE connection was opened" sh -c "! grep -q '(IDLE)' '$T/run.log'"
check "still one connection after the deliveries" wait_until 5 sh -c "test \$(doveadm -c '$DOVECOT_DIR/dovecot.conf' who -1 2>/dev/null | awk '\$1 == \"alice\"' | wc -l) -eq 1"
# A second message into a folder already fetched from.
deliver alice F1 "notify-again" || setup_fail "doveadm save into F1"
check "a second message into F1 arrives too" wait_until 2 sh -c "test \$(find '$M/new' -type f | wc -l) -ge 11"

# Mail into a folder that is not watched: the server's report is ignored, nothing is fetched.
dovecot_maildir alice Other >/dev/null
sleep 1
before=$(grep -c 'nt: F[0-9]*: ' "$T/run.log")
deliver alice Other "not-watched" || setup_fail "doveadm save into Other"
sleep 2
check "a report about a folder not watched fetches nothing" \
	test "$(grep -c 'nt: F[0-9]*: ' "$T/run.log")" -eq "$before"

# The NOTIFY connection dropped (doveadm kick): opened again, every folder fetched, mail still pushed.
ups=$(grep -c 'nt: waiting for new mail in 10 folders' "$T/run.log")
dv kick alice >/dev/null 2>&1 || setup_fail "doveadm kick"
check "a dropped NOTIFY connection is opened again" \
	wait_until 10 sh -c "test \$(grep -c 'nt: waiting for new mail in 10 folders' '$T/run.log') -gt $ups"
sleep 1
n=$(count)
deliver alice F5 "after-kick" || setup_fail "doveadm save into F5"
check "after the new connection, mail pushed into F5 arrives within 2 s" \
	wait_until 2 sh -c "test \$(find '$M/new' -type f | wc -l) -gt $n"

# A watched folder deleted, then created again with mail in it: the mail arrives.
dv mailbox delete -u alice F9 >/dev/null 2>&1 || setup_fail "doveadm mailbox delete F9"
check "a watched folder deleted: the fetch of it says so" \
	wait_until 5 grep -q "nt: .*cannot open folder 'F9'" "$T/run.log"
n=$(count)
dv mailbox create -u alice F9 >/dev/null 2>&1 || setup_fail "doveadm mailbox create F9"
deliver alice F9 "recreated" || setup_fail "doveadm save into F9"
check "the folder created again: its new mail arrives (within 5 s)" \
	wait_until 5 sh -c "test \$(find '$M/new' -type f | wc -l) -gt $n"
ids=$(msgids_tree "$M" | sort)
check "every message of the NOTIFY run once (13 files, no Message-ID twice)" \
	sh -c "test $(count) -eq 13 && test $(printf '%s\n' "$ids" | grep -c .) -eq 13 && test -z '$(printf '%s\n' "$ids" | uniq -d)'"
kill -TERM "$DPID"
wait_until 10 sh -c "! kill -0 $DPID 2>/dev/null"
DPID=

# Dovecot without NOTIFY: the IDLE fallback, said once.
dovecot_stop
# Ten IDLE connections and a fetch pass Dovecot's 10 per user and address.
printf 'protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR UIDPLUS IDLE CONDSTORE\n  mail_max_userip_connections = 20\n}\n' \
	>>"$DOVECOT_DIR/dovecot.conf"
dovecot_start
M=$T/M2
fetch_account nn alice imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true" \
	"folders: [$list]" "poll: 1h" |
	fetch_config "$T/nn.yml" "$M" "$T/state2"
"$CORRAL" -c "$T/nn.yml" run >"$T/run.out" 2>"$T/run2.log" </dev/null &
DPID=$!
check "without NOTIFY: the log says the account falls back to IDLE" \
	wait_until 15 grep -q 'nn: .*does not offer NOTIFY; one IDLE connection per folder instead (10)' "$T/run2.log"
check "without NOTIFY: one IDLE connection per folder" \
	wait_until 15 sh -c "test \$(grep -c 'nn: F[0-9]*: waiting for new mail (IDLE)' '$T/run2.log') -eq 10"
wait_until 10 sh -c "test \$(grep -c 'nn: F10: ' '$T/run2.log') -ge 1"
n=$(count)
deliver alice F7 "idle-fallback" || setup_fail "doveadm save into F7"
check "without NOTIFY: mail arrives through IDLE within 2 s" wait_until 2 sh -c "test \$(find '$M/new' -type f | wc -l) -gt $n"
sleep 1
check "without NOTIFY: said once" test "$(grep -c 'does not offer NOTIFY' "$T/run2.log")" -eq 1
kill -TERM "$DPID"
wait_until 10 sh -c "! kill -0 $DPID 2>/dev/null"
DPID=
check "the daemons' logs have no sanitizer report" \
	sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/run.log' '$T/run2.log'"
finish
