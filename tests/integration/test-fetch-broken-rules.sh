#!/usr/bin/env bash
# Broken rules at the start of `corral fetch` and `corral run` (corral(1)):
# the mail is fetched into INBOX unsorted rather than left on the server
# with no sign; the account's status says why and `fetch` exits 78; a rules
# file broken by a reload (SIGHUP) keeps the rules that run.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"
mktest
DPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

M=$T/Maildir
cat >"$T/rules.yml" <<'EOF'
- name: all
  if: {subjct: "*"}
  then: {folder: Sorted}
EOF
fetch_account acct bob imap implicit "$DOVECOT_IMAPS_PORT" true "poll: 2s" "idle: false" |
	fetch_config "$T/config.yml" "$M" "$T/state" "rules: $T/rules.yml"
inbox() { find "$M/new" "$M/cur" -type f 2>/dev/null | wc -l; }
sorted() { find "$M/.Sorted/new" "$M/.Sorted/cur" -type f 2>/dev/null | wc -l; }
inbox_has() { [ "$(inbox)" -ge "$1" ]; }
sorted_has() { [ "$(sorted)" -ge "$1" ]; }

# ---- fetch ----
track_add "$T/exp" bob INBOX 4 >/dev/null
corral_run 60 -c "$T/config.yml" fetch
check "fetch with broken rules exits 78" test "$RC" -eq 78
check "fetch with broken rules: the 4 messages are in INBOX" test "$(inbox)" -eq 4
check "fetch with broken rules: stderr names the rule's position" \
	grep -q "$T/rules.yml:2:8:" "$T/err"
corral_run 10 -c "$T/config.yml" status
check "status: the account's error is the rules', with INBOX named" \
	grep -q "last error: .*rules have errors.*rules.yml:2:8.*INBOX unsorted" "$T/out"
corral_run 60 -c "$T/config.yml" fetch
check "a second fetch fetches nothing again" test "$(inbox)" -eq 4

# ---- run: starts with broken rules, a SIGHUP with fixed ones sorts ----
"$CORRAL" -c "$T/config.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
dovecot_add_messages bob INBOX 2 >/dev/null
check "run with broken rules at its start fetches into INBOX" wait_until 20 inbox_has 6
check "run says why on its log" grep -q "rules have errors" "$T/run.log"
check "the account's status names the rules" \
	wait_until 10 sh -c "'$CORRAL' -c '$T/config.yml' status | grep -q 'last error: .*rules have errors'"
sed -i 's/subjct/subject/' "$T/rules.yml"
kill -HUP "$DPID"
sleep 1
dovecot_add_messages bob INBOX 1 >/dev/null
check "after SIGHUP with fixed rules, new mail is sorted" wait_until 20 sorted_has 1
sed -i 's/subject:/subjct:/' "$T/rules.yml"
kill -HUP "$DPID"
check "a reload with broken rules says it keeps the running ones" \
	wait_until 10 grep -q "still running the one loaded before" "$T/run.log"
dovecot_add_messages bob INBOX 1 >/dev/null
check "after a broken reload, new mail is still sorted" wait_until 20 sorted_has 2
kill "$DPID"
wait "$DPID"
check "run stops on SIGTERM with exit 0" test $? -eq 0
DPID=
check "nothing lost: INBOX 6 + Sorted 2" test "$(inbox)" -eq 6 -a "$(sorted)" -eq 2

# ---- a forward with no relay: the fetched message is kept once, in INBOX ----
M2=$T/M2
printf -- '- if: {subject: "*"}\n  then: {forward: me@phone.example}\n' >"$T/fwd.yml"
fetch_account acct2 carol imap implicit "$DOVECOT_IMAPS_PORT" true |
	fetch_config "$T/fwd-config.yml" "$M2" "$T/state2" "rules: $T/fwd.yml"
dovecot_add_messages carol INBOX 2 >/dev/null
corral_run 60 -c "$T/fwd-config.yml" fetch
check "fetch with a forward and no relay: exit 0" test "$RC" -eq 0
check "fetch with a forward and no relay: both messages in INBOX, no corral-failed" \
	test "$(find "$M2/new" -type f | wc -l)" -eq 2 -a ! -d "$M2/.corral-failed"
check "fetch with a forward and no relay: the log says why" grep -q "no smtp relay is configured" "$T/err"

sanitizer_check
finish
