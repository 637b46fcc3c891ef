#!/usr/bin/env bash
# Speed-up of parallel replications: the same run with --jobs 1 and
# --jobs N (N = the number of cores), alternating, 3 rounds; prints the
# median wall time of each and their ratio, and checks that both wrote
# byte-identical JSON.
set -euo pipefail
bin=${1:-build/release/throttlesim}
scenario=${2:-scenarios/printers.yaml}
reps=${BENCH_JOBS_REPS:-24}
cores=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t1=() tn=()
run() { # jobs outfile -> prints seconds
	local s e
	s=$(date +%s.%N)
	"$bin" run "$scenario" --replications "$reps" --jobs "$1" --quiet --format json --db "$tmp/db" >"$2"
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }' 
}
for round in 1 2 3; do
	if (( round % 2 )); then
		t1+=("$(run 1 "$tmp/a.json")"); tn+=("$(run "$cores" "$tmp/b.json")")
	else
		tn+=("$(run "$cores" "$tmp/b.json")"); t1+=("$(run 1 "$tmp/a.json")")
	fi
	cmp -s "$tmp/a.json" "$tmp/b.json" || { echo "--jobs 1 and --jobs $cores differ" >&2; exit 1; }
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
m1=$(median "${t1[@]}") mn=$(median "${tn[@]}")
printf '\n## Parallel replications (%s, %d replications x all variants)\n\n' "$scenario" "$reps"
printf '| jobs | median wall (s) |\n|---|---|\n| 1 | %.2f |\n| %d | %.2f |\n\nspeed-up %.2fx on %d cores; JSON byte-identical\n' \
	"$m1" "$cores" "$mn" "$(awk -v a="$m1" -v b="$mn" 'BEGIN { print a / b }')" "$cores"
