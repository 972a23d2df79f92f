# bash completion for orch(1).
#
# Install (one of):
#   cp contrib/orch.bash ~/.local/share/bash-completion/completions/orch
#   sudo cp contrib/orch.bash /usr/share/bash-completion/completions/orch
#   echo '. /path/to/orch/contrib/orch.bash' >>~/.bashrc
#
# Completes the options of orch(1) and, for targets, the steps, phases (name and
# phaseN), milestones and "all" of the Orchfile the command line would read: a -f FILE
# or -C DIR given earlier on the line is honoured. Targets come from
# `orch --list --json` through jq, or from the text of `orch --list` when jq is
# missing. Needs nothing from the bash-completion package.

# shellcheck disable=SC2207  # COMPREPLY=($(compgen ...)) is the idiom here
_orch_options='-f -C -j -k -n -v -q --status --json --list --check --why --graph
--rollback --approve --skip --force --reset --yes --on-failure --version --help'

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
	local cur prev i w orch
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

	# -f FILE / -C DIR given earlier on the line (also as -fFILE, -CDIR)
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-f | -C)
			if ((i + 1 < COMP_CWORD)); then
				base+=("$w" "${COMP_WORDS[i + 1]/#\~/$HOME}")
				((i++))
			fi
			;;
		-f?* | -C?*)
			base+=("${w:0:2}" "${w:2}") ;;
		--) break ;;
		esac
	done

	case $prev in
	-f)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	-C)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0
		;;
	-j | -k)
		COMPREPLY=($(compgen -W '1 2 4 8' -- "$cur"))
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
	--why | --skip | --force)
		COMPREPLY=($(compgen -W "$(_orch_names steps "${base[@]}")" -- "$cur"))
		return 0
		;;
	esac

	# --on-failure=MODE: bash splits the word at '=' (COMP_WORDBREAKS)
	if [[ $prev == = && $COMP_CWORD -ge 2 && ${COMP_WORDS[COMP_CWORD - 2]} == --on-failure ]] ||
		[[ $cur == = && $prev == --on-failure ]]; then
		[[ $cur == = ]] && cur=
		COMPREPLY=($(compgen -W 'ask stop skip' -- "$cur"))
		return 0
	fi

	case $cur in
	-*)
		COMPREPLY=($(compgen -W "$_orch_options" -- "$cur"))
		return 0
		;;
	esac

	# --rollback TARGET, --graph [TARGET], targets to run
	COMPREPLY=($(compgen -W "$(_orch_names targets "${base[@]}")" -- "$cur"))
	return 0
}

complete -F _orch orch
