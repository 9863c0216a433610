#!/usr/bin/env python3
"""Writes N realistic test messages for the benchmarks, deterministically.

usage: gen-messages.py N OUTDIR [--seed S]

The mix is what a consolidated mailbox looks like: personal mail, mailing
lists (List-Id), service notifications, receipts with PDF attachments,
photos (PNG), archives (ZIP), a little spam with verdict headers, encoded
words and 8-bit bodies. About 11-12 KB a message on average (5000 ~ 58 MB).
Files are named 00001.eml ... with CRLF line ends, as a server stores them.
"""
import base64
import os
import random
import sys
import zlib

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "so no will can more about what up said out time only new some could these two may "
         "first then do any like my now over such our man me even most made after also did "
         "many before must through back years where much your way well down should because "
         "each just those people how too little state good very make world still own see men "
         "work long here get both between life being under never day same another know while "
         "last might us great old year off come since against go came right used take three").split()

LISTS = ["debian-devel", "linux-kernel", "postgres-hackers", "python-dev", "rust-users",
         "nginx-announce", "openbsd-misc", "freebsd-stable", "golang-nuts", "llvm-dev"]
SERVICES = [("notifications@github.com", "GitHub"), ("no-reply@gitlab.com", "GitLab"),
            ("jira@example-corp.atlassian.net", "Jira"), ("noreply@slack.com", "Slack"),
            ("no-reply@accounts.google.com", "Google")]
SHOPS = [("billing@shop.example.com", "Example Shop"), ("invoice@hosting.example.net", "Hosting"),
         ("receipts@cloud.example.org", "Cloud Inc")]
PEOPLE = ["alice@example.com", "bob@example.org", "carol@example.net", "dave@corp.example",
          "erin@uni.example.edu", "frank@mail.example", "grace@example.co.uk", "heidi@example.de"]


def text(rng, nbytes):
    out, size = [], 0
    line = []
    while size < nbytes:
        w = rng.choice(WORDS)
        line.append(w)
        size += len(w) + 1
        if sum(len(x) + 1 for x in line) > 68:
            out.append(" ".join(line))
            line = []
            if rng.random() < 0.12:
                out.append("")
    if line:
        out.append(" ".join(line))
    return "\r\n".join(out) + "\r\n"


def b64(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\r\n"


def pdf(rng, n):
    body = bytes(rng.getrandbits(8) for _ in range(n))
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + body + b"\n%%EOF\n"


def png(rng, n):
    raw = bytes(rng.getrandbits(8) for _ in range(n))
    ihdr = b"\x00\x00\x00\x40\x00\x00\x00\x40\x08\x02\x00\x00\x00"
    chunk = lambda t, d: len(d).to_bytes(4, "big") + t + d + zlib.crc32(t + d).to_bytes(4, "big")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def zipfile_bytes(rng, n):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data.txt", text(rng, n))
    return buf.getvalue()


def headers(rng, i, frm, to, subject, extra=()):
    day = 1 + i % 28
    h = [f"Return-Path: <{frm.split('<')[-1].rstrip('>')}>",
         f"Received: from mx{i % 7}.example.net (mx{i % 7}.example.net [192.0.2.{i % 250}])\r\n"
         f"\tby mail.example.com with ESMTPS id {i:08x}; Mon, {day} Nov 2026 10:{i % 60:02d}:00 +0000",
         f"Message-ID: <{i:06d}.{rng.getrandbits(32):08x}@gen.example>",
         f"Date: Mon, {day:02d} Nov 2026 10:{i % 60:02d}:{(i * 7) % 60:02d} +0000",
         f"From: {frm}", f"To: {to}", f"Subject: {subject}", "MIME-Version: 1.0"]
    h.extend(extra)
    return "\r\n".join(h) + "\r\n"


def with_attachment(rng, i, frm, subject, ctype, fname, data, declared=None):
    bnd = f"=_b{i:06d}"
    hdr = headers(rng, i, frm, "me@example.com", subject,
                  [f'Content-Type: multipart/mixed; boundary="{bnd}"'])
    body = (f"--{bnd}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text(rng, rng.randint(300, 1500)) +
            f"--{bnd}\r\nContent-Type: {declared or ctype}; name=\"{fname}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{fname}\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64(data) + f"--{bnd}--\r\n")
    return hdr + "\r\n" + body


def message(rng, i):
    r = rng.random()
    if r < 0.35:
        frm = rng.choice(PEOPLE)
        subj = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
        return headers(rng, i, frm, "me@example.com", subj,
                       ["Content-Type: text/plain; charset=utf-8"]) + "\r\n" + text(rng, rng.randint(2000, 16000))
    if r < 0.60:
        lst = rng.choice(LISTS)
        subj = f"[{lst}] " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
        return headers(rng, i, rng.choice(PEOPLE), f"{lst}@lists.example.org", subj,
                       [f"List-Id: {lst.replace('-', ' ')} <{lst}.lists.example.org>",
                        f"List-Unsubscribe: <mailto:{lst}-unsubscribe@lists.example.org>",
                        "Precedence: list", "Content-Type: text/plain; charset=utf-8"]) + "\r\n" + text(rng, rng.randint(1500, 12000))
    if r < 0.75:
        addr, name = rng.choice(SERVICES)
        return headers(rng, i, f"{name} <{addr}>", "me@example.com",
                       f"[{name}] " + " ".join(rng.choice(WORDS) for _ in range(5)),
                       ["Content-Type: text/plain; charset=utf-8", "Auto-Submitted: auto-generated"]) + "\r\n" + text(rng, rng.randint(500, 3000))
    if r < 0.85:
        addr, name = rng.choice(SHOPS)
        return with_attachment(rng, i, f"{name} <{addr}>", f"Your invoice {i}", "application/pdf",
                               f"invoice-{i}.pdf", pdf(rng, rng.randint(10000, 40000)),
                               declared=rng.choice([None, "application/octet-stream"]))
    if r < 0.91:
        return with_attachment(rng, i, rng.choice(PEOPLE), "photo", "image/png", f"img{i}.png",
                               png(rng, rng.randint(4000, 20000)))
    if r < 0.95:
        return with_attachment(rng, i, rng.choice(PEOPLE), "archive", "application/zip", f"a{i}.zip",
                               zipfile_bytes(rng, rng.randint(5000, 20000)))
    subj = "=?UTF-8?B?" + base64.b64encode("Gewinnen Sie jetzt Preise für Sie".encode()).decode() + "?="
    return headers(rng, i, "Winner <promo@spam.example>", "me@example.com", subj,
                   ["X-Spam-Flag: YES", "X-Spam-Status: Yes, score=9.1 required=5.0",
                    "Content-Type: text/plain; charset=iso-8859-1",
                    "Content-Transfer-Encoding: 8bit"]).encode() + b"\r\nGr\xfc\xdfe! " + text(rng, 800).encode()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    n, outdir = int(sys.argv[1]), sys.argv[2]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 42
    rng = random.Random(seed)
    os.makedirs(outdir, exist_ok=True)
    for i in range(1, n + 1):
        with open(os.path.join(outdir, f"{i:05d}.eml"), "wb") as f:
            data = message(rng, i)
            f.write(data if isinstance(data, bytes) else data.encode())


if __name__ == "__main__":
    main()
