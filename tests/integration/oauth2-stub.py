#!/usr/bin/env python3
"""A small OAuth 2.0 provider on 127.0.0.1 for test-oauth2.sh: the one stand-in
of that test, because Google's and Microsoft's endpoints cannot be reached
from the test machine (and would need a real account).

Usage: oauth2-stub.py PORTFILE STATEDIR

It writes its port to PORTFILE once listening, and serves:
  POST /devicecode   RFC 8628 device authorization: a device_code and a user
                     code; the first poll of /token answers
                     authorization_pending, the next one the tokens.
  GET  /authorize    the authorization endpoint of the code flow: redirects
                     at once (as if the user signed in) to redirect_uri with a
                     code and the state, remembering the PKCE challenge.
  POST /token        grant types device_code, authorization_code (checks the
                     PKCE verifier against the challenge, RFC 7636, and the
                     redirect_uri) and refresh_token (rotates it: the old one
                     is no longer valid, as Microsoft does).
  POST /introspect   RFC 7662 for Dovecot's oauth2 passdb: a token it issued
                     that has not expired is active, for the user in
                     STATEDIR/user (default alice).
Test controls, files in STATEDIR: expires_in (seconds, default 3600), fail
(when present, /token refuses refresh tokens with invalid_grant).
Every request is logged as one line in STATEDIR/log.
"""
import base64
import hashlib
import http.server
import json
import os
import sys
import time
import urllib.parse

portfile, state = sys.argv[1], sys.argv[2]
codes = {}       # code -> (challenge, redirect_uri)
devices = {}     # device_code -> polls so far
refresh = set()  # valid refresh tokens
access = {}      # access token -> expiry time
counter = [0]


def ctl(name, default=None):
    try:
        with open(os.path.join(state, name)) as f:
            return f.read().strip()
    except OSError:
        return default


def log(line):
    with open(os.path.join(state, "log"), "a") as f:
        f.write(line + "\n")


def issue():
    counter[0] += 1
    n = counter[0]
    expires = int(ctl("expires_in", "3600"))
    at, rt = "access-%d" % n, "refresh-%d" % n
    access[at] = time.time() + expires
    refresh.add(rt)
    return {"access_token": at, "refresh_token": rt, "token_type": "Bearer", "expires_in": expires}


class H(http.server.BaseHTTPRequestHandler):
    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        log("GET %s %s" % (u.path, " ".join(sorted(q))))
        if u.path != "/authorize" or q.get("response_type") != "code" or not q.get("redirect_uri"):
            return self.answer(400, {"error": "invalid_request"})
        counter[0] += 1
        code = "code-%d" % counter[0]
        codes[code] = (q.get("code_challenge"), q.get("code_challenge_method"), q["redirect_uri"])
        loc = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        self.send_response(302)
        self.send_header("Location", loc)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        f = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
        path = urllib.parse.urlsplit(self.path).path
        log("POST %s %s %s" % (path, f.get("grant_type", ""), f.get("refresh_token", f.get("token", ""))))
        if path == "/devicecode":
            counter[0] += 1
            dc = "device-%d" % counter[0]
            devices[dc] = 0
            return self.answer(200, {"device_code": dc, "user_code": "CRRL-%04d" % counter[0],
                                     "verification_uri": "http://127.0.0.1/device", "expires_in": 60,
                                     "interval": 1})
        if path == "/introspect":
            t = f.get("token", "")
            live = t in access and access[t] > time.time()
            ans = {"active": "true", "username": ctl("user", "alice")} if live else {"active": "false"}
            return self.answer(200, ans)
        if path != "/token":
            return self.answer(404, {"error": "not_found"})
        g = f.get("grant_type")
        if not f.get("client_id"):
            return self.answer(401, {"error": "invalid_client", "error_description": "no client_id"})
        if g == "urn:ietf:params:oauth:grant-type:device_code":
            dc = f.get("device_code")
            if dc not in devices:
                return self.answer(400, {"error": "invalid_grant"})
            devices[dc] += 1
            if devices[dc] == 1:
                return self.answer(400, {"error": "authorization_pending"})
            del devices[dc]
            return self.answer(200, issue())
        if g == "authorization_code":
            c = codes.pop(f.get("code"), None)
            if c is None:
                return self.answer(400, {"error": "invalid_grant", "error_description": "unknown code"})
            challenge, method, redirect = c
            v = f.get("code_verifier", "")
            s = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
            if method != "S256" or s != challenge:
                return self.answer(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
            if f.get("redirect_uri") != redirect:
                return self.answer(400, {"error": "invalid_grant", "error_description": "redirect_uri differs"})
            return self.answer(200, issue())
        if g == "refresh_token":
            rt = f.get("refresh_token")
            if ctl("fail") is not None or rt not in refresh:
                return self.answer(400, {"error": "invalid_grant",
                                         "error_description": "Token has been expired or revoked."})
            refresh.discard(rt)
            return self.answer(200, issue())
        return self.answer(400, {"error": "unsupported_grant_type"})

    def log_message(self, *a):
        pass


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
