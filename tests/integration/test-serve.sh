#!/usr/bin/env bash
# `corral serve` with a real client, Python's imaplib (login, LIST, SELECT,
# FETCH, STORE, EXPUNGE, APPEND), and Dovecot taking turns with it on one
# Maildir: the UIDs, UIDVALIDITY, flags and keywords one gives are the ones
# the other shows. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
need_py imaplib
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# alice's Maildir, as Dovecot keeps it, with a subfolder and a folder whose
# name is not ASCII (modified UTF-7 on disk, as Dovecot writes it).
M=$(dovecot_maildir alice)
dovecot_add_messages alice INBOX 3 >/dev/null
dovecot_add_messages alice Work 2 >/dev/null
dovecot_add_messages alice 'Entw&APw-rfe' 1 >/dev/null

# Dovecot first: it gives the UIDs.
imap() { # PORT USER PASS SCRIPT: runs SCRIPT with m logged in; prints what it prints
	python3 - "$@" <<'PY'
import imaplib, sys
port, user, pw, script = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
m = imaplib.IMAP4("127.0.0.1", int(port))
m.login(user, pw)
exec(script)
m.logout()
PY
}
uids_script='
typ, d = m.select("INBOX", readonly=True)
v = m.untagged_responses.get("UIDVALIDITY", [b"?"])[0].decode()
typ, d = m.uid("SEARCH", None, "ALL")
print(v, d[0].decode())'
before=$(imap "$DOVECOT_IMAP_PORT" alice "$DOVECOT_PASS_alice" "$uids_script")
check "Dovecot gave UIDs 1 2 3 ($before)" sh -c "echo '$before' | grep -q ' 1 2 3\$'"
# A delivery neither has seen yet; a second one comes later with an
# earlier name, so that corral's UIDs (in the order it saw them) differ
# from what Dovecot would give on its own (in name order).
one=$(find "$M/cur" "$M/new" -type f | head -1)
late() { # NAME SUBJECT
	sed "s/^Subject: .*/Subject: $2/" "$one" >"$M/new/$1"
	chown "$(stat -c %u:%g "$M/cur")" "$M/new/$1"
}
late 1800000002.M2P1.late "the later name"

hash=$(printf 'sesame\n' | "$CORRAL" passwd)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/config.yml" <<EOF
maildir: $M
state: $T/state
server:
  listen: [127.0.0.1:$port]
  users:
    me: {password_hash: "$hash"}
EOF
chmod 600 "$T/config.yml"
"$CORRAL" -c "$T/config.yml" serve >"$T/serve.out" 2>"$T/serve.log" </dev/null &
SPID=$!
check "corral serve listens" wait_until 10 grep -q "listening on 127.0.0.1:$port" "$T/serve.log"

out=$(python3 - "$port" <<'PY' 2>&1
import imaplib, sys, time
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
print("caps", " ".join(sorted(c for c in m.capabilities)))
t0 = time.time()
try:
    m.login("me", "wrong")
    print("wrong-login ok")
except imaplib.IMAP4.error as e:
    print("wrong-login refused %.1f" % (time.time() - t0), e)
m.login("me", "sesame")
typ, data = m.list()
print("list", sorted(d.decode() for d in data))
typ, data = m.select("INBOX", readonly=True)
print("exists", data[0].decode())
print("uidvalidity", m.untagged_responses.get("UIDVALIDITY", [b"?"])[0].decode())
typ, data = m.uid("SEARCH", None, "ALL")
print("uids", data[0].decode())
typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
sizes_ok = True
n = 0
for part in data:
    if isinstance(part, tuple):
        n += 1
        head, body = part
        size = int(head.split(b"RFC822.SIZE ")[1].split()[0])
        sizes_ok &= size == len(body) and b"\r\n" in body and b"\n" not in body.replace(b"\r\n", b"")
print("fetched", n, "sizes-crlf", sizes_ok)
typ, data = m.fetch("2", "(BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.10>)")
hdr = data[0][1]
print("header-ends-blank", hdr.endswith(b"\r\n\r\n"), "partial-len", len(data[1][1]) if len(data) > 1 else -1)
typ, data = m.status("Work", "(MESSAGES UIDNEXT)")
print("status", data[0].decode())
typ, data = m.select("Entw&APw-rfe", readonly=True)
print("utf7-exists", data[0].decode())
typ, data = m.select("../../etc", readonly=True)
print("escape", typ)
typ, data = m.select("Nope", readonly=True)
print("nonexistent", typ)
m.logout()
PY
)
echo "$out" >"$T/imap.out"
sed 's/^/# /' "$T/imap.out"
got() { grep -qE "$1" "$T/imap.out"; }
check "CAPABILITY says IMAP4rev1" got '^caps .*IMAP4REV1'
check "a wrong password is refused, after a delay" \
	got '^wrong-login refused (1|2)\.[0-9] .*AUTHENTICATIONFAILED'
check "LIST shows INBOX, Work and the modified UTF-7 folder" \
	got '^list .*"INBOX".*"Work"|^list .*"Entw&APw-rfe".*"INBOX".*"Work"'
check "LIST: the modified UTF-7 name as on disk" got '^list .*"Entw&APw-rfe"'
check "SELECT INBOX: 4 messages" got '^exists 4$'
after=$(awk '/^uidvalidity/ {v=$2} /^uids/ {sub(/^uids /, ""); u=$0} END {print v, u}' "$T/imap.out")
check "the same UIDVALIDITY as Dovecot, its UIDs kept, the new one 4 ($before -> $after)" \
	test "$after" = "${before% 1 2 3} 1 2 3 4"
check "FETCH 1:*: every message, RFC822.SIZE = the CRLF body sent" got '^fetched 4 sizes-crlf True$'
check "BODY.PEEK[HEADER] ends with its blank line; a partial <0.10> is 10 bytes" \
	got '^header-ends-blank True partial-len 10$'
check "STATUS Work" got '^status "?Work"? \(MESSAGES 2 UIDNEXT 3\)$'
check "a modified UTF-7 folder opens" got '^utf7-exists 1$'
check "a name that leaves the Maildir is refused" got '^escape NO$'
check "a folder that does not exist is NO" got '^nonexistent NO$'

# The earlier name comes second: corral gives it 5.
late 1800000001.M1P1.early "the earlier name"
subject5='
typ, d = m.uid("FETCH", "5", "(BODY.PEEK[HEADER])")
print([l for l in d[0][1].decode().splitlines() if l.startswith("Subject:")][0])'
mine=$(imap "$port" me sesame "$uids_script
$subject5")
check "corral: UID 5 is the message it saw last, the earlier name ($mine)" \
	test "$mine" = "$(printf '%s\nSubject: the earlier name' "${before% 1 2 3} 1 2 3 4 5")"

# Dovecot again: the UIDs corral gave are Dovecot's too (on its own it
# would have given the earlier name 4).
chown -R "$(stat -c %u:%g "$M/cur")" "$M"
again=$(imap "$DOVECOT_IMAP_PORT" alice "$DOVECOT_PASS_alice" "$uids_script
$subject5")
check "Dovecot after corral: the same UIDVALIDITY, UIDs and UID 5 ($again)" test "$again" = "$mine"
# Flags: STORE, \Seen by reading, EXPUNGE; then Dovecot sees the same.
w=$(imap "$port" me sesame '
typ, d = m.select("INBOX")
print("rw", "READ-WRITE" in m.untagged_responses)
typ, d = m.uid("STORE", "1", "+FLAGS", "(\\Flagged $Important)")
print("store", d[0].decode())
typ, d = m.uid("FETCH", "2", "(BODY[])")
print("seen", d[0][0].decode().split("FLAGS")[1] if b"FLAGS" in d[0][0] else d[-1])
typ, d = m.uid("STORE", "3", "+FLAGS.SILENT", "(\\Deleted)")
print("silent", typ, d)
typ, d = m.expunge()
print("expunge", d)
typ, d = m.uid("STORE", "4", "FLAGS", "(\\Answered)")
print("replace", d[0].decode())
typ, d = m.uid("SEARCH", None, "ALL")
print("left", d[0].decode())')
echo "$w" >"$T/w.out"
sed 's/^/# /' "$T/w.out"
gw() { grep -qE "$1" "$T/w.out"; }
check "SELECT opens read-write" gw "^rw True$"
check "UID STORE +FLAGS: the answer has the new flags and the keyword" \
	gw '^store 1 \(FLAGS \(\\Flagged \$Important( \\Recent)?\) UID 1\)'
check "FETCH BODY[] sets \\Seen and says so" gw '^seen .*\\Seen'
check "+FLAGS.SILENT: no untagged answer" gw "^silent OK \[None\]"
check "EXPUNGE removes the \\Deleted message: * 3 EXPUNGE" gw "^expunge \[b'3'\]"
check "FLAGS replaces: \\Answered only" gw '^replace 3 \(FLAGS \(\\Answered( \\Recent)?\) UID 4\)'
check "UIDs 1 2 4 5 are left" gw '^left 1 2 4 5$'
check "on disk: the flags are the letters of the names (F and a keyword, S, R)" \
	sh -c "ls '$M/cur' | grep -q ':2,Fa\$' && ls '$M/cur' | grep -q ':2,S\$' && ls '$M/cur' | grep -q ':2,R\$'"
check "dovecot-keywords names the keyword" grep -qx '0 \$Important' "$M/dovecot-keywords"
chown -R "$(stat -c %u:%g "$M/cur")" "$M"
dv=$(imap "$DOVECOT_IMAP_PORT" alice "$DOVECOT_PASS_alice" '
import re
typ, d = m.select("INBOX", readonly=True)
typ, d = m.uid("FETCH", "1:*", "(FLAGS)")
out = []
for x in d:
    u = re.search(rb"UID ([0-9]+)", x).group(1).decode()
    fl = re.search(rb"FLAGS [(]([^)]*)[)]", x).group(1).decode().split()
    out.append(u + ":" + ",".join(sorted(f for f in fl if f != "\\Recent")))
print(" ".join(out))')
check "Dovecot sees the flags corral stored, and the expunge ($dv)" \
	test "$dv" = '1:$Important,\Flagged 2:\Seen 4:\Answered 5:'

# APPEND: into cur/ with its flags and date, LF line ends, the UID named.
ap=$(imap "$port" me sesame '
import time
msg = b"From: a@example.org\r\nSubject: appended\r\nMessage-ID: <appended@corral.test>\r\n\r\nline one\r\nline two\r\n"
typ, d = m.append("Work", "(\\Seen $Label)", imaplib.Time2Internaldate(1700000000), msg)
print("append", typ, d[0].decode())
typ, d = m.append("Nowhere", None, None, msg)
print("trycreate", typ, d[0].decode())
typ, d = m.select("Work")
typ, d = m.append("Work", None, None, msg)
print("exists-after", m.untagged_responses.get("EXISTS"))')
echo "$ap" >"$T/ap.out"
sed 's/^/# /' "$T/ap.out"
ga() { grep -qE "$1" "$T/ap.out"; }
check "APPEND answers APPENDUID with the folder's UIDVALIDITY and UID 3" ga '^append OK \[APPENDUID [0-9]+ 3\]'
check "APPEND to a folder that does not exist: NO [TRYCREATE]" ga '^trycreate NO \[TRYCREATE\]'
check "APPEND into the selected folder: EXISTS says so" ga "^exists-after \[b'3', b'4'\]"
# The first APPEND (with flags and a date); the second has neither.
af=$(grep -l 'Subject: appended' "$M/.Work/cur/"*:2,Sa 2>/dev/null | head -1)
check "the appended file: in cur/ with :2,S and a keyword letter" sh -c "echo '$af' | grep -qE ':2,Sa\$'"
check "the appended file has LF line ends" sh -c "test -n '$af' && ! grep -q \$'\\r' '$af'"
check "the appended file's mtime is the date given (INTERNALDATE)" test "$(stat -c %Y "$af" 2>/dev/null)" = 1700000000
# 92 bytes with LF line ends, 98 with CRLF (RFC822.SIZE).
check "the appended file's name carries S= and W= (,S=92,W=98)" sh -c "echo '$af' | grep -q ',S=92,W=98:2,'"
chown -R "$(stat -c %u:%g "$M/cur")" "$M"
dva=$(imap "$DOVECOT_IMAP_PORT" alice "$DOVECOT_PASS_alice" '
typ, d = m.select("Work", readonly=True)
typ, d = m.uid("SEARCH", None, "HEADER", "Message-ID", "appended@corral.test")
print(d[0].decode())')
check "Dovecot finds the appended messages under the UIDs corral gave (3 4: $dva)" test "$dva" = "3 4"

kill "$SPID"
wait_until 5 sh -c "! kill -0 $SPID 2>/dev/null"
check "corral serve stops on SIGTERM" sh -c "! kill -0 $SPID 2>/dev/null"
SPID=
check "corral serve's log has no sanitizer report" \
	sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/serve.log'"
finish
