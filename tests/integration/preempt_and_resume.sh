#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/preempt_and_resume.sh EXE WORK_DIR — preemption: SIGTERM/SIGUSR1 write last.pt and the run resumes from it.
# Runs kiln_resume_probe uninterrupted, then once per signal (SIGTERM, SIGUSR1) sends the
# signal mid-epoch (after step 18, while it trains on slowly). The run must write
# checkpoints/last.pt, say so, and exit with kiln::preempted_exit_code (75); resumed from that
# file in a new process it must end with the uninterrupted run's parameters, bit for bit.
set -euo pipefail
exe=$1
work=$2
rm -rf "$work"
mkdir -p "$work/straight"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$exe" --dir "$work/straight" > "$work/straight/log"
ref=$(grep -o 'params_hash=.*' "$work/straight/log") || fail "the uninterrupted run printed no params_hash"

for sig in TERM USR1; do
  dir="$work/$sig"
  mkdir -p "$dir"
  "$exe" --dir "$dir" --slow-after-step 16 > "$dir/log" 2> "$dir/err" &
  pid=$!
  for _ in $(seq 600); do
    grep -q '^step=18$' "$dir/log" && break
    kill -0 "$pid" 2>/dev/null || fail "SIG$sig: the run ended before step 18: $(cat "$dir/log" "$dir/err")"
    sleep 0.1
  done
  kill -"$sig" "$pid"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 75 ] || fail "SIG$sig: expected exit status 75, got $status: $(cat "$dir/err")"
  grep -q "preempted by SIG$sig: wrote checkpoint $dir/checkpoints/last.pt" "$dir/err" ||
    fail "SIG$sig: no message naming the signal and the file: $(cat "$dir/err")"
  ! grep -q params_hash "$dir/log" || fail "SIG$sig: the run finished instead of stopping"
  last=$(grep -o '^step=[0-9]*' "$dir/log" | tail -1 | cut -d= -f2)
  echo "SIG$sig: stopped after step $last: $(grep -o 'resumes at.*' "$dir/err")"
  "$exe" --dir "$dir" --resume "$dir/checkpoints/last.pt" > "$dir/resumed.log"
  got=$(grep -o 'params_hash=.*' "$dir/resumed.log") || fail "SIG$sig: the resumed run printed no params_hash"
  [ "$got" = "$ref" ] || fail "SIG$sig: resumed run ends with $got, the uninterrupted run with $ref"
done
echo "preemption: SIGTERM and SIGUSR1 exit 75 with a checkpoint that resumes bit-identical ($ref)"
