#!/bin/bash
# bench/smtp.sh: re-inject a mailbox into an SMTP relay with corral and with
# fetchmail, side by side, in one run.
#
#   bench/smtp.sh [--quick] [N]
#
# Generates N realistic messages (default 2000, about 25 MB; --quick: 500)
# with bench/gen-messages.py into a throwaway Dovecot on 127.0.0.1 (started
# with tests/integration/lib-dovecot.sh), then fetches all of them, keeping
# them on the server, and hands every one to an SMTP sink on 127.0.0.1, for
# the envelope recipient local@example.org:
#
#   corral      `deliver: smtp`, the smtp: relay, keep: true, POP3 and IMAP
#   fetchmail   its own SMTP forwarding: smtphost, smtpname, keep, fetchall,
#               no mda, POP3 and IMAP
#
# Both run without TLS, as the unprivileged user corralbench (created when
# missing; fetchmail only warns as root, but nobody runs it so), with a fresh
# state (corral's state dir, fetchmail's .fetchids) and a fresh sink per run.
# A row whose sink did not store N messages, or not the N Message-IDs of the
# mailbox, gets a warning.
#
# The sinks:
#   fast       a small threaded Python sink written below: reads DATA in
#              64 KB chunks, stores each message as a file, then answers 250.
#   quickack   the same, but it asks the kernel for an immediate ACK before
#              every read (TCP_QUICKACK): a diagnostic for clients that write
#              many small segments without TCP_NODELAY (Nagle against the
#              receiver's delayed ACK).
#   aiosmtpd   tests/integration/smtpsink.py (Debian's python3-aiosmtpd), the
#              sink of the integration tests: a real SMTP server, but slow.
# Each sink is first measured alone, fed the same N messages over one
# connection by Python's smtplib: that is the ceiling any client can reach.
# The aiosmtpd rows (POP3 only) run last and are skipped when the run has
# already used its time budget (about 6 minutes for 2000 messages).
#
# Needs root (Dovecot, useradd). Installs what is missing through
# contrib/install-deps.sh bench. Uses $CORRAL (default ./corral, built with
# make when missing). KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

N=2000
for a in "$@"; do
	case $a in
	--quick) N=500 ;;
	[0-9]*) N=$a ;;
	*)
		echo "usage: $0 [--quick] [N]" >&2
		exit 64
		;;
	esac
done
[ "$(id -u)" = 0 ] || {
	echo "$0: needs root (it starts Dovecot and runs the tools as corralbench)" >&2
	exit 77
}
CORRAL=${CORRAL:-./corral}
# Run as root here (the test servers need it): corral run and serve refuse
# root unless told, the other commands warn (corral(1)).
export CORRAL_ALLOW_ROOT=1
case $CORRAL in /*) ;; *) CORRAL=$top/$CORRAL ;; esac
BENCH_USER=corralbench
PY=/usr/bin/python3 # Debian's, with python3-aiosmtpd
RCPT=local@example.org
# One run may take this long (fetchmail needs ~50 ms a message here).
RUN_TIMEOUT=$((30 + N / 8))
# The optional aiosmtpd rows start only before this many seconds.
BUDGET=$((60 + N * 3 / 20))

contrib/install-deps.sh bench >/dev/null
[ -x "$CORRAL" ] || make -s
getent passwd "$BENCH_USER" >/dev/null ||
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$BENCH_USER"

work=$(mktemp -d "${TMPDIR:-/tmp}/corral-bench-smtp.XXXXXX")
chmod 755 "$work"
# shellcheck source=../tests/integration/lib-dovecot.sh
. tests/integration/lib-dovecot.sh
SINK_PID=
stop_sink() {
	if [ -n "$SINK_PID" ]; then
		kill "$SINK_PID" 2>/dev/null || true
		wait "$SINK_PID" 2>/dev/null || true
		SINK_PID=
	fi
}
cleanup() {
	stop_sink
	dovecot_cleanup
	if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The binary may live where the bench user cannot read it.
mkdir -p "$work/bin"
cp "$CORRAL" "$work/bin/corral"
chmod 755 "$work/bin" "$work/bin/corral"

dovecot_setup "$work/dovecot" >/dev/null 2>&1
dovecot_start
USER_=alice
# shellcheck disable=SC2154 # set by dovecot_setup
PASS=$DOVECOT_PASS_alice

echo "generating $N messages..."
python3 bench/gen-messages.py "$N" "$work/msgs" >/dev/null
dovecot_add_files "$USER_" INBOX "$work"/msgs/*.eml
MB=$(du -sm "$work/msgs" | cut -f1)

# Dovecot indexes the folder, computes POP3 sizes and (at the first POP3 QUIT)
# marks every message seen: make that happen now, not in the first tool's run.
echo "warming Dovecot up..."
dovecot_warm_up "$USER_"

# What every sink must end up with: each Message-ID once.
msgids() { # DIR
	find "$1" -maxdepth 1 -name '*.eml' -print0 |
		xargs -0 -r grep -h -i -m1 '^message-id:' | tr -d '\r' | sort | md5sum
}
WANT_IDS=$(msgids "$work/msgs")

# ---- the sinks ----

cat >"$work/fastsink.py" <<'EOF'
"""fastsink.py PORT DIR [--quickack]: stores each message as DIR/N.eml, then 250."""
import os, socket, sys, threading

def serve(conn, d, counter, lock, quickack):
    buf = bytearray()

    def fill():
        if quickack:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = conn.recv(65536)  # under malloc's mmap threshold
        buf.extend(chunk)
        return len(chunk) > 0

    def line():
        while True:
            i = buf.find(b"\n")
            if i >= 0:
                out = bytes(buf[:i + 1])
                del buf[:i + 1]
                return out
            if not fill():
                return None

    def data():
        start = 0
        while True:
            if buf.startswith(b".\r\n"):
                del buf[:3]
                return b""
            i = buf.find(b"\r\n.\r\n", max(start - 4, 0))
            if i >= 0:
                body = bytes(buf[:i + 2])
                del buf[:i + 5]
                return body
            start = len(buf)
            if not fill():
                return None

    conn.sendall(b"220 sink.test ESMTP fastsink\r\n")
    while True:
        cmd = line()
        if cmd is None:
            break
        verb = cmd[:4].upper()
        if verb == b"EHLO":
            conn.sendall(b"250-sink.test\r\n250-SIZE 67108864\r\n250-8BITMIME\r\n250 HELP\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            body = data()
            if body is None:
                break
            body = body.replace(b"\r\n..", b"\r\n.")
            if body.startswith(b".."):
                body = body[1:]
            with lock:
                counter[0] += 1
                n = counter[0]
            with open(os.path.join(d, "%d.eml" % n), "wb") as f:
                f.write(body)
            conn.sendall(b"250 2.0.0 OK queued as %d\r\n" % n)
        elif verb == b"QUIT":
            conn.sendall(b"221 2.0.0 Bye\r\n")
            break
        elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            conn.sendall(b"250 2.0.0 OK\r\n")
        else:
            conn.sendall(b"502 5.5.2 not implemented\r\n")
    conn.close()

port, d = int(sys.argv[1]), sys.argv[2]
quickack = "--quickack" in sys.argv[3:]
os.makedirs(d, exist_ok=True)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
print("ready", flush=True)
counter, lock = [0], threading.Lock()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c, d, counter, lock, quickack), daemon=True).start()
EOF

cat >"$work/client.py" <<'EOF'
"""client.py PORT RCPT FILE...: every file over one SMTP connection, as fast as it goes."""
import smtplib, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo("bench")
for name in sys.argv[3:]:
    with open(name, "rb") as f:
        s.sendmail("bench@example.com", [rcpt], f.read())
s.quit()
EOF

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_sink() { # KIND DIR (sets SINK_PID, SINK_PORT)
	local _
	SINK_PORT=$(free_port)
	mkdir -p "$2"
	case $1 in
	fast) "$PY" "$work/fastsink.py" "$SINK_PORT" "$2" >"$2.log" 2>&1 & ;;
	quickack) "$PY" "$work/fastsink.py" "$SINK_PORT" "$2" --quickack >"$2.log" 2>&1 & ;;
	aiosmtpd) "$PY" tests/integration/smtpsink.py "$SINK_PORT" "$2" >"$2.log" 2>&1 & ;;
	esac
	SINK_PID=$!
	for _ in $(seq 1 100); do
		grep -q '^ready' "$2.log" && return 0
		sleep 0.1
	done
	echo "the $1 sink did not start:" >&2
	cat "$2.log" >&2
	exit 1
}

count() { find "$1" -maxdepth 1 -name '*.eml' | wc -l; }

# ---- configurations ----

port_of() { # PROTO
	case $1 in
	pop3) echo "$DOVECOT_POP3_PORT" ;;
	imap) echo "$DOVECOT_IMAP_PORT" ;;
	esac
}

conf_corral() { # DIR PROTO
	local d=$1
	cat >"$d/config.yml" <<YML
maildir: $d/Maildir
state: $d/state
smtp:
  host: 127.0.0.1
  port: $SINK_PORT
  tls: off
  to: $RCPT
accounts:
  bench:
    protocol: $2
    host: 127.0.0.1
    port: $(port_of "$2")
    tls: off
    allow_plaintext: true
    user: $USER_
    password: $PASS
    keep: true
    deliver: smtp
YML
	echo "$work/bin/corral -q -c $d/config.yml fetch"
}

conf_fetchmail() { # DIR PROTO
	local d=$1
	mkdir -p "$d/home"
	cat >"$d/fetchmailrc" <<RC
set no syslog
set no bouncemail
poll 127.0.0.1 with proto $(echo "$2" | tr '[:lower:]' '[:upper:]') port $(port_of "$2")
  user "$USER_" there with password "$PASS" is "$BENCH_USER" here
  keep fetchall sslproto ''
  smtphost 127.0.0.1/$SINK_PORT
  smtpname $RCPT
RC
	echo "fetchmail -s -f $d/fetchmailrc"
}

# ---- running ----

as_bench() { # COMMAND... (env HOME etc. for the bench user)
	timeout -k 5 "$RUN_TIMEOUT" setpriv --reuid="$BENCH_USER" --regid="$BENCH_USER" \
		--clear-groups env -i PATH=/usr/bin:/bin HOME="$home" USER="$BENCH_USER" \
		LOGNAME="$BENCH_USER" FETCHMAILHOME="$home/home" "$@"
}

secs() { awk -v t="$1" 'BEGIN { printf "%.2f", t / 1e9 }'; }

rows=()
declare -A t_corral
# A row: "SINK|TOOL|PROTO|NANOSECONDS|CPU SECONDS|NOTE".
check_sink() { # DIR RC (prints the note)
	local got note=""
	got=$(count "$1")
	case $2 in
	0) ;;
	124 | 137) note="timed out after ${RUN_TIMEOUT}s" ;;
	*) note="exit $2" ;;
	esac
	if [ "$got" -ne "$N" ]; then
		note="${note:+$note; }WARNING: the sink stored $got of $N"
	elif [ "$(msgids "$1")" != "$WANT_IDS" ]; then
		note="${note:+$note; }WARNING: not the mailbox's Message-IDs"
	fi
	echo "$note"
}

sink_alone() { # SINK
	local d=$work/run/alone-$1 start end rc=0 note
	mkdir -p "$d"
	start_sink "$1" "$d/sink"
	start=$(date +%s%N)
	timeout -k 5 "$RUN_TIMEOUT" /usr/bin/time -f '%U %S' -o "$d/cpu" \
		"$PY" "$work/client.py" "$SINK_PORT" "$RCPT" "$work"/msgs/*.eml >"$d/out" 2>&1 || rc=$?
	end=$(date +%s%N)
	stop_sink
	note=$(check_sink "$d/sink" "$rc")
	rows+=("$1|sink alone (smtplib)|-|$((end - start))|$(cpu "$d/cpu")|$note")
	printf '  %-9s %-22s %-5s %7s s\n' "$1" "sink alone (smtplib)" - "$(secs $((end - start)))"
	[ -n "${KEEP:-}" ] || rm -rf "$d"
}

cpu() { tail -n 1 "$1" 2>/dev/null | awk '{ printf "%.2f", $1 + $2 }'; }

run() { # SINK TOOL PROTO
	local sink=$1 tool=$2 proto=$3 d cmd start end rc=0 note
	d=$work/run/$sink-$tool-$proto
	rm -rf "$d"
	mkdir -p "$d"
	start_sink "$sink" "$d/sink"
	cmd=$("conf_$tool" "$d" "$proto")
	chown -R "$BENCH_USER:" "$d"
	chmod -R go-rwx "$d"
	chmod 755 "$d"
	chown -R root: "$d/sink" # the sink writes there, as root
	home=$d
	sync
	start=$(date +%s%N)
	# shellcheck disable=SC2086
	as_bench /usr/bin/time -f '%U %S' -o "$d/cpu" $cmd >"$d/out" 2>&1 || rc=$?
	end=$(date +%s%N)
	stop_sink
	note=$(check_sink "$d/sink" "$rc")
	[ -z "$note" ] || sed 's/^/#   /' "$d/out" | tail -n 5 >&2
	[ "$tool" = corral ] && t_corral[$sink-$proto]=$((end - start))
	rows+=("$sink|$tool|$proto|$((end - start))|$(cpu "$d/cpu")|$note")
	printf '  %-9s %-22s %-5s %7s s\n' "$sink" "$tool" "$proto" "$(secs $((end - start)))"
	[ -n "${KEEP:-}" ] || rm -rf "$d"
}

echo "re-injecting $N messages ($MB MB) into an SMTP sink on 127.0.0.1:"
sink_alone fast
sink_alone aiosmtpd
for proto in pop3 imap; do
	run fast corral "$proto"
	run fast fetchmail "$proto"
done
run quickack corral pop3
run quickack fetchmail pop3
if [ "$SECONDS" -lt "$BUDGET" ]; then
	run aiosmtpd corral pop3
	run aiosmtpd fetchmail pop3
else
	echo "  (aiosmtpd rows skipped: ${SECONDS}s used of a ${BUDGET}s budget)"
fi

echo
printf '%-9s %-22s %-5s %8s %8s %8s %14s  %s\n' sink "tool ($N msgs)" proto seconds msgs/s \
	"CPU s" "corral faster" notes
for r in "${rows[@]}"; do
	IFS='|' read -r sink tool proto ns cpus note <<<"$r"
	ratio=-
	if [ "$tool" = fetchmail ] && [ -n "${t_corral[$sink-$proto]:-}" ]; then
		ratio=$(awk -v a="${t_corral[$sink-$proto]}" -v b="$ns" 'BEGIN { printf "%.1fx", b / a }')
	fi
	printf '%-9s %-22s %-5s %8s %8s %8s %14s  %s\n' "$sink" "$tool" "$proto" "$(secs "$ns")" \
		"$(awk -v n="$N" -v t="$ns" 'BEGIN { printf "%.0f", n / (t / 1e9) }')" "${cpus:--}" \
		"$ratio" "$note"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
