#!/usr/bin/env bash
# neomutt, driven by tmux, as a client of `corral serve`: an INBOX of 1000
# messages opens; one message is read, one flagged, one saved to =Archive
# (after the append confirmation), one deleted; $ syncs; a new message
# arrives while it waits in IDLE; c opens =Archive; q quits. Then
# the Maildir on disk says so: S, F, the saved one in .Archive/cur and gone
# from INBOX, the deleted one gone, 999 + 1 messages. Every wait polls the
# pane (bounded); a failed wait prints it. No Dovecot.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"
need neomutt tmux
# neomutt needs a terminal: tmux gives it a pseudo-terminal. Where none can
# be had (a chroot without /dev/pts mounted, as ../shared/tools/fresh-root.sh
# makes), nothing here can run: say so, and count nothing as passed.
if ! python3 -c 'import os; os.openpty()' 2>/dev/null; then
	echo "# skip: no pseudo-terminal can be opened here (is /dev/pts mounted?): neomutt cannot run"
	finish
	exit
fi

M=$(serve_maildir "$T/Maildir")
serve_add "$M" 1000
A=$(serve_maildir "$T/Maildir" Archive)
serve_start "$M"

# No ~/.neomuttrc (HOME is $T/home, and -n -F), no caches, no TLS; the
# index in server order with the number and subject of each message and
# an arrow on the current one; no prompt that the steps do not expect.
cat >"$T/muttrc" <<EOF
set imap_user=me
set imap_pass=sesame
set folder=imap://127.0.0.1:$SERVE_PORT/
set spoolfile=+INBOX
set header_cache=""
set message_cachedir=""
set ssl_starttls=no
set ssl_force_tls=no
set imap_check_subscribed=yes
set imap_peek=yes
set sort=mailbox-order
set index_format="%4C %s"
set arrow_cursor=yes
set confirmappend=yes
set delete=yes
set move=no
set record=""
set postponed=""
set mark_old=no
set wait_key=no
set sleep_time=0
set beep=no
set help=no
set ts_enabled=no
set imap_idle=yes
set mail_check=1
set timeout=1
EOF

tm() { tmux -S "$T/tmux.sock" "$@"; }
trap 'tm kill-server 2>/dev/null; serve_stop; if [ -n "${KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi' EXIT
pane() { tm capture-pane -p -t nm 2>/dev/null; }
# wait_pane SECS REGEX: until the pane shows REGEX; else the pane, and 1.
wait_pane() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do
		pane | grep -qE "$2" && return 0
		sleep 0.1
	done
	pane | grep -qE "$2" && return 0
	echo "# waited $1 s for /$2/; the pane:"
	pane | sed 's/^/# | /'
	return 1
}
# step NAME SECS REGEX KEYS...: sends KEYS, then waits for REGEX (a check).
step() {
	local name=$1 secs=$2 re=$3
	shift 3
	tm send-keys -t nm "$@"
	check "$name" wait_pane "$secs" "$re"
}
# jump N: the index's cursor onto message N (its subject is "Message N").
jump() {
	step "the cursor is on message $1" 5 "^-> +$1 Message $1\$" "$1" Enter
}

tm -f /dev/null new-session -d -s nm -x 120 -y 40 \
	"neomutt -n -F '$T/muttrc' -d 2 -l '$T/neomutt.log' 2>'$T/neomutt.err'" ||
	setup_fail "tmux did not start neomutt"
check "neomutt opens INBOX: 1000 messages" wait_pane 30 'NeoMutt: \+INBOX \[Msgs:1000 '

# Read message 5 (neomutt peeks; \Seen goes with the sync).
jump 5
step "message 5 opens in the pager" 10 '^This is message 5\.$' Enter
step "back to the index" 5 'NeoMutt: \+INBOX' i
jump 6
step "message 6 is flagged (Flag:1)" 5 'Flag:1' F
jump 7
step "s asks where to save" 5 '^Save to mailbox' s
step "saving to =Archive asks to confirm the append" 10 '^Append messages to .*Archive\?' C-u =Archive Enter
step "the saved message is marked deleted in INBOX (Del:1)" 10 'Del:1' y
jump 8
step "message 8 is marked deleted (Del:2)" 5 'Del:2' d
step "\$ syncs: 998 left" 20 'Msgs:998 ' '$'
# New mail while neomutt sits in INBOX (IDLE or its check every second).
serve_add "$M" 1 2000
check "a message delivered meanwhile shows up (Msgs:999)" wait_pane 15 'Msgs:999 '
check "neomutt heard of it in IDLE (* 999 EXISTS)" \
	sh -c "grep -q '> a[0-9]* IDLE' '$T'/neomutt.log* && grep -q 'New mail in INBOX - 999 messages total' '$T'/neomutt.log*"
step "c =Archive: the saved message is there" 10 'NeoMutt: =Archive \[Msgs:1 .*|^-> +1 Message 7$' c C-u =Archive Enter
check "=Archive shows message 7" wait_pane 5 '^-> +1 Message 7$'
tm send-keys -t nm q
check "q quits neomutt" wait_until 10 sh -c "! tmux -S '$T/tmux.sock' has-session -t nm 2>/dev/null"
check "neomutt logged no error (no <E> line, nothing on stderr)" \
	sh -c "! grep -q '<E>' '$T'/neomutt.log* && ! [ -s '$T/neomutt.err' ]"
check "neomutt copied with UID COPY and expunged (its log)" \
	sh -c "grep -q 'UID COPY 7 \"Archive\"' '$T'/neomutt.log* && grep -q '> a[0-9]* EXPUNGE' '$T'/neomutt.log*"

# The Maildir on disk.
file_of() { # DIR N: the file of message N in DIR's cur/ or new/
	grep -l "^Message-ID: <$2@corral.test>\$" "$1"/cur/* "$1"/new/* 2>/dev/null
}
flags_have() { # DIR N LETTER
	local f
	f=$(file_of "$1" "$2")
	[ "$(echo "$f" | wc -w)" -eq 1 ] || return 1
	case ${f##*:2,} in *"$3"*) return 0 ;; esac
	return 1
}
count() { find "$1/cur" "$1/new" -type f | wc -l; }
check "message 5, read, has S" flags_have "$M" 5 S
check "message 6, flagged, has F" flags_have "$M" 6 F
check "message 6 was not read (no S)" sh -c "! ls '$M/cur' | grep -q 'M6P1.corraltest:2,.*S'"
check "message 7 is in .Archive/cur" sh -c "grep -q '^Message-ID: <7@corral.test>\$' '$A'/cur/*"
check "message 7 is gone from INBOX" test -z "$(file_of "$M" 7)"
check "message 8 is gone" sh -c "[ -z \"\$(grep -rl '^Message-ID: <8@corral.test>\$' '$T/Maildir')\" ]"
check "INBOX holds 999 messages ($(count "$M"))" test "$(count "$M")" -eq 999
check "Archive holds 1 message ($(count "$A"))" test "$(count "$A")" -eq 1
check "the copy's name is a clean Maildir name (no ',:2,')" \
	sh -c "ls '$A/cur' | grep -qE '^[0-9]+\.[^,:]+:2,[A-Z]*\$'"
check "the other messages are untouched (997 names without flags)" \
	test "$(find "$M/cur" "$M/new" -type f -regex '.*/[0-9]+\.M[0-9]+P1\.corraltest\(:2,\)?' | wc -l)" -eq 997

serve_stop
serve_sanitizer_check
finish
