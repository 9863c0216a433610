#!/bin/bash
# corral test and corral refile, and the ready rule sets in rules/:
# every tests/rules/*.expect.yml holds (`corral test --expect`); --explain
# is readable; mbox and Maildir inputs; exit codes; no side effect; refile
# moves with flags kept, nothing duplicated, restartable after a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest

need python3

# Runs corral with a predictable environment; sets rc, out (stdout), err (stderr).
run() {
	rc=0
	out=$(env -u XDG_CONFIG_HOME -u XDG_STATE_HOME HOME="$T/home" timeout 60 "$CORRAL" "$@" \
		2>"$T/stderr") || rc=$?
	err=$(cat "$T/stderr")
}

# check_run NAME WANT_RC [PATTERN...]: the last run exited WANT_RC and its
# stdout+stderr has every (fixed-string) pattern.
check_run() {
	local name=$1 want=$2 p missing=""
	shift 2
	for p in "$@"; do
		grep -qF -- "$p" <<<"$out$err" || missing="$missing [$p]"
	done
	if [ "$rc" -eq "$want" ] && [ -z "$missing" ]; then
		ok "$name"
	else
		not_ok "$name" "exit $rc (want $want)${missing:+, missing$missing}; got: $(head -c 2000 <<<"$out$err")"
	fi
}

mkdir -p "$T/home"

# ---- the rule sets, through their expectation files ----

# A copy of the tree, with the messages over 10 MB that big.expect.yml names.
mkdir -p "$T/tree/tests"
cp -r rules "$T/tree/rules"
cp -r tests/rules "$T/tree/tests/rules"
python3 - "$T/tree/tests/rules/msgs/generated" <<'PY'
import base64, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
TEN_MB = 10 * 1024 * 1024

def head(subject):
    return ("From: Alice <alice@example.com>\nTo: me@example.com\n"
            f"Subject: {subject}\nMessage-ID: <{subject.replace(' ', '-')}@big.example>\n"
            "MIME-Version: 1.0\n")

def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"

def with_attachment(subject, ctype, name, data, filler=""):
    return (head(subject) + 'Content-Type: multipart/mixed; boundary="b1"\n\n'
            "--b1\nContent-Type: text/plain\n\nsee attached\n" + filler +
            f"--b1\nContent-Type: {ctype}; name={name}\n"
            f"Content-Disposition: attachment; filename={name}\n"
            "Content-Transfer-Encoding: base64\n\n" + b64(data) + "--b1--\n")

pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + os.urandom(8 * 1024 * 1024)
png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02\x00\x00\x00"
       b"\x00\x00\x00\x00" + os.urandom(8 * 1024 * 1024))
msgs = {
    "big-pdf.eml": with_attachment("big pdf", "application/pdf", "scan.pdf", pdf),
    "big-png.eml": with_attachment("big photo", "application/octet-stream", "photo.png", png),
    "big-text.eml": head("big text") + "Content-Type: text/plain\n\n" +
                    ("all work and no play makes jack a dull boy\n" * 260000),
}
# Exactly 10 MB: the text part is padded to the byte.
small = with_attachment("ten mb", "application/pdf", "ten.pdf", pdf[:7 * 1024 * 1024])
pad = TEN_MB - len(small.encode()) - 1
msgs["ten-mb-pdf.eml"] = with_attachment("ten mb", "application/pdf", "ten.pdf",
                                         pdf[:7 * 1024 * 1024], "x" * pad + "\n")
for name, m in msgs.items():
    with open(os.path.join(out, name), "w") as f:
        f.write(m)
assert os.path.getsize(os.path.join(out, "ten-mb-pdf.eml")) == TEN_MB
assert os.path.getsize(os.path.join(out, "big-text.eml")) > TEN_MB
PY

nsets=0
for e in "$T"/tree/tests/rules/*.expect.yml; do
	nsets=$((nsets + 1))
	[ "$nsets" -le 50 ] || break
	set_name=$(basename "$e" .expect.yml)
	run test --expect "$e"
	entries=$(grep -c '^- ' "$e")
	if [ "$rc" -eq 0 ] && grep -qx "$entries ok, 0 failed" <<<"$out" && ! grep -q '^FAIL' <<<"$out"; then
		ok "rule set $set_name: all $entries expectations hold"
	else
		not_ok "rule set $set_name: all $entries expectations hold" "exit $rc: $out $err"
	fi
	check "rule set $set_name: at least 4 test messages" test "$entries" -ge 4
	check "rule set $set_name: matching and non-matching cases" \
		bash -c 'grep -q "folder: INBOX" "$1" && grep -v "folder: INBOX" "$1" | grep -q "folder: "' _ "$e"
done
for r in rules/*.yml; do
	check "rules/$(basename "$r") has tests" test -f "tests/rules/$(basename "$r" .yml).expect.yml"
done
check "found the rule sets" test "$nsets" -ge 5

# ---- --expect: mismatches and malformed files ----

M=$T/tree/tests/rules/msgs
cat >"$T/wrong.expect.yml" <<YML
- name: ham is not junk
  message: $M/spam-sa-ham.eml
  rules: $T/tree/rules/spam.yml
  folder: Junk
- message: $M/spam-sa-flag.eml
  rules: $T/tree/rules/spam.yml
  folder: Junk
YML
run test --expect "$T/wrong.expect.yml"
check_run "a wrong expectation exits 1 and shows the difference" 1 \
	"FAIL ham is not junk ($T/wrong.expect.yml:1): folders: expected [Junk], got [INBOX]" \
	"1 ok, 1 failed"

cat >"$T/bad.expect.yml" <<YML
- message: $M/spam-sa-ham.eml
  folder: Junk
  colour: red
- message: $M/spam-sa-ham.eml
  discard: maybe
YML
run test --expect "$T/bad.expect.yml"
check_run "a malformed expect file is reported FILE:LINE:COL, exit 78" 78 \
	"$T/bad.expect.yml:3:3: [0].colour: unknown key" "$T/bad.expect.yml:5:12: [1].discard:"
printf -- '- message: [unclosed\n' >"$T/syntax.expect.yml"
run test --expect "$T/syntax.expect.yml"
check_run "an expect file with a YAML syntax error exits 78" 78 "$T/syntax.expect.yml:"

cat >"$T/missing.expect.yml" <<YML
- message: no-such-message.eml
  rules: $T/tree/rules/spam.yml
YML
run test --expect "$T/missing.expect.yml"
check_run "an unreadable message in an expect file exits 65" 65 "no-such-message.eml: cannot open"

# ---- --explain ----

run test --explain --rules "$T/tree/rules/spam.yml" --rules "$T/tree/rules/lists.yml" \
	"$M/lists-debian.eml"
check_run "--explain names each rule and its file" 0 \
	'rule #1 "SpamAssassin verdict"' 'rule #1 "mailing list by List-Id"' "spam.yml:" "lists.yml:"
check_run "--explain shows failed and matched conditions" 0 "✗ " "✓ " "debian-devel.lists.debian.org"
check_run "--explain shows the capture and the result" 0 '$1 = "debian-devel"' "result: Lists/debian-devel"
first=$(head -1 <<<"$out")
check "--explain: the outcome line comes first" \
	bash -c '[[ $1 == "$2: Lists/debian-devel (rule #1 \"mailing list by List-Id\""* ]]' _ "$first" "$M/lists-debian.eml"

# ---- inputs: message files, mbox, Maildir ----

cat >"$T/body.yml" <<'YML'
- name: desk
  if: {body: {regex: '^From the desk of'}}
  then: {folder: Desk}
- name: lists
  if: {header: {List-Id: {regex: '<([a-z0-9-]+)\.'}}}
  then: {folder: 'Lists/$1'}
YML
{
	printf 'From alice@example.com Tue Nov  3 09:15:00 2026\n'
	cat "$M/lists-debian.eml"
	printf '\nFrom bob@example.org Tue Nov  3 09:16:00 2026\n'
	printf 'From: bob@example.org\nSubject: memo\n\n>From the desk of Bob\n'
	printf '\nFrom carol@example.net Tue Nov  3 09:17:00 2026\n'
	printf 'From: carol@example.net\nSubject: plain\n\nhello\nFrom the start, no quote\n\n'
} >"$T/box.mbox"
run test --rules "$T/body.yml" "$T/box.mbox"
check_run "an mbox gives one line per message, numbered" 0 \
	"$T/box.mbox:1: Lists/debian-devel" "$T/box.mbox:2: Desk" "$T/box.mbox:3: INBOX"
check "an mbox of 3 messages gives 3 lines" test "$(wc -l <<<"$out")" -eq 3

mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
cp "$M/lists-debian.eml" "$T/md/new/1000.M1P1.test"
cp "$M/lists-personal.eml" "$T/md/cur/1001.M1P1.test:2,S"
cp "$M/lists-personal.eml" "$T/md/tmp/1002.M1P1.test"
run test --rules "$T/body.yml" "$T/md"
check_run "a Maildir folder gives one line per file of new/ and cur/" 0 \
	"$T/md/new/1000.M1P1.test: Lists/debian-devel" "$T/md/cur/1001.M1P1.test:2,S: INBOX"
check "a Maildir folder: tmp/ is not read" test "$(wc -l <<<"$out")" -eq 2

run test --rules "$T/body.yml" "$M/lists-debian.eml" "$M/lists-personal.eml"
check_run "several message files, one line each" 0 \
	"$M/lists-debian.eml: Lists/debian-devel" "$M/lists-personal.eml: INBOX (implicit keep)"

# ---- exit codes ----

: >"$T/empty.eml"
mkdir -p "$T/plain-dir"
run test --rules "$T/body.yml" "$T/nope.eml" "$M/lists-personal.eml"
check_run "a missing message exits 65, the others are still tested" 65 \
	"$T/nope.eml: cannot open" "$M/lists-personal.eml: INBOX"
run test --rules "$T/body.yml" "$T/empty.eml"
check_run "an empty file exits 65" 65 "empty file"
run test --rules "$T/body.yml" "$T/plain-dir"
check_run "a directory that is not a Maildir exits 65" 65 "not a Maildir folder"
run test --rules "$T/body.yml"
check_run "no message exits 64" 64 "usage"
run test --bogus "$M/lists-personal.eml"
check_run "an unknown option exits 64" 64
printf -- '- name: broken\n  if: {size: "> lots"}\n  then: keep\n' >"$T/broken.yml"
run test --rules "$T/broken.yml" "$M/lists-personal.eml"
check_run "broken rules exit 78 with their position" 78 "$T/broken.yml:2:"
run -c "$T/no-config.yml" test --rules "$T/body.yml" "$M/lists-debian.eml"
check_run "--rules works without a config file" 0 "Lists/debian-devel"
run -c "$T/no-config.yml" test "$M/lists-debian.eml"
check_run "without --rules a missing config exits 78" 78 "$T/no-config.yml"

# ---- the config's rules, -a ACCOUNT, no side effect ----

cat >"$T/default.yml" <<'YML'
- name: work mail
  if: {account: work}
  then: {folder: 'Work/${account}'}
YML
cat >"$T/private.yml" <<'YML'
- name: private account's own rules
  if: {subject: '*'}
  then: {folder: Private}
YML
write_config "$T/config.yml" <<YML
maildir: $T/never-made/Maildir
state: $T/state
rules: default.yml
dedupe: 30d
accounts:
  work:
    protocol: imap
    host: 127.0.0.1
    user: me
    password: not-used
  private:
    protocol: pop3
    host: 127.0.0.1
    user: me
    password: not-used
    rules: private.yml
YML
run -c "$T/config.yml" test "$M/lists-personal.eml"
check_run "the config's rules apply by default" 0 "INBOX (implicit keep)"
run -c "$T/config.yml" test -a work "$M/lists-personal.eml"
check_run "-a gives the account's name to the rules" 0 "Work/work"
run -c "$T/config.yml" test -a private "$M/lists-personal.eml"
check_run "-a picks the account's own rules" 0 'Private (rule #1 "private account'"'"'s own rules"'
run -c "$T/config.yml" test -a nobody "$M/lists-personal.eml"
check_run "-a with an unknown account exits 64" 64 "nobody"
check "corral test creates no Maildir" test ! -e "$T/never-made"
check "corral test writes no state (no dedupe record)" test -z "$(ls -A "$T/state" 2>/dev/null)"

# ---- refile ----

MD=$T/refile/Maildir
mkdir -p "$T/refile"
printf -- '- name: nothing yet\n  if: {subject: no-such-subject-at-all}\n  then: keep\n' >"$T/refile/rules.yml"
write_config "$T/refile/config.yml" <<YML
maildir: $MD
state: $T/refile/state
rules: rules.yml
YML

# A message with a unique Message-ID: mkmsg ID [HEADER...]
mkmsg() {
	local id=$1 h
	shift
	printf 'From: sender@example.com\nTo: me@example.com\nSubject: message %s\nMessage-ID: <%s@refile.test>\n' "$id" "$id"
	for h in "$@"; do printf '%s\n' "$h"; done
	printf '\nbody of %s\n' "$id"
}
# The files (anywhere in the Maildir) that hold message ID.
copies() { grep -rlF -- "<$1@refile.test>" "$MD" | grep -v '/tmp/[^/]*$' || true; }
ncopies() { copies "$1" | grep -c . || true; }
# Puts message ID into INBOX as a delivery would name it: put ID [FLAGS] [HEADER...];
# with FLAGS, into cur/ as an IMAP client leaves a message it has read or flagged.
nput=0
put() {
	local id=$1 flags=$2 name
	shift 2
	nput=$((nput + 1))
	name="1795000000.M${nput}P$$.refile-test,S=100"
	if [ -n "$flags" ]; then
		mkmsg "$id" "$@" >"$MD/cur/$name:2,$flags"
	else
		mkmsg "$id" "$@" >"$MD/new/$name"
	fi
	echo "$name"
}

mkdir -p "$MD/new" "$MD/cur" "$MD/tmp"
LIST='List-Id: Corral users <corral-users.lists.example.org>'
base_list1=$(put list1 FS "$LIST")
put list2 S "$LIST" >/dev/null
put list3 "" "$LIST" >/dev/null
put ham "" >/dev/null
put spam "" 'X-Spam-Flag: YES' >/dev/null
put boss "" 'X-Boss: yes' >/dev/null
check "six messages in INBOX" test "$(find "$MD/new" "$MD/cur" -type f | wc -l)" -eq 6

cat >"$T/refile/rules.yml" <<'YML'
- name: spam
  if: {header: {X-Spam-Flag: 'YES'}}
  then: discard
- name: lists
  if: {header: {List-Id: {regex: '<([a-z0-9-]+)\.'}}}
  then: [{folder: 'Lists/$1'}, {flag: answered}]
- name: boss
  if: {header: {X-Boss: 'yes'}}
  then: [{forward: me@phone.example}, keep]
YML
before=$(find "$MD" -type f | sort)
run -c "$T/refile/config.yml" --dry-run refile INBOX
check_run "refile --dry-run says what would move" 0 "would move to Lists/corral-users" "3 would move"
check "refile --dry-run changes nothing" test "$before" = "$(find "$MD" -type f | sort)"

run -c "$T/refile/config.yml" refile INBOX
check_run "refile moves the list messages and keeps the discarded one" 0 \
	"-> Lists/corral-users" "3 moved" "discarded by the rules but kept (--discard deletes them)"
check_run "refile says forwards are not re-run" 0 "forward and pipe actions are not re-run"
for m in list1 list2 list3; do
	f=$(copies $m)
	check "refile: $m is only in Lists/corral-users" \
		bash -c '[ "$(printf "%s\n" "$1" | grep -c .)" -eq 1 ] && [[ $1 == "$2"/.Lists.corral-users/* ]]' _ "$f" "$MD"
done
check "refile: flags kept plus the rule's (FS + R = FRS)" \
	bash -c 'ls "$1/.Lists.corral-users/cur/" | grep -qx -- "$2:2,FRS"' _ "$MD" "$base_list1"
check "refile: a new message gets the rule's flag in cur/" test "$(copies list3 | grep -c '/cur/.*:2,R$')" -eq 1
check "refile: the base name is kept" test "$(copies list1 | xargs -n1 basename | sed 's/:2,.*//')" = "$base_list1"
check "refile: discarded message still in INBOX" test "$(copies spam | grep -c "^$MD/new/")" -eq 1
check "refile: ham and boss stay in INBOX, once each" \
	test "$(copies ham | grep -c "^$MD/new/")$(copies boss | grep -c "^$MD/new/")" = 11
check "refile: tmp/ is empty" test -z "$(ls -A "$MD/tmp")"

before=$(find "$MD" -type f | sort)
run -c "$T/refile/config.yml" refile INBOX
check_run "refile again moves nothing" 0 "0 moved"
check "refile again changes nothing" test "$before" = "$(find "$MD" -type f | sort)"

# A crash after the link, before the unlink: the message is in both folders.
name=$(put list4 S "$LIST")
ln "$MD/cur/$name:2,S" "$MD/.Lists.corral-users/cur/$name:2,RS" || not_ok "pre-link $name by hand"
run -c "$T/refile/config.yml" refile INBOX
check_run "refile after a crash completes the move" 0 "1 moved" "already in place"
check "refile after a crash: exactly one copy" test "$(ncopies list4)" -eq 1
check "refile after a crash: the source is removed" test ! -e "$MD/cur/$name:2,S"

# The same file in two folders (a delivery with continue: true links one file twice).
name=$(put both "" "$LIST")
ln "$MD/new/$name" "$MD/.Lists.corral-users/new/1.$name" || not_ok "link $name by hand"
run -c "$T/refile/config.yml" refile INBOX
check_run "refile: a hard link already in the target counts as moved" 0 "1 moved" "already in place"
check "refile: a message already linked in the target is not copied again" test "$(ncopies both)" -eq 1

run -c "$T/refile/config.yml" refile --discard INBOX
check_run "refile --discard deletes what the rules discard" 0 "discarded by the rules: deleted"
check "refile --discard: the spam is gone" test "$(ncopies spam)" -eq 0

# A subfolder, after a rename in the rules.
sed -i "s|'Lists/\$1'|'Mailing/\$1'|" "$T/refile/rules.yml"
run -c "$T/refile/config.yml" refile Lists/corral-users
check_run "refile of a subfolder moves to the renamed folder" 0 "-> Mailing/corral-users"
check "refile of a subfolder: all 5 list messages moved once" \
	test "$(find "$MD/.Mailing.corral-users/new" "$MD/.Mailing.corral-users/cur" -type f | wc -l)" -eq 5
check "refile of a subfolder: source folder is empty" \
	test -z "$(find "$MD/.Lists.corral-users/new" "$MD/.Lists.corral-users/cur" -type f)"

run -c "$T/refile/config.yml" refile No/Such/Folder
check_run "refile of a missing folder exits 64" 64 "no folder"
run -c "$T/refile/config.yml" refile
check_run "refile without a folder exits 64" 64

finish
