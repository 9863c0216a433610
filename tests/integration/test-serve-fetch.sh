#!/usr/bin/env bash
# `corral serve`'s FETCH against Dovecot's on one Maildir: for the same
# messages, ENVELOPE, BODYSTRUCTURE, BODY, BODY[section]<partial> and
# RFC822.SIZE must be byte-identical (as Python's imaplib reads them) to
# what a real Dovecot answers. Two folders: tests/data/fetch (a handful of
# messages written for this: plain, multipart/alternative, an attachment,
# a forwarded message/rfc822, groups and routes, encoded words, no body,
# RFC 2231, broken Content-Types, a digest) and the parser corpus
# tests/data/msg, where the few defensible differences are listed below.
# Prints the differences on failure. Bounded in time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
. "$here/lib-serve.sh"
fetch_fast_python
trap 'serve_stop; dovecot_cleanup; rm -rf "$T"' EXIT
need_py imaplib
dovecot_setup >/dev/null
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

data=$here/../data
M=$(dovecot_maildir alice)
C=$(dovecot_maildir alice Corpus)
# The file's name says which test message it is (the differences below name them).
put() { # DIR FILE...
	local dir=$1 i=0 f
	shift
	for f in "$@"; do
		i=$((i + 1))
		cp "$f" "$dir/new/1700000000.M${i}P1.$(basename "$f" .eml)" || setup_fail "copy $f"
	done
	chown -R nobody: "$dir"
}
put "$M" "$data"/fetch/*.eml
put "$C" "$data"/msg/*.eml
[ "$(ls "$M/new" | wc -l)" -ge 10 ] || setup_fail "the test messages are missing"

serve_start "$M"
port=$SERVE_PORT

# Dovecot is asked first: it gives the UIDs (dovecot-uidlist), corral reads them.
timeout 300 python3 - "$DOVECOT_IMAP_PORT" "$DOVECOT_PASS_alice" "$port" "$M" >"$T/cmp.out" 2>&1 <<'PY'
import imaplib, os, re, sys

dport, dpass, cport, maildir = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ITEMS = ["ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.SIZE",
         "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[2]", "BODY.PEEK[2.MIME]",
         "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]", "BODY.PEEK[2.1]", "BODY.PEEK[3.1.MIME]",
         "BODY.PEEK[HEADER.FIELDS (From To Subject)]",
         "BODY.PEEK[HEADER.FIELDS.NOT (Received Subject)]",
         "BODY.PEEK[2.HEADER.FIELDS (subject)]", "BODY.PEEK[TEXT]<5.20>",
         "BODY.PEEK[]<0.100>", "BODY.PEEK[1]<0.393216>", "BODY.PEEK[4]"]
# Where Dovecot differs for a reason (message file, items): corral keeps to
# RFC 2046 or to its parser's caps.
KNOWN = {
    # RFC 2046 5.1.1: only blanks may follow "--boundary" on a delimiter
    # line; Dovecot takes "--pe is not a delimiter here" as one.
    "multipart-preamble-epilogue": {"BODYSTRUCTURE", "BODY", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]",
                                    "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[2.1]",
                                    "BODY.PEEK[1]<0.393216>"},
    # corral's MIME tree stops at 32 levels (mail/message.h MSG_MAX_DEPTH);
    # Dovecot's goes deeper.
    "deeply-nested-multipart": {"BODYSTRUCTURE", "BODY"},
    # CR-only line ends: the whole message is one header line; Dovecot
    # drops its last CR before the line end it adds, corral keeps it.
    "cr-only-line-endings": {"BODY.PEEK[HEADER.FIELDS (From To Subject)]"},
}

def login(port, user, pw, folder):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(user, pw)
    typ, d = m.select(folder, readonly=True)
    return m, int(d[0])

def raw(m, seq, item):
    typ, d = m.fetch(str(seq), "(%s)" % item)
    if typ != "OK":
        return ("%s %r" % (typ, d)).encode()
    return b"".join(p[0] + p[1] if isinstance(p, tuple) else p for p in d)

def names(folder_dir):
    # uid -> the test message's name, from the file name in dovecot-uidlist
    out = {}
    for line in open(os.path.join(folder_dir, "dovecot-uidlist")).read().splitlines()[1:]:
        uid, rest = line.split(" ", 1)
        out[int(uid)] = rest.split(":", 1)[1].split(".", 3)[-1]
    return out

for folder, fdir in (("INBOX", maildir), ("Corpus", os.path.join(maildir, ".Corpus"))):
    d, n = login(dport, "alice", dpass, folder)
    c, cn = login(cport, "me", "sesame", folder)
    uid = {}
    typ, dat = d.fetch("1:*", "(UID)")
    for x in dat:
        s, u = re.match(rb"(\d+) \(UID (\d+)\)", x).groups()
        uid[int(s)] = int(u)
    name = names(fdir)
    print("folder", folder, "dovecot", n, "corral", cn)
    same = known = 0
    for seq in range(1, n + 1):
        msg = name.get(uid[seq], "?")
        bad = []
        for it in ITEMS:
            a, b = raw(d, seq, it), raw(c, seq, it)
            if a == b:
                same += 1
            elif it in KNOWN.get(msg, ()):
                known += 1
            else:
                bad.append(it)
                print("DIFF %s %s %s\n  dovecot: %r\n  corral:  %r" % (folder, msg, it, a[:3000], b[:3000]))
        print("msg", folder, msg, "ok" if not bad else "differs: " + ", ".join(bad))
    print("summary", folder, "same", same, "known", known, "items", n * len(ITEMS))
    d.logout()
    c.logout()

# The macros, RFC822.PEEK (Outlook) and \Seen
c = imaplib.IMAP4("127.0.0.1", cport)
c.login("me", "sesame")
c.select("INBOX")
for mac in ("ALL", "FAST", "FULL"):
    typ, d = c.fetch("1", mac)
    head = d[0][0] if isinstance(d[0], tuple) else d[0]
    words = re.findall(rb"\b(FLAGS|INTERNALDATE|RFC822\.SIZE|ENVELOPE|BODY) [(\"0-9]", head)
    print("macro", mac, typ, " ".join(w.decode() for w in words))
typ, d = c.fetch("1", "(RFC822.PEEK)")
head = d[0][0]
print("peek", typ, head.split(b" {")[0].decode(), len(d[0][1]))
typ, d = c.fetch("1", "(FLAGS)")
print("peek-flags", d[0].decode())
typ, d = c.fetch("2", "(BODY[1])")
typ, d = c.fetch("2", "(FLAGS)")
print("body-flags", d[0].decode())
typ, d = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (From To)]<0.10>)")
print("fields-partial", d[0][0].decode(), d[0][1])
c.logout()
PY
rc=$?
sed 's/^/# /' "$T/cmp.out" | grep -v '^# msg .* ok$'
got() { grep -qE "$1" "$T/cmp.out"; }
[ "$rc" -eq 0 ] || not_ok "the comparison ran to its end (exit $rc)"
for f in "$data"/fetch/*.eml; do
	b=$(basename "$f" .eml)
	check "INBOX $b: every item byte-identical to Dovecot's" got "^msg INBOX $b ok\$"
done
n=$(ls "$data"/msg/*.eml | wc -l)
check "Corpus: all $n messages answered by both" got "^folder Corpus dovecot $n corral $n\$"
bad=$(grep -c '^msg Corpus .* differs' "$T/cmp.out")
check "Corpus: every message and item byte-identical to Dovecot's but the documented differences ($bad differ)" \
	test "$bad" -eq 0
check "Corpus: the documented differences are still there (not silently fixed)" \
	got '^summary Corpus same [0-9]+ known ([1-9][0-9]*) items'
check "FETCH 1 ALL: FLAGS INTERNALDATE RFC822.SIZE ENVELOPE" got '^macro ALL OK FLAGS INTERNALDATE RFC822.SIZE ENVELOPE$'
check "FETCH 1 FAST: FLAGS INTERNALDATE RFC822.SIZE" got '^macro FAST OK FLAGS INTERNALDATE RFC822.SIZE$'
check "FETCH 1 FULL: and BODY" got '^macro FULL OK FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY$'
check "RFC822.PEEK (Outlook) is answered as RFC822" got '^peek OK 1 \(RFC822 [0-9]+$'
check "RFC822.PEEK does not set \\Seen" sh -c "grep -q '^peek-flags' '$T/cmp.out' && ! grep -q '^peek-flags.*Seen' '$T/cmp.out'"
check "BODY[1] sets \\Seen" got '^body-flags .*\\Seen'
check "a partial HEADER.FIELDS echoes the section and the origin" \
	got "^fields-partial 1 \(BODY\[HEADER.FIELDS \(FROM TO\)\]<0> \{10\} b'From: \"Ann'"

serve_stop
serve_sanitizer_check
finish
