#!/usr/bin/env bash
# `corral deliver` on a full disk: a 2 MB message into a 1 MB tmpfs is a
# temporary failure (exit 75) that leaves no file in tmp/, new/ or cur/;
# once there is room, a small message is delivered byte-exact.
set -euo pipefail

CORRAL=${CORRAL:-./corral}
. "$(dirname "$0")/lib.sh"

need_root
need cmp timeout fold mount

case $CORRAL in /*) ;; *) CORRAL=$PWD/$CORRAL ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/corral-enospc.XXXXXX")
disk=$work/disk
cleanup() {
	umount "$disk" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$CORRAL" ]; then
	not_ok "the binary under test $CORRAL is missing"
	finish
fi
mkdir "$disk"
if ! reason=$(mount -t tmpfs -o size=1m,mode=0700 tmpfs "$disk" 2>&1); then
	not_ok "mount a 1 MB tmpfs: ${reason:-mount failed}"
	finish
fi

export HOME=$work/home XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config
mkdir -p "$HOME"
config=$work/config.yml
(umask 077 && printf 'maildir: %s/Maildir\n' "$disk" >"$config")
chmod 600 "$config"
maildir=$disk/Maildir

{
	printf 'From: a@example.com\nTo: b@example.com\nSubject: big\n\n'
	head -c 2097152 /dev/zero | tr '\0' 'x' | fold -w 76
} >"$work/big.eml"
printf 'From: a@example.com\nTo: b@example.com\nSubject: small\n\nhello\n' >"$work/small.eml"

# Message files anywhere in the maildir's tmp/ new/ cur/ (of any folder).
message_files() {
	find "$maildir" -type f \( -path '*/tmp/*' -o -path '*/new/*' -o -path '*/cur/*' \) \
		2>/dev/null | sort
}

rc=0
timeout 60 "$CORRAL" -c "$config" deliver <"$work/big.eml" >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 75 ]; then
	ok "a 2 MB message on a 1 MB disk exits 75"
else
	not_ok "a 2 MB message on a 1 MB disk exits 75 (got $rc: $(head -c 300 "$work/err"))"
fi
if grep -qi 'no space left' "$work/err"; then
	ok "the error says the disk is full"
else
	not_ok "the error says the disk is full (stderr: $(head -c 300 "$work/err"))"
fi
if [ -d "$maildir/tmp" ] && [ -d "$maildir/new" ] && [ -d "$maildir/cur" ]; then
	ok "the maildir was opened on the full disk"
else
	not_ok "the maildir was opened on the full disk (no $maildir/{tmp,new,cur})"
fi
left=$(message_files)
if [ -z "$left" ]; then
	ok "no partial file in tmp/ new/ cur/"
else
	not_ok "no partial file in tmp/ new/ cur/ (found: $left)"
fi

rc=0
timeout 60 "$CORRAL" -c "$config" deliver <"$work/small.eml" >"$work/out" 2>"$work/err" || rc=$?
if [ "$rc" -eq 0 ]; then
	ok "a small message then delivers (exit 0)"
else
	not_ok "a small message then delivers (got $rc: $(head -c 300 "$work/err"))"
fi
files=$(message_files)
if [ "$(printf '%s' "$files" | grep -c .)" -eq 1 ] && [[ $files == "$maildir"/new/* ]] &&
	cmp -s "$files" "$work/small.eml"; then
	ok "exactly one file, in new/, byte-identical"
else
	not_ok "exactly one file, in new/, byte-identical (found: ${files:-nothing})"
fi

finish
