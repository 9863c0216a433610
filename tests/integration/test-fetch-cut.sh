#!/usr/bin/env bash
# Network cuts: `corral fetch` talks to Dovecot through cutproxy.py, which
# cuts each connection after a random number of bytes in a random direction
# (with FIN or RST), or stalls it so that corral's timeout must fire. After
# every run nothing may be lost (each message on its server or in the
# Maildir) or duplicated, and corral must exit with a temporary failure
# (75), 69 or 0, never hang or crash. Then one clean run: every message
# exactly once, the keep: false mailboxes empty (DESIGN.md 4.1, 4.2).
# Accounts, each with its own proxy: IMAP without TLS (keep: false, cuts
# land on exact protocol bytes), IMAPS (keep: true, cuts inside TLS
# records), POP3 without TLS (keep: false), POP3S (keep: true).
#   RUNS=25, SEED=... (for $RANDOM) can be set.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib-fetch.sh
. "$here/lib-fetch.sh"

RUNS=${RUNS:-25}
SEED=${SEED:-$$}
RANDOM=$SEED
echo "# runs $RUNS, seed $SEED"

if [ ! -x "$CORRAL" ]; then
	not_ok "the binary under test $CORRAL exists"
	finish
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/corral-fetch-cut.XXXXXX")
proxies=()
cleanup() {
	local p
	for p in "${proxies[@]}"; do kill "$p" 2>/dev/null || true; done
	dovecot_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
fetch_fast_python
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# shellcheck disable=SC2119 # its own temp dir
dovecot_setup
dovecot_start

# The accounts: name user protocol tls target-port keep. Each has its own
# mailbox (see mbox below): imaps reads bob's folder Keep, pop3s bob's INBOX.
accounts=(
	"imap-plain alice imap off $DOVECOT_IMAP_PORT false"
	"imaps bob imap implicit $DOVECOT_IMAPS_PORT true"
	"pop-plain carol pop3 off $DOVECOT_POP3_PORT false"
	"pop3s bob pop3 implicit $DOVECOT_POP3S_PORT true"
)

# One proxy per account.
declare -A port
for a in "${accounts[@]}"; do
	read -r name user proto tls target keep <<<"$a"
	: >"$T/plan.$name"
	python3 "$here/cutproxy.py" --target "$target" --port-file "$T/port.$name" \
		--plan "$T/plan.$name" --log "$T/proxy.log.$name" &
	proxies+=($!)
done
for a in "${accounts[@]}"; do
	read -r name _ <<<"$a"
	for ((i = 0; i < 50; i++)); do
		[ -s "$T/port.$name" ] && break
		sleep 0.1
	done
	port[$name]=$(cat "$T/port.$name" 2>/dev/null || echo 0)
done
if [ "${port[imap-plain]}" = 0 ] || [ "${port[pop3s]}" = 0 ]; then
	not_ok "cutproxy.py listens"
	finish
	exit 1
fi

maildir=$T/Maildir
# first3 ITEM...: the first three items, for a failure's detail.
first3() { printf '%s | ' "${@:1:3}"; [ $# -le 3 ] || printf '(%d more)' $(($# - 3)); }
{
	for a in "${accounts[@]}"; do
		read -r name user proto tls target keep <<<"$a"
		extra=("timeout: 4s")
		[ "$tls" = off ] && extra+=("allow_plaintext: true")
		[ "$name" = imaps ] && extra+=("folders: [Keep]")
		fetch_account "$name" "$user" "$proto" "$tls" "${port[$name]}" "$keep" "${extra[@]}"
	done
} | fetch_config "$T/config.yml" "$maildir" "$T/state"

# Mail for each account: alice INBOX (imap-plain), bob Keep (imaps), carol
# INBOX (pop-plain), bob INBOX (pop3s). Sizes vary so that cuts land in
# headers, literals and between commands.
declare -A mbox=([imap-plain]="alice INBOX" [imaps]="bob Keep" [pop-plain]="carol INBOX"
	[pop3s]="bob INBOX")
add_mail() { # N
	local name size
	for name in "${!mbox[@]}"; do
		size=$((800 + RANDOM % 6000))
		# shellcheck disable=SC2086
		track_add "$T/exp.$name" ${mbox[$name]} "$1" "$size"
		# shellcheck disable=SC2086
		((RANDOM % 4)) || track_add "$T/exp.$name" ${mbox[$name]} 1 200000
	done
	cat "$T"/exp.* >"$T/expected"
}
server_dirs() {
	local name
	for name in "${!mbox[@]}"; do
		# shellcheck disable=SC2086
		dovecot_maildir ${mbox[$name]}
	done
}
missing_for() { # NAME: its messages not yet in the Maildir
	python3 - "$T/exp.$1" "$maildir" <<'EOF'
import os, sys
want = set(l.strip() for l in open(sys.argv[1]) if l.strip())
root = sys.argv[2]
have = set()
if os.path.isdir(root):
    for d in [root] + [os.path.join(root, f) for f in os.listdir(root) if f.startswith(".")]:
        for sub in ("new", "cur"):
            p = os.path.join(d, sub)
            for f in os.listdir(p) if os.path.isdir(p) else []:
                try:
                    data = open(os.path.join(p, f), "rb").read(4096)
                except FileNotFoundError:
                    continue
                for line in data.split(b"\n"):
                    if line.lower().startswith(b"message-id:"):
                        have.add(line[11:].strip().decode("latin-1"))
                        break
print(len(want - have))
EOF
}

add_mail 60
mapfile -t dirs < <(server_dirs)
bad_rc=()
lost_after=()
dup_after=()
cuts=0
start=$SECONDS
for ((run = 1; run <= RUNS; run++)); do
	if ((SECONDS - start > 170)); then
		echo "# time is up after $((run - 1)) runs"
		break
	fi
	desc=""
	for a in "${accounts[@]}"; do
		read -r name _ proto tls _ <<<"$a"
		pending=$(missing_for "$name")
		# Rough bytes of a whole session each way, to spread the offsets over it.
		down=$((3000 + pending * 4500))
		per=3
		[ "$proto" = pop3 ] && per=20
		up=$((600 + pending * per))
		[ "$tls" = off ] || up=$((up + 1500))
		if ((RANDOM % 2)); then way=down total=$down; else way=up total=$up; fi
		# A quarter of the cuts in the first KB: greeting, TLS, login, SELECT.
		if ((RANDOM % 4 == 0)); then total=1000; fi
		off=$(((RANDOM * 32768 + RANDOM) % total))
		if ((run % 9 == 0)) && [ "$name" = imaps ]; then
			line="stall $way $off"
		elif ((RANDOM % 3 == 0)); then
			line="$way $off rst"
		else
			line="$way $off"
		fi
		echo "$line" >"$T/plan.$name"
		desc+=" $name: $line;"
	done
	corral_run 60 -c "$T/config.yml" fetch
	case $RC in
	0 | 69 | 75) ;;
	*) bad_rc+=("run $run:$desc exit $RC: $(tail -n 2 "$T/err" | tr '\n' ' ')") ;;
	esac
	n=$(lost_count "$T/expected" "$maildir" "${dirs[@]}")
	[ "$n" -eq 0 ] || lost_after+=("run $run:$desc lost $n")
	exactly_once "$T/expected" "$maildir" 2>/dev/null || true
	if [ "$FETCH_DUP" -ne 0 ] || [ "$FETCH_EXTRA" -ne 0 ]; then
		dup_after+=("run $run:$desc duplicated $FETCH_DUP, unexpected $FETCH_EXTRA")
	fi
	c=$(cat "$T"/proxy.log.* 2>/dev/null | grep -c 'cut yes' || true)
	echo "# run $run:$desc exit $RC, $FETCH_DELIVERED files, $((c - cuts)) connections cut"
	cuts=$c
	((run % 3)) || add_mail 10
done
runs=$((run - 1))

if [ ${#lost_after[@]} -eq 0 ]; then
	ok "after each of the $runs cut runs every message is on its server or in the Maildir"
else
	not_ok "after each of the $runs cut runs every message is on its server or in the Maildir" \
		"$(first3 "${lost_after[@]}")"
fi
if [ ${#dup_after[@]} -eq 0 ]; then
	ok "after each of the $runs cut runs no message is in the Maildir twice"
else
	not_ok "after each of the $runs cut runs no message is in the Maildir twice" "$(first3 "${dup_after[@]}")"
fi
if [ ${#bad_rc[@]} -eq 0 ]; then
	ok "every cut run exits 0, 69 or 75 (no hang, crash or permanent error)"
else
	not_ok "every cut run exits 0, 69 or 75 (no hang, crash or permanent error)" "$(first3 "${bad_rc[@]}")"
fi
if [ "$cuts" -ge "$runs" ]; then
	ok "the proxy really cut or stalled $cuts connections"
else
	not_ok "the proxy really cut or stalled $cuts connections" "fewer than $runs"
fi

for name in "${!mbox[@]}"; do : >"$T/plan.$name"; done
corral_run 120 -c "$T/config.yml" fetch
if [ "$RC" -eq 0 ]; then
	ok "the clean run after the cuts exits 0"
else
	not_ok "the clean run after the cuts exits 0" "exit $RC: $(tail -n 3 "$T/err" | tr '\n' ' ')"
fi
total=$(sort -u "$T/expected" | wc -l)
if exactly_once "$T/expected" "$maildir"; then
	ok "runs $runs, messages $total, lost 0, duplicated 0"
else
	not_ok "runs $runs, messages $total, lost $FETCH_LOST, duplicated $FETCH_DUP" \
		"unexpected $FETCH_EXTRA"
fi
kept=$(sort -u "$T/exp.imaps" | wc -l)
kept2=$(sort -u "$T/exp.pop3s" | wc -l)
got="$(dovecot_count alice) $(dovecot_count carol) $(dovecot_count bob Keep) $(dovecot_count bob)"
if [ "$got" = "0 0 $kept $kept2" ]; then
	ok "keep: false mailboxes are empty, keep: true ones hold all their $kept + $kept2 messages"
else
	not_ok "keep: false mailboxes are empty, keep: true ones hold all their $kept + $kept2 messages" \
		"alice, carol, bob Keep, bob INBOX hold $got"
fi
# A cut in the middle of a batch keeps what arrived whole before it: the
# next run fetches only the rest (a big first sync over a flaky link ends).
for name in imap-plain pop-plain; do
	# shellcheck disable=SC2086
	track_add "$T/exp.$name" ${mbox[$name]} 40 5000
	before=$(missing_for "$name")
	echo "down 120000" >"$T/plan.$name"
	corral_run 60 -c "$T/config.yml" fetch "$name"
	after=$(missing_for "$name")
	check "$name cut after 120 kB of a 200 kB batch: exit 75 (got $RC)" test "$RC" -eq 75
	check "$name: the messages that arrived whole before the cut were delivered ($((before - after)) of $before)" \
		test "$after" -lt "$before"
	: >"$T/plan.$name"
	corral_run 60 -v -c "$T/config.yml" fetch "$name"
	check "$name: the next run exits 0 (got $RC)" test "$RC" -eq 0
	check "$name: and fetches only the $after left" grep -qE ": $after new of" "$T/err"
done
cat "$T"/exp.* >"$T/expected"
if exactly_once "$T/expected" "$maildir"; then
	ok "after the batch cuts every message is in the Maildir once"
else
	not_ok "after the batch cuts every message is in the Maildir once" \
		"lost $FETCH_LOST, duplicated $FETCH_DUP, unexpected $FETCH_EXTRA"
fi
dovecot_alive_check
sanitizer_check
finish
