#!/usr/bin/env bash
# Boot-test the linux-busybox guest image under TCG (never KVM).
#
# Usage: guest/test-boot.sh [OUTDIR]        (default: <repo>/build/images/linux-busybox)
#
# Environment: TEST_MACHINE (pc|q35, default pc as the agent), TEST_MEM_MB (default 256),
#              TEST_OVERLAY_SIZE (virtual size of the overlay, default 2000M: larger than
#              the base, as the agent may create it), TEST_KEEP=1 keeps the work dir.
#
# Boot 1: fresh copy-on-write overlay; wait (60 s) for "Virtuoso guest ready" on the serial
#         console; check the root fs is rw and eth0 is up; write /root/x through the serial
#         shell and sync; type a command on the VGA console (QMP send-key) and check it ran;
#         power off with QMP system_powerdown and wait for QEMU to exit.
# Boot 2: same overlay; wait for ready; check /root/x survived and the file system was
#         cleanly unmounted (no journal recovery); `poweroff` typed in the
#         serial shell must end QEMU.
# Exits 0 on success, non-zero with a message otherwise.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)
IMG=${1:-$REPO_ROOT/build/images/linux-busybox}
IMG=$(readlink -f "$IMG")

die() { echo "test-boot: FAIL: $*" >&2; exit 1; }
for f in vmlinuz initrd.img disk.qcow2 image.json; do
    [[ -f $IMG/$f ]] || die "$IMG/$f missing (build it with guest/build-image.sh)"
done
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
command -v qemu-img >/dev/null || die "qemu-img not installed (apt-get install qemu-utils)"
command -v python3 >/dev/null || die "python3 not installed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtuoso-boot-test.XXXXXX")
if [[ ${TEST_KEEP:-0} != 1 ]]; then trap 'rm -rf "$WORK"' EXIT; fi
echo "test-boot: work dir $WORK"

qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/disk.qcow2" "$WORK/overlay.qcow2" "${TEST_OVERLAY_SIZE:-2000M}"

python3 - "$IMG" "$WORK" "${TEST_MACHINE:-pc}" "${TEST_MEM_MB:-256}" <<'PY'
import json, os, socket, subprocess, sys, time

img, work, machine, mem = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
meta = json.load(open(os.path.join(img, "image.json")))
READY = b"Virtuoso guest ready"


class Fail(Exception):
    pass


class Guest:
    def __init__(self, run):
        self.run = run
        self.serial_path = os.path.join(work, f"serial{run}.sock")
        self.serial_log = os.path.join(work, f"serial{run}.log")
        self.qmp_path = os.path.join(work, f"qmp{run}.sock")
        self.buf = b""
        # The provider agent's command line (src/Virtuoso.Agent/Vmm/Qemu/QemuCommandLine.cs), with
        # the VNC server on a unix socket: the serial port is a listening socket whose output is
        # also logged to a file (also before anyone connects).
        self.args = [
            "qemu-system-x86_64", "-machine", machine, "-accel", "tcg", "-m", mem, "-smp", "1",
            "-nodefaults", "-no-user-config", "-vga", "std", "-display", "none",
            "-vnc", f"unix:{os.path.join(work, f'vnc{run}.sock')}",
            "-drive", f"file={os.path.join(work, 'overlay.qcow2')},if=virtio,format=qcow2",
            "-netdev", "user,id=n0",
            "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56",
            "-chardev", f"socket,id=s0,path={self.serial_path},server=on,wait=off,logfile={self.serial_log},logappend=on",
            "-serial", "chardev:s0",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            "-kernel", os.path.join(img, meta["kernel"]),
            "-initrd", os.path.join(img, meta["initrd"]),
            "-append", meta["append"],
        ]
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(work, f"qemu{run}.log"), "wb"),
                                     stderr=subprocess.STDOUT)
        self.ser = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.ser.connect(self.serial_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc.poll() is not None or time.monotonic() - self.t0 > 20:
                    raise Fail(f"boot {run}: QEMU did not open its serial socket (see {work}/qemu{run}.log)")
                time.sleep(0.02)
        self.qmp = None

    def read_until(self, needle, timeout, what):
        deadline = time.monotonic() + timeout
        while needle not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail(f"boot {self.run}: timeout ({timeout} s) waiting for {what}; "
                           f"serial output so far: {self.buf[-2000:]!r}")
            if self.proc.poll() is not None:
                raise Fail(f"boot {self.run}: QEMU exited ({self.proc.returncode}) while waiting for {what}; "
                           f"serial output: {self.buf[-2000:]!r}")
            self.ser.settimeout(min(left, 0.5))
            try:
                data = self.ser.recv(4096)
            except socket.timeout:
                continue
            if not data:
                time.sleep(0.1)
                continue
            self.buf += data
        i = self.buf.index(needle) + len(needle)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen

    def wait_ready(self):
        # The log file has everything the guest printed; the socket only what came after we
        # connected.  Time the ready line from the log, then consume it from the socket.
        deadline = self.t0 + 60
        while True:
            with open(self.serial_log, "rb") as f:
                if READY in f.read():
                    break
            if self.proc.poll() is not None:
                raise Fail(f"boot {self.run}: QEMU exited ({self.proc.returncode}) before {READY.decode()!r}")
            if time.monotonic() > deadline:
                raise Fail(f"boot {self.run}: no {READY.decode()!r} within 60 s; see {self.serial_log}")
            time.sleep(0.02)
        t = time.monotonic() - self.t0
        self.read_until(READY, 10, repr(READY.decode()) + " on the serial socket")
        return t

    def sh(self, cmd, timeout=20):
        """Run cmd in the serial shell; return its output (between two markers)."""
        n = os.urandom(4).hex()
        # The markers are split by '' in the command so the echoed line does not match.
        self.ser.sendall(f"echo BE''GIN{n}; {cmd}; echo EN''D{n}\n".encode())
        self.read_until(f"BEGIN{n}".encode(), timeout, f"output of {cmd!r}")
        out = self.read_until(f"END{n}".encode(), timeout, f"output of {cmd!r}")
        return out[: -len(f"END{n}")].decode(errors="replace").replace("\r", "").strip()

    def qmp_cmd(self, cmd, **args):
        if self.qmp is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.qmp_path)
            self.qmp = s.makefile("rwb", buffering=0)
            json.loads(self.qmp.readline())            # greeting
            self.qmp_cmd("qmp_capabilities")
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.qmp.write(json.dumps(msg).encode() + b"\n")
        while True:
            r = json.loads(self.qmp.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise Fail(f"QMP {cmd}: {r['error']}")

    def wait_exit(self, timeout, what):
        t = time.monotonic()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail(f"boot {self.run}: QEMU still running {timeout} s after {what}; "
                       f"serial tail: {self.buf[-1000:]!r}")
        # drain the rest of the serial output into the log
        try:
            self.ser.settimeout(0.2)
            while True:
                d = self.ser.recv(4096)
                if not d:
                    break
                self.buf += d
        except OSError:
            pass
        return time.monotonic() - t

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def send_keys(g, text):
    names = {" ": "spc", "/": "slash", "\n": "ret", ".": "dot", "-": "minus"}
    for ch in text:
        g.qmp_cmd("send-key", keys=[{"type": "qcode", "data": names.get(ch, ch)}])
        time.sleep(0.03)


g = None
try:
    # ---------------------------------------------------------------- boot 1
    g = Guest(1)
    t = g.wait_ready()
    print(f"test-boot: boot 1: ready after {t:.1f} s (machine {machine}, -m {mem})")
    mounts = g.sh("grep ' / ' /proc/mounts")
    if " rw," not in mounts + ",":
        raise Fail(f"root not mounted read-write: {mounts!r}")
    link = g.sh("ip -o link show eth0")
    if ",UP" not in link and "<UP" not in link:
        raise Fail(f"eth0 not up: {link!r}")
    if g.sh("grep -c 'Power Button' /proc/bus/input/devices") in ("", "0"):
        raise Fail("no ACPI power button input device")
    if "acpid" not in g.sh("ps | grep [a]cpid"):
        raise Fail("acpid not running")
    token = os.urandom(6).hex()
    g.sh(f"echo {token} > /root/x && sync")
    if g.sh("cat /root/x") != token:
        raise Fail("writing /root/x through the serial console failed")
    print("test-boot: boot 1: root rw, eth0 up, acpid running, /root/x written")
    # VGA console (tty1): type through the emulated keyboard, check the effect on serial.
    send_keys(g, "touch /root/vga\n")
    deadline = time.monotonic() + 10
    while g.sh("test -e /root/vga && echo yes || echo no") != "yes":
        if time.monotonic() > deadline:
            raise Fail("command typed on the VGA console (tty1) did not run")
        time.sleep(0.5)
    g.qmp_cmd("screendump", filename=os.path.join(work, "vga1.ppm"))
    print("test-boot: boot 1: VGA console shell works (screendump in vga1.ppm)")
    g.qmp_cmd("system_powerdown")
    t = g.wait_exit(30, "system_powerdown")
    print(f"test-boot: boot 1: system_powerdown -> QEMU exited after {t:.1f} s")
    g.kill()

    # ---------------------------------------------------------------- boot 2
    g = Guest(2)
    t = g.wait_ready()
    print(f"test-boot: boot 2: ready after {t:.1f} s")
    got = g.sh("cat /root/x")
    if got != token:
        raise Fail(f"/root/x did not survive power-off and reboot: got {got!r}, want {token!r}")
    if g.sh("dmesg | grep -c 'recovery complete'") not in ("", "0"):
        raise Fail("ext4 journal recovery ran on boot 2: the power-off was not clean")
    print("test-boot: boot 2: /root/x persisted")
    g.ser.sendall(b"poweroff\n")
    t = g.wait_exit(30, "typing poweroff")
    print(f"test-boot: boot 2: poweroff -> QEMU exited after {t:.1f} s")
    g.kill()
except Fail as e:
    if g:
        g.kill()
    print(f"test-boot: FAIL: {e}", file=sys.stderr)
    print(f"test-boot: logs in {work} (set TEST_KEEP=1 to keep them)", file=sys.stderr)
    sys.exit(1)
print("test-boot: PASS")
PY
