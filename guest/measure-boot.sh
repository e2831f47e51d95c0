#!/usr/bin/env bash
# Measure the boot time of the linux-busybox image under TCG: wall-clock time from starting
# QEMU to the "Virtuoso guest ready" line on the serial console, each run on a fresh overlay,
# with the arguments the provider agent uses.
#
# Usage: guest/measure-boot.sh [OUTDIR] [MACHINE=pc] [MEM_MB=256] [RUNS=3]
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)
IMG=$(readlink -f "${1:-$REPO_ROOT/build/images/linux-busybox}")
MACHINE=${2:-pc}
MEM=${3:-256}
RUNS=${4:-3}
APPEND=$(sed -n 's/.*"append":"\([^"]*\)".*/\1/p' "$IMG/image.json")

T=$(mktemp -d "${TMPDIR:-/tmp}/virtuoso-measure.XXXXXX")
QPID=
cleanup() { [[ -n $QPID ]] && kill "$QPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

echo "machine=$MACHINE mem=${MEM}M load: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((run = 1; run <= RUNS; run++)); do
    rm -f "$T"/*
    qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/disk.qcow2" "$T/overlay.qcow2"
    start=$(date +%s%N)
    qemu-system-x86_64 -machine "$MACHINE" -accel tcg -m "$MEM" -smp 1 \
        -nodefaults -no-user-config -vga std -display none -vnc "unix:$T/vnc.sock" \
        -drive "file=$T/overlay.qcow2,if=virtio,format=qcow2" \
        -netdev user,id=n0 -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
        -chardev "socket,id=s0,path=$T/serial.sock,server=on,wait=off,logfile=$T/serial.log" \
        -serial chardev:s0 -qmp "unix:$T/qmp.sock,server=on,wait=off" \
        -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" -append "$APPEND" 2>"$T/qemu.err" &
    QPID=$!
    until grep -qs 'Virtuoso guest ready' "$T/serial.log"; do
        kill -0 "$QPID" 2>/dev/null || { cat "$T/qemu.err" >&2; echo "QEMU exited" >&2; exit 1; }
        (( $(date +%s%N) - start > 60000000000 )) && { echo "run $run: no ready line after 60 s" >&2; exit 1; }
        sleep 0.02
    done
    end=$(date +%s%N)
    kill "$QPID"; wait "$QPID" 2>/dev/null || true; QPID=
    ms=$(( (end - start) / 1000000 ))
    printf 'run %d: %d.%02d s\n' "$run" $((ms / 1000)) $((ms % 1000 / 10))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
