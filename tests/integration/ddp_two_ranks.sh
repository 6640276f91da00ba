#!/usr/bin/env bash
# DDP correctness and launchers: two ranks with batch B end where one rank with batch 2B ends
# (Adam, 48 steps), whether the ranks come from the environment (RANK/WORLD_SIZE), from kiln's
# own launcher (--devices 2), from SLURM's variables, from torchrun --no-python or from mpirun (OpenMPI).
set -uo pipefail
probe=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
export OMP_NUM_THREADS=1
fail() { echo "ddp two ranks: $*" >&2; exit 1; }
"$probe" "$dir/one.pt" || fail "one rank failed"

P=$((20000 + RANDOM % 20000))
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=0 LOCAL_RANK=0 "$probe" "$dir/env.pt" >> "$dir/env.out" & p0=$!
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=1 LOCAL_RANK=1 "$probe" "$dir/env.pt" >> "$dir/env.out" & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 == 0 && s1 == 0)) || fail "environment ranks: exit statuses $s0 and $s1"
# sync_dist: the synced epoch mean is the same on both ranks; the local ones differ
r0=$(sed -n 's/.*rank 0: synced=\([^ ]*\) local=\(.*\)/\1 \2/p' "$dir/env.out")
r1=$(sed -n 's/.*rank 1: synced=\([^ ]*\) local=\(.*\)/\1 \2/p' "$dir/env.out")
[[ -n $r0 && ${r0% *} == "${r1% *}" && ${r0#* } != "${r1#* }" ]] || fail "sync_dist: rank 0 has '$r0', rank 1 '$r1'"

# log folders: rank 1 runs where lightning_logs/version_0..2 exist (it alone would pick version_3,
# rank 0 version_0); both must use rank 0's folder
P=$((20000 + RANDOM % 20000))
mkdir -p "$dir/cwd0" "$dir/cwd1/logs/lightning_logs/version_"{0,1,2}
(cd "$dir/cwd0" && WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=0 "$probe" --logs logs "$dir/logs.pt" > "$dir/logs0.out" 2>&1) & p0=$!
(cd "$dir/cwd1" && WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=1 "$probe" --logs logs "$dir/logs.pt" > "$dir/logs1.out" 2>&1) & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 == 0 && s1 == 0)) || fail "log folders: exit statuses $s0 and $s1: $(cat "$dir/logs0.out" "$dir/logs1.out")"
grep -q "rank 0: log_dir logs/lightning_logs/version_0$" "$dir/logs0.out" &&
  grep -q "rank 1: log_dir logs/lightning_logs/version_0$" "$dir/logs1.out" ||
  fail "log folders differ: $(grep log_dir "$dir/logs0.out" "$dir/logs1.out")"

# a stop asked by rank 1 alone (at step 7) stops both ranks there
P=$((20000 + RANDOM % 20000))
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=0 "$probe" --stop-at 7 "$dir/stop.pt" > "$dir/stop0.out" 2> /dev/null & p0=$!
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=1 "$probe" --stop-at 7 "$dir/stop.pt" > "$dir/stop1.out" 2> /dev/null & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 == 0 && s1 == 0)) || fail "stop agreement: exit statuses $s0 and $s1"
grep -q "rank 0 of 2: 7 steps" "$dir/stop0.out" && grep -q "rank 1 of 2: 7 steps" "$dir/stop1.out" ||
  fail "stop agreement: $(cat "$dir/stop0.out" "$dir/stop1.out")"
"$probe" --compare "$dir/env.pt" "$dir/one.pt" || fail "environment ranks differ from one rank"

"$probe" --devices 2 "$dir/devices.pt" > "$dir/devices.out" || fail "--devices 2 failed"
grep -q "rank 1 of 2" "$dir/devices.out" || fail "--devices 2 did not start rank 1: $(cat "$dir/devices.out")"
"$probe" --compare "$dir/devices.pt" "$dir/one.pt" || fail "--devices 2 differs from one rank"
# ModelCheckpoint(save_top_k=1) on a value that improves on rank 0 only: rank 0's decisions hold
[[ $(ls "$dir/devices.pt.ckpt") == "epoch=1.pt" ]] || fail "ModelCheckpoint under DDP kept: $(ls "$dir/devices.pt.ckpt")"

# manual optimization: manual_backward averages over the ranks (once per two accumulated batches)
"$probe" --manual "$dir/manual_one.pt" > /dev/null || fail "manual optimization, one rank failed"
"$probe" --manual --devices 2 "$dir/manual.pt" > "$dir/manual.out" || fail "manual optimization, --devices 2 failed"
grep -q "rank 1 of 2: 48 steps, ranks identical" "$dir/manual.out" || fail "manual optimization: $(cat "$dir/manual.out")"
"$probe" --compare "$dir/manual.pt" "$dir/manual_one.pt" || fail "manual optimization: two ranks differ from one rank"
! "$probe" --compare "$dir/manual.pt" "$dir/one.pt" > /dev/null || fail "manual optimization ran the automatic loop"

# a precision that casts the module (FP64) after DDP bucketed its parameters
"$probe" --fp64 "$dir/fp64_one.pt" > /dev/null || fail "FP64, one rank failed"
"$probe" --fp64 --devices 2 "$dir/fp64.pt" > "$dir/fp64.out" || fail "FP64, --devices 2 failed"
# within 1e-12: gradients all-reduced in float instead of double would be ~1e-8 off
"$probe" --compare "$dir/fp64.pt" "$dir/fp64_one.pt" 1e-12 || fail "FP64: two ranks differ from one rank"

# a layer trained on rank 0 only: with find_unused_parameters the ranks stay identical; without
# it rank 1 names the parameter that got no gradient
P=$((20000 + RANDOM % 20000))
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=0 "$probe" --unused 1 "$dir/unused.pt" > /dev/null 2>&1 & p0=$!
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=1 "$probe" --unused 1 "$dir/unused.pt" > /dev/null 2>&1 & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 == 0 && s1 == 0)) || fail "find_unused_parameters: exit statuses $s0 and $s1"
P=$((20000 + RANDOM % 20000))
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=0 "$probe" --unused 0 --timeout 20 "$dir/unused.pt" > /dev/null 2>&1 & p0=$!
WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$P RANK=1 "$probe" --unused 0 --timeout 20 "$dir/unused.pt" > /dev/null 2> "$dir/unused1.err" & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 != 0 && s1 != 0)) || fail "an unused parameter without find_unused_parameters: exit statuses $s0 and $s1"
grep -qE "parameter extra\.(weight|bias) got no gradient" "$dir/unused1.err" || fail "unused parameter: $(cat "$dir/unused1.err")"

# SLURM as srun sets it (no srun here): rank and size from SLURM_*, the rendezvous on the first
# node of the job's node list, the port from the job id (no MASTER_ADDR/MASTER_PORT)
job=$((RANDOM % 10000))
for r in 0 1; do
  env -u MASTER_ADDR -u MASTER_PORT SLURM_PROCID=$r SLURM_NTASKS=2 SLURM_LOCALID=$r SLURM_JOB_ID=$job \
    SLURM_JOB_NODELIST="localhost,node[02-03]" "$probe" "$dir/slurm.pt" > "$dir/slurm$r.out" 2>&1 & pids[r]=$!
done
wait ${pids[0]}; s0=$?; wait ${pids[1]}; s1=$?
((s0 == 0 && s1 == 0)) || fail "SLURM variables: exit statuses $s0 and $s1: $(cat "$dir/slurm0.out" "$dir/slurm1.out")"
grep -q "rank 1 of 2" "$dir/slurm1.out" || fail "SLURM variables: $(cat "$dir/slurm1.out")"
"$probe" --compare "$dir/slurm.pt" "$dir/one.pt" || fail "SLURM ranks differ from one rank"

if command -v torchrun > /dev/null; then
  # -r 1 -t 1: Debian's torchrun 1.13 under Python 3.11 cannot parse its default "0" for these
  # (enum.Flag no longer iterates over 0), so stdout is redirected and teed explicitly.
  torchrun --no_python -r 1 -t 1 --log_dir "$dir/torchrun_logs" --nproc_per_node=2 \
    --master_port=$((20000 + RANDOM % 20000)) "$probe" "$dir/torchrun.pt" \
    > "$dir/torchrun.out" 2>&1 || { cat "$dir/torchrun.out"; fail "torchrun failed"; }
  "$probe" --compare "$dir/torchrun.pt" "$dir/one.pt" || fail "torchrun ranks differ from one rank"
else
  echo "torchrun not found: that launcher is not tested"
fi
if command -v mpirun > /dev/null; then
  # OpenMPI sets OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK; the rendezvous address comes from -x.
  mpirun --allow-run-as-root --oversubscribe -np 2 -x MASTER_ADDR=127.0.0.1 -x MASTER_PORT=$((20000 + RANDOM % 20000)) \
    -x OMP_NUM_THREADS=1 "$probe" "$dir/mpirun.pt" > "$dir/mpirun.out" 2>&1 || { cat "$dir/mpirun.out"; fail "mpirun failed"; }
  "$probe" --compare "$dir/mpirun.pt" "$dir/one.pt" || fail "mpirun ranks differ from one rank"
else
  echo "mpirun not found: that launcher is not tested"
fi
echo "ddp: two ranks with batch B equal one rank with batch 2B (environment, --devices, SLURM variables, torchrun, mpirun)"
