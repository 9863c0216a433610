#!/usr/bin/env bash
# mbsync (isync) as a client of `corral serve`: the whole server (four
# folders, 50 messages) into an empty local Maildir, byte for byte; then
# changes on both sides (a flag and a new message on the server, a deletion
# and a new message and folder locally) meet in the second sync, the local message
# reaching the server by APPEND with APPENDUID; a third sync changes
# nothing. The IMAP traffic comes from mbsync's own -Dn log. No Dovecot.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"
need mbsync cmp

S=$T/Maildir
M=$(serve_maildir "$S")
serve_add "$M" 20
serve_add "$(serve_maildir "$S" Work)" 15 100
serve_add "$(serve_maildir "$S" Work/2024)" 10 200
serve_add "$(serve_maildir "$S" Sent)" 5 300
serve_start "$S"
L=$T/local
mkdir -p "$L"
cat >"$T/mbsyncrc" <<EOF
IMAPAccount corral
Host 127.0.0.1
Port $SERVE_PORT
User me
Pass sesame
SSLType None
AuthMechs PLAIN
Timeout 10

IMAPStore remote
Account corral

MaildirStore local
Path $L/
Inbox $L/INBOX
SubFolders Verbatim

Channel c
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
EOF

# sync NAME: one mbsync run (at most 30 s), its IMAP traffic in $T/NAME.log.
sync() {
	local rc=0
	timeout 30 mbsync -Dn -c "$T/mbsyncrc" -a >"$T/$1.log" 2>&1 || rc=$?
	[ $rc -eq 0 ] || {
		tail -n 20 "$T/$1.log" | sed 's/^/# /'
		return 1
	}
}
# The folders as (name, server dir, local dir).
folders="INBOX:$S:$L/INBOX Work:$S/.Work:$L/Work Work/2024:$S/.Work.2024:$L/Work/2024 Sent:$S/.Sent:$L/Sent"
count() { find "$1/cur" "$1/new" -type f 2>/dev/null | wc -l; }
# counts: "name server local" per folder, on one line.
counts() {
	local f name sd ld
	for f in $folders; do
		IFS=: read -r name sd ld <<<"$f"
		printf '%s %s %s; ' "$name" "$(count "$sd")" "$(count "$ld")"
	done
}
# msgfile DIR MESSAGE-ID: the file in DIR's cur/ or new/ with that Message-ID.
msgfile() { grep -l "^Message-ID: <$2>" "$1"/cur/* "$1"/new/* 2>/dev/null | head -1; }
# same_message ID SERVER-DIR LOCAL-DIR: both copies exist and have the same
# bytes but for the X-TUID header mbsync 1.4 adds to every copy it makes.
same_message() {
	local a b
	a=$(msgfile "$2" "$1") b=$(msgfile "$3" "$1")
	[ -n "$a" ] && [ -n "$b" ] && cmp -s <(grep -v '^X-TUID: ' "$a") <(grep -v '^X-TUID: ' "$b")
}
# Message files (names + bytes) of both trees, without mbsync's state files.
trees_sum() {
	(cd "$T" && find Maildir local -type f \( -path '*/cur/*' -o -path '*/new/*' \) -print0 |
		sort -z | xargs -0r sha256sum | sha256sum)
}

# 1. Everything from the server into an empty Maildir.
check "first sync: mbsync succeeds" sync sync1
c=$(counts)
check "first sync: every folder has as many messages on both sides ($c)" \
	test "$c" = "INBOX 20 20; Work 15 15; Work/2024 10 10; Sent 5 5; "
for m in "1:$S:$L/INBOX" "20:$S:$L/INBOX" "107:$S/.Work:$L/Work" "205:$S/.Work.2024:$L/Work/2024" \
	"303:$S/.Sent:$L/Sent"; do
	IFS=: read -r id sd ld <<<"$m"
	check "first sync: message <$id@corral.test> is the same bytes on both sides" \
		same_message "$id@corral.test" "$sd" "$ld"
done
check "first sync: mbsync logged in with AUTHENTICATE PLAIN and used UID FETCH" \
	sh -c "grep -q 'AUTHENTICATE PLAIN' '$T/sync1.log' && grep -q 'UID FETCH' '$T/sync1.log'"

# 2. Changes on both sides.
/usr/bin/python3 - "$SERVE_PORT" >"$T/py.out" 2>&1 <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("me", "sesame")
m.select("INBOX")
typ, d = m.uid("SEARCH", None, "HEADER", "Message-ID", "<3@corral.test>")
print("store", m.uid("STORE", d[0].decode(), "+FLAGS", "(\\Flagged)")[0])
msg = b"From: server@example.org\r\nSubject: new on the server\r\nMessage-ID: <server-new@corral.test>\r\n\r\nhello from the server\r\n"
print("append", m.append("Sent", None, None, msg)[0])
m.logout()
PY
check "on the server (imaplib): <3> flagged, a message appended to Sent" \
	sh -c "grep -qx 'store OK' '$T/py.out' && grep -qx 'append OK' '$T/py.out'"
gone=$(msgfile "$L/Work" 105@corral.test)
rm -f "$gone"
check "locally: <105> deleted from Work" test -n "$gone" -a ! -e "$gone"
printf 'From: local@example.org\nSubject: new here\nMessage-ID: <local-new@corral.test>\n\nwritten locally\n' \
	>"$L/INBOX/new/1700009999.local1.host"
mkdir -p "$L/Notes/cur" "$L/Notes/new" "$L/Notes/tmp"
printf 'From: local@example.org\nSubject: a note\nMessage-ID: <note@corral.test>\n\nnoted\n' \
	>"$L/Notes/cur/1700009999.note1.host:2,S"
check "second sync: mbsync succeeds" sync sync2
folders="$folders Notes:$S/.Notes:$L/Notes"
c=$(counts)
check "second sync: both sides agree, Notes created on the server ($c)" \
	test "$c" = "INBOX 21 21; Work 14 14; Work/2024 10 10; Sent 6 6; Notes 1 1; "
check "second sync: CREATE Notes, and the note keeps its \\Seen" \
	sh -c "grep -q '^>>> [0-9]* CREATE \"Notes\"' '$T/sync2.log' && ls '$S/.Notes/cur' | grep -q ':2,S\$'"
flagged() { # DIR ID: that message's file name has F among its flags
	local f
	f=$(msgfile "$1" "$2")
	case ${f##*:2,} in *F*) return 0 ;; esac
	return 1
}
check "second sync: <3> is flagged locally" flagged "$L/INBOX" 3@corral.test
check "second sync: <105> is gone from the server" test -z "$(msgfile "$S/.Work" 105@corral.test)"
check "second sync: the server's new message reached Sent, the same bytes" \
	same_message server-new@corral.test "$S/.Sent" "$L/Sent"
check "second sync: the local message reached the server's INBOX, the same bytes" \
	same_message local-new@corral.test "$S" "$L/INBOX"
appenduid=$(grep -oE 'OK \[APPENDUID [0-9]+ [0-9]+\]' "$T/sync2.log" | head -1)
check "second sync: APPEND answered with APPENDUID ($appenduid)" test -n "$appenduid"
check "second sync: mbsync needed no search for its X-TUID (APPENDUID sufficed)" \
	sh -c "grep -q '^>>> [0-9]* APPEND' '$T/sync2.log' && ! grep -qE '^>>> .*X-TUID' '$T/sync2.log'"
check "second sync: CHECK is answered as CHECK" grep -qE '^[0-9]+ OK CHECK completed' "$T/sync2.log"
uid=${appenduid##* }
uid=${uid%]}
check "the server's uidlist names the appended file under UID $uid" \
	sh -c "grep -q '^$uid .*:$(basename "$(msgfile "$S" local-new@corral.test)" | sed 's/:2,.*//')' '$S/dovecot-uidlist'"

# 3. Nothing left to do.
before=$(trees_sum)
check "third sync: mbsync succeeds" sync sync3
check "third sync: no message file changed on either side" test "$before" = "$(trees_sum)"
check "third sync: no APPEND, STORE, EXPUNGE or FETCH of a body" \
	sh -c "! grep -qE '^>+ [0-9]+ (APPEND|UID STORE|EXPUNGE|UID EXPUNGE|UID FETCH [0-9:,]+ \(.*BODY)' '$T/sync3.log'"

serve_stop
serve_sanitizer_check
finish
