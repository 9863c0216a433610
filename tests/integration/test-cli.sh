#!/bin/bash
# The small commands: init, passwd, status without a run, --help, --version.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest

export CORRAL_RULES_DIR=$PWD/rules
# Each preset offline (--no-verify: no login to the real providers in tests).
for p in gmail outlook fastmail icloud yahoo gmx posteo; do
	"$CORRAL" -c "$T/$p/config.yml" init --non-interactive --no-verify --provider "$p" \
		--email "jane.doe@example.com" > /dev/null
	rc=$?
	"$CORRAL" -c "$T/$p/config.yml" check > /dev/null 2>&1
	check "init --provider $p writes a config that corral check accepts" test "$rc$?" = 00
done
"$CORRAL" -c "$T/fm/config.yml" init --non-interactive --no-verify --email jane@FastMail.com > /dev/null
check "init picks the preset from the address's domain" grep -q 'host: imap.fastmail.com' "$T/fm/config.yml"
check "init names the account after the preset" grep -q '^  fastmail:' "$T/fm/config.yml"
"$CORRAL" -c "$T/op/config.yml" init --non-interactive --no-verify --email jane@gmail.com --protocol pop3 > /dev/null
check "init --protocol pop3 takes the preset's POP3 server" grep -q 'host: pop.gmail.com' "$T/op/config.yml"
check "init writes the config with mode 0600" test "$(stat -c %a "$T/gmail/config.yml")" = 600
check "init writes a rule file next to it" test -s "$T/gmail/rules.yml"
"$CORRAL" -c "$T/gmail/config.yml" init --non-interactive --no-verify --email a@gmail.com 2> "$T/err"
check "init refuses to overwrite (exit 73)" test $? -eq 73
check "init says how to overwrite" grep -q -- '--force' "$T/err"
"$CORRAL" -c "$T/gmail/config.yml" init --non-interactive --no-verify --force --provider fastmail --email a@example.com > /dev/null
check "init --force overwrites" grep -q imap.fastmail.com "$T/gmail/config.yml"
"$CORRAL" -c "$T/x/config.yml" init --non-interactive --provider nope --email a@b.c 2> "$T/err"
check "init with an unknown preset exits 64 and lists the presets" bash -c "[ $? -eq 64 ] && grep -q gmail '$T/err'"
"$CORRAL" -c "$T/x/config.yml" init --non-interactive --no-verify --email a@gmail.com --tls maybe 2> "$T/err"
check "init with a wrong --tls exits 64 and names the choices" bash -c "[ $? -eq 64 ] && grep -q starttls '$T/err'"

hash=$(printf 'correct horse\n' | "$CORRAL" passwd)
check "passwd prints a SHA-512 crypt hash" bash -c "[[ '$hash' == '\$6\$'* ]]"
salt=$(echo "$hash" | cut -d'$' -f3)
check "passwd's hash verifies the password" test "$(openssl passwd -6 -salt "$salt" 'correct horse')" = "$hash"
check "passwd uses a new salt each time" test "$(printf 'correct horse\n' | "$CORRAL" passwd)" != "$hash"
printf '' | "$CORRAL" passwd > /dev/null 2>&1
check "passwd without a password exits 65" test $? -eq 65

"$CORRAL" -c "$T/gmail/config.yml" status > "$T/status"
check "status before any fetch says never" grep -q 'last success:  never' "$T/status"

"$CORRAL" --help > "$T/help"
for c in fetch deliver test refile check status passwd init; do
	check "--help lists $c" grep -q "corral $c" "$T/help"
done
"$CORRAL" > /dev/null 2>&1
check "no command exits 64" test $? -eq 64

finish
