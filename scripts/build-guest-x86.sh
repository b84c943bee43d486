#!/usr/bin/env bash
# Build the x86_64 guest fixture for the KVM engine from Debian's binary
# packages: Debian's stock kernel (linux-image-amd64's vmlinuz, unmodified)
# and an initramfs with Debian's static busybox, the virtio/ext4/vsock modules
# from the same kernel package (Debian builds them as modules) and the
# default guest's /init, which loads them at boot.
#
# Outputs go to ${VIREO_CACHE:-$HOME/.cache/vireo}/x86_64/{vmlinuz,initramfs.cpio.gz,stamp};
# nothing is rebuilt when the package versions and inputs are unchanged.
# Usage: scripts/build-guest-x86.sh [--force]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${VIREO_CACHE:-$HOME/.cache/vireo}
OUT=$CACHE/x86_64
WORK=$CACHE/build/x86_64
INIT=$ROOT/guest/riscv64/init  # architecture-neutral
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

log() { echo "build-guest-x86: $*"; }
die() {
	echo "build-guest-x86: ERROR: $*" >&2
	exit 1
}

# Modules in load order (dependencies first): virtio-mmio and every device
# Vireo offers, ext4 for the disk tests.
MODULES=(
	drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio_mmio.ko
	drivers/block/virtio_blk.ko
	net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko
	drivers/char/virtio_console.ko drivers/char/hw_random/virtio-rng.ko
	net/vmw_vsock/vsock.ko net/vmw_vsock/vmw_vsock_virtio_transport_common.ko
	net/vmw_vsock/vmw_vsock_virtio_transport.ko
	lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko crypto/crc32c_generic.ko fs/ext4/ext4.ko
)

KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
[[ -n $KPKG ]] || die "cannot resolve linux-image-amd64 (is the apt index present? run apt-get update)"
KVER=$(apt-cache show "$KPKG" | sed -n 's/^Version: //p' | head -1)
BBVER=$(apt-cache show busybox-static | sed -n 's/^Version: //p' | head -1)
HASH=$( (echo "$KPKG $KVER $BBVER ${MODULES[*]}"; cat "$INIT" "$0") | sha256sum | cut -c1-16)
if ((FORCE == 0)) && [[ -f $OUT/stamp && $(head -1 "$OUT/stamp") == "$HASH" ]]; then
	log "up to date ($KPKG $KVER, busybox $BBVER)"
	exit 0
fi

rm -rf "$WORK"
mkdir -p "$WORK/debs" "$OUT"
log "downloading $KPKG ($KVER) and busybox-static ($BBVER)"
(cd "$WORK/debs" && apt-get download -q "$KPKG" busybox-static >/dev/null 2>&1) ||
	die "apt-get download $KPKG busybox-static failed"
mkdir -p "$WORK/kernel" "$WORK/busybox"
dpkg-deb -x "$WORK"/debs/linux-image-*.deb "$WORK/kernel"
dpkg-deb -x "$WORK"/debs/busybox-static_*.deb "$WORK/busybox"
KREL=$(basename "$(ls -d "$WORK"/kernel/lib/modules/*/ | head -1)")

R=$WORK/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,mnt,root,run,lib/modules}
install -m 0755 "$WORK/busybox/bin/busybox" "$R/bin/busybox"
# The applet list from the binary itself (it runs on this x86-64 host).
for applet in $("$R/bin/busybox" --list-full); do
	[[ $applet == bin/busybox ]] && continue
	mkdir -p "$R/$(dirname "$applet")"
	ln -sf /bin/busybox "$R/$applet"
done
install -m 0755 "$INIT" "$R/init"
: >"$R/lib/modules/load-order"
for m in "${MODULES[@]}"; do
	src=$WORK/kernel/lib/modules/$KREL/kernel/$m
	[[ -f $src ]] || die "module $m is not in $KPKG"
	install -m 0644 "$src" "$R/lib/modules/$(basename "$m")"
	basename "$m" >>"$R/lib/modules/load-order"
done
# The kernel opens /dev/console for init before devtmpfs is mounted.
mknod -m 600 "$R/dev/console" c 5 1 || die "mknod /dev/console needs root"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 -n >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
cp "$WORK/kernel/boot/vmlinuz-$KREL" "$OUT/vmlinuz"
printf '%s\nkernel %s %s\nbusybox-static %s\n' "$HASH" "$KPKG" "$KVER" "$BBVER" >"$OUT/stamp"
rm -rf "$WORK/debs"
log "outputs in $OUT: vmlinuz ($KREL), initramfs.cpio.gz ($(du -h "$OUT/initramfs.cpio.gz" | cut -f1))"
