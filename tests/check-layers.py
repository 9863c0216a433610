#!/usr/bin/env python3
"""The nevers of DESIGN.md section 5, checked over src/: which part may
include which, and who may write to stdout.

    tests/check-layers.py [SRC]      check SRC (default: src/ of this tree)

Each part is a folder of src/. A part may include its own headers and those
of the parts listed for it below, nothing else of corral's. Only cli/ (with
src/corral.c) and imapd/ write to stdout: elsewhere printf, puts, putchar,
vprintf and any use of stdout are refused (comments and strings aside).
Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed"; exits 1
on a failure. It also checks itself: a copy of the tree with one bad
include added must fail.
"""
import os
import re
import shutil
import sys
import tempfile

ALLOWED = {
    "util": {"util"},
    "mail": {"util", "mail"},
    "config": {"util", "config"},
    "rules": {"util", "mail", "config", "rules"},
    "store": {"util", "mail", "store"},
    "net": {"util", "config", "net"},
    "source": {"util", "mail", "config", "net", "source"},
    "out": {"util", "config", "net", "out"},
    "core": {"util", "mail", "config", "rules", "store", "net", "source", "out", "core"},
    "daemon": {"util", "mail", "config", "rules", "store", "net", "source", "out", "core",
               "daemon"},
    # The server parses local clients' input: it never holds the remote
    # sources nor the remote login (net). It reads what the deliveries
    # committed through store/ and needs neither rules/ nor core/ (the
    # pipeline): a part that did would have to say why here.
    "imapd": {"util", "mail", "config", "store", "imapd"},
    "cli": {"util", "mail", "config", "rules", "store", "net", "source", "out", "core",
            "daemon", "imapd", "cli"},
}
STDOUT_OK = {"cli", "imapd"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
STDOUT = re.compile(r'\b(printf|puts|putchar|vprintf)\s*\(|\bstdout\b')


def strip_comments_and_strings(text):
    text = re.sub(r'/\*.*?\*/', lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r'//[^\n]*', "", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def problems(src):
    out = []
    for part in sorted(os.listdir(src)):
        d = os.path.join(src, part)
        if not os.path.isdir(d):
            continue
        if part not in ALLOWED:
            out.append("%s/: a part the nevers do not know (add it to tests/check-layers.py)"
                       % part)
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(d, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                line = text.count("\n", 0, m.start()) + 1
                other = inc.split("/")[0] if "/" in inc else None
                if other is None:
                    out.append('%s/%s:%d: #include "%s": name the part ("%s/%s")'
                               % (part, name, line, inc, part, inc))
                elif other not in ALLOWED[part]:
                    out.append('%s/%s:%d: #include "%s": %s must not depend on %s'
                               % (part, name, line, inc, part, other))
            if part not in STDOUT_OK:
                code = strip_comments_and_strings(text)
                for m in STDOUT.finditer(code):
                    line = code.count("\n", 0, m.start()) + 1
                    out.append("%s/%s:%d: %s: only cli/ and imapd/ write to stdout"
                               % (part, name, line, m.group(0).strip("( ")))
    return out


def self_test(src):
    """A tree with one bad include must fail: the check is not vacuous."""
    tmp = tempfile.mkdtemp(prefix="corral-layers.")
    try:
        copy = os.path.join(tmp, "src")
        shutil.copytree(src, copy)
        with open(os.path.join(copy, "util", "log.c"), "a") as f:
            f.write('\n#include "store/maildir.h"\n')
        with open(os.path.join(copy, "store", "maildir.c"), "a") as f:
            f.write('\nstatic void talk(void) { printf("x"); }\n')
        found = problems(copy)
        return (any("util must not depend on store" in p for p in found) and
                any("only cli/ and imapd/ write to stdout" in p for p in found))
    finally:
        shutil.rmtree(tmp)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    passed = failed = 0
    found = problems(src)
    for p in found:
        print("not ok - %s" % p)
        failed += 1
    if not found:
        print("ok - every part includes only what the nevers allow; only cli/ and imapd/ "
              "write to stdout")
        passed += 1
    if self_test(src):
        print("ok - a deliberate bad include and a printf in store/ are caught")
        passed += 1
    else:
        print("not ok - a deliberate bad include and a printf in store/ are caught")
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
