#!/bin/bash
# The shell completion of contrib/completion/ loads in bash and zsh without
# a word on stderr, and completes commands, options, the account names of
# the config (-c included) and the Maildir's folders, through the hidden
# `corral _complete`. `make install` / `make uninstall` with DESTDIR and
# PREFIX put the scripts (and everything else) in place and take them away.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
mktest
need bash zsh
[ -x "$CORRAL" ] || setup_fail "no corral binary at $CORRAL (make builds it)"
case $CORRAL in /*) ;; *) CORRAL=$PWD/$CORRAL ;; esac
export HOME=$T/home XDG_CONFIG_HOME=$T/xdg
mkdir -p "$HOME" "$T/bin" "$T/xdg/corral"
ln -s "$CORRAL" "$T/bin/corral"
export PATH=$T/bin:$PATH
COMP=$PWD/contrib/completion

MD=$T/Maildir
mkdir -p "$MD/cur" "$MD/.Lists.debian-devel/cur" "$MD/.Entw&APw-rfe/cur" "$MD/.Receipts/cur"
for f in "$T/xdg/corral/config.yml" "$T/other.yml"; do
	write_config "$f" <<YML
maildir: $MD
accounts:
  work:
    protocol: imap
    host: imap.example.org
    user: me
    password_command: "true"
  $( [ "$f" = "$T/other.yml" ] && echo other-acct || echo home-mail ):
    protocol: pop3
    host: imap.example.net
    user: me
    password_command: "true"
YML
done

check "_complete accounts lists the config's accounts" \
	test "$("$CORRAL" _complete accounts | tr '\n' ' ')" = "work home-mail "
check "_complete folders lists INBOX and the folders, decoded" \
	test "$("$CORRAL" _complete folders | tr '\n' ' ')" = "INBOX Entwürfe Lists/debian-devel Receipts "
"$CORRAL" -c "$T/nope.yml" _complete accounts >"$T/out" 2>"$T/err"
check "_complete with no config: nothing, exit 0, silent" \
	bash -c "[ $? -eq 0 ] && [ ! -s '$T/out' ] && [ ! -s '$T/err' ]"
check "_complete is not in corral --help" bash -c "! '$CORRAL' --help | grep -q _complete"

# bash: COMP_WORDS as the shell would set them, then _corral's COMPREPLY.
bash_complete() { # WORD...: completes the last word
	bash --norc --noprofile -c '
		source "$1" || exit 9
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_corral
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP/corral.bash" "$@" 2>"$T/bash.err"
}
bash --norc --noprofile -c 'source "$1"; complete -p corral' _ "$COMP/corral.bash" >"$T/out" 2>"$T/err"
check "bash: the script loads without error and registers corral" \
	bash -c "[ ! -s '$T/err' ] && grep -q '_corral corral' '$T/out'"
check "bash: completes a command" test "$(bash_complete corral fe)" = fetch
check "bash: completes an account name after fetch" test "$(bash_complete corral fetch wo)" = work
check "bash: completes an account name of -c FILE" \
	test "$(bash_complete corral -c "$T/other.yml" status oth)" = other-acct
check "bash: completes an account after deliver -a" test "$(bash_complete corral deliver -a ho)" = home-mail
check "bash: completes a folder after refile" test "$(bash_complete corral refile Li)" = Lists/debian-devel
check "bash: completes a command's option" test "$(bash_complete corral init --add)" = --add-account
check "bash: completes a common option" test "$(bash_complete corral --ver)" = --version
check "bash: completes --tls values" test "$(bash_complete corral init --tls st)" = starttls
check "bash: completes the tool after import" test "$(bash_complete corral import mb)" = mbsync
check "bash: completes the tool after import -a ACCOUNT" \
	test "$(bash_complete corral import -a work getm)" = getmail
check "bash: completes a file after import TOOL" \
	test "$(bash_complete corral import fetchmail "$T/other.y")" = "$T/other.yml"
check "bash: completes a message file after test" \
	test "$(bash_complete corral test "$T/other.y")" = "$T/other.yml"
check "bash: nothing on stderr" test ! -s "$T/bash.err"

# zsh: the script sourced (it registers itself with compdef), and found in
# fpath by compinit; the candidates of the widget's helper.
zsh_run() { # CODE
	zsh -f -c "autoload -Uz compinit && compinit -u -D -d '$T/zcompdump' && $1" 2>"$T/zsh.err"
}
zsh_run "source '$COMP/_corral' && print \${_comps[corral]}" >"$T/out"
check "zsh: the script loads without error and registers _corral" \
	bash -c "[ ! -s '$T/zsh.err' ] && [ \"\$(cat '$T/out')\" = _corral ]"
zsh_run "fpath=('$COMP' \$fpath) && compinit -u -D -d '$T/zcompdump2' && print \${_comps[corral]}" >"$T/out"
check "zsh: compinit finds it in fpath" bash -c "[ ! -s '$T/zsh.err' ] && [ \"\$(cat '$T/out')\" = _corral ]"
zsh_complete() { # WORD...: the candidates for the last word
	local w
	w=$(printf "'%s' " "$@")
	zsh_run "source '$COMP/_corral' && words=($w) && CURRENT=\${#words} && _corral_candidates"
}
check "zsh: completes an account name after fetch" \
	bash -c '[ "$(echo "$1" | tr "\n" " ")" = "work home-mail " ]' _ "$(zsh_complete corral fetch '')"
check "zsh: completes an account name of -c FILE" \
	bash -c '[ "$(echo "$1" | tr "\n" " ")" = "work other-acct " ]' _ "$(zsh_complete corral -c "$T/other.yml" fetch '')"
check "zsh: completes folders after refile" bash -c '[[ "$1" == *Lists/debian-devel* ]]' _ "$(zsh_complete corral refile '')"
check "zsh: completes commands" bash -c '[[ "$1" == *refile* && "$1" != *_complete* ]]' _ "$(zsh_complete corral '')"
check "zsh: completes the tools after import" \
	bash -c '[ "$(echo "$1" | tr "\n" " ")" = "fetchmail getmail mpop mbsync " ]' _ "$(zsh_complete corral import '')"
check "zsh: nothing on stderr" test ! -s "$T/zsh.err"

# make install / uninstall into a DESTDIR, with a PREFIX.
if make -s install DESTDIR="$T/dest" PREFIX=/opt/corral >"$T/make.out" 2>&1; then
	ok "make install DESTDIR PREFIX"
else
	not_ok "make install DESTDIR PREFIX" "$(tail -5 "$T/make.out")"
fi
D=$T/dest/opt/corral
for f in bin/corral share/man/man1/corral.1 share/man/man5/corral.yml.5 share/corral/rules/spam.yml \
	lib/systemd/user/corral.service share/bash-completion/completions/corral \
	share/zsh/site-functions/_corral; do
	check "make install put $f" test -e "$D/$f"
done
make -s uninstall DESTDIR="$T/dest" PREFIX=/opt/corral >"$T/make.out" 2>&1
check "make uninstall exits 0" test $? -eq 0
check "make uninstall removes every file it installed" test -z "$(find "$T/dest" -type f)"
finish
