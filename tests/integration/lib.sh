# Shared helpers for the integration scripts: source it.
#   ok NAME / not_ok NAME [DETAIL]   record a result
#   check NAME CMD...                 ok when CMD succeeds
#   finish                            prints "N passed, M failed"; exit status
#   mktest                            a temp dir in $T, removed on exit
#   setup_fail WHAT                   a setup step failed: count it, print the totals, exit 1
#   need CMD...                       setup_fail unless every CMD is on PATH
#   need_root                         setup_fail unless running as root
#   wait_until SECS CMD...            CMD every 0.05 s until it succeeds or SECS pass
# $CORRAL is the binary under test (default ./corral).
# No script installs packages: `make check` installs them all first
# (contrib/install-deps.sh check, the one list).
CORRAL=${CORRAL:-$PWD/corral}
# The tests run as root (the servers they start need it): corral run and
# serve refuse root unless told, the other commands warn (corral(1)).
# test-security-root.sh unsets it to check exactly that.
export CORRAL_ALLOW_ROOT=1
_passed=0
_failed=0

ok() {
	_passed=$((_passed + 1))
	echo "ok - $1"
}

not_ok() {
	_failed=$((_failed + 1))
	echo "not ok - $1${2:+: $2}"
}

check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

finish() {
	echo "$_passed passed, $_failed failed"
	[ "$_failed" -eq 0 ]
}

# A check whose setup failed must fail, never pass by checking nothing.
setup_fail() {
	not_ok "setup: $1"
	finish
	exit 1
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			setup_fail "$c is missing (make check installs it: contrib/install-deps.sh check)"
	done
}

# driver NAME: sets DRIVER to a test driver built by make (tests/unit/NAME.c)
# in the same build as $CORRAL (build/asan/tests/ for the ASan binary).
driver() {
	local d
	for d in "$(dirname "$CORRAL")/tests" "$(dirname "$CORRAL")/build/tests"; do
		[ -x "$d/$1" ] && { DRIVER=$d/$1; return 0; }
	done
	setup_fail "the test driver $1 was not built (make unit-bins builds it)"
}

need_py() { # MODULE...: importable by /usr/bin/python3 (Debian's, where python3-* live)
	local m
	need /usr/bin/python3
	for m in "$@"; do
		/usr/bin/python3 -c "import $m" 2>/dev/null ||
			setup_fail "python module $m is missing (make check installs it: contrib/install-deps.sh check)"
	done
}

need_root() {
	[ "$(id -u)" -eq 0 ] || setup_fail "needs root (to run the servers and mount file systems)"
}

mktest() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/corral-test.XXXXXX")
	trap 'rm -rf "$T"' EXIT
}

# Writes a config with mode 0600: write_config FILE <<YAML
write_config() {
	cat > "$1"
	chmod 600 "$1"
}

# wait_until SECS CMD...: runs CMD every 0.05 s until it succeeds (0) or
# SECS seconds pass (then CMD's last status).
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}
