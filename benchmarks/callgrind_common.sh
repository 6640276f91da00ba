# SPDX-License-Identifier: Apache-2.0
# benchmarks/callgrind_common.sh — sourced by the *_instructions.sh scripts: counts a program's
# instructions under valgrind's callgrind, repeatably.
#
# One thread everywhere (OpenMP, OpenBLAS, LibTorch): with a second thread, spinning and
# scheduling would change the count from run to run. Address-space randomisation off where the
# kernel allows it, so hash tables keyed by pointers probe alike in every run.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
norand=()
setarch "$(uname -m)" -R true 2> /dev/null && norand=(setarch "$(uname -m)" -R)

# require_valgrind SCRIPT: exits with a line naming SCRIPT when valgrind is missing.
require_valgrind() {
  command -v valgrind > /dev/null || { echo "$1: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
}

# callgrind_total SCRIPT OUT INSTR_AT_START CMD...: runs CMD under callgrind (its stdout in
# OUT.stdout, stderr in OUT.stderr) and prints the instructions it executed; exits naming SCRIPT
# when CMD fails or no count came. callgrind's output file ends with "totals: <Ir>" (its
# "summary:" line near the top stays 0 when instrumentation starts late).
callgrind_total() {
  local script=$1 out=$2 at_start=$3 total
  shift 3
  if ! "${norand[@]}" valgrind --tool=callgrind --instr-atstart="$at_start" --callgrind-out-file="$out" "$@" \
         > "$out.stdout" 2> "$out.stderr"; then
    echo "$script: $(basename "$1") ${*:2} failed:" >&2
    tail -n 20 "$out.stderr" >&2
    exit 1
  fi
  total=$(awk '/^totals:/ {print $2}' "$out")
  [[ $total =~ ^[1-9][0-9]*$ ]] || { echo "$script: no instruction count in $out" >&2; exit 1; }
  echo "$total"
}

# per_step A B K: (B - A) / K, one decimal: a step's instructions from two runs K steps apart.
per_step() { awk -v a="$1" -v b="$2" -v k="$3" 'BEGIN {printf "%.1f", (b - a) / k}'; }
