#!/usr/bin/env bash
# Folder names and sizes as Dovecot reads them: `corral deliver` files a
# message by a rule into `Entwürfe/Ärger`; the folder is on disk in
# modified UTF-7 (.Entw&APw-rfe.&AMQ-rger), a real Dovecot on that Maildir
# lists it under that name and answers RFC822.SIZE equal to the ,W= of the
# file name (and sends that many bytes). The folders an older corral wrote
# in raw UTF-8 (.Entwürfe, .Entwürfe.Ärger beside a new-style one) are
# upgraded on the way: every message once, with its flags. Last, a fetch
# killed after its files were durable (or half linked), whose folder is
# then put back under the old spelling as an older corral would have left
# it: the next fetch finds the journaled files, delivers nothing twice and
# upgrades the folder. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
trap 'dovecot_cleanup; rm -rf "$T"' EXIT
need_py imaplib
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

M=$(dovecot_maildir alice)
OLD=$M/.Entwürfe
OLD_SUB=$M/.Entwürfe.Ärger
NEW=$M/.Entw\&APw-rfe
NEW_SUB=$M/.Entw\&APw-rfe.\&AMQ-rger

msg() { # MESSAGE-ID SUBJECT: a message with LF line ends
	printf 'From: a@example.com\nTo: b@example.com\nSubject: %s\nMessage-ID: <%s@corral.test>\n\nline one\nline two\n' "$2" "$1"
}
folder() { mkdir -p "$1/cur" "$1/new" "$1/tmp" && : >"$1/maildirfolder"; }
put() { # DIR/SUB BASE INFO MESSAGE-ID SUBJECT: stored as BASE,S=SIZE[INFO], as an older corral named it
	msg "$4" "$5" >"$T/m"
	mv "$T/m" "$1/$2,S=$(stat -c %s "$T/m")$3"
}

# What an older corral left: raw UTF-8 folders, one of them beside the
# folder Dovecot (or a newer corral) already made under the new name.
folder "$OLD"
put "$OLD/new" 1700000001.M1P1Q1.old '' old-1 'old one'
put "$OLD/cur" 1700000002.M1P1Q2.old :2,FS old-2 'old two'
folder "$OLD_SUB"
put "$OLD_SUB/cur" 1700000003.M1P1Q3.old :2,S old-sub 'old sub'
folder "$NEW_SUB"
put "$NEW_SUB/cur" 1700000004.M1P1Q4.old :2, there 'already there'

cat >"$T/rules.yml" <<'EOF'
- name: trouble
  if: {subject: '*Ärger*'}
  then: {folder: 'Entwürfe/Ärger'}
EOF
write_config "$T/config.yml" <<EOF
maildir: $M
state: $T/state
rules: $T/rules.yml
EOF

msg new-1 'viel Ärger' | "$CORRAL" -c "$T/config.yml" deliver 2>"$T/deliver.err"
check "corral deliver files the message (exit 0)" test $? -eq 0
sed 's/^/# /' "$T/deliver.err"
chown -R "$(id -u nobody):$(id -g nobody)" "$M"

name=$(ls "$NEW_SUB/new" 2>/dev/null | head -1)
check "the folder is .Entw&APw-rfe.&AMQ-rger on disk, the message in its new/" test -n "$name"
check "no raw UTF-8 folder is left" bash -c "! ls -d '$M'/.Entw*rfe* | grep -q 'ü'"
check "the parent .Entw&APw-rfe holds the old folder's 2 messages" \
	test "$(ls "$NEW/new" "$NEW/cur" | grep -c old)" -eq 2
check "the old flags are kept (:2,FS)" bash -c "ls '$NEW/cur' | grep -q '^1700000002.M1P1Q2.old,S=[0-9]*:2,FS\$'"
check "the subfolder holds 3 messages: moved, already there, delivered" \
	test "$(find "$NEW_SUB/new" "$NEW_SUB/cur" -type f | wc -l)" -eq 3
printf '%s@corral.test\n' old-1 old-2 old-sub there new-1 | sed 's/^/</; s/$/>/' | sort >"$T/expected"
exactly_once "$T/expected" "$M"
check "every message once: lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA" \
	test "$FETCH_LOST$FETCH_DUP$FETCH_EXTRA" = 000

size=$(stat -c %s "$NEW_SUB/new/$name")
want_w=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(len(d) + d.count(b"\n") - d.count(b"\r\n"))' "$NEW_SUB/new/$name")
check "the name carries ,S=$size,W=$want_w" bash -c "[[ '$name' == *,S=$size,W=$want_w ]]"

# Dovecot reads the same tree.
out=$(python3 - "$DOVECOT_IMAP_PORT" "$DOVECOT_PASS_alice" <<'PY' 2>&1
import imaplib, re, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice", sys.argv[2])
typ, data = m.list()
sep = "."
names = []
for d in data:
    g = re.match(rb'\((.*?)\) "(.)" (.*)', d)
    sep = g.group(2).decode()
    names.append(g.group(3).decode().strip('"'))
print("sep", sep)
print("list", " ".join(sorted(names)))
sub = "Entw&APw-rfe" + sep + "&AMQ-rger"
for box in ("Entw&APw-rfe", sub):
    typ, d = m.select('"%s"' % box, readonly=True)
    print("exists", box, typ, d[0].decode())
typ, d = m.uid("SEARCH", None, "HEADER", "Message-ID", "new-1@corral.test")
uid = d[0].decode().split()[-1]
typ, d = m.uid("FETCH", uid, "(RFC822.SIZE BODY.PEEK[])")
size = re.search(rb"RFC822\.SIZE (\d+)", d[0][0]).group(1).decode()
print("size", size, "sent", len(d[0][1]))
# Every message read whole once, so that Dovecot checks every size it trusts.
for box in ("Entw&APw-rfe", sub):
    m.select('"%s"' % box, readonly=True)
    typ, d = m.fetch("1:*", "(RFC822.SIZE BODY.PEEK[])")
    bad = [x for x in d if isinstance(x, tuple) and
           int(re.search(rb"RFC822\.SIZE (\d+)", x[0]).group(1)) != len(x[1])]
    print("mismatches", box, len(bad))
m.logout()
PY
)
echo "$out" | sed 's/^/# /'
sep=$(echo "$out" | sed -n 's/^sep //p')
check "Dovecot lists Entw&APw-rfe${sep}&AMQ-rger" \
	bash -c "echo '$out' | grep '^list ' | grep -qF ' Entw&APw-rfe${sep}&AMQ-rger'"
check "Dovecot lists no folder with raw UTF-8" bash -c "! echo '$out' | grep '^list ' | grep -q 'ü'"
check "Dovecot shows 2 messages in Entw&APw-rfe" bash -c "echo '$out' | grep -qx 'exists Entw&APw-rfe OK 2'"
check "Dovecot shows 3 messages in Entw&APw-rfe${sep}&AMQ-rger" \
	bash -c "echo '$out' | grep -qx 'exists Entw&APw-rfe${sep}&AMQ-rger OK 3'"
check "Dovecot's RFC822.SIZE is the W= value and the bytes it sends ($want_w)" \
	bash -c "echo '$out' | grep -qx 'size $want_w sent $want_w'"
check "every RFC822.SIZE Dovecot gives is the size it sends" \
	bash -c "test \$(echo '$out' | grep -c '^mismatches .* 0\$') -eq 2"
check "Dovecot logged no error about the names" bash -c "! grep -iE 'error|wrong|broken' '$DOVECOT_LOG'"

# Crash recovery across the renaming: the journal names folders as the rules
# wrote them ("Entwürfe") and files by name; md_exists looks in both spellings.
printf '%s\n' '- name: drafts' "  if: {subject: 'Test message *'}" "  then: {folder: 'Entwürfe'}" \
	>"$T/fetch-rules.yml"
for fault in after-maildir mid-link; do
	exp=$T/$fault.expected
	fm=$T/$fault/Maildir
	: >"$exp"
	rm -f "$(dovecot_maildir bob)"/new/* "$(dovecot_maildir bob)"/cur/*
	track_add "$exp" bob INBOX 40
	fetch_account keep bob imap implicit "$DOVECOT_IMAPS_PORT" true |
		fetch_config "$T/$fault.yml" "$fm" "$T/$fault/state" "rules: $T/fetch-rules.yml"
	CORRAL_FAULT=$fault corral_run 60 -c "$T/$fault.yml" fetch
	check "$fault: the crashed fetch exits 75" test "$RC" -eq 75
	check "$fault: it delivered into .Entw&APw-rfe" test -d "$fm/.Entw&APw-rfe/new"
	# What an older corral would have left: the same files, the old spelling.
	mv "$fm/.Entw&APw-rfe" "$fm/.Entwürfe"
	corral_run 60 -v -c "$T/$fault.yml" fetch
	check "$fault: the next fetch exits 0" test "$RC" -eq 0
	check "$fault: it recovered the interrupted deliveries" \
		grep -qE 'recovered [1-9][0-9]* interrupted deliveries' "$T/err"
	check "$fault: the old spelling is gone" test ! -e "$fm/.Entwürfe"
	if exactly_once "$exp" "$fm/.Entw&APw-rfe" folder; then
		ok "$fault: Entwürfe: 40 messages, lost 0, duplicated 0"
	else
		not_ok "$fault: Entwürfe: lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
	fi
done
dovecot_alive_check
sanitizer_check
finish
