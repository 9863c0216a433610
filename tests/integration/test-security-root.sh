#!/usr/bin/env bash
# Privilege (SECURITY.md, corral(1)): nothing in corral needs root.
# corral run and corral serve refuse to run as root (exit 77, a message
# that says what to do) unless --allow-root or CORRAL_ALLOW_ROOT=1 (and
# corral run hands the switch to the server it starts); the other commands
# warn once on stderr as root and work (deliver delivers), silent with the
# switch; as an ordinary user (nobody) run and serve need no switch and
# nothing warns. Whatever corral writes is private even under umask 022:
# the state (dedupe, the lock) and the Maildir with a rule's folder:
# files 0600, directories 0700. Bounded in time, no Dovecot.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
case $CORRAL in /*) ;; *) CORRAL=$PWD/$CORRAL ;; esac
mktest
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
need setpriv timeout
need_root
[ -x "$CORRAL" ] || setup_fail "no corral binary at $CORRAL"
chmod 755 "$T"
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"
unset CORRAL_ALLOW_ROOT

freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
hash=$(printf 'sesame\n' | "$CORRAL" passwd 2>/dev/null) || setup_fail "corral passwd"
# conf DIR: a config in DIR (Maildir, state, a server on a free port,
# dedupe), owned by DIR's owner; sets PORT.
conf() {
	PORT=$(freeport)
	write_config "$1/c.yml" <<EOF
maildir: $1/Maildir
state: $1/state
dedupe: 30d
server:
  listen: [127.0.0.1:$PORT]
  users:
    me: {password_hash: "$hash"}
EOF
	chown --reference="$1" "$1/c.yml"
}
# start NAME CMD...: runs CMD in the background, stderr in $T/NAME.err; ok
# when it listens on $PORT within 20 s (then it is stopped).
listens() {
	local name=$1
	shift
	"$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null &
	PIDS+=($!)
	if wait_until 20 grep -q "listening on 127.0.0.1:$PORT" "$T/$name.err"; then
		ok "$name"
	else
		not_ok "$name" "$(head -c 300 "$T/$name.err")"
	fi
	kill "${PIDS[-1]}" 2>/dev/null
	wait "${PIDS[-1]}" 2>/dev/null
}
msg() { printf 'From: a@example.org\nSubject: s %s\nMessage-ID: <%s@root.test>\n\nbody\n' "$1" "$1"; }

mkdir -p "$T/r"
conf "$T/r"

# 1. As root, without the switch: run and serve refuse, 77, nothing started.
for cmd in run serve; do
	timeout 20 "$CORRAL" -c "$T/r/c.yml" $cmd >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	check "as root, corral $cmd refuses: exit 77 ($rc), says why and what to do" \
		sh -c "[ $rc -eq 77 ] && grep -q 'refusing to run as root' '$T/err' && grep -q -- '--allow-root' '$T/err'"
done
check "nothing was started or written (no state, no Maildir)" test ! -e "$T/r/state" -a ! -e "$T/r/Maildir"
CORRAL_ALLOW_ROOT=0 timeout 20 "$CORRAL" -c "$T/r/c.yml" serve >"$T/out" 2>"$T/err" </dev/null
check "CORRAL_ALLOW_ROOT=0 is not the switch (77)" test $? -eq 77

# 2. With the switch, they run; corral run's server too (the switch is
# handed to it).
listens "as root with --allow-root, corral serve runs" "$CORRAL" -c "$T/r/c.yml" serve --allow-root
conf "$T/r"
listens "as root with CORRAL_ALLOW_ROOT=1, corral serve runs" env CORRAL_ALLOW_ROOT=1 "$CORRAL" -c "$T/r/c.yml" serve
conf "$T/r"
listens "as root, corral --allow-root run starts its IMAP server too" "$CORRAL" --allow-root -c "$T/r/c.yml" run
check "  ... and says no warning" sh -c "! grep -q 'as root' '$T/as root, corral --allow-root run starts its IMAP server too.err'"

# 3. The other commands as root: one warning line, and they work.
msg 1 | "$CORRAL" -c "$T/r/c.yml" deliver >"$T/out" 2>"$T/err"
rc=$?
n=$(find "$T/r/Maildir/new" "$T/r/Maildir/cur" -type f 2>/dev/null | wc -l)
check "as root, corral deliver delivers (exit $rc, $n message)" test "$rc" -eq 0 -a "$n" -eq 1
check "  ... with one warning on stderr, and nothing else" \
	sh -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q '^corral deliver: warning: running as root' '$T/err'"
"$CORRAL" -c "$T/r/c.yml" check >"$T/out" 2>"$T/err"
check "as root, corral check works (exit $?) and warns once" \
	sh -c "[ \$(grep -c 'warning: running as root' '$T/err') -eq 1 ]"
CORRAL_ALLOW_ROOT=1 "$CORRAL" -c "$T/r/c.yml" check >"$T/out" 2>"$T/err"
check "with CORRAL_ALLOW_ROOT=1 it does not warn" sh -c "! grep -q 'as root' '$T/err'"
"$CORRAL" --version >"$T/out" 2>"$T/err"
check "--version does not warn" test ! -s "$T/err"

# 4. As nobody: no switch needed, no warning; and the files are private
# under umask 022.
mkdir -p "$T/n"
chown nobody "$T/n"
conf "$T/n"
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -u CORRAL_ALLOW_ROOT HOME="$T/n" XDG_STATE_HOME="$T/n/xstate" sh -c 'umask 022; exec "$@"' sh "$@"
}
listens "as nobody, corral run runs without the switch (and its server)" as_nobody "$CORRAL" -c "$T/n/c.yml" run
check "  ... without a warning" sh -c "! grep -q 'as root' '$T/as nobody, corral run runs without the switch (and its server).err'"
conf "$T/n"
listens "as nobody, corral serve runs without the switch" as_nobody "$CORRAL" -c "$T/n/c.yml" serve
for i in 1 2 3; do
	msg "$i" | as_nobody "$CORRAL" -c "$T/n/c.yml" deliver >"$T/out" 2>>"$T/n.err"
done
msg 1 | as_nobody "$CORRAL" -c "$T/n/c.yml" deliver >"$T/out" 2>>"$T/n.err" # a duplicate: dedupe
printf -- '- name: f\n  if: {subject: "s 2"}\n  then: {folder: Sub/Folder}\n' >"$T/n/rules.yml"
chown nobody "$T/n/rules.yml"
sed -i "1i rules: $T/n/rules.yml" "$T/n/c.yml"
msg 4 | sed 's/s 4/s 2/' | as_nobody "$CORRAL" -c "$T/n/c.yml" deliver >"$T/out" 2>>"$T/n.err"
check "as nobody: deliver works and says nothing of root" \
	sh -c "! grep -q 'root' '$T/n.err' && [ \$(find '$T/n/Maildir' -path '*/new/*' -type f | wc -l) -eq 4 ]"
find "$T/n/state" "$T/n/Maildir" -printf '%m %y %p\n' >"$T/modes"
sed 's/^/# /' "$T/modes" | head -30
nfiles=$(grep -c ' f ' "$T/modes")
check "under umask 022 state and Maildir were written ($nfiles files: dedupe, lock, messages, folder markers)" \
	test "$nfiles" -ge 5
check "  ... every file is 0600" sh -c "! grep ' f ' '$T/modes' | grep -qv '^600 '"
check "  ... every directory is 0700 (state, Maildir, a folder a rule made)" \
	sh -c "! grep ' d ' '$T/modes' | grep -qv '^700 ' && grep -q '\.Sub\.Folder$' '$T/modes'"
check "  ... all of them nobody's" sh -c "[ -z \"\$(find '$T/n/state' '$T/n/Maildir' ! -user nobody)\" ]"

finish
