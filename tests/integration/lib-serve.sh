# shellcheck shell=bash
# lib-serve.sh: `corral serve` on a throwaway Maildir, for the scripts that
# drive real clients against it (test-serve-curl.sh, -mbsync.sh, -neomutt.sh)
# or compare it with Dovecot (test-serve-fetch.sh, -search.sh, -imap.sh).
# Sourcing it also sources lib.sh and makes $CORRAL absolute; unless $T is
# set already (lib-fetch.sh's mktest), it calls mktest and sets HOME and
# XDG_STATE_HOME below $T (no client reads the user's files); $T is then
# removed on exit unless KEEP is set.
#
#   serve_maildir DIR [FOLDER]
#                  Makes the Maildir++ folder (INBOX = DIR; "A/B" is
#                  DIR/.A.B) with cur/ new/ tmp/; prints its path.
#   serve_add DIR N [FIRST]
#                  Writes N small messages into DIR/new (one python3 call):
#                  message i (from FIRST, default 1) has the Subject
#                  "Message i" and the Message-ID <i@corral.test>; file
#                  names sort in i order.
#   serve_start MAILDIR [LINE...]
#                  Writes $T/config.yml (user "me", password "sesame";
#                  each LINE is added under "server:" as is, e.g. "cert: F"),
#                  starts `corral -v serve` in the background on a free
#                  port of 127.0.0.1 (or of $SERVE_HOST, an address or a
#                  name) and waits (at most 10 s) for it to listen.
#                  Sets SERVE_PORT; the log is $T/serve.log.
#   serve_stop     Stops it (SIGTERM, then SIGKILL after 5 s); safe to repeat.
#   serve_sanitizer_check
#                  One check: the serve log has no sanitizer report.
#   serve_tap SECS CMD...
#                  Runs CMD (at most SECS seconds) and counts each of its
#                  "ok NAME" and "not ok NAME" lines as a check (imapraw.py
#                  writes them), echoes its "#" lines; a CMD that ends
#                  otherwise than with 0 is one failed check more.
#   freeport       A free TCP port on 127.0.0.1.

_serve_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$_serve_lib/lib.sh"
case $CORRAL in /*) ;; *) CORRAL=$PWD/$CORRAL ;; esac
SERVE_PID=
SERVE_PORT=
# A script that made $T already (lib-fetch.sh's, with Dovecot) keeps its
# own directory and trap, which call serve_stop; otherwise this is its setup.
if [ -z "${T:-}" ]; then
	mktest
	# KEEP=1 keeps $T, to look at after a failure.
	trap 'serve_stop; if [ -n "${KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi' EXIT
	export HOME=$T/home XDG_STATE_HOME=$T/xstate XDG_CONFIG_HOME=$T/home/.config
	mkdir -p "$HOME"
fi
need /usr/bin/python3 timeout

freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

serve_maildir() { # DIR [FOLDER]
	local dir=$1 folder=${2:-INBOX}
	if [ "$folder" != INBOX ]; then
		dir=$dir/.${folder//\//.}
	fi
	mkdir -p "$dir/cur" "$dir/new" "$dir/tmp" || setup_fail "mkdir $dir"
	[ "$folder" = INBOX ] || : >"$dir/maildirfolder"
	printf '%s\n' "$dir"
}

serve_add() { # DIR N [FIRST]
	/usr/bin/python3 - "$1/new" "$2" "${3:-1}" <<'EOF' || setup_fail "writing $2 messages into $1"
import os, sys
d, n, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(first, first + n):
    text = ("From: Sender %d <sender%d@example.org>\n"
            "To: Me <me@example.com>\n"
            "Subject: Message %d\n"
            "Message-ID: <%d@corral.test>\n"
            "Date: Mon, 01 Jan 2024 12:00:00 +0000\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n"
            "This is message %d.\n.a line starting with a dot\nFrom the start of a line\n") % (i, i % 97, i, i, i)
    with open(os.path.join(d, "%d.M%dP1.corraltest" % (1700000000 + i, i)), "w") as f:
        f.write(text)
    os.utime(os.path.join(d, "%d.M%dP1.corraltest" % (1700000000 + i, i)), (1700000000 + i,) * 2)
EOF
}

serve_start() { # MAILDIR [LINE...]
	local maildir=$1 hash line
	shift
	hash=$(printf 'sesame\n' | "$CORRAL" passwd) || setup_fail "corral passwd"
	SERVE_PORT=$(freeport)
	{
		printf 'maildir: %s\nstate: %s\nserver:\n' "$maildir" "$T/state"
		printf '  listen: ["%s:%s"]\n' "${SERVE_HOST:-127.0.0.1}" "$SERVE_PORT"
		for line in "$@"; do
			printf '  %s\n' "$line"
		done
		printf '  users:\n    me: {password_hash: "%s"}\n' "$hash"
	} >"$T/config.yml"
	chmod 600 "$T/config.yml"
	"$CORRAL" -c "$T/config.yml" -v serve >"$T/serve.out" 2>"$T/serve.log" </dev/null &
	SERVE_PID=$!
	wait_until 10 grep -q "listening on .*:$SERVE_PORT" "$T/serve.log" || {
		sed 's/^/# /' "$T/serve.log"
		setup_fail "corral serve did not listen"
	}
}

serve_stop() {
	[ -n "$SERVE_PID" ] || return 0
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait_until 5 sh -c "! kill -0 $SERVE_PID 2>/dev/null"
	kill -KILL "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
	return 0
}

serve_tap() { # SECS CMD...
	local secs=$1 out rc l
	shift
	out=$(timeout "$secs" "$@" 2>&1)
	rc=$?
	while IFS= read -r l; do
		case $l in
		"ok "*) ok "${l#ok }" ;;
		"not ok "*) not_ok "${l#not ok }" ;;
		"#"*) echo "$l" ;;
		esac
	done <<<"$out"
	[ $rc -eq 0 ] || not_ok "$(basename "$2") ran to its end (status $rc)" \
		"$(echo "$out" | grep -v -E '^(ok|not ok|#)' | tail -5 | tr '\n' ' ')"
}

serve_sanitizer_check() {
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/serve.log"; then
		not_ok "corral serve's log has no sanitizer report" \
			"$(grep -m 3 -E 'ERROR|runtime error|#[0-3] ' "$T/serve.log" | tr '\n' ' ')"
	else
		ok "corral serve's log has no sanitizer report"
	fi
}
