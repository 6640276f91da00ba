#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/compile/incremental.sh — the edit-compile loop: rebuild time after editing training_step.
#
# measure.sh times whole translation units; what a user waits for while working is the rebuild
# after changing one line of the model. This builds two small CMake projects in a scratch folder:
#   kiln  examples/01_minimal_fit.cpp, using kiln as README recommends for add_subdirectory:
#         linked to kiln::separate (KILN_SEPARATE_COMPILATION, <kiln/src.hpp> compiled once in
#         its own translation unit, kiln's library target)
#   twin  benchmarks/compile/raw_01_minimal_fit.cpp, the same program in plain LibTorch
# Release (-O3 -DNDEBUG), no ccache, Ninja when installed. Each is built once; then, RUNS times,
# the loss line of the training step is edited (the literal in `... * 1.0;` gets one more digit,
# so the text changes and the value does not) and `cmake --build` is timed: compile of the
# edited file + link, what the build tool decides to redo. Both programs are run once at the end
# (they must print test/acc). Then the same again with <torch/torch.h> precompiled in each
# project (target_precompile_headers), as kiln's own build does.
# Prints per-run seconds and
#   RESULT incremental kiln=<median s> twin=<median s> ratio=<kiln/twin>       (no PCH)
#   RESULT incremental_pch kiln=<median s> twin=<median s> ratio=<kiln/twin>   (torch.h precompiled)
# Usage: benchmarks/compile/incremental.sh [--runs N] [--no-pch-pass] [--keep DIR]
# Env: CXX (default g++). Builds one project at a time with -j 1 (2-core machine; one TU changes).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=3 pch_pass=1 keep=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --no-pch-pass) pch_pass=0; shift ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--no-pch-pass] [--keep DIR]" >&2; exit 2 ;;
  esac
done

if [[ -n $keep ]]; then
  mkdir -p "$keep"; scratch=$(cd "$keep" && pwd)
else
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
fi
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
export CXX=${CXX:-g++}

# The training step's loss line in each program, and the text that marks it as edited.
kiln_loss='auto loss = torch::cross_entropy_loss(forward(b.first), b.second)'
twin_loss='auto loss = torch::cross_entropy_loss(model.forward(x), y)'

# write_project DIR KIND PCH: sources and CMakeLists.txt of one project.
write_project() {
  local dir=$1 kind=$2 pch=$3
  mkdir -p "$dir"
  {
    echo "cmake_minimum_required(VERSION 3.21)"
    echo "project(incremental_$kind LANGUAGES CXX)"
    echo "set(CMAKE_CXX_STANDARD 20)"
    echo "set(CMAKE_CXX_STANDARD_REQUIRED ON)"
    if [[ $kind == kiln ]]; then
      echo "add_subdirectory(\"$root\" kiln)"
      echo "add_executable(app main.cpp)"
      echo "target_link_libraries(app PRIVATE kiln::separate)"
    else
      echo "find_package(Torch REQUIRED)"
      echo "add_executable(app main.cpp)"
      echo "target_link_libraries(app PRIVATE torch)"
    fi
    [[ $pch == 1 ]] && echo "target_precompile_headers(app PRIVATE <torch/torch.h>)"
  } > "$dir/CMakeLists.txt"
  if [[ $kind == kiln ]]; then cp "$root/examples/01_minimal_fit.cpp" "$dir/main.cpp"
  else cp "$here/raw_01_minimal_fit.cpp" "$dir/main.cpp"; fi
}

# edit DIR KIND ROUND: rewrites the loss line as `<loss> * 1.<ROUND+1 zeros>;`; fails if it did not.
edit() {
  local dir=$1 kind=$2 round=$3 line zeros
  zeros=$(printf '0%.0s' $(seq 0 "$round"))
  if [[ $kind == kiln ]]; then line=$kiln_loss; else line=$twin_loss; fi
  # shellcheck disable=SC2001
  sed -i "s|\($(sed 's/[][\.*^$]/\\&/g' <<< "$line")\)\( \* 1\.0*\)\{0,1\};|\1 * 1.$zeros;|" "$dir/main.cpp"
  grep -qF "$line * 1.$zeros;" "$dir/main.cpp" || { echo "incremental.sh: could not edit $dir/main.cpp" >&2; exit 1; }
}

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# measure KIND PCH: configure + full build, then `runs` timed rebuilds after an edit; echoes the median.
measure() {
  local kind=$1 pch=$2 dir=$scratch/$1_pch$2 r t0 t1 start
  local -a times=()
  write_project "$dir/src" "$kind" "$pch"
  edit "$dir/src" "$kind" 0
  start=$SECONDS
  cmake -S "$dir/src" -B "$dir/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_COMPILER_LAUNCHER= > "$dir/configure.log" 2>&1 \
    || { echo "incremental.sh: configuring $kind failed:" >&2; tail -n 30 "$dir/configure.log" >&2; exit 1; }
  cmake --build "$dir/build" -j 1 > "$dir/build.log" 2>&1 \
    || { echo "incremental.sh: building $kind failed:" >&2; tail -n 30 "$dir/build.log" >&2; exit 1; }
  echo "  $kind (pch=$pch): configured and built in $((SECONDS - start)) s" >&2
  for ((r = 1; r <= runs; ++r)); do
    edit "$dir/src" "$kind" "$r"
    t0=$(now)
    cmake --build "$dir/build" -j 1 > "$dir/rebuild.log" 2>&1 \
      || { echo "incremental.sh: rebuilding $kind failed:" >&2; tail -n 30 "$dir/rebuild.log" >&2; exit 1; }
    t1=$(now)
    # The rebuild must have compiled main.cpp (and nothing else heavy): the build tool says what it ran.
    grep -q 'main\.cpp\.o' "$dir/rebuild.log" || { echo "incremental.sh: $kind rebuild did not compile main.cpp" >&2; exit 1; }
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')")
  done
  if ! out=$(cd "$dir/build" && ./app 2>/dev/null) || ! grep -q 'test/acc' <<< "$out"; then
    echo "incremental.sh: the rebuilt $kind program did not print test/acc" >&2; exit 1
  fi
  echo "  $kind (pch=$pch) rebuilds: ${times[*]} s; its run: $(grep 'test/acc' <<< "$out")" >&2
  median "${times[@]}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
echo "incremental.sh: $("$CXX" --version | head -n1), ${generator[*]:-default generator}, $runs rebuilds each," \
     "load: $(uptime | sed 's/.*load average: //')" >&2
k=$(measure kiln 0) t=$(measure twin 0)
echo "RESULT incremental kiln=$k twin=$t ratio=$(ratio "$k" "$t")"
if [[ $pch_pass == 1 ]]; then
  k=$(measure kiln 1) t=$(measure twin 1)
  echo "RESULT incremental_pch kiln=$k twin=$t ratio=$(ratio "$k" "$t")"
fi
echo "load after: $(uptime | sed 's/.*load average: //')" >&2
