#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/ddp_scaling.sh — Fashion-MNIST CNN throughput with 1 and 2 processes (one intra-op
# thread each): kiln's Strategy<DDP> (build/benchmarks/ddp_scaling, kiln's own launcher) and
# PyTorch's Python DDP (benchmarks/ddp_scaling.py, Debian's python3-torch), interleaved.
# Usage: benchmarks/ddp_scaling.sh [BUILD_DIR] [--steps S] [--batch B] [--repeats R]
# Prints medians and: RESULT ddp_scaling kiln_2v1=<x> torch_python_2v1=<y>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}; [[ $# -gt 0 && $1 != --* ]] && shift
steps=60 batch=64 repeats=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    *) echo "usage: $0 [BUILD_DIR] [--steps S] [--batch B] [--repeats R]" >&2; exit 2 ;;
  esac
done
bin=$build/benchmarks/ddp_scaling
py=/usr/bin/python3
have_torch=1
$py -c 'import torch' 2> /dev/null || have_torch=0
rate() { sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
k1=() k2=() k2n=() p1=() p2=()
for ((r = 0; r < repeats; r++)); do
  k1+=("$(OMP_NUM_THREADS=1 "$bin" --devices 1 --steps "$steps" --batch "$batch" | rate)")
  k2+=("$(OMP_NUM_THREADS=1 "$bin" --devices 2 --steps "$steps" --batch "$batch" | rate)")
  k2n+=("$(OMP_NUM_THREADS=1 "$bin" --devices 2 --steps "$steps" --batch "$batch" --overlap 0 | rate)")
  if ((have_torch)); then
    p1+=("$(OMP_NUM_THREADS=1 $py "$here/ddp_scaling.py" 1 "$steps" "$batch" | rate)")
    p2+=("$(OMP_NUM_THREADS=1 $py "$here/ddp_scaling.py" 2 "$steps" "$batch" | rate)")
  fi
done
K1=$(printf '%s\n' "${k1[@]}" | median) K2=$(printf '%s\n' "${k2[@]}" | median) K2N=$(printf '%s\n' "${k2n[@]}" | median)
echo "kiln samples/s: 1 process $K1, 2 processes $K2 (runs: ${k1[*]} | ${k2[*]})"
echo "kiln samples/s, 2 processes, all-reduce after backward instead of overlapped: $K2N (runs: ${k2n[*]})"
if ((have_torch)); then
  P1=$(printf '%s\n' "${p1[@]}" | median) P2=$(printf '%s\n' "${p2[@]}" | median)
  echo "torch_python samples/s: 1 process $P1, 2 processes $P2 (runs: ${p1[*]} | ${p2[*]})"
  echo "RESULT ddp_scaling kiln_2v1=$(awk -v a="$K2" -v b="$K1" 'BEGIN{printf "%.3f", a/b}') torch_python_2v1=$(awk -v a="$P2" -v b="$P1" 'BEGIN{printf "%.3f", a/b}') kiln_vs_torch_python_2=$(awk -v a="$K2" -v b="$P2" 'BEGIN{printf "%.3f", a/b}') overlap_vs_after=$(awk -v a="$K2" -v b="$K2N" 'BEGIN{printf "%.3f", a/b}')"
else
  echo "RESULT ddp_scaling kiln_2v1=$(awk -v a="$K2" -v b="$K1" 'BEGIN{printf "%.3f", a/b}') torch_python_2v1=unavailable (no torch for $py)"
fi
