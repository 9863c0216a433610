#!/bin/bash
# corral deliver never bounces mail for a local mistake (corral(1), EXIT
# STATUS): broken rules or a config with errors deliver into INBOX unsorted,
# say why on stderr and in `corral status`; no usable Maildir keeps the
# message with the MTA (75); a forward with no relay keeps one copy. And
# `corral fetch` with broken rules fetches into INBOX and marks the account.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest

M=$T/Maildir
write_config "$T/config.yml" <<YML
maildir: $M
state: $T/state
rules: $T/rules.yml
YML
printf 'From: boss@example.com\nSubject: one\nMessage-ID: <1@t>\n\nbody\n' >"$T/msg"

# deliver_rc ARGS...: runs deliver on $T/msg; RC, stderr in $T/err.
deliver_rc() {
	RC=0
	"$CORRAL" "$@" deliver <"$T/msg" >"$T/out" 2>"$T/err" || RC=$?
}
# newest DIR: the newest message file in DIR (new/).
count() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# ---- broken rules: INBOX, exit 0, the error on stderr and in status ----
cat >"$T/rules.yml" <<'EOF'
- name: boss
  if: {frm: boss@example.com}
  then: {folder: Boss}
EOF
deliver_rc -c "$T/config.yml"
check "broken rules: exit 0 (Postfix would bounce 78)" test "$RC" -eq 0
check "broken rules: the message is in INBOX" test "$(count "$M/new")" -eq 1
check "broken rules: delivered byte-identical" cmp -s "$T/msg" "$(ls -d "$M"/new/* | head -1)"
check "broken rules: stderr names FILE:LINE:COL" grep -q "$T/rules.yml:2:8:" "$T/err"
check "broken rules: stderr says the message went to INBOX unsorted" \
	grep -q "delivered unsorted into INBOX" "$T/err"
"$CORRAL" -c "$T/config.yml" status >"$T/status" 2>&1
check "corral status shows deliver's problem with the rule's position" \
	grep -q "problem: .*rules have errors.*rules.yml:2:8" "$T/status"

# ---- fixed rules: sorted again, the status says recovered ----
sed -i 's/frm:/from:/' "$T/rules.yml"
deliver_rc -c "$T/config.yml"
check "fixed rules: exit 0, sorted into Boss" test "$RC" -eq 0 -a "$(count "$M/.Boss/new")" -eq 1
"$CORRAL" -c "$T/config.yml" status >"$T/status" 2>&1
check "corral status: the problem is past (since recovered)" grep -q "since recovered" "$T/status"

# ---- a config with errors whose maildir: reads: INBOX ----
write_config "$T/typo.yml" <<YML
maildir: $M
state: $T/state
rules: $T/rules.yml
acounts: {}
YML
deliver_rc -c "$T/typo.yml"
check "config with an unknown key: exit 0" test "$RC" -eq 0
check "config with an unknown key: INBOX, unsorted" test "$(count "$M/new")" -eq 2
check "config with an unknown key: stderr names it with its position" \
	grep -q "$T/typo.yml:4:1: acounts: unknown key" "$T/err"

# ---- no usable Maildir: 75, nothing written ----
before=$(find "$M" | sort)
deliver_rc -c "$T/missing.yml"
check "missing config: exit 75 (the MTA keeps the message and retries)" test "$RC" -eq 75
printf 'maildir: [\n' >"$T/syntax.yml"
deliver_rc -c "$T/syntax.yml"
check "config that is not YAML: exit 75" test "$RC" -eq 75
check "config that is not YAML: stderr says the message stays queued" \
	grep -q "stays with the mail system" "$T/err"
echo file >"$T/file"
write_config "$T/notdir.yml" <<YML
maildir: $T/file/Maildir
state: $T/state
YML
deliver_rc -c "$T/notdir.yml"
check "a Maildir that cannot be made: exit 75" test "$RC" -eq 75
deliver_rc -c "$T/config.yml" --frobnicate
check "a bad option before deliver: exit 75" test "$RC" -eq 75
RC=0
"$CORRAL" -c "$T/config.yml" deliver --frobnicate <"$T/msg" >"$T/out" 2>"$T/err" || RC=$?
check "a bad option after deliver: exit 75" test "$RC" -eq 75
check "a bad option is named" grep -q "frobnicate" "$T/err"
check "nothing was delivered by those runs" test "$before" = "$(find "$M" | sort)"
"$CORRAL" -c "$T/notdir.yml" status >"$T/status" 2>&1
check "corral status shows the delivery that could not be made" grep -q "problem: .*$T/file" "$T/status"

# ---- a forward without a relay: one copy, where the rules say or INBOX ----
cat >"$T/fwd.yml" <<'EOF'
- name: phone
  if: {from: boss@example.com}
  then: {forward: me@phone.example}
- name: both
  if: {subject: two}
  then: [{forward: me@phone.example}, {folder: Kept}]
EOF
write_config "$T/fwd-config.yml" <<YML
maildir: $T/M2
state: $T/state2
rules: $T/fwd.yml
YML
deliver_rc -c "$T/fwd-config.yml"
check "forward without a relay: exit 0" test "$RC" -eq 0
check "forward without a relay: one copy, in INBOX" \
	test "$(count "$T/M2/new")" -eq 1 -a ! -d "$T/M2/.corral-failed"
check "forward without a relay: stderr says why" grep -q "no smtp relay is configured" "$T/err"
printf 'From: x@y\nSubject: two\n\nz\n' >"$T/msg"
deliver_rc -c "$T/fwd-config.yml"
check "forward + folder without a relay: one copy, in the folder" \
	test "$(count "$T/M2/.Kept/new")" -eq 1 -a "$(count "$T/M2/new")" -eq 1 -a ! -d "$T/M2/.corral-failed"
"$CORRAL" -c "$T/fwd-config.yml" status >"$T/status" 2>&1
check "corral status shows the forward that could not be made" \
	grep -q "forward to me@phone.example is not possible" "$T/status"

finish
