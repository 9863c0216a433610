#!/usr/bin/env bash
# UTF8=ACCEPT (RFC 6855) and SPECIAL-USE (RFC 6154) in `corral serve`:
# serve-utf8.py drives Python's imaplib and a raw socket against a Maildir
# with a folder named in UTF-8 and server.special_use set; then `corral
# check` reports a bad special_use at FILE:LINE:COL. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"

M=$(serve_maildir "$T/mail")
for f in 'Envoy&AOk-s' Sent Spam Trash Drafts Archive; do
	serve_maildir "$T/mail" "$f" >/dev/null
done
# One message in Envoyés, its subject in RFC 2047 (UTF-8 "Grüße").
printf 'From: a@example.org\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n\nhi\n' \
	>"$M/.Envoy&AOk-s/cur/1700000000.M1P1.test:2,S" || setup_fail "writing a message"
serve_start "$M" 'special_use: {sent: "Envoyés", junk: [Pourriel, Spam], archive: []}'
serve_tap 60 python3 "$here/serve-utf8.py" "$SERVE_PORT" "$M"
serve_stop
serve_sanitizer_check

# A bad special_use is a config error at its place, with what was expected.
hash=$(printf 'sesame\n' | "$CORRAL" passwd) || setup_fail "corral passwd"
cat >"$T/bad.yml" <<YML
maildir: $M
server:
  special_use:
    sent: "Sent.Old"
    spam: Junk
    drafts: [Drafts, "a//b"]
  users:
    me: {password_hash: "$hash"}
YML
err=$("$CORRAL" -c "$T/bad.yml" check 2>&1)
check_line() { # NAME REGEX
	if echo "$err" | grep -qE "$2"; then ok "$1"; else not_ok "$1" "$(echo "$err" | head -5 | tr '\n' ' ')"; fi
}
check_line "special_use: a name with '.' is an error at FILE:LINE:COL" \
	"bad\.yml:4:11: .*server\.special_use\.sent.*'\.'"
check_line "special_use: an unknown use is an error at its key, with the uses expected" \
	"bad\.yml:5:5: .*unknown use 'spam' \(expected sent, drafts, trash, junk, archive, all or flagged\)"
check_line "special_use: an empty level in a list item is an error at the item" \
	"bad\.yml:6:22: .*server\.special_use\.drafts\[1\].*empty level"
finish
