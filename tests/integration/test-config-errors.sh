#!/bin/bash
# corral check on the sample configs of tests/data/config: each bad-*.yml is
# refused with exit 78 and every message its leading "# expect: ..." lines
# name (as FILE + expected text); good-full.yml, which uses every key, passes;
# a plain password is accepted only in a file that group and others cannot read.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest

DATA=tests/data/config

# Runs corral check -c FILE with a predictable environment: sets rc, out (stderr).
run_check() {
	rc=0
	out=$(env -u XDG_CONFIG_HOME -u XDG_STATE_HOME HOME="$T" \
		timeout 20 "$CORRAL" check -c "$1" 2>&1 >/dev/null) || rc=$?
}

n=0
for f in "$DATA"/bad-*.yml; do
	n=$((n + 1))
	[ "$n" -le 200 ] || break
	name=$(basename "$f" .yml)
	if ! head -1 "$f" | grep -q '^# expect: '; then
		not_ok "$name: first line is a '# expect: ...' comment"
		continue
	fi
	run_check "$f"
	if [ "$rc" -ne 78 ]; then
		not_ok "$name: exit status 78" "got $rc: $out"
		continue
	fi
	missing=""
	while IFS= read -r want; do
		grep -qF -- "$f$want" <<<"$out" || missing="$missing [$f$want]"
	done < <(sed -n 's/^# expect: //p' "$f")
	if [ -z "$missing" ]; then
		ok "$name: exit 78 and the expected message"
	else
		not_ok "$name: expected message" "missing$missing; got: $out"
	fi
done
check "found the bad samples" test "$n" -ge 15

run_check "$DATA/good-full.yml"
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
	ok "good-full.yml (every key) passes"
else
	not_ok "good-full.yml (every key) passes" "exit $rc: $out"
fi

# A plain password: fine at 0600, refused at 0644 with the chmod hint, never echoed.
cp "$DATA/good-password.yml" "$T/private.yml"
chmod 600 "$T/private.yml"
run_check "$T/private.yml"
check "plain password in a 0600 file passes" test "$rc" -eq 0
cp "$DATA/good-password.yml" "$T/shared.yml"
chmod 644 "$T/shared.yml"
run_check "$T/shared.yml"
want="$T/shared.yml: contains a plain password but is readable by group or others; run: chmod 600 $T/shared.yml"
if [ "$rc" -eq 78 ] && grep -qxF -- "$want" <<<"$out"; then
	ok "plain password in a 0644 file is refused with the chmod hint"
else
	not_ok "plain password in a 0644 file is refused with the chmod hint" "exit $rc: $out"
fi
check "the password never appears in a message" \
	bash -c '! grep -q not-a-real-password <<<"$1"' _ "$out"

run_check "$T/does-not-exist.yml"
if [ "$rc" -eq 78 ] && grep -qF -- "$T/does-not-exist.yml: cannot open:" <<<"$out"; then
	ok "a missing config file exits 78 with the file name"
else
	not_ok "a missing config file exits 78 with the file name" "exit $rc: $out"
fi

finish
