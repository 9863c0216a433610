#!/usr/bin/env bash
# curl as an IMAP client of `corral serve`: LIST, a message by UID, a
# section and a partial, a wrong UIDVALIDITY, a UID that does not exist, a
# wrong password, APPEND (-T), EXAMINE, SEARCH and ESEARCH (-X), and
# STARTTLS with a self-signed certificate (--ssl-reqd -k). Every output is
# compared byte for byte. No Dovecot. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"
need curl openssl cmp

M=$(serve_maildir "$T/Maildir")
serve_add "$M" 3
W=$(serve_maildir "$T/Maildir" Work)
serve_add "$W" 2 10
serve_maildir "$T/Maildir" Work/2024 >/dev/null
serve_maildir "$T/Maildir" Archive >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || setup_fail "openssl req"
serve_start "$M" "cert: $T/cert.pem" "key: $T/key.pem"
U=imap://127.0.0.1:$SERVE_PORT

# cu NAME ARGS...: curl (at most 10 s) into $T/NAME.out, its status in $T/NAME.rc.
cu() {
	local name=$1 rc=0
	shift
	timeout 10 curl -sS -u me:sesame "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/$name.rc"
}
# same NAME FILE: curl's output for NAME is FILE's bytes (else both, on stdout).
same() {
	if cmp -s "$T/$1.out" "$2"; then return 0; fi
	echo "# curl $1 (rc $(cat "$T/$1.rc")): $(head -c 300 "$T/$1.out" | od -c | head -5)"
	echo "# $(cat "$T/$1.err")"
	echo "# wanted: $(head -c 300 "$2" | od -c | head -5)"
	return 1
}
crlf() { sed 's/$/\r/' "$1"; }
rc_is() { test "$(cat "$T/$1.rc")" = "$2"; }
# The messages as written (corral moves them to cur/ when it first sees them).
m1=$T/m1.orig m2=$T/m2.orig
{ cp "$M/new/"*M1P1* "$m1" && cp "$M/new/"*M2P1* "$m2"; } || setup_fail "copying the messages"

# LIST: corral gives readdir order; the set of lines is what counts.
cu list "$U/"
printf '%s\r\n' '* LIST (\HasChildren) "/" "Work"' '* LIST (\HasNoChildren \Archive) "/" "Archive"' \
	'* LIST (\HasNoChildren) "/" "INBOX"' '* LIST (\HasNoChildren) "/" "Work/2024"' | sort >"$T/list.want"
sort "$T/list.out" >"$T/lists.out"
echo 0 >"$T/lists.rc"
check "LIST: INBOX, Work (children), Work/2024, Archive (\\Archive), CRLF lines" same lists "$T/list.want"

crlf "$m1" >"$T/m1.crlf"
cu uid1 "$U/INBOX;UID=1"
check "INBOX;UID=1: the whole message, with CRLF line ends" same uid1 "$T/m1.crlf"
sed '/^$/q' "$m2" | sed 's/$/\r/' >"$T/m2.head"
cu head2 "$U/INBOX;UID=2;SECTION=HEADER"
check "INBOX;UID=2;SECTION=HEADER: the header and its blank line" same head2 "$T/m2.head"
printf 'This is message 2.\r\n.a line starting with a dot\r\nFrom the start of a line\r\n' >"$T/m2.text"
cu text2 "$U/INBOX;UID=2;SECTION=1"
check "INBOX;UID=2;SECTION=1: the body of a single-part message" same text2 "$T/m2.text"
printf 'is message' >"$T/m2.partial"
cu partial2 "$U/INBOX;UID=2;SECTION=TEXT;PARTIAL=5.10"
check "INBOX;UID=2;SECTION=TEXT;PARTIAL=5.10: ten bytes from the sixth" same partial2 "$T/m2.partial"
check "curl's FETCH BODY[] set \\Seen on UID 1" sh -c "ls '$M/cur' | grep -q 'M1P1.corraltest:2,S\$'"

uv=$(sed -n '1s/.* V\([0-9]*\) .*/\1/p' "$M/dovecot-uidlist")
cu baduv "$U/INBOX;UIDVALIDITY=$((uv + 1));UID=1"
check "a wrong ;UIDVALIDITY: curl stops (78, $(cat "$T/baduv.err"))" rc_is baduv 78
cu gooduv "$U/INBOX;UIDVALIDITY=$uv;UID=1"
check "the right ;UIDVALIDITY ($uv): the message" same gooduv "$T/m1.crlf"
cu nouid "$U/INBOX;UID=99"
check "UID 99 does not exist: curl says remote file not found (78)" rc_is nouid 78
timeout 10 curl -sS -u me:wrong "$U/INBOX;UID=1" >/dev/null 2>"$T/wrong.err"
check "a wrong password: curl says login denied (67)" test $? -eq 67

# EXAMINE: the untagged answers, exactly (read-only: no PERMANENTFLAGS).
cu examine -X 'EXAMINE INBOX' "$U/INBOX"
printf '%s\r\n' '* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)' '* OK [PERMANENTFLAGS ()] read-only' \
	'* 3 EXISTS' '* 0 RECENT' '* OK [UNSEEN 3] first unseen' "* OK [UIDVALIDITY $uv] UIDs valid" \
	'* OK [UIDNEXT 4] predicted next UID' >"$T/examine.want"
check "EXAMINE INBOX: FLAGS, EXISTS 3, RECENT 0, UNSEEN 3, UIDVALIDITY, UIDNEXT 4" same examine "$T/examine.want"

# SEARCH through the URL and through -X, and ESEARCH.
cu search1 "$U/INBOX?SUBJECT%20%22Message%203%22"
printf '* SEARCH 3\r\n' >"$T/search1.want"
check "INBOX?SUBJECT \"Message 3\": * SEARCH 3" same search1 "$T/search1.want"
cu search2 -X 'UID SEARCH UNSEEN' "$U/INBOX"
printf '* SEARCH 3\r\n' >"$T/search2.want"
check "UID SEARCH UNSEEN: 3 (curl's fetches set \\Seen on 1 and 2)" same search2 "$T/search2.want"
cu search3 -X 'UID SEARCH RETURN (MIN MAX COUNT) FROM sender10' "$U/Work"
printf '* ESEARCH (TAG "A004") UID MIN 1 MAX 1 COUNT 1\r\n' >"$T/search3.want"
check "UID SEARCH RETURN (MIN MAX COUNT): * ESEARCH with the tag" same search3 "$T/search3.want"

# APPEND: into cur/ with curl's \Seen, LF line ends on disk, UID 3; read back the same.
printf 'From: curl@example.org\r\nSubject: appended by curl\r\nMessage-ID: <curl@corral.test>\r\n\r\nhello\r\n..dots\r\n' >"$T/app.eml"
cu append -T "$T/app.eml" "$U/Work"
check "APPEND (-T): curl is content (rc 0)" rc_is append 0
af=$(grep -l 'Subject: appended by curl' "$W/cur/"* 2>/dev/null | head -1)
check "the appended file is in Work's cur/ with :2,S" sh -c "echo '$af' | grep -q ':2,S\$'"
tr -d '\r' <"$T/app.eml" >"$T/app.lf"
check "the appended file has LF line ends" cmp -s "$af" "$T/app.lf"
cu uid3 "$U/Work;UID=3"
check "Work;UID=3: the appended message, byte for byte" same uid3 "$T/app.eml"
cu status -X 'STATUS Work (MESSAGES UIDNEXT UNSEEN)' "$U/"
printf '* STATUS "Work" (MESSAGES 3 UIDNEXT 4 UNSEEN 2)\r\n' >"$T/status.want"
check "STATUS Work: 3 messages, UIDNEXT 4, 2 unseen" same status "$T/status.want"

# STARTTLS: required, the self-signed certificate accepted with -k.
cu tls -v --ssl-reqd -k "$U/INBOX;UID=2"
crlf "$m2" >"$T/m2.crlf"
check "STARTTLS (--ssl-reqd -k): UID 2, byte for byte" same tls "$T/m2.crlf"
check "STARTTLS: curl asked for it and spoke TLS, then AUTHENTICATE PLAIN" \
	sh -c "grep -q '^> A00[0-9] STARTTLS' '$T/tls.err' && grep -q 'SSL connection using TLS' '$T/tls.err' &&
		grep -q '^< A00[0-9] OK begin TLS' '$T/tls.err' && grep -q 'AUTHENTICATE PLAIN' '$T/tls.err'"
cu tlsfail --ssl-reqd "$U/INBOX;UID=2"
check "STARTTLS without -k: the self-signed certificate is refused (60)" rc_is tlsfail 60

serve_stop
serve_sanitizer_check
finish
