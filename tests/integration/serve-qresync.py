#!/usr/bin/env python3
"""CONDSTORE/QRESYNC (RFC 7162) against `corral serve` over a raw socket.

usage: serve-qresync.py PORT NMSGS
Session A enables QRESYNC, selects INBOX and notes UIDVALIDITY and
HIGHESTMODSEQ, then logs out. Session B changes one flag and expunges
three messages. A reconnects with SELECT INBOX (QRESYNC (uidvalidity
modseq 1:N)): the answer must hold exactly one VANISHED (EARLIER) naming
the three UIDs and one FETCH (the flag change), and its size is bounded
(one line per change, not per message). Prints TAP lines, "ok"/"not ok",
and the bytes exchanged."""
import re
import socket
import sys
import time

port, nmsgs = int(sys.argv[1]), int(sys.argv[2])
results = []


def check(cond, name, detail=""):
    results.append(cond)
    print(("ok " if cond else "not ok ") + name + ("" if cond or not detail else " # " + detail[:400]))


class Session:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""
        self.sent = self.received = 0
        self.n = 0
        self.line()  # greeting

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError
            self.received += len(d)
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def cmd(self, text):
        self.n += 1
        tag = "q%d" % self.n
        data = ("%s %s\r\n" % (tag, text)).encode()
        self.sent += len(data)
        self.s.sendall(data)
        out = []
        while True:
            l = self.line()
            if l.startswith(tag + " "):
                return out, l
            out.append(l)

    def close(self):
        self.cmd("LOGOUT")
        self.s.close()


a = Session()
a.cmd("LOGIN me sesame")
_, t = a.cmd("ENABLE QRESYNC")
check(t.split()[1] == "OK", "ENABLE QRESYNC", t)
u, t = a.cmd("SELECT INBOX (CONDSTORE)")
text = "\n".join(u)
uv = int(re.search(r"UIDVALIDITY (\d+)", text).group(1))
hms = int(re.search(r"HIGHESTMODSEQ (\d+)", text).group(1))
check(("* %d EXISTS" % nmsgs) in u, "SELECT sees %d messages" % nmsgs)
u, t = a.cmd("UID FETCH 1:* (UID MODSEQ) (CHANGEDSINCE %d)" % hms)
check(t.split()[1] == "OK" and not u, "nothing changed since HIGHESTMODSEQ", repr(u[:3]))
a.close()

b = Session()
b.cmd("LOGIN me sesame")
b.cmd("SELECT INBOX")
u, t = b.cmd("UID STORE 7 +FLAGS (\\Flagged)")
check(t.split()[1] == "OK", "B flags UID 7", t)
u, t = b.cmd("UID STORE 100,200,300 +FLAGS.SILENT (\\Deleted)")
u, t = b.cmd("UID EXPUNGE 100,200,300")
check(t.split()[1] == "OK" and len(u) == 3, "B expunges three", repr(u))
b.close()

a = Session()
a.cmd("LOGIN me sesame")
a.cmd("ENABLE QRESYNC")
before_sent, before_recv = a.sent, a.received
start = time.time()
u, t = a.cmd("SELECT INBOX (QRESYNC (%d %d 1:%d))" % (uv, hms, nmsgs))
took = time.time() - start
sel_bytes = (a.sent - before_sent) + (a.received - before_recv)
check(t.split()[1] == "OK", "SELECT (QRESYNC ...)", t)
vanished = [l for l in u if l.startswith("* VANISHED")]
fetches = [l for l in u if " FETCH " in l]
check(vanished == ["* VANISHED (EARLIER) 100,200,300"], "exactly VANISHED (EARLIER) 100,200,300", repr(vanished))
check(len(fetches) == 1 and "UID 7 " in fetches[0] and "\\Flagged" in fetches[0]
      and "MODSEQ (" in fetches[0], "exactly one FETCH, of UID 7 with its MODSEQ", repr(fetches[:3]))
check(("* %d EXISTS" % (nmsgs - 3)) in u, "EXISTS is %d" % (nmsgs - 3))
# The select's other lines are the usual ten or so: far from one per message.
check(len(u) <= 14 and sel_bytes < 1500, "the resync costs %d lines, %d bytes" % (len(u), sel_bytes),
      repr(u))
new_hms = int(re.search(r"HIGHESTMODSEQ (\d+)", "\n".join(u)).group(1))
check(new_hms > hms, "HIGHESTMODSEQ grew (%d -> %d)" % (hms, new_hms))
u, t = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hms)
check(len(u) == 2 and u[0] == "* VANISHED (EARLIER) 100,200,300", "UID FETCH (CHANGEDSINCE VANISHED)", repr(u))
u, t = a.cmd("STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
check(u and ("HIGHESTMODSEQ %d" % new_hms) in u[0], "STATUS HIGHESTMODSEQ", repr(u))
u, t = a.cmd("UID SEARCH MODSEQ %d" % (hms + 1))
check(u and u[0].startswith("* SEARCH 7 (MODSEQ "), "SEARCH MODSEQ finds UID 7", repr(u))
u, t = a.cmd("UID STORE 7 (UNCHANGEDSINCE %d) -FLAGS (\\Flagged)" % hms)
check("[MODIFIED 7]" in t, "STORE (UNCHANGEDSINCE old) says MODIFIED", t)
# A mod-sequence older than anything the record of expunges holds (1:
# below the floor): every known UID that is gone, and every known message.
u, t = a.cmd("SELECT INBOX (QRESYNC (%d 1 1:400,%d:4294967295))" % (uv, nmsgs - 1))
vanished = [l for l in u if l.startswith("* VANISHED")]
fetches = [l for l in u if " FETCH " in l]
check(vanished == ["* VANISHED (EARLIER) 100,200,300"],
      "a client older than the record: the gone known UIDs, none past UIDNEXT", repr(vanished))
check(len(fetches) == 397 + 2, "and a FETCH for each known message (%d)" % len(fetches))
a.close()
print("# QRESYNC SELECT over %d messages: %d bytes exchanged, %.3f s" % (nmsgs, sel_bytes, took))
sys.exit(0 if all(results) else 1)
