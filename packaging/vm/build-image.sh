#!/bin/sh
# Turns the rootfs (vm/build-rootfs.sh) into a VM disk: packaging/build/vm/sceau.raw,
# an ext4 filesystem image (no partition table, no boot loader), with Debian's cloud
# kernel (virtio drivers, a small initramfs) copied beside it as vmlinuz and initrd.img
# for a direct kernel boot:
#
#   qemu-system-x86_64 -accel kvm -m 1024 -nographic -kernel packaging/build/vm/vmlinuz \
#     -initrd packaging/build/vm/initrd.img -append "root=/dev/vda rw console=ttyS0" \
#     -drive file=packaging/build/vm/sceau.raw,format=raw,if=virtio -nic user
#
# (-accel tcg where KVM fails, as on our build machines). For a hypervisor that boots
# disks, install a boot loader too (docs/INSTALL.md).
#
#   packaging/vm/build-image.sh                 the gateway appliance, as the rootfs is
#   packaging/vm/build-image.sh --hub-smoke     a test disk instead (vm/smoke.raw): the hub
#                                               initialised and enabled on 0.0.0.0:8443,
#                                               its CA in vm/smoke-hub-ca.pem
set -eu
. "$(dirname "$0")/../lib.sh"
need_root "packaging/vm/build-image.sh"
need e2fsprogs
ROOTFS="$BUILD/vm/rootfs"
[ -x "$ROOTFS/opt/sceau/bin/sceau" ] || die "no rootfs: run packaging/vm/build-rootfs.sh first"
NAME=sceau
[ "${1:-}" = --hub-smoke ] && NAME=smoke
TREE="$BUILD/vm/$NAME-tree"
DISK="$BUILD/vm/$NAME.raw"
KERNEL="$BUILD/vm/kernel-tree"

# The kernel is installed once into its own copy of the rootfs and reused: installing
# it and building the initramfs is the slow part.
if [ ! -f "$KERNEL/.done" ] || [ "$ROOTFS/var/lib/dpkg/status" -nt "$KERNEL/.done" ]; then
  say "installing Debian's cloud kernel (linux-image-cloud-amd64)"
  rm -rf "$KERNEL" && cp -a "$ROOTFS" "$KERNEL"
  in_chroot "$KERNEL" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      linux-image-cloud-amd64 initramfs-tools && apt-get clean' >"$KERNEL.log" 2>&1 ||
    { tail -n 20 "$KERNEL.log" >&2; die "kernel install failed (log: $KERNEL.log)"; }
  rm -rf "$KERNEL"/var/lib/apt/lists/*
  touch "$KERNEL/.done"
fi

say "assembling $DISK"
rm -rf "$TREE" && cp -a "$KERNEL" "$TREE" && rm -f "$TREE/.done"
printf '/dev/vda\t/\text4\tdefaults,errors=remount-ro\t0\t1\n' >"$TREE/etc/fstab"
if [ "$NAME" = smoke ]; then
  in_chroot "$TREE" runuser -u sceau -- sceau hub init --data /var/lib/sceau/hub >/dev/null
  echo 'SCEAU_HUB_OPTS="--host 0.0.0.0 --port 8443"' >"$TREE/etc/sceau/hub.env"
  systemctl --root="$TREE" enable sceau-hub.service >/dev/null 2>&1
  cp "$TREE/var/lib/sceau/hub/keys/ca.pem" "$BUILD/vm/smoke-hub-ca.pem"
fi
cp -L "$TREE/vmlinuz" "$BUILD/vm/vmlinuz"
cp -L "$TREE/initrd.img" "$BUILD/vm/initrd.img"
rm -f "$DISK"
# Room for the data: 1 GiB in all (sparse; grow it with resize2fs).
mkfs.ext4 -q -F -L sceau-root -d "$TREE" "$DISK" 1G
rm -rf "$TREE"
say "disk $DISK ($(du -h "$DISK" | cut -f1) used of 1G), kernel $BUILD/vm/vmlinuz"
