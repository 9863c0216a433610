#!/usr/bin/env bash
# `corral serve` command by command over a raw socket (serve-imap.py):
# capabilities, NAMESPACE, ENABLE, the folder commands, LIST-EXTENDED and
# LIST-STATUS, subscriptions, COPY/MOVE/UIDPLUS, names that would leave the
# Maildir, two sessions and other writers (EXISTS, FETCH, EXPUNGE only where
# RFC 3501 allows them), IDLE. Then a real Dovecot reads what corral left:
# the folders, the subscriptions and the UIDs agree. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
. "$here/lib-serve.sh"
fetch_fast_python
trap 'serve_stop; dovecot_cleanup; rm -rf "$T"' EXIT
need_py socket
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

M=$(dovecot_maildir alice)
dovecot_add_messages alice INBOX 5 >/dev/null || setup_fail "messages for alice"
serve_start "$M"
port=$SERVE_PORT

timeout 120 python3 "$here/serve-imap.py" "$port" me sesame "$M" >"$T/py.out" 2>&1
rc=$?
while IFS=$'\t' read -r verdict name seen; do
	case $verdict in
	PASS) ok "$name" ;;
	FAIL) not_ok "$name" "$seen" ;;
	*) echo "# $verdict $name $seen" ;;
	esac
done <"$T/py.out"
check "serve-imap.py ran to its end (exit 0)" test "$rc" -eq 0
n=$(grep -cE '^(PASS|FAIL)' "$T/py.out")
check "serve-imap.py made all its 85 checks ($n)" test "$n" -ge 85

# Dovecot reads what corral left (its separator here is ".").
chown -R "$(stat -c %u:%g "$M/cur")" "$M"
dv=$(python3 - "$DOVECOT_IMAP_PORT" "$DOVECOT_PASS_alice" <<'PY' 2>&1
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice", sys.argv[2])
typ, d = m.list('""', "*")
print("list", sorted(x.decode().split(' "." ')[1].strip('"') for x in d))
typ, d = m.lsub('""', "*")
print("lsub", sorted(x.decode().split(' "." ')[1].strip('"') for x in d))
m.select("Old.2024", readonly=True)
typ, d = m.uid("SEARCH", None, "ALL")
print("old-uids", d[0].decode())
m.logout()
PY
)
echo "$dv" | sed 's/^/# /'
check "Dovecot lists the folders corral made and renamed" \
	sh -c "echo \"\$1\" | grep -q \"^list .*'Entw&APw-rfe'.*'Old', 'Old.2024'.*'Saved', 'Sent'\"" _ "$dv"
check "Dovecot reads corral's subscriptions" sh -c "echo \"\$1\" | grep -q \"^lsub \\['Archive.2024'\\]\"" _ "$dv"
check "Dovecot gives the moved messages the UIDs of corral's COPYUID (1 2)" \
	sh -c "echo \"\$1\" | grep -q '^old-uids 1 2\$'" _ "$dv"

serve_stop
serve_sanitizer_check
finish
