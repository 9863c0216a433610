#!/usr/bin/python3
"""A real SMTP server for corral's tests (Debian's python3-aiosmtpd).

    smtpsink.py PORT DIR [--starttls CERT KEY] [--implicit CERT KEY] [--auth USER PASS]
                [--no-8bitmime]

Listens on 127.0.0.1:PORT. Each accepted message is stored as DIR/N.eml:
the exact DATA bytes after dot-unstuffing (what an MTA stores), with the
envelope in DIR/N.json: mail_from, rcpt_tos, mail_options (SIZE=...), peer
(the client's address and port: the same port means a reused connection),
tls. Advertises SIZE and 8BITMIME (not with --no-8bitmime). Lines of any length are accepted.

Recipients are answered by their local part:
    tempfail*@      451
    reject*@        550
    flaky*@         451 the first time the address is seen (state in DIR), then 250
    slow*@          250 after 8 s
    datareject*@    250, then 554 after DATA (the whole message refused)
    datatempfail*@  250, then 452 after DATA
    others          250
With --auth, AUTH PLAIN and LOGIN are offered (also without TLS) and
required; each accepted login is appended to DIR/.logins.
Writes "ready" to stdout once listening; stops on SIGTERM.
"""
import asyncio
import json
import os
import re
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.dir = directory

    def _next_name(self):
        n = sum(1 for f in os.listdir(self.dir) if f.endswith(".eml"))
        return os.path.join(self.dir, "%d" % (n + 1))

    def _seen_before(self, address):
        mark = os.path.join(self.dir, ".flaky-" + re.sub(r"[^A-Za-z0-9@._-]", "_", address))
        if os.path.exists(mark):
            return True
        with open(mark, "w"):
            pass
        return False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("tempfail"):
            return "451 4.3.0 <%s>: temporary failure, try later" % address
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: recipient rejected" % address
        if local.startswith("flaky") and not self._seen_before(address):
            return "451 4.7.1 <%s>: greylisted, try later" % address
        if local.startswith("slow"):
            await asyncio.sleep(8)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        locals_ = [a.split("@")[0].lower() for a in envelope.rcpt_tos]
        if any(l.startswith("datareject") for l in locals_):
            return "554 5.6.0 message refused by policy"
        if any(l.startswith("datatempfail") for l in locals_):
            return "452 4.3.1 insufficient storage, try later"
        base = self._next_name()
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json", "w") as f:
            json.dump({
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "mail_options": envelope.mail_options,
                "peer": list(session.peer),
                # session.ssl is only set by STARTTLS; implicit TLS shows on the transport.
                "tls": session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
            }, f)
        # The .eml appears last: a test that sees it sees the whole message.
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 OK queued as %s" % os.path.basename(base)


class SinkNo8Bit(Sink):
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [r for r in responses if "8BITMIME" not in r]


class BigLineSMTP(SMTP):
    # Byte-exact tests send long lines; the relay must not judge them.
    line_length_limit = 1 << 26


def authenticator(directory, user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        if ok:
            with open(os.path.join(directory, ".logins"), "a") as f:
                f.write("%s %s\n" % (mechanism, user))
        return AuthResult(success=ok)
    return check


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def main(argv):
    port, directory = int(argv[1]), argv[2]
    starttls = implicit = auth = None
    i = 3
    no8bit = False
    while i < len(argv):
        if argv[i] == "--no-8bitmime":
            no8bit = True
            i -= 2
        elif argv[i] == "--auth":
            auth = (argv[i + 1], argv[i + 2])
        elif argv[i] == "--starttls":
            starttls = tls_context(argv[i + 1], argv[i + 2])
        elif argv[i] == "--implicit":
            implicit = tls_context(argv[i + 1], argv[i + 2])
        else:
            sys.exit("smtpsink: unknown option " + argv[i])
        i += 3
    os.makedirs(directory, exist_ok=True)
    handler = SinkNo8Bit(directory) if no8bit else Sink(directory)
    loop = asyncio.get_running_loop()

    def factory():
        extra = {}
        if auth:
            extra = dict(authenticator=authenticator(directory, *auth), auth_required=True,
                         auth_require_tls=False)
        return BigLineSMTP(handler, data_size_limit=64 << 20, tls_context=starttls,
                           require_starttls=starttls is not None, hostname="sink.test",
                           **extra)

    server = await loop.create_server(factory, "127.0.0.1", port, ssl=implicit)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    print("ready", flush=True)
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv))
