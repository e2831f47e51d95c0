#!/usr/bin/env bash
# Benchmark (issue 2, item 10): time from `virtuoso start` to "Virtuoso guest ready" on the serial console
# through the whole stack (CLI → front-end → agent → QEMU), against qemu-system-x86_64 started directly with
# the same arguments, measured side by side, alternating, in one run. Prints medians and their ratio.
# Usage: bench/boot-time.sh [ROUNDS=5]
#        BENCH_SMOKE=1 bench/boot-time.sh    (smoke test: one round, every step checked; exits non-zero on any failure)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
SMOKE=${BENCH_SMOKE:-0}
ROUNDS=${1:-5}
[ "$SMOKE" = 1 ] && ROUNDS=1

require_dotnet
install_packages "${RUN_PACKAGES[@]}"
build_guest_image
build_apps >/dev/null

W=$(mktemp -d /tmp/vbench.XXXXXX)
FE_PORT=5181; AG_PORT=7181
pids=()
cleanup() {
  local rc=$?
  [ "$rc" -ne 0 ] && show_logs "$W"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$W"/agent/machines/*/qemu.pid "$W"/direct/qemu.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
# wait_ready FILE COUNT PID: until FILE holds COUNT ready lines; prints the time it saw them (ms). Fails at once
# when QEMU (PID) is gone, e.g. because it could not open its disk.
wait_ready() {
  local file=$1 count=$2 pid=$3 deadline=$(( $(now_ms) + 120000 ))
  local n
  while n=$(grep -c 'Virtuoso guest ready' "$file" 2>/dev/null); [ "${n:-0}" -lt "$count" ]; do
    [ "$(now_ms)" -gt "$deadline" ] && { echo "timeout waiting for the guest in $file" >&2; return 1; }
    kill -0 "$pid" 2>/dev/null || { echo "QEMU (pid $pid) exited before the guest in $file was ready" >&2; return 1; }
    sleep 0.02
  done
  now_ms
}

URL="http://127.0.0.1:$FE_PORT"
VIRTUOSO_DATA="$W/fe" Virtuoso__VmmpListen=127.0.0.1:0 Virtuoso__AllowPrivateHostAddresses=true Virtuoso__AllowCleartextAgents=true dotnet build/frontend/virtuoso-frontend.dll --urls "$URL" >"$W/fe.log" 2>&1 & pids+=($!)
head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$W/secret"
# No cgroup (issue 17): QEMU started directly runs unlimited, so the stack's QEMU must too for a fair ratio.
dotnet build/agent/virtuoso-agent.dll --name bench --urls "http://127.0.0.1:$AG_PORT" --data "$W/agent" --images "$ROOT/build/images" --private-networks off \
  --secret-file "$W/secret" --cgroup-parent off >"$W/agent.log" 2>&1 & pids+=($!)
wait_http "$URL/healthz" 60 && wait_http "http://127.0.0.1:$AG_PORT/v1/health" 60

export VIRTUOSO_HOME="$W/cli"
v() { ./virtuoso --server "$URL" "$@"; }
v signup bench-p --password bench-pass --email p@example.com --provider >/dev/null; v login bench-p --password bench-pass >/dev/null
v host add bench --address 127.0.0.1 --port $AG_PORT --processor x86_64 --speed 10000 --speed-unit 1000 --speed-price 0.00001 \
  --memory 4096 --memory-unit 4 --memory-price 0.000001 --running-period 3600 --storage 20000 --storage-unit 100 --storage-price 0.1 \
  --storage-period 30 --connect-speed 1Gbps --secret "$(cat "$W/secret")" >/dev/null
v signup bench-b --password bench-pass --email b@example.com --buyer >/dev/null; v login bench-b --password bench-pass >/dev/null
ID=$(v --json register --config linux-busybox --storage-bid 30 --running-bid 3 | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
v store "$ID" --host bench >/dev/null
MDIR="$W/agent/machines/$ID"

stack=(); direct=()
for ((r = 1; r <= ROUNDS; r++)); do
  # Through the whole stack.
  t0=$(now_ms); v start "$ID" >/dev/null
  t1=$(wait_ready "$MDIR/serial.log" "$r" "$(cat "$MDIR/qemu.pid")")
  stack+=($((t1 - t0)))
  # Same QEMU arguments, started directly, on a fresh copy of the machine directory.
  mapfile -d '' args < "/proc/$(cat "$MDIR/qemu.pid")/cmdline"
  v stop "$ID" >/dev/null
  rm -rf "$W/direct"; mkdir -p "$W/direct"
  cp --sparse=always "$MDIR/disk.qcow2" "$W/direct/disk.qcow2"
  # The cloud-init seed drive the agent made for this start (issue 14) is part of the same command line.
  if [ -f "$MDIR/seed.iso" ]; then cp "$MDIR/seed.iso" "$W/direct/seed.iso"; fi
  # The machine's disk names its base image by a path relative to the machine directory (../../images/NAME/...),
  # which does not resolve from the copy: point the copy at the same base image by its absolute path (header only).
  base=$(qemu-img info --output=json "$MDIR/disk.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backing-filename", ""))')
  if [ -n "$base" ]; then
    base=$(cd "$MDIR" && readlink -e "$base") || die "the base image of $MDIR/disk.qcow2 is missing"
    qemu-img rebase -u -F qcow2 -b "$base" "$W/direct/disk.qcow2"
  fi
  dargs=(); for a in "${args[@]}"; do dargs+=("${a//$MDIR/$W/direct}"); done
  t0=$(now_ms)
  "${dargs[@]}" >"$W/direct/qemu.out" 2>&1 &
  qpid=$!
  t1=$(wait_ready "$W/direct/serial.log" 1 "$qpid") || die "QEMU started directly failed: $(cat "$W/direct/qemu.out")"
  direct+=($((t1 - t0)))
  kill $qpid 2>/dev/null; wait $qpid 2>/dev/null || true
  echo "round $r: stack ${stack[-1]} ms, direct ${direct[-1]} ms" >&2
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms=$(median "${stack[@]}"); md=$(median "${direct[@]}")
echo "QEMU arguments: ${args[*]}"
echo "start → 'Virtuoso guest ready', median of $ROUNDS: whole stack ${ms} ms, QEMU directly ${md} ms, ratio $(awk "BEGIN {printf \"%.3f\", $ms/$md}")"
