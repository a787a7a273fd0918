#!/bin/sh
# Builds a Debian bookworm root filesystem with the sceau package preinstalled and the
# gateway unit enabled: packaging/build/vm/rootfs. Boot it as a container
#   systemd-nspawn -q -b --register=no --keep-unit -D packaging/build/vm/rootfs
# or turn it into a disk image for a VM (docs/INSTALL.md, "Virtual machine").
# First boot: the gateway unit waits (ConditionPathExists) until `sceau gateway init`
# and `sceau gateway enroll` have written /var/lib/sceau/gateway/enrollment.json.
#
#   packaging/vm/build-rootfs.sh [DEB]            DEB: by default the one deb.sh made
#   packaging/vm/build-rootfs.sh --update [DEB]   only upgrade the package in the
#                                                 rootfs already built (seconds)
set -eu
. "$(dirname "$0")/../lib.sh"
need_root "packaging/vm/build-rootfs.sh"
UPDATE=""
[ "${1:-}" = --update ] && UPDATE=1 && shift
DEB=${1:-$(ls -t "$BUILD"/sceau_*_amd64.deb 2>/dev/null | head -n 1)}
[ -f "$DEB" ] || die "no .deb: run packaging/deb.sh first"
ROOTFS="$BUILD/vm/rootfs"
mkdir -p "$BUILD/vm"

install_deb() {
  cp "$DEB" "$ROOTFS/tmp/sceau.deb"
  in_chroot "$ROOTFS" dpkg -i /tmp/sceau.deb >>"$ROOTFS.log" 2>&1 ||
    { tail -n 20 "$ROOTFS.log" >&2; die "dpkg -i failed in the rootfs"; }
  rm -f "$ROOTFS/tmp/sceau.deb"
}

if [ -n "$UPDATE" ] && [ -x "$ROOTFS/opt/sceau/bin/sceau" ]; then
  say "upgrading the package in $ROOTFS to $(basename "$DEB")"
  install_deb
  "$PKG/systemd/verify.sh" --root "$ROOTFS" >/dev/null
  say "rootfs $ROOTFS: $(du -sh "$ROOTFS" | cut -f1)"
  exit 0
fi

say "debootstrap $SUITE into $ROOTFS"
debootstrap_rootfs "$ROOTFS" systemd,systemd-sysv,dbus,python3,adduser,ca-certificates,iproute2,procps
slim_rootfs "$ROOTFS"

say "installing $(basename "$DEB")"
install_deb

say "configuring: hostname, network, first-boot notice, enabled units"
echo sceau >"$ROOTFS/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsceau\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOTFS/etc/hosts"
# A VM's NIC gets DHCP from systemd-networkd; under nspawn the host's network is shared.
cat >"$ROOTFS/etc/systemd/network/80-dhcp.network" <<'NET'
[Match]
Name=en* eth*

[Network]
DHCP=yes
NET
# Every machine made from this rootfs gets its own machine id at first boot.
: >"$ROOTFS/etc/machine-id"
rm -f "$ROOTFS/var/lib/dbus/machine-id"
cat >"$ROOTFS/etc/motd" <<'MOTD'

Sceau appliance. First boot (docs: /usr/share/doc/sceau/INSTALL.md):
  runuser -u sceau -- sceau gateway init --org SIRET/BRANCH --listen 0.0.0.0:8080 \
      --data /var/lib/sceau/gateway
  runuser -u sceau -- sceau gateway enroll --hub https://HUB:8443 --token TOKEN \
      --hub-ca HUB-CA.pem --data /var/lib/sceau/gateway
  systemctl start sceau-gateway.service
MOTD
systemctl --root="$ROOTFS" enable sceau-gateway.service systemd-networkd.service >/dev/null 2>&1
# A root password is for the operator to set (passwd, or systemd-firstboot).
in_chroot "$ROOTFS" passwd -l root >/dev/null

"$PKG/systemd/verify.sh" --root "$ROOTFS" >/dev/null
say "rootfs $ROOTFS: $(du -sh "$ROOTFS" | cut -f1)"
