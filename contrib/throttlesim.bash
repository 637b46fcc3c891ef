# bash completion for throttlesim (installed as
# $(PREFIX)/share/bash-completion/completions/throttlesim).
# Commands, each command's options, the choices of --format, --engine,
# --chart and --auth-plain, scenario files (*.yaml, *.yml) and stores
# (*.db) where a file is expected.  Keep in step with each --help.

_throttlesim()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -n = || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD-1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local commands="run runs check plan results plot report serve load token profile demo"
	local run_shared="--seed --replications --duration --jobs -j --engine --quiet -q"
	local opts cmd=${words[1]} sub=${words[2]}

	if [[ $cword -eq 1 ]]; then
		COMPREPLY=($(compgen -W "$commands --help -h --version" -- "$cur"))
		return
	fi

	# values of options
	case $prev in
	--format)
		case $cmd in
		plot) COMPREPLY=($(compgen -W "png svg" -- "$cur")) ;;
		results) COMPREPLY=($(compgen -W "csv json" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "table json csv" -- "$cur")) ;;
		esac
		return ;;
	--engine) COMPREPLY=($(compgen -W "calendar heap" -- "$cur")); return ;;
	--emit) COMPREPLY=($(compgen -W "parallel slurm" -- "$cur")); return ;;
	--chart) COMPREPLY=($(compgen -W "timeseries cdf compare sweep" -- "$cur")); return ;;
	--auth-plain) COMPREPLY=($(compgen -W "accepted advertised refused" -- "$cur")); return ;;
	--db) COMPREPLY=($(compgen -f -X '!*.db' -- "$cur") $(compgen -d -- "$cur")); return ;;
	--entity) COMPREPLY=($(compgen -W "group: mailbox:" -- "$cur")); compopt -o nospace 2>/dev/null; return ;;
	--out|--scripts) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--record|--cert|--key|--write-cert|--token-key|--cafile) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--seed|--replications|--duration|--jobs|-j|--variant|--set|--vary|--range|--target|--memory-budget|\
	--figure|--listen|--time-scale|--hostname|--max-connections|--idle-timeout|--session-timeout|\
	--control|--replication|--ttl|--identity|--shard|--shards|--block)
		return ;;
	esac

	case $cmd in
	run) opts="--format --variant --set --db --describe --keep-series --memory-budget --shard --block --emit
	           --shards --help -h $run_shared" ;;
	runs) opts="--block --shard --variant --set --help -h $run_shared" ;;
	check) opts="--memory-budget --help -h" ;;
	plan) opts="--vary --range --target --entity --largest --variant --memory-budget --help -h $run_shared" ;;
	results)
		if [[ $cword -eq 2 ]]; then
			COMPREPLY=($(compgen -W "list show export rm prune merge --help -h" -- "$cur"))
			return
		fi
		case $sub in
		list) opts="--db --help -h" ;;
		show) opts="--db --help -h" ;;
		rm) opts="--db --no-vacuum --help -h" ;;
		prune) opts="--keep --dry-run --db --no-vacuum --help -h" ;;
		export) opts="--format --describe --db --help -h" ;;
		merge) opts="--keep-series --help -h" ;;
		*) opts="--help -h" ;;
		esac ;;
	plot) opts="--db --out --format --chart --variant --figure --entity --from --to --keep-vars --scripts --help -h" ;;
	serve) opts="--listen --time-scale --record --db --variant --seed --hostname --cert --key --write-cert
	             --token-key --no-tls --auth-plain --max-connections --idle-timeout --session-timeout
	             --live --control --quiet -q --help -h" ;;
	load) opts="--target --time-scale --duration --seed --replication --variant --no-tls --cafile --db
	            --quiet -q --help -h" ;;
	report) opts="--db --html --markdown --no-charts --entity --scripts --help -h" ;;
	token) opts="--token-key --ttl --help -h" ;;
	profile) opts="--identity --help -h" ;;
	demo) opts="--help -h" ;;
	*) return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	# positional arguments: scenario files, records, or a run
	case $cmd in
	run|runs|check|plan|serve|load)
		COMPREPLY=($(compgen -f -X '!*.yaml' -- "$cur") $(compgen -f -X '!*.yml' -- "$cur")
		           $(compgen -d -- "$cur")) ;;
	profile) COMPREPLY=($(compgen -f -- "$cur")) ;;
	results)
		if [[ $sub == merge ]]; then
			COMPREPLY=($(compgen -f -X '!*.db' -- "$cur") $(compgen -d -- "$cur"))
		else
			COMPREPLY=($(compgen -W "last" -- "$cur"))
		fi ;;
	plot|report) COMPREPLY=($(compgen -W "last" -- "$cur")) ;;
	esac
}
complete -F _throttlesim throttlesim
