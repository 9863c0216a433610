#!/usr/bin/env bash
# `corral fetch` against a real Dovecot: nothing lost, nothing duplicated
# (DESIGN.md section 4). Three accounts at once over IMAPS, IMAP STARTTLS and
# POP3S; keep: true and false; several folders; rules; a UIDVALIDITY change;
# TLS, password and connection failures with their exit codes; tls: off;
# --dry-run; a full disk (keep: false and true); two runs at once; a 20 MB
# message; byte-exact bodies over IMAP and POP3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"

if [ ! -x "$CORRAL" ]; then
	not_ok "the binary under test $CORRAL exists"
	finish
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/corral-fetch.XXXXXX")
cleanup() {
	umount "$T/disk" 2>/dev/null || true
	dovecot_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
fetch_fast_python
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# shellcheck disable=SC2119 # its own temp dir
dovecot_setup
dovecot_start

reset_user() { # USER...: an empty mailbox, new UIDVALIDITY
	local u
	for u in "$@"; do rm -rf "$DOVECOT_DIR/home/$u/Maildir"; done
}

# section NAME: a comment line with the time so far.
section() { echo "# $1 (at ${SECONDS}s)"; }

# check_rc NAME WANT: the last corral_run exited WANT.
check_rc() {
	if [ "$RC" -eq "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "exit $RC, want $2; $(tail -n 3 "$T/err" | tr '\n' ' ')"
	fi
}

# check_once NAME EXPECTED ROOT: every expected message exactly once.
check_once() {
	if exactly_once "$2" "$3"; then
		ok "$1"
	else
		not_ok "$1" "lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
	fi
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

# ---- three accounts at once, keep: true ----
section "three accounts at once, keep: true"
s=$T/s1
mkdir -p "$s"
reset_user alice bob carol
track_add "$s/exp" alice INBOX 40
track_add "$s/exp" bob INBOX 30
track_add "$s/exp" carol INBOX 20
{
	fetch_account imaps alice imap implicit "$DOVECOT_IMAPS_PORT" true
	fetch_account starttls bob imap starttls "$DOVECOT_IMAP_PORT" true
	fetch_account pop3s carol pop3 implicit "$DOVECOT_POP3S_PORT" true
} | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch
check_rc "three accounts (IMAPS, IMAP STARTTLS, POP3S) fetched at once: exit 0" 0
check_once "keep: true: all 90 messages of the three accounts delivered exactly once" \
	"$s/exp" "$s/Maildir"
check_eq "keep: true leaves every message on the servers (40/30/20)" \
	"$(dovecot_count alice) $(dovecot_count bob) $(dovecot_count carol)" "40 30 20"
seen=$(find "$(dovecot_maildir alice)/cur" "$(dovecot_maildir bob)/cur" -name '*:2,*S*' | wc -l)
check_eq "keep: true does not mark fetched IMAP messages \\Seen on the server" "$seen" 0
message_files "$s/Maildir" >"$s/files1"
corral_run 60 -c "$s/config.yml" fetch
check_rc "second run with nothing new: exit 0" 0
message_files "$s/Maildir" >"$s/files2"
if cmp -s "$s/files1" "$s/files2" && [ "$(grep -c ': 0 new, 0 delivered' "$T/out")" -eq 3 ]; then
	ok "second run fetches 0 messages and writes no file"
else
	not_ok "second run fetches 0 messages and writes no file" "$(tr '\n' ' ' <"$T/out")"
fi
track_add "$s/exp" alice INBOX 5
track_add "$s/exp" bob INBOX 4
track_add "$s/exp" carol INBOX 3
corral_run 60 -c "$s/config.yml" fetch
check_rc "third run after new mail arrived: exit 0" 0
if grep -q '^imaps: 5 new, 5 delivered' "$T/out" && grep -q '^starttls: 4 new, 4 delivered' "$T/out" &&
	grep -q '^pop3s: 3 new, 3 delivered' "$T/out"; then
	ok "third run fetches only the 5+4+3 new messages"
else
	not_ok "third run fetches only the 5+4+3 new messages" "$(tr '\n' ' ' <"$T/out")"
fi
check_once "after three runs all 102 messages are there exactly once" "$s/exp" "$s/Maildir"
check_eq "no file left in the Maildir's tmp/" "$(tmp_files "$s/Maildir" | wc -l)" 0

# ---- keep: false, IMAP and POP3 ----
section "keep: false, IMAP and POP3"
s=$T/s2
mkdir -p "$s"
reset_user alice carol
track_add "$s/exp" alice INBOX 60
track_add "$s/exp" carol INBOX 40
{
	fetch_account imapdel alice imap implicit "$DOVECOT_IMAPS_PORT" false
	fetch_account popdel carol pop3 implicit "$DOVECOT_POP3S_PORT" false
} | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch
check_rc "keep: false (IMAP and POP3): exit 0" 0
check_once "keep: false: all 100 messages delivered exactly once" "$s/exp" "$s/Maildir"
check_eq "keep: false empties both servers (IMAP, POP3)" \
	"$(dovecot_count alice) $(dovecot_count carol)" "0 0"
track_add "$s/exp" alice INBOX 3
track_add "$s/exp" carol INBOX 2
corral_run 60 -c "$s/config.yml" fetch
check_rc "keep: false, second run: exit 0" 0
check_once "keep: false, second run: only the 5 new messages added, exactly once" \
	"$s/exp" "$s/Maildir"
check_eq "keep: false, second run empties the servers again" \
	"$(dovecot_count alice) $(dovecot_count carol)" "0 0"

# ---- several IMAP folders ----
section "several IMAP folders"
s=$T/s3
mkdir -p "$s"
reset_user bob
track_add "$s/exp" bob INBOX 20
track_add "$s/exp" bob Receipts 15
track_add "$s/other" bob Other 7
fetch_account folders bob imap implicit "$DOVECOT_IMAPS_PORT" true \
	"folders: [INBOX, Receipts]" | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch
check_rc "folders: [INBOX, Receipts]: exit 0" 0
check_once "folders: [INBOX, Receipts]: their 35 messages exactly once, Other untouched" \
	"$s/exp" "$s/Maildir"
track_add "$s/exp" bob Receipts 2
corral_run 60 -c "$s/config.yml" fetch
check_once "folders: a new message in the second folder is fetched on the next run" \
	"$s/exp" "$s/Maildir"

# ---- rules sort by subject ----
section "rules sort by subject"
s=$T/s4
mkdir -p "$s"
reset_user carol
track_add "$s/exp" carol INBOX 30
cat >"$s/rules.yml" <<'EOF'
- name: the tens
  if: {subject: 'Test message 1?'}
  then: {folder: Sorted}
EOF
fetch_account sorted carol imap implicit "$DOVECOT_IMAPS_PORT" true |
	fetch_config "$s/config.yml" "$s/Maildir" "$s/state" "rules: rules.yml"
corral_run 60 -c "$s/config.yml" fetch
check_rc "with rules.yml: exit 0" 0
check_once "with rules.yml: all 30 messages exactly once" "$s/exp" "$s/Maildir"
check_eq "rules: subjects 'Test message 10'..'19' are in the folder Sorted" \
	"$(subjects_folder "$s/Maildir/.Sorted" | tr '\n' ,)" \
	"$(seq 10 19 | sed 's/^/Test message /' | sort | tr '\n' ,)"
check_eq "rules: the other 20 messages are in INBOX" \
	"$(subjects_folder "$s/Maildir" | grep -c 'Test message')" 20

# ---- UIDVALIDITY change ----
section "UIDVALIDITY change"
s=$T/s5
mkdir -p "$s"
reset_user alice
track_add "$s/exp" alice INBOX 20
# Three without a Message-ID: known again by a digest of their header block and size.
for k in 1 2 3; do
	printf 'From: x@example.org\nTo: y@example.org\nSubject: No-ID message %s\nDate: Mon, 01 Jan 2024 12:0%s:00 +0000\n\nno id %s\n' \
		"$k" "$k" "$k" >"$s/noid-$k.eml"
done
dovecot_add_files alice INBOX "$s"/noid-*.eml
# exactly_once knows a message without a Message-ID by a hash of its bytes.
python3 -c 'import hashlib, sys
for f in sys.argv[1:]: print("NOID:" + hashlib.sha256(open(f, "rb").read()).hexdigest()[:16])' \
	"$s"/noid-*.eml >>"$s/exp"
fetch_account uv alice imap starttls "$DOVECOT_IMAP_PORT" true |
	fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch
check_once "UIDVALIDITY: the first run delivers 20 messages" "$s/exp" "$s/Maildir"
check_eq "UIDVALIDITY: the first run delivers the 3 without a Message-ID" \
	"$(subjects_folder "$s/Maildir" | grep -c 'No-ID message')" 3
uv1=$(server_uidvalidity alice)
dovecot_stop
# Without its uidlist and indexes Dovecot numbers the folder afresh.
rm -f "$(dovecot_maildir alice)"/dovecot-uidlist "$(dovecot_maildir alice)"/dovecot.index* \
	"$(dovecot_maildir alice)"/dovecot.list.index*
dovecot_start
uv2=$(server_uidvalidity alice)
if [ "$uv1" != "$uv2" ]; then
	ok "UIDVALIDITY: Dovecot assigned a new UIDVALIDITY ($uv1 -> $uv2)"
else
	not_ok "UIDVALIDITY: Dovecot assigned a new UIDVALIDITY" "still $uv1"
fi
track_add "$s/exp" alice INBOX 5
corral_run 60 -c "$s/config.yml" fetch
check_rc "UIDVALIDITY changed: exit 0" 0
if grep -q 'UIDVALIDITY changed' "$T/err" && grep -q 'refetching' "$T/err"; then
	ok "UIDVALIDITY changed: the log says so and that it is refetching"
else
	not_ok "UIDVALIDITY changed: the log says so and that it is refetching" \
		"$(tr '\n' ' ' <"$T/err")"
fi
if grep -q '^uv: 28 new, 5 delivered .* 23 skipped' "$T/out"; then
	ok "UIDVALIDITY changed: 28 listed, the 5 new delivered, the 23 old skipped by Message-ID or digest"
else
	not_ok "UIDVALIDITY changed: 28 listed, the 5 new delivered, the 23 old skipped by Message-ID or digest" \
		"$(tr '\n' ' ' <"$T/out")"
fi
check_eq "UIDVALIDITY changed: the 3 without a Message-ID are not delivered twice" \
	"$(subjects_folder "$s/Maildir" | grep -c 'No-ID message')" 3
check_once "UIDVALIDITY changed: nothing delivered twice, the new ones once" \
	"$s/exp" "$s/Maildir"

# ---- a wrong CA ----
section "a wrong CA"
s=$T/s6
mkdir -p "$s"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=some other CA" \
	-keyout "$s/ca.key" -out "$s/ca.crt" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
reset_user bob
track_add "$s/exp" bob INBOX 10
{
	fetch_account wrongca bob imap implicit "$DOVECOT_IMAPS_PORT" false "ca_file: $s/ca.crt"
	fetch_account wrongca-starttls bob imap starttls "$DOVECOT_IMAP_PORT" false "ca_file: $s/ca.crt"
	fetch_account wrongca-pop bob pop3 implicit "$DOVECOT_POP3S_PORT" false "ca_file: $s/ca.crt"
} | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch
check_rc "a server certificate from another CA: exit 78" 78
if [ "$(grep -ciE '^corral: error: wrongca(-starttls|-pop)?: .*(certificate|TLS)' "$T/err")" -eq 3 ]; then
	ok "a wrong CA: a clear TLS error naming each of the 3 accounts"
else
	not_ok "a wrong CA: a clear TLS error naming each of the 3 accounts" "$(tr '\n' ' ' <"$T/err")"
fi
check_eq "a wrong CA: nothing fetched, nothing deleted" \
	"$(message_files "$s/Maildir" | wc -l) $(dovecot_count bob)" "0 10"

# ---- a wrong password ----
section "a wrong password"
s=$T/s7
mkdir -p "$s"
reset_user alice carol
track_add "$s/exp" carol INBOX 12
track_add "$s/alice" alice INBOX 4
{
	fetch_account badpass alice imap implicit "$DOVECOT_IMAPS_PORT" false
	fetch_account goodpop carol pop3 implicit "$DOVECOT_POP3S_PORT" true
} | sed "s/'alice-secret-1'/'not-the-password-42'/" |
	fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch
check_rc "a wrong password: exit 77" 77
if grep -qiE '^corral: error: badpass: .*(login refused|authentication)' "$T/err"; then
	ok "a wrong password: a clear error naming the account"
else
	not_ok "a wrong password: a clear error naming the account" "$(tr '\n' ' ' <"$T/err")"
fi
if grep -q 'not-the-password-42' "$T/out" "$T/err"; then
	not_ok "a wrong password: the password is not printed"
else
	ok "a wrong password: the password is not printed"
fi
check_once "a wrong password: the other account is still fetched, exactly once" \
	"$s/exp" "$s/Maildir"
check_eq "a wrong password: nothing deleted on the refused account" "$(dovecot_count alice)" 4

# ---- an unreachable server ----
section "an unreachable server"
s=$T/s8
mkdir -p "$s"
closed=$(_dovecot_free_port)
reset_user bob
track_add "$s/exp" bob INBOX 6
{
	fetch_account closed alice imap implicit "$closed" true
	fetch_account reachable bob imap implicit "$DOVECOT_IMAPS_PORT" true
} | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch closed
check_rc "a closed port: exit 69" 69
if grep -qiE '^corral: error: closed: .*connect' "$T/err"; then
	ok "a closed port: the error names the account and says it cannot connect"
else
	not_ok "a closed port: the error names the account and says it cannot connect" \
		"$(tr '\n' ' ' <"$T/err")"
fi
corral_run 60 -c "$s/config.yml" fetch
check_rc "a closed port next to a working account: exit 69" 69
check_once "a closed port: the working account is still fetched" "$s/exp" "$s/Maildir"

# ---- tls: off ----
section "tls: off"
s=$T/s9
mkdir -p "$s"
fetch_account plain alice imap off "$DOVECOT_IMAP_PORT" true |
	fetch_config "$s/refused.yml" "$s/Maildir" "$s/state"
corral_run 30 -c "$s/refused.yml" check
check_rc "tls: off without allow_plaintext: corral check exits 78" 78
if grep -qE 'refused\.yml:[0-9]+:[0-9]+: .*tls.*allow_plaintext' "$T/out" "$T/err"; then
	ok "tls: off without allow_plaintext: FILE:LINE:COL error naming allow_plaintext"
else
	not_ok "tls: off without allow_plaintext: FILE:LINE:COL error naming allow_plaintext" \
		"$(cat "$T/out" "$T/err" | tr '\n' ' ')"
fi
corral_run 30 -c "$s/refused.yml" fetch
check_rc "tls: off without allow_plaintext: corral fetch refuses too (78)" 78
reset_user alice carol
track_add "$s/exp" alice INBOX 8
track_add "$s/exp" carol INBOX 7
{
	fetch_account plain alice imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true"
	fetch_account plainpop carol pop3 off "$DOVECOT_POP3_PORT" false "allow_plaintext: true"
} | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 30 -c "$s/config.yml" check
check_rc "tls: off + allow_plaintext: true: corral check accepts it" 0
corral_run 60 -c "$s/config.yml" fetch
check_rc "tls: off + allow_plaintext: true on the plain ports: exit 0" 0
check_once "tls: off: IMAP and POP3 messages delivered exactly once" "$s/exp" "$s/Maildir"

# ---- --dry-run ----
section "--dry-run"
s=$T/s10
mkdir -p "$s"
reset_user bob
track_add "$s/exp" bob INBOX 10
fetch_account dry bob imap implicit "$DOVECOT_IMAPS_PORT" true |
	fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 60 -c "$s/config.yml" fetch
track_add "$s/exp" bob INBOX 5
fetch_account dry bob imap implicit "$DOVECOT_IMAPS_PORT" false |
	fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
state_before=$(tree_sum "$s/state")
mail_before=$(tree_sum "$s/Maildir")
server_before=$(tree_sum "$(dovecot_maildir bob)/cur")
corral_run 60 -c "$s/config.yml" --dry-run fetch
check_rc "--dry-run: exit 0" 0
check_eq "--dry-run (keep: false) shows the 5 new messages" \
	"$(grep -cE '^dry INBOX [0-9]+: ' "$T/out")" 5
check_eq "--dry-run writes no Maildir file" "$(tree_sum "$s/Maildir")" "$mail_before"
check_eq "--dry-run leaves the journal and state unchanged" "$(tree_sum "$s/state")" "$state_before"
check_eq "--dry-run leaves the server unchanged (15 messages, same flags)" \
	"$(dovecot_count bob) $(tree_sum "$(dovecot_maildir bob)/cur")" "15 $server_before"
corral_run 60 -c "$s/config.yml" fetch
check_once "after --dry-run a real run delivers the 5 new, exactly once" "$s/exp" "$s/Maildir"
check_eq "after --dry-run the real keep: false run empties the server" "$(dovecot_count bob)" 0

# ---- a full disk ----
section "a full disk"
s=$T/s11
mkdir -p "$s" "$T/disk"
reset_user carol
track_add "$s/exp" carol INBOX 300
if mount -t tmpfs -o size=256k,mode=0700 tmpfs "$T/disk" 2>"$s/mount.err"; then
	fetch_account full carol imap implicit "$DOVECOT_IMAPS_PORT" false |
		fetch_config "$s/config.yml" "$T/disk/Maildir" "$s/state"
	corral_run 60 -c "$s/config.yml" fetch
	check_rc "Maildir on a full tmpfs: exit 75" 75
	if grep -qi 'no space left' "$T/err"; then
		ok "Maildir on a full tmpfs: the error says no space left"
	else
		not_ok "Maildir on a full tmpfs: the error says no space left" "$(tr '\n' ' ' <"$T/err")"
	fi
	check_eq "Maildir on a full tmpfs: keep: false deleted nothing on the server" \
		"$(dovecot_count carol)" 300
	mount -o remount,size=64m "$T/disk"
	corral_run 60 -c "$s/config.yml" fetch
	check_rc "after making room: exit 0" 0
	check_once "after making room: all 300 messages exactly once" "$s/exp" "$T/disk/Maildir"
	check_eq "after making room: the server is empty" "$(dovecot_count carol)" 0
	check_eq "after making room: no file left in tmp/" \
		"$(tmp_files "$T/disk/Maildir" | wc -l)" 0
	umount "$T/disk"
else
	not_ok "mount a 256 KB tmpfs" "$(cat "$s/mount.err")"
fi

# ---- a full disk, keep: true ----
# A message that could not be written must be fetched again later, even
# when messages with higher UIDs were delivered meanwhile.
section "a full disk, keep: true"
s=$T/s15
mkdir -p "$s/msgs"
reset_user alice
printf 'From: a@example.com\nSubject: small 1\nMessage-ID: <small1@corral.test>\n\nhi\n' \
	>"$s/msgs/1.eml"
{
	printf 'From: a@example.com\nSubject: big\nMessage-ID: <big@corral.test>\n\n'
	head -c 2000000 /dev/zero | tr '\0' x | fold -w 76
} >"$s/msgs/2.eml"
printf 'From: a@example.com\nSubject: small 3\nMessage-ID: <small3@corral.test>\n\nhi\n' \
	>"$s/msgs/3.eml"
printf '%s\n' '<small1@corral.test>' '<big@corral.test>' '<small3@corral.test>' >"$s/exp"
# One by one, each followed by a STATUS, so that the UIDs follow the numbers.
d=$(dovecot_maildir alice)
for i in 1 2 3; do
	cp "$s/msgs/$i.eml" "$d/new/$i.corraltest-inorder"
	chown nobody: "$d/new/$i.corraltest-inorder"
	server_uidvalidity alice >/dev/null
done
if mount -t tmpfs -o size=1m,mode=0700 tmpfs "$T/disk" 2>"$s/mount.err"; then
	fetch_account fullkeep alice imap implicit "$DOVECOT_IMAPS_PORT" true |
		fetch_config "$s/config.yml" "$T/disk/Maildir" "$s/state"
	corral_run 60 -c "$s/config.yml" fetch
	check_rc "keep: true, a 2 MB message between two small ones on a 1 MB disk: exit 75" 75
	mount -o remount,size=64m "$T/disk"
	corral_run 60 -c "$s/config.yml" fetch
	check_rc "keep: true, after making room: exit 0" 0
	check_once "keep: true, after making room: all 3 messages, the big one too, exactly once" \
		"$s/exp" "$T/disk/Maildir"
	umount "$T/disk"
else
	not_ok "mount a 1 MB tmpfs" "$(cat "$s/mount.err")"
fi

# ---- two runs at once ----
section "two runs at once"
s=$T/s13
mkdir -p "$s"
reset_user alice
track_add "$s/exp" alice INBOX 600
fetch_account twice alice imap implicit "$DOVECOT_IMAPS_PORT" false |
	fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
pids=()
for i in 1 2; do
	(
		rc=0
		timeout -k 5 60 "$CORRAL" -c "$s/config.yml" fetch >"$s/out$i" 2>"$s/err$i" </dev/null ||
			rc=$?
		echo "$rc" >"$s/rc$i"
	) &
	pids+=($!)
done
wait "${pids[@]}" # not a bare wait: Dovecot is a child of this shell too
cat "$s/err1" "$s/err2" >"$T/err"
grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/err" && cat "$T/err" >>"$T/sanitizer.log"
rcs="$(cat "$s/rc1") $(cat "$s/rc2")"
case $rcs in
"0 0" | "0 75" | "75 0") ok "two runs at once on one account: exit 0, or 75 for the one that found it busy ($rcs)" ;;
*) not_ok "two runs at once on one account: exit 0, or 75 for the one that found it busy" \
	"exits $rcs: $(cat "$s/err1" "$s/err2" | tr '\n' ' ')" ;;
esac
case $rcs in
*75*)
	if grep -qE 'in use by corral fetch \(pid [0-9]+\)' "$s/err1" "$s/err2"; then
		ok "two runs at once: the one that gave up says which corral holds the state"
	else
		not_ok "two runs at once: the one that gave up says which corral holds the state" \
			"$(cat "$s/err1" "$s/err2" | tr '\n' ' ')"
	fi
	;;
esac
corral_run 60 -c "$s/config.yml" fetch
check_once "two runs at once: all 600 messages exactly once" "$s/exp" "$s/Maildir"
check_eq "two runs at once: the server is empty" "$(dovecot_count alice)" 0

# ---- a 20 MB message ----
section "a 20 MB message"
s=$T/s14
mkdir -p "$s"
reset_user bob carol
track_add "$s/exp" bob INBOX 1 20000000
track_add "$s/exp" bob INBOX 3
track_add "$s/exp" carol INBOX 1 20000000
track_add "$s/exp" carol INBOX 3
# One sum per message (line ends normalised), sorted: a multiset to compare.
sums() { # FILE...
	local f
	for f in "$@"; do tr -d '\r' <"$f" | sha256sum; done | sort
}
sums "$(dovecot_maildir bob)"/new/* "$(dovecot_maildir carol)"/new/* >"$s/sums.orig"
{
	fetch_account big-imap bob imap implicit "$DOVECOT_IMAPS_PORT" false
	fetch_account big-pop carol pop3 implicit "$DOVECOT_POP3S_PORT" false
} | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 120 -c "$s/config.yml" fetch
check_rc "a 20 MB message (IMAP and POP3): exit 0" 0
check_once "a 20 MB message: both big ones and the 6 small ones exactly once" \
	"$s/exp" "$s/Maildir"
mapfile -t got < <(message_files "$s/Maildir")
if [ ${#got[@]} -gt 0 ] && (cd "$s/Maildir" && sums "${got[@]}") | cmp -s - "$s/sums.orig"; then
	ok "a 20 MB message: IMAP and POP3 copies identical to the originals (after CRLF -> LF)"
else
	not_ok "a 20 MB message: IMAP and POP3 copies identical to the originals (after CRLF -> LF)"
fi

# ---- byte-exact bodies ----
section "byte-exact bodies"
s=$T/s12
mkdir -p "$s/src"
cp "$here/../data/msg/"*.eml "$s/src/"
# Dot-stuffing on POP3 and dots in IMAP literals.
printf 'From: a@example.com\nSubject: dots\nMessage-ID: <dots@corral.test>\n\n.\n..\n.x\n..x\n...\n.\r\nend\n' \
	>"$s/src/dots.eml"
reset_user bob carol
dovecot_add_files bob INBOX "$s/src/"*.eml
dovecot_add_files carol INBOX "$s/src/"*.eml
nsrc=$(find "$s/src" -name '*.eml' | wc -l)
fetch_account bytes-imap bob imap starttls "$DOVECOT_IMAP_PORT" true |
	fetch_config "$s/imap.yml" "$s/imap" "$s/state"
fetch_account bytes-pop carol pop3 implicit "$DOVECOT_POP3S_PORT" true |
	fetch_config "$s/pop.yml" "$s/pop" "$s/state"
corral_run 60 -c "$s/imap.yml" fetch
check_rc "byte-exact: IMAP fetch of the $nsrc test messages exits 0" 0
corral_run 60 -c "$s/pop.yml" fetch
check_rc "byte-exact: POP3 fetch of the $nsrc test messages exits 0" 0

# byte_compare PROTO USER SRC ROOT: prints "served-mismatches source-mismatches sources-compared"
byte_compare() {
	python3 - "$@" <<'EOF'
import collections, hashlib, imaplib, os, poplib, sys
proto, user, src, root = sys.argv[1:5]
pw = os.environ["DOVECOT_PASS_" + user]
def norm(b):
    return hashlib.sha256(b.replace(b"\r\n", b"\n")).hexdigest()
got = collections.Counter()
for sub in ("new", "cur"):
    for f in os.listdir(os.path.join(root, sub)):
        # Stored with LF line ends: exactly the served bytes with CRLF made LF, once.
        got[hashlib.sha256(open(os.path.join(root, sub, f), "rb").read()).hexdigest()] += 1
served = collections.Counter()
if proto == "imap":
    m = imaplib.IMAP4("127.0.0.1", int(os.environ["DOVECOT_IMAP_PORT"]))
    m.login(user, pw)
    m.select("INBOX", readonly=True)
    typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
    for d in data:
        if isinstance(d, tuple):
            served[norm(d[1])] += 1
    m.logout()
else:
    poplib._MAXLINE = 1 << 24  # the test messages have long lines
    p = poplib.POP3("127.0.0.1", int(os.environ["DOVECOT_POP3_PORT"]))
    p.user(user)
    p.pass_(pw)
    for i in range(1, len(p.list()[1]) + 1):
        served[norm(b"\r\n".join(p.retr(i)[1]) + b"\r\n")] += 1
    p.quit()
want = collections.Counter()
compared = 0
for f in sorted(os.listdir(src)):
    b = open(os.path.join(src, f), "rb").read()
    if proto == "imap" and b"\0" in b:
        continue  # Dovecot's IMAP serves NUL as 0x80
    if proto == "pop" and not b.endswith(b"\n"):
        b += b"\r\n"  # POP3 ends every message with CRLF before the "."
    want[norm(b)] += 1
    compared += 1
bad_served = sum(((got - served) + (served - got)).values())
bad_src = sum((want - got).values())
print(bad_served, bad_src, compared)
EOF
}
read -r bad_served bad_src compared < <(byte_compare imap bob "$s/src" "$s/imap")
check_eq "byte-exact, IMAP: all $nsrc messages are what Dovecot serves, stored with LF line ends" \
	"$bad_served" 0
check_eq "byte-exact, IMAP: $compared messages identical to their .eml (after CRLF -> LF; files with NUL left out: Dovecot's IMAP serves NUL as 0x80)" \
	"$bad_src" 0
read -r bad_served bad_src compared < <(byte_compare pop carol "$s/src" "$s/pop")
check_eq "byte-exact, POP3: all $nsrc messages are what Dovecot serves, stored with LF line ends" \
	"$bad_served" 0
check_eq "byte-exact, POP3: all $compared messages identical to their .eml (after CRLF -> LF; POP3 adds a final line end when missing)" \
	"$bad_src" 0

dovecot_alive_check
sanitizer_check
finish
