"""A raw IMAP session for the serve-*.py test scripts (imported from their
directory): response lines one at a time, literals left inline, and the
"ok NAME" / "not ok NAME # detail" lines that lib-serve.sh's serve_tap
counts."""
import socket


def check(cond, name, detail=""):
    print(("ok " if cond else "not ok ") + name + ("" if cond or not detail else " # " + str(detail)[:500]))
    return cond


class Raw:
    """One session on 127.0.0.1:port. cmd() takes and gives str, or bytes
    when given bytes (8-bit that is not UTF-8)."""

    def __init__(self, port, login=True):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.n = 0
        self.line()
        if login:
            self.cmd("LOGIN me sesame")

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def send(self, data):
        """Sends data (bytes) after a new tag; (untagged lines, tagged line without its tag)."""
        self.n += 1
        tag = b"r%d" % self.n
        self.s.sendall(tag + b" " + data + b"\r\n")
        out = []
        while True:
            l = self.line()
            if l.startswith(tag + b" "):
                return out, l[len(tag) + 1:]
            out.append(l)

    def cmd(self, text):
        if isinstance(text, bytes):
            return self.send(text)
        out, t = self.send(text.encode())
        return [l.decode("utf-8", "replace") for l in out], t.decode("utf-8", "replace")

    def expect(self, text, status, name):
        """Runs text, checks that the tagged answer starts with status; the untagged lines."""
        out, t = self.cmd(text)
        check(t.startswith(status), name, t)
        return out

    def close(self):
        self.cmd("LOGOUT")
        self.s.close()
