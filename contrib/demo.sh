#!/bin/bash
# make demo: a throwaway Dovecot on 127.0.0.1 with three sample accounts
# (IMAP, POP3, IMAP with two folders), about 300 realistic messages, a fetch
# that sorts them with the ready rule sets of rules/, and the result; then
# corral's own IMAP server on the sorted Maildir, listed by a real client
# (Python's imaplib). Everything lives in a temp dir and is removed at the
# end (KEEP=1 keeps it; SERVE=1 keeps the IMAP server running until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
CORRAL=${CORRAL:-$PWD/corral}
# Run as root here (the test servers need it): corral run and serve refuse
# root unless told, the other commands warn (corral(1)).
export CORRAL_ALLOW_ROOT=1
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
SERVE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVE_HASH=$(printf 'demo\n' | "$CORRAL" passwd)
cat > "$D/corral/config.yml" <<YML
maildir: $D/Maildir
state: $D/state
# corral serve: the sorted Maildir over IMAP, for user demo, password demo.
server:
  listen: [127.0.0.1:$SERVE_PORT]
  users:
    demo: {password_hash: "$SERVE_HASH"}
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
"$CORRAL" -c "$D/corral/config.yml" test --explain "$inv" >"$D/explain.out"
head -30 "$D/explain.out"

say "corral serve: the sorted Maildir over IMAP"
"$CORRAL" -c "$D/corral/config.yml" serve 2>"$D/serve.log" &
SERVE_PID=$!
for _ in $(seq 100); do grep -q listening "$D/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$D/serve.log" || { cat "$D/serve.log"; echo "corral serve did not start" >&2; exit 1; }
# A real client: Python's imaplib lists the folders with their counts
# (LIST-STATUS) and reads one subject.
python3 - "$SERVE_PORT" <<'PY'
import imaplib, re, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("demo", "demo")
typ, lines = m._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE STATUS (MESSAGES UNSEEN))")
rows = []
for st in m.untagged_responses.pop("STATUS", []):
    mm = re.match(rb'"?(.*?)"? \(MESSAGES (\d+) UNSEEN (\d+)\)', st)
    if mm and mm.group(2) != b"0":
        rows.append((mm.group(1).decode(), mm.group(2).decode(), mm.group(3).decode()))
for r in sorted(rows, key=lambda r: (r[0] != "INBOX", r[0])):
    print("  %-28s %4s messages, %4s unseen" % r)
m.select("INBOX", readonly=True)
typ, d = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("  INBOX message 1:", d[0][1].decode().strip())
m.logout()
PY
cat <<MSG

  Point a mail client at it (Thunderbird, neomutt, K-9 on this machine):
    IMAP server 127.0.0.1, port $SERVE_PORT, no encryption (loopback only)
    user demo, password demo
  e.g.  neomutt -f imap://demo@127.0.0.1:$SERVE_PORT/INBOX
MSG
if [ -n "${SERVE:-}" ]; then
	echo "  (SERVE=1: serving until Ctrl-C)"
	wait "$SERVE_PID" || true
else
	kill "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null || true
	echo "  stopped (run with SERVE=1 to keep it serving)"
fi

[ -n "${KEEP:-}" ] && echo && echo "kept: $D (Dovecot is stopped)"
exit 0
