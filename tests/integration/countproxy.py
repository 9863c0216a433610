#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that counts what goes through it.

    countproxy.py --target PORT --port-file FILE --log FILE

Listens on a free port of 127.0.0.1 (written to --port-file once it
listens) and forwards every connection to 127.0.0.1:PORT. Each line the
client sends is appended to --log as "> LINE" (an AUTHENTICATE or LOGIN
line is cut after its verb: no secret is written), and when a connection
ends, one line "conn up U down D" with the bytes forwarded each way.
Standard library only.
"""
import argparse
import select
import socket
import threading

lock = threading.Lock()


def note(path, text):
    with lock:
        with open(path, "a") as f:
            f.write(text + "\n")


def safe(line):
    words = line.split(b" ")
    if len(words) > 2 and words[1].upper() in (b"AUTHENTICATE", b"LOGIN"):
        return b" ".join(words[:2]).decode(errors="replace")
    return line.decode(errors="replace")


def serve(c, target, log):
    s = socket.create_connection(("127.0.0.1", target))
    up = down = 0
    pending = b""
    try:
        while True:
            r, _, _ = select.select([c, s], [], [])
            if c in r:
                d = c.recv(65536)
                if not d:
                    break
                up += len(d)
                s.sendall(d)
                pending += d
                while b"\r\n" in pending:
                    line, pending = pending.split(b"\r\n", 1)
                    note(log, "> " + safe(line))
            if s in r:
                d = s.recv(65536)
                if not d:
                    break
                down += len(d)
                c.sendall(d)
    except OSError:
        pass
    finally:
        note(log, "conn up %d down %d" % (up, down))
        c.close()
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(a.port_file, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, a.target, a.log), daemon=True).start()


main()
