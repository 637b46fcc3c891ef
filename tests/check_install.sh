#!/usr/bin/env bash
# check_install.sh - `make install` (run by `make test`).
#   1. PREFIX=<tmp>/usr, no DESTDIR: every file where it belongs (binary,
#      plot scripts, man page, bash completion), with its mode; the man page
#      renders without warnings; the completion script parses.
#   2. The installed binary, copied away from its tree and run from another
#      directory, plots a tiny stored run: it can only have found its
#      scripts at the directory compiled into it, PREFIX/share/throttlesim/
#      plots (the copy has no share/ beside it, THROTTLESIM_PLOTS is unset,
#      and ./plots is never used); with that directory removed, the same
#      plot fails saying where it looked.
#   3. The binary in place (bin/ beside share/) also plots, and
#      DESTDIR=<tmp>/stage stages the same files under <tmp>/stage<PREFIX>
#      without rebuilding (same PREFIX) and with nothing written to PREFIX.
#   4. `make uninstall` removes every file it installed.
# What it does not prove: an install into a system PREFIX by root, or a
# staged tree moved to its PREFIX by a package manager (the compiled-in
# path is the same string either way).
set -eu
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d /tmp/throttlesim-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/usr
fail() { echo "check_install: $*" >&2; exit 1; }

make_q() { make --no-print-directory -C "$root" "$@" >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; fail "make $* failed"; }; }

# 1. the files
make_q -j "$(nproc)" install PREFIX="$prefix"
check_file() { # path mode
	[ -f "$1" ] || fail "missing $1"
	[ "$(stat -c %a "$1")" = "$2" ] || fail "$1: mode $(stat -c %a "$1"), want $2"
}
check_file "$prefix/bin/throttlesim" 755
for gp in "$root"/plots/*.gp; do
	check_file "$prefix/share/throttlesim/plots/$(basename "$gp")" 644
	cmp -s "$gp" "$prefix/share/throttlesim/plots/$(basename "$gp")" || fail "$gp differs once installed"
done
check_file "$prefix/share/man/man1/throttlesim.1" 644
check_file "$prefix/share/bash-completion/completions/throttlesim" 644
"$prefix/bin/throttlesim" --version | grep -qx 'throttlesim [0-9.]*' || fail "installed binary: --version"
if command -v groff >/dev/null; then
	warn=$(groff -man -ww -z "$prefix/share/man/man1/throttlesim.1" 2>&1) || true
	[ -z "$warn" ] || fail "man page: $warn"
fi
bash -n "$prefix/share/bash-completion/completions/throttlesim" || fail "completion script does not parse"
# every command of the usage appears in the man page and the completion
for c in run check plan results plot report serve load token profile demo; do
	grep -q "^\.SS $c" "$prefix/share/man/man1/throttlesim.1" || fail "man page: no section for $c"
	grep -q "commands=\".*\b$c\b" "$prefix/share/bash-completion/completions/throttlesim" ||
		fail "completion: no command $c"
done

# a tiny stored run to plot (an hour, one replication)
db=$tmp/r.db
"$prefix/bin/throttlesim" run "$root/tests/data/minimal.yaml" --duration 1h --replications 1 \
	--quiet --format csv --db "$db" >/dev/null

# 2. the compiled-in directory: a copy elsewhere, run from elsewhere
mkdir -p "$tmp/away/bin" "$tmp/cwd"
cp "$prefix/bin/throttlesim" "$tmp/away/bin/throttlesim"
(cd "$tmp/cwd" && env -u THROTTLESIM_PLOTS "$tmp/away/bin/throttlesim" plot last --db "$db" \
	--chart timeseries --out "$tmp/p1" >"$tmp/plot.out" 2>&1) || { cat "$tmp/plot.out" >&2; fail "copied binary cannot plot"; }
ls "$tmp"/p1/*.png >/dev/null 2>&1 || fail "no image from the copied binary"
mv "$prefix/share/throttlesim/plots" "$tmp/plots.moved"
if (cd "$tmp/cwd" && env -u THROTTLESIM_PLOTS "$tmp/away/bin/throttlesim" plot last --db "$db" \
	--chart timeseries --out "$tmp/p2" >"$tmp/plot.out" 2>&1); then
	fail "the copied binary plotted without its installed scripts"
fi
grep -qF "where they were installed ($prefix/share/throttlesim/plots)" "$tmp/plot.out" ||
	{ cat "$tmp/plot.out" >&2; fail "the failure does not name the compiled-in directory"; }
mv "$tmp/plots.moved" "$prefix/share/throttlesim/plots"

# 3. in place, and staged with DESTDIR
(cd "$tmp/cwd" && env -u THROTTLESIM_PLOTS "$prefix/bin/throttlesim" plot last --db "$db" \
	--chart timeseries --out "$tmp/p3" >"$tmp/plot.out" 2>&1) || { cat "$tmp/plot.out" >&2; fail "installed binary cannot plot"; }
ls "$tmp"/p3/*.png >/dev/null 2>&1 || fail "no image from the installed binary"
before=$(find "$prefix" -type f | sort | xargs md5sum)
make_q install PREFIX="$prefix" DESTDIR="$tmp/stage"
grep -q "^cc " "$tmp/make.log" && fail "DESTDIR with the same PREFIX rebuilt the program"
for f in bin/throttlesim share/man/man1/throttlesim.1 share/bash-completion/completions/throttlesim \
         share/throttlesim/plots/timeseries.gp; do
	[ -f "$tmp/stage$prefix/$f" ] || fail "DESTDIR: missing $tmp/stage$prefix/$f"
done
cmp -s "$prefix/bin/throttlesim" "$tmp/stage$prefix/bin/throttlesim" || fail "DESTDIR: another binary"
[ "$before" = "$(find "$prefix" -type f | sort | xargs md5sum)" ] || fail "DESTDIR install wrote into PREFIX"

# 4. uninstall
make_q uninstall PREFIX="$prefix"
left=$(find "$prefix" -type f)
[ -z "$left" ] || fail "uninstall left: $left"
echo "check_install: ok (install, plot from a copy and in place, DESTDIR, uninstall)"
