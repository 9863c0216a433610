# shellcheck shell=bash
# bench/lib-bench.sh: what the benchmark scripts share. Source it.
#
#   bench_rules_corral DIR        writes DIR/rules.yml: the three sorting rules
#   bench_rules_procmail DIR MD   writes DIR/procmailrc: the same rules as procmail
#                                 recipes delivering into the Maildir MD
#   bench_count MAILDIR           messages in MAILDIR and its folders (new/ + cur/)
#   bench_folders MAILDIR         "FOLDER COUNT" per non-empty folder, to compare sorting
#   bench_median NUM...           the median (the lower middle one for an even count)
#   bench_secs NANOSECONDS        "1.23"
#
# The three rules: mailing lists by List-Id into Lists/NAME, GitHub
# notifications into Notifications, invoices (by Subject) into Finance;
# everything else stays in INBOX.

bench_rules_corral() { # DIR
	cat >"$1/rules.yml" <<'YML'
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
}

bench_rules_procmail() { # DIR MAILDIR
	cat >"$1/procmailrc" <<RC
MAILDIR=$2/
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
}

bench_count() { # MAILDIR
	find "$1" -type f \( -path '*/new/*' -o -path '*/cur/*' \) 2>/dev/null | wc -l
}

bench_folders() { # MAILDIR
	local f c
	[ -d "$1" ] || return 0
	(cd "$1" && for f in . .[!.]*; do
		[ -d "$f/new" ] || continue
		c=$(find "$f/new" "$f/cur" -type f 2>/dev/null | wc -l)
		[ "$c" -gt 0 ] && printf '%s %s\n' "$f" "$c"
	done)
}

bench_median() { # NUM...
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

bench_secs() { # NANOSECONDS
	awk -v t="$1" 'BEGIN { printf "%.2f", t / 1e9 }'
}
