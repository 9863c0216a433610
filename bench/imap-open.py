#!/usr/bin/env python3
"""Opens an IMAP INBOX the way mail clients do, once, and times it.

usage: imap-open.py PORT USER PASS PARENT_PID COMM [BODIES] [SEED]

Over a raw socket (imaplib's parsing would be most of the time): LOGIN
(and ENABLE CONDSTORE when $CONDSTORE is set: every FETCH then carries
MODSEQ, as for Thunderbird or K-9), then, timed with time.perf_counter:
  select   SELECT INBOX
  headers  UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE
           BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)])
  bodies   BODIES (default 200) whole messages, one UID FETCH <uid>
           BODY.PEEK[] each, as a reader opens them (a seeded sample)
then, still connected, the memory of the server's process serving this
session: the child of PARENT_PID named COMM that appeared with this
connection (VmRSS now, VmHWM its peak).

Prints one line: "select headers bodies total rss_kb hwm_kb count digest
cpu", times in seconds; digest hashes every literal and RFC822.SIZE
received, so that two servers' answers can be compared; cpu is the user +
system time of the session's process so far (login included).
"""
import hashlib
import os
import random
import re
import socket
import sys
import time

LIT = re.compile(rb"\{(\d+)\}$")
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
UID = re.compile(rb"UID (\d+)")


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.pos = 0  # what is read of buf: no copy of the rest per line
        self.tag = 0
        self.readline()  # greeting

    def more(self):
        got = self.s.recv(1 << 20)
        if not got:
            raise SystemExit("the server closed the connection")
        self.buf = self.buf[self.pos:] + got
        self.pos = 0

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self.more()

    def command(self, text, on_untagged=None):
        """Sends a command; returns the tagged line. on_untagged(line, literals)
        gets each untagged response with its literals."""
        self.tag += 1
        tag = b"b%d" % self.tag
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        while True:
            line, lits = self.response()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise SystemExit("%s: %s" % (text[:40], line.decode(errors="replace")))
                return line
            if on_untagged is not None:
                on_untagged(line, lits)

    def response(self):
        """One response: its lines joined, and its literals."""
        parts, lits = [], []
        while True:
            line = self.readline()
            parts.append(line)
            m = LIT.search(line) if line.endswith(b"}") else None
            if m is None:
                return b"".join(parts), lits
            n = int(m.group(1))
            while len(self.buf) - self.pos < n:
                self.more()
            lits.append(self.buf[self.pos:self.pos + n])
            self.pos += n


def children(parent, comm):
    out = set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if ppid == parent and name == comm:
            out.add(int(d))
    return out


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid):
    got = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                got[k] = int(v.split()[0])
    return got.get("VmRSS", 0), got.get("VmHWM", 0)


def main():
    port, user, pw, parent, comm = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    nbodies = int(sys.argv[6]) if len(sys.argv) > 6 else 200
    seed = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    before = children(parent, comm)
    c = Conn(port)
    c.command('LOGIN "%s" "%s"' % (user, pw))
    if os.environ.get("CONDSTORE"):
        c.command("ENABLE CONDSTORE")
    digest = hashlib.sha256()
    uids = []

    def on_fetch(line, lits):
        if b" FETCH " not in line:
            return
        m = UID.search(line)
        uids.append(int(m.group(1)) if m else 0)
        s = SIZE.search(line)
        digest.update(s.group(1) if s else b"-")
        for lit in lits:
            digest.update(lit)

    def on_body(line, lits):
        for lit in lits:
            digest.update(lit)

    t0 = time.perf_counter()
    c.command("SELECT INBOX")
    t1 = time.perf_counter()
    c.command("UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE "
              "BODY.PEEK[HEADER.FIELDS (From To Subject Date Message-ID)])", on_fetch)
    t2 = time.perf_counter()
    pick = sorted(random.Random(seed).sample(uids, min(nbodies, len(uids))))
    for uid in pick:
        c.command("UID FETCH %d BODY.PEEK[]" % uid, on_body)
    t3 = time.perf_counter()
    # The session's process: the one that came with this connection.
    pids = children(parent, comm) - before or children(parent, comm)
    rss = max((memory(p) for p in pids), default=(0, 0))
    used = max((cpu(p) for p in pids), default=0)
    c.command("LOGOUT")
    print("%.4f %.4f %.4f %.4f %d %d %d %s %.2f" % (t1 - t0, t2 - t1, t3 - t2, t3 - t0, rss[0], rss[1],
                                                   len(uids), digest.hexdigest()[:16], used))


main()
