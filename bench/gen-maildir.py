#!/usr/bin/env python3
"""Writes a Maildir INBOX of N realistic messages, deterministically.

usage: gen-maildir.py N MAILDIR [--seed S]

What an IMAP server serves: messages of 2 to 20 KB (most of them small),
a quarter multipart (text + HTML, or a small base64 attachment), headers
of 1-3 KB (Received chains, DKIM signatures, List-Id), LF line ends as a
Maildir stores them, all in cur/ with their flags (most \\Seen), the
file's mtime the message's date (INTERNALDATE). Two names in three carry
",S=<size>,W=<size with CRLF>" as Dovecot's and corral's deliveries write
them; the others have none (procmail, getmail, rsync'd old mail), so a
server has to find RFC822.SIZE some other way.
"""
import os
import random
import sys

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "so no will can more about what up said out time only new some could these two may "
         "first then do any like my now over such our man me even most made after also did "
         "many before must through back years where much your way well down should because "
         "each just those people how too little state good very make world still own see men "
         "work long here get both between life being under never day same another know while "
         "last might us great old year off come since against go came right used take three").split()
PEOPLE = ["Alice Martin <alice@example.com>", "bob@example.org", "Carol Diaz <carol@example.net>",
          "\"Dave, Jr.\" <dave@corp.example>", "erin@uni.example.edu", "Frank <frank@mail.example>",
          "=?UTF-8?Q?Gr=C3=A9ce_M=C3=BCller?= <grace@example.de>", "heidi@example.co.uk"]
LISTS = ["debian-devel", "linux-kernel", "postgres-hackers", "python-dev", "rust-users"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def text(rng, nbytes):
    out, line, size = [], [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        line.append(w)
        size += len(w) + 1
        if len(" ".join(line)) > 66:
            out.append(" ".join(line))
            line = []
            if rng.random() < 0.1:
                out.append("")
    if line:
        out.append(" ".join(line))
    return "\n".join(out) + "\n"


def b64(rng, n):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    s = "".join(rng.choice(alphabet) for _ in range(n))
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def date(t):
    import time
    g = time.gmtime(t)
    return "%s, %02d %s %d %02d:%02d:%02d +0000" % (DAYS[g.tm_wday], g.tm_mday, MONTHS[g.tm_mon - 1],
                                                   g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)


def header(rng, i, t, ctype):
    h = ["Return-Path: <bounce-%d@example.net>" % i]
    for hop in range(rng.randint(2, 4)):
        h.append("Received: from relay%d.example.net (relay%d.example.net [192.0.2.%d])\n"
                 "\tby mx.example.com (Postfix) with ESMTPS id %08X\n"
                 "\tfor <me@example.com>; %s" % (hop, hop, rng.randint(1, 254), rng.getrandbits(32), date(t)))
    if rng.random() < 0.5:
        sig = b64(rng, 344).rstrip("\n").replace("\n", "\n\t ")
        h.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=sel;\n"
                 "\th=from:to:subject:date:message-id; bh=%s;\n\tb=%s" % (b64(rng, 44).strip(), sig))
    h.append("From: %s" % rng.choice(PEOPLE))
    h.append("To: %s" % ", ".join(rng.sample(PEOPLE, rng.randint(1, 3))))
    if rng.random() < 0.3:
        h.append("Cc: %s" % rng.choice(PEOPLE))
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
    if rng.random() < 0.3:
        subject = "Re: " + subject
    h.append("Subject: %s (#%d)" % (subject, i))
    h.append("Date: %s" % date(t))
    h.append("Message-ID: <%d.%08x@bench.example>" % (i, rng.getrandbits(32)))
    if rng.random() < 0.3:
        h.append("List-Id: <%s.lists.example.org>" % rng.choice(LISTS))
    h.append("MIME-Version: 1.0")
    h.append("Content-Type: %s" % ctype)
    return "\n".join(h) + "\n\n"


def message(rng, i, t):
    # Sizes: log-uniform between 2 and 20 KB (most mail is small).
    target = int(2048 * (10 ** rng.random()))
    kind = rng.random()
    if kind < 0.75:
        head = header(rng, i, t, "text/plain; charset=us-ascii")
        return head + text(rng, max(200, target - len(head)))
    boundary = "=_b%08x" % rng.getrandbits(32)
    head = header(rng, i, t, 'multipart/%s; boundary="%s"' % (
        "alternative" if kind < 0.88 else "mixed", boundary))
    room = max(400, target - len(head))
    body = "This is a multi-part message in MIME format.\n\n--%s\n" % boundary
    body += "Content-Type: text/plain; charset=us-ascii\n\n" + text(rng, room // 2)
    body += "\n--%s\n" % boundary
    if kind < 0.88:
        body += "Content-Type: text/html; charset=us-ascii\n\n<html><body><p>%s</p></body></html>\n" % (
            text(rng, room // 2 - 60).replace("\n", "<br>\n"))
    else:
        body += ('Content-Type: application/octet-stream; name="data%d.bin"\n'
                 "Content-Transfer-Encoding: base64\n"
                 'Content-Disposition: attachment; filename="data%d.bin"\n\n' % (i, i))
        body += b64(rng, room // 2)
    return head + body + "\n--%s--\n" % boundary


def main():
    args = sys.argv[1:]
    seed = 1
    if "--seed" in args:
        k = args.index("--seed")
        seed = int(args[k + 1])
        del args[k:k + 2]
    n, root = int(args[0]), args[1]
    rng = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    t = 1600000000
    for i in range(1, n + 1):
        t += rng.randint(30, 3000)
        data = message(rng, i, t).encode()
        name = "%d.M%dP%d.bench" % (t, rng.randint(0, 999999), 1000 + i % 30000)
        if rng.random() < 2 / 3:
            name += ",S=%d,W=%d" % (len(data), len(data) + data.count(b"\n"))
        f = rng.random()
        name += ":2," + ("S" if f < 0.8 else "" if f < 0.95 else "FS")
        path = os.path.join(root, "cur", name)
        with open(path, "wb") as fp:
            fp.write(data)
        os.utime(path, (t, t))


main()
