#!/usr/bin/env bash
# check_paths.sh - every file of the project that a comment, a document or
# a script names exists: a path such as models/service.c or docs/MODEL.md
# in any source, header, script, gnuplot script or Markdown file.  Exits 1
# naming each missing one with where it is named.
set -u
cd "$(dirname "$0")/.."
bad=0
files=$(git ls-files '*.c' '*.h' '*.cc' '*.md' '*.gp' '*.sh' '*.mk' 'Makefile' '.ci/run' 2>/dev/null)
[ -n "$files" ] || files=$(find sim models tests docs plots bench -type f \( -name '*.[ch]' -o -name '*.md' -o -name '*.gp' -o -name '*.sh' -o -name '*.mk' \)) 
re='(^|[^A-Za-z0-9_./-])((sim|models|tests|docs|plots|scenarios|bench)/[A-Za-z0-9_./*%-]*[A-Za-z0-9_*%])'
while IFS=: read -r file line path; do
	# globs, build outputs, placeholders in capitals (plots/CHART.gp),
	# names a test means not to exist, and programs named after their
	# source (tests/fuzz/fuzz_scenario) are not files to look for
	case "$path" in
	*'*'*|*%*|*/|build/*|*does-not-exist*|*no-such*) continue ;;
	esac
	[[ "$(basename "$path")" =~ ^[A-Z]+(\.[a-z]+)?$ ]] && continue
	[ -e "$path" ] || [ -e "$path.c" ] && continue
	echo "$file:$line: names $path, which does not exist" >&2
	bad=1
done < <(grep -noE "$re" $files | sed -E 's/:([^:]*)$/:\1/; s/:[^A-Za-z0-9_]?((sim|models|tests|docs|plots|scenarios|bench)\/)/:\1/')
if [ $bad -ne 0 ]; then
	echo "check_paths: fix or remove the names above" >&2
	exit 1
fi
echo "check_paths: every file named in the sources and documents exists"
