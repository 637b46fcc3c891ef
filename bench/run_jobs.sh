#!/usr/bin/env bash
# Speed-up of a run with more cores, measured in one run, the ways
# alternating round by round (so that a busy spell of the machine falls on
# all of them), medians of BENCH_JOBS_ROUNDS rounds (default 5):
#   jobs 1     run --jobs 1 (the reference)
#   jobs N     run --jobs N, N = the number of cores
#   shards N   N shards with --jobs 1 each at once (the GNU parallel line
#              `run --emit parallel` prints, if parallel is installed), then
#              results merge: each shard writes its own store, so the
#              writing is in parallel too, and the merge writes once more
# Checks that every way stored the same run (results export --describe,
# but for the record's times and command line).  Also prints how the wall
# time of --jobs 1 splits between simulating and storing (perf, if present).
set -euo pipefail
bin=$(realpath "${1:-build/release/throttlesim}")
scenario=$(realpath "${2:-scenarios/printers.yaml}")
reps=${BENCH_JOBS_REPS:-48}
rounds=${BENCH_JOBS_ROUNDS:-5}
cores=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
have_parallel=$(command -v parallel >/dev/null && echo 1 || echo 0)

secs() { # command... -> prints its wall seconds
	local s e
	s=$(date +%s.%N)
	"$@"
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
}
run_jobs() { # jobs db
	rm -f "$2" "$2"-*
	"$bin" run "$scenario" --replications "$reps" --jobs "$1" --quiet --format json --db "$2" >/dev/null
}
run_shards() {
	rm -f shards.db shards.shard-*.db
	"$bin" run "$scenario" --replications "$reps" --emit parallel --shards "$cores" --db shards.db > emitted.sh
	bash emitted.sh >/dev/null
}
strip() { "$bin" results export 1 --describe --format json --db "$1" | grep -v '^    "\(started_at\|finished_at\|command_line\)": '; }

t1=() tn=() ts=()
for ((round = 1; round <= rounds; round++)); do
	order=(1 n s)
	(( round % 2 )) || order=(s n 1)
	for way in "${order[@]}"; do
		case $way in
		1) t1+=("$(secs run_jobs 1 one.db)") ;;
		n) tn+=("$(secs run_jobs "$cores" many.db)") ;;
		s) (( have_parallel )) && ts+=("$(secs run_shards)") ;;
		esac
	done
	cmp -s <(strip one.db) <(strip many.db) || { echo "--jobs 1 and --jobs $cores stored different runs" >&2; exit 1; }
	if (( have_parallel )); then
		cmp -s <(strip one.db) <(strip shards.db) || { echo "the merged shards differ from --jobs 1" >&2; exit 1; }
	fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m1=$(median "${t1[@]}") mn=$(median "${tn[@]}")
echo "wall times, round by round: --jobs 1: ${t1[*]}; --jobs $cores: ${tn[*]}; shards: ${ts[*]:-}" >&2
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '\n## Parallel replications (%s, %d replications x all variants, %d rounds, load %s)\n\n' \
	"$(basename "$scenario")" "$reps" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '| way | median wall (s) | speed-up |\n|---|---:|---:|\n'
printf '| run --jobs 1 | %.2f | 1 |\n' "$m1"
printf '| run --jobs %d | %.2f | %s |\n' "$cores" "$mn" "$(ratio "$m1" "$mn")"
if (( have_parallel )); then
	ms=$(median "${ts[@]}")
	printf '| %d shards (GNU parallel) + merge | %.2f | %s |\n' "$cores" "$ms" "$(ratio "$m1" "$ms")"
fi
printf '\nevery way stored the same run (export byte-identical but for its times and command line)\n'

# Where the time of --jobs 1 goes: the replications (worker thread) and
# what is serial around them (the main thread: loading, summaries, the
# store's transaction, the report).
if command -v perf >/dev/null && perf record -q -o perf.data -F 999 -- \
	"$bin" run "$scenario" --replications "$reps" --jobs 1 --quiet --format json --db perf.db >/dev/null 2>&1; then
	perf report -i perf.data --no-children -g none --sort pid 2>/dev/null | awk '/%/ { gsub("%", "", $1); print $1 }' |
		sort -gr | awk 'NR == 1 { w = $1 } NR == 2 { m = $1 } END {
			printf "\n--jobs 1, CPU samples: %.0f%% in the replications, %.0f%% serial (the store'"'"'s writing, mostly)\n", w, m }'
fi
