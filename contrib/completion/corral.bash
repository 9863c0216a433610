# bash completion for corral(1): commands, options, account names from the
# config, folder names from the Maildir. The words come from corral itself
# (`corral _complete ...`), so they follow the installed version and the
# config of -c. Installed by `make install` into
# share/bash-completion/completions/corral.

# _corral_words CFG... -- WORD...: the candidates for the last WORD, one a line.
_corral_words() {
	local -a cfg=() words=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do cfg+=("$1"); shift; done
	shift
	words=("$@")
	local n=${#words[@]} i cmd="" prev cur npos=0
	cur=${words[n - 1]}
	prev=${words[n - 2]:-}
	for ((i = 1; i < n - 1; i++)); do
		case ${words[i]} in
		-c | --config) i=$((i + 1)) ;;
		-a | --account | --folder) [ -n "$cmd" ] && i=$((i + 1)) ;;
		-*) ;;
		*) if [ -z "$cmd" ]; then cmd=${words[i]}; else npos=$((npos + 1)); fi ;;
		esac
	done
	case $prev in
	-c | --config | --rules | --expect | --ca-file | --maildir) return 0 ;;
	-a | --account) corral "${cfg[@]}" _complete accounts; return 0 ;;
	--folder) return 0 ;;
	--protocol) printf '%s\n' imap pop3; return 0 ;;
	--tls) printf '%s\n' implicit starttls off; return 0 ;;
	--provider) printf '%s\n' gmail outlook fastmail icloud yahoo gmx posteo; return 0 ;;
	--rule-sets) printf '%s\n' none spam notifications receipts lists big; return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		corral _complete options
		[ -n "$cmd" ] && corral _complete options "$cmd"
		return 0
	fi
	case $cmd in
	"") corral _complete commands ;;
	fetch | status) corral "${cfg[@]}" _complete accounts ;;
	refile) corral "${cfg[@]}" _complete folders ;;
	import) [ $npos -eq 0 ] && printf '%s\n' fetchmail getmail mpop mbsync ;;
	esac
}

_corral() {
	local cur=${COMP_WORDS[COMP_CWORD]} i prev file=0
	local -a cfg=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --config) cfg=(-c "${COMP_WORDS[i + 1]}") ;;
		--config=*) cfg=(-c "${COMP_WORDS[i]#--config=}") ;;
		esac
	done
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-c | --config | --rules | --expect | --ca-file | --maildir) file=1 ;;
	esac
	# Commands whose arguments are files (looked for before IFS changes below).
	local w filecmd=0
	for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
		case $w in test | import) filecmd=1 ;; esac
	done
	COMPREPLY=()
	local IFS=$'\n'
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -W "$(_corral_words "${cfg[@]}" -- "${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)" -- "$cur"))
	# Message files for test, state files for import, and the files of the
	# options that take one.
	if [ $file -eq 1 ] || { [ ${#COMPREPLY[@]} -eq 0 ] && [ $filecmd -eq 1 ]; }; then
		# shellcheck disable=SC2207
		COMPREPLY+=($(compgen -f -- "$cur"))
	fi
}
complete -F _corral corral
