#!/bin/bash
# Per-command help and usage mistakes: `corral COMMAND --help` (and -h)
# prints that command's usage, options and an example, exit 0; an unknown
# option names itself and points to `corral COMMAND --help`, exit 64, except
# for deliver (75: an MTA runs it, and 64 would bounce the message).
# `corral --help` is the global help; --version names the libraries.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest
[ -x "$CORRAL" ] || setup_fail "no corral binary at $CORRAL (make builds it)"
# No command may reach a config: a usage mistake is found before it.
export HOME=$T/home XDG_CONFIG_HOME=$T/nowhere
mkdir -p "$HOME"

commands="fetch run serve deliver test refile check status passwd init"
for c in $commands; do
	for h in --help -h; do
		"$CORRAL" "$c" "$h" >"$T/out" 2>"$T/err" </dev/null
		rc=$?
		check "$c $h exits 0" test "$rc" -eq 0
		check "$c $h starts with the command's usage" \
			grep -q "^usage: corral $c" <(head -1 "$T/out")
		check "$c $h gives an example" grep -A1 -q '^example' "$T/out"
		check "$c $h says nothing on stderr" test ! -s "$T/err"
	done
	want=64
	[ "$c" = deliver ] && want=75
	"$CORRAL" "$c" --no-such-option >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	check "$c --no-such-option exits $want" test "$rc" -eq "$want"
	check "$c --no-such-option names the option and points to $c --help" \
		grep -q "'--no-such-option' (see corral $c --help)" "$T/err"
done

"$CORRAL" -v fetch --help >"$T/out"
check "fetch --help after a common option is still fetch's" grep -q '^usage: corral fetch' "$T/out"
"$CORRAL" -c "$T/x.yml" refile -h >"$T/out"
check "-h after -c FILE is refile's help" grep -q '^usage: corral refile' "$T/out"
"$CORRAL" --help >"$T/out"
check "corral --help is the global help" grep -q '^usage: corral \[-c FILE\]' "$T/out"
check "corral --help points to the per-command help" grep -q 'corral COMMAND --help' "$T/out"
"$CORRAL" frob --help >"$T/out" 2>"$T/err"
check "--help of an unknown command exits 64 and names it" \
	bash -c "[ $? -eq 64 ] && grep -q \"unknown command 'frob'\" '$T/err'"
"$CORRAL" deliver -x </dev/null 2>"$T/err"
check "deliver -x exits 75 and names -x" bash -c "[ $? -eq 75 ] && grep -q \"'-x'\" '$T/err'"
"$CORRAL" deliver stray </dev/null 2>"$T/err"
check "deliver with a stray argument exits 75" test $? -eq 75
"$CORRAL" test -a 2>"$T/err"
check "test -a without its value exits 64 and says so" \
	bash -c "[ $? -eq 64 ] && grep -q \"value is missing after '-a'\" '$T/err'"
"$CORRAL" refile -x INBOX 2>"$T/err"
check "refile -x: the letter is named" grep -q "unknown option '-x'" "$T/err"

"$CORRAL" --version >"$T/out"
check "--version exits 0" test $? -eq 0
check "--version names the release" grep -Eq '^corral [0-9]+\.[0-9]+' "$T/out"
for lib in libcurl OpenSSL libyaml libmagic; do
	check "--version names $lib with a version" grep -Eq "^  $lib +.*[0-9]" "$T/out"
done
# Only --version loads libcurl and libmagic (the dynamic loader lists each
# library it opens with LD_DEBUG=files); a command's help does not.
LD_DEBUG=files "$CORRAL" fetch --help >/dev/null 2>"$T/ld"
check "fetch --help loads neither libcurl nor libmagic" \
	bash -c "grep -q 'file=' '$T/ld' && ! grep -Eq 'file=(libcurl|libmagic)' '$T/ld'"
LD_DEBUG=files "$CORRAL" --version >/dev/null 2>"$T/ld"
check "--version loads libcurl and libmagic" \
	bash -c "grep -q 'file=libcurl' '$T/ld' && grep -q 'file=libmagic' '$T/ld'"
finish
