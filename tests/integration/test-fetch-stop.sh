#!/bin/bash
# SIGTERM cuts a fetch's network waits short: against servers that accept
# the connection and then say nothing (one never greets, one greets and
# goes silent after the login), `corral fetch` with a 60 s timeout ends
# within a few seconds of SIGTERM, exits 75 and says it was interrupted.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
need python3 timeout
mktest
case $CORRAL in /*) ;; *) CORRAL=$PWD/$CORRAL ;; esac

# mute: accepts and never writes; chatty: an IMAP greeting and a login, then silence.
python3 - "$T/port" <<'PY' &
import socket, sys, threading
def serve(s, greet):
    while True:
        c, _ = s.accept()
        def talk(c=c):
            f = c.makefile("rb")
            if greet:
                c.sendall(b"* OK [CAPABILITY IMAP4rev1] hi\r\n")
                for line in f:
                    tag = line.split(b" ", 1)[0]
                    if b"LOGIN" in line.upper() or b"AUTHENTICATE" in line.upper():
                        c.sendall(tag + b" OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n")
                    elif b"CAPABILITY" in line.upper():
                        c.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK\r\n")
                    # anything else: silence
            else:
                f.read()
        threading.Thread(target=talk, daemon=True).start()
socks = []
for greet in (False, True):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8); socks.append(s)
    threading.Thread(target=serve, args=(s, greet), daemon=True).start()
open(sys.argv[1] + ".tmp", "w").write("%d %d\n" % (socks[0].getsockname()[1], socks[1].getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
threading.Event().wait(120)
PY
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$T"' EXIT
for ((i = 0; i < 50; i++)); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || setup_fail "the silent test servers did not start"
read -r mute chatty <"$T/port"

for kind in mute chatty; do
	port=${!kind}
	write_config "$T/$kind.yml" <<YML
maildir: $T/$kind/Maildir
accounts:
  a:
    protocol: imap
    host: 127.0.0.1
    port: $port
    tls: off
    allow_plaintext: true
    user: u
    password: p
    timeout: 60s
YML
	"$CORRAL" -c "$T/$kind.yml" fetch >"$T/$kind.out" 2>"$T/$kind.err" &
	pid=$!
	sleep 1.5
	kill -TERM "$pid"
	start=$SECONDS
	timeout 20 tail --pid="$pid" -f /dev/null
	wait "$pid"
	rc=$?
	took=$((SECONDS - start))
	check "$kind server: fetch exits 75 after SIGTERM (got $rc)" test "$rc" -eq 75
	check "$kind server: it ended within 5 s of SIGTERM (took ${took} s), not after the 60 s timeout" \
		test "$took" -le 5
	check "$kind server: the error says it was interrupted" grep -q "interrupted" "$T/$kind.err"
	check "$kind server: nothing was delivered" test -z "$(find "$T/$kind" -type f 2>/dev/null | grep -v /tmp/)"
done
finish
