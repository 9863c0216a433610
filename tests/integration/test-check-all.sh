#!/bin/bash
# corral check reports every problem it can know in one run (corral(1)):
# the config's and every rule file's together, each as FILE:LINE:COL; and
# what cannot work in this config: a forward without a relay, a pipe whose
# program does not exist, an `account:` that names no account.
# `corral check --rules FILE` checks rule files alone.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest

# run ARGS...: corral check; RC, stdout in $T/out, stderr in $T/err.
run() {
	RC=0
	"$CORRAL" "$@" >"$T/out" 2>"$T/err" || RC=$?
}
at() { grep -c "^$1:[0-9]*:[0-9]*: " "$T/err"; }

# ---- 10 config errors and 10 rule errors, all printed ----
write_config "$T/config.yml" <<YML
maildir: $T/Maildir
state: $T/state
rules: $T/rules.yml
dedupe: often
max_connections: 0
colour: blue
smtp:
  port: 99999
  tls: maybe
accounts:
  a:
    protocol: imap4
    host: imap.example.com
    user: me
    password_command: pass a
    poll: soon
    timeout: -1
    keep: perhaps
  b:
    protocol: pop3
    user: me
    password_command: pass b
    folders: 3
YML
cat >"$T/rules.yml" <<'EOF'
- name: r1
  if: {frm: x}
  then: {folder: A}
- name: r2
  if: {subject: {regex: '('}}
  then: {folder: B}
- name: r3
  if: {size: 'big'}
  then: {folder: C}
- name: r4
  if: {from: x}
  then: {flag: red}
- name: r5
  if: {from: x}
  then: {folder: '../up'}
- name: r6
  if: {from: x}
  then: {forward: 'not an address'}
- name: r7
  if: {from: x}
  then: {pipe: []}
- name: r8
  if: {from: x}
  then: {teleport: y}
- name: r9
  if: {from: x}
  then: discard
  continue: sometimes
- name: r10
  if: {header: 42}
  then: {folder: D}
EOF
run -c "$T/config.yml" check
check "check with config and rule errors exits 78" test "$RC" -eq 78
n_conf=$(at "$T/config.yml")
n_rules=$(at "$T/rules.yml")
check "all 10 config errors are printed with FILE:LINE:COL (got $n_conf)" test "$n_conf" -ge 10
check "all 10 rule errors are printed with FILE:LINE:COL (got $n_rules)" test "$n_rules" -ge 10
for r in r1 r2 r3 r4 r5 r6 r7 r8 r9 r10; do
	grep -q "rule #[0-9]* \"$r\"" "$T/err" || not_ok "rule $r has its error" "$(head -c 300 "$T/err")"
done
check "the last line counts the problems" grep -qE "^corral check: [0-9]+ problems$" "$T/err"

# ---- what cannot work in this config ----
write_config "$T/ok.yml" <<YML
maildir: $T/Maildir
state: $T/state
rules: $T/lint.yml
accounts:
  work:
    protocol: imap
    host: imap.example.com
    user: me
    password_command: pass work
YML
cat >"$T/lint.yml" <<'EOF'
- name: phone
  if: {from: boss@example.com}
  then: {forward: me@phone.example}
- name: archive
  if: {subject: archive}
  then: {pipe: [no-such-program-corral, --x]}
- name: path
  if: {subject: path}
  then: {pipe: /nonexistent/bin/tool}
- name: home
  if: {account: hmoe}
  then: {folder: Home}
- name: fine
  if: {all: [{account: 'wo*'}, {from: x}]}
  then: [{pipe: [cat]}, {folder: Work}]
EOF
run -c "$T/ok.yml" check
check "check finds what cannot work: exit 78" test "$RC" -eq 78
check "a forward without smtp: at its position" \
	grep -q "^$T/lint.yml:3:19: rule #1 \"phone\": then.forward: forward to me@phone.example needs the smtp relay" "$T/err"
check "a pipe whose program is not in PATH: at its position" \
	grep -q "^$T/lint.yml:6:16: rule #2 \"archive\": then.pipe: program 'no-such-program-corral' is not found in PATH" "$T/err"
check "a pipe whose program path does not exist: at its position" \
	grep -q "^$T/lint.yml:9:16: rule #3 \"path\": then.pipe: program '/nonexistent/bin/tool' does not exist" "$T/err"
check "an account: that names no account: at its position, with the accounts" \
	grep -q "^$T/lint.yml:11:17: rule #4 \"home\": account: 'hmoe' matches no account of $T/ok.yml (its accounts: work)" "$T/err"
check "a glob that matches an account, a pipe to cat: no complaint" test "$(grep -c '"fine"' "$T/err")" -eq 0
check "exactly 4 problems" grep -q "^corral check: 4 problems$" "$T/err"

# With a relay and the account and programs fixed: ok.
cat >>"$T/ok.yml" <<YML
smtp:
  host: localhost
YML
sed -i 's/no-such-program-corral/true/; s|/nonexistent/bin/tool|/bin/cat|; s/hmoe/work/' "$T/lint.yml"
run -c "$T/ok.yml" check
check "fixed: check says ok, exit 0" test "$RC" -eq 0
check "fixed: the ok line" grep -q "ok (1 account, 5 default rules)" "$T/out"

# An account's own rules are checked too, once each.
write_config "$T/own.yml" <<YML
maildir: $T/Maildir
rules: $T/lint.yml
accounts:
  a:
    protocol: imap
    host: h.example.com
    user: me
    password_command: pass a
    rules: $T/own-rules.yml
  b:
    protocol: imap
    host: h.example.com
    user: me
    password_command: pass b
    rules: $T/own-rules.yml
YML
printf -- '- if: {from: x}\n  then: {forward: y@z}\n' >"$T/own-rules.yml"
run -c "$T/own.yml" check
check "an account's own rules are linted, reported once for two accounts" \
	test "$(grep -c "own-rules.yml:2:19:" "$T/err")" -eq 1

# ---- --rules FILE: rule files alone ----
run check --rules "$T/rules.yml"
check "check --rules FILE: exit 78, the rule errors" test "$RC" -eq 78 -a "$(at "$T/rules.yml")" -ge 10
run check --rules "$T/lint.yml"
check "check --rules FILE: a good file is ok without any config" \
	test "$RC" -eq 0 -a "$(grep -c 'ok (5 rules)' "$T/out")" -eq 1
run check "$T/rules.yml"
check "check FILE without --rules: usage, exit 64" test "$RC" -eq 64 -a "$(grep -c -- '--rules' "$T/err")" -ge 1

# ---- a broken config still has its rules checked ----
write_config "$T/broken.yml" <<YML
maildir: $T/Maildir
rules: $T/rules.yml
bogus: 1
YML
run -c "$T/broken.yml" check
check "a config error and the rules' errors together" \
	test "$(at "$T/broken.yml")" -eq 1 -a "$(at "$T/rules.yml")" -ge 10

finish
