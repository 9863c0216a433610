#!/bin/bash
# Runs every test: the layering check (tests/check-layers.py), the unit tests
# of the normal and the ASan+UBSan builds, then every integration script
# (against the ASan+UBSan binary).
# Prints a line per test with its counts and seconds; ends with one line "check: N passed, M failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()

unit() {
	local bin=$1 out rc p f
	out=$("$bin" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or a sanitizer stopped it
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$bin")
		printf '%s\n' "$out" | tail -40
	fi
	printf '%-40s %4d passed, %d failed\n' "$bin" "$p" "$f"
}

integration() {
	local script=$1 corral=$2 out rc line p f t0 secs
	t0=$(date +%s)
	out=$(CORRAL=$corral timeout 900 "$script" 2>&1)
	rc=$?
	secs=$(($(date +%s) - t0))
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
		[ "$f" -ne 0 ] && failures+=("$script")
		printf '%s\n' "$out" | tail -60
	fi
	printf '%-40s %4d passed, %d failed (%d s)\n' "$script" "$p" "$f" "$secs"
}

# One integration script into a result file of $results (a background job).
# The counting happens afterwards, in order, in this shell.
integration_job() { # SCRIPT CORRAL
	local name
	name=$(basename "$1" .sh)
	( passed=0 failed=0 failures=()
	  integration "$1" "$2"
	  echo "$passed $failed" >"$results/$name.count"
	  printf '%s\n' "${failures[@]}" >"$results/$name.failures"
	) >"$results/$name.out" 2>&1
	cat "$results/$name.out"
}

# The nevers of the architecture (DESIGN.md section 5) over the include lines.
integration tests/check-layers.py ""
for b in build/tests/test-* build/asan/tests/test-*; do
	[ -x "$b" ] && unit "$b"
done
# Integration scripts: CHECK_JOBS at a time (default 2: each test starts its
# own servers on free ports of 127.0.0.1 and its own directories, so two
# run side by side). A script whose header says "# run-all: alone" runs
# by itself first: it measures time or load, or loads both cores itself.
# CHECK_ONLY=GLOB (e.g. "test-serve-*") runs only the integration scripts so named.
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
alone=()
shared=()
for s in tests/integration/${CHECK_ONLY:-test-*}.sh; do
	[ -x "$s" ] || continue
	if grep -q '^# run-all: alone' "$s"; then
		alone+=("$s")
	else
		shared+=("$s")
	fi
done
for s in "${alone[@]}"; do
	integration_job "$s" "$PWD/build/asan/corral"
done
running=0
for s in "${shared[@]}"; do
	if [ "$running" -ge "${CHECK_JOBS:-2}" ]; then
		wait -n
		running=$((running - 1))
	fi
	integration_job "$s" "$PWD/build/asan/corral" &
	running=$((running + 1))
done
wait
for s in "${alone[@]}" "${shared[@]}"; do
	name=$(basename "$s" .sh)
	if [ ! -s "$results/$name.count" ]; then
		failed=$((failed + 1))
		failures+=("$s (no result)")
		continue
	fi
	read -r p f <"$results/$name.count"
	passed=$((passed + p))
	failed=$((failed + f))
	while IFS= read -r x; do
		[ -n "$x" ] && failures+=("$x")
	done <"$results/$name.failures"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
