#!/usr/bin/env python3
"""Many clients at once on `corral serve` (test-serve-load.sh): NCLIENTS
processes, each one IMAP session over a raw socket, do mixed work for
SECONDS while `corral fetch` delivers into the same folders. Every
untagged line is parsed and checked against the session's own view
(EXISTS never lower without EXPUNGE, no EXPUNGE during FETCH/STORE/SEARCH,
sequence numbers within the count, UIDs rising with sequence numbers);
every tagged answer must be OK or an expected NO. When STOPFILE exists and
the time is up, every session does NOOP and UID FETCH 1:* (FLAGS), and the
parent compares each view with the Maildir on disk (dovecot-uidlist, file
names, dovecot-keywords) and counts every Message-ID: delivered by fetch
(EXPECTED, one per line) or appended, each exactly once unless a client
copied it (COPYUID) or expunged it (a \\Deleted it stored, in Trash only).

Prints "PASS<TAB>name" or "FAIL<TAB>name<TAB>what was seen", and "#" lines.

usage: serve-load.py PORT USER PASSWORD MAILDIR OUTDIR SECONDS NCLIENTS STOPFILE EXPECTED
"""
import json
import multiprocessing
import os
import random
import re
import socket
import sys
import time

PORT, USER, PASSWORD, MAILDIR, OUTDIR = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                                         sys.argv[4], sys.argv[5])
SECONDS, NCLIENTS, STOPFILE, EXPECTED = (float(sys.argv[6]), int(sys.argv[7]), sys.argv[8],
                                         sys.argv[9])
FOLDERS = ["INBOX", "Work", "Lists", "Trash"]
# Deletion happens in Trash only, and nothing leaves Trash but by EXPUNGE:
# then every expunged message is one a client marked, and counts add up.
TRASH = "Trash"
KEYWORDS = ["$Label1", "$Label2", "Project", "$Junk"]
# The NO answers another client's work can cause.
EXPECTED_NO = re.compile(r"EXPUNGEISSUED|messages are gone|ALREADYEXISTS")
# RFC 3501 7.4.1: not during these; the UID forms are other commands and may.
NO_SYNC_EXPUNGE = {"FETCH", "STORE", "SEARCH"}


def report(ok, name, seen=""):
    seen = str(seen).replace("\t", " ").replace("\n", " | ")[:800]
    print("PASS\t%s" % name if ok else "FAIL\t%s\t%s" % (name, seen), flush=True)


# ---- a response parser: atoms, quoted strings, literals, lists ----

def parse_value(data, pos):
    """One value at data[pos:]: bytes (atom or string), None (NIL) or a
    list; returns (value, new pos)."""
    c = data[pos:pos + 1]
    if c == b"(":
        items, pos = [], pos + 1
        while True:
            while data[pos:pos + 1] == b" ":
                pos += 1
            if data[pos:pos + 1] == b")":
                return items, pos + 1
            if pos >= len(data):
                raise ValueError("a list without its )")
            v, pos = parse_value(data, pos)
            items.append(v)
    if c == b'"':
        out, pos = bytearray(), pos + 1
        while True:
            ch = data[pos:pos + 1]
            if ch == b"":
                raise ValueError("a quoted string without its end")
            if ch == b"\\":
                out += data[pos + 1:pos + 2]
                pos += 2
                continue
            if ch == b'"':
                return bytes(out), pos + 1
            out += ch
            pos += 1
    if c == b"{":
        m = re.match(rb"\{(\d+)\}\r\n", data[pos:])
        if not m:
            raise ValueError("a malformed literal")
        n = int(m.group(1))
        start = pos + m.end()
        if start + n > len(data):
            raise ValueError("a short literal")
        return data[start:start + n], start + n
    start = pos
    while pos < len(data) and data[pos:pos + 1] not in (b" ", b"(", b")"):
        if data[pos:pos + 1] == b"[":  # a section: BODY[HEADER.FIELDS (A B)]
            end = data.find(b"]", pos)
            if end < 0:
                raise ValueError("a [ without its ]")
            pos = end
        pos += 1
    if pos == start:
        raise ValueError("expected a value at %d" % pos)
    atom = data[start:pos]
    return (None if atom.upper() == b"NIL" else atom), pos


def fetch_items(data):
    """The dict of a FETCH response's parenthesised items (keys upper case)."""
    v, pos = parse_value(data, 0)
    if pos != len(data) or not isinstance(v, list) or len(v) % 2:
        raise ValueError("not a FETCH item list")
    out = {}
    for k, x in zip(v[0::2], v[1::2]):
        key = k.decode("latin-1").upper()
        key = re.sub(r"<\d+>$", "", key)
        out[key] = x
    return out


def msgid_of(header):
    m = re.search(rb"(?im)^message-id:[ \t]*(.*?)\r?$", header)
    return m.group(1).strip().decode("latin-1") if m else None


class ProtocolError(Exception):
    pass


class Session:
    """One client: a raw connection, its view of the selected folder, and
    what it did that changes the message count (for the parent)."""

    def __init__(self, cid):
        self.cid = cid
        self.rnd = random.Random(cid * 7919 + os.getpid())
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
        self.buf = b""
        self.n = 0
        self.errors = []
        self.stats = {}
        self.nos = []
        self.folder = None
        self.rw = False
        self.count = 0          # EXISTS as this session knows it
        self.uids = []          # uids[seq - 1], None until a FETCH said it
        self.flags = {}         # uid -> set of flags
        self.msgid = {}         # (folder, uid) -> Message-ID
        self.cmd = None
        self.log = {"appended": [], "append_unsure": [], "copied": [], "copy_unsure": [],
                    "marked": [], "moved": 0}
        greeting = self.read_resp()
        if not greeting.startswith(b"* OK"):
            raise ProtocolError("greeting %r" % greeting[:80])

    # -- the wire --
    def read_resp(self):
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                got = self.s.recv(1 << 16)
                if not got:
                    raise EOFError("the server closed the connection")
                self.buf += got
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            n = int(m.group(1))
            while len(self.buf) < n:
                got = self.s.recv(1 << 16)
                if not got:
                    raise EOFError("the server closed the connection in a literal")
                self.buf += got
            out += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]

    def error(self, what):
        self.errors.append("client %d %s: %s" % (self.cid, self.cmd, what))

    # -- the view, checked line by line --
    def untagged(self, line):
        m = re.match(rb"\* (\d+) (EXISTS|RECENT|EXPUNGE|FETCH)(?: (.*))?$", line, re.S)
        if m:
            num, what, rest = int(m.group(1)), m.group(2), m.group(3)
            if what == b"EXISTS":
                if num < self.count:
                    self.error("EXISTS went down from %d to %d without EXPUNGE" % (self.count, num))
                self.uids += [None] * (num - self.count)
                self.count = num
            elif what == b"EXPUNGE":
                if self.cmd in NO_SYNC_EXPUNGE:
                    self.error("EXPUNGE %d during %s" % (num, self.cmd))
                if not 1 <= num <= self.count:
                    self.error("EXPUNGE %d of %d messages" % (num, self.count))
                else:
                    u = self.uids.pop(num - 1)
                    self.flags.pop(u, None)
                    self.count -= 1
            elif what == b"FETCH":
                self.fetch_resp(num, rest)
            return
        if re.match(rb"\* (OK|NO|FLAGS|LIST|LSUB|STATUS|SEARCH|ESEARCH|CAPABILITY|ENABLED|"
                    rb"NAMESPACE|ID)\b", line):
            if line.startswith(b"* STATUS") or line.startswith(b"* LIST"):
                try:  # well-formed: name, then a list
                    parse_value(line, line.index(b"(") if line.startswith(b"* STATUS") else 7)
                except ValueError as e:
                    self.error("%s: %r" % (e, line[:120]))
            if line.startswith(b"* SEARCH"):
                nums = [int(x) for x in line.split()[2:]]
                if self.cmd == "SEARCH" and any(x < 1 or x > self.count for x in nums):
                    self.error("SEARCH beyond %d: %r" % (self.count, line[:120]))
            mc = re.search(rb"\[COPYUID (\d+) (\S+) (\S+)\]", line)
            if mc:
                self.copyuid = mc.group(2).decode()
            return
        if line.startswith(b"* BYE") and self.cmd == "LOGOUT":
            return
        self.error("unexpected untagged line %r" % line[:160])

    def fetch_resp(self, num, rest):
        if not 1 <= num <= self.count:
            self.error("FETCH for %d of %d messages" % (num, self.count))
            return
        try:
            items = fetch_items(rest)
        except ValueError as e:
            self.error("unparsable FETCH (%s): %r" % (e, rest[:160]))
            return
        self.last_fetch.append((num, items))
        if "UID" not in items:
            if self.cmd and self.cmd.startswith("UID "):
                self.error("UID %s answer without UID: %r" % (self.cmd, rest[:120]))
            uid = self.uids[num - 1]
        else:
            uid = int(items["UID"])
            known = self.uids[num - 1]
            if known is not None and known != uid:
                self.error("message %d was UID %d, now UID %d" % (num, known, uid))
            self.uids[num - 1] = uid
            before = [u for u in self.uids[:num - 1] if u is not None]
            after = [u for u in self.uids[num:] if u is not None]
            if (before and before[-1] >= uid) or (after and after[0] <= uid):
                self.error("UID %d at %d breaks the order" % (uid, num))
        if "FLAGS" in items and uid is not None:
            self.flags[uid] = set(f.decode() for f in items["FLAGS"]) - {"\\Recent"}
        for k, v in items.items():
            if k.startswith("BODY[") and uid is not None and isinstance(v, bytes):
                mid = msgid_of(v)
                if mid:
                    self.msgid[(self.folder, uid)] = mid
        if "RFC822.SIZE" in items and "BODY[]" in items and items["BODY[]"] is not None:
            if int(items["RFC822.SIZE"]) != len(items["BODY[]"]):
                self.error("RFC822.SIZE %s but BODY[] has %d bytes" % (
                    items["RFC822.SIZE"], len(items["BODY[]"])))

    def command(self, text, literal=None, plus=False):
        """Sends a command (with one literal at the end when given); returns
        (status, tagged text). Untagged lines go through untagged()."""
        self.n += 1
        tag = b"c%d" % self.n
        self.cmd = " ".join(text.split()[:2]).upper() if text.upper().startswith("UID ") \
            else text.split()[0].upper()
        self.stats[self.cmd] = self.stats.get(self.cmd, 0) + 1
        self.last_fetch = []
        self.copyuid = None
        if literal is None:
            self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        elif plus:
            self.s.sendall(tag + b" " + text.encode() + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text.encode() + b" {%d}\r\n" % len(literal))
            while True:
                line = self.read_resp()
                if line.startswith(b"+"):
                    break
                if line.startswith(tag + b" "):
                    return self.tagged(line, tag)
                self.untagged(line)
            self.s.sendall(literal + b"\r\n")
        while True:
            line = self.read_resp()
            if line.startswith(tag + b" "):
                return self.tagged(line, tag)
            if line.startswith(b"* "):
                self.untagged(line)
            else:
                self.error("not a response: %r" % line[:120])

    def tagged(self, line, tag):
        parts = line.decode("latin-1").split(" ", 2)
        status, text = parts[1], parts[2] if len(parts) > 2 else ""
        if status == "NO":
            self.nos.append("%s: %s" % (self.cmd, text[:80]))
            if not EXPECTED_NO.search(text):
                self.error("unexpected NO: %s" % line[:160].decode("latin-1"))
        elif status != "OK":
            self.error("%s: %s" % (status, line[:200].decode("latin-1")))
        mc = re.search(r"\[COPYUID (\d+) (\S+) (\S+)\]", text)
        if mc:
            self.copyuid = mc.group(2)
        return status, text

    # -- operations --
    def select(self, folder, examine=False):
        self.folder = None
        self.count, self.uids, self.flags = 0, [], {}
        st, text = self.command('%s "%s"' % ("EXAMINE" if examine else "SELECT", folder))
        if st == "OK":
            self.folder, self.rw = folder, not examine
            if self.count > 0:  # 1:* names no message in an empty folder
                self.command("FETCH 1:* (UID FLAGS)")

    def known(self):
        return [u for u in self.uids if u is not None]

    def pick_uids(self, k):
        us = self.known()
        return sorted(self.rnd.sample(us, min(k, len(us)))) if us else []

    def learn_msgids(self, uids):
        if uids:
            self.command("UID FETCH %s (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])" % ",".join(map(str, uids)))
        return [u for u in uids if (self.folder, u) in self.msgid]

    def op_copy(self, move):
        if self.folder in (None, TRASH) or (move and not self.rw):
            return
        uids = self.learn_msgids(self.pick_uids(self.rnd.randint(1, 3)))
        if not uids:
            return
        dest = self.rnd.choice(FOLDERS)
        ids = {u: self.msgid[(self.folder, u)] for u in uids}
        try:
            st, text = self.command('UID %s %s "%s"' % ("MOVE" if move else "COPY",
                                                         ",".join(map(str, uids)), dest))
        except Exception:
            if not move:
                self.log["copy_unsure"] += list(ids.values())
            raise
        if move:
            self.log["moved"] += 1
            return
        if self.copyuid is None:
            if st == "OK":
                self.log["copy_unsure"] += list(ids.values())
            return
        for u in expand(self.copyuid):
            if u not in ids:
                self.error("COPYUID names UID %d, which was not asked for" % u)
            else:
                self.log["copied"].append(ids[u])

    def op_delete(self):
        if self.folder != TRASH or not self.rw:
            return
        uids = self.learn_msgids(self.pick_uids(self.rnd.randint(1, 2)))
        if not uids:
            return
        self.command("UID STORE %s +FLAGS (\\Deleted)" % ",".join(map(str, uids)))
        for num, items in self.last_fetch:
            u = int(items.get("UID", 0))
            if u in uids and b"\\Deleted" in (items.get("FLAGS") or []):
                self.log["marked"].append([u, self.msgid[(TRASH, u)]])
        if self.rnd.random() < 0.5:
            self.command("EXPUNGE")
        else:
            self.command("UID EXPUNGE %s" % ",".join(map(str, uids)))

    def op_append(self):
        k = len(self.log["appended"]) + len(self.log["append_unsure"])
        mid = "<load-%d-%d.%d@corral.test>" % (self.cid, k, os.getpid())
        body = ("From: Load %d <load@example.org>\r\nTo: me@example.com\r\n"
                "Subject: Load message %d-%d\r\nMessage-ID: %s\r\n\r\n" % (self.cid, self.cid, k, mid)
                + "line of text\r\n" * self.rnd.randint(1, 200)).encode()
        flags = self.rnd.choice(["", "(\\Seen) ", "(\\Flagged $Label1) "])
        try:
            st, text = self.command('APPEND "%s"%s' % (self.rnd.choice(FOLDERS), (" " + flags).rstrip()),
                                    literal=body, plus=self.rnd.random() < 0.5)
        except Exception:
            self.log["append_unsure"].append(mid)
            raise
        if st == "OK":
            self.log["appended"].append(mid)

    def op_store(self):
        if self.folder is None or not self.rw:
            return
        uids = self.pick_uids(self.rnd.randint(1, 4))
        if not uids:
            return
        sign = self.rnd.choice("+-")
        # A keyword of this client's own too: 24 in all, each folder's
        # dovecot-keywords grows while other sessions store theirs.
        flags = " ".join(self.rnd.sample(["\\Seen", "\\Flagged", "\\Answered", "$C%d" % self.cid]
                                         + KEYWORDS, 2))
        item = "%sFLAGS%s (%s)" % (sign, self.rnd.choice(["", ".SILENT"]), flags)
        if self.rnd.random() < 0.5:
            self.command("UID STORE %s %s" % (",".join(map(str, uids)), item))
        else:  # by sequence numbers: no EXPUNGE may come during STORE
            self.command("STORE %s %s" % (",".join(str(self.uids.index(u) + 1) for u in uids), item))

    def op_fetch_body(self):
        if self.folder is None or self.count == 0:
            return
        if self.rnd.random() < 0.5:
            seq = self.rnd.randint(1, self.count)
            self.command("FETCH %d (UID RFC822.SIZE BODY%s[])" % (
                seq, "" if self.rw and self.rnd.random() < 0.3 else ".PEEK"))
        else:
            uids = self.pick_uids(2)
            if uids:
                self.command("UID FETCH %s (RFC822.SIZE BODY.PEEK[] FLAGS)" % ",".join(map(str, uids)))

    def op_idle(self):
        self.n += 1
        tag = b"c%d" % self.n
        self.cmd = "IDLE"
        self.stats["IDLE"] = self.stats.get("IDLE", 0) + 1
        self.s.sendall(tag + b" IDLE\r\n")
        while True:
            line = self.read_resp()
            if line.startswith(b"+"):
                break
            if line.startswith(tag + b" "):
                self.tagged(line, tag)
                return
            self.untagged(line)
        end = time.time() + self.rnd.uniform(1, 3)
        self.s.settimeout(0.2)
        try:
            while time.time() < end:
                try:
                    line = self.read_resp()
                except socket.timeout:
                    continue
                self.untagged(line)
        finally:
            self.s.settimeout(20)
        self.s.sendall(b"DONE\r\n")
        while True:
            line = self.read_resp()
            if line.startswith(tag + b" "):
                self.tagged(line, tag)
                return
            self.untagged(line)

    def one_op(self):
        r = self.rnd.random()
        folder = self.rnd.choice(FOLDERS)
        if self.folder is None or r < 0.06:
            self.select(folder, examine=self.rnd.random() < 0.15)
        elif r < 0.12:
            self.command("NOOP")
        elif r < 0.17:
            self.op_idle()
        elif r < 0.27:
            if self.count > 0:
                self.command("FETCH 1:* (FLAGS UID RFC822.SIZE)")
        elif r < 0.37:
            self.op_fetch_body()
        elif r < 0.49:
            self.op_store()
        elif r < 0.55:
            self.op_copy(move=False)
        elif r < 0.61:
            self.op_copy(move=True)
        elif r < 0.69:
            self.op_append()
        elif r < 0.75:
            # Deleting: in Trash only (see TRASH); elsewhere EXPUNGE finds nothing.
            if self.folder == TRASH:
                self.op_delete()
            elif self.rw:
                self.command("EXPUNGE")
        elif r < 0.83:
            self.command(self.rnd.choice(["SEARCH ALL", "UID SEARCH UNSEEN", "SEARCH FLAGGED",
                                          'SEARCH SUBJECT "message"', "UID SEARCH 1:*"]))
        elif r < 0.90:
            self.command('LIST "" "*"')
        else:
            self.command('STATUS "%s" (MESSAGES UIDNEXT UNSEEN RECENT)' % folder)

    def final(self):
        """NOOP, then this session's view with the UIDs and flags it has."""
        if self.folder is None:
            self.select(FOLDERS[self.cid % len(FOLDERS)])
        self.command("NOOP")
        self.command("UID FETCH 1:* (FLAGS)")
        view = {}
        for num, items in self.last_fetch:
            view[int(items["UID"])] = sorted(set(f.decode() for f in items["FLAGS"]) - {"\\Recent"})
        # Every message of the session's count, in its order (fetch_resp checked each).
        if self.uids != [int(items["UID"]) for num, items in self.last_fetch]:
            self.error("the session counts %d messages, UID FETCH 1:* answered %d" % (
                len(self.uids), len(self.last_fetch)))
        return view


def expand(seqset):
    out = []
    for part in seqset.split(","):
        a, _, b = part.partition(":")
        a, b = int(a), int(b or a)
        out += range(min(a, b), max(a, b) + 1)
    return out


def client(cid, barrier, start):
    res = {"cid": cid, "errors": [], "ops": 0}
    s = None
    try:
        s = Session(cid)
        st, text = s.command('LOGIN %s "%s"' % (USER, PASSWORD))
        if st != "OK":
            raise ProtocolError("LOGIN: %s" % text)
        while time.time() < start + SECONDS:
            s.one_op()
            res["ops"] += 1
    except Exception as e:
        res["errors"].append("client %d: %s during %s: %s" % (
            cid, type(e).__name__, s.cmd if s else "connect", e))
    # Everyone stops, then fetch's last run ends: the folders are still.
    try:
        barrier.wait(timeout=90)
        end = time.time() + 60
        while not os.path.exists(STOPFILE) and time.time() < end:
            time.sleep(0.1)
        barrier.wait(timeout=90)
    except Exception as e:
        res["errors"].append("client %d: the final barrier: %s" % (cid, e))
    try:
        if s is not None and not res["errors"]:
            res["view"] = s.final()
            res["folder"] = s.folder
            s.command("LOGOUT")
    except Exception as e:
        res["errors"].append("client %d: %s in the final look: %s" % (cid, type(e).__name__, e))
    if s is not None:
        res["errors"] += s.errors
        res["log"], res["stats"], res["nos"] = s.log, s.stats, s.nos
        res["rw"] = s.rw
        s.s.close()
    with open(os.path.join(OUTDIR, "client-%d.json" % cid), "w") as f:
        json.dump(res, f)


# ---- the disk, read directly ----

def folder_dir(name):
    return MAILDIR if name == "INBOX" else os.path.join(MAILDIR, "." + name.replace("/", "."))


def disk_folder(name):
    """{uid: (letters, Message-ID)} and the files without a UID."""
    d = folder_dir(name)
    base_uid = {}
    try:
        with open(os.path.join(d, "dovecot-uidlist"), "rb") as f:
            for line in f.read().decode("latin-1").splitlines()[1:]:
                m = re.match(r"(\d+) [^:]*:(.*)$", line)
                if m:
                    base_uid[m.group(2)] = int(m.group(1))
    except FileNotFoundError:
        pass
    kw = {}
    try:
        for line in open(os.path.join(d, "dovecot-keywords")).read().splitlines():
            i, _, name = line.partition(" ")
            kw[chr(ord("a") + int(i))] = name
    except FileNotFoundError:
        pass
    msgs, orphans = {}, []
    for sub in ("new", "cur"):
        for fn in os.listdir(os.path.join(d, sub)):
            base, _, info = fn.partition(":")
            letters = info[2:].split(",")[0] if info.startswith("2,") else ""
            with open(os.path.join(d, sub, fn), "rb") as f:
                head = f.read(65536)
            mid = msgid_of(head.split(b"\n\n")[0]) or "NOID"
            uid = base_uid.get(base)
            if uid is None:
                orphans.append((fn, mid))
            else:
                msgs[uid] = (letters, mid, kw)
    return msgs, orphans


LETTER = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def disk_flags(letters, kw):
    return sorted(LETTER[c] if c in LETTER else kw.get(c, "?" + c) for c in letters)


def main():
    os.makedirs(OUTDIR, exist_ok=True)
    boss = Session(999)
    boss.command('LOGIN %s "%s"' % (USER, PASSWORD))
    for f in FOLDERS[1:]:
        boss.command('CREATE "%s"' % f)
    boss.command("LOGOUT")
    report(not boss.errors, "setup: the folders exist", boss.errors)
    barrier = multiprocessing.Barrier(NCLIENTS)
    start = time.time()
    procs = [multiprocessing.Process(target=client, args=(i, barrier, start)) for i in range(NCLIENTS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=SECONDS + 200)
        if p.is_alive():
            p.kill()
    results = []
    for i in range(NCLIENTS):
        try:
            with open(os.path.join(OUTDIR, "client-%d.json" % i)) as f:
                results.append(json.load(f))
        except (OSError, ValueError):
            results.append({"cid": i, "errors": ["client %d left no result" % i]})
    stats, nos = {}, []
    for r in results:
        for k, v in r.get("stats", {}).items():
            stats[k] = stats.get(k, 0) + v
        nos += r.get("nos", [])
    print("# %d clients, %d operations: %s" % (
        NCLIENTS, sum(r.get("ops", 0) for r in results),
        " ".join("%s=%d" % kv for kv in sorted(stats.items()))))
    print("# %d expected NO answers, e.g. %s" % (len(nos), nos[:3]))
    errors = [e for r in results for e in r["errors"]]
    for e in errors[:15]:
        print("# " + e)
    report(not errors, "%d sessions: every answer OK or an expected NO, every untagged line "
           "consistent with the session's view, no disconnect" % NCLIENTS,
           "%d problems: %s" % (len(errors), errors[:3]))
    report(all(r.get("ops", 0) >= 20 for r in results), "every client did work (>= 20 operations)",
           [r.get("ops", 0) for r in results])
    for name in ("SELECT", "IDLE", "UID STORE", "UID COPY", "UID MOVE", "APPEND", "EXPUNGE"):
        report(stats.get(name, 0) > 0, "the mix included %s (%d)" % (name, stats.get(name, 0)))

    # Each session's view against the disk.
    disk = {f: disk_folder(f) for f in FOLDERS}
    bad_views = []
    for r in results:
        if "view" not in r:
            continue
        f = r["folder"]
        msgs, orphans = disk[f]
        want = {str(u): disk_flags(l, kw) for u, (l, mid, kw) in msgs.items()}
        got = {str(u): fl for u, fl in r["view"].items()}
        if r["rw"] and orphans:
            bad_views.append("client %d in %s: %d files without a UID" % (r["cid"], f, len(orphans)))
        if got != want:
            diff = sorted(set(got) ^ set(want), key=int)[:5]
            fl = [(u, got[u], want[u]) for u in got if u in want and got[u] != want[u]][:3]
            bad_views.append("client %d in %s: %d vs %d on disk, UIDs only one side has %s, flags %s"
                             % (r["cid"], f, len(got), len(want), diff, fl))
    print("# final views: %s" % " ".join("%d:%s/%d" % (r["cid"], r.get("folder"), len(r.get("view", {})))
                                         for r in results))
    report(sum("view" in r for r in results) == NCLIENTS and not bad_views,
           "after a final NOOP every session's UIDs and flags are the disk's "
           "(dovecot-uidlist, file names, dovecot-keywords)", bad_views[:3])

    # Every Message-ID exactly as often as fetch, APPEND, COPY and EXPUNGE say.
    expected = set(l.strip() for l in open(EXPECTED) if l.strip())
    appended, unsure, copies, copy_unsure, marks = set(), set(), {}, {}, {}
    for r in results:
        lg = r.get("log", {})
        appended |= set(lg.get("appended", []))
        unsure |= set(lg.get("append_unsure", []))
        for m in lg.get("copied", []):
            copies[m] = copies.get(m, 0) + 1
        for m in lg.get("copy_unsure", []):
            copy_unsure[m] = copy_unsure.get(m, 0) + 1
        for uid, m in lg.get("marked", []):
            marks.setdefault(m, set()).add(uid)
    on_disk, trash_uids = {}, {}
    for f in FOLDERS:
        msgs, orphans = disk[f]
        for uid, (l, mid, kw) in msgs.items():
            on_disk[mid] = on_disk.get(mid, 0) + 1
            if f == TRASH:
                trash_uids.setdefault(mid, set()).add(uid)
        for fn, mid in orphans:
            on_disk[mid] = on_disk.get(mid, 0) + 1
    lost, dup, extra = [], [], []
    for mid in expected | appended | unsure:
        expunged = len(marks.get(mid, set()) - trash_uids.get(mid, set()))
        want = 1 + copies.get(mid, 0) - expunged
        have = on_disk.get(mid, 0)
        if mid in unsure and have == 0:
            continue
        if have < want:
            lost.append("%s: %d of %d" % (mid, have, want))
        elif have > want + copy_unsure.get(mid, 0):
            dup.append("%s: %d of %d" % (mid, have, want))
    extra = sorted(set(on_disk) - expected - appended - unsure)
    print("# messages: %d delivered by fetch, %d appended, %d copies, %d expunged, %d files" % (
        len(expected), len(appended), sum(copies.values()),
        sum(len(v) for v in marks.values()), sum(on_disk.values())))
    report(len(expected) > 0 and not lost, "no message lost", lost[:5])
    report(not dup, "no message duplicated", dup[:5])
    report(not extra, "no message that nobody delivered", extra[:5])


if __name__ == "__main__":
    main()
