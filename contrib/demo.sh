#!/bin/bash
# make demo: a throwaway Dovecot on 127.0.0.1 with three sample accounts
# (IMAP, POP3, IMAP with two folders), about 300 realistic messages, a fetch
# that sorts them with the ready rule sets of rules/, and the result.
# Everything lives in a temp dir and is removed at the end (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
CORRAL=${CORRAL:-$PWD/corral}
. tests/integration/lib-dovecot.sh

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

dovecot_setup
if [ -n "${KEEP:-}" ]; then
	trap dovecot_stop EXIT
else
	trap dovecot_cleanup EXIT
fi
D=$DOVECOT_DIR
dovecot_start

say "Sample mail: three accounts on a local Dovecot"
python3 bench/gen-messages.py 300 "$D/sample" >/dev/null
files=("$D"/sample/*.eml)
dovecot_add_files alice INBOX "${files[@]:0:120}"
dovecot_add_files bob INBOX "${files[@]:120:100}"
dovecot_add_files carol INBOX "${files[@]:220:50}"
dovecot_add_files carol Receipts "${files[@]:270:30}"
for u in alice bob carol; do echo "  $u: $(dovecot_count "$u") messages in INBOX"; done
echo "  carol: $(dovecot_count carol Receipts) messages in Receipts"

mkdir -p "$D/corral"
cat > "$D/corral/photos.yml" <<'YML'
# The demo's own rule, after the ready sets: pictures sniffed from their
# bytes (whatever the Content-Type says), one folder per account.
- name: photos
  if: {attachment: 'image/*'}
  then: {folder: 'Photos/${account}'}
YML
R=$PWD/rules
cat > "$D/corral/config.yml" <<YML
maildir: $D/Maildir
state: $D/state
# The ready rule sets of rules/ (installed in share/corral/rules), then our own.
rules: [$R/spam.yml, $R/notifications.yml, $R/lists.yml, $R/receipts.yml, photos.yml]
dedupe: 30d
accounts:
  alice:
    protocol: imap
    host: 127.0.0.1
    port: $DOVECOT_IMAPS_PORT
    ca_file: $DOVECOT_CA
    user: alice
    password: $DOVECOT_PASS_alice
  bob:
    protocol: pop3
    host: 127.0.0.1
    port: $DOVECOT_POP3_PORT
    tls: starttls
    ca_file: $DOVECOT_CA
    user: bob
    password: $DOVECOT_PASS_bob
    keep: false
  carol:
    protocol: imap
    host: 127.0.0.1
    port: $DOVECOT_IMAPS_PORT
    ca_file: $DOVECOT_CA
    user: carol
    password: $DOVECOT_PASS_carol
    folders: [INBOX, Receipts]
YML
chmod 600 "$D/corral/config.yml"
echo "  config: $D/corral/config.yml"

say "corral check"
"$CORRAL" -c "$D/corral/config.yml" check

say "corral fetch (alice IMAP over TLS, bob POP3 with STARTTLS and keep: false, carol two IMAP folders)"
time "$CORRAL" -c "$D/corral/config.yml" fetch

say "The Maildir: folder, messages"
(cd "$D/Maildir" && for f in . .[!.]*; do
	n=$(find "$f/new" "$f/cur" -type f 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || continue
	name=${f#.}; name=${name//./\/}; printf '  %-28s %4d\n' "${name:-INBOX}" "$n"
done)
echo "  bob's server mailbox now holds $(dovecot_count bob) messages (keep: false)"

say "A second fetch finds nothing new"
"$CORRAL" -c "$D/corral/config.yml" fetch

say "Why did a message land where it did? corral test --explain"
inv=$(grep -l 'invoice' "$D"/sample/*.eml | head -1)
"$CORRAL" -c "$D/corral/config.yml" test --explain "$inv" | head -30

[ -n "${KEEP:-}" ] && echo && echo "kept: $D (Dovecot is stopped)"
exit 0
