#!/usr/bin/env bash
# OAuth2 against a real server: Dovecot checks bearer tokens with its oauth2
# passdb, which asks a token introspection endpoint (RFC 7662; a small HTTP
# server here) whether a token is active and whose it is. corral logs in
# with auth: xoauth2 and auth: oauthbearer, the token from
# oauth2_token_command; an expired token is a refused login (77), a token
# command that fails is temporary (75) and its stderr is in the error.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
ISSUER=
DPID=
trap '[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null; [ -n "$ISSUER" ] && kill "$ISSUER" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT

# The introspection endpoint: POST token=... -> {"active": ..., "username": ...}.
/usr/bin/python3 - "$T/issuer.port" "$T/issuer.log" <<'PY' &
import http.server, json, sys, urllib.parse
tokens = {"token-of-alice": "alice", "token-of-bob": "bob"}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        token = urllib.parse.parse_qs(body).get("token", [""])[0]
        with open(sys.argv[2], "a") as log:
            log.write("introspect %s\n" % token)
        user = tokens.get(token)
        answer = {"active": "true", "username": user} if user else {"active": "false"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
ISSUER=$!
for ((i = 0; i < 50; i++)); do [ -s "$T/issuer.port" ] && break; sleep 0.1; done
[ -s "$T/issuer.port" ] || setup_fail "the token introspection endpoint did not start"

dovecot_setup >/dev/null
dovecot_oauth2 "http://127.0.0.1:$(cat "$T/issuer.port")/introspect"
dovecot_start
export HOME=$T/home XDG_STATE_HOME=$T/xstate
mkdir -p "$HOME"

# A token command: prints the token, or fails the way a real one can.
mkcmd() { # NAME BODY
	printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
	chmod 755 "$T/$1"
}
mkcmd good-alice 'echo token-of-alice'
mkcmd good-bob 'echo token-of-bob'
mkcmd expired 'echo token-that-expired'
mkcmd broken 'echo "token endpoint unreachable: connection refused" >&2; exit 3'
mkcmd hangs 'sleep 60'

oauth_config() { # NAME USER MECH PROTO PORT TOKEN-COMMAND
	printf 'maildir: %s\nstate: %s\naccounts:\n' "$T/$1/Maildir" "$T/$1/state"
	printf '  a:\n    protocol: %s\n    host: 127.0.0.1\n    port: %s\n    tls: implicit\n' "$4" "$5"
	printf '    ca_file: %s\n    user: %s\n    auth: %s\n    oauth2_token_command: [%s]\n' \
		"$DOVECOT_CA" "$2" "$3" "$T/$6"
	printf '    keep: false\n    timeout: 20s\n'
}

: >"$T/exp.alice"
track_add "$T/exp.alice" alice INBOX 10
oauth_config x alice xoauth2 imap "$DOVECOT_IMAPS_PORT" good-alice | write_config "$T/x.yml"
corral_run 60 -c "$T/x.yml" fetch
check "xoauth2 over IMAPS with a good token: exit 0 (got $RC)" test "$RC" -eq 0
check "xoauth2: Dovecot asked the introspection endpoint about the token" \
	grep -q "introspect token-of-alice" "$T/issuer.log"
if exactly_once "$T/exp.alice" "$T/x/Maildir"; then ok "xoauth2: all 10 messages delivered once"
else not_ok "xoauth2: all 10 messages delivered once" "lost $FETCH_LOST, duplicated $FETCH_DUP"; fi

: >"$T/exp.bob"
track_add "$T/exp.bob" bob INBOX 10
oauth_config b bob oauthbearer pop3 "$DOVECOT_POP3S_PORT" good-bob | write_config "$T/b.yml"
corral_run 60 -c "$T/b.yml" fetch
check "oauthbearer over POP3S with a good token: exit 0 (got $RC)" test "$RC" -eq 0
check "oauthbearer: Dovecot asked the introspection endpoint about the token" \
	grep -q "introspect token-of-bob" "$T/issuer.log"
if exactly_once "$T/exp.bob" "$T/b/Maildir"; then ok "oauthbearer: all 10 messages delivered once"
else not_ok "oauthbearer: all 10 messages delivered once" "lost $FETCH_LOST, duplicated $FETCH_DUP"; fi

track_add "$T/exp.alice" alice INBOX 3
oauth_config e alice xoauth2 imap "$DOVECOT_IMAPS_PORT" expired | write_config "$T/e.yml"
corral_run 60 -c "$T/e.yml" fetch
check "IMAP: an expired token is a refused login: exit 77 (got $RC)" test "$RC" -eq 77
check "IMAP: the error names the token command" grep -q "oauth2_token_command" "$T/err"
check "IMAP: an expired token: nothing deleted on the server" test "$(dovecot_count alice)" -eq 3
oauth_config e2 alice oauthbearer pop3 "$DOVECOT_POP3S_PORT" expired | write_config "$T/e2.yml"
corral_run 60 -c "$T/e2.yml" fetch
check "POP3: an expired token is a refused login: exit 77 (got $RC)" test "$RC" -eq 77
check "POP3: the error names the token command" grep -q "oauth2_token_command" "$T/err"

oauth_config f alice oauthbearer imap "$DOVECOT_IMAPS_PORT" broken | write_config "$T/f.yml"
corral_run 60 -c "$T/f.yml" fetch
check "a failing token command is temporary: exit 75 (got $RC)" test "$RC" -eq 75
check "a failing token command: its stderr is in the error" grep -q "token endpoint unreachable" "$T/err"
check "a failing token command: nothing deleted on the server" test "$(dovecot_count alice)" -eq 3
oauth_config h alice xoauth2 pop3 "$DOVECOT_POP3S_PORT" hangs | sed 's/timeout: 20s/timeout: 2s/' |
	write_config "$T/h.yml"
start=$SECONDS
corral_run 60 -c "$T/h.yml" fetch
check "a token command that hangs is stopped at the timeout: exit 75 (got $RC) after $((SECONDS - start)) s" \
	test "$RC" -eq 75 -a $((SECONDS - start)) -le 10
check "a token command that hangs: the error says it timed out" grep -q "timed out" "$T/err"
# corral run: the token command runs again for every new connection (access
# tokens expire), for the fetches and for the push connection alike; a
# failing one is temporary, its stderr in the log.
mkcmd counting "echo call >>'$T/token.calls'; echo token-of-alice"
oauth_config r alice xoauth2 imap "$DOVECOT_IMAPS_PORT" counting |
	sed 's/keep: false/keep: true\n    poll: 1s\n    idle: true/' | write_config "$T/r.yml"
"$CORRAL" -c "$T/r.yml" run >/dev/null 2>"$T/run.log" </dev/null &
DPID=$!
calls() { [ -e "$T/token.calls" ] && [ "$(wc -l <"$T/token.calls")" -ge "$1" ]; }
check "corral run with a token: the push connection (NOTIFY, or IDLE) logs in with it" \
	wait_until 15 grep -qE "a: (INBOX: waiting for new mail \(IDLE\)|waiting for new mail in 1 folder over one connection \(NOTIFY\))" "$T/run.log"
check "corral run: the token command ran for each new connection (4 in a few seconds)" \
	wait_until 10 calls 4
kill -TERM "$DPID"
wait "$DPID"
DPID=
oauth_config rf alice xoauth2 imap "$DOVECOT_IMAPS_PORT" broken |
	sed 's/keep: false/keep: true\n    poll: 1s\n    idle: false/' | write_config "$T/rf.yml"
"$CORRAL" -c "$T/rf.yml" run >/dev/null 2>"$T/run2.log" </dev/null &
DPID=$!
check "corral run, a failing token command: temporary, its stderr in the log" \
	wait_until 10 grep -q "error: a: .*token endpoint unreachable.*next try in" "$T/run2.log"
kill -TERM "$DPID"
wait "$DPID"
DPID=
check "the daemons' logs have no sanitizer report" \
	sh -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$T/run.log' '$T/run2.log'"
sanitizer_check
finish
