# Shared by the shard tests: the run on one machine, and the comparison of
# a merged store with it.  Sourced; needs $bin, $tmp.

# The scenario with 8 units (--block 3): base, more, most x (0-2, 3-5, 6).
single() {
	cp "$here/shardy.yaml" "$tmp/shardy.yaml"
	(cd "$tmp" && "$bin" run shardy.yaml --quiet --format json --db single.db >/dev/null)
}

# The export without the three lines that say when and by which command a
# run was stored; fails unless exactly those three were there.
export_of() {
	local db=$1 all
	all=$("$bin" results export 1 --describe --format json --db "$db")
	local n
	n=$(printf '%s\n' "$all" | grep -c '^    "\(started_at\|finished_at\|command_line\)": ')
	[[ $n == 3 ]] || { echo "$db: $n record lines, expected 3" >&2; return 1; }
	printf '%s\n' "$all" | grep -v '^    "\(started_at\|finished_at\|command_line\)": '
}

# The merged run equals the run on one machine: export byte for byte
# (but for the record's times and command line), the stored mean series
# (packed per variant: schema 3) byte for byte.
same_as_single() {
	local merged=$1 a b
	cmp <(export_of "$tmp/single.db") <(export_of "$merged") ||
		{ echo "FAIL: $merged: export differs from the run on one machine" >&2; return 1; }
	local q='SELECT variant_idx, hex(series) FROM variant_data WHERE run_id = 1 ORDER BY variant_idx'
	a=$(sqlite3 "$tmp/single.db" "$q") || { echo "FAIL: $tmp/single.db: no packed series" >&2; return 1; }
	b=$(sqlite3 "$merged" "$q") || { echo "FAIL: $merged: no packed series" >&2; return 1; }
	[[ $a == "$b" ]] || { echo "FAIL: $merged: the time series differ" >&2; return 1; }
	[[ ${#b} -gt 1000 ]] || { echo "FAIL: no series in $merged" >&2; return 1; }
}
