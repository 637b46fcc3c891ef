#!/usr/bin/env bash
# `throttlesim serve` against Postfix's smtp-sink: the same load generator
# (bench_smtp_load: 100 connections, EHLO, AUTH PLAIN, then MAIL, RCPT,
# DATA, a 1 KiB message, again and again) against each, alternating, 5
# rounds each; prints a Markdown section with every round, the medians of
# messages per second and of the reply latencies (p50, p99), and the ratio
# serve / smtp-sink.  Progress goes to stderr.
#
#   bench/run_serve.sh [BUILD_DIR]          # default build/release
#
# serve runs bench/serve.yaml (100 mailboxes, one per client, every rule of
# the exchange-online preset on, the message rate in delay mode) with
# --no-tls --quiet.  Each round starts both servers afresh, so every round
# begins with empty windows: at 30,000 messages per second a round of
# 6 s sends about 1,800 per mailbox, far from the 10,000 recipients per
# 24 h that would start refusing (each message has one recipient; it
# would take ~167,000 per second), and the table shows it (no end-of-data
# reply but 250).  With one client, its one mailbox reaches 10,000 within
# a second: keep SERVE_DURATION + SERVE_WARMUP short (0.3 + 0.1).  After
# each serve round the run is stored (SIGTERM) and its figures are read
# back: released must be 30 per mailbox (the 30/min rule, computed for
# every message, holds the rest) and awaiting_release the rest.
#
# Knobs (environment): SERVE_ROUNDS (5), SERVE_CLIENTS (100),
# SERVE_DURATION (5 s measured per round), SERVE_WARMUP (1 s before it),
# SERVE_SIZE (1024 body octets), SMTP_SINK (/usr/sbin/smtp-sink),
# SERVE_RAW=file (keep the raw smtp_load lines).
set -euo pipefail
build=${1:-build/release}
bin=$build/throttlesim
load=$build/bench_smtp_load
sink=${SMTP_SINK:-/usr/sbin/smtp-sink}
rounds=${SERVE_ROUNDS:-5}
clients=${SERVE_CLIENTS:-100}
duration=${SERVE_DURATION:-5}
warmup=${SERVE_WARMUP:-1}
size=${SERVE_SIZE:-1024}
here=$(cd "$(dirname "$0")" && pwd)
scenario=$here/serve.yaml
for f in "$bin" "$load" "$sink"; do
	[[ -x $f ]] || { echo "run_serve.sh: $f is missing (make bench-deps; make VARIANT=release $bin $load)" >&2; exit 2; }
done
(( clients <= 100 )) || { echo "run_serve.sh: bench/serve.yaml has 100 mailboxes, one per client" >&2; exit 2; }

tmp=$(mktemp -d)
pid=
cleanup() {
	if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)

# CPU seconds (user + system) a process has used so far.
cpu_of() { awk -v hz="$hz" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

# Waits until something accepts connections on 127.0.0.1:$1.
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

start_serve() {
	rm -f "$tmp/serve.db" "$tmp/serve.out"
	"$bin" serve "$scenario" --no-tls --quiet --listen 127.0.0.1:0 --db "$tmp/serve.db" \
		--token-key "$tmp/token.key" >"$tmp/serve.out" 2>"$tmp/serve.err" &
	pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		port=$(sed -n '1s/^listening on .*://p' "$tmp/serve.out" 2>/dev/null || true)
		[[ -n $port ]] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "run_serve.sh: serve did not start:" >&2; cat "$tmp/serve.err" >&2; exit 1
}

# smtp-sink takes a port, not port 0: try random free-looking ones.
start_sink() {
	local try user=()
	[[ $(id -u) == 0 ]] && user=(-u nobody)  # required when run as root
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		"$sink" -c "${user[@]}" "127.0.0.1:$port" 1000 >/dev/null 2>"$tmp/sink.err" &
		pid=$!
		wait_port "$port" && return 0
		kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
	done
	echo "run_serve.sh: smtp-sink did not start:" >&2; cat "$tmp/sink.err" >&2; exit 1
}

# The first value of figure $1 in the stored run (the total's).
figure() { grep -m1 "\"$1\": {\"mean\"" "$tmp/serve.json" | sed 's/.*"values": \[\([0-9.]*\)\].*/\1/'; }

stop_server() { # which
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
	if [[ $1 == serve ]]; then
		"$bin" results export 1 --db "$tmp/serve.db" --format json >"$tmp/serve.json"
		local rel await acc
		rel=$(figure released) await=$(figure awaiting_release) acc=$(figure accepted)
		held_released+=("$rel") held_awaiting+=("$await")
		if [[ $rel != "$((30 * clients))" || $((rel + await)) != "$acc" ]]; then
			echo "run_serve.sh: the 30/min rule's figures are off: released $rel, awaiting $await, accepted $acc" >&2
			exit 1
		fi
	fi
}

# key=value from an smtp_load line
val() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

declare -A lines cpus
held_released=() held_awaiting=()
one() { # which round
	local which=$1 r=$2 c0 c1 s e out
	if [[ $which == serve ]]; then start_serve; else start_sink; fi
	c0=$(cpu_of "$pid"); s=$(date +%s.%N)
	out=$("$load" --port "$port" --auth --clients "$clients" --duration "$duration" --warmup "$warmup" \
		--size "$size" --label "$which") || { echo "run_serve.sh: smtp_load failed against $which" >&2; exit 1; }
	c1=$(cpu_of "$pid"); e=$(date +%s.%N)
	stop_server "$which"
	lines[$which,$r]=$out
	cpus[$which,$r]=$(awk -v a="$c0" -v b="$c1" -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", 100 * (b - a) / (e - s) }')
	[[ -n ${SERVE_RAW:-} ]] && echo "$out server_cpu_pct=${cpus[$which,$r]}" >>"$SERVE_RAW"
	echo "round $r $which: $(val "$out" msgs_per_s) msgs/s, p50 $(val "$out" all_p50_us) us, p99 $(val "$out" all_p99_us) us, server CPU ${cpus[$which,$r]}%" >&2
}

t_start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= rounds; r++)); do
	if ((r % 2)); then one sink "$r"; one serve "$r"; else one serve "$r"; one sink "$r"; fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { # which key -> the values of all rounds
	local r
	for ((r = 1; r <= rounds; r++)); do val "${lines[$1,$r]}" "$2"; done
}
med() { median $(col "$1" "$2"); }
medcpu() { local r v=(); for ((r = 1; r <= rounds; r++)); do v+=("${cpus[$1,$r]}"); done; median "${v[@]}"; }

printf '\n## serve against smtp-sink (%d clients, %d rounds of %s s each)\n\n' "$clients" "$rounds" "$duration"
printf -- '- machine: %s; CPU: %s; %d CPUs; load average %s before, %s after\n' \
	"$(uname -srm)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(nproc)" "$load_before" "$load_after"
printf -- '- date: %s; run took %d s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(($(date +%s) - t_start))"
printf -- '- serve: `%s serve bench/serve.yaml --no-tls --quiet --listen 127.0.0.1:0`\n' "$bin"
printf -- '- smtp-sink: `%s -c%s 127.0.0.1:PORT 1000` (Postfix %s)\n' "$sink" "$([[ $(id -u) == 0 ]] && echo ' -u nobody')" \
	"$(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo '?')"
printf -- '- load: `%s --port PORT --auth --clients %d --duration %s --warmup %s --size %s`\n\n' \
	"$load" "$clients" "$duration" "$warmup" "$size"

printf '| round | server | msgs/s | p50 all (µs) | p99 all (µs) | p50 end of data (µs) | p99 end of data (µs) | non-250 at end of data | server CPU | client CPU (s) |\n'
printf '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for ((r = 1; r <= rounds; r++)); do
	for which in sink serve; do
		l=${lines[$which,$r]}
		printf '| %d | %s | %s | %s | %s | %s | %s | %s | %s%% | %s |\n' "$r" \
			"$([[ $which == sink ]] && echo smtp-sink || echo serve)" "$(val "$l" msgs_per_s)" \
			"$(val "$l" all_p50_us)" "$(val "$l" all_p99_us)" "$(val "$l" eod_p50_us)" "$(val "$l" eod_p99_us)" \
			"$(val "$l" eod_non250) ($(val "$l" eod_codes))" "${cpus[$which,$r]}" "$(val "$l" client_cpu_s)"
	done
done

printf '\nMedians over the rounds (latency: command sent -> reply received, per reply):\n\n'
printf '| measure | smtp-sink | serve | serve - smtp-sink | serve / smtp-sink |\n|---|---:|---:|---:|---:|\n'
for key in msgs_per_s all_p50_us all_p99_us mail_p50_us mail_p99_us rcpt_p50_us rcpt_p99_us data_p50_us data_p99_us eod_p50_us eod_p99_us; do
	a=$(med sink "$key") b=$(med serve "$key")
	awk -v k="$key" -v a="$a" -v b="$b" 'BEGIN { printf "| %s | %s | %s | %+.1f | %.2f |\n", k, a, b, b - a, (a > 0 ? b / a : 0) }'
done
a=$(medcpu sink) b=$(medcpu serve)
printf '| server CPU (%% of one core) | %s | %s | | |\n' "$a" "$b"

ratio=$(awk -v a="$(med sink msgs_per_s)" -v b="$(med serve msgs_per_s)" 'BEGIN { printf "%.2f", b / a }')
printf '\nserve held every message beyond 30 a minute per mailbox (released %s, awaiting release %s in the last round).\n' \
	"${held_released[-1]}" "${held_awaiting[-1]}"
printf '\n**throughput ratio serve / smtp-sink: %s** (target: at least 0.5) — %s\n' "$ratio" \
	"$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5 ? "met" : "NOT met") }')"
