#!/usr/bin/env bash
# Benchmark (issue 16): round-trip time and throughput on a buyer's private network, side by side in one run:
#   same-host    two guests on one host, through the host's bridge
#   overlay      two guests on two hosts, through the bridges and VXLAN between the hosts
#   veth         the two hosts' own addresses, the bare veth link the overlay runs on (no guest, no VXLAN)
# The hosts are two provider agents, each in its own network namespace joined through a virtual switch (veth pairs),
# as in bench/migration.sh; the guests are the project's linux-busybox image under QEMU (TCG unless KVM works), looked
# into over SSH. The same busybox tools measure every pair: `ping -A -c N -q` (round trip, adaptive: the next ping as
# soon as the reply is in) and `wget -O /dev/null` of a file served by `httpd` (throughput, the median of the rounds).
# Ratios are to veth. Writes a Markdown table to stdout and to build/bench-private-network/results-<date>.md.
#
# Usage: bench/private-network.sh
#        BENCH_SMOKE=1 bench/private-network.sh   (smoke test: 10 pings and one 4 MB transfer per pair; every pair
#          must answer, and a second buyer's guest with the same subnet must reach none; exits non-zero on any failure)
# Needs root (network namespaces, bridges, VXLAN).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
SMOKE=${BENCH_SMOKE:-0}
[ "$(id -u)" -eq 0 ] || die "the private-network benchmark needs root for network namespaces"
if [ "$SMOKE" = 1 ]; then PINGS=10 FILE_MB=4 ROUNDS=1; else PINGS=${PINGS:-200} FILE_MB=${FILE_MB:-64} ROUNDS=${ROUNDS:-5}; fi
VETH_MB=$((FILE_MB * 32)) # the bare link is ~30 times faster: a transfer long enough to time well

require_dotnet
install_packages "${RUN_PACKAGES[@]}"
build_guest_image
build_apps

OUT="$ROOT/build/bench-private-network"
mkdir -p "$OUT"
W=$(mktemp -d /tmp/vbench-net.XXXXXX)
RESULTS="$OUT/results-$(date -u +%Y%m%d-%H%M%S).md"
[ "$SMOKE" = 1 ] && RESULTS="$OUT/smoke.md"
source "$ROOT/bench/hosts-network.sh"
FE_PORT=5191
FE="http://127.0.0.1:$FE_PORT"
pids=()

cleanup() {
  local rc=$? f ns
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for f in "$W"/*/machines/*/qemu.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  pkill -f -- "--data $W/" 2>/dev/null # agents started through ip netns exec
  hosts_network_down
  jobs -pr | xargs -r kill -9 2>/dev/null
  wait 2>/dev/null
  mkdir -p "${RESULTS%.md}-logs" && cp "$W"/*.log "${RESULTS%.md}-logs/" 2>/dev/null
  if [ "$rc" -ne 0 ]; then
    show_logs "$W"
  fi
  rm -rf "$W"
}
trap cleanup EXIT

# --- the network: a bridge in its own namespace, one port for the front-end (root namespace), one per host ---
hosts_network_up

# --- the marketplace: front-end here, one agent per namespace, private networks on ---
say "starting the front-end and the agents a (${IP[a]}) and b (${IP[b]})"
env VIRTUOSO_DATA="$W/fe" VIRTUOSO_BILLING_INTERVAL=3600 Virtuoso__VmmpListen="$ROOTIP:7100" \
  Virtuoso__ImagesDirectory="$ROOT/build/images" Virtuoso__AgentFacingUrl="http://$ROOTIP:$FE_PORT" \
  Virtuoso__HostMonitorIntervalSeconds=1 Virtuoso__AllowPrivateHostAddresses=true Virtuoso__AllowCleartextAgents=true Logging__LogLevel__Default=Warning \
  dotnet build/frontend/virtuoso-frontend.dll --urls "$FE;http://$ROOTIP:$FE_PORT" >>"$W/frontend.log" 2>&1 &
pids+=($!)
wait_http "$FE/healthz" 60 || die "the front-end did not start; see $W/frontend.log"
for h in a b; do
  mkdir -p "$W/$h"
  head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$W/$h/secret"
  in_ns "$h" dotnet build/agent/virtuoso-agent.dll --name "$h" --urls "http://${IP[$h]}:7001" --data "$W/$h" \
    --secret-file "$W/$h/secret" --vmmp-port 7101 --forward-address "${IP[$h]}" --private-networks on \
    >>"$W/$h.log" 2>&1 &
  pids+=($!)
  wait_http "http://${IP[$h]}:7001/v1/health" 60 || die "agent $h did not start; see $W/$h.log"
done

cli() { VIRTUOSO_HOME="$W/cli-$1" ./virtuoso --server "$FE" "${@:2}"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
cli p signup bench-provider --password bench-provider-pass --email p@example.com --provider >/dev/null
cli p login bench-provider --password bench-provider-pass >/dev/null
port=42000
for h in a b; do
  cli p host add "$h" --address "${IP[$h]}" --port 7001 --processor x86_64 --speed 10000 --speed-unit 1000 \
    --speed-price 0.00001 --memory 8192 --memory-unit 4 --memory-price 0.00001 --running-period 3600 --storage 40000 \
    --storage-unit 100 --storage-price 0.01 --storage-period 30 --connect-speed 1Gbps --secret "$(cat "$W/$h/secret")" \
    --public-address "${IP[$h]}" --ports "$port-$((port + 49))" >/dev/null
  port=$((port + 100))
done
ssh-keygen -q -t ed25519 -N "" -C bench -f "$W/key"
declare -A ID ADDR SSH_AT SSH_PORT
machine() { # user name host: register, store, start
  local id
  id=$(cli "$1" --json register --config linux-busybox --name "$2" --speed 2500 --storage-bid 1000 --running-bid 100 | json 'd["id"]')
  cli "$1" store "$id" --host "$3" >/dev/null
  cli "$1" start "$id" >/dev/null
  ID[$2]=$id
}
for u in u v; do
  cli "$u" signup "bench-buyer-$u" --password bench-buyer-pass --email "$u@example.com" --buyer >/dev/null
  cli "$u" login "bench-buyer-$u" --password bench-buyer-pass >/dev/null
  cli "$u" keys add bench --file "$W/key.pub" >/dev/null
done
machine u g1 a
machine u g2 a
machine u g3 b
machine v x1 a # another buyer, the same default subnet, on the same host as g1 and g2
for g in g1 g2 g3 x1; do
  user=u; [ "$g" = x1 ] && user=v
  m=$(cli "$user" --json machine "${ID[$g]}")
  ADDR[$g]=$(json 'd["privateAddress"]' <<<"$m")
  SSH_AT[$g]=$(json 'd["ssh"]["address"]' <<<"$m")
  SSH_PORT[$g]=$(json 'd["ssh"]["port"]' <<<"$m")
done
gssh() { # guest command...
  local g=$1; shift
  ssh -p "${SSH_PORT[$g]}" -i "$W/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    -o IdentitiesOnly=yes -o LogLevel=ERROR -o ConnectTimeout=5 "root@${SSH_AT[$g]}" "$@"
}
say "waiting for the guests to boot and take their private addresses"
for g in g1 g2 g3 x1; do
  for ((i = 0; ; i++)); do
    gssh "$g" "ip -o -4 addr show | grep -qF ' ${ADDR[$g]}/'" 2>/dev/null && break
    [ "$i" -lt 150 ] || die "guest $g did not come up with ${ADDR[$g]} within 150 s"
    sleep 1
  done
done

# --- the measurements ---
# rtt_avg FROM-KIND FROM TO: the average round trip in ms over $PINGS adaptive pings.
rtt() {
  local out
  if [ "$1" = guest ]; then out=$(gssh "$2" "ping -A -q -c $PINGS $3")
  else out=$(in_ns "$2" busybox ping -A -q -c "$PINGS" "$3"); fi
  sed -n 's#.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*#\1#p' <<<"$out"
}
# serve KIND WHERE: a sparse file (read as zeros from the page cache, never from a disk) served by busybox httpd on
# port 8000: $FILE_MB MB in a guest, $VETH_MB MB on a host.
serve() {
  if [ "$1" = guest ]; then gssh "$2" "mkdir -p /tmp/www && truncate -s ${FILE_MB}M /tmp/www/blob && busybox httpd -p 8000 -h /tmp/www"
  else mkdir -p "$W/www-$2" && truncate -s "${VETH_MB}M" "$W/www-$2/blob" && in_ns "$2" busybox httpd -p 8000 -h "$W/www-$2"; fi
}
# fetch_seconds KIND FROM TO: wall time of one wget of the file. In a guest as busybox's `time` says it ("real 0m 1.23s",
# to 10 ms: transfers of half a second or more); on a host from the clock in nanoseconds.
fetch_seconds() {
  local out t0
  if [ "$1" = guest ]; then
    out=$(gssh "$2" "time wget -q -O /dev/null http://$3:8000/blob" 2>&1)
    awk '/^real/ { v = $2 " " $3; gsub(/s/, "", v); split(v, p, "m"); print p[1] * 60 + p[2] }' <<<"$out"
  else
    t0=$(date +%s%N)
    in_ns "$2" busybox wget -q -O /dev/null "http://$3:8000/blob" || return 0
    awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
  fi
}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

serve guest g2; serve guest g3; serve ns b
declare -A RTT MBPS
measure() { # label kind from to
  local r s i times=""
  r=$(rtt "$2" "$3" "$4")
  [ -n "$r" ] || die "$1: $3 did not reach $4"
  for ((i = 0; i < ROUNDS; i++)); do
    s=$(fetch_seconds "$2" "$3" "$4")
    [ -n "$s" ] || die "$1: the transfer from $4 to $3 failed"
    times="$times $s"
  done
  s=$(echo $times | median)
  RTT[$1]=$r
  local mb=$FILE_MB
  [ "$2" = ns ] && mb=$VETH_MB
  MBPS[$1]=$(awk -v mb="$mb" -v s="$s" 'BEGIN { printf "%.1f", (s > 0 ? mb * 8.388608 / s : 0) }')
  say "$1: rtt ${RTT[$1]} ms, ${MBPS[$1]} Mbit/s (median of $ROUNDS: $times s)"
}
say "measuring: $PINGS pings and $ROUNDS transfer(s) per pair ($FILE_MB MiB between guests, $VETH_MB MiB on veth)"
measure same-host guest g1 "${ADDR[g2]}"
measure overlay guest g1 "${ADDR[g3]}"
measure veth ns a "${IP[b]}"

# Isolation, every run: the other buyer's guest on the same host and subnet reaches none of them.
for g in g1 g2 g3; do
  [ "${ADDR[$g]}" = "${ADDR[x1]}" ] && continue
  if gssh x1 "ping -c 2 -W 2 ${ADDR[$g]}" >/dev/null 2>&1; then die "another buyer's guest reached $g at ${ADDR[$g]}"; fi
done
say "isolation: another buyer's guest (${ADDR[x1]}) reached none of g1, g2, g3"

accel=$(curl -fsS -H "Authorization: Bearer $(cat "$W/a/secret")" "http://${IP[a]}:7001/v1/health" --noproxy '*' | json 'd["accelerator"]' || echo "?")
{
  echo "### Private network: round trip and throughput ($(date -u +%Y-%m-%d), accelerator $accel)"
  echo
  echo "Command: \`$([ "$SMOKE" = 1 ] && echo "BENCH_SMOKE=1 ")bench/private-network.sh\` ($PINGS pings; median of $ROUNDS transfers of $FILE_MB MiB between guests, $VETH_MB MiB on veth)"
  echo
  echo "| pair | round trip (ms) | ÷ veth | throughput (Mbit/s) | ÷ veth |"
  echo "|---|---:|---:|---:|---:|"
  for k in same-host overlay veth; do
    awk -v k="$k" -v r="${RTT[$k]}" -v rv="${RTT[veth]}" -v t="${MBPS[$k]}" -v tv="${MBPS[veth]}" \
      'BEGIN { printf "| %s | %.3f | %.1f | %.1f | %.3f |\n", k, r, (rv > 0 ? r / rv : 0), t, (tv > 0 ? t / tv : 0) }'
  done
  echo
  awk -v a="${RTT[overlay]}" -v b="${RTT[same-host]}" -v c="${MBPS[overlay]}" -v d="${MBPS[same-host]}" \
    'BEGIN { printf "Overlay ÷ same host: round trip %.2f, throughput %.2f.\n", (b > 0 ? a / b : 0), (d > 0 ? c / d : 0) }'
} | tee "$RESULTS"
say "results: $RESULTS"
