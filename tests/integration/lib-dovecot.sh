# shellcheck shell=bash
# lib-dovecot.sh: a throwaway Dovecot (IMAP + POP3) on 127.0.0.1, for tests.
#
# Source it from a bash script (set -euo pipefail is fine), then:
#
#   dovecot_setup [DIR]   Checks that Dovecot, openssl and python3 are there
#                         (contrib/install-deps.sh installs them), then writes everything under DIR
#                         (default: a new temp dir under ${TMPDIR:-/tmp}): a test
#                         CA and a server certificate for 127.0.0.1/localhost, a
#                         dovecot.conf, a passwd-file with three users. Picks
#                         free ports. Does not start anything.
#   dovecot_oauth2 URL    After dovecot_setup, before dovecot_start: Dovecot also
#                         takes OAuth 2.0 bearer tokens (SASL XOAUTH2 and
#                         OAUTHBEARER), asking the token introspection endpoint
#                         URL (RFC 7662, POST token=...) whether a token is
#                         active and whose it is ("active": "true", "username").
#   dovecot_start         Starts Dovecot in the background and waits (at most
#                         15 s) until all four ports answer.
#   dovecot_stop          Stops it (SIGTERM, then SIGKILL after 5 s). Safe to call
#                         twice and from an EXIT trap.
#   dovecot_cleanup       dovecot_stop, then removes DIR when dovecot_setup made it.
#   dovecot_maildir USER [FOLDER]
#                         Prints the Maildir directory of USER's FOLDER (default
#                         INBOX = the Maildir root; "A/B" is ".A.B"), creating it
#                         with cur/ new/ tmp/ owned by the mail user.
#   dovecot_add_messages USER FOLDER N [SIZE]
#                         Puts N generated messages of about SIZE bytes (default
#                         2000) straight into the folder's new/ (fast: Dovecot
#                         indexes them on the next SELECT). Message i has the
#                         Subject "Test message i" and the Message-ID
#                         <i.SEED@corral.test>; bodies contain lines starting with
#                         "." and "..", and a line "From " to exercise escaping.
#   dovecot_add_files USER FOLDER FILE...
#                         Copies the given message files into the folder's new/.
#   dovecot_warm_up USER
#                         Has Dovecot index USER's INBOX and mark it seen now
#                         (benchmarks: the first tool's run should not pay).
#   dovecot_count USER [FOLDER]
#                         Prints how many message files the folder holds
#                         (new/ + cur/), as Dovecot stores them.
#
# Exported after dovecot_setup:
#   DOVECOT_DIR                    the work directory
#   DOVECOT_IMAP_PORT              IMAP with STARTTLS offered (143-style)
#   DOVECOT_IMAPS_PORT             IMAP over implicit TLS (993-style)
#   DOVECOT_POP3_PORT              POP3 with STLS offered (110-style)
#   DOVECOT_POP3S_PORT             POP3 over implicit TLS (995-style)
#   DOVECOT_CA                     the CA certificate (PEM) that signed the server's
#   DOVECOT_USERS                  "alice bob carol"
#   DOVECOT_PASS_alice, DOVECOT_PASS_bob, DOVECOT_PASS_carol   their passwords
#   DOVECOT_LOG                    Dovecot's log file
#
# Plaintext authentication is allowed on the plain ports (tests of `tls: off`
# need it); mechanisms PLAIN, LOGIN and CRAM-MD5 are offered. Mail is stored
# as the unprivileged user "nobody"; the login processes run as "dovenull".
# Everything listens on 127.0.0.1 only. Needs root (it runs the master as
# root, as Dovecot expects, and chowns the mail files).
#
# A step that fails (a missing tool, a server that does not start, messages
# that were not stored) ends the script with exit 1 through setup_fail
# (lib.sh) when the script has it, else with a message on stderr: a test
# whose setup failed must fail, never pass having checked nothing.

DOVECOT_USERS="alice bob carol"
_dovecot_made_dir=""
_dovecot_pid=""

_dovecot_fail() { # WHAT
	if declare -F setup_fail >/dev/null; then setup_fail "$1"; fi
	echo "setup failed: $1" >&2
	exit 1
}

_dovecot_check_tools() {
	local missing=()
	command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-core)
	[ -e /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
	[ -e /usr/lib/dovecot/pop3 ] || missing+=(dovecot-pop3d)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v python3 >/dev/null 2>&1 || missing+=(python3)
	[ "$(id -u)" -eq 0 ] || _dovecot_fail "the test Dovecot needs root"
	[ ${#missing[@]} -eq 0 ] ||
		_dovecot_fail "missing ${missing[*]} (contrib/install-deps.sh check installs them)"
}

_dovecot_ensure_user() { # NAME
	getent passwd "$1" >/dev/null && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$1"
}

_dovecot_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

_dovecot_certs() { # DIR
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=corral test CA" \
		-keyout "$d/ca.key" -out "$d/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
	chmod 600 "$d/server.key" "$d/ca.key"
}

_dovecot_conf() { # DIR
	local d=$1 dh=""
	[ -r /usr/share/dovecot/dh.pem ] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
	cat >"$d/dovecot.conf" <<EOF
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$d/server.crt
ssl_key = <$d/server.key
$dh
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $d/passwd
}
service imap-login {
  inet_listener imap {
    port = $DOVECOT_IMAP_PORT
  }
  inet_listener imaps {
    port = $DOVECOT_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $DOVECOT_POP3_PORT
  }
  inet_listener pop3s {
    port = $DOVECOT_POP3S_PORT
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
}

dovecot_setup() {
	_dovecot_check_tools
	_dovecot_ensure_user dovenull
	_dovecot_ensure_user dovecot
	if [ $# -gt 0 ]; then
		DOVECOT_DIR=$1
		mkdir -p "$DOVECOT_DIR"
	else
		DOVECOT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/corral-dovecot.XXXXXX")
		_dovecot_made_dir=$DOVECOT_DIR
	fi
	# The mail user (nobody) must reach the homes below this directory.
	chmod 755 "$DOVECOT_DIR"
	mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state" "$DOVECOT_DIR/home"
	chmod 755 "$DOVECOT_DIR/home"
	DOVECOT_IMAP_PORT=$(_dovecot_free_port)
	DOVECOT_IMAPS_PORT=$(_dovecot_free_port)
	DOVECOT_POP3_PORT=$(_dovecot_free_port)
	DOVECOT_POP3S_PORT=$(_dovecot_free_port)
	DOVECOT_CA=$DOVECOT_DIR/ca.crt
	DOVECOT_LOG=$DOVECOT_DIR/dovecot.log
	DOVECOT_PASS_alice=alice-secret-1
	DOVECOT_PASS_bob='bob pass 2'
	DOVECOT_PASS_carol=carol-secret-3
	export DOVECOT_DIR DOVECOT_IMAP_PORT DOVECOT_IMAPS_PORT DOVECOT_POP3_PORT \
		DOVECOT_POP3S_PORT DOVECOT_CA DOVECOT_LOG DOVECOT_USERS \
		DOVECOT_PASS_alice DOVECOT_PASS_bob DOVECOT_PASS_carol
	_dovecot_certs "$DOVECOT_DIR" || _dovecot_fail "openssl could not make the test certificates"
	local uid gid u pw
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	: >"$DOVECOT_DIR/passwd"
	for u in $DOVECOT_USERS; do
		pw=DOVECOT_PASS_$u
		mkdir -p "$DOVECOT_DIR/home/$u"
		chown "$uid:$gid" "$DOVECOT_DIR/home/$u"
		printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$u" "${!pw}" "$uid" "$gid" \
			"$DOVECOT_DIR/home/$u" >>"$DOVECOT_DIR/passwd"
	done
	chmod 644 "$DOVECOT_DIR/passwd"
	_dovecot_conf "$DOVECOT_DIR"
}

_dovecot_port_open() { # PORT
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

dovecot_oauth2() { # INTROSPECTION-URL
	cat >"$DOVECOT_DIR/oauth2.conf" <<CONF
introspection_mode = post
introspection_url = $1
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
CONF
	# The oauth2 passdb first, for the bearer mechanisms only.
	python3 - "$DOVECOT_DIR/dovecot.conf" "$DOVECOT_DIR/oauth2.conf" <<'PY' ||
import sys
p, o = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("auth_mechanisms = plain login cram-md5", "auth_mechanisms = plain login cram-md5 xoauth2 oauthbearer")
s = s.replace("passdb {", "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\npassdb {" % o, 1)
open(p, "w").write(s)
PY
		_dovecot_fail "could not add the oauth2 passdb to dovecot.conf"
}

dovecot_start() {
	dovecot -F -c "$DOVECOT_DIR/dovecot.conf" >>"$DOVECOT_DIR/dovecot.stderr" 2>&1 &
	_dovecot_pid=$!
	local i p ok
	for ((i = 0; i < 150; i++)); do
		ok=1
		for p in $DOVECOT_IMAP_PORT $DOVECOT_IMAPS_PORT $DOVECOT_POP3_PORT $DOVECOT_POP3S_PORT; do
			_dovecot_port_open "$p" || ok=0
		done
		[ $ok -eq 1 ] && return 0
		if ! kill -0 "$_dovecot_pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "# dovecot did not start:" >&2
	tail -n 20 "$DOVECOT_DIR/dovecot.stderr" "$DOVECOT_LOG" >&2 2>/dev/null || true
	dovecot_stop
	_dovecot_fail "Dovecot did not start"
}

dovecot_stop() {
	[ -n "$_dovecot_pid" ] || return 0
	local i
	kill -TERM "$_dovecot_pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$_dovecot_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$_dovecot_pid" 2>/dev/null || true
	wait "$_dovecot_pid" 2>/dev/null || true
	_dovecot_pid=""
}

dovecot_cleanup() {
	dovecot_stop
	if [ -n "$_dovecot_made_dir" ]; then
		rm -rf "$_dovecot_made_dir"
		_dovecot_made_dir=""
	fi
}

dovecot_maildir() { # USER [FOLDER]
	local user=$1 folder=${2:-INBOX} dir
	dir=$DOVECOT_DIR/home/$user/Maildir
	if [ "$folder" != INBOX ]; then
		dir=$dir/.${folder//\//.}
	fi
	if [ ! -d "$dir/new" ]; then
		mkdir -p "$dir/cur" "$dir/new" "$dir/tmp"
		[ "$folder" != INBOX ] && : >"$dir/maildirfolder"
		chown -R nobody: "$DOVECOT_DIR/home/$user/Maildir"
	fi
	printf '%s\n' "$dir"
}

dovecot_add_messages() { # USER FOLDER N [SIZE]
	local dir
	dir=$(dovecot_maildir "$1" "$2")
	python3 - "$dir/new" "$3" "${4:-2000}" <<'EOF' || _dovecot_fail "could not store $3 messages for $1 in $2"
import os, sys, time
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seed = "%d.%d" % (int(time.time()), os.getpid())
filler = [
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.",
    ".a line starting with one dot",
    "..two dots at the start",
    ".",
    "From the start of a line, mbox would escape this",
    "tab\tseparated\tcolumns and trailing spaces   ",
]
for i in range(1, n + 1):
    head = ("From: Sender %d <sender%d@example.org>\n"
            "To: Test <test@example.com>\n"
            "Subject: Test message %d\n"
            "Message-ID: <%d.%s@corral.test>\n"
            "Date: Mon, 01 Jan 2024 12:00:00 +0000\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=us-ascii\n\n") % (i, i % 97, i, i, seed)
    body, k = [], 0
    length = len(head)
    while length < size:
        line = "%05d %s" % (k, filler[k % len(filler)])
        body.append(line)
        length += len(line) + 1
        k += 1
    name = "%d.M%dP%d.corraltest" % (1700000000 + i, i, os.getpid())
    with open(os.path.join(d, name), "w") as f:
        f.write(head + "\n".join(body) + "\n")
    # What was stored, for a caller that cannot list the folder afterwards
    # (a running fetch may already have taken the messages).
    if os.environ.get("DOVECOT_ADDED"):
        with open(os.environ["DOVECOT_ADDED"], "a") as f:
            f.write("<%d.%s@corral.test>\n" % (i, seed))
EOF
	chown -R nobody: "$dir"
}

dovecot_add_files() { # USER FOLDER FILE...
	local dir
	dir=$(dovecot_maildir "$1" "$2")
	shift 2
	# One process for all the copies: thousands of files take a second, not a minute.
	python3 - "$dir/new" "$@" <<'EOF' || _dovecot_fail "could not copy messages for $1 into $2"
import os, shutil, sys, time
d, t = sys.argv[1], int(time.time())
for i, f in enumerate(sys.argv[2:], 1):
    shutil.copyfile(f, os.path.join(d, "%d.F%d.P%d.corraltest" % (t, i, os.getpid())))
EOF
	chown -R nobody: "$dir"
}

# Has Dovecot index USER's INBOX, compute the POP3 sizes and (at the first
# POP3 QUIT) mark every message seen now, so that a benchmark's first run
# does not pay for it.
dovecot_warm_up() { # USER
	local pw_var=DOVECOT_PASS_$1
	/usr/bin/python3 - "$DOVECOT_POP3_PORT" "$DOVECOT_IMAP_PORT" "$1" "${!pw_var}" <<'EOF'
import imaplib, poplib, sys
pop_port, imap_port, user, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
p = poplib.POP3("127.0.0.1", pop_port)
p.user(user); p.pass_(pw)
p.uidl()
for i in range(1, p.stat()[0] + 1):
    p.retr(i)
p.quit()
m = imaplib.IMAP4("127.0.0.1", imap_port)
m.login(user, pw)
m.select("INBOX")
m.uid("FETCH", "1:*", "(UID RFC822.SIZE FLAGS BODY.PEEK[])")
m.logout()
EOF
}

dovecot_count() { # USER [FOLDER]
	local dir
	dir=$(dovecot_maildir "$1" "${2:-INBOX}")
	find "$dir/new" "$dir/cur" -type f | wc -l
}
