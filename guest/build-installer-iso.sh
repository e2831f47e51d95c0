#!/usr/bin/env bash
# Build a small bootable installer ISO (issue 15 item 3's test ISO): BIOS El Torito, made with grub-mkrescue + xorriso.
# Booted from the CD it runs Debian's kernel (the one linux-busybox is made from) with an initramfs that, on the serial
# console, writes a prepared bootable disk onto the machine's blank virtio disk /dev/vda: an MBR with one ext4 partition
# holding GRUB (i386-pc, in the MBR and the gap before the partition), the kernel and a busybox initramfs. The
# partitioning and formatting are done at build time on that image (the simplest honest way); the installer checks the
# disk, writes it with progress, syncs, prints "Virtuoso installer: done" and powers off. Booted from its disk
# afterwards, the installed system prints "Virtuoso installed system ready" on the serial console and gives a root shell.
#
# Usage: guest/build-installer-iso.sh OUTFILE
#
# Writes OUTFILE and OUTFILE.stamp (the sha256 of this script); an up-to-date OUTFILE exits at once. Kernel and busybox
# come from Debian packages in VIRTUOSO_DEB_CACHE (default <repo>/build/cache/debs; downloaded with apt-get download
# when missing). Installs the build tools (grub-pc-bin grub2-common xorriso fdisk e2fsprogs cpio kmod) when missing.
# See docs/guest.md "Installer ISO".
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)
[[ $# -eq 1 ]] || { echo "usage: $0 OUTFILE" >&2; exit 2; }
OUT=$1
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
CACHE=${VIRTUOSO_DEB_CACHE:-$REPO_ROOT/build/cache/debs}
DISK_MB=32              # the installed system's disk image; the blank disk must be at least this large
APPEND="console=tty0 console=ttyS0,115200 quiet"

log() { echo "build-installer-iso: $*" >&2; }
die() { echo "build-installer-iso: ERROR: $*" >&2; exit 1; }

SCRIPT_SHA=$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)
if [[ -f $OUT && -f $OUT.stamp && "$(cat "$OUT.stamp")" == "$SCRIPT_SHA" ]]; then
    log "$OUT is up to date"
    exit 0
fi

missing=()
for pkg in grub-pc-bin grub2-common xorriso fdisk e2fsprogs cpio kmod; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if ((${#missing[@]} > 0)); then
    [[ $EUID == 0 ]] || die "missing packages: ${missing[*]} (run as root, or install them)"
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >&2 ||
        die "cannot install ${missing[*]}"
fi
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$CACHE" "$(dirname "$OUT")"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtuoso-installer.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# deb PATTERN PACKAGE: the newest cached .deb matching PATTERN, downloaded first when none is cached.
deb() {
    local f
    f=$(ls -t "$CACHE"/$1 2>/dev/null | head -n1) || true
    if [[ -z $f ]]; then
        log "downloading $2"
        (cd "$CACHE" && apt-get download -qq -o APT::Sandbox::User=root "$2" >&2) || die "cannot download $2"
        f=$(ls -t "$CACHE"/$1 | head -n1)
    fi
    echo "$f"
}
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }') || true
if [[ -n $KPKG ]]; then KDEB=$(deb "${KPKG}_*.deb" "$KPKG"); else KDEB=$(deb 'linux-image-[0-9]*-amd64_*.deb' linux-image-amd64); fi
BDEB=$(deb 'busybox-static_*.deb' busybox-static)
log "kernel: $(basename "$KDEB"); busybox: $(basename "$BDEB")"
dpkg-deb -x "$KDEB" "$WORK/k"
dpkg-deb -x "$BDEB" "$WORK/b"
[[ ! -d $WORK/k/lib/modules && -d $WORK/k/usr/lib/modules ]] && { mkdir -p "$WORK/k/lib"; mv "$WORK/k/usr/lib/modules" "$WORK/k/lib/"; }
KVER=$(ls "$WORK/k/lib/modules" | head -n1)
VMLINUZ=$WORK/k/boot/vmlinuz-$KVER
[[ -f $VMLINUZ ]] || die "no kernel in $(basename "$KDEB")"
depmod -b "$WORK/k" "$KVER"

# initramfs DIR MODULES...: busybox, and the modules (with their dependencies, in load order) listed in /etc/modules.
initramfs() {
    local root=$1 m line; shift
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,etc,lib/modules}
    cp "$WORK/b/bin/busybox" "$root/bin/busybox"
    for m in $("$root/bin/busybox" --list); do [[ $m == busybox ]] || ln -s busybox "$root/bin/$m"; done
    : >"$root/etc/modules"
    for m in "$@"; do
        modprobe -d "$WORK/k" -S "$KVER" --show-depends "$m" | while read -r line; do
            [[ $line == insmod\ * ]] || continue
            line=${line#insmod }; line=${line%% *}
            grep -qx "/lib/modules/${line##*/lib/modules/}" "$root/etc/modules" && continue
            mkdir -p "$root/$(dirname "${line#$WORK/k}")"
            cp "$line" "$root/${line#$WORK/k}"
            echo "${line#$WORK/k}" >>"$root/etc/modules"
        done
    done
}
pack() { (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$2"; }

# ---------------------------------------------------------------------------------------
# The installed system: GRUB + kernel + an initramfs that says it is ready and gives a shell
# ---------------------------------------------------------------------------------------
SYS=$WORK/sys-initrd
initramfs "$SYS"
cat >"$SYS/init" <<'EOF'
#!/bin/sh
# Virtuoso installed system (guest/build-installer-iso.sh): booted by GRUB from the disk the installer wrote.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
exec </dev/console >/dev/console 2>&1
echo "Virtuoso installed system ready"
while true; do setsid cttyhack sh -l; done
EOF
chmod 755 "$SYS/init"

ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)
FS=$WORK/fs
mkdir -p "$FS/boot/grub/i386-pc"
cp "$VMLINUZ" "$FS/boot/vmlinuz"
pack "$SYS" "$FS/boot/initrd.img"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$FS/boot/grub/i386-pc/"
cat >"$FS/boot/grub/grub.cfg" <<EOF
set timeout=0
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
linux /boot/vmlinuz $APPEND
initrd /boot/initrd.img
boot
EOF
printf 'search.fs_uuid %s root\nset prefix=($root)/boot/grub\n' "$ROOT_UUID" >"$WORK/early.cfg"
grub-mkimage -O i386-pc -o "$WORK/core.img" -c "$WORK/early.cfg" -p /boot/grub biosdisk part_msdos ext2 search_fs_uuid
CORE_SECTORS=$(( ($(stat -c %s "$WORK/core.img") + 511) / 512 ))
[[ "$(od -An -tu2 -j 508 -N 2 "$WORK/core.img" | tr -d ' ')" == $((CORE_SECTORS - 1)) ]] || die "unexpected block list in core.img"

# The disk: MBR, partition 1 from 1 MiB, ext4 made from $FS, GRUB's boot.img in the MBR and core.img in the gap.
DISK=$WORK/disk.img
truncate -s "${DISK_MB}M" "$DISK"
echo 'start=2048, type=83, bootable' | sfdisk --quiet --label dos "$DISK" >&2
truncate -s "$((DISK_MB - 1))M" "$WORK/part.img"
mkfs.ext4 -q -L installed -U "$ROOT_UUID" -d "$FS" "$WORK/part.img"
dd if="$WORK/part.img" of="$DISK" bs=1M seek=1 conv=notrunc,sparse status=none
dd if=/usr/lib/grub/i386-pc/boot.img of="$DISK" bs=440 count=1 conv=notrunc status=none
dd if="$WORK/core.img" of="$DISK" bs=512 seek=1 conv=notrunc status=none

# ---------------------------------------------------------------------------------------
# The installer: an initramfs carrying the disk image
# ---------------------------------------------------------------------------------------
INS=$WORK/installer-initrd
initramfs "$INS" virtio_pci virtio_blk
gzip -9 -n -c "$DISK" >"$INS/disk.img.gz"
cat >"$INS/init" <<EOF
#!/bin/sh
# Virtuoso installer (guest/build-installer-iso.sh): writes the system it carries onto the blank virtio disk /dev/vda.
DISK_MB=$DISK_MB
EOF
cat >>"$INS/init" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
exec </dev/console >/dev/console 2>&1
mkdir -p /tmp
fail() { echo "Virtuoso installer: FAILED: $*"; echo "Virtuoso installer: a shell; 'poweroff -f' ends it"; exec setsid cttyhack sh; }
echo "Virtuoso installer: loading the virtio drivers"
while read -r m; do insmod "$m" 2>/dev/null; done </etc/modules
i=0
while [ ! -b /dev/vda ]; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "no virtio disk /dev/vda"
    sleep 0.1
done
size_mb=$(( $(cat /sys/block/vda/size) / 2048 ))
[ "$size_mb" -ge "$DISK_MB" ] || fail "/dev/vda has $size_mb MB, the system needs $DISK_MB MB"
echo "Virtuoso installer: /dev/vda has $size_mb MB"
echo "Virtuoso installer: partitioning /dev/vda (MBR, one ext4 partition from 1 MiB) and formatting it"
echo "Virtuoso installer: writing the system ($DISK_MB MB: GRUB, Linux, a busybox system)"
gunzip -c /disk.img.gz >/tmp/disk.img || fail "cannot unpack the system"
mb=0
while [ $mb -lt $DISK_MB ]; do
    dd if=/tmp/disk.img of=/dev/vda bs=1M skip=$mb seek=$mb count=4 conv=notrunc 2>/tmp/dd.log || fail "writing /dev/vda: $(cat /tmp/dd.log)"
    mb=$((mb + 4))
    echo "Virtuoso installer: written $mb of $DISK_MB MB ($((100 * mb / DISK_MB))%)"
done
sync
echo "Virtuoso installer: done"
sleep 1
poweroff -f
EOF
chmod 755 "$INS/init"

ISO=$WORK/iso
mkdir -p "$ISO/boot/grub"
cp "$VMLINUZ" "$ISO/boot/vmlinuz"
pack "$INS" "$ISO/boot/installer.img"
cat >"$ISO/boot/grub/grub.cfg" <<EOF
set timeout=0
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
echo "Virtuoso installer: booting"
linux /boot/vmlinuz $APPEND
initrd /boot/installer.img
boot
EOF
log "grub-mkrescue"
grub-mkrescue -o "$WORK/installer.iso" "$ISO" -- -volid VIRTUOSO_INSTALLER >&2 2>"$WORK/mkrescue.log" || { cat "$WORK/mkrescue.log" >&2; die "grub-mkrescue failed"; }
mv "$WORK/installer.iso" "$OUT.tmp"
echo "$SCRIPT_SHA" >"$OUT.stamp.tmp"
mv "$OUT.tmp" "$OUT"
mv "$OUT.stamp.tmp" "$OUT.stamp"
log "built $OUT ($(du -h "$OUT" | cut -f1)), kernel $KVER"
