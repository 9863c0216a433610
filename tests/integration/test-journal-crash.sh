#!/usr/bin/env bash
# kill -9 a journal writer at random moments; after each kill, the journal
# must open, hold every id reported as synced, and be free of half records.
# The driver is tests/unit/crash-journal.c, built here from the sources.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-30}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/corral-journal-crash.XXXXXX")
DRIVER_PID=
cleanup() {
	if [ -n "$DRIVER_PID" ]; then kill -9 "$DRIVER_PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT

if ! command -v cc >/dev/null; then
	apt-get update -qq && apt-get install -y -qq gcc >/dev/null
fi

passed=0
failed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
notok() { echo "not ok - $*"; failed=$((failed + 1)); }

if cc -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT/src" -o "$TMP/crash-journal" \
	"$ROOT/tests/unit/crash-journal.c" "$ROOT/src/journal.c" "$ROOT/src/journal-state.c" \
	"$ROOT/src/util/log.c" "$ROOT/src/util/buf.c" "$ROOT/src/util/fs.c"; then
	ok "crash driver built"
else
	notok "crash driver built"
	echo "$passed passed, $failed failed"
	exit 1
fi

STATE="$TMP/state"
synced=0
torn=0
for round in $(seq 1 "$ROUNDS"); do
	out="$TMP/run.$round"
	"$TMP/crash-journal" run "$STATE" >"$out" 2>"$TMP/err.$round" &
	DRIVER_PID=$!
	# 10 ms .. 1 s: early kills land in open, recovery and compaction too.
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.01 + (r % 1000) / 1000 }')"
	kill -9 "$DRIVER_PID" 2>/dev/null || true
	wait "$DRIVER_PID" 2>/dev/null || true
	DRIVER_PID=
	last=$(grep -E '^synced [0-9]+$' "$out" | tail -n 1 | cut -d' ' -f2 || true)
	if grep -q '^not ok' "$out"; then
		notok "round $round: driver failed: $(grep '^not ok' "$out" | head -n 1)"
		continue
	fi
	if [ -n "$last" ] && [ "$last" -gt "$synced" ]; then synced=$last; fi
	# Every third round also plays a power cut in mid-write: bytes of a record
	# that never became durable are left after the last whole one.
	if [ $((round % 3)) -eq 0 ] && [ -f "$STATE/accounts/crash.journal" ]; then
		head -c $((1 + RANDOM % 300)) /dev/urandom >>"$STATE/accounts/crash.journal"
	fi
	if res=$("$TMP/crash-journal" check "$STATE" "$synced" 2>"$TMP/check.$round"); then
		if grep -q 'torn or damaged' "$TMP/check.$round"; then torn=$((torn + 1)); fi
		ok "round $round: killed with $synced ids synced; reopened: $res"
	else
		notok "round $round: killed with $synced ids synced: $res"
	fi
done

echo "# $synced ids synced over $ROUNDS kills; $torn reopens truncated a torn tail"
if [ "$synced" -gt 0 ]; then
	ok "the writer made progress between kills"
else
	notok "the writer made progress between kills"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
