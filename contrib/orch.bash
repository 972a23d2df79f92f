# bash completion for orch(1).
#
# Install (one of):
#   cp contrib/orch.bash ~/.local/share/bash-completion/completions/orch
#   sudo cp contrib/orch.bash /usr/share/bash-completion/completions/orch
#   echo '. /path/to/orch/contrib/orch.bash' >>~/.bashrc
#
# Completes the options of orch(1), the -d modes and -t tools, and, for targets, the
# steps, phases (name and phaseN), milestones and "all" of the Orchfile the command line
# would read: a -f FILE or -C DIR (--file, --directory) given earlier on the line is
# honoured. Targets come from `orch --list --json` through jq, or from the text of
# `orch --list` when jq is missing. Needs nothing from the bash-completion package.

# shellcheck disable=SC2207  # COMPREPLY=($(compgen ...)) is the idiom here
_orch_options='-f --file -C --directory -D --define -j --jobs -k --keep-going -n --dry-run -q
--question -v --verbose -s --quiet --silent -d --debug -t --tool -h --help --status
--json --list --check --why --graph --rollback --to --approve --skip --force --reset --yes
--on-failure --kill-orphans --version -T --target --accept --baseline --database --reason --trace --report --changelog --state --restore --sql --test-rollback --promote --abort --state-export --state-import'
_orch_debug_modes='explain stats list'
_orch_tools='list targets commands query clean'

# _orch_names KIND ORCH [ARGS...]: the names of KIND (targets, steps or manual) in the
# Orchfile that `ORCH ARGS... --list` reads, one per line. Prints nothing when the
# Orchfile cannot be read.
_orch_names() {
	local kind=$1 json
	shift
	if command -v jq >/dev/null 2>&1; then
		json=$("$@" --list --json 2>/dev/null) || return 0
		case $kind in
		steps)  jq -r '.steps[].name' <<<"$json" 2>/dev/null ;;
		manual) jq -r '.steps[] | select(.manual) | .name' <<<"$json" 2>/dev/null ;;
		*)      jq -r '.steps[].name, (.phases[] | .name, .target),
			           .milestones[].name, "all"' <<<"$json" 2>/dev/null ;;
		esac
	else
		# "steps:", "phases:", "milestones:" sections, two-space indented rows:
		#   step:      NAME PHASE KIND ESTIMATE TITLE
		#   phase:     phaseN NAME N steps TITLE
		#   milestone: NAME TITLE
		"$@" --list 2>/dev/null | awk -v kind="$kind" '
			/^steps:/      { s = "steps"; next }
			/^phases:/     { s = "phases"; next }
			/^milestones:/ { s = "milestones"; next }
			/^[^ ]/        { s = ""; next }
			/^  [^ ]/ {
				if (s == "steps") {
					if (kind != "manual" || $3 == "manual") print $1
				} else if (kind == "targets") {
					if (s == "phases") { print $2; print $1 }
					else if (s == "milestones") print $1
				}
			}
			END { if (kind == "targets") print "all" }'
	fi
}

_orch() {
	local cur prev opt i w orch
	local -a base
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# The orch to ask: the one being completed (./orch, a path) when it runs, else
	# orch from PATH.
	orch=${COMP_WORDS[0]}
	orch=${orch/#\~/$HOME}
	if [[ $orch != */* ]] || [[ ! -x $orch ]]; then
		orch=orch
	fi
	base=("$orch")

	# -f FILE / -C DIR given earlier on the line (also as -fFILE, -CDIR, --file FILE,
	# --file=FILE, --directory DIR, --directory=DIR; bash splits a word at '=')
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-f | -C | --file | --directory)
			[[ $w == --file ]] && w=-f
			[[ $w == --directory ]] && w=-C
			if [[ ${COMP_WORDS[i + 1]} == = ]] && ((i + 2 < COMP_CWORD)); then
				((i++))
			fi
			if ((i + 1 < COMP_CWORD)); then
				base+=("$w" "${COMP_WORDS[i + 1]/#\~/$HOME}")
				((i++))
			fi
			;;
		--file=?*) base+=(-f "${w#--file=}") ;;
		--directory=?*) base+=(-C "${w#--directory=}") ;;
		-f?* | -C?*)
			base+=("${w:0:2}" "${w:2}") ;;
		--) break ;;
		esac
	done

	# --opt=VALUE: the option before the '=' is the one whose value is completed
	opt=$prev
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	case $opt in
	-f | --file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	-C | --directory)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0
		;;
	-j | --jobs)
		COMPREPLY=($(compgen -W '1 2 4 8' -- "$cur"))
		return 0
		;;
	-k | --keep-going)
		# the number is optional: -k alone never stops, and a target may follow
		if [[ $cur != -* ]]; then
			COMPREPLY=($(compgen -W "0 1 2 4 8 $(_orch_names targets "${base[@]}")" -- "$cur"))
			return 0
		fi
		;;
	-d | --debug)
		COMPREPLY=($(compgen -W "$_orch_debug_modes" -- "$cur"))
		return 0
		;;
	-t | --tool)
		COMPREPLY=($(compgen -W "$_orch_tools" -- "$cur"))
		return 0
		;;
	--on-failure)
		COMPREPLY=($(compgen -W 'ask stop skip' -- "$cur"))
		return 0
		;;
	--approve)
		COMPREPLY=($(compgen -W "$(_orch_names manual "${base[@]}")" -- "$cur"))
		return 0
		;;
	--why | --skip | --accept | --restore)
		COMPREPLY=($(compgen -W "$(_orch_names steps "${base[@]}")" -- "$cur"))
		return 0
		;;
	--baseline)
		COMPREPLY=($(compgen -W "$(_orch_names targets "${base[@]}")" -- "$cur"))
		return 0
		;;
	-T | --target | --reason)
		return 0
		;;
	esac

	case $cur in
	-*)
		COMPREPLY=($(compgen -W "$_orch_options" -- "$cur"))
		return 0
		;;
	esac

	# -t list and -t targets take nothing; --rollback TARGET, --graph [TARGET],
	# --force TARGET..., -t commands|query|clean TARGET... and targets to run take targets
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -t || $w == --tool ]]; then
			[[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
			w=${COMP_WORDS[i + 1]}
			[[ $w == list || $w == targets ]] && return 0
		fi
	done
	COMPREPLY=($(compgen -W "$(_orch_names targets "${base[@]}")" -- "$cur"))
	return 0
}

complete -F _orch orch
