#!/usr/bin/env bash
# Benchmark (issue 4, item 6): migration between two provider agents, each in its own network namespace joined
# through a virtual switch (veth pairs), once unshaped and once shaped to 100 Mbit/s with tc. The machine: the
# project's linux-busybox guest with a 2 GB disk holding about 600 MB of data and 512 MB of memory, about 360 MB
# of which hold data when it is suspended. Workloads, in this order, each moving the machine to the other host:
#   first    first migration to an empty destination
#   back     migration back with nothing changed (the destination holds the copy that left it)
#   1%-clu   1% of the disk (20 MiB) rewritten in one run          4 KiB writes are what a guest does, so
#   1%-sca   1% of the disk rewritten as 4 KiB writes, scattered   scattered rewrites touch many more blocks
#   10%-clu  10% rewritten in one run
#   10%-sca  10% rewritten as scattered 4 KiB writes
#   ran      the machine resumed, ran 30 s touching some memory, suspended again
# Contenders, in the same run on the same files: the marketplace's SCP, RSYNC and DEDUP (`virtuoso migrate`, the
# whole migration: QUERY, REQ, copy, verify, RESP, commit, activate, retire), the `rsync` command line (daemon on
# the origin, client on the destination, delta against the same cached copy the destination holds) and a plain
# `cat | socat` copy. Each method runs the whole sequence from the same pristine machine with empty caches; the
# two command-line contenders run inside DEDUP's sequence, just before it, on identical files.
# Reports bytes on the wire (both directions of the destination's link, from the veth counters), wall time, each
# as a ratio to the best contender and to the physical limit: max(bytes to send / link rate, bytes to read / read
# rate). Writes a Markdown table to stdout and to build/bench-migration/results-<date>.md.
#
# Usage: bench/migration.sh [unshaped|shaped|both (default)]
#        METHODS=DEDUP bench/migration.sh unshaped    (a quick look at some methods; the table needs all three)
#        BENCH_SMOKE=1 bench/migration.sh             (smoke test, 1–2 minutes: the same path with a small machine
#          (256 MB, 16 MB of it filled; 1200 MB disk with 32 MB of data), unshaped, DEDUP with the rsync command line and
#          the plain copy beside it, workloads first, back, 1%-clu, 1%-sca and ran (running 2 s); the shaping is
#          applied once and its rate checked. Every copy is compared with its origin and every migration must leave the
#          machine on its destination; exits non-zero on any failure. Results and logs: build/bench-migration/smoke*)
# Needs root (network namespaces). Takes about 30 minutes for both.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
SMOKE=${BENCH_SMOKE:-0}
MODE=${1:-both}
[ "$(id -u)" -eq 0 ] || die "the migration benchmark needs root for network namespaces"

# The machine and the workloads' sizes: the benchmark's, or the smoke test's (small and quick, the same steps).
if [ "$SMOKE" = 1 ]; then
  MODE=unshaped
  METHODS=${METHODS:-DEDUP}
  WORKLOADS=${WORKLOADS:-first back 1%-clu 1%-sca ran}
  MEMORY_MB=256 FILL_MB=16 DISK_MB=1200 DATA_MB=32 CLUSTER_AT_MB=4 RUN_TOUCH_MB=4 RUN_SETTLE_S=1 RUN_FOR_S=1 LINK_PROBE_MB=16
else
  MEMORY_MB=512 FILL_MB=360 DISK_MB=2048 DATA_MB=600 CLUSTER_AT_MB=64 RUN_TOUCH_MB=36 RUN_SETTLE_S=5 RUN_FOR_S=25 LINK_PROBE_MB=512
fi

require_dotnet
install_packages "${RUN_PACKAGES[@]}"
build_guest_image
build_apps

OUT="$ROOT/build/bench-migration"
mkdir -p "$OUT"
W=$(mktemp -d /tmp/vbench-mig.XXXXXX)
RESULTS="$OUT/results-$(date -u +%Y%m%d-%H%M%S).md"
if [ "$SMOKE" = 1 ]; then RESULTS="$OUT/smoke.md"; rm -rf "$OUT/smoke-logs"; fi
source "$ROOT/bench/hosts-network.sh"
FE_PORT=5190
FE="http://127.0.0.1:$FE_PORT"
pids=()

cleanup() {
  local rc=$? f ns i
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for f in "$W"/*/machines/*/qemu.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  pkill -f "rsync --daemon --no-detach --config=$W" 2>/dev/null
  pkill -f -- "--data $W/" 2>/dev/null # agents started through ip netns exec
  # whatever else still runs in the hosts' namespaces (a socat or rsync of a contender cut short), then the namespaces
  hosts_network_down
  jobs -pr | xargs -r kill -9 2>/dev/null
  wait 2>/dev/null
  mkdir -p "${RESULTS%.md}-logs" && cp "$W"/*.log "${RESULTS%.md}-logs/" 2>/dev/null # the agents' and front-end's logs
  if [ "$rc" -ne 0 ] && [ "$SMOKE" = 1 ]; then
    show_logs "$W"
  fi
  rm -rf "$W"
}
trap cleanup EXIT

# --- the network: a bridge in its own namespace, one port for the front-end (root namespace), one per host ---
hosts_network_up
wire_bytes() { # both directions of host $1's link
  local d=/sys/class/net/p-$1/statistics
  echo $(( $(ip netns exec "$SW" cat $d/tx_bytes) + $(ip netns exec "$SW" cat $d/rx_bytes) ))
}
shape() { # shape both hosts' links (traffic into each host) to $1 Mbit/s, or remove shaping with "off"
  for h in a b; do
    if [ "$1" = off ]; then ip netns exec "$SW" tc qdisc del dev "p-$h" root 2>/dev/null || true
    else ip netns exec "$SW" tc qdisc replace dev "p-$h" root tbf rate "${1}mbit" burst 128kb latency 100ms; fi
  done
}
now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }

# --- the marketplace: front-end here, one agent per namespace ---
say "starting the front-end and the agents a (${IP[a]}) and b (${IP[b]})"
env VIRTUOSO_DATA="$W/fe" VIRTUOSO_BILLING_INTERVAL=3600 Virtuoso__VmmpListen="$ROOTIP:7100" \
  Virtuoso__HostMonitorIntervalSeconds=1 Virtuoso__AllowPrivateHostAddresses=true Virtuoso__AllowCleartextAgents=true Logging__LogLevel__Default=Warning Logging__LogLevel__Virtuoso=Information \
  Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics=Information Logging__Console__TimestampFormat='HH:mm:ss.fff ' \
  dotnet build/frontend/virtuoso-frontend.dll --urls "$FE" >>"$W/frontend.log" 2>&1 &
pids+=($!)
wait_http "$FE/healthz" 60 || die "the front-end did not start; see $W/frontend.log"
for h in a b; do
  mkdir -p "$W/$h"
  head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$W/$h/secret"
  in_ns "$h" env Logging__Console__TimestampFormat='HH:mm:ss.fff ' Logging__LogLevel__Microsoft.AspNetCore=Warning \
    dotnet build/agent/virtuoso-agent.dll --name "$h" --urls "http://${IP[$h]}:7001" --data "$W/$h" \
    --images "$ROOT/build/images" --secret-file "$W/$h/secret" --accelerator tcg --vmmp-port 7101 \
    >>"$W/$h.log" 2>&1 &
  pids+=($!)
  wait_http "http://${IP[$h]}:7001/v1/health" 60 || die "agent $h did not start; see $W/$h.log"
done

cli() { VIRTUOSO_HOME="$W/cli-$1" ./virtuoso --server "$FE" "${@:2}"; }
cli p signup bench-provider --password bench-provider-pass --email p@example.com --provider >/dev/null
cli p login bench-provider --password bench-provider-pass >/dev/null
for h in a b; do
  cli p host add "$h" --address "${IP[$h]}" --port 7001 --processor x86_64 --speed 10000 --speed-unit 1000 \
    --speed-price 0.00001 --memory 8192 --memory-unit 4 --memory-price 0.00001 --running-period 3600 --storage 40000 \
    --storage-unit 100 --storage-price 0.01 --storage-period 30 --connect-speed 1Gbps --secret "$(cat "$W/$h/secret")" >/dev/null
done
cli u signup bench-buyer --password bench-buyer-pass --email u@example.com --buyer >/dev/null
cli u login bench-buyer --password bench-buyer-pass >/dev/null

where_is() { cli u --json machine "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["host"])'; }
other() { [ "$1" = a ] && echo b || echo a; }
mdir() { echo "$W/$1/machines/$2"; }
# The connection stays open 3 s after the line is sent: QEMU takes it through the UART's FIFO a few bytes at a time and
# drops what it has not read when the peer hangs up.
type_line() { printf '%s\n' "$3" | socat -t 3 - "UNIX-CONNECT:$(mdir "$1" "$2")/serial.sock" >/dev/null; }
wait_serial() { # host id text seconds
  local i
  for ((i = 0; i < $4 * 4; i++)); do grep -qF "$3" "$(mdir "$1" "$2")/serial.log" 2>/dev/null && return 0; sleep 0.25; done
  die "'$3' did not appear on the serial console of $2 within $4 s"
}

# --- the machine: boot, fill memory, suspend, then 600 MB of data on the disk beyond the guest's file system ---
DATA_AT=$((1100 * 1048576)) # the root file system ends at 1000 MiB; the guest never touches what lies beyond
DATA_LEN=$((DATA_MB * 1048576))
make_machine() {
  local id
  id=$(cli u --json register --config linux-busybox --memory "$MEMORY_MB" --disk "$DISK_MB" --storage-bid 1000 --running-bid 100 \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  cli u store "$id" --host a >/dev/null
  cli u start "$id" >/dev/null
  wait_serial a "$id" "Virtuoso guest ready" 120
  type_line a "$id" "mkdir -p /mnt/m && mount -t tmpfs -o size=$((FILL_MB + 20))m tmpfs /mnt/m && dd if=/dev/urandom of=/mnt/m/fill bs=1M count=$FILL_MB 2>/dev/null && echo filled-\$((6*7))"
  wait_serial a "$id" "filled-42" 600
  cli u suspend "$id" >/dev/null
  head -c "$DATA_LEN" /dev/urandom >"$W/data.bin"
  qemu-io -f qcow2 -c "write -q -s $W/data.bin $DATA_AT $DATA_LEN" "$(mdir a "$id")/disk.qcow2" >/dev/null
  rm -f "$W/data.bin"
  echo "$id"
}

# rewrite PERCENT clustered|scattered: rewrites that share of the disk (2 GiB) inside the data region, seeded so
# that every contender's sequence sees the same writes.
rewrite() { # host id percent kind seed
  local disk bytes script
  disk="$(mdir "$1" "$2")/disk.qcow2"
  bytes=$((DISK_MB * 1048576 * $3 / 100))
  head -c 4096 /dev/urandom >"$W/page.bin"
  script="$W/rewrite.qio"
  if [ "$4" = clustered ]; then
    head -c "$bytes" /dev/urandom >"$W/run.bin"
    echo "write -q -s $W/run.bin $((DATA_AT + CLUSTER_AT_MB * 1048576)) $bytes" >"$script"
  else
    python3 - "$5" "$bytes" "$DATA_AT" "$DATA_LEN" "$W" >"$script" <<'PY'
import random, sys
seed, total, at, length, w = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rng = random.Random(seed)
pages = sorted(rng.sample(range(length // 4096), total // 4096))
# a different page content per write: one 4 KiB page file, written with a pattern that varies
for i, p in enumerate(pages):
    print(f"write -q -P {i % 251 + 1} {at + p * 4096} 4096")
PY
  fi
  qemu-io -f qcow2 "$disk" <"$script" >/dev/null
  rm -f "$W/run.bin" "$W/page.bin"
}

run_for_a_while() { # host id: resume, run 30 s rewriting 10% of the filled memory, suspend
  cli u resume "$2" >/dev/null
  sleep "$RUN_SETTLE_S"
  type_line "$1" "$2" "dd if=/dev/urandom of=/mnt/m/fill bs=1M count=$RUN_TOUCH_MB conv=notrunc 2>/dev/null; echo ran-\$((6*7))"
  wait_serial "$1" "$2" "ran-42" 300
  sleep "$RUN_FOR_S"
  cli u suspend "$2" >/dev/null
}

# --- the two command-line contenders, on the files of the machine as they are on the origin right now ---
RSYNC_PORT=8730
rsync_cli() { # from to id → "ms bytes"
  local from=$1 to=$2 id=$3 b0 t0 ms
  local conf="$W/rsyncd-$from.conf" scratch="$W/$to/scratch"
  printf 'pid file = %s\nuse chroot = no\n[m]\npath = %s\nread only = yes\n' "$W/rsyncd-$from.pid" "$(mdir "$from" "$id")" >"$conf"
  in_ns "$from" rsync --daemon --no-detach --config="$conf" --address="${IP[$from]}" --port=$RSYNC_PORT &
  local dpid=$!
  rm -rf "$scratch"; mkdir -p "$scratch"
  # the same basis the destination's own migration would use: its cached copy of this machine, if any. The copy gets
  # a fresh mtime, which can fall in the same second as the origin's last write: with rsync's default quick check
  # (size and whole seconds) a rewritten disk was then skipped; --modify-window=-1 compares nanoseconds, as the
  # agents' RSYNC does. What each run did is in rsync-cli.log among the logs.
  [ -d "$W/$to/cache/$id" ] && cp --sparse=always "$W/$to/cache/$id"/{disk.qcow2,state.bin} "$scratch"/ 2>/dev/null || true
  sleep 0.5
  b0=$(wire_bytes "$to"); t0=$(now)
  { echo "== rsync command line $from -> $to"; ls -l --time-style=full-iso "$(mdir "$from" "$id")" "$scratch"; } >>"$W/rsync-cli.log"
  in_ns "$to" rsync -a --modify-window=-1 --inplace --no-whole-file --sparse --itemize-changes --stats "rsync://${IP[$from]}:$RSYNC_PORT/m/disk.qcow2" \
    "rsync://${IP[$from]}:$RSYNC_PORT/m/state.bin" "$scratch/" >>"$W/rsync-cli.log"
  ms=$(ms_since "$t0")
  echo "$ms $(( $(wire_bytes "$to") - b0 ))"
  # $! is the subshell running in_ns, not rsync: stop the daemon by its configuration file
  pkill -f -- "--config=$conf" 2>/dev/null || true
  wait "$dpid" 2>/dev/null || true
  [ "$SMOKE" = 1 ] && same_files "$(mdir "$from" "$id")" "$scratch" "the rsync command line"
  rm -rf "$scratch"
}
same_files() { # origin copy contender: the smoke test's check that a contender copied the machine's files whole
  local f
  for f in disk.qcow2 state.bin; do
    cmp -s "$1/$f" "$2/$f" || die "$3 did not copy $f whole ($1/$f ≠ $2/$f)"
  done
}
plain_copy() { # from to id → "ms bytes"
  local from=$1 to=$2 id=$3 b0 t0 f
  mkdir -p "$W/$to/plain"
  b0=$(wire_bytes "$to"); t0=$(now)
  for f in disk.qcow2 state.bin; do
    in_ns "$to" socat -u "TCP-LISTEN:8731,bind=${IP[$to]},reuseaddr" "CREATE:$W/$to/plain/$f" &
    local lpid=$!
    sleep 0.2
    in_ns "$from" sh -c "cat '$(mdir "$from" "$id")/$f' | socat -u - TCP:${IP[$to]}:8731"
    wait "$lpid"
  done
  echo "$(ms_since "$t0") $(( $(wire_bytes "$to") - b0 ))"
  [ "$SMOKE" = 1 ] && same_files "$(mdir "$from" "$id")" "$W/$to/plain" "the plain copy"
  rm -rf "$W/$to/plain"
}

migrate() { # id to method → "ms bytes"
  local b0 t0
  b0=$(wire_bytes "$2"); t0=$(now)
  cli u --json migrate "$1" --host "$2" --method "$3" >"$W/last-migration.json" \
    || die "migrate $1 to $2 with $3 failed: $(cat "$W/last-migration.json")"
  echo "$(ms_since "$t0") $(( $(wire_bytes "$2") - b0 ))"
  local at; at=$(where_is "$1")
  [ "$at" = "$2" ] || die "after migrating $1 to $2 with $3 the front-end places it on '$at'"
}

# --- rates for the physical limit ---
link_rate() { # bytes per second across the a→b link right now
  local t0 n=$((LINK_PROBE_MB * 1048576))
  in_ns b socat -u "TCP-LISTEN:8732,bind=${IP[b]},reuseaddr" OPEN:/dev/null &
  local lpid=$!
  sleep 0.2; t0=$(now)
  in_ns a sh -c "head -c $n /dev/zero | socat -u - TCP:${IP[b]}:8732"
  wait "$lpid"
  awk -v s="$(ms_since "$t0")" -v n="$n" 'BEGIN { printf "%d", n / (s / 1000) }'
}
read_rate() { # bytes per second reading the machine's files (what the origin must read at least once)
  local t0 n
  t0=$(now); n=$(cat "$@" | wc -c)
  awk -v s="$(ms_since "$t0")" -v n="$n" 'BEGIN { printf "%d", n / (s / 1000 + 0.001) }'
}

# WORKLOADS="first back" runs a prefix of the sequence (a quick look; the table then has gaps)
read -ra WORKLOADS <<<"${WORKLOADS:-first back 1%-clu 1%-sca 10%-clu 10%-sca ran}"
declare -A MS BYTES SEND READ

pristine_id=""
run_sequence() { # method shaped|unshaped
  local method=$1 id h to w seed=7
  # every sequence starts from the same pristine machine files, on a, with no caches anywhere
  for h in a b; do rm -rf "$W/$h/cache" "$W/$h/dedup"; done
  id=$pristine_id
  h=$(where_is "$id")
  if [ "$h" != a ]; then migrate "$id" a SCP >/dev/null; for x in a b; do rm -rf "$W/$x/cache" "$W/$x/dedup"; done; fi
  cp --sparse=always "$W/pristine"/{disk.qcow2,state.bin} "$(mdir a "$id")"/
  h=a
  for w in "${WORKLOADS[@]}"; do
    case $w in
      1%-clu) rewrite "$h" "$id" 1 clustered $seed ;;
      1%-sca) rewrite "$h" "$id" 1 scattered $seed ;;
      10%-clu) rewrite "$h" "$id" 10 clustered $seed ;;
      10%-sca) rewrite "$h" "$id" 10 scattered $seed ;;
      ran) run_for_a_while "$h" "$id" ;;
    esac
    to=$(other "$h")
    if [ "$method" = DEDUP ]; then
      local files=("$(mdir "$h" "$id")/disk.qcow2" "$(mdir "$h" "$id")/state.bin")
      READ[$w]=$(stat -c %s "${files[@]}" | awk '{ s += $1 } END { print s }')
      rsync_cli "$h" "$to" "$id" >"$W/measured"; read -r "MS[$w,rsync-cli]" "BYTES[$w,rsync-cli]" <"$W/measured"
      # The plain copy sends the whole files whatever changed: on the shaped link (a minute and a half each) it is
      # measured for the first migration and after the machine ran (its state file changes size), and reused between.
      if [ "$SHAPED" = no ] || [ "$w" = first ] || [ "$w" = ran ]; then
        plain_copy "$h" "$to" "$id" >"$W/measured"; read -r "MS[$w,plain]" "BYTES[$w,plain]" <"$W/measured"
      else
        MS[$w,plain]=${MS[first,plain]}; BYTES[$w,plain]=${BYTES[first,plain]}
      fi
      RRATE=$(read_rate "${files[@]}")
      say "$w with rsync-cli: ${MS[$w,rsync-cli]} ms, ${BYTES[$w,rsync-cli]} bytes; plain: ${MS[$w,plain]} ms, ${BYTES[$w,plain]} bytes"
    fi
    migrate "$id" "$to" "$method" >"$W/measured"; read -r "MS[$w,$method]" "BYTES[$w,$method]" <"$W/measured"
    say "$w with $method: ${MS[$w,$method]} ms, ${BYTES[$w,$method]} bytes on the wire"
    h=$to
  done
}

# bytes that must cross for each workload (the physical limit's numerator): the whole machine the first time,
# the rewritten bytes for a rewrite, nothing for an unchanged return; for "ran", what changed in the memory state
# is not known in advance: the smallest number of bytes any contender put on the wire stands in for it.
bytes_to_send() { # workload
  case $1 in
    first) echo "${READ[first]}" ;;
    back) echo 0 ;;
    1%-*) echo $((DISK_MB * 1048576 / 100)) ;;
    10%-*) echo $((DISK_MB * 1048576 / 10)) ;;
    ran) for c in SCP RSYNC DEDUP rsync-cli plain; do echo "${BYTES[ran,$c]:-}"; done | grep . | sort -n | head -1 ;;
  esac
}

report() { # title link-rate
  local title=$1 lrate=$2 w c best limit
  {
    echo "### $title"
    echo
    echo "Link rate (measured, $LINK_PROBE_MB MiB with socat): $((lrate / 1000000)) MB/s; read rate of the machine's files: $((RRATE / 1000000)) MB/s."
    echo
    [ "$SHAPED" = yes ] && echo "The plain copy was timed for \`first\` and \`ran\` only; the other rows repeat \`first\`'s (it sends whole files)." && echo
    echo "| workload | contender | wall | on the wire | × best wall | × physical limit |"
    echo "|---|---|---|---|---|---|"
    for w in "${WORKLOADS[@]}"; do
      best=$(for c in SCP RSYNC DEDUP rsync-cli plain; do echo "${MS[$w,$c]:-}"; done | grep . | sort -n | head -1)
      # what must cross the link, and be read once to be sent, at the measured rates
      limit=$(awk -v s="$(bytes_to_send "$w")" -v l="$lrate" -v rr="$RRATE" \
        'BEGIN { a = s / l * 1000; b = s / rr * 1000; printf "%d", (a > b ? a : b) }')
      for c in SCP RSYNC DEDUP rsync-cli plain; do
        [ -n "${MS[$w,$c]:-}" ] || continue # METHODS= left this one out
        awk -v w="$w" -v c="$c" -v ms="${MS[$w,$c]}" -v by="${BYTES[$w,$c]}" -v best="$best" -v lim="$limit" \
          'BEGIN { printf "| %s | %s | %d ms | %.1f MB | %.2f× | %s |\n", w, c, ms, by / 1e6, ms / best, (lim > 0 ? sprintf("%.2f×", ms / lim) : "—") }'
      done
    done
    echo
    echo "Targets (issue 4): DEDUP ≤ 0.5× rsync's wall time (the better of RSYNC and the rsync command line) on every"
    echo "cached workload, and on the wire ≤ 1.1× the changed bytes + 1% of the image; the first migration ≥ 0.8× the"
    echo "plain copy's throughput; the cached machine moved back in under 1 s on the shaped link."
    echo
    echo "| workload | DEDUP ÷ rsync wall | DEDUP wire ÷ (1.1× changed + 1% image) | DEDUP throughput ÷ plain |"
    echo "|---|---|---|---|"
    for w in "${WORKLOADS[@]}"; do
      [ -n "${MS[$w,DEDUP]:-}" ] || continue
      awk -v w="$w" -v d="${MS[$w,DEDUP]}" -v r1="${MS[$w,RSYNC]:-}" -v r2="${MS[$w,rsync-cli]}" -v p="${MS[$w,plain]}" \
        -v wire="${BYTES[$w,DEDUP]}" -v ch="$(bytes_to_send "$w")" -v img="${READ[first]}" 'BEGIN {
          r = (r1 != "" && r1 < r2 ? r1 : r2)
          allowed = 1.1 * ch + 0.01 * img
          printf "| %s | %s | %.2f | %s |\n", w, (w == "first" ? "—" : sprintf("%.2f", d / r)), wire / allowed,
            (w == "first" ? sprintf("%.2f", p / d) : "—") }'
    done
    echo
  } | tee -a "$RESULTS"
}

say "making the machine (boot, fill $FILL_MB MB of memory, suspend, $DATA_MB MB on the disk)"
pristine_id=$(make_machine)
mkdir -p "$W/pristine"
cp --sparse=always "$(mdir a "$pristine_id")"/{disk.qcow2,state.bin} "$W/pristine"/
ls -ls "$W/pristine" >&2

{
  echo "## Migration benchmark, $(date -u +%Y-%m-%d\ %H:%M) UTC"
  echo
  echo "Command: \`$([ "$SMOKE" = 1 ] && echo "BENCH_SMOKE=1 bench/migration.sh (smoke test)" || echo "bench/migration.sh $MODE")\` — $(nproc) cores, $(uname -r), QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), rsync $(rsync --version | head -1 | awk '{print $3}')."
  echo "Machine files: $(stat -c '%n %s' "$W/pristine"/* | sed "s|$W/pristine/||" | paste -sd, ) bytes."
  echo
} | tee "$RESULTS"

for mode in unshaped shaped; do
  [ "$MODE" = both ] || [ "$MODE" = "$mode" ] || continue
  if [ "$mode" = shaped ]; then shape 100; SHAPED=yes; else shape off; SHAPED=no; fi
  LRATE=$(link_rate)
  for method in ${METHODS:-SCP RSYNC DEDUP}; do
    say "$mode: the sequence with $method"
    run_sequence "$method"
  done
  report "$([ "$mode" = shaped ] && echo "Shaped to 100 Mbit/s" || echo "Unshaped veth")" "$LRATE"
done
if [ "$SMOKE" = 1 ]; then
  # The shaped run's one extra step: tc shapes the links to 100 Mbit/s (12.5 MB/s) and the shaping comes off again.
  shape 100; LRATE=$(link_rate); shape off
  say "smoke: link rate shaped to 100 Mbit/s: $((LRATE / 1000)) kB/s"
  [ "$LRATE" -gt 8000000 ] && [ "$LRATE" -lt 13500000 ] || die "shaped to 100 Mbit/s, the link carried $LRATE bytes/s"
fi
say "results in $RESULTS"
