#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/compile/ab.sh — compile time of this tree's kiln against another revision's, interleaved.
#
# A change's effect on compile time is often smaller than the swing of one machine between two
# runs of measure.sh. This compiles both trees in the same rounds, one file at a time, with
# measure.sh's flags (g++ -c, no precompiled header, no ccache): per round the twin
# (raw_01_minimal_fit.cpp), then for each tree examples/01_minimal_fit.cpp header-only and with
# KILN_SEPARATE_COMPILATION, and <kiln/src.hpp>. Odd rounds compile the other revision first, even
# rounds this tree first, so an order effect shows as a difference between the two kinds of round.
# Prints one line per compile (`round order TU seconds text=<bytes of .text>`, plus ggc=<GCC's
# memory total> under EXTRA_FLAGS=-ftime-report), then the medians and
#   RESULT compile_ab base=<rev> header_only_vs_twin=<base>→<this> separate_vs_twin=<base>→<this>
# ("this" is the working tree, uncommitted edits included: the RESULT line names it by
# `git describe --always --dirty`.)
# Usage: benchmarks/compile/ab.sh REV [--rounds N]   (REV: a git revision; N default 4)
# Env: CXX (default g++), EXTRA_FLAGS (appended, e.g. -ftime-report).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 REV [--rounds N]" >&2; exit 2; }
rev=$1; shift
rounds=4
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=${2:-}; shift $(($# > 1 ? 2 : 1)) ;;
    *) echo "usage: $0 REV [--rounds N]" >&2; exit 2 ;;
  esac
done

# shellcheck source=benchmarks/compile/flags.sh
source "$here/flags.sh"  # cxx, flags, extra_flags
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ab.sh: --rounds takes a number of rounds, 1 or more (got '$rounds')" >&2; exit 2; }
this=$(git -C "$root" describe --always --dirty)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/base"
git -C "$root" archive "$rev" include examples/01_minimal_fit.cpp | tar -x -C "$scratch/base" \
  || { echo "ab.sh: cannot read revision $rev of $root" >&2; exit 2; }
echo '#include <kiln/src.hpp>' > "$scratch/src.cpp"

# compile ROUND ORDER NAME TREE FILE [FLAGS...]: one timed g++ -c, its line on stdout.
compile() {
  local round=$1 order=$2 name=$3 tree=$4 file=$5; shift 5
  local start end ggc
  start=$EPOCHREALTIME
  if ! "$cxx" "${flags[@]}" -I "$tree/include" "${extra_flags[@]}" "$@" -c "$file" -o "$scratch/$name.o" \
      2> "$scratch/$name.err"; then
    echo "ab.sh: $name failed to compile:" >&2
    head -20 "$scratch/$name.err" >&2
    exit 1
  fi
  end=$EPOCHREALTIME
  ggc=$(awk '/^ TOTAL/ { print " ggc=" $NF }' "$scratch/$name.err")
  printf '%s %s %s %s text=%s%s\n' "$round" "$order" "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')" \
    "$(size "$scratch/$name.o" | awk 'NR == 2 { print $1 }')" "$ggc"
}

tree_of() { if [[ $1 == base ]]; then echo "$scratch/base"; else echo "$root"; fi; }

results=$scratch/results
for ((r = 1; r <= rounds; ++r)); do
  if ((r % 2)); then sides=(base this) order=base-first; else sides=(this base) order=this-first; fi
  compile "$r" "$order" twin "$root" "$here/raw_01_minimal_fit.cpp" | tee -a "$results"
  for side in "${sides[@]}"; do
    tree=$(tree_of "$side")
    compile "$r" "$order" "${side}_header_only" "$tree" "$tree/examples/01_minimal_fit.cpp" | tee -a "$results"
    compile "$r" "$order" "${side}_separate" "$tree" "$tree/examples/01_minimal_fit.cpp" \
      -DKILN_SEPARATE_COMPILATION | tee -a "$results"
    compile "$r" "$order" "${side}_src" "$tree" "$scratch/src.cpp" -DKILN_SEPARATE_COMPILATION | tee -a "$results"
  done
done

python3 - "$results" "$rev" "$this" <<'EOF'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    _, _, name, seconds = line.split()[:4]
    times.setdefault(name, []).append(float(seconds))
median = {name: statistics.median(v) for name, v in times.items()}
for name, v in times.items():
    print(f"median {name} {median[name]:.2f} s (min {min(v):.2f}, max {max(v):.2f}, {len(v)} runs)")
ratio = lambda side, kind: median[f"{side}_{kind}"] / median["twin"]
print(f"RESULT compile_ab base={sys.argv[2]} this={sys.argv[3]} "
      f"header_only_vs_twin={ratio('base', 'header_only'):.3f}→{ratio('this', 'header_only'):.3f} "
      f"separate_vs_twin={ratio('base', 'separate'):.3f}→{ratio('this', 'separate'):.3f}")
EOF
