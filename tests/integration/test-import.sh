#!/usr/bin/env bash
# `corral import`: switching from fetchmail, mpop, getmail or mbsync without
# downloading anything again. Each real tool fetches once from the local
# Dovecot (keep / no delete, so the mail stays on the server) and writes its
# own state file; corral imports it, new mail arrives, and `corral fetch`
# must fetch exactly the new messages: 0 of the old ones again. Also: a
# second import adds nothing, --dry-run writes nothing, a malformed file is
# FILE:LINE and imports nothing, a kill -9 mid-import leaves a journal
# corral reads, IMAP UIDs of another UIDVALIDITY are never taken as seen, an
# interrupted mbsync state or a crashed corral fetch stops the import.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"

[ -x "$CORRAL" ] || setup_fail "the binary under test $CORRAL exists"
need fetchmail mpop getmail mbsync

T=$(mktemp -d "${TMPDIR:-/tmp}/corral-import.XXXXXX")
cleanup() {
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

section() { echo "# $1 (at ${SECONDS}s)"; }

check_rc() { # NAME WANT
	if [ "$RC" -eq "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "exit $RC, want $2; $(tail -n 3 "$T/err" | tr '\n' ' ')"
	fi
}

check_out() { # NAME REGEX: the last corral_run's stdout has a line matching it
	if grep -qE "$2" "$T/out"; then
		ok "$1"
	else
		not_ok "$1" "$(head -c 600 "$T/out" | tr '\n' '|') $(head -c 300 "$T/err")"
	fi
}

# fetched NAME DIR EXPECTED ACCOUNT N: `corral fetch` of DIR's config delivered
# exactly the N messages in EXPECTED (the new ones), none of the old.
fetched() {
	local name=$1 s=$2 exp=$3 acct=$4 n=$5
	corral_run 60 -c "$s/config.yml" fetch "$acct"
	check_rc "$name: corral fetch exits 0" 0
	check_out "$name: corral fetch downloads only the $n new messages" \
		"^$acct: $n new, $n delivered"
	if exactly_once "$exp" "$s/Maildir"; then
		ok "$name: the Maildir holds exactly the $n new messages, 0 old ones"
	else
		not_ok "$name: the Maildir holds exactly the $n new messages, 0 old ones" \
			"lost $FETCH_LOST, duplicated $FETCH_DUP, old ones fetched again $FETCH_EXTRA"
	fi
}

pop_account() { # NAME USER
	fetch_account "$1" "$2" pop3 off "$DOVECOT_POP3_PORT" true "allow_plaintext: true"
}
imap_account() { # NAME USER
	fetch_account "$1" "$2" imap off "$DOVECOT_IMAP_PORT" true "allow_plaintext: true" \
		"folders: [INBOX, Archive]"
}

# ---- fetchmail (POP3) ----
section "fetchmail"
s=$T/fetchmail
mkdir -p "$s"
dovecot_add_messages alice INBOX 6
cat >"$s/fetchmailrc" <<EOF
set no syslog
poll 127.0.0.1 port $DOVECOT_POP3_PORT protocol pop3 uidl:
  user "alice" there with password "$DOVECOT_PASS_alice" is root here
  keep
  sslproto ''
  mda "cat >/dev/null"
EOF
chmod 600 "$s/fetchmailrc"
timeout 30 fetchmail -f "$s/fetchmailrc" --idfile "$s/fetchids" --pidfile "$s/fetchmail.pid" \
	>"$s/tool.log" 2>&1 || setup_fail "fetchmail did not fetch: $(tail -n 3 "$s/tool.log")"
[ "$(wc -l <"$s/fetchids")" -eq 6 ] || setup_fail "fetchmail wrote no .fetchids of 6 UIDLs"
pop_account mig alice | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"

# A malformed line: FILE:LINE, exit 65, nothing recorded.
{
	cat "$s/fetchids"
	echo "no uidl on this line"
} >"$s/bad.fetchids"
corral_run 30 -c "$s/config.yml" import fetchmail "$s/bad.fetchids"
check_rc "fetchmail, malformed .fetchids: exit 65" 65
if grep -qF "$s/bad.fetchids:7: expected 'USER@HOST UIDL'" "$T/err" && [ ! -e "$s/state/accounts/mig.journal" ]; then
	ok "fetchmail, malformed .fetchids: FILE:LINE named, no journal written"
else
	not_ok "fetchmail, malformed .fetchids: FILE:LINE named, no journal written" "$(cat "$T/err")"
fi

# kill -9 in the middle of a big import: the journal stays readable.
python3 - "$s/fetchids" "$s/big.fetchids" <<'EOF'
import sys
real = open(sys.argv[1]).read()
with open(sys.argv[2], "w") as f:
    for i in range(150000):
        f.write("alice@127.0.0.1 fake%07d\n" % i)
    f.write(real)
EOF
"$CORRAL" -c "$s/config.yml" import fetchmail "$s/big.fetchids" >/dev/null 2>&1 &
pid=$!
# Killed once the first 50,000 records are synced, while it writes the rest.
journal_big() { [ "$(stat -c %s "$s/state/accounts/mig.journal" 2>/dev/null || echo 0)" -gt 100000 ]; }
wait_until 20 journal_big || true
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
corral_run 60 -c "$s/config.yml" --dry-run import fetchmail "$s/big.fetchids"
known=$(sed -n 's/^account mig: .* \([0-9]*\) already known.*/\1/p' "$T/out")
if [ "$RC" -eq 0 ] && [ "${known:-0}" -ge 50000 ]; then
	ok "fetchmail: killed mid-import, the journal reads back with what was synced ($known of 150006)"
else
	not_ok "fetchmail: killed mid-import, the journal reads back with what was synced" \
		"exit $RC, known '${known:-}'; $(head -c 300 "$T/err")"
fi
corral_run 60 -c "$s/config.yml" import fetchmail "$s/fetchids"
check_rc "fetchmail: after a kill -9 mid-import, importing again exits 0" 0
check_out "fetchmail: the import counts the 6 UIDLs of .fetchids (imported or already known)" \
	"^account mig: [0-6] UIDs imported, [0-6] already known, 0 skipped"
corral_run 60 -c "$s/config.yml" import fetchmail "$s/fetchids"
check_out "fetchmail: a second import adds nothing" \
	"^account mig: 0 UIDs imported, 6 already known, 0 skipped"
: >"$s/exp"
track_add "$s/exp" alice INBOX 3
fetched fetchmail "$s" "$s/exp" mig 3

# ---- mpop (POP3) ----
section "mpop"
s=$T/mpop
mkdir -p "$s"
dovecot_add_messages bob INBOX 5
cat >"$s/mpoprc" <<EOF
defaults
tls off
keep on
uidls_file $s/uidls/%U_at_%H
account default
host 127.0.0.1
port $DOVECOT_POP3_PORT
user bob
auth user
password "$DOVECOT_PASS_bob"
delivery mda "cat >/dev/null"
EOF
chmod 600 "$s/mpoprc"
timeout 30 mpop -C "$s/mpoprc" -q >"$s/tool.log" 2>&1 ||
	setup_fail "mpop did not fetch: $(tail -n 3 "$s/tool.log")"
grep -q '^ 5 127.0.0.1 bob$' "$s/uidls/bob_at_127.0.0.1" 2>/dev/null ||
	setup_fail "mpop wrote no UIDLs file with 5 UIDLs"
pop_account mig bob | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 30 -c "$s/config.yml" --dry-run import mpop "$s/uidls"
check_rc "mpop --dry-run: exit 0" 0
if grep -q "^account mig: 5 UIDs would be imported" "$T/out" && [ ! -e "$s/state" ]; then
	ok "mpop --dry-run: says 5 would be imported, writes nothing"
else
	not_ok "mpop --dry-run: says 5 would be imported, writes nothing" "$(cat "$T/out")"
fi
corral_run 30 -c "$s/config.yml" import mpop "$s/uidls"
check_rc "mpop: import exits 0" 0
check_out "mpop: 5 UIDLs imported for the account" "^account mig: 5 UIDs imported"
: >"$s/exp"
track_add "$s/exp" bob INBOX 2
fetched mpop "$s" "$s/exp" mig 2

# A journal with deliveries a crash interrupted: import refuses until a fetch
# has finished them (marking an id seen would drop its missing deliveries).
s=$T/mpop-crash
mkdir -p "$s"
pop_account mig bob | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
CORRAL_FAULT=after-intents corral_run 60 -c "$s/config.yml" fetch
[ "$RC" -eq 75 ] || setup_fail "CORRAL_FAULT=after-intents: the fetch did not die as a crash (exit $RC, want 75)"
corral_run 30 -c "$s/config.yml" import mpop "$T/mpop/uidls"
check_rc "mpop, after a crashed fetch: import exits 75" 75
if grep -q "pending: run corral fetch mig first" "$T/err"; then
	ok "mpop, after a crashed fetch: import says to fetch first"
else
	not_ok "mpop, after a crashed fetch: import says to fetch first" "$(cat "$T/err")"
fi

# ---- getmail (POP3 and IMAP) ----
section "getmail"
s=$T/getmail
mkdir -p "$s/getmail"
dovecot_add_messages carol INBOX 4
dovecot_add_messages carol Archive 2
for kind in pop imap; do
	{
		echo "[retriever]"
		if [ $kind = pop ]; then
			printf 'type = SimplePOP3Retriever\nport = %s\n' "$DOVECOT_POP3_PORT"
		else
			printf 'type = SimpleIMAPRetriever\nport = %s\nmailboxes = ("INBOX", "Archive")\n' \
				"$DOVECOT_IMAP_PORT"
		fi
		printf 'server = 127.0.0.1\nusername = carol\npassword = %s\n\n' "$DOVECOT_PASS_carol"
		printf '[destination]\ntype = MDA_external\npath = /bin/sh\n'
		printf 'arguments = ("-c", "cat >/dev/null")\nallow_root_commands = true\n\n'
		printf '[options]\ndelete = false\nread_all = false\nverbose = 0\n'
	} >"$s/getmail/$kind.rc"
done
chmod 600 "$s/getmail/"*.rc
timeout 30 getmail --getmaildir="$s/getmail" --rcfile=pop.rc --rcfile=imap.rc \
	>"$s/tool.log" 2>&1 || setup_fail "getmail did not fetch: $(tail -n 3 "$s/tool.log")"
[ "$(cat "$s/getmail"/oldmail-* 2>/dev/null | wc -l)" -eq 10 ] ||
	setup_fail "getmail wrote no oldmail files with 4 + 4 + 2 ids"
mkdir -p "$s/pop" "$s/imap"
pop_account popmig carol | fetch_config "$s/pop/config.yml" "$s/pop/Maildir" "$s/pop/state"
imap_account imapmig carol | fetch_config "$s/imap/config.yml" "$s/imap/Maildir" "$s/imap/state"
corral_run 30 -c "$s/pop/config.yml" import getmail "$s/getmail"
check_rc "getmail (POP3): import of the getmail folder exits 0" 0
check_out "getmail (POP3): 4 UIDLs imported for the pop3 account" \
	"^account popmig: 4 UIDs imported, 0 already known, 0 skipped"
check_out "getmail (POP3): the IMAP retriever's files are skipped, with why" \
	"oldmail-127.0.0.1-$DOVECOT_IMAP_PORT-carol-INBOX: skipped: no account"
corral_run 30 -c "$s/imap/config.yml" import getmail "$s/getmail"
check_rc "getmail (IMAP): import of the getmail folder exits 0" 0
check_out "getmail (IMAP): 6 UIDs (INBOX and Archive) imported for the imap account" \
	"^account imapmig: 6 UIDs imported, 0 already known, 0 skipped"
: >"$s/exp"
track_add "$s/exp" carol INBOX 2
cp "$s/exp" "$s/exp-imap"
track_add "$s/exp-imap" carol Archive 1
fetched "getmail (POP3)" "$s/pop" "$s/exp" popmig 2
fetched "getmail (IMAP)" "$s/imap" "$s/exp-imap" imapmig 3

# ---- mbsync (IMAP) ----
section "mbsync"
s=$T/mbsync
mkdir -p "$s/mail"
dovecot_add_messages bob Archive 3
cat >"$s/mbsyncrc" <<EOF
IMAPAccount dc
Host 127.0.0.1
Port $DOVECOT_IMAP_PORT
User bob
Pass "$DOVECOT_PASS_bob"
SSLType None
AuthMechs PLAIN

IMAPStore far
Account dc

MaildirStore near
Path $s/mail/
Inbox $s/mail/INBOX
SubFolders Verbatim

Channel ch
Far :far:
Near :near:
Patterns INBOX Archive
Create Near
Sync Pull
Expunge None
SyncState *
EOF
timeout 30 mbsync -c "$s/mbsyncrc" -a >"$s/tool.log" 2>&1 ||
	setup_fail "mbsync did not sync: $(tail -n 3 "$s/tool.log")"
[ -s "$s/mail/INBOX/.mbsyncstate" ] && [ -s "$s/mail/Archive/.mbsyncstate" ] ||
	setup_fail "mbsync wrote no .mbsyncstate in INBOX and Archive"
old_inbox=$(dovecot_count bob INBOX)
imap_account mig bob | fetch_config "$s/config.yml" "$s/Maildir" "$s/state"
corral_run 30 -c "$s/config.yml" import mbsync "$s/mail"
check_rc "mbsync: import of the Maildir tree exits 0" 0
check_out "mbsync: INBOX's UIDs imported from INBOX/.mbsyncstate" \
	"mail/INBOX/.mbsyncstate -> mig, INBOX: $old_inbox UIDs imported"
check_out "mbsync: Archive's 3 UIDs imported from Archive/.mbsyncstate" \
	"mail/Archive/.mbsyncstate -> mig, Archive: 3 UIDs imported"
: >"$s/exp"
track_add "$s/exp" bob INBOX 2
track_add "$s/exp" bob Archive 2
fetched mbsync "$s" "$s/exp" mig 4

# Another UIDVALIDITY than the server's: nothing of that folder is taken as seen.
s2=$T/mbsync-uv
mkdir -p "$s2"
cp -r "$s/mail" "$s2/mail"
sed -i 's/^FarUidValidity \([0-9]*\)$/FarUidValidity 12345/' "$s2/mail/Archive/.mbsyncstate"
imap_account mig bob | fetch_config "$s2/config.yml" "$s2/Maildir" "$s2/state"
corral_run 30 -c "$s2/config.yml" import mbsync "$s2/mail"
check_rc "mbsync, a stale UIDVALIDITY: import exits 0" 0
corral_run 60 -c "$s2/config.yml" fetch
n_archive=$(dovecot_count bob Archive)
check_out "mbsync, a stale UIDVALIDITY: fetch takes INBOX's 2 new and all $n_archive of Archive" \
	"^mig: $((2 + n_archive)) new, $((2 + n_archive)) delivered"
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi; }
check_eq "mbsync, a stale UIDVALIDITY: $((2 + n_archive)) messages in the Maildir, none lost" \
	"$(message_files "$s2/Maildir" | wc -l)" "$((2 + n_archive))"

# A folder corral fetched keeps its UIDVALIDITY: the file's other one is skipped.
corral_run 30 -c "$s/config.yml" import mbsync "$s2/mail"
check_out "mbsync: a folder corral fetched under another UIDVALIDITY: its ids skipped, with why" \
	"^  3 skipped: UIDVALIDITY 12345 in the file, corral's journal has [0-9]+ for the folder"

# Maildir++ (the root is INBOX, .Archive its folder), and a place that names
# no folder, which --folder names.
pp=$T/mbsync-pp
mkdir -p "$pp/cur" "$pp/.Archive/cur" "$pp/odd/x"
cp "$s/mail/INBOX/.mbsyncstate" "$pp/.mbsyncstate"
cp "$s/mail/Archive/.mbsyncstate" "$pp/.Archive/.mbsyncstate"
cp "$s/mail/Archive/.mbsyncstate" "$pp/odd/x/.mbsyncstate"
imap_account mig bob | fetch_config "$pp/config.yml" "$pp/Maildir" "$pp/state"
corral_run 30 -c "$pp/config.yml" --dry-run import mbsync "$pp/odd"
check_rc "mbsync: a state whose place names no folder: nothing imported, exit 78" 78
check_out "mbsync: ... and the import says to name it with --folder" "odd/x/.mbsyncstate: skipped: .*--folder"
corral_run 30 -c "$pp/config.yml" --dry-run import --folder Archive mbsync "$pp/odd"
check_out "mbsync: --folder names the folder of a state file" \
	"odd/x/.mbsyncstate -> mig, Archive: 3 UIDs would be imported"
rm -r "$pp/odd"
corral_run 30 -c "$pp/config.yml" --dry-run import mbsync "$pp"
if grep -qE "^$pp/.mbsyncstate -> mig, INBOX .*: $old_inbox UIDs would be" "$T/out" &&
	grep -qE "^$pp/.Archive/.mbsyncstate -> mig, Archive: 3 UIDs would be" "$T/out"; then
	ok "mbsync: a Maildir++ tree: the root's state is INBOX's, .Archive's is Archive's"
else
	not_ok "mbsync: a Maildir++ tree: the root's state is INBOX's, .Archive's is Archive's" \
		"$(tr '\n' '|' <"$T/out")"
fi

# A state mbsync did not finish is not imported.
touch "$s2/mail/INBOX/.mbsyncstate.journal"
corral_run 30 -c "$s2/config.yml" --dry-run import mbsync "$s2/mail"
check_out "mbsync: a state with its .journal beside it (mbsync interrupted) is skipped, with why" \
	"INBOX/.mbsyncstate: skipped: mbsync was interrupted"

sanitizer_check
dovecot_alive_check
finish
