#!/bin/bash
# Runs every test: the layering check (tests/check-layers.py), the unit tests
# of the normal and the ASan+UBSan builds, then every integration script
# (against the ASan+UBSan binary).
# Ends with one line "check: N passed, M failed"; exits non-zero on any failure.
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
	local script=$1 corral=$2 out rc line p f
	out=$(CORRAL=$corral timeout 900 "$script" 2>&1)
	rc=$?
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
	printf '%-40s %4d passed, %d failed\n' "$script" "$p" "$f"
}

# The nevers of the architecture (DESIGN.md section 5) over the include lines.
integration tests/check-layers.py ""
for b in build/tests/test-* build/asan/tests/test-*; do
	[ -x "$b" ] && unit "$b"
done
for s in tests/integration/test-*.sh; do
	[ -x "$s" ] && integration "$s" "$PWD/build/asan/corral"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
