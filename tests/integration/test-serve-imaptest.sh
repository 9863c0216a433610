#!/usr/bin/env bash
# run-all: alone (loads both cores itself, or measures time under load)
# Dovecot's imaptest (its scripted tests, src/tests/ of the release-2.3
# branch) against `corral serve` on a throwaway Maildir: every test group
# must pass. One check per failed group, one for the whole run, one for
# the protocol errors imaptest reports outside a group (a keyword used
# before FLAGS announced it...). Bounded in time: the run takes a second.
#
# imaptest is built once into build/imaptest/ by ../shared/tools/imaptest-build.sh
# (from ../shared/vendor/; its build packages are in contrib/install-deps.sh
# check). IMAPTEST=/path/to/imaptest uses that binary instead (its tests/
# next to it, or IMAPTEST_TESTS=DIR). Where ../shared is absent (a clone
# outside the team) the script says it skipped and counts nothing as passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib-serve.sh"

# Where RFC 3501/9051 and imaptest differ, corral follows the RFC: such a
# group is named here with the reason, and its failure is not counted.
# None today: every group passes as imaptest wants it.
declare -A RFC_OVER_IMAPTEST=()

find_imaptest() {
	if [ -n "${IMAPTEST:-}" ]; then
		[ -x "$IMAPTEST" ] || setup_fail "IMAPTEST=$IMAPTEST is not an executable"
		IMAPTEST_TESTS=${IMAPTEST_TESTS:-$(dirname "$IMAPTEST")/tests}
		return 0
	fi
	local shared=$root/../shared dir=$root/build/imaptest
	if [ ! -x "$shared/tools/imaptest-build.sh" ]; then
		echo "# skipped: $shared/tools/imaptest-build.sh is absent (set IMAPTEST=/path/to/imaptest)"
		finish
		exit 0
	fi
	IMAPTEST=$dir/imaptest-2.3/src/imaptest
	IMAPTEST_TESTS=${IMAPTEST_TESTS:-$dir/imaptest-2.3/src/tests}
	if [ ! -x "$IMAPTEST" ]; then
		timeout 600 "$shared/tools/imaptest-build.sh" "$dir" >"$T/build.log" 2>&1 || {
			sed 's/^/# /' "$T/build.log" | tail -20
			setup_fail "building imaptest with $shared/tools/imaptest-build.sh"
		}
	fi
}

find_imaptest
[ -d "$IMAPTEST_TESTS" ] || setup_fail "imaptest's tests are not in $IMAPTEST_TESTS"
M=$(serve_maildir "$T/mail")
serve_start "$M"

# imaptest creates and deletes the folders "imaptest*" of user me.
LD_LIBRARY_PATH=/usr/lib/dovecot timeout 300 "$IMAPTEST" host=127.0.0.1 port="$SERVE_PORT" \
	user=me pass=sesame test="$IMAPTEST_TESTS" >"$T/imaptest.out" 2>&1
rc=$?
[ -n "${VERBOSE:-}" ] && sed 's/^/# /' "$T/imaptest.out"

summary=$(grep -E '^[0-9]+ test groups: [0-9]+ failed' "$T/imaptest.out")
if [ -z "$summary" ]; then
	tail -20 "$T/imaptest.out" | sed 's/^/# /'
	not_ok "imaptest ran to its summary (exit $rc)"
else
	total=$(echo "$summary" | sed 's/ test groups.*//')
	failed=0
	while read -r group; do
		[ -n "$group" ] || continue
		if [ -n "${RFC_OVER_IMAPTEST[$group]:-}" ]; then
			ok "imaptest group $group # RFC over imaptest: ${RFC_OVER_IMAPTEST[$group]}"
			continue
		fi
		failed=$((failed + 1))
		not_ok "imaptest group $group" \
			"$(grep -A4 -E "^\*\*\* Test $group command" "$T/imaptest.out" | head -12 | tr '\n' '|')"
	done < <(sed -n 's/^\*\*\* Test \(.*\) command [0-9]*\/[0-9]* (line.*/\1/p' "$T/imaptest.out" | sort -u)
	if [ "$failed" -eq 0 ]; then
		ok "imaptest: $summary"
	else
		not_ok "imaptest: $summary" "$(grep 'individual commands failed' "$T/imaptest.out" | tr '\n' ' ')"
	fi
fi
# The groups of RFC 7162 this imaptest has (esearch-condstore; its tests/
# has no condstore or qresync group), run alone: they must run, not be
# skipped for a capability corral does not advertise.
mkdir -p "$T/modseq-tests"
for g in esearch-condstore; do
	cp "$IMAPTEST_TESTS/$g" "$T/modseq-tests/" 2>/dev/null
	cp "$IMAPTEST_TESTS/$g.mbox" "$T/modseq-tests/" 2>/dev/null
done
cp "$IMAPTEST_TESTS/default.mbox" "$T/modseq-tests/" 2>/dev/null
LD_LIBRARY_PATH=/usr/lib/dovecot timeout 120 "$IMAPTEST" host=127.0.0.1 port="$SERVE_PORT" \
	user=me pass=sesame test="$T/modseq-tests" >"$T/imaptest-modseq.out" 2>&1
msum=$(grep -E '^[0-9]+ test groups: ' "$T/imaptest-modseq.out")
if [ "$msum" = "1 test groups: 0 failed, 0 skipped due to missing capabilities" ]; then
	ok "imaptest's CONDSTORE group esearch-condstore ran and passed"
else
	not_ok "imaptest's CONDSTORE group esearch-condstore ran and passed" \
		"${msum:-no summary}: $(grep -m 6 -E '^\*\*\*|failed' "$T/imaptest-modseq.out" | tr '\n' '|')"
fi
errors=$(grep -c '^Error: ' "$T/imaptest.out")
if [ "$errors" -eq 0 ]; then
	ok "imaptest saw no protocol errors"
else
	not_ok "imaptest saw no protocol errors" "$(grep -m 3 '^Error: ' "$T/imaptest.out" | tr '\n' '|')"
fi
serve_stop
serve_sanitizer_check
finish
