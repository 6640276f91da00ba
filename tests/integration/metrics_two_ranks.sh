#!/usr/bin/env bash
# Runs the metrics probe as two ranks on loopback (Gloo) and requires both to agree with one process.
set -uo pipefail
probe=$1
port=$((20000 + RANDOM % 20000))
export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OMP_NUM_THREADS=1
RANK=0 LOCAL_RANK=0 "$probe" & p0=$!
RANK=1 LOCAL_RANK=1 "$probe" & p1=$!
wait $p0; s0=$?
wait $p1; s1=$?
if [[ $s0 -eq 0 && $s1 -eq 0 ]]; then
  echo "metrics: two ranks equal one process on both ranks"
else
  echo "metrics two ranks: exit statuses $s0 and $s1" >&2
  exit 1
fi
