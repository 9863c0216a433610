#!/bin/bash
# bench/rules.sh: sorting speed. N realistic messages (default 5000, from
# gen-messages.py) through 50 equivalent rules (bench/rules-50.*): corral in
# one process (`corral test`: rules only, nothing filed; attachment types
# sniffed from their bytes), over the message files and over one mbox of
# them; procmail and maildrop one process per message as an MTA runs them,
# delivering to /dev/null. Prints messages per second and corral's ratios,
# checks that the three tools made the same decision for every message,
# and whether corral met its target (5000 messages in under 1 s).
# BASELINE=/path/to/another/corral also times that build on the same input,
# the two taking turns, and prints how the current one compares (a
# restructure must not make sorting slower).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
RUNS=${RUNS:-3}
CORRAL=${CORRAL:-$PWD/corral}
# Run as root here (the test servers need it): corral run and serve refuse
# root unless told, the other commands warn (corral(1)).
export CORRAL_ALLOW_ROOT=1

contrib/install-deps.sh bench >/dev/null
[ -x "$CORRAL" ] || make -s
work=$(mktemp -d "${TMPDIR:-/tmp}/corral-rules.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 bench/gen-messages.py "$N" "$work/msgs" >/dev/null
# The same messages as one mboxrd file ("From " lines quoted with '>').
python3 - "$work/msgs" "$work/all.mbox" <<'PY'
import os, re, sys
src, dst = sys.argv[1], sys.argv[2]
with open(dst, "wb") as out:
    for name in sorted(os.listdir(src)):
        data = open(os.path.join(src, name), "rb").read()
        data = re.sub(rb"(?m)^(>*From )", rb">\1", data)
        out.write(b"From bench@example.com Mon Nov  2 10:00:00 2026\r\n" + data)
        out.write(b"\r\n" if data.endswith(b"\n") else b"\r\n\r\n")
PY
# procmail and maildrop get LF line ends, as an MTA hands a message to an MDA
# (with CRLF they find no end of the header, hence no body); corral reads
# the files as a server stores them, with CRLF.
python3 - "$work/msgs" "$work/lf" <<'PY'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
for name in sorted(os.listdir(src)):
    with open(os.path.join(src, name), "rb") as f, open(os.path.join(dst, name), "wb") as g:
        g.write(f.read().replace(b"\r\n", b"\n"))
PY
cp bench/rules-50.procmailrc "$work/procmailrc"
cp bench/rules-50.mailfilter "$work/mailfilter"
chmod 600 "$work/procmailrc" "$work/mailfilter"
bytes=$(cat "$work"/msgs/*.eml | wc -c)

# Times a command (stdout to $work/OUT): sets wall and cpu (user + sys,
# children included), in seconds; of RUNS runs, the one with the best wall.
TIMEFORMAT='%3R %3U %3S'
timed() { # runs out command...
	local runs=$1 out=$2 r u s
	shift 2
	wall=
	for _ in $(seq 1 "$runs"); do
		{ time "$@" >"$work/$out" 2>>"$work/errors"; } 2>"$work/time"
		read -r r u s <"$work/time"
		if [ -z "$wall" ] || awk -v a="$r" -v b="$wall" 'BEGIN { exit !(a < b) }'; then
			wall=$r
			cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
		fi
	done
}
# One process per message, as an MTA runs an MDA; each appends its decision to a log.
per_message() {
	for f in "$work"/lf/*.eml; do
		"$@" <"$f" || { echo "$* failed on $f" >&2; return 1; }
	done
}

timed "$RUNS" corral.out "$CORRAL" test --rules bench/rules-50.yml "$work"/msgs/*.eml
w_files=$wall c_files=$cpu
timed "$RUNS" corral-mbox.out "$CORRAL" test --rules bench/rules-50.yml "$work/all.mbox"
w_mbox=$wall c_mbox=$cpu
timed 1 procmail.stdout per_message procmail -m LOGFILE="$work/procmail.out" "$work/procmailrc"
w_procmail=$wall c_procmail=$cpu
timed 1 maildrop.stdout per_message maildrop "$work/mailfilter" "$work/maildrop.out"
w_maildrop=$wall c_maildrop=$cpu

if [ -n "${BASELINE:-}" ]; then
	# Current and baseline take turns; each keeps its best run.
	bw_files='' bw_mbox='' cw_files='' cw_mbox=''
	best() { if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN { exit !(a < b) }'; then echo "$2"; else echo "$1"; fi; }
	for _ in $(seq 1 "$RUNS"); do
		timed 1 corral.out "$CORRAL" test --rules bench/rules-50.yml "$work"/msgs/*.eml
		cw_files=$(best "$cw_files" "$wall")
		timed 1 base.out "$BASELINE" test --rules bench/rules-50.yml "$work"/msgs/*.eml
		bw_files=$(best "$bw_files" "$wall")
		timed 1 corral-mbox.out "$CORRAL" test --rules bench/rules-50.yml "$work/all.mbox"
		cw_mbox=$(best "$cw_mbox" "$wall")
		timed 1 base-mbox.out "$BASELINE" test --rules bench/rules-50.yml "$work/all.mbox"
		bw_mbox=$(best "$bw_mbox" "$wall")
	done
	cmp -s "$work/corral.out" "$work/base.out" || echo "warning: the baseline decided differently" >&2
fi

# corral's decisions without rule names, flags and paths: "Lists/Debian", "INBOX".
decisions() { sed -E 's/^[^:]*(:[0-9]+)?: //; s/ \([^)]*\)//g; s/ \+[a-z]+//g' "$1"; }
decisions "$work/corral.out" >"$work/corral.dec"
decisions "$work/corral-mbox.out" >"$work/corral-mbox.dec"
same() { paste -d'|' "$1" "$2" | awk -F'|' '$1 == $2' | wc -l; }
for t in procmail maildrop; do
	[ "$(wc -l <"$work/$t.out")" -eq "$N" ] || { echo "$t logged $(wc -l <"$work/$t.out") decisions for $N messages" >&2; exit 1; }
done
[ "$(wc -l <"$work/corral.dec")" -eq "$N" ] || { cat "$work/errors" >&2; echo "corral gave $(wc -l <"$work/corral.dec") lines for $N messages" >&2; exit 1; }

rate() { awk -v t="$1" -v n="$N" 'BEGIN { printf "%.0f", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0fx", b / a }'; }
row() { # label wall cpu [corral's wall cpu]
	printf '%-34s %8s %8s %9s %11s %11s\n' "$1" "$2 s" "$3 s" "$(rate "$2")" \
		"${4:+$(ratio "$4" "$2")}" "${5:+$(ratio "$5" "$3")}"
}
printf '%d messages (%.1f MB), 50 rules; corral: best of %d runs; %d CPUs, load %s\n' "$N" \
	"$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "$RUNS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-34s %8s %8s %9s %11s %11s\n' "tool" "wall" "cpu" "msgs/s" "corral is" "(by cpu)"
row "corral test, files (1 process)" "$w_files" "$c_files"
row "corral test, one mbox (1 process)" "$w_mbox" "$c_mbox"
row "procmail (1 process per message)" "$w_procmail" "$c_procmail" "$w_files" "$c_files"
row "maildrop (1 process per message)" "$w_maildrop" "$c_maildrop" "$w_files" "$c_files"
echo "same decision: corral files = mbox on $(same "$work/corral.dec" "$work/corral-mbox.dec")/$N," \
	"corral = procmail on $(same "$work/corral.dec" "$work/procmail.out")/$N," \
	"corral = maildrop on $(same "$work/corral.dec" "$work/maildrop.out")/$N"
echo "folders (corral):" "$(sort "$work/corral.dec" | uniq -c | sort -rn | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')"
for t in procmail maildrop; do
	paste -d'|' "$work/corral.dec" "$work/$t.out" | awk -F'|' -v t=$t '$1 != $2 { printf "  differs: message %05d: corral %s, %s %s\n", NR, $1, t, $2 }' | head -5
done
if [ "$N" -ge 5000 ]; then
	awk -v w="$w_files" -v c="$c_files" -v n="$N" 'BEGIN { f = 5000 / n;
		printf "target: 5000 messages in under 1 s: %s (wall %.3f s, cpu %.3f s)\n",
			w * f < 1 ? "met" : "MISSED", w * f, c * f }'
fi
if [ -n "${BASELINE:-}" ]; then
	echo "current vs baseline ($BASELINE), taking turns, best of $RUNS each:"
	for k in files mbox; do
		c=cw_$k b=bw_$k
		awk -v k="$k" -v c="${!c}" -v b="${!b}" 'BEGIN { printf "  %-6s current %6.3f s, baseline %6.3f s: current is %.2fx the baseline'"'"'s speed\n", k, c, b, b / c }'
	done
fi
