#!/usr/bin/env bash
# RFC 7162's example exchanges (CONDSTORE, QRESYNC, seq-match data,
# NOMODSEQ) replayed against `corral serve` by serve-condstore-rfc.py over a
# raw socket: the vendored imaptest has no condstore or qresync groups.
# The folder RO cannot be written by the server (a read-only bind mount in
# the server's own mount namespace when run as root, else chmod a-w), so
# that it is NOMODSEQ. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"

M=$(serve_maildir "$T/mail")
serve_add "$M" 30
RO=$(serve_maildir "$T/mail" RO)
serve_add "$RO" 3
# The UID lists and indexes first, while RO can still be written.
serve_start "$M"
python3 - "$SERVE_PORT" <<'PY' || setup_fail "STATUS before RO is made read-only"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"a LOGIN me sesame\r\nb STATUS RO (MESSAGES)\r\nc SELECT RO\r\nd LOGOUT\r\n")
data = b""
while b"d OK" not in data:
    chunk = s.recv(65536)
    if not chunk:
        sys.exit(1)
    data += chunk
sys.exit(0 if b"MESSAGES 3" in data else 1)
PY
serve_stop
if [ "$(id -u)" -eq 0 ]; then
	need unshare mount
	# root writes anywhere chmod says not: a read-only mount, the server's own.
	real=$CORRAL
	CORRAL=$T/corral-ro
	printf '#!/bin/sh\nexec unshare -m sh -c '\''mount --bind -o ro "$0" "$0" && exec "$@"'\'' "%s" "%s" "$@"\n' \
		"$RO" "$real" >"$CORRAL"
	chmod +x "$CORRAL"
else
	chmod a-w "$RO" || setup_fail "chmod a-w $RO"
fi
serve_start "$M"
serve_tap 60 python3 "$here/serve-condstore-rfc.py" "$SERVE_PORT"
serve_stop
chmod u+w "$RO" 2>/dev/null
serve_sanitizer_check
finish
