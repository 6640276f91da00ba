#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/loggers_instructions.sh — what each logger costs the loop per step, as instructions, not seconds.
#
# Wall-clock steps/s on this shared machine swing by tens of per cent between identical fits,
# far too coarse for a 3 % bar. This runs each way of benchmarks/loggers (no logger, CSV,
# TensorBoard, MLflow to a local server) alone under `valgrind --tool=callgrind`, counting fit()
# only, for N1 and N2 = N1 + K steps, and divides the difference by K: the set-up (the MLflow
# run's start and end included) cancels and what remains is one step's cost, logging every 50
# steps amortised, in every thread of the process (MLflow's sender thread too; MLflow is told to
# send only at the end, so the count does not depend on how slowly valgrind runs). The MLflow
# server's own work is outside the count: see benchmarks/RESULTS.md.
# Prints instructions/step per way and
#   RESULT loggers_instructions csv_vs_none=<none ÷ csv> tensorboard_vs_none=<…> mlflow_vs_none=<…>
# Usage: benchmarks/loggers_instructions.sh BUILD_DIR PYTHON [--steps N1] [--extra K]
#        (PYTHON: the LibTorch 2.x environment's, which has mlflow; with_mlflow_server.sh starts
#        the server unless MLFLOW_TRACKING_URI names one)
set -euo pipefail
build=$1 python=$2; shift 2
n1=100 extra=400
while [[ $# -gt 0 ]]; do
  case $1 in
    --steps) n1=$2; shift 2 ;;
    --extra) extra=$2; shift 2 ;;
    *) echo "usage: $0 BUILD_DIR PYTHON [--steps N1] [--extra K]" >&2; exit 2 ;;
  esac
done
bin=$(cd "$build/benchmarks" && pwd)/loggers
command -v valgrind > /dev/null || { echo "loggers_instructions.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
[[ -n ${MLFLOW_TRACKING_URI:-} ]] || exec "$(dirname "$0")/with_mlflow_server.sh" "$python" "$0" "$build" "$python" --steps "$n1" --extra "$extra"
n2=$((n1 + extra))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
norand=()
setarch "$(uname -m)" -R true 2> /dev/null && norand=(setarch "$(uname -m)" -R)

# ir WAY STEPS: instructions of one fit.
ir() {
  local out=$work/callgrind.$1.$2
  if ! "${norand[@]}" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
         "$bin" --only "$1" --steps "$2" --mlflow "$MLFLOW_TRACKING_URI" --dir "$work/logs" \
         > "$work/stdout.$1.$2" 2> "$work/stderr.$1.$2"; then
    echo "loggers_instructions.sh: $1 with $2 steps failed:" >&2
    tail -n 20 "$work/stderr.$1.$2" >&2
    exit 1
  fi
  local total
  total=$(awk '/^totals:/ {print $2}' "$out")
  [[ $total =~ ^[1-9][0-9]*$ ]] || { echo "loggers_instructions.sh: no instruction count in $out" >&2; exit 1; }
  echo "$total"
}

echo "loggers_instructions: $(valgrind --version), steps $n1 and $n2, log_every_n_steps 50, load: $(uptime | sed 's/.*load average: //')"
declare -A per_step
for way in none csv tensorboard mlflow; do
  start=$SECONDS
  a=$(ir "$way" "$n1")
  b=$(ir "$way" "$n2")
  per_step[$way]=$(awk -v a="$a" -v b="$b" -v k="$extra" 'BEGIN {printf "%.1f", (b - a) / k}')
  echo "  $way: Ir($n1 steps)=$a Ir($n2 steps)=$b -> ${per_step[$way]} instructions/step ($((SECONDS - start)) s)"
done
awk -v n="${per_step[none]}" -v c="${per_step[csv]}" -v t="${per_step[tensorboard]}" -v m="${per_step[mlflow]}" 'BEGIN {
  printf "instructions/step: none=%.1f csv=%+.1f tensorboard=%+.1f mlflow=%+.1f\n", n, c - n, t - n, m - n
  printf "RESULT loggers_instructions csv_vs_none=%.4f tensorboard_vs_none=%.4f mlflow_vs_none=%.4f\n", n / c, n / t, n / m
}'
