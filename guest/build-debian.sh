#!/usr/bin/env bash
# Build the Virtuoso guest image "debian-12" (issue 15 item 1): Debian bookworm made with mmdebstrap from Debian's
# packages, on a partitioned disk that boots by itself (GRUB in the MBR, no -kernel), so a migrated or copied disk boots
# on any host:
#   * Debian's kernel (linux-image-amd64) and initramfs (initramfs-tools, only the virtio/ext4 modules), systemd as init,
#   * openssh-server; root logs in with the keys of the seed only (no passwords, no default user),
#   * cloud-init reading only the NoCloud seed the agent attaches (docs/guest.md): hostname, root's keys, and growpart +
#     resizefs, which grow the root partition and file system to the purchased disk at every boot,
#   * systemd-networkd as the DHCP client of the NIC (QEMU's user-mode network: 10.0.2.15, DNS 10.0.2.3).
#
# Usage: guest/build-debian.sh [OUTDIR]      (default: <repo>/build/images/debian-12)
#
# Writes OUTDIR/{disk.qcow2,image.json} plus OUTDIR/.stamp (the sha256 of this script). Re-running with an up-to-date
# OUTDIR exits at once. Downloaded .deb files are kept in VIRTUOSO_DEB_CACHE (default <repo>/build/cache/debs), shared
# with guest/build-image.sh. Needs root (mmdebstrap's root mode); no loop device or mount. Installs the build
# tools (mmdebstrap grub-pc-bin fdisk e2fsprogs qemu-utils) when missing. VIRTUOSO_DEBIAN_MIRROR overrides the mirror.
# See docs/guest.md.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)
OUT=${1:-$REPO_ROOT/build/images/debian-12}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
OUT=${OUT%/}
CACHE=${VIRTUOSO_DEB_CACHE:-$REPO_ROOT/build/cache/debs}
MIRROR=${VIRTUOSO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${VIRTUOSO_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

IMAGE_NAME=debian-12
DISK_MB=2048            # virtual size of disk.qcow2 in MiB: the image's minimum disk (cloud-init grows it to any larger disk)
MIN_MEMORY_MB=256       # measured under TCG, docs/guest.md "debian-12"
# The agent's serial log shows the boot (kernel, systemd, cloud-init's banner and keys), and tty0 the VGA console.
APPEND="console=tty0 console=ttyS0,115200"

PACKAGES=(
    systemd-sysv udev dbus linux-image-amd64 initramfs-tools
    openssh-server cloud-init cloud-guest-utils fdisk e2fsprogs
    iproute2 ca-certificates less
)
# Units a TCG guest should not spend its first minutes on (timers that start apt, man-db, e2scrub...): masked, since
# systemd applies the presets again at a first boot (empty /etc/machine-id), which would re-enable disabled units.
MASKED_UNITS=(
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
    man-db.timer man-db.service e2scrub_all.timer e2scrub_all.service e2scrub_reap.service
    fstrim.timer logrotate.timer dpkg-db-backup.timer
    systemd-networkd-wait-online.service   # nothing here waits for "online"
    # cloud-init runs once per boot (cloud-init.service: the seed is a local file system, read in its "init" stage);
    # each of these would be another Python start-up of cloud-init, 5 s on an idle host under TCG, 20-30 s on a busy one.
    # The network is systemd-networkd's DHCP (below), not cloud-init's network config (its local stage).
    cloud-init-local.service cloud-config.service cloud-final.service
)
# Kernel modules for hardware a QEMU guest does not have (~2/3 of the package's size).
PRUNED_MODULES=(
    drivers/net/wireless drivers/media drivers/gpu/drm/amd drivers/gpu/drm/nouveau drivers/gpu/drm/i915 drivers/gpu/drm/radeon
    drivers/infiniband drivers/staging drivers/bluetooth drivers/iio drivers/isdn drivers/scsi/qla2xxx drivers/scsi/lpfc
    drivers/net/ethernet/mellanox drivers/net/ethernet/chelsio drivers/net/ethernet/qlogic drivers/net/ethernet/broadcom
    drivers/hid drivers/usb/serial drivers/mfd drivers/thunderbolt drivers/platform/x86 sound net/wireless net/mac80211
    net/bluetooth
)

log() { echo "build-debian: $*" >&2; }
die() { echo "build-debian: ERROR: $*" >&2; exit 1; }

SCRIPT_SHA=$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)
if [[ -f $OUT/disk.qcow2 && -f $OUT/image.json && -f $OUT/.stamp && "$(cat "$OUT/.stamp")" == "$SCRIPT_SHA" ]]; then
    log "$OUT is up to date"
    exit 0
fi
[[ $EUID == 0 ]] || die "must run as root (mmdebstrap's root mode)"

# ---------------------------------------------------------------------------------------
# Host tools
# ---------------------------------------------------------------------------------------
ensure_tools() {
    local missing=() pkg
    for pkg in mmdebstrap grub-pc-bin grub2-common fdisk e2fsprogs qemu-utils; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" >&2 ||
        die "cannot install ${missing[*]}"
}
ensure_tools
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$CACHE" "$(dirname "$OUT")"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtuoso-debian.XXXXXX")
STAGE=$(mktemp -d "$OUT.tmp.XXXXXX")
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT

# ---------------------------------------------------------------------------------------
# Root file system (mmdebstrap into a directory)
# ---------------------------------------------------------------------------------------
ROOTFS=$WORK/rootfs
ROOT_UUID=$(cat /proc/sys/kernel/random/uuid)

# Files that must be there before the packages are configured: initramfs-tools' settings (a small initramfs for virtio
# disks, not MODULES=most) and cloud-init's (read only the seed; never probe cloud metadata services and time out).
PRE=$WORK/pre
mkdir -p "$PRE/etc/initramfs-tools/conf.d" "$PRE/etc/initramfs-tools/hooks" "$PRE/etc/cloud/cloud.cfg.d"
cat >"$PRE/etc/initramfs-tools/conf.d/virtuoso.conf" <<'EOF'
# Virtuoso debian-12: the initramfs only needs to reach an ext4 root on a virtio disk (hooks/virtuoso; docs/guest.md).
MODULES=list
EOF
# A hook rather than /etc/initramfs-tools/modules, which is a conffile of initramfs-tools. udev loads the drivers by
# modalias, the mount loads ext4. crc32c_generic: ext4 metadata checksums.
cat >"$PRE/etc/initramfs-tools/hooks/virtuoso" <<'EOF'
#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk virtio_scsi crc32c_generic ext4
EOF
chmod 755 "$PRE/etc/initramfs-tools/hooks/virtuoso"
cat >"$PRE/etc/cloud/cloud.cfg.d/90_virtuoso.cfg" <<'EOF'
# Virtuoso debian-12 (issue 15, docs/guest.md): the provider agent attaches a NoCloud seed (ISO 9660 labelled cidata) at
# every start, with meta-data (instance-id = the machine's id, local-hostname = its name) and user-data (root's
# ssh_authorized_keys). Nothing else is looked for: no cloud metadata service is probed (they would time out).
datasource_list: [NoCloud, None]
# Root logs in with the seed's keys; no default user, no passwords.
disable_root: false
users: []
ssh_pwauth: false
# Host keys are made once per machine (the image has none) and kept across boots, also when the modules run again;
# ed25519 only: RSA 3072 alone took 35 s under TCG.
ssh_deletekeys: false
ssh_genkeytypes: [ed25519]
manage_etc_hosts: true
# systemd-networkd's DHCP configures the NIC (the seed carries no network config; cloud-init's fallback would be the
# same DHCP on the first NIC, written by its local stage, one more Python start-up at every boot).
network: {config: disabled}
preserve_hostname: false
growpart:
  mode: auto
  devices: ['/']
resize_rootfs: true
# Only what the seed configures, each at every boot, so that the name and keys of the latest start apply (a key removed
# from the account stops working at the next start, as on linux-busybox). bootcmd first empties root's authorized_keys,
# since cloud-init's ssh module adds keys but never removes any. The rest of cloud-init's modules are not run.
bootcmd:
  - [sh, -c, 'rm -f /root/.ssh/authorized_keys']
cloud_init_modules:
  - [bootcmd, always]
  - growpart
  - resizefs
  - [set_hostname, always]
  - [update_hostname, always]
  - [update_etc_hosts, always]
  - [ssh, always]
cloud_config_modules: []
cloud_final_modules: []
EOF

log "mmdebstrap bookworm (${PACKAGES[*]})"
mmdebstrap --mode=root --variant=minbase --format=directory \
    --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --skip=download/empty --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in '$CACHE' /var/cache/apt/archives/" \
    --setup-hook="copy-in '$PRE/etc/initramfs-tools' '$PRE/etc/cloud' /etc/" \
    --customize-hook="sync-out /var/cache/apt/archives '$CACHE'" \
    --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
    bookworm "$ROOTFS" \
    "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" "deb $SECURITY_MIRROR bookworm-security main" >&2

# --- configuration ------------------------------------------------------------------------
R=$ROOTFS
KVER=$(ls "$R/lib/modules" | sort -V | tail -n1)
[[ -n $KVER && -e $R/boot/vmlinuz-$KVER ]] || die "no kernel in the root file system"

for dir in "${PRUNED_MODULES[@]}"; do rm -rf "${R:?}/lib/modules/$KVER/kernel/$dir"; done
chroot "$R" depmod "$KVER"
chroot "$R" update-initramfs -u -k "$KVER" >&2

cat >"$R/etc/fstab" <<EOF
# <file system> <mount point> <type> <options> <dump> <pass>
# No fsck at boot (3.6 s under TCG): ext4's journal is replayed at mount.
UUID=$ROOT_UUID / ext4 errors=remount-ro 0 0
EOF
echo debian >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n' >"$R/etc/hosts"
# Each machine gets its own machine id and SSH host keys at its first boot (cloud-init's ssh module makes missing keys).
: >"$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id" "$R"/etc/ssh/ssh_host_*
# cloud-init keeps the datasource it read (obj.pkl) and, while the seed's instance-id (the machine's id) is the same,
# uses that copy at the next boot instead of the seed: the name and keys of a later start would never apply. Read the
# seed afresh at every boot; the instance stays the same (/var/lib/cloud/data/instance-id), so per-instance work is not
# redone. cloud-init.service has no default dependencies and came after the root's remount only through the masked
# cloud-init-local.service: order it after that itself (it ran on the read-only root otherwise).
mkdir -p "$R/etc/systemd/system/cloud-init.service.d"
cat >"$R/etc/systemd/system/cloud-init.service.d/virtuoso.conf" <<'EOF'
[Unit]
After=systemd-remount-fs.service local-fs.target
RequiresMountsFor=/var/lib/cloud

[Service]
ExecStartPre=/bin/rm -f /var/lib/cloud/instance/obj.pkl
EOF
# If cloud-init has not made the host key (no seed at all), sshd makes its own rather than failing to start.
mkdir -p "$R/etc/systemd/system/ssh.service.d"
cat >"$R/etc/systemd/system/ssh.service.d/virtuoso.conf" <<'EOF'
[Service]
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
EOF
cat >"$R/etc/ssh/sshd_config.d/virtuoso.conf" <<'EOF'
# Virtuoso debian-12: keys only (the seed's, for root); one ed25519 host key.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
passwd -R "$R" -l root >/dev/null
# DHCP on every Ethernet NIC (the agent gives one: virtio-net on QEMU's user-mode network). DNS: QEMU's user-mode
# network always answers on 10.0.2.3, so resolv.conf is static rather than another daemon (systemd-resolved, 15 s of a
# busy TCG boot).
cat >"$R/etc/systemd/network/80-virtuoso-dhcp.network" <<'EOF'
[Match]
Type=ether

[Network]
DHCP=yes
EOF
chroot "$R" systemctl enable systemd-networkd.service >&2
chroot "$R" systemctl mask "${MASKED_UNITS[@]}" >&2
rm -f "$R/etc/resolv.conf"
printf '# QEMU user-mode network (Virtuoso debian-12, guest/build-debian.sh)\nnameserver 10.0.2.3\n' >"$R/etc/resolv.conf"
# The journal in memory only (a TCG guest's disk writes are slow, and the overlay grows with every log line).
mkdir -p "$R/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n' >"$R/etc/systemd/journald.conf.d/virtuoso.conf"
# Boot straight on, whatever GRUB finds (a single entry, no menu; the serial line shows GRUB too).
mkdir -p "$R/boot/grub"
cat >"$R/boot/grub/grub.cfg" <<EOF
# Virtuoso debian-12 (guest/build-debian.sh). /vmlinuz and /initrd.img are Debian's links to the newest kernel, so a
# kernel upgraded in the guest boots too.
set timeout=0
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
search --no-floppy --fs-uuid --set=root $ROOT_UUID
linux /vmlinuz root=UUID=$ROOT_UUID ro $APPEND
initrd /initrd.img
boot
EOF
[[ -e $R/vmlinuz && -e $R/initrd.img ]] || die "Debian's /vmlinuz and /initrd.img links are missing"
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/log/*.log "$R"/tmp/* "$R"/var/tmp/*

# GRUB for BIOS (i386-pc), installed as grub-install would, but on a file: this machine's loop devices have no
# partitions. core.img carries a first config that finds the root file system by its UUID (whichever BIOS disk it is),
# then loads normal.mod and grub.cfg from /boot/grub; the MBR's boot.img loads core.img from sector 1.
mkdir -p "$R/boot/grub/i386-pc"
cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst "$R/boot/grub/i386-pc/"
printf 'search.fs_uuid %s root\nset prefix=($root)/boot/grub\n' "$ROOT_UUID" >"$WORK/early.cfg"
grub-mkimage -O i386-pc -o "$WORK/core.img" -c "$WORK/early.cfg" -p /boot/grub biosdisk part_msdos ext2 search_fs_uuid
CORE_SECTORS=$(( ($(stat -c %s "$WORK/core.img") + 511) / 512 ))
((CORE_SECTORS < 2047)) || die "core.img ($CORE_SECTORS sectors) does not fit before the partition"
# diskboot.img's block list (the last 12 bytes of core.img's first sector): the rest of core.img, from sector 2.
[[ "$(od -An -tu2 -j 508 -N 2 "$WORK/core.img" | tr -d ' ')" == $((CORE_SECTORS - 1)) ]] ||
    die "unexpected block list in core.img"

# ---------------------------------------------------------------------------------------
# Disk: MBR, one bootable ext4 partition from 1 MiB (GRUB's core.img goes in the gap before it)
# ---------------------------------------------------------------------------------------
RAW=$WORK/disk.raw
PARTRAW=$WORK/part.raw
truncate -s "${DISK_MB}M" "$RAW"
echo 'start=2048, type=83, bootable' | sfdisk --quiet --label dos "$RAW" >&2
truncate -s "$((DISK_MB - 1))M" "$PARTRAW"
# Inode tables and journal initialised now, so the guest writes no lazy-init data into its overlay.
mkfs.ext4 -q -L debian-root -U "$ROOT_UUID" -E lazy_itable_init=0,lazy_journal_init=0 -d "$ROOTFS" "$PARTRAW"
dd if="$PARTRAW" of="$RAW" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$PARTRAW"
dd if=/usr/lib/grub/i386-pc/boot.img of="$RAW" bs=440 count=1 conv=notrunc status=none   # keeps the partition table
dd if="$WORK/core.img" of="$RAW" bs=512 seek=1 conv=notrunc status=none

log "qemu-img convert (compressed qcow2)"
qemu-img convert -c -f raw -O qcow2 "$RAW" "$STAGE/disk.qcow2"
# "os": the label the front-end's image catalogue shows buyers.
printf '{"name":"%s","os":"Debian GNU/Linux 12 (bookworm)","disk":"disk.qcow2","minMemoryMb":%d,"minDiskMb":%d}\n' "$IMAGE_NAME" "$MIN_MEMORY_MB" "$DISK_MB" >"$STAGE/image.json"
echo "$SCRIPT_SHA" >"$STAGE/.stamp"
chmod 755 "$STAGE"
chmod 644 "$STAGE"/*

if [[ -e $OUT ]]; then
    OLD=$(mktemp -d "$OUT.old.XXXXXX")
    mv "$OUT" "$OLD/"
    mv "$STAGE" "$OUT"
    rm -rf "$OLD"
else
    mv "$STAGE" "$OUT"
fi
log "built $OUT (kernel $KVER): disk.qcow2 $(du -h "$OUT/disk.qcow2" | cut -f1)"
