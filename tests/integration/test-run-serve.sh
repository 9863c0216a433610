#!/usr/bin/env bash
# `corral run` with server: in the config starts the IMAP server beside the
# fetches: mail fetched from a real Dovecot is served at once (a client in
# IDLE hears it); the server holds no remote password; killed, it is
# started again; SIGHUP restarts it with the new config; SIGTERM stops
# both. With listen: [] only systemd's sockets serve (socket activation,
# here through a few lines of Python doing what systemd does: bind, then
# exec corral with the socket as fd 3, LISTEN_FDS=1, LISTEN_PID, and
# LISTEN_FDNAMES). Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
DPID=
APID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; [ -n "$APID" ] && kill "$APID" 2>/dev/null; pkill -9 -f "$T/config" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
need_py socket
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

M=$T/Maildir
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
hash=$(printf 'sesame\n' | "$CORRAL" passwd)
hash2=$(printf 'open\n' | "$CORRAL" passwd)
write_config() { # FILE LISTEN EXTRA-USER-LINE
	fetch_account work alice imap implicit "$DOVECOT_IMAPS_PORT" false "poll: 2s" |
		fetch_config "$1" "$M" "$T/state" "server:" "  listen: $2" "  users:" \
			"    me: {password_hash: \"$hash\"}" ${3:+"$3"}
}
write_config "$T/config.yml" "[127.0.0.1:$port]"
dovecot_add_messages alice INBOX 3 >/dev/null

# imap PORT USER PASS SCRIPT: a client logged in as m; prints what SCRIPT prints.
imap() {
	python3 - "$@" <<'PY' 2>&1
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
exec(sys.argv[4])
m.logout()
PY
}
messages() { imap "$port" me sesame 'print(m.status("INBOX", "(MESSAGES)")[1][0].decode())' | sed -n 's/.*MESSAGES \([0-9]*\).*/\1/p'; }
has_messages() { [ "$(messages)" = "$1" ]; }
serve_pid() { sed -n 's/.*IMAP server started (pid \([0-9]*\)).*/\1/p' "$T/run.log" | tail -1; }

# The test's own environment holds the Dovecot passwords: not corral's.
env -u DOVECOT_PASS_alice -u DOVECOT_PASS_bob -u DOVECOT_PASS_carol \
	"$CORRAL" -c "$T/config.yml" run >"$T/run.out" 2>"$T/run.log" </dev/null &
DPID=$!
check "corral run starts the IMAP server" wait_until 10 grep -q "listening on 127.0.0.1:$port" "$T/run.log"
check "the fetched messages are served (3)" wait_until 15 has_messages 3
pid1=$(serve_pid)
check "the server is a child of the daemon" test "$(ps -o ppid= -p "$pid1" 2>/dev/null | tr -d ' ')" = "$DPID"

# A client in IDLE on corral hears a message that arrives at Dovecot.
python3 - "$port" >"$T/idle.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
f.readline()
s.sendall(b'a LOGIN me sesame\r\nb SELECT INBOX\r\n')
while not f.readline().startswith(b"b OK"):
    pass
s.sendall(b"c IDLE\r\n")
f.readline()
print("idling", flush=True)
t0 = time.time()
while True:
    line = f.readline().decode().strip()
    if line.endswith("EXISTS"):
        print("pushed", line, "%.1f" % (time.time() - t0), flush=True)
        break
s.sendall(b"DONE\r\n")
PY
IPID=$!
wait_until 10 grep -q idling "$T/idle.out"
dovecot_add_messages alice INBOX 1 >/dev/null
check "a client in IDLE hears the message corral run fetched" wait_until 15 grep -q '^pushed \* 4 EXISTS' "$T/idle.out"
sed 's/^/# /' "$T/idle.out"
kill "$IPID" 2>/dev/null

# No remote password in the server's memory (it read the config itself,
# then dropped the accounts' credentials).
cat >"$T/memscan.py" <<'PY'
import re, sys
pid, secret = sys.argv[1], sys.argv[2].encode()
found = False
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        if not m or "[vvar]" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > (256 << 20):
            continue  # ASan's shadow and reserves: no heap there
        for off in range(lo, hi, 1 << 20):
            try:
                mem.seek(off)
                found |= secret in mem.read(min((1 << 20) + len(secret), hi - off))
            except OSError:
                break
sys.exit(0 if found else 1)
PY
check "the scan finds the password in the daemon's memory (it fetches with it)" \
	python3 "$T/memscan.py" "$DPID" "$DOVECOT_PASS_alice"
check "the server's memory holds no account password" \
	sh -c "! python3 '$T/memscan.py' '$pid1' '$DOVECOT_PASS_alice'"

# Killed: started again.
kill -9 "$pid1"
check "a killed server is started again" wait_until 10 sh -c "grep -c 'IMAP server started' '$T/run.log' | grep -qx 2"
check "the daemon says why" grep -q "IMAP server was killed by signal 9" "$T/run.log"
check "the new server serves" wait_until 10 has_messages 4

# SIGHUP: a new user, a new server.
write_config "$T/config.yml" "[127.0.0.1:$port]" "    you: {password_hash: \"$hash2\"}"
kill -HUP "$DPID"
check "after SIGHUP the server starts again with the new config" \
	wait_until 10 sh -c "grep -c 'IMAP server started' '$T/run.log' | grep -qx 3"
you_in() { imap "$port" you open 'print("in")' >"$T/you.out"; grep -qx in "$T/you.out"; }
check "the new user logs in" wait_until 10 you_in
sed 's/^/# /' "$T/you.out"
grep -q '^in$' "$T/you.out" || tail -5 "$T/run.log" | sed 's/^/# /'

pid3=$(serve_pid)
kill "$DPID"
check "SIGTERM stops the daemon" wait_until 25 sh -c "! kill -0 $DPID 2>/dev/null"
check "and its server" wait_until 5 sh -c "! kill -0 $pid3 2>/dev/null"
DPID=

# listen: []: corral run starts no server; only systemd's sockets serve.
write_config "$T/config2.yml" "[]"
"$CORRAL" -c "$T/config2.yml" run >"$T/run2.out" 2>"$T/run2.log" </dev/null &
DPID=$!
wait_until 10 grep -q "running:" "$T/run2.log"
sleep 1
check "with listen: [] corral run starts no server" sh -c "! grep -q 'IMAP server started' '$T/run2.log'"
kill "$DPID"
wait_until 25 sh -c "! kill -0 $DPID 2>/dev/null"
DPID=
"$CORRAL" -c "$T/config2.yml" serve >/dev/null 2>"$T/serve2.err" </dev/null
rc=$?
check "corral serve with listen: [] and no sockets from systemd: an error (rc $rc)" \
	sh -c "[ $rc -ne 0 ] && grep -q 'socket activation only' '$T/serve2.err'"
port2=$(free_port)
# The socket is bound and listening before corral runs, as systemd's is.
python3 - "$port2" "$CORRAL" -c "$T/config2.yml" serve >"$T/act.out" 2>"$T/act.log" </dev/null <<'PY' &
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("bound", flush=True)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="imap")
os.execv(sys.argv[2], sys.argv[2:])
PY
APID=$!
wait_until 10 grep -q "^bound" "$T/act.out"
activated() { imap "$port2" me sesame 'print(m.select("INBOX")[1][0].decode())' | grep -qx 4; }
check "socket activation: a client connects, logs in and sees the messages" wait_until 10 activated
kill "$APID" 2>/dev/null
wait "$APID" 2>/dev/null
APID=
check "no sanitizer report" sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/run.log' '$T/act.log'"
finish
