#!/usr/bin/env python3
"""A DNS server for tests that answers SRV queries from a table, over UDP
on 127.0.0.1, with the standard library alone.

    dns-srv-stub.py PORTFILE NAME=PRIORITY:WEIGHT:PORT:TARGET...

Binds a free port, writes it to PORTFILE, then answers: an SRV question for
a NAME of the table gets its records (several NAME= entries add up; TARGET
"." says "no such service"); any other name gets NXDOMAIN. Runs until
killed.
"""
import socket
import struct
import sys


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_question(msg):
    off, labels = 12, []
    while msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += n + 1
    off += 1
    qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
    return ".".join(labels).lower(), qtype, msg[12:off + 4]


def answer(msg, table):
    qid, = struct.unpack("!H", msg[:2])
    name, qtype, question = read_question(msg)
    records = table.get(name, []) if qtype == 33 else []
    rcode = 0 if name in table else 3
    body = b""
    for prio, weight, port, target in records:
        rdata = struct.pack("!HHH", prio, weight, port) + encode_name(target)
        body += struct.pack("!HHHIH", 0xC00C, 33, 1, 60, len(rdata)) + rdata
    head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(records), 0, 0)
    return head + question + body


def main():
    table = {}
    for entry in sys.argv[2:]:
        name, rec = entry.split("=", 1)
        prio, weight, port, target = rec.split(":", 3)
        table.setdefault(name.lower(), []).append((int(prio), int(weight), int(port), target))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(msg, table), peer)
        except (IndexError, struct.error, UnicodeDecodeError):
            pass


if __name__ == "__main__":
    main()
