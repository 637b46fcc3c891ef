#!/bin/bash
# run_e2e.sh - the end-to-end benchmark: one simulated day of 1,000
# mailboxes and 10,000 devices (bench/e2e.yaml), through bench_e2e (one
# replication, in process) and through `throttlesim run` (load, run,
# summaries, the SQLite store), and, given two builds, both side by side.
#
#   bench/run_e2e.sh [BUILD]              one build (default build/release)
#   bench/run_e2e.sh OLD_BUILD NEW_BUILD  two builds, alternating, with ratios
#
# A BUILD is a directory holding bench_e2e and throttlesim (e.g.
# build/release, or another clone's build/release).  Each round runs every
# (build, command) pair once, the builds' order alternating from round to
# round so that a drift of the machine hits both alike; `run` gets a fresh
# database each time.  Reported: the median over the rounds of the wall
# time (bench_e2e: its own timing of the replication; run: the whole
# process), the process's user + system CPU time and its peak resident
# set (from /usr/bin/time -v), and simulated messages per second.
#
# Knobs (environment): E2E_ROUNDS (5), E2E_SCENARIO (bench/e2e.yaml),
# E2E_RAW=file (keep the raw lines: build, command, round, wall, cpu, rss).
set -u
ROUNDS=${E2E_ROUNDS:-5}
SCN=${E2E_SCENARIO:-bench/e2e.yaml}
case $# in
0) BUILDS=(build/release) ;;
1 | 2) BUILDS=("$@") ;;
*) echo "usage: bench/run_e2e.sh [BUILD] | OLD_BUILD NEW_BUILD" >&2; exit 2 ;;
esac
case "$ROUNDS" in '' | *[!0-9]*) echo "run_e2e.sh: E2E_ROUNDS must be a number" >&2; exit 2 ;; esac
[ "$ROUNDS" -ge 1 ] || { echo "run_e2e.sh: E2E_ROUNDS must be at least 1" >&2; exit 2; }
[ -r "$SCN" ] || { echo "run_e2e.sh: cannot read $SCN" >&2; exit 2; }
for b in "${BUILDS[@]}"; do
	for x in bench_e2e throttlesim; do
		[ -x "$b/$x" ] || { echo "run_e2e.sh: $b/$x is missing (make VARIANT=release $b/$x)" >&2; exit 2; }
	done
done
[ -x /usr/bin/time ] || { echo "run_e2e.sh: /usr/bin/time is missing (Debian package time)" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
RAW=$TMP/raw
: > "$RAW"
MSGS=""

# one measurement: build index, command, round -> a raw line
measure() {
	local i=$1 cmd=$2 r=$3 b=${BUILDS[$1]} wall cpu rss
	rm -f "$TMP"/e.db*
	if [ "$cmd" = bench_e2e ]; then
		/usr/bin/time -v -o "$TMP/time" "$b/bench_e2e" "$SCN" --reps 1 > "$TMP/out" 2> "$TMP/err" ||
			{ cat "$TMP/err" >&2; echo "run_e2e.sh: $b/bench_e2e failed" >&2; exit 1; }
		wall=$(awk '/wall time/ { print $3 }' "$TMP/out")
		MSGS=$(awk '/messages generated/ { print $3 }' "$TMP/out")
	else
		local t0 t1
		t0=$(date +%s.%N)
		/usr/bin/time -v -o "$TMP/time" "$b/throttlesim" run "$SCN" --db "$TMP/e.db" --quiet > /dev/null 2> "$TMP/err" ||
			{ cat "$TMP/err" >&2; echo "run_e2e.sh: $b/throttlesim run failed" >&2; exit 1; }
		t1=$(date +%s.%N)
		wall=$(echo "$t1 - $t0" | bc -l)
	fi
	cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.3f", u + s }' "$TMP/time")
	rss=$(awk -F': ' '/Maximum resident/ { printf "%.1f", $2 / 1024 }' "$TMP/time")
	printf '%s %s %s %.3f %s %s\n' "$i" "$cmd" "$r" "$wall" "$cpu" "$rss" >> "$RAW"
	echo "round $r: ${BUILDS[$i]} $cmd wall $(printf %.3f "$wall") s, cpu $cpu s, rss $rss MiB" >&2
}

START=$(date -u '+%Y-%m-%d %H:%M UTC')
for r in $(seq 1 "$ROUNDS"); do
	order=$(seq 0 $((${#BUILDS[@]} - 1)))
	[ $((r % 2)) -eq 0 ] && order=$(seq $((${#BUILDS[@]} - 1)) -1 0)
	for i in $order; do
		measure "$i" bench_e2e "$r"
		measure "$i" run "$r"
	done
done
[ -n "${E2E_RAW:-}" ] && cp "$RAW" "$E2E_RAW"

# median of column c for (build i, command)
med() {
	awk -v i="$1" -v cmd="$2" -v c="$3" '$1 == i && $2 == cmd { print $c }' "$RAW" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "## End to end: $SCN"
echo
echo "- machine: $(uname -srm); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); $(nproc) CPUs; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- started $START; $ROUNDS rounds, builds alternating; messages generated: $MSGS"
for i in "${!BUILDS[@]}"; do echo "- build $i: ${BUILDS[$i]}"; done
echo
echo "| build | command | wall (s, median) | min | max | messages/s | CPU user+sys (s, median) | peak RSS (MiB, median) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for i in "${!BUILDS[@]}"; do
	for cmd in bench_e2e run; do
		w=$(med "$i" $cmd 4)
		mn=$(awk -v i="$i" -v cmd=$cmd '$1 == i && $2 == cmd { print $4 }' "$RAW" | sort -g | head -1)
		mx=$(awk -v i="$i" -v cmd=$cmd '$1 == i && $2 == cmd { print $4 }' "$RAW" | sort -g | tail -1)
		rate=$(echo "$MSGS / $w / 1000000" | bc -l)
		printf '| %s | %s | %.3f | %.3f | %.3f | %.2f M | %.3f | %.1f |\n' "${BUILDS[$i]}" $cmd "$w" "$mn" "$mx" "$rate" \
			"$(med "$i" $cmd 5)" "$(med "$i" $cmd 6)"
	done
done
if [ ${#BUILDS[@]} -eq 2 ]; then
	echo
	echo "| command | wall, old / new | CPU, old / new | peak RSS, new − old (MiB) |"
	echo "|---|---:|---:|---:|"
	for cmd in bench_e2e run; do
		printf '| %s | %.2f× | %.2f× | %+.1f |\n' $cmd \
			"$(echo "$(med 0 $cmd 4) / $(med 1 $cmd 4)" | bc -l)" \
			"$(echo "$(med 0 $cmd 5) / $(med 1 $cmd 5)" | bc -l)" \
			"$(echo "$(med 1 $cmd 6) - $(med 0 $cmd 6)" | bc -l)"
	done
fi
