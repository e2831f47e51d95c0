#!/usr/bin/env bash
# Build the Virtuoso guest image "linux-busybox" from Debian packages:
#   * the kernel of Debian's linux-image-amd64 (the concrete linux-image-*-amd64 it depends on),
#   * Debian's static busybox (busybox-static),
#   * Debian's dropbear SSH server (dropbear-bin) with the shared libraries it needs (found with ldd).
#
# Usage: guest/build-image.sh [OUTDIR]      (default: <repo>/build/images/linux-busybox)
#
# Writes OUTDIR/{vmlinuz,initrd.img,disk.qcow2,image.json} plus OUTDIR/.stamp (the sha256
# of this script).  Re-running with an up-to-date OUTDIR exits at once.  Downloaded .deb
# files are kept in <repo>/build/cache/debs.  Nothing is installed on the host except the
# build tools (cpio e2fsprogs qemu-utils qemu-system-x86 kmod, and dropbear-bin, whose shared libraries
# are copied into the image), and only when missing.
# See docs/guest.md.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)
OUT=${1:-$REPO_ROOT/build/images/linux-busybox}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
OUT=${OUT%/}
CACHE=${VIRTUOSO_DEB_CACHE:-$REPO_ROOT/build/cache/debs}

IMAGE_NAME=linux-busybox
DISK_MB=1000            # virtual size of disk.qcow2 in MiB (the image's minimum disk)
MIN_MEMORY_MB=128       # Debian's kernel panics below ~96 MB
APPEND="console=tty0 console=ttyS0,115200 root=/dev/vda rw quiet"

# Modules loaded by the initramfs to reach the root disk (dependencies are added from
# modules.dep).  crc32c_generic: ext4/jbd2 metadata checksums need the crc32c crypto driver.
INITRD_MODULES="crc32c_generic virtio_pci virtio_blk ext4"
# Modules available on the root disk (loaded by rcS, or on demand via busybox modprobe).
# Graphics: the kernel is booted through its PVH entry (see "Kernel" below), which leaves the
# VGA text console (vgacon) unusable; the VGA console (tty0/tty1, seen through VNC) is fbcon on
# a DRM driver instead: bochs for QEMU's standard VGA (-vga std, the default on pc and q35),
# cirrus (-vga cirrus), virtio_gpu (-vga virtio).  rcS loads drivers for the PCI and virtio
# devices present (modalias), so only the matching one is loaded.
# isofs: the cloud-init NoCloud seed drive (ISO 9660, labelled cidata) that the agent attaches read-only.
ROOTFS_MODULES="$INITRD_MODULES virtio_net button evdev virtio_balloon virtio_rng virtio_console virtio_input bochs cirrus virtio_gpu isofs"

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: ERROR: $*" >&2; exit 1; }

SCRIPT_SHA=$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)
if [[ -f $OUT/vmlinuz && -f $OUT/initrd.img && -f $OUT/disk.qcow2 && -f $OUT/image.json &&
      -f $OUT/.stamp && "$(cat "$OUT/.stamp")" == "$SCRIPT_SHA" ]]; then
    log "$OUT is up to date"
    exit 0
fi

# ---------------------------------------------------------------------------------------
# Host tools
# ---------------------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() {
    [[ $APT_UPDATED == 1 ]] && return 0
    [[ $EUID == 0 ]] || return 1
    log "apt-get update"
    apt-get update -qq >&2 || return 1
    APT_UPDATED=1
}

ensure_tools() {
    local missing=() pkg
    for pkg in cpio e2fsprogs qemu-utils qemu-system-x86 kmod dropbear-bin; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    [[ $EUID == 0 ]] || die "missing packages: ${missing[*]} (run as root, or install them)"
    log "installing ${missing[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; then
        apt_update_once || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
            die "cannot install ${missing[*]}"
    fi
}
ensure_tools
export PATH=$PATH:/usr/sbin:/sbin     # depmod, mkfs.ext4, debugfs

# ---------------------------------------------------------------------------------------
# Debian packages (downloaded once into the cache, extracted into a temp dir)
# ---------------------------------------------------------------------------------------
mkdir -p "$CACHE"
APT_DL_OPTS=()
[[ $EUID == 0 ]] && APT_DL_OPTS=(-o APT::Sandbox::User=root)

candidate_version() {   # prints the candidate version of $1, or nothing
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { if ($2 != "(none)") print $2; exit }'
}

cached_deb() {          # cached_deb PKG [VERSION] -> path of a cached .deb (newest if no version)
    local pkg=$1 want=${2:-} f best=""
    for f in "$CACHE/${pkg}_"*.deb; do
        [[ -e $f ]] || continue
        if [[ -n $want ]]; then
            [[ "$(dpkg-deb -f "$f" Version)" == "$want" ]] && { echo "$f"; return 0; }
        elif [[ -z $best ]] || dpkg --compare-versions "$(dpkg-deb -f "$f" Version)" gt "$(dpkg-deb -f "$best" Version)"; then
            best=$f
        fi
    done
    [[ -n $best ]] && echo "$best"
}

fetch_deb() {           # fetch_deb PKG -> path of PKG's .deb in the cache
    local pkg=$1 ver f
    ver=$(candidate_version "$pkg")
    if [[ -z $ver ]] && apt_update_once; then ver=$(candidate_version "$pkg"); fi
    if [[ -z $ver ]]; then
        # No package lists (offline?): fall back to whatever is cached.
        f=$(cached_deb "$pkg") || true
        [[ -n $f ]] || die "package $pkg unknown to apt and not cached in $CACHE"
        log "apt does not know $pkg; using cached $(basename "$f")"
        echo "$f"; return 0
    fi
    f=$(cached_deb "$pkg" "$ver") || true
    if [[ -z $f ]]; then
        log "downloading $pkg $ver"
        if ! (cd "$CACHE" && apt-get download -qq "${APT_DL_OPTS[@]}" "$pkg=$ver" >&2); then
            apt_update_once || true
            ver=$(candidate_version "$pkg")
            (cd "$CACHE" && apt-get download -qq "${APT_DL_OPTS[@]}" "$pkg=$ver" >&2) ||
                die "cannot download $pkg"
        fi
        f=$(cached_deb "$pkg" "$ver") || true
        [[ -n $f ]] || die "downloaded $pkg but cannot find it in $CACHE"
    fi
    echo "$f"
}

kernel_package() {      # the concrete linux-image-*-amd64 that linux-image-amd64 depends on
    local p
    p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }') || true
    if [[ -z $p ]] && apt_update_once; then
        p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }') || true
    fi
    if [[ -z $p ]]; then   # offline: newest cached kernel
        p=$(ls -t "$CACHE"/linux-image-[0-9]*-amd64_*.deb 2>/dev/null | head -n1) || true
        [[ -n $p ]] || die "cannot determine the kernel package (no apt lists, nothing cached)"
        p=$(basename "$p"); p=${p%%_*}
    fi
    echo "$p"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtuoso-guest.XXXXXX")
mkdir -p "$(dirname "$OUT")"
STAGE=$(mktemp -d "$OUT.tmp.XXXXXX")
cleanup() { rm -rf "$WORK" "$STAGE"; }
trap cleanup EXIT

KPKG=$(kernel_package)
KDEB=$(fetch_deb "$KPKG")
BDEB=$(fetch_deb busybox-static)
DDEB=$(fetch_deb dropbear-bin)
log "kernel: $(basename "$KDEB"); busybox: $(basename "$BDEB"); dropbear: $(basename "$DDEB")"

KX=$WORK/kernel
BX=$WORK/busybox
dpkg-deb -x "$KDEB" "$KX"
dpkg-deb -x "$BDEB" "$BX"
DX=$WORK/dropbear
dpkg-deb -x "$DDEB" "$DX"
# Debian 12 ships /lib/modules; later releases may use /usr/lib/modules.
if [[ ! -d $KX/lib/modules && -d $KX/usr/lib/modules ]]; then mkdir -p "$KX/lib"; mv "$KX/usr/lib/modules" "$KX/lib/modules"; fi
KVER=$(ls "$KX/lib/modules" | head -n1)
[[ -n $KVER && -f $KX/boot/vmlinuz-$KVER ]] || die "unexpected layout of $(basename "$KDEB")"
KMOD=$KX/lib/modules/$KVER
BUSYBOX=$BX/bin/busybox
[[ -x $BUSYBOX ]] || die "no bin/busybox in $(basename "$BDEB")"
"$BUSYBOX" true || die "$BUSYBOX does not run on this host"

# The package carries no modules.dep (depmod runs at install time): generate it.
[[ -f $KMOD/modules.dep ]] || depmod -b "$KX" "$KVER"

# --- module dependency resolution (modules.dep, dependencies first) ----------------------
declare -A MOD_PATH=() MOD_DEPS=() BUILTIN=()
while IFS= read -r line; do
    key=${line%%:*}; deps=${line#*:}
    name=${key##*/}; name=${name%.ko*}; name=${name//-/_}
    MOD_PATH[$name]=$key
    MOD_DEPS[$name]=$deps
done <"$KMOD/modules.dep"
if [[ -f $KMOD/modules.builtin ]]; then
    while IFS= read -r line; do
        name=${line##*/}; name=${name%.ko*}; BUILTIN[${name//-/_}]=1
    done <"$KMOD/modules.builtin"
fi

declare -A SEEN=()
ORDER=()
visit() {               # visit NAME: append NAME's dependencies, then NAME, to ORDER
    local name=${1//-/_} d dn
    [[ -n ${SEEN[$name]:-} ]] && return 0
    SEEN[$name]=1
    if [[ -z ${MOD_PATH[$name]:-} ]]; then
        [[ -n ${BUILTIN[$name]:-} ]] && return 0
        die "kernel module $name not found in $KVER"
    fi
    for d in ${MOD_DEPS[$name]}; do
        dn=${d##*/}; dn=${dn%.ko*}
        visit "$dn"
    done
    ORDER+=("${MOD_PATH[$name]}")
}
resolve() { SEEN=(); ORDER=(); local m; for m in "$@"; do visit "$m"; done; }

copy_modules() {        # copy_modules DESTROOT: copies ORDER into DESTROOT/lib/modules/KVER
    local dest=$1/lib/modules/$KVER p
    for p in "${ORDER[@]}"; do
        [[ $p == *.ko ]] || die "compressed module $p not supported"
        mkdir -p "$dest/$(dirname "$p")"
        cp "$KMOD/$p" "$dest/$p"
    done
}

install_busybox() {     # install_busybox DESTROOT: busybox + relative applet symlinks
    local root=$1 app dir rel
    mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
    cp "$BUSYBOX" "$root/bin/busybox"
    while IFS= read -r app; do
        [[ $app == */* ]] || continue
        [[ $app == linuxrc || $app == bin/busybox ]] && continue
        [[ -e $root/$app || -L $root/$app ]] && continue
        dir=$(dirname "$app")
        case $dir in
            bin) rel=busybox ;;
            sbin|usr) rel=../bin/busybox ;;
            usr/bin|usr/sbin) rel=../../bin/busybox ;;
            *) continue ;;
        esac
        ln -s "$rel" "$root/$app"
    done < <("$BUSYBOX" --list-full)
}

# ---------------------------------------------------------------------------------------
# initrd.img
# ---------------------------------------------------------------------------------------
IR=$WORK/initrd
mkdir -p "$IR"/{dev,proc,sys,newroot,etc,lib/modules}
install_busybox "$IR"
resolve $INITRD_MODULES
copy_modules "$IR"
printf '%s\n' "${ORDER[@]}" >"$IR/etc/modules-initrd"
log "initrd modules: $(printf '%s ' "${ORDER[@]##*/}")"
cat >"$IR/init" <<EOF
#!/bin/sh
# Virtuoso linux-busybox initramfs: load the drivers for the root disk, mount it, switch_root.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
KVER=$KVER
EOF
cat >>"$IR/init" <<'EOF'
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

rescue() {
    echo "initramfs: $*"
    echo "initramfs: dropping to a rescue shell"
    exec setsid cttyhack sh
}

while read -r m; do
    insmod "/lib/modules/$KVER/$m" || echo "initramfs: insmod $m failed"
done </etc/modules-initrd

root=/dev/vda fstype=ext4 mode=rw init=/sbin/init
for arg in $(cat /proc/cmdline); do
    case $arg in
        root=*) root=${arg#root=} ;;
        rootfstype=*) fstype=${arg#rootfstype=} ;;
        ro) mode=ro ;;
        rw) mode=rw ;;
        init=*) init=${arg#init=} ;;
    esac
done

i=0
while [ ! -b "$root" ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && rescue "root device $root did not appear"
    sleep 0.1
done
mount -t "$fstype" -o "$mode" "$root" /newroot || rescue "cannot mount $root"
[ -x "/newroot$init" ] || rescue "no $init on $root"

umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot "$init"
EOF
chmod 755 "$IR/init"
(cd "$IR" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$STAGE/initrd.img"

# ---------------------------------------------------------------------------------------
# Root filesystem -> disk.qcow2
# ---------------------------------------------------------------------------------------
RF=$WORK/rootfs
mkdir -p "$RF"/{dev,proc,sys,run,tmp,root,mnt,etc/init.d,etc/acpi/PWRF,var/log,lib/modules}
chmod 1777 "$RF/tmp"
chmod 700 "$RF/root"
install_busybox "$RF"
resolve $ROOTFS_MODULES
copy_modules "$RF"
cp "$KMOD/modules.builtin" "$KMOD/modules.order" "$RF/lib/modules/$KVER/" 2>/dev/null || true
[[ -f $KMOD/modules.builtin.modinfo ]] && cp "$KMOD/modules.builtin.modinfo" "$RF/lib/modules/$KVER/"
depmod -b "$RF" "$KVER"

# dropbear (SSH server) and dropbearkey, with the shared libraries and the loader they need: ldd resolves them on this
# host, where the dropbear-bin package (ensure_tools) has installed its dependencies.
install -D -m 755 "$DX/usr/sbin/dropbear" "$RF/usr/sbin/dropbear"
install -D -m 755 "$DX/usr/bin/dropbearkey" "$RF/usr/bin/dropbearkey"
DROPBEAR_LIBS=$({ ldd "$DX/usr/sbin/dropbear"; ldd "$DX/usr/bin/dropbearkey"; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
[[ -n $DROPBEAR_LIBS ]] || die "ldd found no libraries for dropbear"
for lib in $DROPBEAR_LIBS; do
    [[ -f $lib ]] || die "dropbear needs $lib, which is not on this host"
    mkdir -p "$RF$(dirname "$lib")"
    cp -L "$lib" "$RF$lib"
done
log "dropbear libraries: $(echo $DROPBEAR_LIBS)"
mkdir -p "$RF/etc/dropbear" "$RF/usr/share/udhcpc"

cat >"$RF/etc/inittab" <<'EOF'
# busybox init
::sysinit:/etc/init.d/rcS
# Root shells, no password: serial console and the first VGA console.
ttyS0::respawn:/etc/init.d/serial-shell
tty1::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
EOF

cat >"$RF/etc/init.d/rcK" <<'EOF'
#!/bin/sh
# Virtuoso linux-busybox: shutdown (run by init on poweroff/reboot, before it kills
# everything and powers off).  Stop all processes, then remount the root fs read-only so it
# is clean (no journal replay on the next boot).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
echo "Virtuoso guest shutting down"
kill -TERM -1 2>/dev/null
sleep 0.2
kill -KILL -1 2>/dev/null
sync
mount -o remount,ro / 2>/dev/null || { sleep 0.3; sync; mount -o remount,ro /; }
sync
EOF

cat >"$RF/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# Virtuoso linux-busybox: system start-up (run once by init before the shells).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

grep -q ' /proc ' /proc/mounts 2>/dev/null || mount -t proc proc /proc
mount -t sysfs sysfs /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755,size=16m tmpfs /run
mount -o remount,rw / 2>/dev/null
hostname -F /etc/hostname

# Graceful power-off on the ACPI power button (QMP system_powerdown), set up first so that the
# window in which a press is lost is as short as possible.  acpid opens /dev/input/event0..N
# when it starts, so wait until the button's node exists.
modprobe -q evdev
modprobe -q button
i=0
while [ $i -lt 30 ]; do
    found=0
    for n in /sys/class/input/event*; do
        [ -e "$n/device/name" ] && grep -q 'Power Button' "$n/device/name" && [ -e "/dev/input/${n##*/}" ] && found=1
    done
    [ $found = 1 ] && break
    i=$((i + 1))
    sleep 0.1
done
acpid -l /run/acpid.log

# Drivers for the PCI and virtio devices present: whichever of the shipped modules match
# (graphics for the VGA console, virtio_net, balloon, rng...).
for f in /sys/bus/pci/devices/*/modalias /sys/bus/virtio/devices/*/modalias; do
    [ -r "$f" ] && modprobe -q "$(cat "$f")" 2>/dev/null
done

# Network: bring the interfaces up and ask for an address by DHCP (QEMU's user-mode network answers: 10.0.2.15),
# in the background (-b), so the boot does not wait for it; udhcpc quits once it has a lease (-q).
ip link set lo up
for dev in /sys/class/net/*; do
    dev=${dev##*/}
    [ "$dev" = lo ] && continue
    ip link set "$dev" up
    udhcpc -i "$dev" -b -q -s /usr/share/udhcpc/default.script >/dev/null 2>&1
done

# Hostname and root's SSH keys from the cloud-init NoCloud seed, then the SSH server.
/etc/init.d/cidata
/etc/init.d/sshd
EOF

cat >"$RF/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
# busybox udhcpc: apply a lease ($ip, $mask as a prefix length, $router, $dns).
case $1 in
    deconfig)
        ip addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        if [ -n "$router" ]; then
            ip route del default 2>/dev/null
            for r in $router; do ip route add default via "$r" dev "$interface" && break; done
        fi
        if [ -n "$dns" ]; then
            : >/etc/resolv.conf
            for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
        fi
        ;;
esac
exit 0
EOF

cat >"$RF/etc/init.d/cidata" <<'EOF'
#!/bin/sh
# Virtuoso linux-busybox: read the cloud-init NoCloud seed (issue 14), the read-only ISO 9660 drive labelled cidata
# that the provider agent attaches at every start.  meta-data's local-hostname becomes the hostname; user-data's
# ssh_authorized_keys become /root/.ssh/authorized_keys (replaced at every boot: a key removed from the seed no longer
# logs in).  Without a seed, nothing changes.  The YAML read is the subset the agent writes (cidata.awk).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
modprobe -q isofs
dev=$(findfs LABEL=cidata 2>/dev/null) || dev=$(findfs LABEL=CIDATA 2>/dev/null) || exit 0
mkdir -p /run/cidata
mount -t iso9660 -o ro "$dev" /run/cidata || { echo "cidata: cannot mount $dev"; exit 0; }

host=$(awk -v want=local-hostname -f /etc/init.d/cidata.awk /run/cidata/meta-data 2>/dev/null)
if echo "$host" | grep -qxE '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'; then
    echo "$host" >/etc/hostname
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n' "$host" >/etc/hosts
    hostname "$host"
elif [ -n "$host" ]; then
    echo "cidata: ignoring local-hostname '$host': not a host name"
fi

if [ -f /run/cidata/user-data ]; then
    umask 077
    mkdir -p /root/.ssh
    awk -v want=ssh_authorized_keys -f /etc/init.d/cidata.awk /run/cidata/user-data >/root/.ssh/authorized_keys.tmp &&
        mv /root/.ssh/authorized_keys.tmp /root/.ssh/authorized_keys
fi
umount /run/cidata
EOF

cat >"$RF/etc/init.d/cidata.awk" <<'EOF'
# The YAML subset of a cloud-init seed the agent writes: top-level "key: value" lines and block lists of "- value"
# items; each value plain, 'single-quoted' ('' is a quote) or "double-quoted" (\\ and \" unescaped, other escapes kept
# as written).  Prints the value of the top-level key `want`, or each item of it when it is a list ("[]": none).
function unquote(v,    q, out, c, n) {
    sub(/^[ \t]+/, "", v)
    q = substr(v, 1, 1)
    if (q != "\"" && q != "'") {
        sub(/[ \t]+#.*$/, "", v); sub(/[ \t\r]+$/, "", v)
        return v
    }
    v = substr(v, 2); out = ""
    while (v != "") {
        c = substr(v, 1, 1)
        if (q == "\"" && c == "\\" && length(v) > 1) {
            n = substr(v, 2, 1)
            if (n == "\\" || n == "\"") { out = out n; v = substr(v, 3); continue }
        }
        if (c == q) {
            if (q == "'" && substr(v, 2, 1) == "'") { out = out "'"; v = substr(v, 3); continue }
            return out
        }
        out = out c; v = substr(v, 2)
    }
    return out
}
/^[ \t]*#/ || /^[ \t\r]*$/ { next }
/^[^ \t-]/ {
    inlist = 0
    key = $0; sub(/:.*/, "", key)
    if (key != want) next
    val = $0; sub(/^[^:]*:/, "", val); sub(/^[ \t]+/, "", val); sub(/[ \t\r]+$/, "", val)
    if (val == "") { inlist = 1; next }
    if (val != "[]") print unquote(val)
    exit
}
inlist && /^[ \t]*- / { v = $0; sub(/^[ \t]*- /, "", v); v = unquote(v); if (v != "") print v }
EOF

cat >"$RF/etc/init.d/sshd" <<'EOF'
#!/bin/sh
# Virtuoso linux-busybox: the SSH server, Debian's dropbear, on port 22.  Root logs in by key only: -s refuses every
# password login (and root has no password anyway).  The host key is made at the first boot and kept on the disk;
# on a read-only root it is made anew in /run at every boot.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
keys=/etc/dropbear
[ -w $keys ] || { keys=/run/dropbear; mkdir -p $keys; }
key=$keys/dropbear_ed25519_host_key
[ -s $key ] || dropbearkey -t ed25519 -f $key >/dev/null 2>&1 || echo "sshd: dropbearkey failed"
dropbear -s -r $key -p 22 -P /run/dropbear.pid -E 2>>/run/dropbear.log || echo "sshd: dropbear failed to start"
EOF

cat >"$RF/etc/init.d/serial-shell" <<'EOF'
#!/bin/sh
# Root shell on the serial console.  The ready line is printed here, by the process that
# already holds /dev/ttyS0 open, after rcS has finished: whatever is typed after the line
# appears reaches the shell (nothing is lost between "ready" and the shell starting).
if [ ! -e /run/virtuoso-ready ]; then
    : >/run/virtuoso-ready
    echo "Virtuoso guest ready" >/dev/ttyS0
fi
exec /bin/sh -l
EOF

cat >"$RF/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
# ACPI power button (QMP system_powerdown): clean power-off.
sync
exec /sbin/poweroff
EOF

cat >"$RF/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
export PS1='\h:\w\$ '
cd "$HOME" 2>/dev/null
EOF

echo virtuoso >"$RF/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvirtuoso\n' >"$RF/etc/hosts"
echo 'root:x:0:0:root:/root:/bin/sh' >"$RF/etc/passwd"
echo 'root::0:0:99999:7:::' >"$RF/etc/shadow"
echo 'root:x:0:' >"$RF/etc/group"
printf '/dev/root\t/\text4\trw\t0\t1\n' >"$RF/etc/fstab"
cat >"$RF/etc/os-release" <<EOF
NAME="Virtuoso linux-busybox"
ID=virtuoso-busybox
PRETTY_NAME="Virtuoso linux-busybox (Debian kernel $KVER, busybox $(dpkg-deb -f "$BDEB" Version))"
EOF
echo /bin/sh >"$RF/etc/shells"
chmod 755 "$RF/etc/init.d/rcS" "$RF/etc/init.d/rcK" "$RF/etc/init.d/serial-shell" "$RF/etc/acpi/PWRF/00000080" \
    "$RF/etc/init.d/cidata" "$RF/etc/init.d/sshd" "$RF/usr/share/udhcpc/default.script"
chmod 600 "$RF/etc/shadow"

RAW=$WORK/disk.raw
truncate -s "${DISK_MB}M" "$RAW"
mkfs.ext4 -q -F -L virtuoso-root -m 0 -E lazy_itable_init=0,lazy_journal_init=0 -d "$RF" "$RAW"
if [[ $EUID != 0 ]]; then
    # mkfs -d copies the builder's uid/gid: make everything root-owned.
    (cd "$RF" && find . | while IFS= read -r p; do
        p=${p#.}; [[ -z $p ]] && p=/
        printf 'sif "%s" uid 0\nsif "%s" gid 0\n' "$p" "$p"
    done) >"$WORK/chown.debugfs"
    debugfs -w -f "$WORK/chown.debugfs" "$RAW" >/dev/null 2>&1
fi
qemu-img convert -f raw -O qcow2 "$RAW" "$STAGE/disk.qcow2"
rm -f "$RAW"

# ---------------------------------------------------------------------------------------
# vmlinuz, image.json, stamp; then move into place
# ---------------------------------------------------------------------------------------
# Kernel.  QEMU boots an uncompressed ELF vmlinux with a PVH entry note directly ("-kernel
# vmlinuz" as with a bzImage), which skips the XZ decompression of the bzImage: under TCG that
# alone took 3-7 s.  Extract the payload named by the bzImage header (setup_sects at 0x1f1,
# payload_offset/length at 0x248/0x24c).  If the kernel lacks CONFIG_PVH, ship the bzImage.
BZ=$KX/boot/vmlinuz-$KVER
if grep -qx 'CONFIG_PVH=y' "$KX/boot/config-$KVER" 2>/dev/null; then
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$BZ" | tr -d ' ')
    ((setup_sects == 0)) && setup_sects=4
    poff=$(od -An -tu4 -j $((0x248)) -N4 "$BZ" | tr -d ' ')
    plen=$(od -An -tu4 -j $((0x24c)) -N4 "$BZ" | tr -d ' ')
    dd if="$BZ" of="$WORK/payload" iflag=skip_bytes,count_bytes bs=1M \
        skip=$(((setup_sects + 1) * 512 + poff)) count="$plen" status=none
    case $(od -An -tx1 -N6 "$WORK/payload" | tr -d ' ') in
        fd377a585a00) xz -dc --single-stream "$WORK/payload" >"$STAGE/vmlinuz" ;;
        1f8b*) gzip -dc "$WORK/payload" >"$STAGE/vmlinuz" 2>/dev/null || true ;;
        28b52ffd) zstd -dc "$WORK/payload" >"$STAGE/vmlinuz" ;;
        *) : >"$STAGE/vmlinuz" ;;
    esac
    if [[ "$(od -An -tx1 -N4 "$STAGE/vmlinuz" | tr -d ' ')" != 7f454c46 ]]; then
        log "warning: could not extract an ELF vmlinux; shipping the bzImage"
        cp "$BZ" "$STAGE/vmlinuz"
    fi
    rm -f "$WORK/payload"
else
    cp "$BZ" "$STAGE/vmlinuz"
fi
# "os": the label the front-end's image catalogue shows buyers (issue 15).
printf '{"name":"%s","os":"%s","kernel":"vmlinuz","initrd":"initrd.img","disk":"disk.qcow2","append":"%s","minMemoryMb":%d,"minDiskMb":%d}\n' \
    "$IMAGE_NAME" "Linux $(basename "$KPKG" | sed -E 's/^linux-image-([0-9.]+-[0-9]+).*/\1/') with BusyBox (Debian packages)" "$APPEND" "$MIN_MEMORY_MB" "$DISK_MB" >"$STAGE/image.json"
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
log "built $OUT (kernel $KVER): $(cd "$OUT" && du -h vmlinuz initrd.img disk.qcow2 | awk '{printf "%s=%s ", $2, $1}')"
