# Two "physical hosts", a and b, for the multi-host benchmarks (sourced by bench/migration.sh and
# bench/private-network.sh): each a network namespace with one veth link into a bridge that lives in a namespace of its
# own (the switch), plus one port for the root namespace (the front-end's side). Addresses in a random 10.77.N.0/24,
# names under a random prefix, so that runs side by side do not collide; nothing leaves the machine.
# Sets SUBNET, P (prefix), SW (the switch's namespace), ROOTIP and IP[a], IP[b]; defines in_ns HOST CMD...,
# hosts_network_up and hosts_network_down (which also kills whatever still runs in the hosts' namespaces).
SUBNET="10.77.$((RANDOM % 200 + 20))"
P="v$((RANDOM % 90000 + 10000))"
SW="${P}sw"
ROOTIP="$SUBNET.1"
declare -A IP=([a]="$SUBNET.2" [b]="$SUBNET.3")

in_ns() { local h=$1; shift; ip netns exec "$P$h" "$@"; }

hosts_network_up() {
  ip netns add "$SW"
  ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up
  ip link add "${P}root" type veth peer name p-root netns "$SW"
  ip addr add "$ROOTIP/24" dev "${P}root" && ip link set "${P}root" up
  ip -n "$SW" link set p-root master br0 && ip -n "$SW" link set p-root up
  local h
  for h in a b; do
    ip netns add "$P$h"
    ip link add eth0 netns "$P$h" type veth peer name "p-$h" netns "$SW"
    ip -n "$P$h" addr add "${IP[$h]}/24" dev eth0
    ip -n "$P$h" link set eth0 up && ip -n "$P$h" link set lo up
    ip -n "$SW" link set "p-$h" master br0 && ip -n "$SW" link set "p-$h" up
  done
}

hosts_network_down() {
  local ns i
  for ns in "${P}a" "${P}b"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null; done
  for ((i = 0; i < 50; i++)); do
    [ -z "$(for ns in "${P}a" "${P}b"; do ip netns pids "$ns" 2>/dev/null; done)" ] && break
    sleep 0.2
  done
  for ns in "${P}a" "${P}b"; do ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null; done
  ip netns del "${P}a" 2>/dev/null; ip netns del "${P}b" 2>/dev/null; ip netns del "$SW" 2>/dev/null
  ip link del "${P}root" 2>/dev/null
  return 0
}
