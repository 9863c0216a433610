#!/usr/bin/env bash
# run-all: alone (loads both cores itself, or measures time under load)
# CONDSTORE and QRESYNC (RFC 7162) in `corral serve` against a large
# folder (NMSGS, 50,000 unless set): serve-qresync.py's sessions over a raw
# socket. Another session changes one flag and expunges three messages;
# the reconnecting session's SELECT (QRESYNC ...) gets exactly one
# VANISHED (EARLIER) and one FETCH, its bytes counted. Then the
# mod-sequences survive a restart of the server. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"
NMSGS=${NMSGS:-50000}

M=$(serve_maildir "$T/mail")
start=$(date +%s.%N)
serve_add "$M" "$NMSGS"
made=$(echo "$(date +%s.%N) - $start" | bc)
echo "# $NMSGS messages written in ${made}s"
serve_start "$M"
serve_tap 120 python3 "$here/serve-qresync.py" "$SERVE_PORT" "$NMSGS"

# The index keeps them: after a restart, nothing changed since.
highestmodseq() {
	python3 - "$SERVE_PORT" <<'PY'
import socket, sys, re
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rwb")
f.readline()
f.write(b"a LOGIN me sesame\r\nb STATUS INBOX (HIGHESTMODSEQ)\r\nc LOGOUT\r\n"); f.flush()
print(re.search(rb"HIGHESTMODSEQ (\d+)", f.read()).group(1).decode())
PY
}
hms=$(highestmodseq)
serve_stop
serve_start "$M"
hms2=$(highestmodseq)
if [ -n "$hms" ] && [ "$hms" = "$hms2" ]; then
	ok "HIGHESTMODSEQ survives a restart ($hms)"
else
	not_ok "HIGHESTMODSEQ survives a restart" "before $hms, after $hms2"
fi
serve_stop
serve_sanitizer_check
finish
