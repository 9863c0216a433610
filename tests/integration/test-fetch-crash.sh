#!/usr/bin/env bash
# kill -9 `corral fetch` (the parent and its per-account children) at random
# moments while it fetches 2000-message mailboxes from Dovecot, R times, then
# let one run finish: every message must be in the Maildir exactly once
# (by Message-ID), the keep: false mailboxes empty (DESIGN.md 4.1, 4.2), and
# no file of the killed runs left in tmp/.
# After every kill, no message may be missing from both the server and the
# Maildir. Three accounts run at once: IMAPS keep: true, IMAP STARTTLS keep:
# false, and POP3S whose keep alternates run by run (true, false, ...). A
# rule files every message whose number ends in 5 into two folders (Copies
# and INBOX), so that a kill can fall between the two links of one message.
# Then, deterministically: a run killed while its pids stay zombies (their
# parent, a subreaper, never reaps them) and a tmp file named with the pid of
# a live unrelated process (a reused pid) are both cleaned by the next run;
# and a fetch that cleans while a `corral deliver` is in the middle of a
# message keeps that delivery's file, which then arrives intact.
#   RUNS=12 (kills), SEED=... (for $RANDOM: the delays) can be set.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"

RUNS=${RUNS:-12}
SEED=${SEED:-$$}
RANDOM=$SEED
echo "# runs $RUNS, seed $SEED"

if [ ! -x "$CORRAL" ]; then
	not_ok "the binary under test $CORRAL exists"
	finish
	exit 1
fi
need setsid python3

T=$(mktemp -d "${TMPDIR:-/tmp}/corral-fetch-crash.XXXXXX")
PGID=
HELPERS=()
cleanup() {
	if [ -n "$PGID" ]; then kill -9 -- "-$PGID" 2>/dev/null || true; fi
	if [ ${#HELPERS[@]} -gt 0 ]; then kill -9 "${HELPERS[@]}" 2>/dev/null || true; fi
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

exp=$T/expected
maildir=$T/Maildir
# first3 ITEM...: the first three items, for a failure's detail.
first3() { printf '%s | ' "${@:1:3}"; [ $# -le 3 ] || printf '(%d more)' $(($# - 3)); }
track_add "$exp" alice INBOX 2000
track_add "$exp" bob INBOX 2000
track_add "$exp" carol INBOX 2000
added_alice=2000

cat >"$T/rules.yml" <<'EOF'
- name: two copies
  if: {subject: 'Test message *5'}
  then: [{folder: Copies}, keep]
EOF
write_config() { # POP-KEEP
	{
		fetch_account imaps-keep alice imap implicit "$DOVECOT_IMAPS_PORT" true
		fetch_account starttls-del bob imap starttls "$DOVECOT_IMAP_PORT" false
		fetch_account pop3s carol pop3 implicit "$DOVECOT_POP3S_PORT" "$1"
	} | fetch_config "$T/config.yml" "$maildir" "$T/state" "rules: rules.yml"
}

servers=("$(dovecot_maildir alice)" "$(dovecot_maildir bob)" "$(dovecot_maildir carol)")
killed=0
finished=0
# Kills land at a random instant in [0, span_ms): shortened whenever a run
# ends first, so that most runs are killed mid-fetch on a fast machine too.
span_ms=1500
bad_rc=()
lost_after=()
start=$SECONDS
for ((run = 1; run <= RUNS; run++)); do
	if ((SECONDS - start > 150)); then
		echo "# time is up after $((run - 1)) runs"
		break
	fi
	if ((run % 2)); then write_config true; else write_config false; fi
	delay=$(awk -v r="$((RANDOM % span_ms))" 'BEGIN { printf "%.3f", r / 1000 }')
	# Its own process group, so that one kill reaches the per-account children.
	t0=$(date +%s%N)
	setsid "$CORRAL" -v -c "$T/config.yml" fetch >"$T/out.$run" 2>"$T/err.$run" </dev/null &
	PGID=$!
	sleep "$delay"
	rc=0
	if ! kill -0 "$PGID" 2>/dev/null; then
		# It ended before the kill: aim the next kills inside a run this fast.
		span_ms=$((($(date +%s%N) - t0) / 1250000))
		[ "$span_ms" -ge 50 ] || span_ms=50
	fi
	if kill -0 "$PGID" 2>/dev/null; then
		kill -9 -- "-$PGID" 2>/dev/null || true
		wait "$PGID" 2>/dev/null || rc=$?
		if [ "$rc" -eq 137 ]; then killed=$((killed + 1)); fi
	else
		wait "$PGID" 2>/dev/null || rc=$?
	fi
	PGID=
	if [ "$rc" -ne 137 ]; then
		finished=$((finished + 1))
		[ "$rc" -eq 0 ] || bad_rc+=("run $run: exit $rc: $(tail -n 2 "$T/err.$run" | tr '\n' ' ')")
	fi
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/err.$run"; then
		cat "$T/err.$run" >>"$T/sanitizer.log"
	fi
	n=$(lost_count "$exp" "$maildir" "${servers[@]}")
	[ "$n" -eq 0 ] || lost_after+=("run $run (killed after ${delay}s): $n")
	echo "# run $run: killed after ${delay}s (exit $rc), $(message_files "$maildir" | wc -l) files"
	# New mail keeps every run busy, also for the keep: true account.
	track_add "$exp" alice INBOX 300
	added_alice=$((added_alice + 300))
	track_add "$exp" bob INBOX 300
	track_add "$exp" carol INBOX 300
done
runs=$((killed + finished))

if [ ${#lost_after[@]} -eq 0 ]; then
	ok "after each of the $runs kills every message is on the server or in the Maildir"
else
	not_ok "after each of the $runs kills every message is on the server or in the Maildir" \
		"$(first3 "${lost_after[@]}")"
fi
if [ ${#bad_rc[@]} -eq 0 ]; then
	ok "the $finished runs that ended before their kill exited 0"
else
	not_ok "the $finished runs that ended before their kill exited 0" "$(first3 "${bad_rc[@]}")"
fi
if [ "$killed" -ge $((runs / 2)) ]; then
	ok "most runs were killed mid-fetch ($killed of $runs)"
else
	not_ok "most runs were killed mid-fetch ($killed of $runs)" "the fetch is too fast for the delays"
fi

# ---- a killed run whose pids zombies keep: its parent never reaps ----
# The parent is a child subreaper, so the killed run's per-account processes
# become its children too when their own parent dies, and stay zombies:
# kill(pid, 0) says they live, which once kept their files in tmp/ forever.
cat >"$T/noreap.py" <<'PY'
import ctypes, os, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
pid = os.fork()
if pid == 0:
    os.setsid()
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
    os.dup2(os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
    os.execv(sys.argv[3], sys.argv[3:])
print(pid, flush=True)
while True:
    time.sleep(3600)  # never wait()
PY
# proc_state PID: its state letter (Z for a zombie), empty when there is no such process.
proc_state() { sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true; }
# pid_of NAME: the writer's pid in a tmp file name ("SECS.MusecPpidQ...").
pid_of() { sed -n 's/^[0-9]*\.M[0-9]*P\([0-9]*\)Q.*/\1/p' <<<"${1##*/}"; }
tmp_files "$maildir" >"$T/tmp.before"
write_config true
python3 "$T/noreap.py" "$T/out.zombie" "$T/err.zombie" "$CORRAL" -v -c "$T/config.yml" fetch \
	>"$T/noreap.pid" &
HELPERS+=($!)
for ((i = 0; i < 100; i++)); do
	[ -s "$T/noreap.pid" ] && break
	sleep 0.05
done
zpg=$(cat "$T/noreap.pid")
PGID=$zpg
zfiles=()
# Stopped once its streamed files are in tmp/, so that the kill leaves them there.
for ((i = 0; i < 1500 && ${#zfiles[@]} == 0; i++)); do
	sleep 0.02
	[ -n "$(tmp_files "$maildir" | comm -13 "$T/tmp.before" -)" ] || continue
	kill -STOP -- "-$zpg" 2>/dev/null || break
	mapfile -t zfiles < <(tmp_files "$maildir" | comm -13 "$T/tmp.before" - | grep 'Q[0-9]*L' || true)
	[ ${#zfiles[@]} -gt 0 ] || kill -CONT -- "-$zpg" 2>/dev/null || true
done
kill -9 -- "-$zpg" 2>/dev/null || true
PGID=
zpids=()
for f in "${zfiles[@]}"; do zpids+=("$(pid_of "$f")"); done
mapfile -t zpids < <(printf '%s\n' "${zpids[@]}" | sort -u | grep . || true)
zombies=0
for ((i = 0; i < 250; i++)); do
	zombies=0
	for p in "${zpids[@]}"; do [ "$(proc_state "$p")" != Z ] || zombies=$((zombies + 1)); done
	[ "$zombies" -lt ${#zpids[@]} ] || break
	sleep 0.02
done
echo "# the run killed under a parent that does not reap left ${#zfiles[@]} files in tmp/" \
	"of ${#zpids[@]} processes: $zombies zombies"
if [ ${#zfiles[@]} -gt 0 ] && [ "$zombies" -eq ${#zpids[@]} ]; then
	ok "a run killed mid-batch leaves files in tmp/ whose writers are all zombies"
else
	not_ok "a run killed mid-batch leaves files in tmp/ whose writers are all zombies" \
		"${#zfiles[@]} files, ${#zpids[@]} writers, $zombies zombies"
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/err.zombie"; then
	cat "$T/err.zombie" >>"$T/sanitizer.log"
fi

# ---- a reused pid: a killed writer's file whose pid a live process has now ----
sleep 600 &
sleeper=$!
HELPERS+=("$sleeper")
host=$(python3 -c 'import socket; print(socket.gethostname().replace("/", "\\057").replace(":", "\\072"))')
reused="$(date +%s).M1P${sleeper}Q1Lfeedface00c0ffee.$host"
: >"$maildir/tmp/$reused"
: >"$maildir/tmp/.corral-Lfeedface00c0ffee.$host"

write_config false
corral_run 180 -v -c "$T/config.yml" fetch
cp "$T/err" "$T/err.final"
rec=$(cat "$T"/err.* | sed -n 's/.*recovered \([0-9]*\) interrupted deliveries (\([0-9]*\) partial).*/\1 \2/p' |
	awk '{ n += $1; p += $2 } END { print n + 0, p + 0 }')
echo "# recovery after the kills: ${rec% *} interrupted deliveries, ${rec#* } of them partial;" \
	"$(cat "$T"/err.* | grep -c 'completing an interrupted delivery' || true) completed;" \
	"$(cat "$T"/err.* | grep -c 'deleting .* delivered by an earlier run' || true) deletions resumed"
if [ "$RC" -eq 0 ]; then
	ok "the clean run after the kills exits 0"
else
	not_ok "the clean run after the kills exits 0" "exit $RC: $(tail -n 3 "$T/err" | tr '\n' ' ')"
fi
total=$(sort -u "$exp" | wc -l)
grep -E '^<[0-9]*5\.' "$exp" >"$T/expected.copies" || true
copies=$(sort -u "$T/expected.copies" | wc -l)
if exactly_once "$exp" "$maildir" folder; then
	ok "runs $runs, messages $total, lost 0, duplicated 0"
else
	not_ok "runs $runs, messages $total, lost $FETCH_LOST, duplicated $FETCH_DUP" \
		"unexpected $FETCH_EXTRA"
fi
if exactly_once "$T/expected.copies" "$maildir/.Copies" folder; then
	ok "the $copies messages filed twice are in Copies exactly once too"
else
	not_ok "the $copies messages filed twice are in Copies exactly once too" \
		"lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
fi
got="$(dovecot_count alice) $(dovecot_count bob) $(dovecot_count carol)"
if [ "$got" = "$added_alice 0 0" ]; then
	ok "keep: true kept all $added_alice on its server; the keep: false servers are empty"
else
	not_ok "keep: true kept all $added_alice on its server; the keep: false servers are empty" \
		"server counts $got"
fi
left=$(grep -ho 'removed [0-9]* files that earlier runs left behind' "$T"/err* | awk '{ n += $2 } END { print n + 0 }')
echo "# the runs after kills removed $left files the killed runs had left in tmp/"
if [ -z "$(tmp_files "$maildir")" ]; then
	ok "no file of the killed runs is left in tmp/"
else
	not_ok "no file of the killed runs is left in tmp/" "$(tmp_files "$maildir" | wc -l) left"
fi
still=0
zleft=0
for p in "${zpids[@]}"; do [ "$(proc_state "$p")" != Z ] || still=$((still + 1)); done
for f in "${zfiles[@]}"; do [ ! -e "$maildir/$f" ] || zleft=$((zleft + 1)); done
if [ ${#zfiles[@]} -gt 0 ] && [ "$zleft" -eq 0 ] && [ "$still" -eq ${#zpids[@]} ]; then
	ok "the next run removed the ${#zfiles[@]} files of the killed run while its $still writers were still zombies"
else
	not_ok "the next run removed the files of the killed run whose writers are zombies" \
		"$zleft of ${#zfiles[@]} left, $still of ${#zpids[@]} writers still zombies"
fi
if [ ! -e "$maildir/tmp/$reused" ] && [ ! -e "$maildir/tmp/.corral-Lfeedface00c0ffee.$host" ] &&
	kill -0 "$sleeper" 2>/dev/null; then
	ok "the next run removed a file (and its free lock) named with the pid of a live unrelated process"
else
	not_ok "the next run removed a file (and its free lock) named with the pid of a live unrelated process" \
		"$(tmp_files "$maildir" | head -3 | tr '\n' ' ')"
fi
kill -9 "${HELPERS[@]}" 2>/dev/null || true
wait "${HELPERS[@]}" 2>/dev/null || true
HELPERS=()

# ---- a live `corral deliver` is never cleaned away ----
# Its message comes through a FIFO held open: half of it is written, a fetch
# runs its clean (a stale file planted for it shows that it did), then the
# rest; the message must arrive byte-identical.
{
	printf 'From: someone@example.com\nTo: me@example.com\nSubject: delivered while a fetch cleans\n'
	printf 'Message-ID: <deliver-during-clean@example.com>\n\n'
	for ((i = 0; i < 200; i++)); do printf 'line %d of a message that arrives slowly\n' "$i"; done
} >"$T/slow.eml"
mkfifo "$T/fifo"
"$CORRAL" -c "$T/config.yml" deliver <"$T/fifo" >"$T/out.deliver" 2>"$T/err.deliver" &
dpid=$!
HELPERS+=("$dpid")
exec 7>"$T/fifo"
head -c 2000 "$T/slow.eml" >&7
dfile=
for ((i = 0; i < 500; i++)); do
	dfile=$(tmp_files "$maildir" | grep "P${dpid}Q" | head -1 || true)
	[ -z "$dfile" ] || break
	sleep 0.02
done
planted="$(date +%s).M2P$$Q1L0000000000c0ffee.$host"
: >"$maildir/tmp/$planted"
dino=$(stat -c %i "$maildir/$dfile" 2>/dev/null || echo none)
corral_run 180 -v -c "$T/config.yml" fetch
kept=no
if [ -n "$dfile" ] && [ "$(stat -c %i "$maildir/$dfile" 2>/dev/null)" = "$dino" ]; then kept=yes; fi
planted_left=no
[ ! -e "$maildir/tmp/$planted" ] || planted_left=yes
if [ "$RC" -eq 0 ] && [ "$kept" = yes ] && [ "$planted_left" = no ] && kill -0 "$dpid" 2>/dev/null; then
	ok "a fetch cleaning tmp/ removes a stale file and keeps the file a live deliver is writing"
else
	not_ok "a fetch cleaning tmp/ removes a stale file and keeps the file a live deliver is writing" \
		"fetch exit $RC, the deliver's file '${dfile:-none}' kept: $kept, the stale file left: $planted_left"
fi
tail -c +2001 "$T/slow.eml" >&7
exec 7>&-
drc=0
wait "$dpid" || drc=$?
HELPERS=()
got=$(grep -rl '^Message-ID: <deliver-during-clean@example.com>' "$maildir/new" "$maildir/cur" || true)
if [ "$drc" -eq 0 ] && [ -n "$got" ] && [ "$(wc -l <<<"$got")" -eq 1 ] && cmp -s "$got" "$T/slow.eml" &&
	[ -z "$(tmp_files "$maildir")" ]; then
	ok "then the deliver completes: its message is in the Maildir once, byte-identical, and tmp/ is empty"
else
	not_ok "then the deliver completes: its message is in the Maildir once, byte-identical, and tmp/ is empty" \
		"exit $drc: $(tail -n 2 "$T/err.deliver" | tr '\n' ' '); found: ${got:-none}; tmp: $(tmp_files "$maildir" | head -3 | tr '\n' ' ')"
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/err.deliver"; then
	cat "$T/err.deliver" >>"$T/sanitizer.log"
fi
dovecot_alive_check
sanitizer_check
finish
