#!/usr/bin/env bash
# GNU parallel (Debian's package) runs the command `run --emit parallel`
# prints: 4 shards on this machine, then their merge; the merged run must
# equal the run on one machine (tests/shard/common.sh).
set -euo pipefail
bin=$(realpath "${1:?usage: parallel.sh THROTTLESIM}")
here=$(cd "$(dirname "$0")" && pwd)
command -v parallel >/dev/null || { echo "parallel.sh: GNU parallel is not installed (make deps)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/throttlesim-parallel.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
source "$here/common.sh"
single
cd "$tmp"
"$bin" run shardy.yaml --emit parallel --shards 4 --block 3 --db "merged run.db" > emitted.sh
bash emitted.sh > parallel.out
grep -q '^merged 4 shards into merged run.db: run 1, 3 variants, 21 replications (9 units)$' parallel.out ||
	{ echo "FAIL: the merge's line:"; cat parallel.out; exit 1; } >&2
for i in 0 1 2 3; do
	[[ $(sqlite3 "merged run.shard-$i.db" "SELECT shard || '/' || shards FROM shards") == "$i/4" ]] ||
		{ echo "FAIL: merged run.shard-$i.db is not shard $i/4" >&2; exit 1; }
done
same_as_single "$tmp/merged run.db"
echo "parallel.sh: 4 shards under GNU parallel, merged: the same run as on one machine"
