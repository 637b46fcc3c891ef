#!/bin/bash
# check_report.sh BIN - `throttlesim report` end to end (docs/REPORT.md):
#
#  1. a tiny deterministic run (tests/report/tiny.yaml, 2 replications);
#  2. the HTML page is self-contained: no src=, no <link>, <script>,
#     <img>, <iframe>, <object>, <embed>, no @import, no url() but to an id
#     of the page, no http:// or https:// inside any tag; every chart is an
#     inline <svg> and the page's ids are unique; text from the store is
#     escaped;
#  3. headless Chromium renders it: the screenshot is not blank (pixels
#     that are not white, counted by png_ink.py with zlib alone) and the
#     page logs nothing to the console;
#  4. the checks can fail: a copy of the page with a script error is
#     caught by the console check, a blank page by the ink check, and the
#     PNG reader counts a 100x100 black square as exactly 10,000 pixels;
#  5. the Markdown page's table rows, exactly, as worked out by hand;
#  6. without gnuplot the report is still written and says why it has no
#     charts; usage errors;
#  7. names from a foreign store that are markup stay text.
#
# Console errors: Chromium run with --enable-logging=stderr --v=0 prints
# every console message of the page (console.log/warn/error, uncaught
# exceptions, refused loads) as a line "...:INFO:CONSOLE:<line>] "text",
# source: ..." - at INFO whatever its level, so the level cannot be told
# from the log.  The page has no script, so ANY such line fails the check.
#
# SCREENSHOT_DIR=DIR keeps the screenshot there (report.png) to look at.
set -u
BIN=${1:-build/debug/throttlesim}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/check_report.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
	echo "FAIL: chromium not found (Debian package chromium; make deps installs it)"
	exit 1
fi

# Renders file $1 to PNG $2 (window $3), Chromium's log in $2.log.
render() {
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$WORK/chromium-profile" \
		--enable-logging=stderr --v=0 --window-size="$3" \
		--screenshot="$2" "file://$1" >"$2.log" 2>&1
}
# The console lines of a log.
console_lines() { grep -E ':INFO:CONSOLE' "$1"; }
# Pixels that are not white in PNG $1.
ink() { python3 "$HERE/png_ink.py" "$1" | awk '{print $2}'; }

# ---- 1. the run ---------------------------------------------------------------
DB="$WORK/t.db"
if ! "$BIN" run "$HERE/tiny.yaml" --db "$DB" --quiet >"$WORK/run.out" 2>&1; then
	cat "$WORK/run.out"
	echo "FAIL: the run"
	exit 1
fi
PAGE="$WORK/report.html"
if "$BIN" report last --db "$DB" --html "$PAGE" --markdown "$WORK/ticket.md" >"$WORK/report.out" 2>&1; then
	ok "report wrote $(wc -l <"$WORK/report.out") files"
else
	cat "$WORK/report.out"
	fail "report exited $?"
fi

# ---- 2. self-contained --------------------------------------------------------
# Tags as single lines (gnuplot's <svg ...> spans several).
tr '\n' ' ' <"$PAGE" | grep -o '<[^>]*>' >"$WORK/tags"
n=$(grep -c 'src=' "$PAGE"); [ "$n" = 0 ] && ok "no src=" || fail "$n lines with src="
n=$(grep -ciE '<(link|script|img|iframe|object|embed|base)[ >/]' "$WORK/tags")
[ "$n" = 0 ] && ok "no link, script, img, iframe, object, embed or base element" || fail "$n elements that load or run something"
n=$(grep -ciE 'https?://' "$WORK/tags"); [ "$n" = 0 ] && ok "no http:// or https:// inside a tag" || fail "$n tags with a URL: $(grep -iE 'https?://' "$WORK/tags" | head -3)"
n=$(grep -ciE '@import' "$PAGE"); [ "$n" = 0 ] && ok "no @import" || fail "@import"
n=$(grep -oE 'url\([^)]*\)' "$PAGE" | grep -vc '^url(#'); [ "$n" = 0 ] && ok "every url() points into the page" || fail "$n url() to elsewhere"
n=$(grep -oE "href=[\"'][^\"']*" "$WORK/tags" | grep -vcE "href=[\"']#"); [ "$n" = 0 ] && ok "every href points into the page" || fail "$n href to elsewhere"
svgs=$(grep -c '^<svg' "$PAGE"); ends=$(grep -c '</svg>' "$PAGE")
# four charts: a time series per variant (3), the delay CDF and the comparison
if [ "$svgs" = 5 ] && [ "$ends" = 5 ]; then ok "5 charts inline as <svg>"; else fail "expected 5 inline <svg>, found $svgs (closed: $ends)"; fi
n=$(grep -c '<?xml' "$PAGE"); [ "$n" = 0 ] && ok "no XML prolog inside the page" || fail "XML prolog inside the page"
# gnuplot repeats some group ids inside one chart (gnuplot_plot_1), never
# referenced; what matters is that every id referred to (url(#X), href="#X")
# is defined exactly once in the page, so each chart finds its own.
grep -oE " id=[\"'][^\"']*" "$WORK/tags" | sed -E "s/^ id=[\"']//" | sort >"$WORK/ids"
grep -oE "url\(#[^)]*|href=[\"']#[^\"']*" "$WORK/tags" | sed -E "s/^(url\(#|href=[\"']#)//" | sort -u >"$WORK/refs"
bad=""
while read -r id; do
	[ "$(grep -cxF -- "$id" "$WORK/ids")" = 1 ] || bad="$bad $id"
done <"$WORK/refs"
if [ -z "$bad" ] && [ -s "$WORK/refs" ]; then
	ok "each of the $(wc -l <"$WORK/refs") ids referred to is defined once"
else
	fail "ids referred to but not defined exactly once:${bad:- (no references at all)}"
fi
if grep -q '&lt;device&gt; &quot;mfp&quot; &amp; one mailbox' "$PAGE" && ! grep -q '<device>' "$PAGE"; then
	ok "the question's text is escaped"
else
	fail "the question is not shown escaped"
fi
grep -q '<blockquote class="question">' "$PAGE" && ok "the page opens with the question" || fail "no question"

# ---- 3. Chromium --------------------------------------------------------------
PNG="$WORK/report.png"
render "$PAGE" "$PNG" 1200,3000
if [ ! -s "$PNG" ]; then
	fail "Chromium wrote no screenshot: $(tail -3 "$PNG.log")"
else
	px=$(ink "$PNG")
	# the text and five charts: far more than 20,000 of 3.6 million pixels
	if [ -n "$px" ] && [ "$px" -gt 20000 ]; then ok "screenshot not blank: $px pixels not white"; else fail "screenshot blank: ${px:-?} pixels not white"; fi
	if console_lines "$PNG.log" >/dev/null; then fail "console messages: $(console_lines "$PNG.log" | head -3)"; else ok "no console message"; fi
	[ -n "${SCREENSHOT_DIR:-}" ] && mkdir -p "$SCREENSHOT_DIR" && cp "$PNG" "$SCREENSHOT_DIR/report.png" && echo "screenshot: $SCREENSHOT_DIR/report.png"
fi

# ---- 4. the checks can fail ---------------------------------------------------
sed 's|</body>|<script>console.error("injected"); no_such_function();</script></body>|' "$PAGE" >"$WORK/bad.html"
render "$WORK/bad.html" "$WORK/bad.png" 1200,800
n=$(console_lines "$WORK/bad.png.log" | grep -c 'injected\|no_such_function')
[ "$n" = 2 ] && ok "the console check catches an injected console.error and an uncaught error" || fail "injected errors not seen ($n of 2)"
printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' >"$WORK/blank.html"
render "$WORK/blank.html" "$WORK/blank.png" 1200,3000
px=$(ink "$WORK/blank.png"); [ "$px" = 0 ] && ok "a blank page has 0 pixels of ink" || fail "blank page: ${px:-?} pixels of ink"
printf '<!DOCTYPE html><html><body style="margin:0;background:#fff"><div style="margin:37px 0 0 53px;width:100px;height:100px;background:#000"></div></body></html>\n' >"$WORK/square.html"
render "$WORK/square.html" "$WORK/square.png" 300,300
px=$(ink "$WORK/square.png"); [ "$px" = 10000 ] && ok "a 100x100 black square is 10000 pixels of ink" || fail "square: ${px:-?} pixels of ink, not 10000"

# ---- 5. the Markdown page, by hand ----------------------------------------------
# Each replication is the same (nothing is drawn at random), so every
# half-width is 0.  base: 10 messages at 00:10:00, one connection, one
# message a session of 1 s (connect) + 1 s (1 MB at 1 MB/s): accepted at
# 2, 4, ..., 20 s; p95 (GSL: x[8] + 0.55 (x[9] - x[8])) = 19.1 s -> "19s";
# released at once (10 < 30 a minute).  too-big: 40 MB > 35 MB, each
# refused 554 5.2.270, permanent, no retry: 10 lost, no delay.
# five-a-minute: accepted as base, released 2..10 s, then each 60 s after
# the release five before: 62, 64, 66, 68, 70 s; p95 = 68 + 0.55 * 2 =
# 69.1 s -> "1m09s", 50 s more than base.
MD="$WORK/ticket.md"
grep '^| ' "$MD" | grep -E '^\| (variant|base|too-big|five-a-minute)' >"$WORK/md-answer"
cat >"$WORK/md-expected" <<'EOF'
| variant | n | generated | accepted | lost | pending | retry/msg | p95 subm | p95 deliv | throttled |
| base | 2 | 10 ± 0 | 10 ± 0 | 0 ± 0 | 0 ± 0 | 0 ± 0 | 19s ± 0s | 19s ± 0s | 0s ± 0s |
| too-big | 2 | 10 ± 0 | 0 ± 0 | 10 ± 0 | 0 ± 0 | 0 ± 0 | - | - | 0s ± 0s |
| five-a-minute | 2 | 10 ± 0 | 10 ± 0 | 0 ± 0 | 0 ± 0 | 0 ± 0 | 19s ± 0s | 1m09s ± 0s | 0s ± 0s |
| variant − base | n | generated | accepted | lost | pending | retry/msg | p95 subm | p95 deliv | throttled |
| too-big − base | 2 | 0 ± 0 | -10 ± 0 | +10 ± 0 | 0 ± 0 | 0 ± 0 | - | - | 0s ± 0s |
| five-a-minute − base | 2 | 0 ± 0 | 0 ± 0 | 0 ± 0 | 0 ± 0 | 0 ± 0 | 0s ± 0s | +50s ± 0s | 0s ± 0s |
EOF
if diff -u "$WORK/md-expected" "$WORK/md-answer"; then ok "Markdown answer and difference rows as worked out by hand"; else fail "Markdown answer rows"; fi
# The limits: the preset's, the tenant's TERRL (auto, 1 license: 500 + 9,500)
# and the variant's own rate, marked as set by the scenario.
for row in \
	'| max\_concurrent\_connections | 3 per mailbox | preset exchange-online: SUB, B18 (where the 432 comes: concurrency\_check, ASSUMPTION) | published |' \
	'| tenant external\_recipient\_limit | 10000 per 24h | the tenant (scenario keys tenant.external\_recipient\_limit, tenant.terrl\_enforced; TERRL: auto = 500 × licenses^0.7 + 9,500) | published |' \
	'| max\_message\_size | 35 MB | preset exchange-online: PS, SD | published |' \
	'| message\_rate\_limit | 5 per 1min (delay) | set in the scenario or the variant (preset exchange-online: 30 per 1min (delay)) | scenario |' \
	'| message\_size | 554 5.2.270 MapiExceptionMaxSubmissionExceeded; Message size exceeds maximum size limit.; STOREDRV.Submission.Exception:MessageSubmissionExceededException.MapiExceptionMaxSubmissionExceeded | 10 ± 0 | 10 ± 0 | 20 |' \
	'too-big: the same limits as base.'; do
	grep -qxF -- "$row" "$MD" && ok "Markdown row: ${row:0:60}..." || fail "Markdown lacks the row: $row"
done
n=$(grep -c '^!\[' "$MD"); files=$(ls "$WORK"/ticket-*.svg 2>/dev/null | wc -l)
if [ "$n" = 5 ] && [ "$files" = 5 ] && grep -qxF '![compare.svg](ticket-compare.svg)' "$MD"; then
	ok "Markdown links 5 charts written beside it"
else
	fail "Markdown charts: $n links, $files files"
fi

# ---- 6. no gnuplot; usage -----------------------------------------------------------
if PATH=/nonexistent "$BIN" report last --db "$DB" --html "$WORK/nochart.html" >/dev/null 2>"$WORK/nochart.err"; then
	if grep -q 'Charts could not be drawn: throttlesim plot: gnuplot not found' "$WORK/nochart.html" &&
	   [ "$(grep -c '<svg' "$WORK/nochart.html")" = 0 ] && grep -q 'gnuplot not found' "$WORK/nochart.err"; then
		ok "without gnuplot: the page says why it has no charts, exit 0"
	else
		fail "without gnuplot: no note in the page or on standard error"
	fi
else
	fail "without gnuplot: exit status $?"
fi
"$BIN" report --help >"$WORK/help" 2>&1; rc=$?
[ "$rc" = 0 ] && grep -q '^usage: throttlesim report RUN' "$WORK/help" && ok "report --help" || fail "report --help (exit $rc)"
"$BIN" report last --db "$DB" >/dev/null 2>"$WORK/err"; rc=$?
[ "$rc" = 2 ] && grep -q 'give --html FILE or --markdown FILE' "$WORK/err" && ok "no output named: exit 2" || fail "no output named: exit $rc"
"$BIN" report last --db "$DB" --html "$WORK/y.html" --scripts "$WORK" >/dev/null 2>"$WORK/err"; rc=$?
[ "$rc" = 2 ] && grep -q 'no gnuplot scripts there' "$WORK/err" && [ ! -e "$WORK/y.html" ] && ok "--scripts DIR without scripts: exit 2, nothing written" || fail "--scripts without scripts: exit $rc"
"$BIN" report 99 --db "$DB" --html "$WORK/x.html" >/dev/null 2>"$WORK/err"; rc=$?
[ "$rc" = 2 ] && grep -q 'no run 99' "$WORK/err" && [ ! -e "$WORK/x.html" ] && ok "unknown run: exit 2, nothing written" || fail "unknown run: exit $rc"

# ---- 7. names from a foreign store are text ---------------------------------------
# The store may hold any name: a variant and a mailbox renamed to markup
# that would log to the console if it ever ran.
python3 - "$DB" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE variants SET name = '<script>console.error(\"pwned\")</script>&x' WHERE idx = 1")
db.execute("UPDATE entities SET name = '\"&''<img src=x onerror=console.error(2)>' WHERE entity_kind = 'mailbox'")
db.commit()
EOF
if "$BIN" report last --db "$DB" --html "$WORK/hostile.html" --markdown "$WORK/hostile.md" >/dev/null 2>&1; then
	tr '\n' ' ' <"$WORK/hostile.html" | grep -o '<[^>]*>' >"$WORK/hostile-tags"
	if ! grep -qiE '<(script|img)[ >]' "$WORK/hostile-tags" &&
	   grep -qF '&lt;script&gt;console.error(&quot;pwned&quot;)&lt;/script&gt;&amp;x' "$WORK/hostile.html" &&
	   grep -qF '&quot;&amp;&#39;&lt;img src=x onerror=console.error(2)&gt;' "$WORK/hostile.html" &&
	   grep -qF '| \<script\>console.error("pwned")\</script\>\&x | 2 |' "$WORK/hostile.md"; then
		ok "names that are markup are shown as text (HTML and Markdown)"
	else
		fail "a name from the store became markup"
	fi
	render "$WORK/hostile.html" "$WORK/hostile.png" 1200,1200
	if console_lines "$WORK/hostile.png.log" >/dev/null; then fail "hostile names ran: $(console_lines "$WORK/hostile.png.log" | head -2)"; else ok "hostile names: no console message"; fi
else
	fail "report of the renamed run"
fi

if [ "$FAILS" -gt 0 ]; then
	echo "check_report: $FAILS check(s) failed"
	exit 1
fi
echo "check_report: all checks passed"
