#!/bin/bash
# The state directory failing under `corral fetch` and `corral run`, on a
# 256 KiB tmpfs of its own: read-only (a read-only bind mount over it, as a
# remount would make it) and full (a file fills it). fetch: exit 75 with the
# error named, nothing delivered, nothing deleted on the servers; then, the
# directory back, every message exactly once. run: the daemon keeps going,
# retries within its backoff (not an hour later), delivers what came
# meanwhile once the directory is back, and stops at SIGTERM; exactly once,
# the keep: false servers emptied. Accounts: IMAP and POP3, keep: false.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
need mount umount df
mktest
fetch_fast_python
DPID=
disk=$T/disk
S=$disk/state
cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null && sleep 0.5
	umount "$S" 2>/dev/null
	umount "$disk" 2>/dev/null
	dovecot_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
dovecot_setup >/dev/null
dovecot_start
mkdir -p "$disk"
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$disk" || setup_fail "mount a 256 KiB tmpfs"
mkdir -p "$S"

M=$T/Maildir
exp=$T/expected
: >"$exp"
{
	fetch_account imap bob imap starttls "$DOVECOT_IMAP_PORT" false "poll: 2s" "idle: false"
	fetch_account pop carol pop3 implicit "$DOVECOT_POP3S_PORT" false "poll: 2s"
} | fetch_config "$T/c.yml" "$M" "$S"

read_only() { mount --bind "$S" "$S" && mount -o remount,bind,ro "$S"; }
writable() { umount "$S"; }
# fill: leaves no byte free on the tmpfs (with 4 KiB left, the journal's
# records of a whole poll could fit in it and the daemon never saw the
# error, now and then); unfill removes the filler.
fill() {
	cat /dev/zero >"$disk/filler" 2>/dev/null
	return 0
}
unfill() { rm -f "$disk/filler"; }
delivered() { message_files "$M" | wc -l; }
on_servers() { echo $(($(dovecot_count bob) + $(dovecot_count carol))); }
has_delivered() { [ "$(delivered)" -ge "$1" ]; }
servers_empty() { [ "$(on_servers)" -eq 0 ]; }
# Every expected message is in the Maildir or still on its server.
none_lost() {
	[ "$(lost_count "$exp" "$M" "$(dovecot_maildir bob)" "$(dovecot_maildir carol)")" -eq 0 ]
}

# ---- corral fetch ----
fetch_fault() { # NAME BREAK MEND ERROR
	local name=$1 break=$2 mend=$3 error=$4 before
	track_add "$exp" bob INBOX 100
	track_add "$exp" carol INBOX 100
	before=$(delivered)
	$break || setup_fail "$name: making the state directory $name"
	corral_run 60 -c "$T/c.yml" fetch
	check "fetch, state $name: exit 75" test "$RC" -eq 75
	if grep -q "$error" "$T/err"; then
		ok "fetch, state $name: the error says '$error'"
	else
		not_ok "fetch, state $name: the error says '$error'" "$(head -c 300 "$T/err")"
	fi
	check "fetch, state $name: nothing deleted on the servers" test "$(on_servers)" -eq 200
	check "fetch, state $name: nothing delivered" test "$(delivered)" -eq "$before"
	$mend
	corral_run 60 -c "$T/c.yml" fetch
	check "fetch, state $name, then back: exit 0" test "$RC" -eq 0
	if exactly_once "$exp" "$M"; then
		ok "fetch, state $name, then back: $FETCH_DELIVERED messages, lost 0, duplicated 0"
	else
		not_ok "fetch, state $name, then back" \
			"lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
	fi
	check "fetch, state $name, then back: the servers are empty" test "$(on_servers)" -eq 0
}
fetch_fault read-only read_only writable "Read-only file system"
fetch_fault full fill unfill "No space left on device"

# ---- corral run ----
"$CORRAL" -c "$T/c.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
track_add "$exp" bob INBOX 10
track_add "$exp" carol INBOX 10
check "run: the first 20 arrive" wait_until 30 has_delivered 420

# run_fault NAME BREAK MEND ERROR: mail comes while the state is broken.
run_fault() {
	local name=$1 break=$2 mend=$3 error=$4 before delay
	before=$(delivered)
	$break || setup_fail "$name: making the state directory $name"
	track_add "$exp" bob INBOX 30
	track_add "$exp" carol INBOX 30
	if wait_until 20 grep -q "$error.*next try in" "$T/run.log"; then
		delay=$(grep "$error.*next try in" "$T/run.log" | tail -1 | sed 's/.*next try in \([0-9]*\) s.*/\1/')
		check "run, state $name: the error names it and the retry comes within a minute ($delay s)" \
			test "$delay" -le 60
	else
		not_ok "run, state $name: the daemon reports '$error'" "$(tail -3 "$T/run.log")"
	fi
	# (a full disk may still take a few: the journal had room for some)
	check "run, state $name: every message delivered or still on its server" none_lost
	check "run, state $name: the daemon still runs" kill -0 "$DPID"
	$mend
	check "run, state $name, then back: the 60 arrive within 60 s" \
		wait_until 60 has_delivered $((before + 60))
	check "run, state $name, then back: the servers are emptied" wait_until 10 servers_empty
}
run_fault read-only read_only writable "Read-only file system"
run_fault full fill unfill "No space left on device"

t0=$(date +%s%N)
kill -TERM "$DPID"
rc=0
wait_until 10 sh -c "! kill -0 $DPID 2>/dev/null"
wait "$DPID" || rc=$?
DPID=
check "run: SIGTERM stops it with exit 0 (in $((($(date +%s%N) - t0) / 1000000)) ms)" test "$rc" -eq 0
if exactly_once "$exp" "$M"; then
	ok "all: $FETCH_DELIVERED messages, lost 0, duplicated 0"
else
	not_ok "all" "lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/run.log"; then
	cat "$T/run.log" >>"$T/sanitizer.log"
fi
dovecot_alive_check
sanitizer_check
finish
