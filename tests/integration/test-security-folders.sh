#!/usr/bin/env bash
# No folder name leaves the Maildir root (SECURITY.md): from an IMAP client
# (CREATE, RENAME, SELECT, EXAMINE, STATUS, APPEND, COPY, MOVE, DELETE with
# "..", "/", absolute names, "~"), from a symbolic link inside the Maildir
# (a folder, a folder's tmp/, and a message file that point outside: never
# opened, read or written by corral serve or by a delivery, the folder link
# not even listed) and from a rule's capture ('$1' holding "../.."). After
# all of it, nothing outside the Maildir was created or changed. No
# Dovecot; bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-serve.sh"
M=$(serve_maildir "$T/top/Maildir")
serve_maildir "$M" Sent >/dev/null
serve_add "$M" 3
# Outside the Maildir: a folder and a file a link inside points to.
O=$T/top/outside
mkdir -p "$O/cur" "$O/new" "$O/tmp"
printf 'From: x@example.org\nSubject: OUTSIDE-FOLDER-MESSAGE\n\nbody\n' >"$O/cur/1.M1.out:2,S"
printf 'OUTSIDE-FILE-SECRET\n' >"$T/top/secret.txt"
ln -s "$O" "$M/.Evil"
# A real folder whose tmp/ is a link outside (APPEND writes through tmp/).
mkdir -p "$M/.Half/cur" "$M/.Half/new" "$T/top/outside2"
ln -s "$T/top/outside2" "$M/.Half/tmp"
ln -s "$T/top/secret.txt" "$M/cur/1700000009.M9P9.link:2,S"
mkdir -p "$T/victim"
before=$(cd "$T" && find . -path ./top/Maildir -prune -o -printf '%p %s %T@\n' | sort | grep -v '^\. \|^\./serve\|^\./home\|^\./xstate\|^\./config.yml\|^\./state')

serve_start "$M"
/usr/bin/python3 - "$SERVE_PORT" >"$T/py.out" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
f = s.makefile("rb")
f.readline()
n = 0
def cmd(line):
    """Sends one command; returns (untagged lines, the tagged status word)."""
    global n
    n += 1
    tag = "t%d" % n
    s.sendall(("%s %s\r\n" % (tag, line)).encode())
    got = []
    while True:
        l = f.readline().decode("utf-8", "replace")
        if not l:
            return got, "CLOSED"
        if l.startswith(tag + " "):
            return got, l.split(" ")[1]
        got.append(l.rstrip("\r\n"))
cmd("LOGIN me sesame")
u, t = cmd('LIST "" *')
print("LIST", " ".join(u))
bad = ["../escape", "../../victim", "/etc", "/tmp/x", "~root", "a/../../b", "..", "&AC4ALg-/x",
       "Evil", "Half"]
for name in bad:
    q = '"%s"' % name
    res = {}
    res["CREATE"] = cmd("CREATE " + q)[1]
    res["SELECT"] = cmd("SELECT " + q)[1]
    res["EXAMINE"] = cmd("EXAMINE " + q)[1]
    cmd("UNSELECT")
    res["STATUS"] = cmd("STATUS %s (MESSAGES)" % q)[1]
    res["RENAME-to"] = cmd('RENAME "Sent" ' + q)[1]
    res["RENAME-from"] = cmd('RENAME %s "Moved"' % q)[1]
    res["APPEND"] = cmd("APPEND %s {24+}\r\nSubject: appended\r\n\r\nx\r\n" % q)[1]
    res["DELETE"] = cmd("DELETE " + q)[1]
    cmd("SELECT INBOX")
    res["COPY"] = cmd("COPY 1 " + q)[1]
    res["MOVE"] = cmd("MOVE 1 " + q)[1]
    cmd("UNSELECT")
    print("NAME", name, " ".join("%s=%s" % kv for kv in sorted(res.items())))
u, t = cmd("SELECT INBOX")
print("INBOX", [l.split()[1] for l in u if l.endswith(" EXISTS")][0])
u, t = cmd("FETCH 1:* (BODY.PEEK[])")
text = "\n".join(u)
print("BODIES", text.count("OUTSIDE"), text.count("Subject: Message "))
cmd("LOGOUT")
PY
sed 's/^/# /' "$T/py.out" | cut -c1-200
check "LIST does not show the folder that is a link (Evil)" \
	sh -c "grep -q '^LIST .*INBOX' '$T/py.out' && ! grep -q '^LIST .*Evil' '$T/py.out'"
n=$(grep -c '^NAME ' "$T/py.out")
check "every bad name was tried with 11 commands ($n names)" test "$n" -eq 10
bad_ok=$(grep '^NAME ' "$T/py.out" | tr ' ' '\n' | grep -E "=(b')?OK" | head -5)
check "every command with a bad name or the link is refused (NO or BAD)" \
	sh -c "[ $n -eq 10 ] && [ -z '$bad_ok' ]"
[ -z "$bad_ok" ] || echo "# accepted: $bad_ok"
check "INBOX lists its 3 messages, not the linked file" grep -q '^INBOX 3$' "$T/py.out"
check "no FETCH shows a byte of a file outside (the link is not followed)" grep -q '^BODIES 0 3$' "$T/py.out"
serve_stop

# Deliveries: a rule into the linked folder, a capture with "../..".
cat >"$T/rules.yml" <<'EOF'
- name: capture
  if: {header: {List-Id: {regex: '<([^>]+)>'}}}
  then: {folder: 'Lists/$1'}
- name: evil
  if: {subject: 'to evil'}
  then: {folder: Evil}
EOF
sed -i "1i rules: $T/rules.yml" "$T/config.yml"
for id in '../../victim' '../../../../tmp' '/etc/x' '..'; do
	printf 'From: a@example.org\nList-Id: <%s>\nSubject: list\nMessage-ID: <%s@f>\n\nx\n' "$id" "$RANDOM" |
		"$CORRAL" -c "$T/config.yml" deliver 2>>"$T/deliver.err"
	echo "$id $?" >>"$T/deliver.rc"
done
printf 'From: a@example.org\nSubject: to evil\nMessage-ID: <evil@f>\n\nx\n' |
	"$CORRAL" -c "$T/config.yml" deliver 2>>"$T/deliver.err"
echo "evil $?" >>"$T/deliver.rc"
sed 's/^/# /' "$T/deliver.rc" "$T/deliver.err"
check "the captures were delivered (exit 0 each)" sh -c "[ \$(grep -c ' 0$' '$T/deliver.rc') -ge 4 ]"
inside=$(find "$M" -path '*/new/*' -type f | xargs grep -l 'Subject: list' 2>/dev/null | wc -l)
check "a capture with .. or / lands inside the Maildir ($inside of 4)" test "$inside" -eq 4
check "the rule into the linked folder refuses the link (said why)" grep -q 'symbolic link' "$T/deliver.err"
check "the message meant for it is kept (corral-failed, INBOX, or the MTA keeps it: exit 75)" \
	sh -c "grep -q '^evil 75$' '$T/deliver.rc' || grep -rlq 'to evil' '$M'"
after=$(cd "$T" && find . -path ./top/Maildir -prune -o -printf '%p %s %T@\n' | sort | grep -v '^\. \|^\./serve\|^\./home\|^\./xstate\|^\./config.yml\|^\./state\|^\./py.out\|^\./deliver\|^\./rules.yml')
if [ "$before" = "$after" ]; then
	ok "nothing outside the Maildir was created or changed (the linked folder and file too)"
else
	not_ok "nothing outside the Maildir was created or changed" "$(diff <(echo "$before") <(echo "$after") | head -10)"
fi
serve_sanitizer_check
finish
