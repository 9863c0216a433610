#!/usr/bin/env bash
# contrib/procmailrc2corral and contrib/fetchmailrc2corral on the sample rc
# files of tests/data/convert/.
#
# procmail: the real procmail sorts every message of tests/data/convert/msgs
# with the sample .procmailrc into a throwaway Maildir (forwards go to a
# SENDMAIL that records them, the pipe to a script that records it); where
# each message went becomes a `corral test --expect` file, and the rules
# that procmailrc2corral wrote from the same .procmailrc must put every
# message in the same place. procmail resets HOME from the password file,
# so it reads a copy of the rc with $HOME spelled out; the converter reads
# the original with --home.
#
# fetchmail: the converted configuration passes corral check and fetches
# from the local Dovecot (IMAPS and POP3 with STARTTLS); by default no
# password of the rc file is in the output.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
trap 'dovecot_cleanup; rm -rf "$T"' EXIT
need procmail
DATA=$here/../data/convert
CONTRIB=$here/../../contrib
H=$T/home
mkdir -p "$H/Maildir/new" "$H/Maildir/cur" "$H/Maildir/tmp" "$H/bin"
printf '#!/bin/sh\nprintf "%%s " "$*" >>"%s"; grep -m1 -i "^message-id:" >>"%s"\n' \
	"$T/forward.log" "$T/forward.log" >"$T/sendmail"
printf '#!/bin/sh\ngrep -m1 -i "^message-id:" >>"%s"\n' "$T/pipe.log" >"$H/bin/ticket-log"
chmod 755 "$T/sendmail" "$H/bin/ticket-log"

# ---- procmail ----
sed "s|\\\$HOME|$H|g" "$DATA/procmailrc" >"$T/procmailrc"
n=0
for m in "$DATA"/msgs/*.eml; do
	procmail -m SENDMAIL="$T/sendmail" "$T/procmailrc" <"$m" ||
		setup_fail "procmail failed on $(basename "$m") (exit $?)"
	n=$((n + 1))
done
[ "$n" -ge 15 ] || setup_fail "only $n sample messages"
# Where procmail put each message -> the expect file.
/usr/bin/python3 - "$DATA/msgs" "$H/Maildir" "$T/forward.log" "$T/pipe.log" "$H/bin/ticket-log" \
	>"$T/expect.yml" 2>"$T/expect.err" <<'PY' || setup_fail "reading procmail's deliveries: $(cat "$T/expect.err")"
import os, re, sys
msgs, root, fwdlog, pipelog, pipecmd = sys.argv[1:6]
def mid(data):
    m = re.search(rb"(?im)^message-id:\s*(<[^>]*>)", data)
    return m.group(1).decode() if m else None
where = {}
def add(msgid, key, val):
    where.setdefault(msgid, {}).setdefault(key, []).append(val)
for dirpath, dirs, files in os.walk(root):
    rel = os.path.relpath(dirpath, root)
    for f in files:
        p = os.path.join(dirpath, f)
        data = open(p, "rb").read()
        if os.path.basename(dirpath) in ("new", "cur"):
            top = os.path.dirname(rel)
            folder = "INBOX" if top in ("", ".") else "/".join(x for x in top.lstrip(".").split(".") if x)
            add(mid(data), "folders", folder)
        elif rel == ".":  # an mbox file: corral files it into the folder of that name
            for m in re.finditer(rb"(?im)^message-id:\s*(<[^>]*>)", data):
                add(m.group(1).decode(), "folders", f)
for log, key in ((fwdlog, "forward"), (pipelog, "pipe")):
    if os.path.exists(log):
        for line in open(log):
            m = re.search(r"(<[^>]*>)", line)
            val = line.split()[-3] if key == "forward" else pipecmd
            add(m.group(1), key, val)
seen = set()
for f in sorted(os.listdir(msgs)):
    data = open(os.path.join(msgs, f), "rb").read()
    w = where.get(mid(data), {})
    print("- name: %s" % f)
    print("  message: %s" % os.path.join(msgs, f))
    if w.get("folders"):
        print("  folders: [%s]" % ", ".join("'%s'" % x for x in w["folders"]))
    elif not w:
        print("  discard: true")
    else:
        print("  folders: []")
    for key in ("forward", "pipe"):
        if w.get(key):
            print("  %s: [%s]" % (key, ", ".join("'%s'" % x for x in w[key])))
    seen.add(f)
    sys.stderr.write("%s -> %s\n" % (f, w))
PY
check "procmail discarded the spam (/dev/null)" grep -q "discard: true" "$T/expect.yml"
check "procmail: at least 8 different outcomes" \
	test "$(grep -E 'folders|forward|pipe|discard' "$T/expect.yml" | sort -u | wc -l)" -ge 8
grep -q "forward:" "$T/expect.yml" || not_ok "procmail forwarded the boss's mail" "$(cat "$T/expect.err")"
grep -q "pipe:" "$T/expect.yml" || not_ok "procmail piped the ticket" "$(cat "$T/expect.err")"

"$CONTRIB/procmailrc2corral" --home "$H" "$DATA/procmailrc" >"$T/rules.yml" 2>"$T/conv.err"
check "procmailrc2corral: exit 0" test $? -eq 0
check "procmailrc2corral --help: exit 0, names the converted conditions" \
	sh -c "'$CONTRIB/procmailrc2corral' --help | grep -qF '^(To|Cc):'"
check "procmailrc2corral: the unconvertible recipe is a comment with the line and why" \
	sh -c "grep -q '^# procmailrc:90: \* ? test -e' '$T/rules.yml' &&
		grep -q 'not converted: a condition on a program' '$T/rules.yml'"
check "procmailrc2corral: the mbox destination says corral delivers to Maildir" \
	grep -q "mbox file .*corral delivers to Maildir" "$T/rules.yml"
printf 'maildir: %s\nrules: %s\nsmtp:\n  host: 127.0.0.1\n  port: 25\n' "$H/Maildir" "$T/rules.yml" |
	write_config "$T/p.yml"
export HOME=$T/chome XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"
corral_run 30 check --rules "$T/rules.yml"
check "corral check --rules on the converted rules: exit 0 (got $RC: $(head -3 "$T/err"))" test "$RC" -eq 0
corral_run 30 -c "$T/p.yml" check
check "corral check with the converted rules: exit 0 (got $RC: $(head -3 "$T/err"))" test "$RC" -eq 0
corral_run 60 -c "$T/p.yml" test --expect "$T/expect.yml"
check "corral test --expect: the converted rules sort every message as procmail did (exit $RC)" test "$RC" -eq 0
check "corral test --expect: $n entries ok" test "$(grep -c '^ok ' "$T/out")" -eq "$n"
[ "$RC" -eq 0 ] || grep -A1 '^FAIL' "$T/out" | head -20

# ---- fetchmail ----
dovecot_setup >/dev/null
dovecot_start
mkdir -p "$(dovecot_maildir alice Archive)"
: >"$T/exp"
track_add "$T/exp" alice INBOX 4
track_add "$T/exp" alice Archive 3
track_add "$T/exp" bob INBOX 5
sed -e "s/@IMAPS_PORT@/$DOVECOT_IMAPS_PORT/" -e "s/@POP3_PORT@/$DOVECOT_POP3_PORT/" \
	-e "s|@CA@|$DOVECOT_CA|g" -e "s/@ALICE_PASS@/$DOVECOT_PASS_alice/" \
	-e "s/@BOB_PASS@/$DOVECOT_PASS_bob/" "$DATA/fetchmailrc" >"$T/fetchmailrc"
# (in a directory of its own: no rules.yml next to the config)
mkdir -p "$T/fm"
"$CONTRIB/fetchmailrc2corral" --maildir "$T/fm/Maildir" "$T/fetchmailrc" >"$T/fm/safe.yml"
check "fetchmailrc2corral: exit 0" test $? -eq 0
check "fetchmailrc2corral: no password of the rc file in the output by default" \
	sh -c "! grep -qF -e '$DOVECOT_PASS_alice' -e '$DOVECOT_PASS_bob' -e 'old secret' '$T/fm/safe.yml'"
check "fetchmailrc2corral: a password_command and how to store the password instead" \
	sh -c "grep -q 'password_command: \[secret-tool, lookup' '$T/fm/safe.yml' &&
		grep -q 'secret-tool store' '$T/fm/safe.yml'"
check "fetchmailrc2corral: sslfingerprint is a comment with the line and why" \
	grep -q "not converted (sslfingerprint)" "$T/fm/safe.yml"
chmod 600 "$T/fm/safe.yml"
corral_run 30 -c "$T/fm/safe.yml" check
check "corral check on the converted config (password_command): exit 0 (got $RC: $(head -3 "$T/err"))" test "$RC" -eq 0
"$CONTRIB/fetchmailrc2corral" --copy-passwords --maildir "$T/fm/Maildir" "$T/fetchmailrc" >"$T/fm/fm.yml"
check "fetchmailrc2corral --copy-passwords: the output file is 0600" \
	test "$(stat -c %a "$T/fm/fm.yml")" = 600
# The skip entry names a host that does not exist here: fetch the two polled ones.
corral_run 30 -c "$T/fm/fm.yml" check
check "corral check on the converted config (passwords): exit 0 (got $RC: $(head -3 "$T/err"))" test "$RC" -eq 0
corral_run 60 -c "$T/fm/fm.yml" fetch localhost 127.0.0.1
check "corral fetch with the converted config: exit 0 (got $RC: $(head -3 "$T/err"))" test "$RC" -eq 0
if exactly_once "$T/exp" "$T/fm/Maildir"; then
	ok "the converted config fetched alice's 7 (IMAPS, two folders) and bob's 5 (POP3 STARTTLS) once"
else
	not_ok "the converted config fetched every message once" "lost $FETCH_LOST, duplicated $FETCH_DUP"
fi
check "keep (IMAP): alice's messages are still on the server" test "$(dovecot_count alice)" -eq 4
check "no keep (POP3): bob's messages were deleted, as fetchmail would" test "$(dovecot_count bob)" -eq 0
sanitizer_check
finish
