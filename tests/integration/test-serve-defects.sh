#!/usr/bin/env bash
# `corral serve` answers every command, on time, with what is on disk: a
# LIST pattern of many "*a" costs linear time; a parse error after the tag
# is answered with the tag; APPEND answers when dovecot-keywords cannot be
# read; FETCH reads a message another writer renamed meanwhile; RFC822.SIZE
# never comes from the folder's name; LIST RETURN (STATUS) refuses unknown
# items; sequence numbers past EXISTS are refused by every command that
# acts on messages (in SEARCH they match nothing, as in Dovecot); FETCH
# stops when its client is gone. Bounded in time (about 20 s).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"
M=$(serve_maildir "$T/mail")
serve_add "$M" 2
W=$(serve_maildir "$T/mail" "x,W=9")
serve_add "$W" 1
A=$(serve_maildir "$T/mail" "$(printf 'a%.0s' $(seq 40))")
K=$(serve_maildir "$T/mail" "kw")
# dovecot-keywords that cannot be read (a symbolic link to itself: ELOOP, even for root)
ln -s dovecot-keywords "$K/dovecot-keywords"
serve_start "$M"

# session LINE...: logs in, sends each line after the answer to the one
# before; prints every line received, each answer within 5 s or "TIMEOUT".
# A line may hold "\r" and "\n" (sent as is, no CRLF added after it) and
# "{N+}" literals.
session() {
	/usr/bin/python3 - "$SERVE_PORT" "$@" <<'PY'
import socket, sys
port, lines = int(sys.argv[1]), sys.argv[2:]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
f = s.makefile("rb")
f.readline()
s.sendall(b"l LOGIN me sesame\r\n")
f.readline()
for i, line in enumerate(lines):
    tag = "t%d" % i
    raw = line.encode().decode("unicode_escape").encode("latin-1")
    s.sendall(tag.encode() + b" " + raw + (b"" if raw.endswith(b"\n") else b"\r\n"))
    try:
        while True:
            l = f.readline().decode("latin-1")
            if not l:
                print("CLOSED"); sys.exit(0)
            print(l.rstrip("\r\n")[:300])
            if l.startswith(tag + " "):
                break
    except socket.timeout:
        print("TIMEOUT %s" % tag)
        sys.exit(0)
PY
}
has() { grep -q -- "$2" <<<"$1"; }

# LIST: 12 "*a" then "b", against a folder of 40 a's.
pat=$(printf '*a%.0s' $(seq 12))b
out=$(session "LIST \"\" \"$pat\"" "LIST \"\" \"*a*a\"")
echo "$out" | sed 's/^/# /'
check "LIST with 12 \"*a\" answers at once (linear matcher)" has "$out" '^t0 OK'
check "LIST \"*a*a\" still matches the folder of a's" has "$out" '^\* LIST .*"aaaa'

# A parse error once the tag is known: answered with the tag.
out=$(session 'NOOP\r\r\n')
echo "$out" | sed 's/^/# /'
check "a CR before CRLF is answered \"t0 BAD\", not \"* BAD\"" has "$out" '^t0 BAD'

# APPEND with a keyword into a folder whose dovecot-keywords cannot be read.
out=$(session 'APPEND kw ($kw1) {12+}\r\nSubject: x\r\n\r\n')
echo "$out" | sed 's/^/# /'
check "APPEND answers NO when dovecot-keywords cannot be read (no hang)" has "$out" '^t0 NO'

# RFC822.SIZE of a message without ,W= in a folder named "x,W=9".
out=$(session 'SELECT "x,W=9"' 'FETCH 1 (RFC822.SIZE)' 'FETCH 1 (RFC822.SIZE BODY.PEEK[])')
echo "$out" | sed 's/^/# /'
size=$(sed -n 's/^\* 1 FETCH (RFC822.SIZE \([0-9]*\).*/\1/p' <<<"$out" | head -1)
check "RFC822.SIZE comes from the message, not the folder's ,W=9 ($size)" \
	sh -c "[ -n '$size' ] && [ '$size' != 9 ] && grep -q 'BODY\[\] {$size}' <<'EOF'
$out
EOF"

# LIST RETURN (STATUS ...): unknown items are refused; known ones printed.
out=$(session 'LIST "" "INBOX" RETURN (STATUS (MESSAGES FOO))' 'LIST "" "INBOX" RETURN (STATUS (MESSAGES))')
echo "$out" | sed 's/^/# /'
check "LIST RETURN (STATUS (MESSAGES FOO)) is BAD" has "$out" '^t0 BAD'
check "LIST RETURN (STATUS (MESSAGES)) prints (MESSAGES 2)" has "$out" '^\* STATUS "INBOX" (MESSAGES 2)$'

# Sequence numbers past EXISTS (2 messages).
out=$(session 'SELECT INBOX' 'STORE 5 +FLAGS (\\Flagged)' 'COPY 5 INBOX' 'MOVE 5 INBOX' \
	'SEARCH 5' 'FETCH 5 FLAGS' 'UID FETCH 5 FLAGS' 'SEARCH 1:*')
echo "$out" | sed 's/^/# /'
for i in 1:STORE 2:COPY 3:MOVE 5:FETCH; do
	check "${i#*:} 5 with 2 messages is BAD" has "$out" "^t${i%%:*} BAD"
done
# SEARCH, as Dovecot (test-serve-search.sh compares): such a number matches nothing.
check "SEARCH 5 with 2 messages is OK" has "$out" "^t4 OK"
check "UID FETCH of a UID that is not there is OK" has "$out" '^t6 OK'
check "SEARCH 1:* is OK" has "$out" '^t7 OK'
serve_stop

# Big messages for the next two: 120 of 300 KB.
B=$(serve_maildir "$T/big" INBOX)
/usr/bin/python3 - "$B/cur" <<'PY' || setup_fail "writing big messages"
import os, sys
body = ("x" * 99 + "\n") * 3000
for i in range(1, 121):
    with open(os.path.join(sys.argv[1], "%d.M%dP1.big:2," % (1700000000 + i, i)), "w") as f:
        f.write("Subject: big %d\nMessage-ID: <%d@big>\n\n%s" % (i, i, body))
PY
serve_start "$B"

# big_fetch rename|leave: logs in, selects INBOX with a small receive
# buffer, then either (rename) UID FETCHes everything, renames every file
# while the session is blocked sending (Dovecot setting \Flagged) and
# reads the whole answer; or (leave) FETCHes BODY[] (setting \Seen) of every
# other message, reads a little and resets the connection.
big_fetch() {
	/usr/bin/python3 - "$SERVE_PORT" "$B/cur" "$1" <<'PY'
import os, socket, struct, sys, time
port, cur, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
f = s.makefile("rb")
f.readline()
s.sendall(b"l LOGIN me sesame\r\nsel SELECT INBOX\r\n")
while not f.readline().startswith(b"sel "):
    pass
if mode == "leave":
    s.sendall(b"f FETCH " + ",".join(str(i) for i in range(1, 121, 2)).encode() + b" (BODY[])\r\n")
    time.sleep(0.5)
    f.read(1000)
    # A reset, as when a client is killed with unread data.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    sys.exit(0)
s.sendall(b"f UID FETCH 1:* (BODY.PEEK[])\r\n")
time.sleep(1)  # the server is blocked on a full socket
for n in sorted(os.listdir(cur)):
    if n.endswith(":2,"):
        os.rename(os.path.join(cur, n), os.path.join(cur, n + "F"))
count = 0
for l in f:
    count += l.startswith(b"* ") and b" FETCH " in l
    if l.startswith(b"f "):
        print("tagged", l.decode().strip())
        break
print("fetched", count)
PY
}

big_fetch rename >"$T/renamed.out" 2>&1
sed 's/^/# /' "$T/renamed.out"
check "UID FETCH answers OK although another writer renamed the files meanwhile" \
	grep -q '^tagged f OK' "$T/renamed.out"
check "UID FETCH sends all 120 messages" grep -q '^fetched 120$' "$T/renamed.out"

# A client that goes away in the middle of a FETCH: the session stops
# instead of reading (and setting \Seen on) the rest.
big_fetch leave
sleep 2
seen=$(find "$B/cur" -name '*:2,*S*' | wc -l)
check "FETCH stops when its client is gone ($seen of 60 messages were read and set \\Seen)" \
	test "$seen" -lt 50
serve_stop
serve_sanitizer_check
finish
