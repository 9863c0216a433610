#!/bin/bash
# bench/fetch.sh: fetch the same mailbox with corral and with the tools users
# would otherwise pick, side by side, in one run.
#
#   bench/fetch.sh [--quick] [--durability] [--no-slow] [N]
#
# Generates N realistic messages (default 5000, about 55 MB; --quick: 1000)
# with bench/gen-messages.py into a throwaway Dovecot on 127.0.0.1 (started
# with tests/integration/lib-dovecot.sh), then fetches all of them, keeping
# them on the server, into a fresh Maildir with each tool: plain (no TLS,
# plaintext login allowed) and over implicit TLS checked against the test CA.
#
#   corral fetch        POP3, IMAP   three rules (bench/lib-bench.sh)
#   mpop                POP3         plain delivery into the Maildir: mpop cannot sort
#   mpop+procmail       POP3         `delivery mda procmail` with the same three recipes
#                                    (plain only: procmail's cost does not depend on TLS)
#   mbsync              IMAP         INBOX synced into a Maildir: mbsync cannot sort
#   fdm                 POP3, IMAP   the three rules as fdm maildir actions
#   fetchmail+procmail  POP3, IMAP   `mda "procmail -m RC"`, keep, fetchall, no SMTP
#
# Each run gets a new directory, so every tool starts with an empty Maildir
# and none of its own state (UIDs seen): it fetches everything. Then `sync`.
# The directories are removed only at the end: ext4 makes file creation slow
# for a minute after many files were deleted (its inode allocator skips
# recently deleted inodes one by one), which would charge one tool for the
# cleanup of the one before. corral and the fast tools (mpop, mbsync) take
# turns, $RUNS times each (default 3), and the medians count; the slow ones
# run once.
#
# Every tool runs as the unprivileged user corralbench (created when
# missing; fetchmail and fdm refuse root), under /usr/bin/time for its peak
# RSS. A row whose tool did not deliver N messages, or sorted them
# differently from corral, says so.
#
# --durability first runs every tool under strace on 200 messages and prints
# what each one fsyncs per message. --no-slow leaves out the tools that take
# minutes (fdm, fetchmail+procmail, mpop+procmail).
#
# BASELINE=/path/to/another/corral adds that build as the tool
# "corral-base", taking turns with corral and the fast tools, so that a
# change to corral is measured against the build before it in one run.
#
# Needs root (Dovecot, useradd). Installs what is missing with
# contrib/install-deps.sh bench. Uses $CORRAL (default ./corral, built with
# make when missing). KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
# shellcheck source=bench/lib-bench.sh
. bench/lib-bench.sh

N=5000
durability=0
slow=1
for a in "$@"; do
	case $a in
	--quick) N=1000 ;;
	--durability) durability=1 ;;
	--no-slow) slow=0 ;;
	[0-9]*) N=$a ;;
	*)
		echo "usage: $0 [--quick] [--durability] [N]" >&2
		exit 64
		;;
	esac
done
[ "$(id -u)" = 0 ] || {
	echo "$0: needs root (it starts Dovecot and runs the tools as corralbench)" >&2
	exit 77
}
CORRAL=${CORRAL:-$top/corral}
# Run as root here (the test servers need it): corral run and serve refuse
# root unless told, the other commands warn (corral(1)).
export CORRAL_ALLOW_ROOT=1
RUNS=${RUNS:-3}
BENCH_USER=corralbench

contrib/install-deps.sh bench >/dev/null
[ -x "$CORRAL" ] || make -s
getent passwd "$BENCH_USER" >/dev/null ||
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$BENCH_USER"

work=$(mktemp -d "${TMPDIR:-/tmp}/corral-bench-fetch.XXXXXX")
chmod 755 "$work"
# shellcheck source=tests/integration/lib-dovecot.sh
. tests/integration/lib-dovecot.sh
cleanup() {
	dovecot_stop
	if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The binary may live where the bench user cannot read it.
mkdir -p "$work/bin" "$work/run"
cp "$CORRAL" "$work/bin/corral"
chmod 755 "$work/bin" "$work/bin/corral"
if [ -n "${BASELINE:-}" ]; then
	cp "$BASELINE" "$work/bin/corral-base"
	chmod 755 "$work/bin/corral-base"
fi
# Spread the runs' directories over the file system like top-level ones
# (ext4 Orlov allocator), away from inodes other runs freed.
chattr +T "$work/run" 2>/dev/null || true

dovecot_setup "$work/dovecot" 2>/dev/null
chmod 644 "$DOVECOT_CA"
dovecot_start
# The test certificate names localhost; fetchmail and mbsync check names only.
HOST=localhost
USER_=alice
PASS=$DOVECOT_PASS_alice

start=$(date +%s)
echo "generating $N messages..."
python3 bench/gen-messages.py "$N" "$work/msgs" >/dev/null
dovecot_add_files "$USER_" INBOX "$work"/msgs/*.eml
MB=$(du -sm "$work/msgs" | cut -f1)

# Dovecot indexes the folder, computes the POP3 sizes and (at the first POP3
# QUIT) marks every message seen: have that done now, not in the first run.
echo "warming Dovecot up..."
dovecot_warm_up "$USER_"

# ---- one config per tool, written into the run's directory D ----

port_of() { # PROTO TLS
	case $1/$2 in
	pop3/off) echo "$DOVECOT_POP3_PORT" ;;
	pop3/on) echo "$DOVECOT_POP3S_PORT" ;;
	imap/off) echo "$DOVECOT_IMAP_PORT" ;;
	imap/on) echo "$DOVECOT_IMAPS_PORT" ;;
	esac
}

conf_corral() { # D PROTO TLS [BINARY]
	local d=$1 tls=off bin=${4:-corral}
	[ "$3" = on ] && tls=implicit
	bench_rules_corral "$d"
	cat >"$d/config.yml" <<YML
maildir: $d/Maildir
state: $d/state
rules: rules.yml
accounts:
  bench:
    protocol: $2
    host: $HOST
    port: $(port_of "$2" "$3")
    tls: $tls
    allow_plaintext: true
    ca_file: $DOVECOT_CA
    user: $USER_
    password: $PASS
    keep: true
YML
	echo "$work/bin/$bin -q -c $d/config.yml fetch"
}

conf_mpop() { # D PROTO TLS [procmail]
	local d=$1 delivery="maildir $1/Maildir"
	if [ "${4:-}" = procmail ]; then
		bench_rules_procmail "$d" "$d/Maildir"
		delivery="mda \"/usr/bin/procmail -m $d/procmailrc\""
	fi
	# auth user: mpop refuses PLAIN without TLS, and has no CRAM-MD5 here.
	cat >"$d/mpoprc" <<RC
account bench
host $HOST
port $(port_of "$2" "$3")
user $USER_
password $PASS
auth user
tls $3
tls_starttls off
tls_trust_file $DOVECOT_CA
keep on
uidls_file $d/uidls
delivery $delivery
RC
	echo "mpop -q -C $d/mpoprc bench"
}

conf_mbsync() { # D PROTO TLS
	local d=$1 ssl=None
	[ "$3" = on ] && ssl=IMAPS
	cat >"$d/mbsyncrc" <<RC
IMAPAccount bench
Host $HOST
Port $(port_of "$2" "$3")
User $USER_
Pass $PASS
SSLType $ssl
CertificateFile $DOVECOT_CA

IMAPStore remote
Account bench

MaildirStore local
Path $d/Maildir/
Inbox $d/Maildir

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Sync Pull
Create Near
SyncState *
RC
	echo "mbsync -q -c $d/mbsyncrc bench"
}

conf_fdm() { # D PROTO TLS
	local d=$1 type=$2 verify=""
	[ "$3" = on ] && type=${2}s verify="set verify-certificates"
	# Regexps: "\\\\." here is "\\." in the file, "\." for fdm.
	cat >"$d/fdm.conf" <<RC
set lock-file "$d/lock"
$verify
action "inbox" maildir "$d/Maildir"
action "lists" maildir "$d/Maildir/.Lists.%1"
action "notifications" maildir "$d/Maildir/.Notifications"
action "finance" maildir "$d/Maildir/.Finance"
account "bench" $type server "$HOST" port $(port_of "$2" "$3") user "$USER_" pass "$PASS" keep
match "^List-Id:.*<([a-z0-9-]+)\\\\." in headers action "lists"
match "^From:.*@github\\\\.com" in headers action "notifications"
match "^Subject:.*invoice" in headers action "finance"
match all action "inbox"
RC
	echo "fdm -q -f $d/fdm.conf fetch"
}

conf_fetchmail() { # D PROTO TLS
	local d=$1 tls="sslproto ''"
	[ "$3" = on ] && tls="ssl sslcertck sslcertfile \"$DOVECOT_CA\""
	bench_rules_procmail "$d" "$d/Maildir"
	cat >"$d/fetchmailrc" <<RC
set no syslog
set no bouncemail
poll $HOST with proto ${2^^} port $(port_of "$2" "$3")
  user "$USER_" there with password "$PASS" is "$BENCH_USER" here
  keep fetchall $tls
  mda "/usr/bin/procmail -m $d/procmailrc"
RC
	echo "fetchmail -s -f $d/fetchmailrc"
}

# ---- running ----

# Runs a command as the bench user, with the run's directory as its home
# (fetchmail's state, fdm's temporary files), nothing else inherited.
as_bench() { # D COMMAND...
	local d=$1
	shift
	setpriv --reuid="$BENCH_USER" --regid="$BENCH_USER" --clear-groups \
		env -i PATH=/usr/bin:/bin HOME="$d" USER="$BENCH_USER" LOGNAME="$BENCH_USER" \
		TMPDIR="$d/tmp" FETCHMAILHOME="$d/home" SSL_CERT_FILE="$DOVECOT_CA" "$@"
}

# Makes a new directory D for TOOL and prints the command to run in it.
seq_=0
prepare() { # TOOL PROTO TLS D
	local tool=$1 d=$4 cmd
	mkdir -p "$d"/{home,tmp} "$d/Maildir"/{cur,new,tmp}
	case $tool in
	corral) cmd=$(conf_corral "$d" "$2" "$3") ;;
	corral-base) cmd=$(conf_corral "$d" "$2" "$3" corral-base) ;;
	mpop) cmd=$(conf_mpop "$d" "$2" "$3") ;;
	mpop+procmail) cmd=$(conf_mpop "$d" "$2" "$3" procmail) ;;
	mbsync) cmd=$(conf_mbsync "$d" "$2" "$3") ;;
	fdm) cmd=$(conf_fdm "$d" "$2" "$3") ;;
	fetchmail+procmail) cmd=$(conf_fetchmail "$d" "$2" "$3") ;;
	esac
	chown -R "$BENCH_USER:" "$d"
	chmod -R go-rwx "$d"
	echo "$cmd"
}

# Per row (TOOL/PROTO/TLS): run times, largest peak RSS, notes.
declare -A times rss notes
add_note() { # KEY TEXT
	[[ ${notes[$1]:-} == *"$2"* ]] || notes[$1]="${notes[$1]:+${notes[$1]}; }$2"
}

# Runs TOOL once in a new directory and records the result.
run() { # TOOL PROTO TLS
	local tool=$1 proto=$2 tls=$3 key="$1/$2/$3" d cmd t0 t1 rc=0 got r
	seq_=$((seq_ + 1))
	d=$work/run/$seq_-$tool-$proto-$tls
	cmd=$(prepare "$tool" "$proto" "$tls" "$d")
	sync
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	as_bench "$d" /usr/bin/time -f %M -o "$d/rss" $cmd >"$d/out" 2>&1 || rc=$?
	t1=$(date +%s%N)
	times[$key]="${times[$key]:-} $((t1 - t0))"
	r=$(tail -n 1 "$d/rss" 2>/dev/null || echo 0)
	[[ $r =~ ^[0-9]+$ ]] || r=0
	[ "$r" -gt "${rss[$key]:-0}" ] && rss[$key]=$r
	[ "$rc" -eq 0 ] || add_note "$key" "exit $rc"
	got=$(bench_count "$d/Maildir")
	if [ "$got" -ne "$N" ]; then
		add_note "$key" "WARNING: delivered $got of $N"
		sed 's/^/#   /' "$d/out" | tail -n 5 >&2
	fi
	case $tool in
	corral) bench_folders "$d/Maildir" >"$work/corral-$proto-$tls.folders" ;;
	mpop | mbsync) add_note "$key" "no sorting" ;;
	*)
		bench_folders "$d/Maildir" >"$d.folders"
		cmp -s "$work/corral-$proto-$tls.folders" "$d.folders" ||
			add_note "$key" "WARNING: sorted differently from corral"
		;;
	esac
	printf '  %-19s %-5s tls %-4s %6s s\n' "$tool" "$proto" "$tls" "$(bench_secs $((t1 - t0)))"
}

median_of() { # KEY
	# shellcheck disable=SC2086
	bench_median ${times[$1]}
}

# --durability: what each tool fsyncs per message, seen by strace over a
# small mailbox (carol's), plain connections.
audit() { # TOOL PROTO
	local d cmd call path file=0 dir=0 fs=0 other=0
	seq_=$((seq_ + 1))
	d=$work/run/$seq_-audit-$1-$2
	cmd=$(prepare "$1" "$2" off "$d")
	# shellcheck disable=SC2086
	as_bench "$d" strace -f -qq -y -o "$d/strace" \
		-e trace=fsync,fdatasync,syncfs,sync,sync_file_range $cmd >"$d/out" 2>&1 || true
	# "PID fsync(5</path>) = 0": a message file, a Maildir directory, a whole
	# file system, or anything else (the tool's state, journal, temporary files).
	while read -r call path; do
		if [ "$call" = syncfs ] || [ "$call" = sync ]; then
			fs=$((fs + 1))
		elif [[ $path == "$d/Maildir"*/tmp/* || $path == "$d/Maildir"*/new/* ||
			$path == "$d/Maildir"*/cur/* ]]; then
			file=$((file + 1))
		elif [[ $path == "$d/Maildir"* ]] && [ -d "$path" ]; then
			dir=$((dir + 1))
		else
			other=$((other + 1))
		fi
	done < <(sed -n 's/^[0-9]* *\([a-z_]*\)([0-9]*<\([^>]*\)>.*/\1 \2/p
		s/^[0-9]* *\(sync\)().*/\1 -/p' "$d/strace")
	awk -v t="$1" -v p="$2" -v n="$AUDIT_N" -v got="$(bench_count "$d/Maildir")" \
		-v f=$file -v di=$dir -v fs=$fs -v o=$other 'BEGIN {
		printf "  %-19s %-5s %5.2f %9.2f %6.2f %7d  (%d delivered)\n",
			t, p, f / n, di / n, o / n, fs, got }'
}

if [ "$durability" = 1 ]; then
	AUDIT_N=200
	[ "$N" -lt "$AUDIT_N" ] && AUDIT_N=$N
	# shellcheck disable=SC2046
	dovecot_add_files carol INBOX $(printf "$work/msgs/%05d.eml " $(seq 1 "$AUDIT_N"))
	USER_=carol PASS=$DOVECOT_PASS_carol
	echo "fsync/fdatasync per message, by target (strace), $AUDIT_N messages:"
	printf '  %-25s %5s %9s %6s %7s\n' "" file directory other syncfs
	for t in corral/pop3 corral/imap mpop/pop3 mpop+procmail/pop3 mbsync/imap fdm/pop3 \
		fdm/imap fetchmail+procmail/pop3 fetchmail+procmail/imap; do
		audit "${t%/*}" "${t#*/}"
	done
	USER_=alice PASS=$DOVECOT_PASS_alice
	echo
fi

echo "fetching $N messages ($MB MB) with each tool, keep on:"
# corral and the fast tool it is measured against take turns, $RUNS times each,
# so that both see the same moments of a busy machine.
for tls in off on; do
	for ((i = 0; i < RUNS; i++)); do
		run corral pop3 "$tls"
		[ -z "${BASELINE:-}" ] || run corral-base pop3 "$tls"
		run mpop pop3 "$tls"
	done
	if [ "$slow" = 1 ]; then
		# procmail's cost does not depend on TLS: once is enough.
		[ "$tls" = off ] && run mpop+procmail pop3 "$tls"
		run fdm pop3 "$tls"
		run fetchmail+procmail pop3 "$tls"
	fi
	for ((i = 0; i < RUNS; i++)); do
		run corral imap "$tls"
		[ -z "${BASELINE:-}" ] || run corral-base imap "$tls"
		run mbsync imap "$tls"
	done
	if [ "$slow" = 1 ]; then
		run fdm imap "$tls"
		run fetchmail+procmail imap "$tls"
	fi
done

echo
printf '%-19s %-5s %-3s %8s %4s %14s %9s  %s\n' "tool ($N msgs)" proto TLS seconds runs \
	"corral faster" "peak RSS" notes
for tls in off on; do
	for key in corral/pop3 corral-base/pop3 mpop/pop3 mpop+procmail/pop3 fdm/pop3 \
		fetchmail+procmail/pop3 corral/imap corral-base/imap mbsync/imap fdm/imap \
		fetchmail+procmail/imap; do
		key=$key/$tls
		[ -n "${times[$key]:-}" ] || continue
		IFS=/ read -r tool proto _ <<<"$key"
		t=$(median_of "$key")
		c=$(median_of "corral/$proto/$tls")
		ratio=-
		[ "$tool" = corral ] || ratio=$(awk -v a="$c" -v b="$t" -v p="$([ "$tool" = corral-base ] && echo 2 || echo 1)" 'BEGIN { printf "%." p "fx", b / a }')
		# shellcheck disable=SC2086
		set -- ${times[$key]}
		printf '%-19s %-5s %-3s %8s %4s %14s %6.1f MB  %s\n' "$tool" "$proto" "$tls" \
			"$(bench_secs "$t")" "$#" "$ratio" \
			"$(awk -v k="${rss[$key]}" 'BEGIN { print k / 1024 }')" "${notes[$key]:-}"
	done
done

# The targets: at most half of mpop's time (POP3) and of mbsync's (IMAP),
# a peak RSS under 50 MB.
echo
for tls in off on; do
	for other in mpop/pop3 mbsync/imap; do
		c=$(median_of "corral/${other#*/}/$tls")
		t=$(median_of "$other/$tls")
		awk -v o="${other%/*}" -v p="${other#*/}" -v s="$tls" -v a="$c" -v b="$t" 'BEGIN {
			printf "target: corral %s tls %-3s at most half of %s'"'"'s time: %s (%.2f of it)\n",
				p, s, o, a <= b / 2 ? "met" : "MISSED", a / b }'
	done
	for proto in pop3 imap; do
		awk -v p="$proto" -v s="$tls" -v r="${rss[corral/$proto/$tls]}" 'BEGIN {
			printf "target: corral %s tls %-3s peak RSS under 50 MB: %s (%.1f MB)\n",
				p, s, r < 50 * 1024 ? "met" : "MISSED", r / 1024 }'
	done
done
cat <<'EOF'

Durability: corral makes every message durable before it counts it as
delivered, a batch at a time: intents journaled (fdatasync), files synced
(one syncfs), linked into new/, each touched directory fsynced, then the
batch journaled as done (fdatasync). mpop, mbsync, fdm and procmail
(mpop+procmail, fetchmail+procmail) fsync each message file but never the
Maildir directory they rename or link it into, so after a crash a message
they reported delivered can be missing (see --durability).
EOF
echo "total bench time: $(($(date +%s) - start)) s"
