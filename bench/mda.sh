#!/bin/bash
# bench/mda.sh: one process per message, as an MTA runs an MDA.
# Delivers the same N messages (default 1000) with `corral deliver`, procmail
# and maildrop, each with three equivalent sorting rules (mailing lists by
# List-Id into Lists/NAME, GitHub notifications, invoices), into fresh
# Maildirs, and prints the time per message of each and corral's ratio.
# Every corral delivery is durable (fsync of file and directory); procmail
# and maildrop are run as they come.
# BASELINE=/path/to/another/corral adds that build as a fourth tool taking
# turns with the others (a restructure must not make delivery slower).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
CORRAL=${CORRAL:-$PWD/corral}
# Run as root here (the test servers need it): corral run and serve refuse
# root unless told, the other commands warn (corral(1)).
export CORRAL_ALLOW_ROOT=1

contrib/install-deps.sh bench >/dev/null
[ -x "$CORRAL" ] || make -s
work=$(mktemp -d "${TMPDIR:-/tmp}/corral-mda.XXXXXX")
[ -n "${KEEP:-}" ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
python3 bench/gen-messages.py "$N" "$work/msgs" >/dev/null

# corral
mkdir -p "$work/corral"
cat > "$work/corral/rules.yml" <<'YML'
- name: lists
  if: {header: {List-Id: {regex: '<([a-z0-9-]+)\.'}}}
  then: {folder: 'Lists/$1'}
- name: github
  if: {from: '*@github.com'}
  then: {folder: Notifications}
- name: invoices
  if: {subject: {contains: invoice}}
  then: {folder: Finance}
YML
cat > "$work/corral/config.yml" <<YML
maildir: $work/corral/Maildir
rules: rules.yml
YML
chmod 600 "$work/corral/config.yml"

if [ -n "${BASELINE:-}" ]; then
	mkdir -p "$work/base"
	cp "$work/corral/rules.yml" "$work/base/"
	printf 'maildir: %s\nrules: rules.yml\n' "$work/base/Maildir" >"$work/base/config.yml"
	chmod 600 "$work/base/config.yml"
fi

# procmail: the same three rules
mkdir -p "$work/procmail/Maildir"
cat > "$work/procmail/procmailrc" <<RC
MAILDIR=$work/procmail/Maildir/
DEFAULT=\$MAILDIR
LOGFILE=/dev/null
:0
* ^List-Id:.*<\/[a-z0-9-]+
.Lists.\$MATCH/
:0
* ^From:.*@github\.com
.Notifications/
:0
* ^Subject:.*invoice
.Finance/
RC

# maildrop: the same three rules; maildrop needs the folders to exist
mkdir -p "$work/maildrop/Maildir"/{tmp,new,cur}
for l in $(grep -ho '<[a-z0-9-]*\.lists' "$work"/msgs/*.eml | sort -u | sed 's/<//; s/\.lists//'); do
	mkdir -p "$work/maildrop/Maildir/.Lists.$l"/{tmp,new,cur}
done
mkdir -p "$work/maildrop/Maildir/.Notifications"/{tmp,new,cur} "$work/maildrop/Maildir/.Finance"/{tmp,new,cur}
cat > "$work/maildrop/mailfilter" <<RC
MD="$work/maildrop/Maildir"
if (/^List-Id:.*<([a-z0-9-]+)\./)
{
	to "\$MD/.Lists.\$MATCH1/"
}
if (/^From:.*@github\.com/)
{
	to "\$MD/.Notifications/"
}
if (/^Subject:.*invoice/)
{
	to "\$MD/.Finance/"
}
to "\$MD/"
RC
chmod 600 "$work/maildrop/mailfilter"

run() { # name command...
	local name=$1 start end
	shift
	sync
	start=$(date +%s%N)
	for f in "$work"/msgs/*.eml; do
		"$@" < "$f" || { echo "$name failed on $f" >&2; exit 1; }
	done
	end=$(date +%s%N)
	echo $(((end - start) / 1000))
}

# Empties a tool's Maildir between rounds, keeping its folders (maildrop needs them).
empty() { find "$work/$1/Maildir" -path '*/new/*' -type f -delete; }
min() { if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi; }

# The tools take turns, ROUNDS times (default 3), and each keeps its best
# round: one process per message is at the mercy of the machine's noise.
ROUNDS=${ROUNDS:-3}
t_corral='' t_procmail='' t_maildrop='' t_base=''
for ((round = 1; round <= ROUNDS; round++)); do
	if [ "$round" -gt 1 ]; then empty corral; empty procmail; empty maildrop; fi
	t_corral=$(min "$t_corral" "$(run corral "$CORRAL" -c "$work/corral/config.yml" deliver)")
	if [ -n "${BASELINE:-}" ]; then
		[ "$round" -gt 1 ] && empty base
		t_base=$(min "$t_base" "$(run base "$BASELINE" -c "$work/base/config.yml" deliver)")
	fi
	t_procmail=$(min "$t_procmail" "$(run procmail procmail -m "$work/procmail/procmailrc")")
	t_maildrop=$(min "$t_maildrop" "$(run maildrop maildrop "$work/maildrop/mailfilter")")
done

count() { find "$1" -path '*/new/*' -type f | wc -l; }
echo "delivered: corral $(count "$work/corral/Maildir"), procmail $(count "$work/procmail/Maildir"), maildrop $(count "$work/maildrop/Maildir") of $N"
for t in corral procmail maildrop; do
	[ "$(count "$work/$t/Maildir")" -eq "$N" ] || { echo "$t did not deliver every message" >&2; exit 1; }
done
# The same sorting: the same number of messages in each folder.
for d in corral procmail maildrop; do
	(cd "$work/$d/Maildir" && for f in . .[!.]*; do c=$(ls "$f/new" | wc -l); if [ "$c" -gt 0 ]; then printf "%s %s\n" "$f" "$c"; fi; done) > "$work/$d.folders"
done
diff "$work/corral.folders" "$work/procmail.folders" > /dev/null || echo "warning: corral and procmail sorted differently" >&2
diff "$work/corral.folders" "$work/maildrop.folders" > /dev/null || echo "warning: corral and maildrop sorted differently" >&2

per() { awk -v t="$1" -v n="$N" 'BEGIN { printf "%.2f ms", t / n / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }'; }
echo "best of $ROUNDS rounds, the tools taking turns; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %12s %16s\n' "tool ($N messages)" "per message" "corral is faster"
printf '%-22s %12s %16s\n' "corral deliver" "$(per "$t_corral")" "-"
printf '%-22s %12s %16s\n' "procmail" "$(per "$t_procmail")" "$(ratio "$t_corral" "$t_procmail")"
printf '%-22s %12s %16s\n' "maildrop" "$(per "$t_maildrop")" "$(ratio "$t_corral" "$t_maildrop")"
[ -z "${BASELINE:-}" ] || printf '%-22s %12s %16s\n' "baseline deliver" "$(per "$t_base")" "$(awk -v a="$t_corral" -v b="$t_base" 'BEGIN { printf "%.2fx", b / a }')"
