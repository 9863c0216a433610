#!/bin/sh
# Installs what corral needs on Debian 12, for one purpose. This file holds
# the only lists of packages: no test or demo script installs anything.
#   install-deps.sh build   compiler, pkg-config, the libraries' -dev packages, cmocka
#   install-deps.sh check   build + the real servers and clients the tests start,
#                           imaptest's build, clang for the fuzz smoke runs     (make check)
#   install-deps.sh demo    build + Dovecot and what the demo runs               (make demo)
#   install-deps.sh fuzz    build + clang and its libFuzzer runtime              (make fuzz)
#   install-deps.sh bench   check + the tools the benchmarks compare against     (bench/*.sh)
# As root it runs apt-get (after apt-get update); otherwise it prints the
# exact command to run and fails.
set -eu

build="gcc make pkg-config libc6-dev libcurl4-openssl-dev libssl-dev libyaml-dev libmagic-dev libmagic-mgc libcmocka-dev libcrypt-dev"
# The test Dovecot (IMAP + POP3) and its certificates, the scripts' helpers
# (python3 writes mailboxes and plays clients and proxies), setsid, mount,
# ss (iproute2: which address a listener is bound to, test-serve-limits.sh).
servers="dovecot-imapd dovecot-pop3d openssl ca-certificates python3 procps util-linux mount passwd iproute2"
# The SMTP relay of the tests and the clients they drive. Postfix is the MTA
# in front of `corral deliver` in test-deliver-postfix.sh, which starts its
# own instance on 127.0.0.1 (installed unconfigured: no system MTA runs).
# isync (mbsync) logs in with SASL PLAIN through the Cyrus plugins of
# libsasl2-modules (without them it offers only EXTERNAL).
# zsh loads the completion script in test-completion.sh (bash is there already).
# fetchmail, getmail6 and mpop (and mbsync) write the state files that
# test-import.sh has `corral import` read.
# libfaketime steps the daemon's wall clock in test-run-stall-clock.sh.
clients="python3-aiosmtpd curl neomutt tmux isync libsasl2-modules postfix zsh libfaketime fetchmail getmail6 mpop"
# Dovecot's imaptest, built from ../shared/vendor/ by ../shared/tools/imaptest-build.sh
# (tests/integration/test-serve-imaptest.sh) against Debian's dovecot-dev.
imaptest="dovecot-dev build-essential autoconf automake libtool"
# clang and its libFuzzer runtime: make fuzz, and make check's short fuzz runs
# under ASan+UBSan (test-fuzz-smoke.sh).
fuzz="clang libclang-rt-14-dev"
# procmail sorts the sample messages of test-convert.sh: the reference that
# procmailrc2corral's rules must match.
convert="procmail"
others="procmail maildrop mpop fdm fetchmail hyperfine time strace"
case "${1:-build}" in
build) want="$build" ;;
check) want="$build $servers $clients $imaptest $fuzz $convert" ;;
demo) want="$build $servers" ;;
fuzz) want="$build $fuzz" ;;
bench) want="$build $servers $clients $imaptest $fuzz $others" ;;
*) echo "usage: $0 build|check|demo|fuzz|bench" >&2; exit 64 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "corral needs these Debian packages:$missing" >&2
	echo "install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Dovecot's package scripts would start the system service: keep it off.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
# Postfix asks how to configure the machine's mail: not at all.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
