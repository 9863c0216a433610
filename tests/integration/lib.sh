# Shared helpers for the integration scripts: source it.
#   ok NAME / not_ok NAME [DETAIL]   record a result
#   check NAME CMD...                 ok when CMD succeeds
#   finish                            prints "N passed, M failed"; exit status
#   mktest                            a temp dir in $T, removed on exit
# $CORRAL is the binary under test (default ./corral).
CORRAL=${CORRAL:-$PWD/corral}
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

mktest() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/corral-test.XXXXXX")
	trap 'rm -rf "$T"' EXIT
}

# Writes a config with mode 0600: write_config FILE <<YAML
write_config() {
	cat > "$1"
	chmod 600 "$1"
}
