#!/usr/bin/env bash
# Mod-sequences (RFC 7162) for other writers' changes: `corral serve` and a
# real Dovecot on one Maildir. A CONDSTORE session notes HIGHESTMODSEQ;
# then `corral deliver` adds a message and Dovecot flags another (its
# rename of the file); the next session's UID FETCH (CHANGEDSINCE) names
# exactly those two, with new mod-sequences above the old HIGHESTMODSEQ.
# Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
trap 'serve_stop; dovecot_cleanup; rm -rf "$T"' EXIT
. "$here/lib-serve.sh"
need_py socket imaplib
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

M=$(dovecot_maildir alice)
dovecot_add_messages alice INBOX 5 >/dev/null || setup_fail "messages for alice"
serve_start "$M"

# One corral session: CMD... sent after LOGIN; its answer on stdout.
session() {
	python3 - "$SERVE_PORT" "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rwb")
f.readline()
cmds = ["LOGIN me sesame"] + sys.argv[2:] + ["LOGOUT"]
for i, c in enumerate(cmds):
    f.write(("t%d %s\r\n" % (i, c)).encode()); f.flush()
    while True:
        l = f.readline().decode().rstrip("\r\n")
        print(l)
        if l.startswith("t%d " % i) or not l:
            break
PY
}

out=$(session "ENABLE CONDSTORE" "SELECT INBOX (CONDSTORE)")
h0=$(echo "$out" | sed -n 's/.*HIGHESTMODSEQ \([0-9]*\).*/\1/p' | head -1)
check "SELECT (CONDSTORE) says HIGHESTMODSEQ" test -n "$h0"

printf 'From: a@example.org\nSubject: delivered\nMessage-ID: <d@corral.test>\n\nbody\n' |
	"$CORRAL" -c "$T/config.yml" deliver || setup_fail "corral deliver"
# Dovecot runs as its mail user: what corral wrote becomes its own.
chown -R "$(stat -c %u:%g "$DOVECOT_DIR/home/alice")" "$M"
dv=$(python3 - "$DOVECOT_IMAP_PORT" "$DOVECOT_PASS_alice" <<'PY' 2>&1
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice", sys.argv[2])
m.select("INBOX")
typ, d = m.uid("SEARCH", None, "SUBJECT", "\"Test message 2\"")
uid = d[0].split()[0].decode()
typ, d = m.uid("STORE", uid, "+FLAGS", "(\\Flagged)")
print("flagged", uid, typ)
m.logout()
PY
)
echo "$dv" | sed 's/^/# /'
fuid=$(echo "$dv" | sed -n 's/^flagged \([0-9]*\) OK$/\1/p')
check "Dovecot flagged a message" test -n "$fuid"
check "Dovecot renamed its file with F" sh -c "ls '$M/cur' | grep -q ':2,.*F'"

out=$(session "ENABLE CONDSTORE" "SELECT INBOX (CONDSTORE)" "UID FETCH 1:* (FLAGS) (CHANGEDSINCE $h0)" \
	"UID SEARCH SUBJECT delivered")
echo "$out" | grep -E 'FETCH|SEARCH|HIGHEST' | sed 's/^/# /'
h1=$(echo "$out" | sed -n 's/.*HIGHESTMODSEQ \([0-9]*\).*/\1/p' | head -1)
duid=$(echo "$out" | sed -n 's/^\* SEARCH \([0-9]*\)$/\1/p')
fetches=$(echo "$out" | grep -c ' FETCH (')
check "HIGHESTMODSEQ grew ($h0 -> $h1)" test "${h1:-0}" -gt "$h0"
check "CHANGEDSINCE names two messages ($fetches)" test "$fetches" -eq 2
line_of() { echo "$out" | grep -E "^\* [0-9]+ FETCH \(.* UID $1\)\$"; }
check "the delivered message (UID $duid) has a new mod-sequence" \
	sh -c 'echo "$1" | grep -q "MODSEQ ("' _ "$(line_of "$duid")"
check "Dovecot's flag change (UID $fuid) has a new mod-sequence" \
	sh -c 'echo "$1" | grep -F "MODSEQ (" | grep -qF "\\Flagged"' _ "$(line_of "$fuid")"
serve_stop
serve_sanitizer_check
finish
