#!/usr/bin/env python3
"""Hostile input for `corral serve` (test-serve-hostile.sh), over raw
sockets: garbage, a 10 MB line, huge literals, wrong states, deep lists,
NULs, long tags, huge sequence numbers, 1000 keywords, pipelining, cut
connections, login floods. Each case must be answered BAD, NO or BYE
(never a crash, never a hang); after each one a new client can still
LOGIN, SELECT and FETCH, the serve log has no sanitizer report, and the
session's RSS stays under 100 MB. One well-behaved client stays connected
throughout and must still work at the end.

Prints "PASS<TAB>name" or "FAIL<TAB>name<TAB>what was seen", and "#" lines.

usage: serve-hostile.py PORT USER PASSWORD SERVE_PID SERVE_LOG MAILDIR
"""
import os
import random
import re
import socket
import sys
import threading
import time

PORT, USER, PASSWORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]
SPID, LOG, MAILDIR = int(sys.argv[4]), sys.argv[5], sys.argv[6]
RSS_MAX_KB = 100 * 1024
SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")


def report(ok, name, seen=""):
    seen = str(seen).replace("\t", " ").replace("\n", " | ")[:600]
    print("PASS\t%s" % name if ok else "FAIL\t%s\t%s" % (name, seen), flush=True)


def sessions():
    """The pids of corral serve's children (one per session)."""
    out = set()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == SPID and fields[0] != "Z":
            out.add(int(p))
    return out


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"VmRSS:\s+(\d+)", f.read())
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


class RssWatch:
    """Samples a pid's RSS every 20 ms until stopped: the peak."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.02)

    def end(self):
        self.stop = True
        self.t.join()
        return self.peak


class Raw:
    def __init__(self, login=False, select=False):
        before = sessions()
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        self.buf = b""
        self.greeting = self.line()
        new = sessions() - before
        self.pid = max(new) if new else None
        if login:
            self.expect('l1 LOGIN %s "%s"' % (USER, PASSWORD), "l1 OK")
        if select:
            self.expect("l2 SELECT INBOX", "l2 OK")

    def send(self, data):
        self.s.sendall(data.encode("latin-1") if isinstance(data, str) else data)

    def line(self, timeout=10):
        return self.raw_line(timeout).decode("latin-1")

    def raw_line(self, timeout):
        self.s.settimeout(timeout)
        while b"\r\n" not in self.buf:
            got = self.s.recv(1 << 16)
            if not got:
                raise EOFError("closed")
            self.buf += got
        line, self.buf = self.buf.split(b"\r\n", 1)
        m = re.search(rb"\{(\d+)\}$", line)
        if m:
            n = int(m.group(1))
            while len(self.buf) < n:
                got = self.s.recv(1 << 16)
                if not got:
                    raise EOFError("closed in a literal")
                self.buf += got
            line += b"\r\n" + self.buf[:n]
            self.buf = self.buf[n:]
            line += self.raw_line(timeout)
        return line

    def until(self, tag, timeout=10):
        """Lines up to the one tagged tag (or BYE and the end): the list."""
        out = []
        while True:
            try:
                l = self.line(timeout)
            except EOFError:
                out.append("<closed>")
                return out
            out.append(l)
            if l.startswith(tag + " "):
                return out

    def expect(self, cmd, start):
        self.send(cmd + "\r\n")
        lines = self.until(cmd.split()[0])
        if not lines[-1].startswith(start):
            raise AssertionError("%s: %s" % (cmd[:40], lines[-3:]))
        return lines

    def closed(self, timeout=5):
        """Whether the server closes the connection (reading what is left)."""
        end = time.time() + timeout
        self.s.settimeout(0.5)
        while time.time() < end:
            try:
                got = self.s.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return True
            if not got:
                return True
            self.buf += got
        return False

    def close(self):
        self.s.close()


def normal_client():
    """LOGIN, SELECT, FETCH still work: '' or what went wrong."""
    try:
        c = Raw(login=True, select=True)
        c.expect("n1 FETCH 1 (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", "n1 OK")
        c.expect("n2 LOGOUT", "n2 OK")
        c.close()
        return ""
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)


log_seen = 0


def log_clean():
    global log_seen
    with open(LOG, errors="replace") as f:
        f.seek(log_seen)
        text = f.read()
        log_seen = f.tell()
    m = SANITIZER.search(text)
    return "" if not m else text[max(0, m.start() - 100):m.start() + 400]


def case(name, fn):
    try:
        ok, seen = fn()
    except Exception as e:
        ok, seen = False, "%s: %s" % (type(e).__name__, e)
    report(ok, name, seen)
    time.sleep(0.2)  # let a crash reach the log
    bad = normal_client()
    report(not bad, "after %s: a new client can LOGIN, SELECT and FETCH" % name.split(": ")[0], bad)
    san = log_clean()
    report(not san, "after %s: no sanitizer report in the serve log" % name.split(": ")[0], san)


def only_bad_or_bye(lines):
    return all(re.match(r"(\S+ BAD|\* BYE|\+ |<closed>)", l) for l in lines)


# ---- the cases ----

def garbage():
    c = Raw()
    rnd = random.Random(42)
    junk = bytes(rnd.randrange(256) for _ in range(20000)).replace(b"{", b"(")
    c.send(junk + b"\r\n")
    closed = c.closed(3)
    lines = [l for l in c.buf.decode("latin-1").split("\r\n") if l]
    c.close()
    return only_bad_or_bye(lines) and len(lines) > 0, "%d lines, closed %s: %s" % (
        len(lines), closed, [l[:50] for l in lines[:4]])


def long_line():
    c = Raw()
    w = RssWatch(c.pid)
    c.send("a1 NOOP ")
    chunk = b"x" * (1 << 20)
    for _ in range(10):
        c.send(chunk)
    time.sleep(0.3)
    peak = w.end()
    c.send("\r\n")
    lines = c.until("a1")
    after = c.expect("a2 NOOP", "a2 OK")[-1]
    c.close()
    ok = lines[-1].startswith("a1 BAD") and peak < RSS_MAX_KB and peak > 0
    print("# 10 MB line: the session's RSS peaked at %d kB" % peak)
    return ok, "peak %d kB, %s, then %s" % (peak, lines[-1][:60], after[:40])


def huge_sync_literal():
    c = Raw(login=True)
    c.send("a1 APPEND INBOX {2000000000}\r\n")
    lines = c.until("a1")
    after = c.expect("a2 NOOP", "a2 OK")[-1]
    c.close()
    return (lines[-1].startswith("a1 BAD") and not any(l.startswith("+") for l in lines),
            "%s then %s" % (lines, after))


def huge_plus_literal(size):
    def run():
        c = Raw(login=True)
        w = RssWatch(c.pid)
        c.send("a1 APPEND INBOX {%d+}\r\n" % size)
        sent = 0
        chunk = b"y" * (1 << 20)
        try:
            for _ in range(20):  # 20 MB of it, or until the server stops reading
                c.send(chunk)
                sent += 1
        except OSError:
            pass
        lines = c.until("a1", timeout=5) if True else []
        peak = w.end()
        closed = lines[-1] == "<closed>" or c.closed(3)
        c.close()
        answered = any(re.match(r"(a1 BAD|a1 NO|\* BYE)", l) for l in lines)
        print("# LITERAL+ {%d+}: RSS peak %d kB, %d MB sent" % (size, peak, sent))
        return (answered and closed and only_bad_or_bye(lines) and peak < RSS_MAX_KB,
                "answer %s, closed %s, peak %d kB" % (lines[:3], closed, peak))
    return run


def wrong_commands():
    c = Raw()
    got = []
    got += c.expect("a1 FROBNICATE x y", "a1 BAD")[-1:]
    got += c.expect("a2 SELECT INBOX", "a2 BAD")[-1:]
    got += c.expect("a3 FETCH 1 (FLAGS)", "a3 BAD")[-1:]
    got += c.expect('a4 LOGIN %s "%s"' % (USER, PASSWORD), "a4 OK")[-1:]
    got += c.expect("a5 FETCH 1 (FLAGS)", "a5 BAD")[-1:]
    got += c.expect("a6 STORE 1 +FLAGS (\\Seen)", "a6 BAD")[-1:]
    got += c.expect("a7 EXPUNGE", "a7 BAD")[-1:]
    got += c.expect("a8 LOGIN x y", "a8 BAD")[-1:]
    got += c.expect("a9 UID FROB 1", "a9 BAD")[-1:]
    got += c.expect("a10 NOOP", "a10 OK")[-1:]
    c.close()
    return True, got


def deep_lists():
    c = Raw(login=True)
    c.send("a1 STATUS INBOX " + "(" * 10000 + "\r\n")
    l1 = c.until("a1")
    c.send("a2 FETCH 1 " + "(" * 10000 + ")" * 10000 + "\r\n")
    l2 = c.until("a2")
    after = c.expect("a3 NOOP", "a3 OK")[-1]
    c.close()
    return l1[-1].startswith("a1 BAD") and l2[-1].startswith("a2 BAD"), [l1[-1], l2[-1], after]


def cut_connections():
    pids = []
    for data in ["a1 LOGIN me", "a1 LOGIN {5}\r\nme", 'a1 LOGIN %s "%s"\r\na2 SELECT INBOX\r\na3 FETCH 1:* (BODY[' % (USER, PASSWORD)]:
        c = Raw()
        pids.append(c.pid)
        c.send(data)
        time.sleep(0.2)
        c.close()
    end = time.time() + 5
    while time.time() < end and any(p in sessions() for p in pids):
        time.sleep(0.1)
    left = [p for p in pids if p in sessions()]
    return not left, "sessions left: %s" % left


def pipelined():
    c = Raw(login=True, select=True)
    cmds = "".join("p%d %s\r\n" % (i, "NOOP" if i % 2 else "FETCH 1 (FLAGS)") for i in range(1, 1001))
    c.send(cmds)
    tags = []
    while len(tags) < 1000:
        l = c.line()
        if not l.startswith("*"):
            tags.append(l.split()[:2])
    c.close()
    ok = tags == [["p%d" % i, "OK"] for i in range(1, 1001)]
    return ok, "%d answers, first wrong: %s" % (len(tags), next(
        (t for i, t in enumerate(tags) if t != ["p%d" % (i + 1), "OK"]), None))


def idle_then_cut():
    c = Raw(login=True, select=True)
    c.send("i1 IDLE\r\n")
    first = c.line()
    pid = c.pid
    c.close()
    end = time.time() + 5
    while time.time() < end and pid in sessions():
        time.sleep(0.1)
    return first.startswith("+") and pid not in sessions(), "%s; session %s left: %s" % (
        first, pid, pid in sessions())


def nuls():
    c = Raw()
    c.send('a1 LOGIN "%s\0x" "%s"\r\n' % (USER, PASSWORD))
    l1 = c.until("a1")
    c.send("a2 LOGIN {%d}\r\n" % (len(USER) + 2))
    plus = c.line()
    c.send('%s\0x "%s"\r\n' % (USER, PASSWORD))
    l2 = c.until("a2")
    c.expect('a3 LOGIN %s "%s"' % (USER, PASSWORD), "a3 OK")
    c.send('a4 SELECT "IN\0BOX"\r\n')
    l4 = c.until("a4")
    c.send("a5 SELECT {5}\r\n")
    c.line()
    c.send("IN\0OX\r\n")
    l5 = c.until("a5")
    c.send("a6 SEARCH SUBJECT {3}\r\n")
    c.line()
    c.send("a\0b\r\n")
    l6 = c.until("a6")
    c.close()
    ok = (l1[-1].startswith("a1 BAD") and plus.startswith("+") and re.match(r"a2 (BAD|NO)", l2[-1])
          and re.match(r"a4 (BAD|NO)", l4[-1]) and re.match(r"a5 (BAD|NO)", l5[-1])
          and re.match(r"a6 (OK|BAD|NO)", l6[-1]))
    return bool(ok), [l1[-1], l2[-1], l4[-1], l5[-1], l6[-1]]


def long_tags():
    c = Raw()
    c.send("A" * 100 + " NOOP\r\n")
    l1 = c.line()
    c.send("B" * 60000 + " NOOP\r\n")
    l2 = c.line()
    c.send("C" * 100000 + " NOOP\r\n")
    l3 = c.line()
    after = c.expect("a2 NOOP", "a2 OK")[-1]
    c.close()
    return all(l.startswith("* BAD") for l in (l1, l2, l3)), [l1[:60], l2[:60], l3[:60], after]


def append_too_big():
    c = Raw(login=True)
    c.send("a1 APPEND INBOX {67108865}\r\n")
    lines = c.until("a1")
    after = c.expect("a2 NOOP", "a2 OK")[-1]
    c.close()
    return (lines[-1].startswith("a1 BAD") and not any(l.startswith("+") for l in lines),
            [lines, after])


def big_numbers():
    c = Raw(login=True, select=True)
    got = {}
    for tag, cmd in [("s1", "FETCH 1:4294967295 (FLAGS)"), ("s2", "UID FETCH 1:4294967295 (FLAGS)"),
                     ("s3", "FETCH 4294967296 (FLAGS)"), ("s4", "UID FETCH 4294967296 (FLAGS)"),
                     ("s5", "UID STORE 4294967296 +FLAGS (\\Seen)"), ("s6", "SEARCH 1:4294967295"),
                     ("s7", "UID SEARCH UID 4294967296"), ("s8", "STORE 1:4294967295 +FLAGS.SILENT (\\Seen)"),
                     ("s9", "UID COPY 4294967295:1 INBOX"), ("s10", "FETCH 0 (FLAGS)"),
                     ("s11", "UID FETCH 99999999999999999999999 (FLAGS)"), ("s12", "UID EXPUNGE 1:4294967295")]:
        c.send("%s %s\r\n" % (tag, cmd))
        got[tag] = c.until(tag)[-1].split()[1]
    c.close()
    ok = (got["s2"] == "OK" and all(got[t] == "BAD" for t in ("s3", "s4", "s5", "s7", "s10", "s11"))
          and all(v in ("OK", "NO", "BAD") for v in got.values()))
    return ok, got


def many_keywords():
    c = Raw(login=True, select=True)
    kws = " ".join("kw%d" % i for i in range(1000))
    c.send("k1 STORE 1 +FLAGS (%s)\r\n" % kws)
    l1 = c.until("k1")
    # The refused STORE left nothing behind: a keyword now is one on disk.
    l2 = c.expect("k2 STORE 1 +FLAGS (kw5)", "k2 OK")
    c.close()
    try:
        on_disk = open(os.path.join(MAILDIR, "dovecot-keywords")).read().split()
    except FileNotFoundError:
        on_disk = []
    o = Raw(login=True, select=True)
    l3 = o.expect("o1 FETCH 1 (FLAGS)", "o1 OK")
    o.expect("o2 STORE 1 -FLAGS (kw5)", "o2 OK")
    o.close()
    ok = (re.match(r"k1 (NO|BAD)", l1[-1]) and "kw5" in on_disk and "kw5" in l3[0])
    return bool(ok), [l1[-1][:80], l2[0], "dovecot-keywords %s" % on_disk[:8], l3[0]]


def login_flood_bad():
    c = Raw()
    t0 = time.time()
    c.send("".join("f%d LOGIN\r\n" % i for i in range(200)))
    closed = c.closed(5)
    lines = [l for l in c.buf.decode("latin-1").split("\r\n") if l]
    c.close()
    bads = sum(1 for l in lines if " BAD " in l)
    return (closed and any(l.startswith("* BYE") for l in lines) and bads <= 21,
            "%d BAD, closed %s after %.1f s, last %s" % (bads, closed, time.time() - t0, lines[-1:]))


class WrongPasswords(threading.Thread):
    """6 wrong passwords at once: each failure waits longer, BYE after 5."""

    def run(self):
        self.result = (False, "did not end")
        c = Raw()
        t0 = time.time()
        c.send("".join('w%d LOGIN %s "wrong%d"\r\n' % (i, USER, i) for i in range(6)))
        closed = c.closed(40)
        lines = [l for l in c.buf.decode("latin-1").split("\r\n") if l]
        c.close()
        nos = sum(1 for l in lines if re.match(r"w\d NO", l))
        took = time.time() - t0
        self.result = (closed and nos == 5 and any(l.startswith("* BYE") for l in lines) and took > 10,
                       "%d NO, closed %s after %.1f s: %s" % (nos, closed, took, lines[-2:]))


def main():
    log_clean()
    steady = Raw(login=True, select=True)
    steady.expect("s0 FETCH 1:* (UID FLAGS)", "s0 OK")
    flood = WrongPasswords()
    flood.start()
    case("garbage bytes: only BAD or BYE", garbage)
    case("a 10 MB line without CRLF: BAD 'line too long' at its end, RSS < 100 MB", long_line)
    case("a synchronizing literal {2000000000}: BAD, no '+'", huge_sync_literal)
    case("a LITERAL+ {2000000000+}: BAD or BYE and the connection closed, RSS < 100 MB",
         huge_plus_literal(2000000000))
    case("a LITERAL+ just past the 64 MB cap: BAD or BYE, closed, RSS < 100 MB",
         huge_plus_literal(64 * 1024 * 1024 + 1))
    case("unknown commands and commands in the wrong state: BAD", wrong_commands)
    case("10000 nested '(': BAD", deep_lists)
    case("partial commands then a disconnect: the sessions end", cut_connections)
    case("1000 pipelined commands: 1000 OKs in order", pipelined)
    case("IDLE then a disconnect: the session ends", idle_then_cut)
    case("NUL bytes in quoted strings and literals: BAD or NO", nuls)
    case("overlong tags (100, 60000, 100000 bytes): * BAD", long_tags)
    case("APPEND with a literal past the cap: BAD, no '+'", append_too_big)
    case("sequence sets 1:4294967295 and 4294967296: OK or BAD, never a crash", big_numbers)
    case("STORE with 1000 keywords: NO, and a keyword stored next is on disk", many_keywords)
    case("200 pipelined commands before LOGIN: BYE after the cap", login_flood_bad)
    flood.join(60)
    report(not flood.is_alive() and flood.result[0],
           "6 wrong passwords pipelined: growing delays, 5 NO then BYE", flood.result[1])
    try:
        l1 = steady.expect("s1 NOOP", "s1 OK")
        l2 = steady.expect("s2 FETCH 1:* (UID FLAGS)", "s2 OK")
        l3 = steady.expect("s3 LOGOUT", "s3 OK")
        report(True, "the client connected throughout still works (NOOP, FETCH, LOGOUT)")
    except Exception as e:
        report(False, "the client connected throughout still works (NOOP, FETCH, LOGOUT)", e)
    end = time.time() + 10
    while time.time() < end and sessions():
        time.sleep(0.1)
    report(not sessions(), "every session ended: only the listener is left", sessions())


if __name__ == "__main__":
    main()
