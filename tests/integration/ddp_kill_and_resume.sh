#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/ddp_kill_and_resume.sh PROBE WORK_DIR — a killed two-rank DDP run resumed from "last" ends bit-identical.
# kiln_ddp_probe with --every-step writes OUT.ckpt/last.pt after every optimizer step and resumes
# from "last". Rank 1 is SIGKILLed after step 13 (mid-epoch); rank 0 must end by the lost-rank
# detection, naming rank 1. Both ranks then start again and resume from last.pt; rank 0's final
# parameters must equal those of an uninterrupted two-rank run exactly (tolerance 0).
set -uo pipefail
probe=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
export MASTER_ADDR=127.0.0.1 OMP_NUM_THREADS=1
fail() { echo "ddp kill and resume: $*" >&2; exit 1; }
port() { echo $((20000 + RANDOM % 20000)); }
# two_ranks NAME ARGS...: runs both ranks; their statuses in s0 and s1, output in NAME.{0,1}.{out,err}
two_ranks() {
  local name=$1
  shift
  P=$(port)
  WORLD_SIZE=2 MASTER_PORT=$P RANK=0 "$probe" "$@" > "$dir/$name.0.out" 2> "$dir/$name.0.err" & p0=$!
  WORLD_SIZE=2 MASTER_PORT=$P RANK=1 "$probe" "$@" > "$dir/$name.1.out" 2> "$dir/$name.1.err" & p1=$!
  wait $p0; s0=$?
  wait $p1; s1=$?
}

two_ranks straight --every-step --timeout 30 "$dir/straight.pt"
((s0 == 0 && s1 == 0)) || fail "the uninterrupted run: statuses $s0 and $s1: $(cat "$dir"/straight.*.err)"
two_ranks killed --every-step --die-at 13 --timeout 30 "$dir/resumed.pt"
((s0 != 0 && s1 == 137)) || fail "the killed run: statuses $s0 and $s1 (want non-zero and 137)"
grep -qF "Lost: rank 1" "$dir/killed.0.err" || fail "rank 0 did not name the lost rank: $(cat "$dir/killed.0.err")"
[ -f "$dir/resumed.pt.ckpt/last.pt" ] || fail "no last.pt after the kill"
two_ranks resumed --every-step --timeout 30 "$dir/resumed.pt"
((s0 == 0 && s1 == 0)) || fail "the resumed run: statuses $s0 and $s1: $(cat "$dir"/resumed.*.err)"
"$probe" --compare "$dir/straight.pt" "$dir/resumed.pt" 0 || fail "the resumed run's parameters differ from the uninterrupted run's"
echo "ddp kill and resume: rank 1 killed after step 13, rank 0 stopped by the lost-rank detection, both resumed from last: bit-identical to the uninterrupted two-rank run"
