#!/usr/bin/env bash
# A real single-node SLURM (Debian's slurm-wlm, with munge), started here on
# loopback from a slurm.conf of our own in a temporary directory and stopped
# at the end, runs the script `run --emit slurm` prints: a 4-task job array
# and the merge as a job depending on it.  The merged run must equal the run
# on one machine (tests/shard/common.sh).
#
# Exit status: 0 passed, 1 failed, 77 skipped: SLURM cannot run here (not
# root, a package missing, or the daemons do not come up); the reason is
# printed.  Only the daemons started here are stopped, by their pids.
set -euo pipefail
bin=$(realpath "${1:?usage: slurm.sh THROTTLESIM}")
here=$(cd "$(dirname "$0")" && pwd)
SKIP=77
skip() { echo "slurm.sh: SKIPPED: $*" >&2; exit $SKIP; }

[[ $(id -u) == 0 ]] || skip "the daemons run as root here (SlurmUser=root); run make test as root"
for c in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo; do
	command -v "$c" >/dev/null || skip "$c is missing (make deps installs slurm-wlm and munge)"
done

tmp=$(mktemp -d /tmp/throttlesim-slurm.XXXXXX)
chmod 755 "$tmp"
pids=()
stop() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap stop EXIT
pidof_file() { local f=$1; for _ in $(seq 100); do [[ -s $f ]] && { cat "$f"; return 0; }; sleep 0.1; done; return 1; }
logs() { local f; for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; }

# munge: a key and a socket of our own.
mkdir -p "$tmp/munge"
chmod 700 "$tmp/munge"
mungekey --create --keyfile="$tmp/munge/munge.key" >/dev/null 2>&1 ||
	dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.sock" \
	--pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge/seed" ||
	{ logs; skip "munged does not start"; }
pids+=("$(pidof_file "$tmp/munge/munged.pid")") || skip "munged wrote no pid file"

# slurm: one node, this machine, on loopback; ports away from the defaults.
host=$(hostname -s)
cpus=$(nproc)
port=$((20000 + $$ % 20000))
mkdir -p "$tmp/state" "$tmp/spool"
export SLURM_CONF="$tmp/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=throttlesim-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -i || { logs; skip "slurmctld does not start"; }
pids+=("$(pidof_file "$tmp/slurmctld.pid")") || { logs; skip "slurmctld wrote no pid file"; }
slurmd || { logs; skip "slurmd does not start"; }
pids+=("$(pidof_file "$tmp/slurmd.pid")") || { logs; skip "slurmd wrote no pid file"; }
for _ in $(seq 100); do
	state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
	[[ $state == idle* ]] && break
	sleep 0.2
done
[[ ${state:-} == idle* ]] || { logs; skip "the node does not come up (state '${state:-none}')"; }

source "$here/common.sh"
single
cd "$tmp"
"$bin" run shardy.yaml --emit slurm --shards 4 --block 3 --db merged.db > submit.sh
# --wait: sbatch returns when the merge job has ended, with its status.
if ! timeout 300 bash submit.sh --wait > submit.out; then
	logs
	cat ./*.out >&2 || true
	echo "FAIL: the SLURM jobs failed" >&2
	exit 1
fi
grep -q '^merged 4 shards into merged.db: run 1, 3 variants, 21 replications (9 units)$' merged.merge.out ||
	{ echo "FAIL: the merge job's output:"; cat merged.merge.out; exit 1; } >&2
for i in 0 1 2 3; do
	grep -q "^shard $i/4 of shardy.yaml: " "merged.shard-$i.out" ||
		{ echo "FAIL: array task $i:"; cat "merged.shard-$i.out"; exit 1; } >&2
done
same_as_single "$tmp/merged.db"
echo "slurm.sh: a 4-task SLURM job array and a dependent merge: the same run as on one machine"
