#!/usr/bin/env bash
# run_hold.sh - the driver behind `make bench`: the hold model
# (docs/PERFORMANCE.md) for our two event sets (bench_hold: calendar, heap)
# and three ns-3 schedulers (bench_ns3: ns3-priority, ns3-map, ns3-calendar).
#
# usage: run_hold.sh BUILD_DIR [--quick]
#        run_hold.sh BENCH_HOLD BENCH_NS3 [--quick]
#
# For every N and distribution it runs each implementation once per round,
# one timed segment per process, the order rotated each round, and reports
# the median ns/hold over the rounds.  All implementations must pop the same
# (time, uid) stream: the checksums are compared and any mismatch makes the
# script exit 1 (after printing the table).  The Markdown report goes to
# stdout, progress to stderr.
#
# --quick: N up to 10^4 and a single round (a smoke test, ~1 min).
#
# Environment (all optional):
#   HOLD_IMPLS   implementations to run (default: all five)
#   HOLD_NS      sizes (default: 100 1000 10000 100000 1000000)
#   HOLD_DISTS   distributions (default: all seven)
#   HOLD_ROUNDS  rounds (default 3; --quick: 1)
#   HOLD_NS3CAL_MAX_WARMUP  seconds ns-3's CalendarScheduler may spend in
#                the warm-up at N = 10^6 before the cell is given up (90)
#   HOLD_RAW     file to which the raw output lines are copied
#
# Holds per segment are chosen per N so a segment takes about 0.1-1.5 s
# (the protocol's default of max(10 N, 10^6) would take minutes for the ns-3
# schedulers at N = 10^6).  ns-3's CalendarScheduler degrades badly with N
# because it never retunes its bucket width at constant N: at N = 10^5 it
# gets fewer holds, and at N = 10^6 it runs once (3 segments in one
# process, warm-up done once) with a cap on the warm-up; its checksum is
# then checked against an extra untimed run of the first other
# implementation with the same number of holds.
# shellcheck disable=SC2086 # vals[...] holds a list of numbers, split on purpose
set -euo pipefail
shopt -s extglob

die() { echo "run_hold.sh: $*" >&2; exit 2; }

quick=0
pos=()
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $a" ;;
	*) pos+=("$a") ;;
	esac
done
case ${#pos[@]} in
1) [[ -d ${pos[0]} ]] || die "${pos[0]}: not a directory"
   bench_hold=${pos[0]}/bench_hold; bench_ns3=${pos[0]}/bench_ns3 ;;
2) bench_hold=${pos[0]}; bench_ns3=${pos[1]} ;;
*) die "usage: run_hold.sh BUILD_DIR [--quick] | run_hold.sh BENCH_HOLD BENCH_NS3 [--quick]" ;;
esac

all_impls="calendar heap ns3-priority ns3-map ns3-calendar"
read -ra impls <<<"${HOLD_IMPLS:-$all_impls}"
read -ra dists <<<"${HOLD_DISTS:-exponential uniform triangular negtriangular bimodal camel change}"
if ((quick)); then
	read -ra sizes <<<"${HOLD_NS:-100 1000 10000}"
	rounds=${HOLD_ROUNDS:-1}
else
	read -ra sizes <<<"${HOLD_NS:-100 1000 10000 100000 1000000}"
	rounds=${HOLD_ROUNDS:-3}
fi
ns3cal_max_warmup=${HOLD_NS3CAL_MAX_WARMUP:-90}
((${#impls[@]} > 0)) || die "HOLD_IMPLS is empty"

bin_of() {
	case $1 in
	calendar|heap) echo "$bench_hold" ;;
	ns3-priority|ns3-map|ns3-calendar) echo "$bench_ns3" ;;
	*) die "unknown implementation $1" ;;
	esac
}
for i in "${impls[@]}"; do
	b=$(bin_of "$i")
	[[ -x $b ]] || die "$b: not executable (needed for $i)"
done

# Holds per timed segment: common to all implementations at one N, so the
# checksums are comparable (a checksum covers exactly H popped events).
holds_of() { # N
	case $1 in
	100) echo 4000000 ;;
	1000) echo 3000000 ;;
	10000) echo 2000000 ;;
	*) echo 1000000 ;;
	esac
}
# Exceptions for ns-3's CalendarScheduler, measured at 0.2-0.8 us/hold at
# N = 10^4, up to ~18 us at 10^5 and 25-100+ us at 10^6 (triangular,
# uniform): fewer holds; at 10^6 a single process with a warm-up cap.
slow_holds_of() { # IMPL N -> holds, or nothing
	[[ $1 == ns3-calendar ]] || return 0
	if (($2 >= 1000000)); then echo 10000
	elif (($2 >= 100000)); then echo 100000
	fi
}
run_once() { # IMPL N: 1 if the implementation runs as one process of R segments
	[[ $1 == ns3-calendar ]] && (($2 >= 1000000))
}

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

norm_ck() { # checksum -> lower case hex without 0x and leading zeros
	local c=${1,,}
	c=${c#0x}
	c=${c##+(0)}
	echo "${c:-0}"
}

# run IMPL N DIST HOLDS REPS [extra args]: prints the lines, checks them.
run() {
	local impl=$1 n=$2 dist=$3 holds=$4 reps=$5 out
	shift 5
	if ! out=$("$(bin_of "$impl")" --impl "$impl" --n "$n" --dist "$dist" \
		--reps "$reps" --holds "$holds" "$@"); then
		echo "run_hold.sh: $impl --n $n --dist $dist failed" >&2
		exit 1
	fi
	printf '%s\n' "$out" >>"$raw"
	printf '%s\n' "$out"
}

median() { # values...
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
		END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2];
		      else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A vals ck hused cut
failures=()
start=$(date +%s)

for n in "${sizes[@]}"; do
	for d in "${dists[@]}"; do
		for ((r = 0; r < rounds; r++)); do
			k=${#impls[@]}
			for ((j = 0; j < k; j++)); do
				impl=${impls[$(((j + r) % k))]}
				key="$n|$d|$impl"
				h=$(slow_holds_of "$impl" "$n")
				h=${h:-$(holds_of "$n")}
				if run_once "$impl" "$n"; then
					((r == 0)) || continue
					lines=$(run "$impl" "$n" "$d" "$h" "$rounds" \
						--max-warmup-sec "$ns3cal_max_warmup")
				else
					lines=$(run "$impl" "$n" "$d" "$h" 1)
				fi
				while read -r li ln ld ns c; do
					[[ $li == "$impl" && $ln == "$n" && $ld == "$d" ]] ||
						{ echo "run_hold.sh: unexpected line '$li $ln $ld $ns $c'" >&2; exit 1; }
					vals[$key]+="$ns "
					if [[ $c == warmup-cut ]]; then
						cut[$key]=1
						continue
					fi
					c=$(norm_ck "$c")
					hused[$key]=$h
					if [[ -z ${ck[$key]:-} ]]; then
						ck[$key]=$c
					elif ! run_once "$impl" "$n" && [[ ${ck[$key]} != "$c" ]]; then
						failures+=("$impl N=$n $d: checksum changed between rounds")
					fi
				done <<<"$lines"
				echo "  N=$n $d round $((r + 1)): $impl $(tail -n 1 <<<"$lines" | cut -d' ' -f4) ns/hold" >&2
			done
		done
		# Checksums: every implementation run with H holds must agree with
		# every other run with H holds; a group with a single member gets an
		# extra untimed run of a reference implementation.
		declare -A group=()
		for impl in "${impls[@]}"; do
			key="$n|$d|$impl"
			[[ -n ${ck[$key]:-} ]] || continue
			h=${hused[$key]}
			if [[ -z ${group[$h]:-} ]]; then
				group[$h]="$impl=${ck[$key]}"
			else
				ref=${group[$h]}
				[[ ${ref#*=} == "${ck[$key]}" ]] ||
					failures+=("N=$n $d: checksum $impl ${ck[$key]} != ${ref%%=*} ${ref#*=} (H=$h)")
			fi
		done
		for h in "${!group[@]}"; do
			own=${group[$h]%%=*}
			other=
			for impl in "${impls[@]}"; do
				[[ $impl != "$own" && -z $(slow_holds_of "$impl" "$n") ]] && { other=$impl; break; }
			done
			# Only when no other implementation ran with this H.
			n_in=0
			for impl in "${impls[@]}"; do
				[[ ${hused["$n|$d|$impl"]:-} == "$h" ]] && n_in=$((n_in + 1))
			done
			if ((n_in != 1)) || [[ -z $other ]]; then continue; fi
			c=$(run "$other" "$n" "$d" "$h" 1 | awk '{ print $5 }')
			c=$(norm_ck "$c")
			[[ $c == "${group[$h]#*=}" ]] ||
				failures+=("N=$n $d: checksum $own ${group[$h]#*=} != $other $c (H=$h, check run)")
		done
		unset group
	done
done
elapsed=$(($(date +%s) - start))

[[ -n ${HOLD_RAW:-} ]] && cp "$raw" "$HOLD_RAW"

# ---- report ---------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "# Hold benchmark"
echo
echo "- machine: $(uname -srm); CPU: ${cpu:-unknown}; $(nproc) CPUs"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); run took ${elapsed} s"
echo "- command: $0 $*"
echo "- implementations: ${impls[*]}; rounds: $rounds; holds per segment: $(for n in "${sizes[@]}"; do printf 'N=%s: %s; ' "$n" "$(holds_of "$n")"; done)"
echo "- cells: median ns per hold over the rounds (one timed segment per process)."
echo "  \\* ns-3 calendar with fewer holds per segment (10^5: 100,000; 10^6: 10,000 holds,"
echo "  3 segments of one process);  cut: pre-fill + warm-up not done after ${ns3cal_max_warmup} s, no"
echo "  timed segment (stderr and HOLD_RAW have the ns per operation reached so far)."
echo "- ratios: implementation / calendar, i.e. how many times faster our calendar queue is."
echo

cell() { # key -> "value" or "–"
	local key=$1 m
	[[ -n ${vals[$key]:-} ]] || { echo "–"; return; }
	m=$(median ${vals[$key]})
	if [[ -n ${cut[$key]:-} ]]; then echo "cut"
	elif [[ -n ${hused[$key]:-} && ${hused[$key]} != "$(holds_of "${key%%|*}")" ]]; then echo "$m*"
	else echo "$m"; fi
}
ratio() { # key key0 -> ratio or –
	local a b
	[[ -n ${vals[$1]:-} && -n ${vals[$2]:-} ]] || { echo "–"; return; }
	a=$(median ${vals[$1]}); b=$(median ${vals[$2]})
	[[ -z ${cut[$1]:-} ]] || { echo "cut"; return; }
	awk -v a="$a" -v b="$b" 'BEGIN { if (b <= 0) print "–"; else printf "%.2f\n", a / b }'
}

echo "| N | distribution | calendar | heap | ns3-priority | ns3-map | ns3-calendar | heap/cal | ns3-prio/cal | ns3-map/cal | ns3-cal/cal |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
	for d in "${dists[@]}"; do
		row="| $n | $d"
		for impl in $all_impls; do row+=" | $(cell "$n|$d|$impl")"; done
		for impl in heap ns3-priority ns3-map ns3-calendar; do
			row+=" | $(ratio "$n|$d|$impl" "$n|$d|calendar")"
		done
		echo "$row |"
	done
done

echo
echo "Sensitivity to the distribution: slowest / fastest distribution (median ns/hold) per N."
echo
hdr="| N"; sep="|---:"
for impl in "${impls[@]}"; do hdr+=" | $impl"; sep+="|---"; done
echo "$hdr |"
echo "$sep|"
for n in "${sizes[@]}"; do
	row="| $n"
	for impl in "${impls[@]}"; do
		best='' worst='' bd='' wd='' ncut=0
		for d in "${dists[@]}"; do
			key="$n|$d|$impl"
			[[ -n ${vals[$key]:-} ]] || continue
			if [[ -n ${cut[$key]:-} ]]; then ncut=$((ncut + 1)); continue; fi
			m=$(median ${vals[$key]})
			if [[ -z $best ]] || awk -v a="$m" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$m bd=$d; fi
			if [[ -z $worst ]] || awk -v a="$m" -v b="$worst" 'BEGIN { exit !(a > b) }'; then worst=$m wd=$d; fi
		done
		if [[ -z $best ]]; then row+=" | –"
		else
			row+=" | $(awk -v a="$worst" -v b="$best" 'BEGIN { printf "%.1f", a / b }')× ($wd / $bd)"
			((ncut == 0)) || row+=", $ncut cut"
		fi
	done
	echo "$row |"
done

if ((${#failures[@]})); then
	echo
	echo "**CHECKSUM FAILURES**"
	echo
	for f in "${failures[@]}"; do echo "- $f"; done
	printf 'run_hold.sh: %s\n' "${failures[@]}" >&2
	exit 1
fi
echo
echo "All checksums agree."
