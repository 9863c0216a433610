#!/usr/bin/env bash
# SEARCH and UID SEARCH of `corral serve` against Dovecot's on the same
# Maildir: a dozen varied messages (dates, flags, keywords, sizes, encoded
# subjects, base64 and quoted-printable parts, Cc and Bcc), some forty
# searches through Python's imaplib (every key, NOT/OR nesting, sequence
# and UID sets, CHARSET UTF-8 with a literal, ESEARCH's RETURN), and the
# answers must be the same. RECENT, NEW and OLD are checked on corral
# alone (Dovecot keeps \Recent its own way). Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
. "$here/lib-serve.sh"
fetch_fast_python
trap 'serve_stop; dovecot_cleanup; rm -rf "$T"' EXIT
need_py imaplib
need timeout
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"
M=$(dovecot_maildir alice)

# The messages: cur/ with flags, or new/ (\Recent for corral); mtime = INTERNALDATE.
python3 - "$M" <<'PY' || setup_fail "could not write the messages"
import base64, calendar, os, sys
M = sys.argv[1]
def msg(name, where, flags, day, head, body):
    path = os.path.join(M, where, name + (":2," + flags if where == "cur" else ""))
    with open(path, "wb") as f:
        f.write(head.encode() + b"\n" + body)
    t = calendar.timegm(tuple(int(x) for x in day.split("-")) + (12, 0, 0))
    os.utime(path, (t, t))
b64 = base64.encodebytes
filler = "".join("line %03d of a long message, to make it larger\n" % i for i in range(120))
msg("1700000001.M1.a", "cur", "S", "2024-1-1",
    "From: Alice <alice@example.org>\nTo: bob@example.com\nSubject: Quarterly report\n"
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <1@t>\n", b"numbers are up\n")
msg("1700000002.M2.a", "cur", "RS", "2024-1-5",
    "From: \"Carol Jones\" <carol@example.net>\nTo: alice@example.org\nCc: dave@example.net\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\nDate: Fri, 05 Jan 2024 09:00:00 -0500\n"
    "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n", b"Der K=C3=A4se ist teuer.\n")
msg("1700000003.M3.a", "cur", "F", "2024-2-1",
    "From: eve@example.org\nTo: bob@example.com\nBcc: frank@example.org\nSubject: parts\n"
    "Date: Tue, 02 Jan 2024 01:00:00 +0200\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=XX\n",
    b"--XX\nContent-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: base64\n\n"
    + b64(b"secret base64 words inside\n") + b"--XX\n"
    b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
    + b64(b"hidden binary\n") + b"--XX--\n")
msg("1700000004.M4.a", "cur", "T", "2024-2-10",
    "From: alice@example.org\nTo: bob@example.com\nSubject: to be deleted\n"
    "Date: Sat, 10 Feb 2024 12:00:00 +0000\n", filler.encode())
msg("1700000005.M5.a", "cur", "D", "2023-12-31",
    "From: bob@example.com\nSubject: draft idea\nDate: Sun, 31 Dec 2023 22:00:00 +0000\n",
    b"an idea\n")
msg("1700000006.M6.a", "cur", "a", "2024-3-1",
    "From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.de>\nTo: bob@example.com\n"
    "Subject: labelled\nDate: Fri, 01 Mar 2024 08:00:00 +0100\n", b"with a label\n")
msg("1700000007.M7.a", "cur", "Sab", "2024-3-2",
    "From: alice@example.org\nTo: carol@example.net\nSubject: two keywords\n"
    "X-Priority-Tag: urgent-ish\nDate: Sat, 02 Mar 2024 08:00:00 +0000\n", b"two\n")
msg("1700000008.M8.a", "cur", "", "2024-3-3",
    "From: dave@example.net\nTo: alice@example.org\nSubject: alternative\n"
    "Date: Sun, 03 Mar 2024 08:00:00 +0000\nMIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\n",
    b"--b1\nContent-Type: text/plain\n\nBold statement\n--b1\n"
    b"Content-Type: text/html\n\n<b>Bold</b> statement\n--b1--\n")
msg("1700000009.M9.a", "new", "", "2024-3-4",
    "From: alice@example.org\nTo: bob@example.com\nSubject: fresh arrival\n"
    "Date: Mon, 04 Mar 2024 08:00:00 +0000\nMIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n",
    "Caf\u00e9 cr\u00e8me\n".encode("latin-1"))
msg("1700000010.M10.a", "new", "", "2024-3-5",
    "From: carol@example.net\nTo: bob@example.com\nSubject: =?ISO-8859-1?B?xHJnZXI=?=\n"
    "Date: Tue, 05 Mar 2024 08:00:00 +0000\n", b"trouble\n")
msg("1700000011.M11.a", "cur", "FS", "2024-1-15",
    "From: bob@example.com\nTo: alice@example.org\nCc: \"Bob\" <bob@example.com>\n"
    "Subject: Re: Quarterly report\nDate: Mon, 15 Jan 2024 08:00:00 +0000\n", b"thanks\n")
msg("1700000012.M12.a", "cur", "S", "2024-1-20",
    "From: zed@example.org\nSubject: tiny\nDate: Sat, 20 Jan 2024 23:30:00 -0800\n", b"hi\n")
with open(os.path.join(M, "dovecot-keywords"), "w") as f:
    f.write("0 $Label\n1 Work\n")
PY
chown -R "$(stat -c %u:%g "$M")" "$M"

serve_start "$M"
port=$SERVE_PORT

# One line per search: "<command> => <status> <answer>". Each search is a
# Python tuple: UID or not, the arguments, and a literal sent last (or None).
cat >"$T/searches.py" <<'PY'
U = "\u00fc"
searches = [
    (0, "ALL", None), (1, "ALL", None),
    (1, "SEEN", None), (1, "UNSEEN", None), (0, "ANSWERED", None), (1, "UNANSWERED", None),
    (1, "FLAGGED", None), (0, "UNFLAGGED", None), (1, "DELETED", None), (1, "UNDELETED", None),
    (1, "DRAFT", None), (0, "UNDRAFT", None),
    (1, "KEYWORD $Label", None), (1, "KEYWORD Work", None), (1, "UNKEYWORD $Label", None),
    (1, "BEFORE 1-Jan-2024", None), (1, "ON 5-Jan-2024", None), (1, "SINCE 1-Mar-2024", None),
    (1, "SINCE 2-Jan-2024 BEFORE 1-Feb-2024", None),
    (1, "SENTBEFORE 2-Jan-2024", None), (1, "SENTON 2-Jan-2024", None),
    (1, "SENTON 20-Jan-2024", None), (1, "SENTSINCE 1-Mar-2024", None),
    (1, "LARGER 1000", None), (1, "SMALLER 150", None), (1, "LARGER 100 SMALLER 200", None),
    (1, "FROM alice", None), (1, "FROM \"carol jones\"", None), (1, "TO bob", None),
    (1, "CC dave", None), (1, "CC bob", None), (1, "BCC frank", None),
    (1, "SUBJECT quarterly", None), (1, "SUBJECT \"Re:\"", None), (1, "SUBJECT \"\"", None),
    (1, "HEADER X-Priority-Tag urgent", None), (1, "HEADER X-Priority-Tag \"\"", None),
    (1, "BODY \"base64 words\"", None), (1, "BODY hidden", None), (1, "BODY bold", None),
    (1, "TEXT report", None), (1, "TEXT \"numbers are up\"", None),
    (1, "CHARSET UTF-8 FROM", "J\u00f6rg"), (1, "CHARSET UTF-8 SUBJECT", "k\u00f6ln"),
    (1, "CHARSET UTF-8 SUBJECT", "\u00e4rger"), (1, "CHARSET UTF-8 BODY", "K\u00c4SE"),
    (1, "CHARSET UTF-8 BODY", "cr\u00e8me"), (1, "CHARSET US-ASCII SUBJECT tiny", None),
    (1, "NOT SEEN", None), (1, "OR SEEN FLAGGED", None), (1, "NOT OR SEEN DRAFT", None),
    (1, "OR (SEEN FLAGGED) (DRAFT NOT DELETED)", None),
    (1, "(OR SUBJECT report BODY bold) NOT ANSWERED", None),
    (0, "2:4", None), (0, "5:*", None), (0, "*", None), (1, "1,3,5:7", None),
    (0, "UID 2:5", None), (1, "UID 10:*", None), (1, "UID 4,2 SEEN", None),
    (0, "RETURN (MIN MAX COUNT ALL) SEEN", None), (1, "RETURN (MIN MAX COUNT ALL) SEEN", None),
    (1, "RETURN () UNSEEN", None), (0, "RETURN (COUNT) DELETED", None),
    (1, "RETURN (MIN) SUBJECT nothing-matches", None), (1, "RETURN (ALL) NOT DELETED", None),
    (1, "RETURN (MAX COUNT) SINCE 1-Feb-2024", None),
    (1, "RETURN (COUNT) CHARSET UTF-8 SUBJECT", "gr" + U + "\u00dfe"),
    (0, "10:20", None), (0, "OR 1 UID 100", None), (1, "NOT (UID 1:5 SEEN)", None),
    (1, "TEXT statement", None), (1, "TEXT octet-stream", None), (1, "BODY \"<b>\"", None),
    (1, "HEADER Content-Type multipart", None), (1, "since 1-mar-2024 not keyword work", None),
    (1, "FOO", None), (1, "BEFORE 2024-01-01", None), (1, "OR SEEN", None),
    (1, "CHARSET X-NOPE SUBJECT x", None),
]
PY
ask() { # PORT USER PASS: every search, one line each
	timeout 60 python3 - "$@" "$T/searches.py" <<'PY'
import imaplib, re, sys
port, user, pw, path = sys.argv[1:5]
exec(open(path).read())
m = imaplib.IMAP4("127.0.0.1", int(port))
m.login(user, pw)
m.select("INBOX", readonly=True)
for uid, args, lit in searches:
    name = ("UID SEARCH " if uid else "SEARCH ") + args + (" {%s}" % lit if lit else "")
    m.literal = lit.encode() if lit else None
    words = ("UID", "SEARCH") if uid else ("SEARCH",)
    try:
        tag = m._command(*words, args)
        typ, dat = m._command_complete(words[-1] if not uid else "UID", tag)
        status = typ
        if typ == "NO":
            status += " BADCHARSET" if b"[BADCHARSET" in dat[0] else " ?"
    except imaplib.IMAP4.error as e:
        status = "BAD" if "BAD" in str(e) or "error in" in str(e).lower() else "ERR %s" % e
    got = []
    for key in ("SEARCH", "ESEARCH"):
        for d in m.untagged_responses.pop(key, []):
            d = d.decode() if isinstance(d, bytes) else str(d)
            if key == "ESEARCH":
                if '(TAG "%s")' % tag.decode() not in d:
                    d += " [wrong tag]"
                d = re.sub(r'\(TAG "[^"]*"\)', "(TAG)", d)
            got.append(key + " " + d.strip())
    if status != "OK":
        got = []
    print(name, "=>", status, " | ".join(got))
m.logout()
PY
}
ask "$port" me sesame >"$T/corral.out" 2>"$T/corral.err"
# \Recent: the two in new/ (UIDs 9 and 10), for this first session.
rec=$(timeout 30 python3 - "$port" <<'PY' 2>&1
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("me", "sesame")
m.select("INBOX", readonly=True)
for k in ("RECENT", "NEW", "OLD", "NOT RECENT SEEN"):
    print(k, "=>", m.uid("SEARCH", None, k)[1][0].decode())
m.logout()
PY
)
echo "$rec" | sed 's/^/# /'
chown -R "$(stat -c %u:%g "$M/cur")" "$M"
ask "$DOVECOT_IMAP_PORT" alice "$DOVECOT_PASS_alice" >"$T/dovecot.out" 2>"$T/dovecot.err"

n=$(wc -l <"$T/dovecot.out")
[ "$n" -ge 40 ] || setup_fail "Dovecot answered $n searches: $(tail -3 "$T/dovecot.err")"
check "corral answered every search ($(wc -l <"$T/corral.out") of $n)" \
	test "$(wc -l <"$T/corral.out")" = "$n"
paste -d '\n' "$T/dovecot.out" "$T/corral.out" | paste - - >"$T/pairs"
while IFS=$'\t' read -r dv co; do
	if [ "$dv" = "$co" ]; then
		ok "${co}"
	else
		not_ok "${dv%% =>*}" "Dovecot: ${dv#*=> }; corral: ${co#*=> }"
	fi
done <"$T/pairs"
gr() { echo "$rec" | grep -qxF "$1"; }
check "RECENT: the two in new/" gr "RECENT => 9 10"
check "NEW: recent and unseen" gr "NEW => 9 10"
check "OLD: not recent" gr "OLD => 1 2 3 4 5 6 7 8 11 12"
check "NOT RECENT SEEN" gr "NOT RECENT SEEN => 1 2 7 11 12"

serve_stop
serve_sanitizer_check
finish
