#!/bin/bash
# check_clip.sh [BIN] - every chart kind of every shipped scenario
# (scenarios/*.yaml), at the default size, in PNG and SVG, for the whole
# scenario and with --entity for its first sender group and its first
# mailbox, checked by check_clip.py: no text cut off at an edge, none
# written over another.  Exit 1 on the first scenario with a problem
# (all of them listed), 0 when every chart is clean; exit 1 without
# gnuplot or python3.  BIN defaults to $THROTTLESIM_BIN, else
# build/release/throttlesim.  Run from the source tree.
set -u
bin=${1:-${THROTTLESIM_BIN:-build/release/throttlesim}}
here=$(cd "$(dirname "$0")" && pwd)
command -v gnuplot >/dev/null || { echo "check_clip: gnuplot not found: needed (make deps installs it)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "check_clip: python3 not found: needed (make deps installs it)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_clip.XXXXXX") || exit 1
# CHECK_CLIP_KEEP=1 keeps the charts, to look at them.
if [ "${CHECK_CLIP_KEEP:-}" = 1 ]; then echo "check_clip: charts kept in $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
status=0
charts=0
# The check can fail: a text run off the right edge and two texts on top of
# each other in an SVG, a label cut at a PNG's edge, must each be caught;
# the same texts well inside must not.
mk_svg() { # FILE X1 Y1 X2 Y2
	cat >"$1" <<SVG
<svg width="1000" height="600" xmlns="http://www.w3.org/2000/svg">
<g transform="translate($2,$3)" font-size="11.00" text-anchor="start"><text>message rate limit, 30/min</text></g>
<g transform="translate($4,$5)" font-size="11.00" text-anchor="start"><text>concurrency limit, 3</text></g>
</svg>
SVG
}
mk_svg "$tmp/off.svg" 900 100 100 300
mk_svg "$tmp/over.svg" 100 100 110 104
mk_svg "$tmp/fine.svg" 100 100 100 130
gnuplot -e "set terminal pngcairo size 1000,600 background rgb 'white'; set output '$tmp/cut.png';
	unset border; unset tics; set label 'cut at the edge' at screen 0.97, screen 0.5; set yrange [0:1]; plot [0:1] -1 notitle" 2>/dev/null
gnuplot -e "set terminal pngcairo size 1000,600 background rgb 'white'; set output '$tmp/whole.png';
	unset border; unset tics; set label 'well inside' at screen 0.5, screen 0.5; set yrange [0:1]; plot [0:1] -1 notitle" 2>/dev/null
for bad in off.svg over.svg cut.png; do
	if python3 "$here/check_clip.py" "$tmp/$bad" >/dev/null; then
		echo "check_clip: the check missed the fault planted in $bad"; exit 1
	fi
done
if ! python3 "$here/check_clip.py" "$tmp/fine.svg" "$tmp/whole.png"; then
	echo "check_clip: the check flagged a clean chart"; exit 1
fi
for f in scenarios/*.yaml; do
	name=$(basename "$f" .yaml)
	db="$tmp/$name.db"
	if ! "$bin" run "$f" --db "$db" -q >/dev/null 2>"$tmp/err"; then
		echo "check_clip: $f: run failed:"; cat "$tmp/err"; status=1; continue
	fi
	# the first group and the first mailbox of the base, as the store names them
	read -r group mailbox < <(python3 - "$db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
q = "SELECT name FROM entities WHERE variant_idx = 0 AND entity_kind = ? ORDER BY entity_idx LIMIT 1"
g = db.execute(q, ('group',)).fetchone()
m = db.execute(q, ('mailbox',)).fetchone()
print(g[0] if g else '-', m[0] if m else '-')
PY
)
	out="$tmp/$name"
	mkdir -p "$out"
	for fmt in png svg; do
		args=(--db "$db" --format "$fmt")
		# a sweep draws its time series only when asked: those of its base
		sweep=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM variants WHERE point IS NOT NULL').fetchone()[0])" "$db")
		for ent in "" "group:$group" "mailbox:$mailbox"; do
			case "$ent" in *:-) continue ;; esac
			e=(); [ -n "$ent" ] && e=(--entity "$ent")
			sub="$out/${fmt}${ent:+-${ent%%:*}}"
			if ! "$bin" plot last "${args[@]}" "${e[@]}" --out "$sub" >"$tmp/out" 2>"$tmp/err"; then
				echo "check_clip: $f: plot ${e[*]} --format $fmt failed:"; cat "$tmp/err"; status=1; continue
			fi
			if [ "$sweep" != 0 ] && ! "$bin" plot last "${args[@]}" "${e[@]}" --out "$sub" --chart timeseries \
				--variant base >"$tmp/out" 2>"$tmp/err"; then
				echo "check_clip: $f: plot --chart timeseries ${e[*]} failed:"; cat "$tmp/err"; status=1; continue
			fi
		done
	done
	n=$(find "$out" -name '*.png' -o -name '*.svg' | wc -l)
	charts=$((charts + n))
	if ! find "$out" \( -name '*.png' -o -name '*.svg' \) -print0 | sort -z | xargs -0 python3 "$here/check_clip.py"; then
		status=1
	fi
done
echo "check_clip: $charts charts of $(ls scenarios/*.yaml | wc -l) scenarios checked: $([ $status = 0 ] && echo clean || echo PROBLEMS)"
exit $status
