#!/bin/bash
# Every fuzz target (tests/fuzz/) briefly under ASan+UBSan: built with clang,
# run over its seed corpus (the regression inputs of past findings among
# them), then SMOKE_S seconds (default 2) of fuzzing from there. A crash,
# a leak, a sanitizer report, a timeout or a broken invariant fails the
# target. About a minute in all, most of it the build. Skipped (one failed
# check) without clang: make check installs it (contrib/install-deps.sh check).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/../.." && pwd)

need clang
mktest
if ! make -s -C "$root/tests/fuzz" -j2 all >"$T/build.log" 2>&1; then
	setup_fail "building the fuzz targets: $(grep -m 3 -E 'error' "$T/build.log" | tr '\n' ' ')"
fi
TMPDIR=$T make -s -C "$root/tests/fuzz" smoke SMOKE_S="${SMOKE_S:-2}" >"$T/smoke.log" 2>&1
while IFS= read -r line; do
	case $line in
	fuzz-*": "*" runs, ok") ok "${line%%:*}: its seeds and ${SMOKE_S:-2} s of fuzzing (${line#*: })" ;;
	fuzz-*": FAILED (log: "*) log=${line##*log: }
		not_ok "${line%%:*}: its seeds and ${SMOKE_S:-2} s of fuzzing" \
			"$(grep -m 6 -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x.* in [^_]|Test unit' "${log%)}" | tr '\n' ' ')" ;;
	esac
done <"$T/smoke.log"
n=$(grep -cE '^fuzz-[a-z0-9-]+: ' "$T/smoke.log")
check "every target reported ($n)" test "$n" -ge 15
finish
