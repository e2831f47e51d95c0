#!/usr/bin/env bash
# Benchmark (issue 15 item 1): start → SSH answers for the debian-12 image under TCG. QEMU is started directly with the
# agent's devices (src/Virtuoso.Agent/Vmm/Qemu/QemuCommandLine.cs: -machine pc, TCG, virtio disk and NIC, user-mode
# network with a forwarded SSH port) on a fresh overlay of the purchased size, plus a NoCloud seed (genisoimage -V
# cidata, as the agent's SeedDrive makes it) with a hostname and a key; timed from launching QEMU until
# `ssh root@127.0.0.1 true` with that key succeeds (tried every second, 3 s connect timeout). Prints each round and the
# median, and checks what the seed should have done (hostname, / grown to at least 90% of the disk).
# Usage: bench/debian-boot.sh [ROUNDS=3]
#        BENCH_SMOKE=1 bench/debian-boot.sh    (smoke test: one round, every check; exits non-zero on any failure)
# Environment: MEMORY_MB (512, the configuration's), DISK_MB (4096, the configuration's).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
SMOKE=${BENCH_SMOKE:-0}
ROUNDS=${1:-3}
[ "$SMOKE" = 1 ] && ROUNDS=1
MEMORY_MB=${MEMORY_MB:-512}
DISK_MB=${DISK_MB:-4096}
TIMEOUT_S=300

install_packages qemu-system-x86 qemu-utils genisoimage openssh-client
build_debian_image
IMAGE="$ROOT/build/images/debian-12/disk.qcow2"

W=$(mktemp -d /tmp/vbench-debian.XXXXXX)
qemu_pid=""
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C bench@debian-boot -f "$W/key"
mkdir "$W/seed"
printf 'instance-id: "bench-debian-boot"\nlocal-hostname: "bench-debian"\n' >"$W/seed/meta-data"
printf '#cloud-config\nssh_authorized_keys:\n  - "%s"\n' "$(cat "$W/key.pub")" >"$W/seed/user-data"
genisoimage -quiet -input-charset utf-8 -output "$W/seed.iso" -volid cidata -joliet -rock "$W/seed/user-data" "$W/seed/meta-data"
truncate -s 1M "$W/seed.iso"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ssh_guest() {
  ssh -p "$1" -i "$W/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
    -o ConnectTimeout=3 -o LogLevel=ERROR root@127.0.0.1 "$2"
}
now_ms() { date +%s%3N; }

times=()
for ((round = 1; round <= ROUNDS; round++)); do
  rm -f "$W/overlay.qcow2" "$W/serial.log"
  qemu-img create -q -f qcow2 -F qcow2 -b "$IMAGE" "$W/overlay.qcow2" "${DISK_MB}M"
  port=$(free_port)
  load=$(cut -d' ' -f1 /proc/loadavg)
  start=$(now_ms)
  qemu-system-x86_64 -machine pc -accel tcg,tb-size=128 -m "$MEMORY_MB" -smp 1 -nodefaults -no-user-config \
    -vga std -display none \
    -drive "file=$W/overlay.qcow2,if=virtio,format=qcow2" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
    -serial "file:$W/serial.log" \
    -drive "file=$W/seed.iso,if=virtio,format=raw,readonly=on" &
  qemu_pid=$!
  while ! ssh_guest "$port" true 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || { echo "round $round: QEMU exited before SSH answered; serial log:" >&2; tail -n 30 "$W/serial.log" >&2; exit 1; }
    [ $(( $(now_ms) - start )) -gt $((TIMEOUT_S * 1000)) ] && { echo "round $round: no SSH within $TIMEOUT_S s; serial log:" >&2; tail -n 30 "$W/serial.log" >&2; exit 1; }
    sleep 1
  done
  ms=$(( $(now_ms) - start ))
  times+=("$ms")
  host=$(ssh_guest "$port" hostname)
  root_mb=$(ssh_guest "$port" 'df --output=size -B1M / | tail -n 1' | tr -d ' ')
  echo "round $round: SSH answered after $ms ms (load average $load); hostname $host, / $root_mb MB of $DISK_MB"
  [ "$host" = bench-debian ] || { echo "round $round: hostname is '$host', not the seed's bench-debian" >&2; exit 1; }
  [ "$root_mb" -ge $((DISK_MB * 9 / 10)) ] || { echo "round $round: / is $root_mb MB, less than 90% of $DISK_MB" >&2; exit 1; }
  kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=""
done

median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo "debian-12, ${MEMORY_MB} MB, ${DISK_MB} MB disk, TCG, $(nproc) cores: median start → SSH $median ms over $ROUNDS round(s)"
