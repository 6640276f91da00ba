#!/usr/bin/env bash
# DDP faults end with a clear error and a non-zero status, never a hang: a rank killed mid-fit,
# in validation, rank 0 (the store's host) killed, a rendezvous port already in use, ranks that
# disagree on WORLD_SIZE, ranks with different models.
set -uo pipefail
probe=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
export MASTER_ADDR=127.0.0.1 OMP_NUM_THREADS=1
fail() { echo "ddp faults: $*" >&2; exit 1; }
port() { echo $((20000 + RANDOM % 20000)); }
# expect FILE TEXT: the file holds TEXT
expect() { grep -qF -- "$2" "$1" || { echo "--- $1:"; cat "$1"; fail "$1 lacks: $2"; }; }

# 1. rank 1 dies (SIGKILL) after step 5: rank 0 names it and exits non-zero well within the timeout
P=$(port); start=$SECONDS
WORLD_SIZE=2 MASTER_PORT=$P RANK=0 "$probe" --die-at 5 --timeout 30 "$dir/x.pt" 2> "$dir/lost0.err" & p0=$!
WORLD_SIZE=2 MASTER_PORT=$P RANK=1 "$probe" --die-at 5 --timeout 30 "$dir/x.pt" 2> "$dir/lost1.err" & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 != 0 && s1 == 137)) || fail "lost rank: statuses $s0 and $s1 (want non-zero and 137)"
expect "$dir/lost0.err" "Lost: rank 1"
echo "ok: a lost rank is named by rank 0 after $((SECONDS - start)) s (timeout 30 s)"

# 1b. rank 1 dies in the middle of a validation: rank 0 fails at the validation's synced means
P=$(port); start=$SECONDS
WORLD_SIZE=2 MASTER_PORT=$P RANK=0 "$probe" --die-in-val 5 --timeout 30 "$dir/x.pt" 2> "$dir/val0.err" & p0=$!
WORLD_SIZE=2 MASTER_PORT=$P RANK=1 "$probe" --die-in-val 5 --timeout 30 "$dir/x.pt" 2> /dev/null & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 != 0 && s1 == 137)) || fail "rank lost in validation: statuses $s0 and $s1 (want non-zero and 137)"
expect "$dir/val0.err" "Lost: rank 1"
echo "ok: a rank lost in validation is named by rank 0 after $((SECONDS - start)) s"

# 1c. rank 0, which hosts the rendezvous store, dies after step 5: rank 1 names it
P=$(port); start=$SECONDS
WORLD_SIZE=2 MASTER_PORT=$P RANK=0 "$probe" --die-at 5 --die-rank 0 --timeout 30 "$dir/x.pt" 2> /dev/null & p0=$!
WORLD_SIZE=2 MASTER_PORT=$P RANK=1 "$probe" --die-at 5 --die-rank 0 --timeout 30 "$dir/x.pt" 2> "$dir/zero1.err" & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 == 137 && s1 != 0)) || fail "lost rank 0: statuses $s0 and $s1 (want 137 and non-zero)"
expect "$dir/zero1.err" "Lost: rank 0"
echo "ok: a lost rank 0 is named by rank 1 after $((SECONDS - start)) s"

# 2. the rendezvous port is taken: the second rank 0 fails at once, naming the address
P=$(port)
WORLD_SIZE=2 MASTER_PORT=$P RANK=0 "$probe" --timeout 20 "$dir/x.pt" 2> /dev/null & holder=$!
# wait until the first one listens (a loaded machine may take seconds to start it)
for ((i = 0; i < 200; i++)); do
  [[ -n $(ss -Hltn "sport = :$P" 2> /dev/null) ]] && break
  sleep 0.1
done
[[ -n $(ss -Hltn "sport = :$P" 2> /dev/null) ]] || fail "port in use: the first rank 0 never listened on $P"
WORLD_SIZE=2 MASTER_PORT=$P RANK=0 timeout 15 "$probe" --timeout 20 "$dir/x.pt" 2> "$dir/port.err"; s=$?
kill $holder 2> /dev/null; wait $holder 2> /dev/null
((s != 0 && s != 124)) || fail "port in use: status $s"
expect "$dir/port.err" "127.0.0.1:$P"
echo "ok: a port in use: $(head -c 160 "$dir/port.err")"

# 3. WORLD_SIZE differs between ranks
P=$(port)
WORLD_SIZE=2 MASTER_PORT=$P RANK=0 timeout 60 "$probe" --timeout 20 "$dir/x.pt" 2> "$dir/ws0.err" & p0=$!
WORLD_SIZE=3 MASTER_PORT=$P RANK=1 timeout 60 "$probe" --timeout 20 "$dir/x.pt" 2> "$dir/ws1.err" & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 != 0 && s0 != 124 && s1 != 0 && s1 != 124)) || fail "wrong WORLD_SIZE: statuses $s0 and $s1"
expect "$dir/ws1.err" "rank 1 has WORLD_SIZE=3, but rank 0 has WORLD_SIZE=2"
expect "$dir/ws0.err" "rank 0 has WORLD_SIZE=2, but rank 1 has WORLD_SIZE=3"
echo "ok: a wrong WORLD_SIZE is named on both ranks"

# 4. the ranks build different models
P=$(port)
WORLD_SIZE=2 MASTER_PORT=$P RANK=0 timeout 60 "$probe" --hidden 32 --timeout 20 "$dir/x.pt" 2> "$dir/shape0.err" & p0=$!
WORLD_SIZE=2 MASTER_PORT=$P RANK=1 timeout 60 "$probe" --hidden 16 --timeout 20 "$dir/x.pt" 2> "$dir/shape1.err" & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
((s0 != 0 && s0 != 124 && s1 != 0 && s1 != 124)) || fail "different models: statuses $s0 and $s1"
expect "$dir/shape0.err" "rank 1 has a model with other parameter shapes than rank 0"
echo "ok: different models are named"
echo "ddp faults: all six end with clear errors"
