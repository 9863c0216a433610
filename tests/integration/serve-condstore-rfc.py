#!/usr/bin/env python3
"""RFC 7162's example exchanges, replayed against `corral serve`.

usage: serve-condstore-rfc.py PORT
INBOX holds 30 messages (UIDs 1-30); the folder RO is one that the server
cannot write (NOMODSEQ). Each check names the RFC section whose example it
replays; the numbers differ from the RFC's (they are the server's), the
shape and the relations between them are asserted. Raw socket, one line
per response. Prints "ok NAME" / "not ok NAME # detail"."""
import re
import sys

from imapraw import Raw, check

port = int(sys.argv[1])


class S(Raw):
    def __init__(self, login=True):
        Raw.__init__(self, port, login)


def code(lines, name):
    """The number of "* OK [NAME n]" in lines, or None."""
    for l in lines:
        m = re.match(r"\* OK \[%s (\d+)\]" % name, l)
        if m:
            return int(m.group(1))
    return None


def fetches(lines):
    """{seq: {"UID": n, "MODSEQ": n, "FLAGS": "..."}} of "* n FETCH (...)"."""
    out = {}
    for l in lines:
        m = re.match(r"\* (\d+) FETCH \((.*)\)$", l)
        if not m:
            continue
        d = {}
        for k, v in re.findall(r"(UID|MODSEQ|FLAGS) (\d+|\(\d+\)|\([^)]*\))", m.group(2)):
            d[k] = int(v.strip("()")) if k != "FLAGS" else v
        out[int(m.group(1))] = d
    return out


def uidset(s):
    r = set()
    for part in s.split(","):
        a, _, b = part.partition(":")
        r.update(range(int(a), int(b or a) + 1))
    return r


# 3.1.1: the capability
a = S(login=False)
caps, t = a.cmd("CAPABILITY")
check(any(" CONDSTORE" in l and " QRESYNC" in l for l in caps), "3.1.1/3.2.1: CAPABILITY names CONDSTORE and QRESYNC", caps)
a.cmd("LOGIN me sesame")

# 3.1.8 (example 13): SELECT INBOX (CONDSTORE) enables it, with HIGHESTMODSEQ
sel, t = a.cmd("SELECT INBOX (CONDSTORE)")
h0 = code(sel, "HIGHESTMODSEQ")
uv = code(sel, "UIDVALIDITY")
check(h0 is not None and h0 > 0 and t.startswith("OK [READ-WRITE]"),
      "3.1.2.1/3.1.8: SELECT (CONDSTORE) says * OK [HIGHESTMODSEQ n], OK [READ-WRITE]", sel + [t])
check(not any("NOMODSEQ" in l for l in sel), "3.1.2.2: a folder that keeps mod-sequences says no NOMODSEQ")

# 3.1.6 (example 12): STATUS (UIDNEXT MESSAGES HIGHESTMODSEQ)
st, t = a.cmd("STATUS INBOX (UIDNEXT MESSAGES HIGHESTMODSEQ)")
check(st == ['* STATUS "INBOX" (UIDNEXT 31 MESSAGES 30 HIGHESTMODSEQ %d)' % h0] and t.startswith("OK"),
      "3.1.6: STATUS HIGHESTMODSEQ is the SELECT's HIGHESTMODSEQ", st)

# 3.1.4.1 (example 8): FETCH (MODSEQ)
fe, t = a.cmd("FETCH 1:3 (MODSEQ)")
f = fetches(fe)
check(sorted(f) == [1, 2, 3] and all(0 < f[i]["MODSEQ"] <= h0 for i in f) and
      all(re.match(r"\* \d FETCH \(MODSEQ \(\d+\)\)$", l) for l in fe),
      "3.1.4.1: FETCH 1:3 (MODSEQ) -> * n FETCH (MODSEQ (m)), m <= HIGHESTMODSEQ", fe)

# 3.1.3 (example 6): d105 STORE 7,5,9 (UNCHANGEDSINCE h) +FLAGS.SILENT (\Deleted)
# after another session changed 7 and 9
b = S()
b.cmd("SELECT INBOX")
b.cmd("STORE 7,9 +FLAGS (\\Flagged)")
st, t = a.cmd("STORE 7,5,9 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % h0)
five = [l for l in st if re.match(r"\* 5 FETCH \(MODSEQ \((\d+)\)\)$", l)]
m = re.match(r"OK \[MODIFIED ([0-9,:]+)\]", t)
check(len(five) == 1 and m is not None and uidset(m.group(1)) == {7, 9},
      "3.1.3 example 6: * 5 FETCH (MODSEQ (n)) and OK [MODIFIED 7,9]", st + [t])
m5 = int(re.search(r"MODSEQ \((\d+)\)", five[0]).group(1)) if five else 0
fe, t = a.cmd("FETCH 5,7,9 (FLAGS)")
f = fetches(fe)
check("\\Deleted" in f.get(5, {}).get("FLAGS", "") and "\\Deleted" not in f.get(7, {}).get("FLAGS", "") and
      "\\Deleted" not in f.get(9, {}).get("FLAGS", ""), "3.1.3: only message 5 was stored", fe)
check(all("MODSEQ" in f[i] for i in f), "3.1.4.1: with CONDSTORE on, FETCH FLAGS comes with MODSEQ", fe)
check(m5 > h0, "3.1.3: the stored message got a mod-sequence above the old HIGHESTMODSEQ", m5)

# 3.1.3 (example 9): UNCHANGEDSINCE 0 always fails
st, t = a.cmd("UID STORE 6,4,8 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)")
m = re.match(r"OK \[MODIFIED ([0-9,:]+)\]", t)
check(m is not None and uidset(m.group(1)) == {4, 6, 8} and not fetches(st),
      "3.1.3 example 9: UID STORE 6,4,8 (UNCHANGEDSINCE 0) -> OK [MODIFIED 4,6,8], nothing stored", st + [t])

# 3.1.3: a conditional STORE that succeeds, not .SILENT: FETCH with MODSEQ
st, t = a.cmd("STORE 2 (UNCHANGEDSINCE %d) +FLAGS (\\Answered)" % m5)
f = fetches(st)
check(t.startswith("OK") and "MODIFIED" not in t and 2 in f and f[2].get("MODSEQ", 0) > m5 and
      "\\Answered" in f[2].get("FLAGS", ""), "3.1.3: STORE (UNCHANGEDSINCE n) that passes: * 2 FETCH (FLAGS (...) MODSEQ (m))", st + [t])
m2 = f.get(2, {}).get("MODSEQ", 0)

# 3.1.4.1 (example 10): UID FETCH 1:* (FLAGS) (CHANGEDSINCE h)
fe, t = a.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
f = fetches(fe)
got = {d["UID"] for d in f.values()}
check(got == {2, 5, 7, 9} and all("MODSEQ" in d and d["MODSEQ"] > h0 for d in f.values()),
      "3.1.4.1: UID FETCH 1:* (FLAGS) (CHANGEDSINCE h): exactly the changed messages, each with MODSEQ", fe)

# 3.1.5 (example 11): SEARCH MODSEQ "/flags/\\draft" all h+1 (the key
# matches mod-sequences equal to or greater than its own)
se, t = a.cmd('SEARCH MODSEQ "/flags/\\\\draft" all %d' % (h0 + 1))
st, _ = a.cmd("STATUS INBOX (HIGHESTMODSEQ)")
hs = re.match(r'\* STATUS "INBOX" \(HIGHESTMODSEQ (\d+)\)$', st[0]) if len(st) == 1 else None
m = re.match(r"\* SEARCH ([\d ]+) \(MODSEQ (\d+)\)$", se[0]) if len(se) == 1 else None
# The highest of them is the folder's: message 2 changed last. (Not
# necessarily m2 itself: a session's mod-sequences move above the ones
# other sessions saved meanwhile, never below what it said.)
check(m is not None and set(map(int, m.group(1).split())) == {2, 5, 7, 9} and hs is not None and
      int(m.group(2)) == int(hs.group(1)) and int(m.group(2)) >= m2,
      "3.1.5: SEARCH MODSEQ \"/flags/\\\\draft\" all h+1 -> * SEARCH 2 5 7 9 (MODSEQ the highest of them)", se + st)
check(hs is not None and int(hs.group(1)) >= m2, "3.1.6: STATUS HIGHESTMODSEQ follows the changes", st)
se, t = a.cmd("SEARCH MODSEQ %d" % (m2 + 100000))
check(se == ["* SEARCH"] and t.startswith("OK"), "3.1.5: a MODSEQ search that finds nothing: * SEARCH without (MODSEQ)", se)
a.cmd("CLOSE")  # expunges 5 (\Deleted) silently
a.close()
b.close()

# 3.1.1: a command that enables CONDSTORE (FETCH MODSEQ) says HIGHESTMODSEQ first
c = S()
c.cmd("SELECT INBOX")
fe, t = c.cmd("FETCH 1 (MODSEQ)")
check(len(fe) == 2 and re.match(r"\* OK \[HIGHESTMODSEQ \d+\]", fe[0]) and "MODSEQ" in fe[1],
      "3.1: FETCH (MODSEQ) before any ENABLE: * OK [HIGHESTMODSEQ n] once, then the FETCH", fe)
c.close()

# 3.2.3 (example 14): ENABLE QRESYNC
q = S()
en, t = q.cmd("ENABLE QRESYNC")
check(en == ["* ENABLED QRESYNC"] and t.startswith("OK"), "3.2.3: ENABLE QRESYNC -> * ENABLED QRESYNC", en)
# 3.2.5 (example 15): SELECT INBOX (QRESYNC (uidvalidity modseq known-uids))
sel, t = q.cmd("SELECT INBOX (QRESYNC (%d %d 1:30))" % (uv, h0))
van = [l for l in sel if l.startswith("* VANISHED")]
f = fetches(sel)
check(van == ["* VANISHED (EARLIER) 5"], "3.2.5: SELECT (QRESYNC ...) -> * VANISHED (EARLIER) 5", sel)
check({d["UID"] for d in f.values()} == {2, 7, 9} and all("MODSEQ" in d and "FLAGS" in d for d in f.values()),
      "3.2.5: ... and * n FETCH (UID u FLAGS (...) MODSEQ (m)) for the changed ones", sel)
check(code(sel, "HIGHESTMODSEQ") is not None and t.startswith("OK [READ-WRITE]"),
      "3.2.5: with HIGHESTMODSEQ, OK [READ-WRITE]", sel + [t])
# 3.2.6 (example 16): UID FETCH ... (CHANGEDSINCE h VANISHED)
fe, t = q.cmd("UID FETCH 1:30 (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
check(fe and fe[0] == "* VANISHED (EARLIER) 5" and {d["UID"] for d in fetches(fe).values()} == {2, 7, 9},
      "3.2.6: UID FETCH (CHANGEDSINCE h VANISHED): * VANISHED (EARLIER) first, then the FETCHes", fe)
_, t = q.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
check(t.startswith("BAD"), "3.2.6: VANISHED in a FETCH that is not UID FETCH is BAD", t)
_, t = q.cmd("UID FETCH 1:* (FLAGS) (VANISHED)")
check(t.startswith("BAD"), "3.2.6: VANISHED without CHANGEDSINCE is BAD", t)
# 3.2.7: with QRESYNC on, an expunge is * VANISHED, never * n EXPUNGE
q.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
ex, t = q.cmd("EXPUNGE")
check(ex == ["* VANISHED 1"], "3.2.7: EXPUNGE with QRESYNC on -> * VANISHED 1 (no * n EXPUNGE)", ex)
# 3.2.11: [CLOSED] where the old folder's responses end
sel, t = q.cmd("EXAMINE INBOX")
check(sel and sel[0].startswith("* OK [CLOSED]"), "3.2.11: selecting again says * OK [CLOSED] first", sel)
q.close()

# 3.2.5.2: seq-match data. INBOX now holds UIDs 2-4 and 6-30 (1 and 5
# are gone). A mod-sequence below what the record of expunges holds (1):
# the server cannot tell what vanished since, and names every UID of
# known-uids (1:30) that is gone -- unless the client's pairs prove that
# nothing it knew below a UID vanished: a pair (N, U) whose message N is
# still UID U.
q = S()
q.cmd("ENABLE QRESYNC")
sel, t = q.cmd("EXAMINE INBOX (QRESYNC (%d 1 1:30))" % uv)
van = [l for l in sel if l.startswith("* VANISHED")]
check(van == ["* VANISHED (EARLIER) 1,5"] and len(fetches(sel)) == 28,
      "3.2.5.2: below the record, without seq-match: every known UID that is gone (1,5), every message FETCHed", van)
q.cmd("UNSELECT")
sel, t = q.cmd("EXAMINE INBOX (QRESYNC (%d 1 1:30 (1,3 2,4)))" % uv)
van = [l for l in sel if l.startswith("* VANISHED")]
check(van == ["* VANISHED (EARLIER) 5"], "3.2.5.2: seq-match (1,3 2,4) holds: nothing below UID 4 vanished, only 5 is said", sel[:3] + van)
q.cmd("UNSELECT")
sel, t = q.cmd("EXAMINE INBOX (QRESYNC (%d 1 1:30 (1,3,4 2,4,7)))" % uv)
van = [l for l in sel if l.startswith("* VANISHED")]
check(van == ["* VANISHED (EARLIER) 5"], "3.2.5.2: a pair that no longer holds (4,7) proves nothing; the highest that holds (3,4) counts", van)
q.cmd("UNSELECT")
sel, t = q.cmd("EXAMINE INBOX (QRESYNC (%d 1 1:30 (1,3,4 2,4,6)))" % uv)
van = [l for l in sel if l.startswith("* VANISHED")]
check(van == [] and t.startswith("OK"), "3.2.5.2: pairs up to (4,6) hold: the client knew 5 was gone, no VANISHED", van)
q.cmd("UNSELECT")
_, t = q.cmd("EXAMINE INBOX (QRESYNC (%d 1 1:30 (1,3 2,4,6)))" % uv)
check(t.startswith("BAD"), "3.2.5.2: seq-match sets of different sizes are BAD", t)
q.close()

# 3.1.2.2: NOMODSEQ for a folder whose mod-sequences cannot last
n = S()
n.cmd("ENABLE CONDSTORE")
sel, t = n.cmd("SELECT RO")
sel_t = t
check(any(l.startswith("* OK [NOMODSEQ]") for l in sel) and code(sel, "HIGHESTMODSEQ") is None and
      t.startswith("OK"), "3.1.2.2: SELECT of a folder that cannot be written: * OK [NOMODSEQ], no HIGHESTMODSEQ",
      sel + [t])
for cmdline, what in (("FETCH 1 (MODSEQ)", "FETCH (MODSEQ)"),
                      ("FETCH 1:* (FLAGS) (CHANGEDSINCE 1)", "FETCH (CHANGEDSINCE)"),
                      ("SEARCH MODSEQ 1", "SEARCH MODSEQ"),
                      ("STORE 1 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)", "STORE (UNCHANGEDSINCE)")):
    _, t = n.cmd(cmdline)
    check(t.startswith("BAD") and "NOMODSEQ" in t, "3.1.2.2: after NOMODSEQ, %s is BAD" % what, t)
fe, t = n.cmd("FETCH 1 (FLAGS)")
check(t.startswith("OK") and fe and "MODSEQ" not in fe[0], "3.1.2.2: FETCH FLAGS there carries no MODSEQ", fe)
check(sel_t.startswith("OK [READ-ONLY]"), "RFC 3501 6.3.1: SELECT of a folder that cannot be written is OK [READ-ONLY]", sel_t)
_, t = n.cmd("STORE 1 +FLAGS (\\Seen)")
check(t.startswith("NO [READ-ONLY]"), "... and STORE there is NO [READ-ONLY]", t)
sel, t = n.cmd("EXAMINE RO")
check(any(l.startswith("* OK [NOMODSEQ]") for l in sel), "3.1.2.2: EXAMINE says NOMODSEQ too", sel)
st, t = n.cmd("STATUS RO (MESSAGES HIGHESTMODSEQ)")
check(st == ['* STATUS "RO" (MESSAGES 3 HIGHESTMODSEQ 0)'], "3.1.6: STATUS HIGHESTMODSEQ of a NOMODSEQ folder is 0", st)
n.close()
