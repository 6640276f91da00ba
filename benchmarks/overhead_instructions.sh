#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/overhead_instructions.sh — the Trainer's per-step overhead as instructions, not seconds.
#
# Wall-clock steps/s on this shared 2-core machine swings by several per cent between runs, too
# coarse to tell a 2 % overhead from noise. Instructions executed are repeatable, so this runs
# each way of benchmarks/overhead (raw loop, Trainer, Trainer + 20 idle callbacks) alone under
# `valgrind --tool=callgrind` for N1 and N2 = N1 + K steps (one thread, fixed seed, no
# warm-up) and divides the difference of the instruction counts (Ir) by K: everything done once
# (building the net, the Trainer's set-up and teardown; LibTorch's start-up too where it is
# counted) cancels, and what remains is the cost of one step. Each run prints a hash of its final
# weights; all ways must agree at each step count (else exit 1).
# Prints instructions/step per way and
#   RESULT overhead_instructions trainer_vs_raw=<raw ÷ trainer> callbacks_vs_raw=<raw ÷ callbacks>
# (as benchmarks/overhead's ratios: 1.0 means no overhead, below 1 means more instructions).
# Under callgrind the program sees the CPU valgrind emulates (AVX2, no AVX-512), so OpenBLAS
# and ATen may take other kernels than in a native run: compare the ways with each other, not
# these counts with native ones.
# Usage: benchmarks/overhead_instructions.sh [BUILD_DIR] [--steps N1] [--extra K]
#        [--raw-zero-grad fill|none]   (BUILD_DIR default: build; needs its benchmarks/overhead)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}; [[ $# -gt 0 && $1 != --* ]] && shift
n1=50 extra=200 zero_grad=fill
while [[ $# -gt 0 ]]; do
  case $1 in
    --steps) n1=$2; shift 2 ;;
    --extra) extra=$2; shift 2 ;;
    --raw-zero-grad) zero_grad=$2; shift 2 ;;
    *) echo "usage: $0 [BUILD_DIR] [--steps N1] [--extra K] [--raw-zero-grad fill|none]" >&2; exit 2 ;;
  esac
done
bin=$build/benchmarks/overhead
[[ -x $bin ]] || { echo "overhead_instructions.sh: $bin not found (cmake --build $build --target overhead)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/overhead
# shellcheck source=benchmarks/callgrind_common.sh
source "$here/callgrind_common.sh"
require_valgrind overhead_instructions.sh
n2=$((n1 + extra))

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"  # the Trainer's default checkpoint (checkpoints/last.pt) lands here, not in the caller's folder

# Built with valgrind's callgrind.h, overhead turns instrumentation on for the measured run only;
# LibTorch's start-up then runs uninstrumented (~20 s instead of ~100 s a run). Without it,
# everything is counted: slower, and the differencing still cancels the start-up.
marks=$("$bin" --only raw --steps 1 --warmup 0 --repeats 1 | sed -n 's/^callgrind_marks=//p')
instr_at_start=yes
[[ $marks == 1 ]] && instr_at_start=no

# ir WAY STEPS: total instructions of one run; also keeps its weights hash.
ir() {
  local out=$scratch/callgrind.$1.$2 total
  total=$(callgrind_total overhead_instructions.sh "$out" "$instr_at_start" \
    "$bin" --only "$1" --steps "$2" --repeats 1 --warmup 0 --threads 1 --raw-zero-grad "$zero_grad") || exit 1
  sed -n 's/.*weights_hash=\([0-9a-f]*\).*/\1/p' "$out.stdout" > "$scratch/hash.$1.$2"
  echo "$total"
}

echo "overhead_instructions: $(valgrind --version), steps $n1 and $n2, raw zero_grad=$zero_grad," \
     "instrumented: $([[ $marks == 1 ]] && echo 'the run only' || echo 'all')," \
     "ASLR $([[ ${#norand[@]} -gt 0 ]] && echo off || echo on), load: $(uptime | sed 's/.*load average: //')"
declare -A per_step
for way in raw trainer callbacks; do
  start=$SECONDS
  a=$(ir "$way" "$n1")
  b=$(ir "$way" "$n2")
  per_step[$way]=$(per_step "$a" "$b" "$extra")
  echo "  $way: Ir($n1 steps)=$a Ir($n2 steps)=$b -> ${per_step[$way]} instructions/step ($((SECONDS - start)) s)"
done

for steps in "$n1" "$n2"; do
  want=$(cat "$scratch/hash.raw.$steps")
  [[ -n $want ]] || { echo "overhead_instructions.sh: FAIL: no weights hash from raw at $steps steps" >&2; exit 1; }
  for way in trainer callbacks; do
    got=$(cat "$scratch/hash.$way.$steps")
    if [[ $got != "$want" ]]; then
      echo "overhead_instructions.sh: FAIL: $way ends with different weights than raw after $steps steps" \
           "(hash $got, raw $want)" >&2
      exit 1
    fi
  done
done
echo "weights: identical hash in all three ways at $n1 and $n2 steps ($want at $n2)"
raw=${per_step[raw]} trainer=${per_step[trainer]} callbacks=${per_step[callbacks]}
awk -v r="$raw" -v t="$trainer" -v c="$callbacks" 'BEGIN {
  printf "instructions/step: raw=%.1f trainer=%.1f (%+.1f) callbacks=%.1f (%+.1f)\n", r, t, t - r, c, c - r
  printf "RESULT overhead_instructions trainer_vs_raw=%.4f callbacks_vs_raw=%.4f\n", r / t, r / c
}'
