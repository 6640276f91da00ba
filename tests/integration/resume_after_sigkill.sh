#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/resume_after_sigkill.sh EXE WORK_DIR — exact resume after SIGKILL.
# Runs kiln_resume_probe uninterrupted, then twice more killed with SIGKILL: once in the middle of
# an epoch (after the checkpoint at step 16 = epoch 1, batch 4, with more batches trained after it
# and lost), once between epochs (right after the checkpoint at step 24, the end of epoch 1).
# Each killed run is resumed from its last.ckpt in a new process; the final parameters must
# hash the same as the uninterrupted run's.
set -euo pipefail
exe=$1
work=$2
rm -rf "$work"
mkdir -p "$work/straight"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$exe" --dir "$work/straight" > "$work/straight/log"
ref=$(grep -o 'params_hash=.*' "$work/straight/log") || fail "the uninterrupted run printed no params_hash"

run_killed() {  # name, option, step, seconds to let it run on after that step's checkpoint
  local name=$1 option=$2 step=$3 linger=$4 dir="$work/$1"
  mkdir -p "$dir"
  "$exe" --dir "$dir" "$option" "$step" > "$dir/log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do
    grep -q "^saved step=$step " "$dir/log" && break
    kill -0 "$pid" 2>/dev/null || fail "$name: the run ended before its checkpoint at step $step: $(cat "$dir/log")"
    sleep 0.1
  done
  grep -q "^saved step=$step " "$dir/log" || fail "$name: no checkpoint at step $step within 60 s"
  sleep "$linger"
  kill -KILL "$pid"
  local status=0
  wait "$pid" || status=$?
  [ "$status" -eq 137 ] || fail "$name: expected death by SIGKILL (137), got $status"
  ! grep -q params_hash "$dir/log" || fail "$name: the run finished before the kill"
  local last
  last=$(grep -o '^step=[0-9]*' "$dir/log" | tail -1 | cut -d= -f2)
  echo "$name: killed at step $last, last checkpoint at step $step"
  if [ "$name" = mid_epoch ]; then
    [ "$last" -gt "$step" ] || fail "$name: nothing was trained after the checkpoint, so nothing was lost"
  fi
  "$exe" --dir "$dir" --resume "$dir/last.ckpt" > "$dir/resumed.log"
  local got
  got=$(grep -o 'params_hash=.*' "$dir/resumed.log") || fail "$name: the resumed run printed no params_hash"
  [ "$got" = "$ref" ] || fail "$name: resumed run ends with $got, the uninterrupted run with $ref"
}

run_killed mid_epoch --slow-after-step 16 0.35
run_killed between_epochs --pause-after-step 24 0.2
echo "resume after SIGKILL: mid-epoch and between epochs bit-identical to the uninterrupted run ($ref)"
