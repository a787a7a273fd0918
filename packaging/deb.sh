#!/bin/sh
# Builds packaging/build/sceau_VERSION-1_amd64.deb with dpkg-deb, from the wheelhouse:
#   /opt/sceau/               a virtualenv on Debian's python3 (3.11), every module
#                             compiled (the services' root filesystem is read-only)
#   /usr/bin/sceau            -> /opt/sceau/bin/sceau
#   /lib/systemd/system/      sceau-hub.service, sceau-gateway.service,
#                             sceau-hub-purge.service and .timer (none enabled)
#   /etc/sceau/               hub.env, gateway.env (conffiles: the units' options)
#   /usr/share/doc/sceau/     INSTALL.md, README.md, copyright
# and a `sceau` system user (postinst). Like dh-virtualenv, without its debhelper
# machinery: the venv is made in a staging folder, then its paths are rewritten.
# Runs on Debian bookworm (the target), as any user.
set -eu
. "$(dirname "$0")/lib.sh"
need dpkg-dev python3-venv binutils
WH="$BUILD/wheelhouse"
[ -f "$WH/requirements.txt" ] || die "no wheelhouse: run packaging/wheelhouse.sh first"
PY=/usr/bin/python3
VERSION="$(sceau_version)-1"
NAME="sceau_${VERSION}_amd64"
STAGE="$BUILD/deb/$NAME"
VENV=/opt/sceau
MAINTAINER=${SCEAU_MAINTAINER:-Sceau maintainers <sceau@localhost>}
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

say "staging $NAME"
rm -rf "$STAGE" && mkdir -p "$STAGE"
$PY -m venv "$STAGE$VENV"
offline_pip "$STAGE$VENV/bin/python" -m pip install -q --no-index --find-links "$WH" \
  --no-compile -r "$WH/requirements.txt"
# Relocate: the scripts' shebangs and activate files name the staging path.
grep -rlI --null -F "$STAGE" "$STAGE$VENV" | xargs -0 -r sed -i "s|$STAGE||g"
grep -rqI -F "$STAGE" "$STAGE$VENV" && die "staging path left in $STAGE$VENV"
rm -f "$STAGE$VENV/lib/python3.11/site-packages/sceau-"*.dist-info/direct_url.json
# Debug symbols out of the wheels' compiled modules, as dh_strip does (43 MB -> 24 MB).
find "$STAGE$VENV/lib" -type f -name '*.so*' -exec strip --strip-unneeded {} +
# Compiled with their final paths; hash-checked, so file times do not matter.
$PY -m compileall -q -j 1 --invalidation-mode checked-hash -s "$STAGE" "$STAGE$VENV/lib" >/dev/null

install -d "$STAGE/usr/bin" "$STAGE/lib/systemd/system" "$STAGE/etc/sceau" "$STAGE/usr/share/doc/sceau"
ln -s "$VENV/bin/sceau" "$STAGE/usr/bin/sceau"
for u in sceau-hub.service sceau-gateway.service sceau-hub-purge.service sceau-hub-purge.timer; do
  install -m 0644 "$PKG/systemd/$u" "$STAGE/lib/systemd/system/$u"
done
install -m 0644 "$PKG/etc/sceau/hub.env" "$PKG/etc/sceau/gateway.env" "$STAGE/etc/sceau/"
install -m 0644 "$PKG/debian/copyright" "$STAGE/usr/share/doc/sceau/copyright"
install -D -m 0644 "$PKG/debian/lintian-overrides" "$STAGE/usr/share/lintian/overrides/sceau"
commit=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
printf 'sceau (%s) unstable; urgency=medium\n\n  * Built from git %s.\n\n -- %s  %s\n' \
  "$VERSION" "$commit" "$MAINTAINER" \
  "$(date -R -u -d "@$SOURCE_DATE_EPOCH")" | gzip -9n >"$STAGE/usr/share/doc/sceau/changelog.Debian.gz"
for doc in "$REPO/docs/INSTALL.md" "$REPO/README.md"; do
  [ -f "$doc" ] && install -m 0644 "$doc" "$STAGE/usr/share/doc/sceau/"
done

install -d "$STAGE/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$PKG/debian/$s" "$STAGE/DEBIAN/$s"; done
printf '/etc/sceau/hub.env\n/etc/sceau/gateway.env\n' >"$STAGE/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$size/" -e "s/@MAINTAINER@/$MAINTAINER/" \
  "$PKG/debian/control.in" >"$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"
find "$STAGE" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

say "dpkg-deb --build"
# gzip: an official .deb compression (zstd is not, for lintian and older tools), and
# cheap: 6 s here where xz -z6 took 75 s for a file a third smaller.
# SCEAU_DEB_COMPRESS="-Zxz -z6" for the smaller one.
dpkg-deb --root-owner-group ${SCEAU_DEB_COMPRESS:--Zgzip -z6} --build "$STAGE" "$BUILD/$NAME.deb" >/dev/null
# lintian: on request (a minute here). What remains is in packaging/README.md.
if [ -n "${SCEAU_LINTIAN:-}" ]; then
  need lintian
  lintian "$BUILD/$NAME.deb" || true
fi
say "package $BUILD/$NAME.deb: $(du -h "$BUILD/$NAME.deb" | cut -f1), installed $((size / 1024)) MB"
