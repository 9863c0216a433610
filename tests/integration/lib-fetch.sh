# shellcheck shell=bash
# lib-fetch.sh: helpers shared by the test-fetch*.sh scripts. Sourcing it
# also sources lib.sh and lib-dovecot.sh, makes $CORRAL an absolute path and
# requires root (the test Dovecot needs it). $T must be the test's temp dir.
#
#   fetch_account NAME USER PROTO TLS PORT KEEP [LINE...]
#                  Prints one account of a config: host 127.0.0.1, USER's
#                  password from lib-dovecot.sh, ca_file $DOVECOT_CA (unless
#                  TLS is off or a LINE gives ca_file), timeout 20s (unless a
#                  LINE gives timeout); each LINE
#                  ("folders: [INBOX, Receipts]") is added as is.
#   fetch_config FILE MAILDIR STATE [LINE...] < ACCOUNTS
#                  Writes a config (mode 0600): maildir, state, the top-level
#                  LINEs, then "accounts:" and the account blocks from stdin.
#   corral_run SECS ARGS...
#                  Runs $CORRAL ARGS under `timeout SECS` (stdin from the file
#                  $CORRAL_STDIN, else /dev/null); stdout in $T/out,
#                  stderr in $T/err, exit status in RC (124: it hung). Any
#                  sanitizer report is copied to $T/sanitizer.log.
#   track_add EXPECTED USER FOLDER N [SIZE]
#                  dovecot_add_messages, and appends the Message-IDs of the new
#                  messages to the file EXPECTED.
#   msgids_folder DIR / msgids_tree ROOT
#                  Message-IDs of the message files in DIR's new/ and cur/, or
#                  in a whole Maildir++ tree (ROOT and every ROOT/.FOLDER); a
#                  file without one is listed as NOID:<hash of its bytes>.
#   exactly_once EXPECTED ROOT [folder]
#                  Compares the Maildir++ tree ROOT (with "folder": only the
#                  folder ROOT, not its subfolders) with the Message-IDs in
#                  EXPECTED; sets FETCH_LOST, FETCH_DUP (extra copies),
#                  FETCH_EXTRA (ids not expected) and FETCH_DELIVERED (files);
#                  returns 0 when the three are 0. Examples on stderr.
#   lost_count EXPECTED ROOT DIR...
#                  How many expected Message-IDs are neither in the Maildir++ tree
#                  ROOT nor in any of the server folders DIR (looked at up to 4
#                  times, as Dovecot may be renaming files meanwhile).
#   subjects_folder DIR
#                  The Subject of every message file in DIR's new/ and cur/, sorted.
#   message_files ROOT / tmp_files ROOT
#                  Every message file in new/ and cur/ (or in tmp/) of a
#                  Maildir++ tree, relative to ROOT, sorted.
#   fetch_fast_python
#                  Puts /usr/bin/python3 first in PATH (in $T/bin) when
#                  python3 is something else, e.g. a slow pyenv shim.
#   tree_sum DIR   One checksum over the names and contents of every file below DIR.
#   server_uidvalidity USER [FOLDER]
#                  The folder's UIDVALIDITY, asked over IMAP (plain port).
#   sanitizer_check
#                  One check: no corral run of this script printed a sanitizer report.
#   dovecot_alive_check
#                  One check: Dovecot still answers (a failure explains the others).

_fetch_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$_fetch_lib/lib.sh"
# shellcheck source=lib-dovecot.sh
. "$_fetch_lib/lib-dovecot.sh"
case $CORRAL in /*) ;; *) CORRAL=$PWD/$CORRAL ;; esac
need_root

fetch_account() { # NAME USER PROTO TLS PORT KEEP [LINE...]
	local name=$1 user=$2 proto=$3 tls=$4 port=$5 keep=$6 pw line has_ca=0 has_timeout=0
	shift 6
	pw=DOVECOT_PASS_$user
	pw=${!pw}
	for line in "$@"; do
		case $line in
		ca_file:*) has_ca=1 ;;
		timeout:*) has_timeout=1 ;;
		esac
	done
	printf '  %s:\n    protocol: %s\n    host: 127.0.0.1\n    port: %s\n' \
		"$name" "$proto" "$port"
	printf '    tls: %s\n    user: %s\n    password: '\''%s'\''\n' "$tls" "$user" "$pw"
	printf '    keep: %s\n' "$keep"
	[ $has_timeout -eq 1 ] || printf '    timeout: 20s\n'
	if [ "$tls" != off ] && [ $has_ca -eq 0 ]; then
		printf '    ca_file: %s\n' "$DOVECOT_CA"
	fi
	for line in "$@"; do
		printf '    %s\n' "$line"
	done
}

fetch_config() { # FILE MAILDIR STATE [LINE...] < ACCOUNTS
	local file=$1 maildir=$2 state=$3
	shift 3
	{
		printf 'maildir: %s\nstate: %s\n' "$maildir" "$state"
		[ $# -gt 0 ] && printf '%s\n' "$@"
		printf 'accounts:\n'
		cat
	} >"$file"
	chmod 600 "$file"
}

# shellcheck disable=SC2034 # RC is for the caller
corral_run() { # SECS ARGS...
	local secs=$1
	shift
	RC=0
	timeout -k 5 "$secs" "$CORRAL" "$@" >"$T/out" 2>"$T/err" <"${CORRAL_STDIN:-/dev/null}" || RC=$?
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/err"; then
		{
			echo "== corral $*"
			cat "$T/err"
		} >>"$T/sanitizer.log"
	fi
	return 0
}

sanitizer_check() {
	if [ -s "$T/sanitizer.log" ]; then
		not_ok "no corral run printed a sanitizer report" \
			"$(grep -m 3 -E 'ERROR|runtime error|#[0-3] ' "$T/sanitizer.log" | tr '\n' ' ')"
	else
		ok "no corral run printed a sanitizer report"
	fi
}

dovecot_alive_check() {
	if (exec 3<>"/dev/tcp/127.0.0.1/$DOVECOT_IMAP_PORT") 2>/dev/null; then
		ok "Dovecot still answers at the end"
	else
		not_ok "Dovecot still answers at the end" "stopped from outside the test?"
	fi
}

# The Python half: parsing headers is easier there.
_FETCH_PY=$(
	cat <<'EOF'
import hashlib, os, sys

def msg_files(d):
    for sub in ("new", "cur"):
        p = os.path.join(d, sub)
        if os.path.isdir(p):
            for f in sorted(os.listdir(p)):
                yield os.path.join(p, f)

def tree_dirs(root):
    yield root
    if os.path.isdir(root):
        for f in sorted(os.listdir(root)):
            if f.startswith(".") and f not in (".", "..") and os.path.isdir(os.path.join(root, f)):
                yield os.path.join(root, f)

def header(data, name):
    end = len(data)
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            end = min(end, i)
    lines, cur = [], None
    for line in data[:end].replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur += b" " + line.strip()
            continue
        if cur is not None:
            lines.append(cur)
        cur = line
    if cur is not None:
        lines.append(cur)
    want = name.lower().encode() + b":"
    for line in lines:
        if line.lower().startswith(want):
            return line[len(want):].strip().decode("latin-1")
    return None

def msgid(path):
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:  # Dovecot renamed it (new/ -> cur/) meanwhile
        return None
    v = header(data, "Message-ID")
    return v if v else "NOID:" + hashlib.sha256(data).hexdigest()[:16]

def files_of(mode, d):
    if mode == "tree":
        for t in tree_dirs(d):
            yield from msg_files(t)
    else:
        yield from msg_files(d)

cmd = sys.argv[1]
if cmd in ("msgids-folder", "msgids-tree"):
    for f in files_of(cmd[7:], sys.argv[2]):
        m = msgid(f)
        if m:
            print(m)
elif cmd == "subjects":
    print("\n".join(sorted(header(open(f, "rb").read(), "Subject") or "" for f in files_of("folder", sys.argv[2]))))
elif cmd == "exactly-once":
    want = set(l.strip() for l in open(sys.argv[2]) if l.strip())
    count = {}
    n = 0
    for f in files_of(sys.argv[4] if len(sys.argv) > 4 else "tree", sys.argv[3]):
        m = msgid(f)
        if m:
            count[m] = count.get(m, 0) + 1
            n += 1
    lost = sorted(want - set(count))
    dup = sorted(m for m, c in count.items() if c > 1)
    extra = sorted(set(count) - want)
    for what, l in (("lost", lost), ("duplicated", dup), ("unexpected", extra)):
        if l:
            sys.stderr.write("# %s: %s%s\n" % (what, " ".join(l[:5]), " ..." if len(l) > 5 else ""))
    print(len(lost), sum(count[m] - 1 for m in dup), len(extra), n)
elif cmd == "lost":
    import time
    want = set(l.strip() for l in open(sys.argv[2]) if l.strip())
    for attempt in range(4):
        have = set(msgid(f) for f in files_of("tree", sys.argv[3]))
        for d in sys.argv[4:]:
            have |= set(msgid(f) for f in files_of("folder", d))
        lost = sorted(want - have)
        if not lost:
            break
        time.sleep(0.5)  # a rename on the server may have hidden a file: look again
    if lost:
        sys.stderr.write("# lost: %s%s\n" % (" ".join(lost[:5]), " ..." if len(lost) > 5 else ""))
    print(len(lost))
EOF
)

msgids_folder() { python3 -c "$_FETCH_PY" msgids-folder "$1"; }
msgids_tree() { python3 -c "$_FETCH_PY" msgids-tree "$1"; }
subjects_folder() { python3 -c "$_FETCH_PY" subjects "$1"; }

track_add() { # EXPECTED USER FOLDER N [SIZE]
	local exp=$1 user=$2 folder=$3
	shift 3
	# The generator names what it stored: listing the folder afterwards
	# raced with a running `corral run` that fetched and deleted them.
	: >"$T/.added"
	DOVECOT_ADDED=$T/.added dovecot_add_messages "$user" "$folder" "$@"
	[ "$(wc -l <"$T/.added")" -eq "$1" ] ||
		setup_fail "$1 messages for $user's $folder: $(wc -l <"$T/.added") stored"
	cat "$T/.added" >>"$exp"
}

# shellcheck disable=SC2034 # FETCH_* are for the caller
exactly_once() { # EXPECTED ROOT [folder]
	local res
	res=$(python3 -c "$_FETCH_PY" exactly-once "$@")
	read -r FETCH_LOST FETCH_DUP FETCH_EXTRA FETCH_DELIVERED <<<"$res"
	[ "$FETCH_LOST" -eq 0 ] && [ "$FETCH_DUP" -eq 0 ] && [ "$FETCH_EXTRA" -eq 0 ]
}

# Relative paths: $T itself may lie below a directory called tmp.
lost_count() { # EXPECTED ROOT SERVER-FOLDER-DIR...
	python3 -c "$_FETCH_PY" lost "$@"
}

message_files() { # ROOT
	[ -d "$1" ] || return 0
	(cd "$1" && find . -type f \( -path './new/*' -o -path './cur/*' -o -path './.*/new/*' \
		-o -path './.*/cur/*' \) | sort)
}

tmp_files() { # ROOT
	[ -d "$1" ] || return 0
	(cd "$1" && find . -type f \( -path './tmp/*' -o -path './.*/tmp/*' \) | sort)
}

# lib-dovecot.sh and these helpers call python3 often; a pyenv shim in front
# of it costs a second a call, so use the system's when there is one.
fetch_fast_python() {
	if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
		mkdir -p "$T/bin"
		ln -sf /usr/bin/python3 "$T/bin/python3"
		PATH=$T/bin:$PATH
	fi
}

tree_sum() { # DIR
	[ -d "$1" ] || {
		echo none
		return 0
	}
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0r sha256sum | sha256sum)
}

server_uidvalidity() { # USER [FOLDER]
	python3 - "$1" "${2:-INBOX}" <<'EOF'
import imaplib, os, re, sys
user, folder = sys.argv[1], sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", int(os.environ["DOVECOT_IMAP_PORT"]))
m.login(user, os.environ["DOVECOT_PASS_" + user])
typ, data = m.status(folder, "(UIDVALIDITY)")
m.logout()
print(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1).decode())
EOF
}
