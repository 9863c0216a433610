#!/usr/bin/env python3
"""A scripted POP3 server on 127.0.0.1 with the quirks of servers that no
Dovecot can be configured to show (GNU Mailutils pop3d, Courier pop3d):

    pop3-quirks.py --port-file FILE --spool DIR --user U --password P
                   [--utf8] [--log FILE]

- the greeting carries an APOP timestamp, but APOP is refused (the server
  cannot check it: "-ERR [AUTH] Bad login");
- CAPA offers "SASL CRAM-MD5", which it cannot check either (the answer to
  the challenge is refused), and USER, which works;
- with --utf8, CAPA announces UTF8 (RFC 6856). A message whose header has
  8-bit bytes is then sent as it is only after the client said UTF8; before,
  it is replaced by a "Cannot display Unicode content" notice, as Courier
  does;
- the messages are the files of DIR, in name order, their UIDL the file
  name; DELE removes the file at QUIT.

Every command received goes to --log, one per line, with PASS, APOP and
SASL answers reduced to their verb. Standard library only; one client at a
time; it runs until killed.
"""
import argparse
import os
import socket


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--utf8", action="store_true")
    ap.add_argument("--log")
    a = ap.parse_args()

    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    while True:
        c, _ = ls.accept()
        try:
            session(c, a)
        except (OSError, ValueError):
            pass
        finally:
            c.close()


def log(a, line):
    if a.log:
        with open(a.log, "a") as f:
            f.write(line + "\n")


def body_for(data, utf8):
    head = data.split(b"\r\n\r\n", 1)[0]
    if utf8 or all(b < 128 for b in head):
        return data
    return (b"From: Mail Delivery Subsystem <postmaster@localhost>\r\n"
            b"Subject: Cannot display Unicode content\r\n\r\n"
            b"This message contains Unicode content that your mail client\r\n"
            b"cannot display.\r\n")


def session(c, a):
    r = c.makefile("rb")

    def send(s):
        c.sendall(s.encode() + b"\r\n")

    send("+OK POP3 Ready <%d.1700000000@quirks.test>" % os.getpid())
    state, user, utf8, deleted = "auth", None, False, set()
    names = []
    while True:
        raw = r.readline(4096)
        if not raw:
            return
        line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        shown = verb if verb in ("PASS", "APOP") else line
        log(a, shown if state != "sasl" else "(answer)")
        if state == "sasl":
            state = "auth"
            send("-ERR [AUTH] Authentication failed")
            continue
        if verb == "CAPA":
            send("+OK Capability list follows")
            for cap in ["TOP", "UIDL", "RESP-CODES", "USER", "SASL CRAM-MD5"] + (
                    ["UTF8"] if a.utf8 else []):
                send(cap)
            send(".")
        elif verb == "QUIT":
            for n in deleted:
                os.unlink(os.path.join(a.spool, names[n - 1]))
            send("+OK Bye")
            return
        elif verb == "NOOP":
            send("+OK")
        elif state == "auth":
            if verb == "UTF8" and a.utf8:
                utf8 = True
                send("+OK UTF8 enabled")
            elif verb == "AUTH" and arg.upper() == "CRAM-MD5":
                state = "sasl"
                send("+ PDEyMzQuNTY3OEBxdWlya3MudGVzdD4=")
            elif verb == "AUTH":
                send("-ERR Unsupported mechanism")
            elif verb == "APOP":
                send("-ERR [AUTH] Bad login")
            elif verb == "USER":
                user = arg
                send("+OK")
            elif verb == "PASS" and user == a.user and arg == a.password:
                state = "trans"
                names = sorted(os.listdir(a.spool))
                send("+OK Logged in")
            elif verb == "PASS":
                send("-ERR [AUTH] Bad login")
            else:
                send("-ERR Invalid command")
        elif verb == "STAT":
            sizes = [os.path.getsize(os.path.join(a.spool, n)) for n in names]
            send("+OK %d %d" % (len(sizes), sum(sizes)))
        elif verb in ("LIST", "UIDL") and not arg:
            send("+OK")
            for i, n in enumerate(names, 1):
                if i not in deleted:
                    size = os.path.getsize(os.path.join(a.spool, n))
                    send("%d %s" % (i, n if verb == "UIDL" else size))
            send(".")
        elif verb == "RETR" and arg.isdigit() and 0 < int(arg) <= len(names):
            with open(os.path.join(a.spool, names[int(arg) - 1]), "rb") as f:
                data = body_for(f.read(), utf8)
            send("+OK")
            for ln in data.split(b"\r\n")[:-1] if data.endswith(b"\r\n") else data.split(b"\r\n"):
                c.sendall((b"." if ln.startswith(b".") else b"") + ln + b"\r\n")
            send(".")
        elif verb == "DELE" and arg.isdigit() and 0 < int(arg) <= len(names):
            deleted.add(int(arg))
            send("+OK")
        else:
            send("-ERR Invalid command")


if __name__ == "__main__":
    main()
