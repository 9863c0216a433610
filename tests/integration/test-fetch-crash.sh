#!/usr/bin/env bash
# kill -9 `corral fetch` (the parent and its per-account children) at random
# moments while it fetches 2000-message mailboxes from Dovecot, R times, then
# let one run finish: every message must be in the Maildir exactly once
# (by Message-ID), and the keep: false mailboxes empty (DESIGN.md 4.1, 4.2).
# After every kill, no message may be missing from both the server and the
# Maildir. Three accounts run at once: IMAPS keep: true, IMAP STARTTLS keep:
# false, and POP3S whose keep alternates run by run (true, false, ...). A
# rule files every message whose number ends in 5 into two folders (Copies
# and INBOX), so that a kill can fall between the two links of one message.
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
cleanup() {
	if [ -n "$PGID" ]; then kill -9 -- "-$PGID" 2>/dev/null || true; fi
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
dovecot_alive_check
sanitizer_check
finish
