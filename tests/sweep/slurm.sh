#!/bin/bash
# The Slurm route of `iommusim sweep` against a real single-node Slurm: starts
# munged, slurmctld and slurmd on loopback in a scratch directory (their own
# socket, ports, state and pid files: nothing of the host's is used), runs a
# small `sweep --slurm --wait` and the same sweep locally, and requires the
# same results.csv bytes apart from the wall_seconds column; then resumes
# (nothing to submit; one removed point comes back). Every daemon it started
# is stopped by the EXIT trap, also on failure. Fails (never skips) when
# Slurm cannot be started. Needs root (the daemons run as root).
# usage: slurm.sh BIN SOURCE_DIR SCRATCH_ROOT
set -u
bin=$1 src=$2 root=$3
fail() {
    echo "FAILED: $*"
    exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root to start munged, slurmctld and slurmd (ctest -LE slurm runs every other test)"
for c in munged slurmctld slurmd sbatch sinfo squeue scancel; do
    command -v "$c" >/dev/null || fail "$c not found: 'bash scripts/deps.sh slurm' installs slurm-wlm and munge"
done
mkdir -p "$root" || fail "cannot make $root"
tmp=$(mktemp -d "$root/slurm.XXXXXX") || fail "mktemp"
host=$(hostname -s)
# Ports of our own (the default 6817/6818 may belong to a real Slurm).
port=$((20000 + ($$ % 10000) * 2))
export SLURM_CONF=$tmp/slurm.conf

stop() {
    # Jobs first (slurmstepd outlives slurmd), then the daemons, by their pids.
    [ -s "$tmp/slurmctld.pid" ] && timeout 10 scancel --quiet --user=root 2>/dev/null
    for d in slurmd slurmctld munged; do
        [ -s "$tmp/$d.pid" ] || continue
        pid=$(cat "$tmp/$d.pid")
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP

mkdir -p "$tmp/state" "$tmp/spool" || fail "mkdir"
munged --force --socket="$tmp/munge.sock" --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" \
    --seed-file="$tmp/munged.seed" --key-file=/etc/munge/munge.key 2>"$tmp/munged.err" ||
    fail "munged did not start: $(cat "$tmp/munged.err" "$tmp/munged.log" 2>/dev/null)"
cat >"$SLURM_CONF" <<EOF
ClusterName=imstest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge.sock
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF" -i || fail "slurmctld did not start: $(tail -5 "$tmp/slurmctld.log" 2>/dev/null)"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start: $(tail -5 "$tmp/slurmd.log" 2>/dev/null)"
up=
for _ in $(seq 150); do
    state=$(sinfo -h -o %t 2>/dev/null)
    [ "$state" = idle ] && up=1 && break
    sleep 0.2
done
[ -n "$up" ] || fail "the node did not come up (sinfo: '$state'); slurmctld.log: $(tail -5 "$tmp/slurmctld.log"); slurmd.log: $(tail -5 "$tmp/slurmd.log")"

cd "$src" || fail "cd $src"
plan=(--trace traces/net.itr.zst traces/nvme-strict.itr.zst --vary iotlb.ways=1,2 --vary walker.count=1,2)
"$bin" sweep "${plan[@]}" --quiet --out "$tmp/local" || fail "the local sweep failed"
out=$("$bin" sweep "${plan[@]}" --out "$tmp/slurm" --slurm --chunk 3 --time 5 --wait 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "sweep --slurm --wait exited $rc; task logs: $(cat "$tmp"/slurm/slurm/task-*.out 2>/dev/null)"
grep -q 'submitted job [0-9]*: 3 array tasks of up to 3 points' <<<"$out" || fail "no job id, or not 3 tasks of 3"
grep -q '^#SBATCH --array=0-2$' "$tmp/slurm/slurm/job.sh" || fail "job.sh has no --array=0-2"
grep -q '^#SBATCH --time=5$' "$tmp/slurm/slurm/job.sh" || fail "job.sh has no --time=5"
[ "$(ls "$tmp"/slurm/slurm/task-*.out | wc -l)" -eq 3 ] || fail "expected 3 task logs"
nowall() { sed 's/,[^,]*$//' "$1"; }
[ "$(wc -l <"$tmp/local/results.csv")" -eq 9 ] || fail "the local CSV does not have 8 rows"
if ! cmp <(nowall "$tmp/local/results.csv") <(nowall "$tmp/slurm/results.csv"); then
    diff <(nowall "$tmp/local/results.csv") <(nowall "$tmp/slurm/results.csv")
    fail "the Slurm sweep's CSV differs from the local one"
fi
grep -q ',failed,' "$tmp/slurm/results.csv" && fail "a failed point"

# Resuming: everything is done (nothing submitted); a removed point is run again.
out=$("$bin" sweep "${plan[@]}" --out "$tmp/slurm" --slurm --chunk 3 --wait 2>&1) || fail "resume: $out"
grep -q 'nothing to submit' <<<"$out" || fail "resume submitted a job: $out"
rm "$tmp/slurm/points/0004.json"
out=$("$bin" sweep "${plan[@]}" --out "$tmp/slurm" --slurm --chunk 3 --wait 2>&1) || fail "resume after rm: $out"
grep -q '(1 to run, 7 done)' <<<"$out" || fail "not 1 point to run: $out"
grep -q 'task 1: points 3..5, 1 to run' "$tmp/slurm/slurm/task-1.out" || fail "task 1 did not skip its done points: $(cat "$tmp/slurm/slurm/task-1.out")"
cmp <(nowall "$tmp/local/results.csv") <(nowall "$tmp/slurm/results.csv") || fail "the resumed CSV differs"
echo ok
