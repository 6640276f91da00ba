#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/kill_and_resume.sh EXE WORK_DIR [SEED] — SIGKILL at random moments, resume until done, compare bit for bit.
# EXE is kiln_kill_resume_probe (checkpoints after every step, loader with 2 workers, every run
# resumes from "last"). First one uninterrupted run, the reference. Then trials: each starts a
# run in a fresh folder and SIGKILLs it after a random delay, again and again (so resumes are
# killed too), until KILLS kills are done or it finishes; a killed trial is then resumed until it
# finishes. After every kill each checkpoint on disk must load, and each finished trial's
# parameters must equal the reference's byte for byte. Last, runs with a 64 MiB buffer in the
# module are killed while a checkpoint file is being written (its .tmp is on disk): the previous
# checkpoint must load and the resumed run must still end equal to the reference.
# SEED (default: from the clock) decides the delays; it is printed so a failure can be replayed.
set -euo pipefail
exe=$1
work=$2
seed=${3:-$(date +%s%N | cut -c10-18)}
kills_wanted=${KILLS:-12}
rm -rf "$work"
mkdir -p "$work/straight"
echo "kill_and_resume: seed $seed (replay: $0 $exe $work $seed)"
RANDOM=$((seed % 32768))

fail() { echo "FAIL (seed $seed): $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

start=$(now_ms)
"$exe" --dir "$work/straight" > "$work/straight/log" 2>&1 || fail "the uninterrupted run failed: $(cat "$work/straight/log")"
span=$(($(now_ms) - start))  # ms a whole run takes; kills land anywhere in it
echo "uninterrupted run: $span ms, $(grep -o 'global_step=.*' "$work/straight/log")"

# Every checkpoint file in $1 must load after a kill.
check_files() {
  "$exe" --check "$1" > "$1/check.log" 2>&1 || fail "after a kill, a checkpoint in $1 does not load: $(cat "$1/check.log")"
}
# Ends a trial: resume until a run finishes, then compare with the reference.
finish() {
  local dir=$1
  "$exe" --dir "$dir" "${@:2}" >> "$dir/log" 2>&1 || fail "resuming $dir failed: $(tail -5 "$dir/log")"
  cmp -s "$dir/final.bin" "$work/straight/final.bin" || fail "$dir ends with other parameters than the uninterrupted run"
}

kills=0 trial=0 during_write=0
while [ "$kills" -lt "$kills_wanted" ]; do
  trial=$((trial + 1))
  dir="$work/trial$trial"
  mkdir -p "$dir"
  runs=0
  while [ "$kills" -lt "$kills_wanted" ] && [ "$runs" -lt 4 ]; do
    delay=$((RANDOM % span))
    "$exe" --dir "$dir" >> "$dir/log" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    status=0
    wait "$pid" 2>/dev/null || status=$?
    [ "$status" -eq 0 ] && break  # it finished before the kill
    [ "$status" -eq 137 ] || fail "trial $trial: a run failed on its own (status $status): $(tail -5 "$dir/log")"
    kills=$((kills + 1)) runs=$((runs + 1))
    if compgen -G "$dir/checkpoints/*.tmp" > /dev/null; then during_write=$((during_write + 1)); fi
    newest=$(cd "$dir/checkpoints" 2>/dev/null && ls -- epoch=*.pt 2>/dev/null | tail -1) || true
    echo "trial $trial: killed after $delay ms (kill $kills); newest checkpoint: ${newest:-none yet}"
    if [ -d "$dir/checkpoints" ]; then check_files "$dir"; fi
  done
  finish "$dir"
  echo "trial $trial: resumed to the end, parameters equal the uninterrupted run's"
done
echo "kills during a checkpoint write: $during_write of $kills"

# Killed while writing: wait for a checkpoint's .tmp to appear, then SIGKILL.
for attempt in 1 2 3 4 5; do
  dir="$work/write$attempt"
  mkdir -p "$dir"
  "$exe" --dir "$dir" --ballast-mb 64 > "$dir/log" 2>&1 &
  pid=$!
  caught=0
  for _ in $(seq 3000); do
    if compgen -G "$dir/checkpoints/last.pt" > /dev/null && compgen -G "$dir/checkpoints/*.tmp" > /dev/null; then
      kill -KILL "$pid"
      caught=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
  done
  wait "$pid" 2>/dev/null || true
  if [ "$caught" = 1 ] && compgen -G "$dir/checkpoints/*.tmp" > /dev/null; then
    torn=$(cd "$dir/checkpoints" && ls -- *.tmp | head -1)
    check_files "$dir"
    finish "$dir" --ballast-mb 64
    echo "killed during a checkpoint write: $torn left behind, the checkpoints on disk load, resume exact"
    echo "kill and resume: $kills random kills in $trial trials and one during a write, every resume bit-identical (seed $seed)"
    exit 0
  fi
done
fail "no kill landed while a checkpoint was being written in 5 attempts"
