#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that cuts connections at chosen byte offsets.

    cutproxy.py --target PORT --port-file FILE --plan FILE [--log FILE]
                [--stall-file FILE]

Listens on a free port of 127.0.0.1 (written to --port-file once it
listens) and forwards every connection to 127.0.0.1:PORT. Each new
connection takes the first line of the plan file (and removes it from the
file); when the file is missing or empty the connection is not cut:

    up N [rst]      forward N bytes client -> server, then cut
    down N [rst]    forward N bytes server -> client, then cut
    stall up|down N forward N bytes that way, then forward nothing more in
                    either direction but keep both sockets open (the client's
                    timeout has to notice)
    trickle down S  forward server -> client one byte at a time, sleeping S
                    seconds (a float) after each; client -> server as usual
    none            no cut

A cut closes both sockets: with FIN, or with RST when the line says "rst".

With --stall-file FILE, every connection that is open when FILE appears
stalls at once (as a NAT that forgot it would: nothing more either way,
no FIN, no RST); connections made after it are forwarded as usual.
One line per connection goes to --log when it ends:

    conn K plan "LINE" up U down D cut yes|no

where U and D are the bytes forwarded each way. Standard library only.
"""
import argparse
import os
import select
import socket
import struct
import sys
import threading
import time

lock = threading.Lock()
counter = [0]


def take_plan(path):
    """Pops the first line of the plan file (atomically for our threads)."""
    with lock:
        counter[0] += 1
        k = counter[0]
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return k, ""
        first, rest = (lines[0].strip(), lines[1:]) if lines else ("", [])
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("".join(line + "\n" for line in rest))
        os.replace(tmp, path)
        return k, first


def parse(line):
    """-> (mode, direction, limit, rst); mode is cut, stall or none."""
    w = line.split()
    try:
        if len(w) >= 2 and w[0] in ("up", "down"):
            return "cut", w[0], int(w[1]), "rst" in w[2:]
        if len(w) >= 3 and w[0] == "stall" and w[1] in ("up", "down"):
            return "stall", w[1], int(w[2]), False
        if len(w) >= 3 and w[0] == "trickle" and w[1] == "down":
            return "trickle", "down", float(w[2]), False
    except ValueError:
        pass
    return "none", None, None, False


def close(socks, rst):
    for s in socks:
        try:
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def stall_now(stall_path, since):
    """Whether the stall file appeared after the connection began."""
    try:
        return stall_path is not None and os.stat(stall_path).st_mtime >= since
    except FileNotFoundError:
        return False


def relay(cs, target, plan_path, log_path, stall_path=None):
    since = time.time()
    k, line = take_plan(plan_path)
    mode, way, limit, rst = parse(line)
    count = {"up": 0, "down": 0}
    cut = False
    try:
        ss = socket.create_connection(("127.0.0.1", target), timeout=10)
        ss.settimeout(None)
    except OSError:
        cs.close()
        return
    peer = {cs: (ss, "up"), ss: (cs, "down")}
    open_ = {cs, ss}
    stalled = False
    try:
        while open_ and not cut:
            r, _, _ = select.select(list(open_), [], [], 0.2 if stall_path else 600)
            if not stalled and stall_now(stall_path, since):
                stalled = True
                line += " (stall file)"
            if not r:
                if stall_path:
                    continue
                break
            for s in r:
                if stalled:
                    # Read and drop, so that neither side sees a closed socket;
                    # once either side gives up, so does the proxy.
                    if not s.recv(65536):
                        open_.clear()
                        break
                    continue
                other, d = peer[s]
                data = s.recv(65536)
                if not data:
                    open_.discard(s)
                    try:
                        other.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                if mode == "trickle" and d == way:
                    for i in range(len(data)):
                        other.sendall(data[i:i + 1])
                        count[d] += 1
                        time.sleep(limit)
                    continue
                if mode in ("cut", "stall") and d == way and count[d] + len(data) >= limit:
                    data = data[: limit - count[d]]
                    if data:
                        other.sendall(data)
                    count[d] += len(data)
                    if mode == "cut":
                        cut = True
                        break
                    stalled = True
                    continue
                other.sendall(data)
                count[d] += len(data)
    except OSError:
        pass
    close([cs, ss], rst)
    if log_path:
        with lock, open(log_path, "a") as f:
            f.write('conn %d plan "%s" up %d down %d cut %s\n'
                    % (k, line, count["up"], count["down"], "yes" if cut or stalled else "no"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--log")
    ap.add_argument("--stall-file")
    a = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.replace(tmp, a.port_file)
    while True:
        cs, _ = ls.accept()
        threading.Thread(target=relay, args=(cs, a.target, a.plan, a.log, a.stall_file),
                         daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
