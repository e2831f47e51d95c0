#!/usr/bin/env bash
# Benchmark (issue 19 point 4): search over synthetic marketplaces of growing size on PostgreSQL, through HAProxy with one
# and with three front-end replicas, measured side by side. For each size: a fresh database, three front-ends on it, two
# balancers (scripts/lib.sh balancer_config: one in front of replica 1 only, one in front of all three), the marketplace
# filled (Virtuoso.Bench.Scale prepare: N hosts of ten stored machines each), then ROUNDS rounds alternating which
# balancer goes first, each SECONDS of 20 concurrent clients searching, each for a machine of its own (after a warm-up;
# Virtuoso.Bench.Scale's Searches: different sizes, usages and bids, matching all, some or no hosts). Prints the Markdown table and how
# p50, p99 and requests/s grow with the size (fitted power law). No agent is involved (search reads the database only);
# the hosts count as online for the whole run and the host monitor never passes, so nothing connects to their made-up
# addresses.
# The front-ends reuse what they read of the hosts for a second (Virtuoso:SearchSnapshotSeconds=1, SNAPSHOT=0 turns it off)
# and answer the best 100 (search's default limit). Each round also measures the floor through one replica: the same
# clients asking for their machines (one row by id), so search's p99 is also given as a multiple of it.
# Usage: bench/scale.sh [ROUNDS=3] [SECONDS=10]      SIZES="1000 10000 100000" (default) chooses the sizes
#        BENCH_SMOKE=1 bench/scale.sh               (smoke: 200 hosts, one round of 2 s each; fails on any error)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ROUNDS=${1:-3}
SECS=${2:-10}
SIZES=${SIZES:-1000 10000 100000}
if [ "${BENCH_SMOKE:-0}" = 1 ]; then ROUNDS=1; SECS=2; SIZES=200; fi

require_dotnet
install_packages postgresql haproxy curl
say "building the front-end and the scale benchmark (Release)"
build_apps
dotnet build bench/Virtuoso.Bench.Scale/Virtuoso.Bench.Scale.csproj -c Release -o build/bench-scale -v quiet -nologo >/dev/null \
  || dotnet build bench/Virtuoso.Bench.Scale/Virtuoso.Bench.Scale.csproj -c Release -o build/bench-scale -v quiet -nologo
tool() { dotnet build/bench-scale/Virtuoso.Bench.Scale.dll "$@"; }

W=$(mktemp -d /tmp/vbench-scale.XXXXXX)
chmod 755 "$W" # PostgreSQL runs as its own user below it
pids=()
cleanup() {
  local rc=$?
  [ "$rc" -ne 0 ] && show_logs "$W"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  stop_postgres "$W/pg"
  rm -rf "$W"
}
trap cleanup EXIT
PG_PORT=${VIRTUOSO_BENCH_PG_PORT:-55471}
ADMIN=$(start_postgres "$W/pg" "$PG_PORT")
psql_admin() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAtc "$1"; }
FE_PORTS=(5181 5182 5183)
ONE=5190 THREE=5191
RESULTS="$W/results.tsv"
: > "$RESULTS"

for size in $SIZES; do
  db="scale_$size"
  psql_admin "CREATE DATABASE $db" >/dev/null
  conn="${ADMIN/Database=postgres/Database=$db}"
  say "$size hosts: three front-ends on database $db"
  started=()
  for i in 0 1 2; do
    mkdir -p "$W/replica-$i"
    # No daemon disturbs the measurement: billing and estimates off, the monitor's first pass before any host exists and
    # the next one after the run, the hosts online all along.
    HOME="$W/replica-$i" VIRTUOSO_DATA="$W/data" VIRTUOSO_DATABASE="postgres:$conn" Virtuoso__DaemonsEnabled=false \
      Virtuoso__HostMonitorIntervalSeconds=86400 Virtuoso__HostOnlineWindowSeconds=86400 Virtuoso__ReconcileIntervalSeconds=3600 \
      Virtuoso__NetworkSyncSeconds=3600 Virtuoso__SignupsPerAddressPerHour=0 Virtuoso__TrustedProxies=127.0.0.1 \
      Virtuoso__VmmpListen=127.0.0.1:0 Logging__LogLevel__Default=Warning Virtuoso__SearchSnapshotSeconds="${SNAPSHOT:-1}" \
      dotnet build/frontend/virtuoso-frontend.dll --urls "http://127.0.0.1:${FE_PORTS[$i]}" >>"$W/frontend-$i.log" 2>&1 &
    pids+=($!); started+=($!)
    # The first migrates the database alone.
    [ "$i" = 0 ] && { wait_http "http://127.0.0.1:${FE_PORTS[0]}/healthz" 60 || die "front-end 1 did not start: $(tail -5 "$W/frontend-0.log")"; }
  done
  for i in 1 2; do wait_http "http://127.0.0.1:${FE_PORTS[$i]}/healthz" 60 || die "front-end $((i + 1)) did not start: $(tail -5 "$W/frontend-$i.log")"; done
  balancer_config "$W/one.cfg" "127.0.0.1:$ONE" "127.0.0.1:${FE_PORTS[0]}"
  balancer_config "$W/three.cfg" "127.0.0.1:$THREE" "127.0.0.1:${FE_PORTS[0]} 127.0.0.1:${FE_PORTS[1]} 127.0.0.1:${FE_PORTS[2]}"
  haproxy -f "$W/one.cfg" -db >>"$W/haproxy.log" 2>&1 & pids+=($!); started+=($!)
  haproxy -f "$W/three.cfg" -db >>"$W/haproxy.log" 2>&1 & pids+=($!); started+=($!)
  wait_http "http://127.0.0.1:$ONE/healthz" 30 && wait_http "http://127.0.0.1:$THREE/healthz" 30 || die "a balancer did not start: $(tail -5 "$W/haproxy.log")"

  tool prepare --database "$conn" --url "http://127.0.0.1:${FE_PORTS[0]}" --hosts "$size"
  for ((r = 1; r <= ROUNDS; r++)); do
    order=("1:$ONE" "3:$THREE")
    [ $((r % 2)) = 0 ] && order=("3:$THREE" "1:$ONE")
    for o in "${order[@]}"; do
      say "$size hosts, round $r: 20 clients for $SECS s through the balancer of ${o%%:*} replica(s)"
      tool load --url "http://127.0.0.1:${o#*:}" --label "${o%%:*}" --hosts "$size" --clients 20 --seconds "$SECS" | tee -a "$RESULTS"
    done
    # The floor, side by side: the same 20 clients through the same balancer and replica, each asking for its machine
    # (GET /api/v1/machines/{id}: the log-in and one row), so search's p99 reads as a multiple of what any request costs here.
    say "$size hosts, round $r: the floor, 20 clients for $SECS s asking for their machines through the balancer of 1 replica"
    tool load --url "http://127.0.0.1:$ONE" --label "1 floor" --hosts "$size" --clients 20 --seconds "$SECS" --request machine | tee -a "$RESULTS"
  done
  for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${started[@]}" 2>/dev/null || true
  psql_admin "DROP DATABASE $db WITH (FORCE)" >/dev/null
done

say "results (hosts, replicas, requests, seconds, requests/s, p50 ms, p99 ms, errors)"
tool report "$RESULTS"
