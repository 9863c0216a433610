#!/usr/bin/env bash
# contrib/corral-oauth2: authorize once, then print fresh access tokens for
# corral's oauth2_token_command.
#
# THE ONE STAND-IN: Google's and Microsoft's OAuth 2.0 endpoints cannot be
# reached from the test machine (nor used without a real account and app
# registration), so tests/integration/oauth2-stub.py, a small OAuth 2.0
# provider on 127.0.0.1, plays them: device authorization (RFC 8628), the
# authorization endpoint of the code flow with PKCE (RFC 7636), the token
# endpoint (refresh tokens rotated, as Microsoft does) and token
# introspection (RFC 7662). The presets' URLs are replaced by the stub's
# with --device-url, --auth-url and --token-url; everything else is real:
# the helper's own loopback listener (the "browser" is curl following the
# stub's redirect to it), the 0600 files, and the local Dovecot, whose
# oauth2 passdb asks the stub whether the token corral logs in with is
# one it issued (as in test-fetch-oauth2.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-fetch.sh"
mktest
fetch_fast_python
STUB=
APID=
trap '[ -n "$APID" ] && kill "$APID" 2>/dev/null; [ -n "$STUB" ] && kill "$STUB" 2>/dev/null; dovecot_cleanup; rm -rf "$T"' EXIT
need curl
HELPER=$here/../../contrib/corral-oauth2
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_CACHE_HOME=$T/cache XDG_STATE_HOME=$T/state
export CORRAL_OAUTH2_STORE=file
unset DISPLAY WAYLAND_DISPLAY
mkdir -p "$HOME" "$T/stub"

/usr/bin/python3 "$here/oauth2-stub.py" "$T/stub.port" "$T/stub" 2>"$T/stub.err" &
STUB=$!
wait_until 5 test -s "$T/stub.port" || setup_fail "the OAuth2 stub did not start: $(cat "$T/stub.err")"
S=http://127.0.0.1:$(cat "$T/stub.port")

# --- the device flow (the microsoft preset) ---
timeout 30 "$HELPER" authorize --account ms --provider microsoft --client-id test-client \
	--device-url "$S/devicecode" --token-url "$S/token" >"$T/out" 2>"$T/err"
rc=$?
check "authorize, device flow: exit 0 (got $rc: $(tail -1 "$T/err"))" test $rc -eq 0
check "authorize, device flow: prints the code to enter" grep -q "CRRL-" "$T/err"
check "authorize, device flow: polled again after authorization_pending" \
	test "$(grep -c 'POST /token urn:ietf:params:oauth:grant-type:device_code' "$T/stub/log")" -eq 2
check "the refresh token is in a file of mode 0600" test "$(stat -c %a "$T/config/corral/oauth2/ms.json" 2>&1)" = 600
check "its directory is 0700" test "$(stat -c %a "$T/config/corral/oauth2" 2>&1)" = 700
check "the file holds the refresh token" grep -q '"refresh_token": "refresh-' "$T/config/corral/oauth2/ms.json"

expire_cached() { # ACCOUNT: the cached access token's time is up (what time does)
	/usr/bin/python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["expires_at"]=0; json.dump(d,open(p,"w"))' \
		"$T/cache/corral/oauth2/$1.json"
}

# --- token: cached, then refreshed when it expires ---
t1=$("$HELPER" token --account ms 2>"$T/err")
check "token: exit 0 and a token (got '$t1')" test -n "$t1"
t2=$("$HELPER" token --account ms 2>"$T/err")
check "token: cached while valid (the same token, no refresh asked)" \
	sh -c "[ '$t1' = '$t2' ] && ! grep -q 'POST /token refresh_token' '$T/stub/log'"
check "the cached token is in a file of mode 0600" test "$(stat -c %a "$T/cache/corral/oauth2/ms.json" 2>&1)" = 600
expire_cached ms
rt_before=$(grep -o '"refresh-[0-9]*"' "$T/config/corral/oauth2/ms.json")
t3=$("$HELPER" token --account ms 2>"$T/err")
check "token: an expired token is refreshed (a new one: '$t1' -> '$t3')" \
	sh -c "[ -n '$t3' ] && [ '$t3' != '$t1' ] && grep -q 'POST /token refresh_token' '$T/stub/log'"
check "token: the rotated refresh token is stored (the old one is no longer valid)" \
	sh -c "[ '$(grep -o '"refresh-[0-9]*"' "$T/config/corral/oauth2/ms.json")' != '$rt_before' ]"
echo 1 >"$T/stub/expires_in" # the provider now gives tokens that live 1 s: never cached
expire_cached ms
t4=$("$HELPER" token --account ms 2>"$T/err")
t5=$("$HELPER" token --account ms 2>"$T/err")
check "token: a token about to expire is not used (refreshed each time: '$t4', '$t5')" \
	sh -c "[ -n '$t4' ] && [ -n '$t5' ] && [ '$t4' != '$t5' ]"
rm -f "$T/stub/expires_in"

# --- an error from the endpoint ---
touch "$T/stub/fail"
expire_cached ms
"$HELPER" token --account ms >"$T/out" 2>"$T/err"
rc=$?
check "token: the endpoint refuses: non-zero exit (got $rc)" test $rc -ne 0
check "token: the endpoint refuses: nothing on stdout" test ! -s "$T/out"
check "token: the message quotes the endpoint's error and says to authorize again ($(cat "$T/err"))" \
	sh -c "grep -q 'invalid_grant: Token has been expired or revoked' '$T/err' && grep -q 'authorize again' '$T/err'"
rm -f "$T/stub/fail"
"$HELPER" token --account nosuch >"$T/out" 2>"$T/err"
rc=$?
check "token for an account never authorized: exit 1, says to run authorize (got $rc)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'authorize --account nosuch' '$T/err'"
"$HELPER" authorize --account x --provider gmail >"$T/out" 2>"$T/err"
rc=$?
check "authorize without --client-id: exit 64, says why one is needed (got $rc)" \
	sh -c "[ $rc -eq 64 ] && grep -q 'registered' '$T/err'"
"$HELPER" --help | grep -q "embeds no one's id or secret"
check "--help says why the client id is the user's own" test $? -eq 0
# an endpoint that cannot be reached: temporary (75)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s|$S/token|http://127.0.0.1:$port/token|" "$T/config/corral/oauth2/ms.json"
"$HELPER" token --account ms >"$T/out" 2>"$T/err"
rc=$?
check "token: an unreachable endpoint is temporary: exit 75 (got $rc: $(cat "$T/err"))" test $rc -eq 75
sed -i "s|http://127.0.0.1:$port/token|$S/token|" "$T/config/corral/oauth2/ms.json"

# --- the loopback flow with PKCE (the gmail preset); curl is the browser ---
timeout 30 "$HELPER" authorize --account gm --provider gmail --client-id test-client \
	--client-secret not-secret --auth-url "$S/authorize" --token-url "$S/token" \
	--email alice@example.com >"$T/gm.out" 2>"$T/gm.err" &
APID=$!
wait_until 10 grep -q "^    $S/authorize?" "$T/gm.err" || setup_fail "authorize printed no URL: $(cat "$T/gm.err")"
url=$(sed -n "s|^    \($S/authorize?.*\)|\1|p" "$T/gm.err")
curl -s -L --max-time 10 "$url" >"$T/browser.html"
wait "$APID"
rc=$?
APID=
check "authorize, loopback flow: exit 0 (got $rc: $(tail -1 "$T/gm.err"))" test $rc -eq 0
check "the browser was told it is authorized" grep -q "corral: authorized" "$T/browser.html"
check "the authorization URL asks for PKCE S256, offline access and the address" \
	sh -c "echo '$url' | grep -q 'code_challenge_method=S256' && echo '$url' | grep -q 'access_type=offline' &&
		echo '$url' | grep -q 'login_hint=alice%40example.com'"
check "the code exchange passed the stub's PKCE check" grep -q "POST /token authorization_code" "$T/stub/log"
check "loopback: the refresh token file is 0600" test "$(stat -c %a "$T/config/corral/oauth2/gm.json" 2>&1)" = 600

# --- the token in corral's oauth2_token_command, against the local Dovecot ---
dovecot_setup >/dev/null
dovecot_oauth2 "$S/introspect"
dovecot_start
: >"$T/exp"
track_add "$T/exp" alice INBOX 5
printf 'maildir: %s\naccounts:\n  a:\n    protocol: imap\n    host: 127.0.0.1\n    port: %s\n    ca_file: %s\n    user: alice\n    oauth2_token_command: [%s, token, --account, gm]\n    keep: false\n' \
	"$T/Maildir" "$DOVECOT_IMAPS_PORT" "$DOVECOT_CA" "$HELPER" | write_config "$T/c.yml"
corral_run 60 -c "$T/c.yml" fetch
check "corral fetch with oauth2_token_command: corral-oauth2: exit 0 (got $RC: $(head -2 "$T/err"))" test "$RC" -eq 0
check "Dovecot asked the stub about the helper's token" grep -q "POST /introspect  access-" "$T/stub/log"
if exactly_once "$T/exp" "$T/Maildir"; then ok "all 5 messages delivered once"
else not_ok "all 5 messages delivered once" "lost $FETCH_LOST, duplicated $FETCH_DUP"; fi
# a token the provider no longer honours: Dovecot refuses it, corral says 77
/usr/bin/python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["access_token"]="access-forged"; d["expires_at"]=2**40; json.dump(d,open(p,"w"))' \
	"$T/cache/corral/oauth2/gm.json"
track_add "$T/exp" alice INBOX 1
corral_run 60 -c "$T/c.yml" fetch
check "a token the provider did not issue is a refused login: exit 77 (got $RC)" test "$RC" -eq 77
sanitizer_check
finish
