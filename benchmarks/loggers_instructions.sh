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
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/callgrind_common.sh
source "$here/callgrind_common.sh"
bin=$(cd "$build/benchmarks" && pwd)/loggers
require_valgrind loggers_instructions.sh
[[ -n ${MLFLOW_TRACKING_URI:-} ]] || exec "$here/with_mlflow_server.sh" "$python" "$0" "$build" "$python" --steps "$n1" --extra "$extra"
n2=$((n1 + extra))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ir WAY STEPS: instructions of one fit.
ir() {
  callgrind_total loggers_instructions.sh "$work/callgrind.$1.$2" no \
    "$bin" --only "$1" --steps "$2" --mlflow "$MLFLOW_TRACKING_URI" --dir "$work/logs"
}

echo "loggers_instructions: $(valgrind --version), steps $n1 and $n2, log_every_n_steps 50, load: $(uptime | sed 's/.*load average: //')"
declare -A per_step
for way in none csv tensorboard mlflow; do
  start=$SECONDS
  a=$(ir "$way" "$n1")
  b=$(ir "$way" "$n2")
  per_step[$way]=$(per_step "$a" "$b" "$extra")
  echo "  $way: Ir($n1 steps)=$a Ir($n2 steps)=$b -> ${per_step[$way]} instructions/step ($((SECONDS - start)) s)"
done
awk -v n="${per_step[none]}" -v c="${per_step[csv]}" -v t="${per_step[tensorboard]}" -v m="${per_step[mlflow]}" 'BEGIN {
  printf "instructions/step: none=%.1f csv=%+.1f tensorboard=%+.1f mlflow=%+.1f\n", n, c - n, t - n, m - n
  printf "RESULT loggers_instructions csv_vs_none=%.4f tensorboard_vs_none=%.4f mlflow_vs_none=%.4f\n", n / c, n / t, n / m
}'
