#!/usr/bin/env python3
"""The IMAP commands of `corral serve`, spoken over a raw socket so that
every untagged line can be checked (imaplib hides their order), plus the
client behaviours of DESIGN.md section 5. Prints one line per check:
"PASS<TAB>name" or "FAIL<TAB>name<TAB>what was seen". Bounded: every read
has a timeout.

usage: serve-imap.py PORT USER PASSWORD MAILDIR
"""
import os
import re
import socket
import sys
import time

PORT, USER, PASSWORD, MAILDIR = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def report(ok, name, seen=""):
    seen = str(seen).replace("\t", " ").replace("\n", " | ")[:600]
    print("PASS\t%s" % name if ok else "FAIL\t%s\t%s" % (name, seen), flush=True)


class Client:
    """A raw IMAP client: cmd() sends one command and returns (untagged
    lines, tagged line); literals are read by their counts."""

    def __init__(self, login=True):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        self.buf = b""
        self.n = 0
        self.greeting = self.line()
        if login:
            u, t = self.cmd('LOGIN %s "%s"' % (USER, PASSWORD))
            assert t.split()[1] == "OK", t

    def line(self):
        while b"\r\n" not in self.buf:
            got = self.s.recv(65536)
            if not got:
                raise EOFError("connection closed")
            self.buf += got
        line, self.buf = self.buf.split(b"\r\n", 1)
        m = re.search(rb"\{(\d+)\}$", line)
        if m:  # a literal: its bytes, then the rest of the line
            n = int(m.group(1))
            while len(self.buf) < n:
                self.buf += self.s.recv(65536)
            line += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
            line += self.line().encode("latin-1")
        return line.decode("latin-1")

    def send(self, data):
        self.s.sendall(data.encode("latin-1") if isinstance(data, str) else data)

    def cmd(self, text):
        self.n += 1
        tag = "t%d" % self.n
        self.send("%s %s\r\n" % (tag, text))
        untagged = []
        while True:
            line = self.line()
            if line.startswith(tag + " "):
                return untagged, line
            untagged.append(line)

    def close(self):
        try:
            self.cmd("LOGOUT")
        except Exception:
            pass
        self.s.close()


def status(tagged):
    return tagged.split()[1]


def step(name, fn):
    try:
        fn()
    except Exception as e:  # a crash of the check is a failure, with its reason
        report(False, name, "%s: %s" % (type(e).__name__, e))


def deliver(folder_dir, name, subject):
    """Another writer (an MDA, corral fetch) puts a message in new/."""
    tmp = os.path.join(folder_dir, "tmp", name)
    with open(tmp, "w") as f:
        f.write("From: x@example.org\nSubject: %s\nMessage-ID: <%s@t>\n\nbody\n" % (subject, name))
    os.rename(tmp, os.path.join(folder_dir, "new", name))


def list_lines(c, text):
    u, t = c.cmd(text)
    return [l for l in u if l.startswith("* LIST") or l.startswith("* LSUB")], u, t


# ---- capabilities and the commands that touch no folder ----
c = Client(login=False)
caps = c.cmd("CAPABILITY")[0][0].split()[2:]
for want in ("IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE "
             "CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH UTF8=ACCEPT AUTH=PLAIN").split():
    report(want in caps, "CAPABILITY lists " + want, caps)
c.close()

c = Client()
u, t = c.cmd("NAMESPACE")
report(u == ['* NAMESPACE (("" "/")) NIL NIL'] and status(t) == "OK", "NAMESPACE: one personal, /", u)
# (UTF8=ACCEPT is not enabled here: the names below are modified UTF-7;
# test-serve-utf8.sh covers it.)
u, t = c.cmd("ENABLE X-UNKNOWN CONDSTORE")
report(u == ["* ENABLED CONDSTORE"] and status(t) == "OK",
       "ENABLE: '* ENABLED CONDSTORE' and nothing else (unknown names ignored)", u + [t])
u, t = c.cmd('ID ("name" "serve-imap.py")')
report(any(l.startswith('* ID ("name" "corral"') for l in u), "ID answers corral's name", u)

# ---- folders ----
for name in ("Sent", "Trash", "Archive", "Archive/2024", "Entw&APw-rfe", "Deep/Inner", "Junk"):
    u, t = c.cmd('CREATE "%s"' % name)
    report(status(t) == "OK", "CREATE %s" % name, t)
report(os.path.isfile(os.path.join(MAILDIR, ".Archive.2024", "maildirfolder")) and
       os.path.isdir(os.path.join(MAILDIR, ".Archive.2024", "tmp")),
       "CREATE makes .Archive.2024 with cur new tmp and maildirfolder", os.listdir(MAILDIR))
u, t = c.cmd('CREATE "Sent"')
report(status(t) == "NO" and "[ALREADYEXISTS]" in t, "CREATE of an existing folder: NO [ALREADYEXISTS]", t)
u, t = c.cmd('CREATE "INBOX"')
report(status(t) == "NO", "CREATE INBOX: NO", t)
u, t = c.cmd('CREATE "Parent/"')
report(status(t) == "OK" and os.path.isdir(os.path.join(MAILDIR, ".Parent", "cur")),
       'CREATE "Parent/" (a trailing separator) makes Parent', t)

# Deep exists only as the parent of Deep/Inner (".Deep.Inner" alone on disk).
os.system("rm -rf '%s'" % os.path.join(MAILDIR, ".Deep"))
lines, u, t = list_lines(c, 'LIST "" "*"')
attrs = {}
for l in lines:
    m = re.match(r'\* LIST \(([^)]*)\) "/" "?([^"]*)"?$', l)
    if m:
        attrs[m.group(2)] = m.group(1).split()
report(set(["INBOX", "Sent", "Trash", "Archive", "Archive/2024", "Entw&APw-rfe", "Deep",
            "Deep/Inner", "Junk", "Parent"]) <= set(attrs), "LIST * lists every folder", attrs)
report("\\Sent" in attrs.get("Sent", []) and "\\Trash" in attrs.get("Trash", []) and
       "\\Junk" in attrs.get("Junk", []) and "\\Archive" in attrs.get("Archive", []),
       "plain LIST carries \\Sent \\Trash \\Junk \\Archive", attrs)
report("\\HasChildren" in attrs.get("Archive", []) and
       "\\HasNoChildren" in attrs.get("Archive/2024", []), "CHILDREN: \\HasChildren, \\HasNoChildren", attrs)
report("\\Noselect" in attrs.get("Deep", []) and "\\HasChildren" in attrs.get("Deep", []),
       "a parent that is no folder: \\Noselect \\HasChildren", attrs.get("Deep"))
u, t = c.cmd('LIST "" ""')
report(u == ['* LIST (\\Noselect) "/" ""'], 'LIST "" "": the separator', u)
lines, u, t = list_lines(c, 'LIST "" "%"')
names = [re.sub(r'.*"/" ', "", l).strip('"') for l in lines]
report("Archive" in names and "Archive/2024" not in names, 'LIST "" "%": one level', names)
lines, u, t = list_lines(c, 'LIST "" "inbox"')
report(len(lines) == 1 and lines[0].endswith(('"INBOX"', " INBOX")), "LIST matches INBOX in any case", lines)

# LIST-EXTENDED, LIST-STATUS
lines, u, t = list_lines(c, 'LIST (SPECIAL-USE) "" "*"')
names = sorted(re.sub(r'.*"/" ', "", l).strip('"') for l in lines)
report(names == ["Archive", "Junk", "Sent", "Trash"], "LIST (SPECIAL-USE): only the special folders", names)
lines, u, t = list_lines(c, 'LIST "" ("INBOX" "Sent")')
report(len(lines) == 2, "LIST with two patterns", lines)
lines, u, t = list_lines(c, 'LIST "" "Deep" RETURN (CHILDREN)')
report(len(lines) == 1 and "\\NonExistent" in lines[0], "extended LIST: a parent is \\NonExistent", lines)
u, t = c.cmd('LIST "" "%" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))')
st = [l for l in u if l.startswith("* STATUS")]
report(any(re.match(r'\* STATUS "?INBOX"? \(MESSAGES 5 UNSEEN 5 UIDNEXT ', l) for l in st) and
       not any('"Deep"' in l or " Deep " in l for l in st),
       "LIST-STATUS: STATUS after each selectable folder", st)

# subscriptions, as Dovecot keeps them
lines, u, t = list_lines(c, 'LSUB "" "*"')
report(len(lines) >= 8, "before any SUBSCRIBE every folder counts as subscribed", lines)
for name in ("Sent", "Archive/2024"):
    c.cmd('SUBSCRIBE "%s"' % name)
subs = open(os.path.join(MAILDIR, "subscriptions")).read()
report(subs.startswith("V\t2\n\n") and "Archive\t2024\n" in subs and "Sent\n" in subs,
       "SUBSCRIBE writes Dovecot's subscriptions file", repr(subs))
lines, u, t = list_lines(c, 'LSUB "" "*"')
names = sorted(re.sub(r'.*"/" ', "", l).strip('"') for l in lines)
report(names == ["Archive/2024", "Sent"] and any("\\Sent" in l for l in lines if l.endswith('"Sent"')),
       "LSUB: the subscribed folders, with special-use", lines)
lines, u, t = list_lines(c, 'LSUB "" "%"')
report(any(l.endswith('"Archive"') and "\\Noselect" in l for l in lines),
       'LSUB "%": the parent of a subscribed folder is \\Noselect', lines)
lines, u, t = list_lines(c, 'LIST (SUBSCRIBED) "" "*"')
report(sorted(re.sub(r'.*"/" ', "", l).strip('"') for l in lines) == ["Archive/2024", "Sent"] and
       all("\\Subscribed" in l for l in lines), "LIST (SUBSCRIBED): \\Subscribed", lines)
lines, u, t = list_lines(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
report(any(l.endswith('Archive" ("CHILDINFO" ("SUBSCRIBED"))') for l in lines),
       "RECURSIVEMATCH: CHILDINFO for the parent", lines)
c.cmd('UNSUBSCRIBE "Sent"')
lines, u, t = list_lines(c, 'LSUB "" "*"')
report([re.sub(r'.*"/" ', "", l).strip('"') for l in lines] == ["Archive/2024"], "UNSUBSCRIBE", lines)

# RENAME and DELETE
u, t = c.cmd('RENAME "Archive" "Old"')
report(status(t) == "OK" and os.path.isdir(os.path.join(MAILDIR, ".Old.2024", "cur")) and
       not os.path.exists(os.path.join(MAILDIR, ".Archive")), "RENAME moves the folder and its children", t)
u, t = c.cmd('RENAME "Old" "Sent"')
report(status(t) == "NO" and "ALREADYEXISTS" in t, "RENAME onto an existing folder: NO", t)
u, t = c.cmd('RENAME "Nope" "Other"')
report(status(t) == "NO" and "NONEXISTENT" in t, "RENAME of a missing folder: NO [NONEXISTENT]", t)
u, t = c.cmd('DELETE "Parent"')
report(status(t) == "OK" and not os.path.exists(os.path.join(MAILDIR, ".Parent")), "DELETE", t)
u, t = c.cmd('DELETE "Parent"')
report(status(t) == "NO" and "NONEXISTENT" in t, "DELETE of a missing folder: NO [NONEXISTENT]", t)
u, t = c.cmd("DELETE INBOX")
report(status(t) == "NO", "DELETE INBOX: NO", t)
report(not any(e.startswith("..") for e in os.listdir(MAILDIR)), "no scratch directory is left",
       os.listdir(MAILDIR))

# No name leaves the Maildir.
before = set(os.listdir(os.path.dirname(MAILDIR)))
for bad in ("../escape", "/etc", "~root", "a/../b", "a//b", "%", "*", "&AC4ALg-", "A..B", "&AC8-x",
            "..", ".hidden", "&ZeVnLIqe", "Sent/", "a\\b/../../c"):
    for verb in ("CREATE", "SELECT", "RENAME \"Sent\"", "DELETE", "APPEND"):
        arg = ' "%s"' % bad.replace("\\", "\\\\") if verb != "APPEND" else ' "%s" {1+}\r\nx' % bad
        u, t = c.cmd(verb + arg)
        okish = status(t) in ("NO", "BAD") or (verb == "CREATE" and bad == "Sent/")
        if not okish:
            report(False, "a bad name is refused: %s %s" % (verb, bad), t)
report(set(os.listdir(os.path.dirname(MAILDIR))) == before and
       not any(".." in e[1:] or e in (".hidden",) for e in os.listdir(MAILDIR)),
       "bad folder names (.., /, ~, %, *, &AC4ALg- which decodes to .., odd UTF-7) create nothing anywhere",
       os.listdir(MAILDIR))

# ---- messages: COPY, MOVE, UIDPLUS ----
u, t = c.cmd("SELECT INBOX")
exists = [l for l in u if l.endswith(" EXISTS")]
report(exists == ["* 5 EXISTS"] and "[READ-WRITE]" in t, "SELECT INBOX: 5 messages", u + [t])
report("* 5 RECENT" in u, "the first SELECT gets the new messages as \\Recent", u)
report(not os.listdir(os.path.join(MAILDIR, "new")), "SELECT moved them from new/ to cur/",
       os.listdir(os.path.join(MAILDIR, "new")))
c2 = Client()
u, t = c2.cmd("SELECT INBOX")
report("* 0 RECENT" in u, "a second session does not get them as \\Recent", u)
c2.cmd("UNSELECT")
u, t = c.cmd("STORE 1 +FLAGS ($Label1 \\Flagged)")
u, t = c.cmd("COPY 1:2 Sent")
m = re.search(r"\[COPYUID (\d+) 1:2 (\d+):(\d+)\]", t)
report(status(t) == "OK" and m, "COPY answers COPYUID", t)
u, t = c.cmd("UID COPY 3 Sent")
report(re.search(r"\[COPYUID \d+ 3 3\]", t) is not None, "UID COPY: COPYUID with the next UID", t)
u, t = c.cmd('MOVE 4 "Old/2024"')
report(any(re.match(r"\* OK \[COPYUID \d+ 4 1\]", l) for l in u) and "* 4 EXPUNGE" in u and status(t) == "OK",
       "MOVE: untagged COPYUID, EXPUNGE, then OK", u + [t])
u, t = c.cmd('UID MOVE 5 "Old/2024"')
report("* 4 EXPUNGE" in u and any("COPYUID" in l and " 5 2]" in l for l in u), "UID MOVE", u + [t])
u, t = c.cmd("SELECT Sent")
report("* 3 EXISTS" in u, "the copies are in Sent", u)
u, t = c.cmd("FETCH 1 (FLAGS)")
report(any("$Label1" in l and "\\Flagged" in l for l in u), "a copy keeps its flags and keywords", u)
kw = open(os.path.join(MAILDIR, ".Sent", "dovecot-keywords")).read()
report("$Label1" in kw, "the destination's dovecot-keywords names the keyword", repr(kw))
u, t = c.cmd("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
u, t = c.cmd("UID EXPUNGE 2")
report([l for l in u if "EXPUNGE" in l] == ["* 2 EXPUNGE"] and status(t) == "OK",
       "UID EXPUNGE removes only the UIDs named", u + [t])
u, t = c.cmd("CHECK")
report(status(t) == "OK", "CHECK", t)
c.cmd("CLOSE")

# ---- other writers and two sessions ----
inbox = MAILDIR
for i in range(3):
    deliver(inbox, "1800000100.M%dP1.other" % i, "other %d" % i)
a, b = Client(), Client()
a.cmd("SELECT INBOX")
u, t = b.cmd("SELECT INBOX")
n = int([l for l in u if l.endswith(" EXISTS")][0].split()[1])
u, t = a.cmd("STORE 1 +FLAGS (\\Answered)")
u, t = b.cmd("NOOP")
report(any(re.match(r"\* 1 FETCH \(.*FLAGS \([^)]*\\Answered", l) for l in u),
       "another session's flag change reaches this one at NOOP", u)
deliver(inbox, "1800000200.M1P1.other", "delivered later")
u, t = b.cmd("NOOP")
report("* %d EXISTS" % (n + 1) in u, "a delivery by another writer: EXISTS at NOOP", u)
a.cmd("NOOP")
a.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
a.cmd("EXPUNGE")
u, t = b.cmd("FETCH 1:* (FLAGS)")
report(not any("EXPUNGE" in l for l in u), "no EXPUNGE during FETCH", u)
u, t = b.cmd("STORE 1 -FLAGS (\\Seen)")
report(not any("EXPUNGE" in l for l in u), "no EXPUNGE during STORE", u)
u, t = b.cmd("SEARCH ALL")
report(not any("EXPUNGE" in l for l in u) and len(u[-1].split()) - 2 == n + 1,
       "no EXPUNGE during SEARCH, and the old count", u)
u, t = b.cmd("NOOP")
report("* 2 EXPUNGE" in u, "the expunge is told at NOOP", u)
u, t = b.cmd("UID FETCH 1:* (UID)")
report(len([l for l in u if "FETCH" in l]) == n, "the views agree after the expunge", u)

# An answer to UID FETCH that fills the output buffer goes out before its
# tagged line, and the folder's index is written after it: another
# session's expunge must not slip in behind that tagged line, where the
# client reads it as part of its next command (here a FETCH). Seen once in
# test-serve-load.sh.
big = "1800000250.M1P1.big"
with open(os.path.join(inbox, "tmp", big), "w") as f:
    f.write("From: x@example.org\nSubject: big\nMessage-ID: <big@t>\n\n" +
            ("0123456789" * 7 + "\n") * 4500)
os.rename(os.path.join(inbox, "tmp", big), os.path.join(inbox, "new", big))
b.cmd("NOOP")
u, t = b.cmd("UID SEARCH SUBJECT big")
big_uid = u[0].split()[-1]
a.cmd("NOOP")
a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
a.cmd("EXPUNGE")
u, t = b.cmd("UID FETCH %s (BODY.PEEK[])" % big_uid)
u2, t2 = b.cmd("FETCH 1 (FLAGS)")
report(not any("EXPUNGE" in l for l in u2),
       "no EXPUNGE behind a long UID FETCH's tagged line (it lands in the next FETCH)",
       [l[:60] for l in u + [t] + u2])
u3, t3 = b.cmd("NOOP")
report(sum("EXPUNGE" in l for l in u + u2 + u3) == 1,
       "the expunge is told once, at the UID FETCH or the next NOOP", [l[:60] for l in u + u2 + u3])

# IDLE: changes arrive as they happen
b.n += 1
b.send("t%d IDLE\r\n" % b.n)
cont = b.line()
report(cont.startswith("+"), "IDLE: a continuation", cont)
t0 = time.time()
deliver(inbox, "1800000300.M1P1.other", "while idling")
line = b.line()
report(re.match(r"\* \d+ EXISTS", line) is not None and time.time() - t0 < 2,
       "IDLE: a delivery is told within 2 s (%.2f s)" % (time.time() - t0), line)
seen_lines = [b.line()]  # RECENT
cur = os.path.join(inbox, "cur")
victim = sorted(f for f in os.listdir(cur) if f.startswith("1800000100.M1P1"))[0]
base = victim.split(":")[0]
os.rename(os.path.join(cur, victim), os.path.join(cur, base + ":2,FS"))
line = b.line()
report(re.match(r"\* \d+ FETCH \(UID \d+ FLAGS \(\\Flagged \\Seen", line) is not None,
       "IDLE: a rename by another writer (mbsync) is a FETCH FLAGS", line)
os.unlink(os.path.join(cur, base + ":2,FS"))
line = b.line()
report(re.match(r"\* \d+ EXPUNGE", line) is not None, "IDLE: a file removed is an EXPUNGE", line)
b.send("DONE\r\n")
line = b.line()
report(line == "t%d OK IDLE terminated" % b.n, "DONE ends IDLE with OK", line)
u, t = b.cmd("NOOP")
report(status(t) == "OK", "the session goes on after IDLE", t)
a.close()
b.close()

# RENAME INBOX moves its messages and leaves INBOX empty.
c = Client()
u, t = c.cmd("STATUS INBOX (MESSAGES)")
before = int(re.search(r"MESSAGES (\d+)", u[0]).group(1))
u, t = c.cmd('RENAME INBOX "Saved"')
u2, t2 = c.cmd("STATUS Saved (MESSAGES)")
u3, t3 = c.cmd("STATUS INBOX (MESSAGES)")
report(status(t) == "OK" and "MESSAGES %d" % before in u2[0] and "MESSAGES 0" in u3[0],
       "RENAME INBOX moves every message and keeps INBOX", [t] + u2 + u3)
c.close()
