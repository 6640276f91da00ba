#!/usr/bin/env bash
# The multi-node path: two network namespaces joined by a veth pair, one rank in each, rendezvous
# and Gloo traffic over the veth addresses (10.77.0.1 and 10.77.0.2), not loopback. Needs root
# and iproute2 (CI runs as root); where namespaces cannot be made, it is skipped, saying why.
set -uo pipefail
probe=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
a=kiln_a_$$ b=kiln_b_$$
cleanup() { ip netns del "$a" 2> /dev/null; ip netns del "$b" 2> /dev/null; }
trap cleanup EXIT
if ! command -v ip > /dev/null || ! ip netns add "$a" 2> "$dir/netns.err"; then
  echo "SKIPPED: cannot create network namespaces here ($(cat "$dir/netns.err" 2> /dev/null || echo 'no ip command'))"
  exit 0
fi
set -e
ip netns add "$b"
ip link add "va$$" type veth peer name "vb$$"
ip link set "va$$" netns "$a"
ip link set "vb$$" netns "$b"
ip -n "$a" addr add 10.77.0.1/24 dev "va$$"
ip -n "$b" addr add 10.77.0.2/24 dev "vb$$"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set "va$$" up
ip -n "$b" link set "vb$$" up
set +e
export OMP_NUM_THREADS=1 WORLD_SIZE=2 MASTER_ADDR=10.77.0.1 MASTER_PORT=29511
"$probe" "$dir/one.pt" > /dev/null || { echo "two hosts: one rank failed" >&2; exit 1; }
ip netns exec "$a" env RANK=0 LOCAL_RANK=0 GLOO_SOCKET_IFNAME="va$$" "$probe" "$dir/two.pt" > "$dir/a.out" 2>&1 & p0=$!
ip netns exec "$b" env RANK=1 LOCAL_RANK=0 GLOO_SOCKET_IFNAME="vb$$" "$probe" "$dir/two.pt" > "$dir/b.out" 2>&1 & p1=$!
wait $p0; s0=$?; wait $p1; s1=$?
if ((s0 != 0 || s1 != 0)); then
  cat "$dir/a.out" "$dir/b.out" >&2
  echo "two hosts: exit statuses $s0 and $s1" >&2
  exit 1
fi
unset WORLD_SIZE
"$probe" --compare "$dir/two.pt" "$dir/one.pt" || exit 1
echo "ddp two hosts: ranks in two network namespaces over veth equal one rank"
