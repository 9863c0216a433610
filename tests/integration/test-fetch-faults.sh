#!/bin/bash
# Crashes at the exact steps of a batch's commit where a random kill -9
# rarely lands (CORRAL_FAULT makes corral SIGKILL itself there), for IMAP
# keep: true, IMAP keep: false and POP3 keep: false at once; then a clean
# run: every message exactly once (by Message-ID), keep: false servers empty.
#   after-intents  the intents are durable, nothing is linked yet
#   mid-link       half of the batch's links exist, no directory fsynced
#   after-maildir  every copy is durable, the journal has no "done" yet
#   after-done     done is journaled, the server deletion has not happened
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
dovecot_setup >/dev/null
trap 'dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_start

cat >"$T/rules.yml" <<'YML'
- name: two copies
  if: {subject: 'Test message *5'}
  then: [{folder: Copies}, keep]
YML
for fault in after-intents mid-link after-maildir after-done; do
	exp=$T/$fault.expected
	md=$T/$fault/Maildir
	: > "$exp"
	track_add "$exp" alice INBOX 120
	track_add "$exp" bob INBOX 120
	track_add "$exp" carol INBOX 120
	{
		fetch_account keep alice imap implicit "$DOVECOT_IMAPS_PORT" true
		fetch_account del bob imap starttls "$DOVECOT_IMAP_PORT" false
		fetch_account pop carol pop3 implicit "$DOVECOT_POP3S_PORT" false
	} | fetch_config "$T/$fault.yml" "$md" "$T/$fault/state" "rules: rules.yml"
	CORRAL_FAULT=$fault corral_run 60 -c "$T/$fault.yml" fetch
	check_died=$RC
	check "$fault: the crashed run exits 75 (its processes died)" test "$check_died" -eq 75
	corral_run 60 -v -c "$T/$fault.yml" fetch
	check "$fault: the next run exits 0" test "$RC" -eq 0
	case $fault in
	after-intents | mid-link | after-maildir)
		# The crash left intents: the next run resolved them from the files that exist.
		check "$fault: the next run recovered the interrupted deliveries" \
			grep -qE 'recovered [1-9][0-9]* interrupted deliveries' "$T/err" ;;
	esac
	[ "$fault" = mid-link ] && check "mid-link: some were partial and were completed" \
		grep -q 'completing an earlier delivery' "$T/err"
	if exactly_once "$exp" "$md" folder; then
		ok "$fault: INBOX: 360 messages, lost 0, duplicated 0"
	else
		not_ok "$fault: INBOX: lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
	fi
	grep -E '^<[0-9]*5\.' "$exp" > "$exp.copies"
	if exactly_once "$exp.copies" "$md/.Copies" folder; then
		ok "$fault: Copies: the 36 messages filed twice, lost 0, duplicated 0"
	else
		not_ok "$fault: Copies: lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
	fi
	check "$fault: keep: false servers are empty" test "$(dovecot_count bob)$(dovecot_count carol)" = 00
	# Reset alice's mailbox for the next step (keep: true left it there).
	rm -f "$(dovecot_maildir alice)"/new/* "$(dovecot_maildir alice)"/cur/*
done
dovecot_alive_check
sanitizer_check
finish
