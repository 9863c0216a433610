#!/usr/bin/env bash
# --dry-run writes nothing anywhere (corral(1)): deliver, fetch and refile,
# with the option before or after the command, on a first run (nothing
# exists yet: nothing may be created) and on a later one. The Maildir, the
# state directory (journal, dedupe, status) and the server's Maildir are
# compared whole: every directory, file, size, mode and byte.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/corral-dry.XXXXXX")
cleanup() {
	dovecot_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# snapshot DIR...: every entry (type, path, size, mode) and every file's bytes.
snapshot() {
	local d
	for d in "$@"; do
		if [ ! -e "$d" ]; then
			echo "absent $d"
			continue
		fi
		(cd "$d" && find . -printf '%y %p %s %m\n' | sort &&
			find . -type f -print0 | sort -z | xargs -0r sha256sum)
	done
}

# same_tree NAME BEFORE DIR...: a check that the snapshot did not change.
same_tree() {
	local name=$1 before=$2 after
	shift 2
	after=$(snapshot "$@")
	if [ "$before" = "$after" ]; then
		ok "$name"
	else
		not_ok "$name" "$(diff <(echo "$before") <(echo "$after") | head -5 | tr '\n' ' ')"
	fi
}

# shellcheck disable=SC2119 # its own temp dir
dovecot_setup
dovecot_start

M=$T/Maildir S=$T/state
cat >"$T/rules.yml" <<'EOF'
- name: lists
  if: {header: {List-Id: {regex: '<([a-z0-9-]+)\.'}}}
  then: {folder: 'Lists/$1'}
- name: boss
  if: {from: boss@example.com}
  then: {folder: Boss, flag: flagged}
EOF
fetch_account dry bob imap implicit "$DOVECOT_IMAPS_PORT" false |
	fetch_config "$T/config.yml" "$M" "$S" "rules: $T/rules.yml" "dedupe: 30d"
printf 'From: boss@example.com\nMessage-ID: <b1@x>\nSubject: s\n\nbody\n' >"$T/boss.eml"
track_add "$T/exp" bob INBOX 5
# The server's messages: names (flags) and bytes. Dovecot's own index files
# change when any client looks, and are not compared.
server=$(dovecot_maildir bob)
srv="$server/cur $server/new"

# ---- a first run: nothing exists, nothing may be made ----
# shellcheck disable=SC2086
before=$(snapshot "$M" "$S" $srv)
CORRAL_STDIN=$T/boss.eml corral_run 30 -c "$T/config.yml" --dry-run deliver 
check "deliver --dry-run (first run): exit 0" test "$RC" -eq 0
check "deliver --dry-run prints the plan" grep -q 'Boss +flagged (rule #2 "boss")' "$T/out"
CORRAL_STDIN=$T/boss.eml corral_run 30 -c "$T/config.yml" deliver --dry-run 
check "deliver --dry-run after the command: exit 0, the plan" \
	grep -q 'Boss +flagged (rule #2 "boss")' "$T/out"
corral_run 60 -c "$T/config.yml" --dry-run fetch
check "fetch --dry-run (first run): exit 0" test "$RC" -eq 0
check "fetch --dry-run lists the 5 messages" test "$(grep -c '^dry INBOX ' "$T/out")" -eq 5
corral_run 60 -c "$T/config.yml" fetch -n
check "fetch -n after the command: exit 0" test "$RC" -eq 0
# shellcheck disable=SC2086
same_tree "a first dry run of deliver and fetch creates nothing (Maildir, state, server)" \
	"$before" "$M" "$S" $srv

# ---- a later run: the same, on existing state ----
corral_run 60 -c "$T/config.yml" fetch
check "a real fetch: exit 0" test "$RC" -eq 0
CORRAL_STDIN=$T/boss.eml corral_run 30 -c "$T/config.yml" deliver 
check "a real deliver: exit 0" test "$RC" -eq 0
track_add "$T/exp" bob INBOX 3
# shellcheck disable=SC2086
before=$(snapshot "$M" "$S" $srv)
corral_run 60 -c "$T/config.yml" fetch --dry-run
check "fetch --dry-run (later run, keep: false): exit 0" test "$RC" -eq 0
check "fetch --dry-run lists only the 3 new messages" \
	test "$(grep -c '^dry INBOX ' "$T/out")" -eq 3
CORRAL_STDIN=$T/boss.eml corral_run 30 -c "$T/config.yml" --dry-run deliver 
check "deliver --dry-run knows a duplicate (dedupe read, not written)" \
	grep -q 'duplicate of <b1@x>, would be dropped' "$T/out"
printf 'From: x@y\nSubject: new\n\nz\n' >"$T/new.eml"
CORRAL_STDIN=$T/new.eml corral_run 30 -c "$T/config.yml" deliver --dry-run 
check "deliver --dry-run: INBOX for a message no rule files" grep -q 'INBOX (implicit keep)' "$T/out"
# A message waiting in INBOX that the rules would move.
cp "$T/boss.eml" "$M/new/1.dry.test:2,"
# shellcheck disable=SC2086
before=$(snapshot "$M" "$S" $srv)
corral_run 30 -c "$T/config.yml" --dry-run refile INBOX
check "refile --dry-run: exit 0, says what would move" grep -q 'would move' "$T/out"
corral_run 30 -c "$T/config.yml" refile INBOX --dry-run
check "refile ... --dry-run after the folder: exit 0" test "$RC" -eq 0
corral_run 60 -c "$T/config.yml" fetch --dry-run
same_tree "dry runs of fetch, deliver and refile change nothing (Maildir, state, server)" \
	"$before" "$M" "$S" $srv

sanitizer_check
finish
