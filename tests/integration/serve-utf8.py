#!/usr/bin/env python3
"""UTF8=ACCEPT (RFC 6855) and SPECIAL-USE (RFC 6154) against `corral serve`.

usage: serve-utf8.py PORT MAILDIR
The Maildir has the folders Envoy&AOk-s ("Envoyés"), Sent, Spam, Trash,
Drafts and Archive, and the server's config says
special_use: {sent: "Envoyés", junk: [Pourriel, Spam], archive: []}.
Python's imaplib drives what it can (ENABLE, LIST, CREATE, SELECT,
STATUS, APPEND); a raw socket sends what imaplib cannot (literal8, bytes
that are not UTF-8). Prints "ok NAME" / "not ok NAME # detail" lines."""
import imaplib
import os
import re
import sys

from imapraw import Raw, check

port, maildir = int(sys.argv[1]), sys.argv[2]


def attrs_of(lines, name):
    """The attributes of NAME in "* LIST (...) "/" NAME" lines (bytes)."""
    for l in lines:
        m = re.match(rb'\* (?:LIST|LSUB) \(([^)]*)\) "/" (.*)$', l)
        if m and m.group(2) == name:
            return m.group(1).split()
    return None


def listed(lines):
    return [re.match(rb'\* (?:LIST|LSUB) \([^)]*\) "/" (.*)$', l).group(1) for l in lines
            if l.startswith(b"* LIST") or l.startswith(b"* LSUB")]


# ---- before ENABLE: modified UTF-7, and CHARSET as RFC 3501 has it ----
r = Raw(port, login=False)
caps, t = r.cmd(b"CAPABILITY")
check(any(b" UTF8=ACCEPT" in l for l in caps), "UTF8=ACCEPT is advertised", caps)
r.cmd(b"LOGIN me sesame")
lst, t = r.cmd(b'LIST "" "*"')
check(b'"Envoy&AOk-s"' in listed(lst), "before ENABLE, LIST names Envoyés in modified UTF-7", lst)
check(not any(b"\xc3" in l for l in lst), "before ENABLE, no 8-bit byte in LIST")
for text, status, name in (
        (b'SELECT "Envoy&AOk-s"', b"OK", "before ENABLE, SELECT takes the modified UTF-7 name"),
        (b"SEARCH CHARSET UTF-8 ALL", b"OK", "before ENABLE, SEARCH CHARSET UTF-8 is accepted"),
        (b"SEARCH CHARSET KOI8-R ALL", b"NO [BADCHARSET", "before ENABLE, an unknown CHARSET is NO [BADCHARSET]")):
    r.expect(text, status, name)

# ---- ENABLE UTF8=ACCEPT ----
en, t = r.cmd(b"ENABLE UTF8=ACCEPT")
check(en == [b"* ENABLED UTF8=ACCEPT"] and t.startswith(b"OK"), "ENABLE UTF8=ACCEPT says ENABLED UTF8=ACCEPT and nothing more", en)
for text, name in ((b"SEARCH CHARSET UTF-8 ALL", "after ENABLE, SEARCH with a CHARSET is BAD (RFC 6855 3)"),
                   (b"SEARCH CHARSET KOI8-R ALL", "after ENABLE, SEARCH with an unknown CHARSET is BAD too"),
                   (b'SEARCH SUBJECT "\xff\xfe"', "after ENABLE, a quoted string that is not UTF-8 is BAD")):
    r.expect(text, b"BAD", name)
lst, t = r.cmd(b'LIST "" "*"')
names = listed(lst)
check('"Envoyés"'.encode() in names and b'"Envoy&AOk-s"' not in names,
      "after ENABLE, LIST names Envoyés in UTF-8, in a quoted string", names)
lst, t = r.cmd('LIST "" "Envoy%"'.encode())
check(listed(lst) == ['"Envoyés"'.encode()], "after ENABLE, a LIST pattern is UTF-8 too", lst)
st, t = r.cmd('STATUS "Envoyés" (MESSAGES)'.encode())
check(st == ['* STATUS "Envoyés" (MESSAGES 1)'.encode()], "STATUS takes and names the UTF-8 name", st)
_, t = r.cmd('SELECT "Envoy&AOk-s"'.encode())
check(t.startswith(b"NO"), "after ENABLE, a modified UTF-7 name is not decoded (no such folder)", t)
_, t = r.cmd('SELECT "Envoyés"'.encode())
check(t.startswith(b"OK"), "after ENABLE, SELECT takes the UTF-8 name", t)
se, t = r.cmd('SEARCH SUBJECT "Grüße"'.encode())
check(se == [b"* SEARCH 1"], "SEARCH with a UTF-8 quoted string finds the RFC 2047 subject", se)
_, t = r.cmd('CREATE "A&B"'.encode())
check(t.startswith(b"OK") and os.path.isdir(os.path.join(maildir, ".A&-B", "cur")),
      "after ENABLE, CREATE \"A&B\" makes the folder whose modified UTF-7 name is A&-B", t)
_, t = r.cmd('CREATE "Données/Été"'.encode())
check(t.startswith(b"OK") and os.path.isdir(os.path.join(maildir, ".Donn&AOk-es.&AMk-t&AOk-", "cur")),
      "CREATE of a UTF-8 name makes the Maildir++ folder in modified UTF-7", t)
_, t = r.cmd(b'CREATE "bad\xc2\x85name"')
check(t.startswith(b"NO") or t.startswith(b"BAD"), "a folder name with a C1 control (U+0085) is refused", t)
lst, t = r.cmd('LIST "" "Données/*"'.encode())
check(listed(lst) == ['"Données/Été"'.encode()], "LIST finds the new UTF-8 folder", lst)
_, t = r.cmd('RENAME "Données/Été" "Données/Hiver ❄"'.encode())
check(t.startswith(b"OK") and os.path.isdir(os.path.join(maildir, ".Donn&AOk-es.Hiver &J0Q-", "cur")),
      "RENAME takes UTF-8 names", t)
_, t = r.cmd('SUBSCRIBE "Données/Hiver ❄"'.encode())
ls, t = r.cmd('LSUB "" "Données/*"'.encode())
check(listed(ls) == ['"Données/Hiver ❄"'.encode()], "SUBSCRIBE and LSUB in UTF-8", ls)

# APPEND with the UTF8 data item: a literal8 (RFC 6855 4)
msg = ("From: Zoë <zoe@exämple.org>\r\nSubject: Grüße aus Köln\r\n\r\nHallo!\r\n").encode()
_, l = r.send(b"APPEND \"Envoy\xc3\xa9s\" (\\Seen) UTF8 (~{%d+}\r\n" % len(msg) + msg + b")")
m = re.search(rb"APPENDUID \d+ (\d+)", l)
check(l.startswith(b"OK") and m is not None, "APPEND ... UTF8 (~{N+}...) is stored, with APPENDUID", l)
cur = os.path.join(maildir, ".Envoy&AOk-s", "cur")
stored = [open(os.path.join(cur, f), "rb").read() for f in os.listdir(cur) if f.endswith(",S")]
check(msg.replace(b"\r\n", b"\n") in stored, "the UTF8 message is stored byte for byte (LF line ends)",
      [s[:60] for s in stored])
_, l = r.send(b"APPEND \"Envoy\xc3\xa9s\" UTF8 ({%d+}\r\n" % len(msg) + msg + b")")
check(l.startswith(b"BAD"), "UTF8 (...) with a plain literal instead of a literal8 is BAD", l)
fe, t = r.cmd(b"UID FETCH %s (BODY.PEEK[HEADER.FIELDS (SUBJECT)])" % m.group(1) if m else b"NOOP")
check(any("Grüße aus Köln".encode() in x for x in fe), "FETCH gives the UTF-8 header back as stored", fe)
r.cmd(b"LOGOUT")

# ---- Python's imaplib, as a client uses it ----
c = imaplib.IMAP4("127.0.0.1", port)
c.login("me", "sesame")
typ, data = c.enable("UTF8=ACCEPT")
check(typ == "OK" and c.utf8_enabled, "imaplib: enable('UTF8=ACCEPT')", data)
typ, data = c.list()
names = [d.decode("utf-8") for d in data]
check(any(n.endswith('"Envoyés"') for n in names), "imaplib: LIST shows Envoyés", names)
typ, data = c.select("Envoyés")
check(typ == "OK", "imaplib: select('Envoyés')", data)
n_before = int(data[0])
body = "From: me@example.com\r\nSubject: Entwurf für Zoë\r\n\r\nText\r\n".encode()
typ, data = c.append("Envoyés", None, None, body)
check(typ == "OK", "imaplib: append('Envoyés', ...) after enable", data)
typ, data = c.uid("FETCH", "*", "(BODY.PEEK[])")
got = data[0][1] if data and isinstance(data[0], tuple) else b""
check(got == body, "imaplib's append is stored as the message it was given", got[:80])
typ, data = c.status("Envoyés", "(MESSAGES)")
check(typ == "OK" and b"MESSAGES %d" % (n_before + 1) in data[0], "imaplib: status('Envoyés')", data)
typ, data = c.create("Брошенные")
check(typ == "OK" and os.path.isdir(os.path.join(maildir, ".&BBEEQAQ+BEgENQQ9BD0ESwQ1-")),
      "imaplib: create('Брошенные') makes its modified UTF-7 folder", data)
c.logout()

# ---- SPECIAL-USE from server.special_use, defaults for the rest ----
r = Raw(port)
lst, t = r.cmd(b'LIST "" "*"')
check(b"\\Sent" in (attrs_of(lst, b'"Envoy&AOk-s"') or []), "special_use: sent: Envoyés gets \\Sent", lst)
check(b"\\Sent" not in (attrs_of(lst, b'"Sent"') or [b"\\Sent"]), "the usual name Sent does not, once sent is configured")
check(b"\\Junk" in (attrs_of(lst, b'"Spam"') or []), "junk: [Pourriel, Spam]: the first that exists (Spam) gets \\Junk")
check(b"\\Archive" not in (attrs_of(lst, b'"Archive"') or [b"\\Archive"]), "archive: [] gives \\Archive to none")
check(b"\\Trash" in (attrs_of(lst, b'"Trash"') or []) and b"\\Drafts" in (attrs_of(lst, b'"Drafts"') or []),
      "the uses not configured keep the usual names (Trash, Drafts)")
su, t = r.cmd(b'LIST (SPECIAL-USE) "" "*"')
check(sorted(listed(su)) == sorted([b'"Drafts"', b'"Envoy&AOk-s"', b'"Spam"', b'"Trash"']),
      "LIST (SPECIAL-USE) lists exactly the special-use folders", su)
rs, t = r.cmd(b'LIST "" "%" RETURN (SPECIAL-USE)')
check(b"\\Junk" in (attrs_of(rs, b'"Spam"') or []) and t.startswith(b"OK"), "LIST ... RETURN (SPECIAL-USE)", rs)
r.cmd(b'SUBSCRIBE "Envoy&AOk-s"')
ls, t = r.cmd(b'LSUB "" "*"')
check(b"\\Sent" in (attrs_of(ls, b'"Envoy&AOk-s"') or []), "LSUB carries the attributes too (macOS Mail)", ls)
r.cmd(b"ENABLE UTF8=ACCEPT")
su, t = r.cmd(b'LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)')
check(b"\\Sent" in (attrs_of(su, '"Envoyés"'.encode()) or []), "after ENABLE UTF8=ACCEPT the special use stays", su)
r.cmd(b"LOGOUT")
