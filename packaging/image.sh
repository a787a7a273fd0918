#!/bin/sh
# Builds the container image localhost/sceau:VERSION (and :latest) from the wheelhouse,
# offline, on a Debian bookworm base made here with debootstrap.
#
#   packaging/image.sh                 build (the base is reused while its recipe holds)
#   packaging/image.sh --rebuild-base  also remake the base (picks up Debian's updates)
#
# Why debootstrap: no container registry is reachable from our machines (only PyPI,
# Debian and npm), so `FROM debian:bookworm-slim` cannot be pulled; the base is made
# from Debian's archive and imported (`podman import`) as localhost/sceau-base:bookworm.
# Where a registry is reachable: podman build --build-arg BASE=python:3.11-slim-bookworm …
set -eu
. "$(dirname "$0")/lib.sh"
need_root "packaging/image.sh"
podman_env
VERSION=$(sceau_version)
WH="$BUILD/wheelhouse"
[ -f "$WH/requirements.txt" ] || die "no wheelhouse: run packaging/wheelhouse.sh first"

BASE=localhost/sceau-base:bookworm
BASE_PACKAGES=python3,python3-venv,ca-certificates
recipe=$(printf '%s\n' "$SUITE" "$BASE_PACKAGES" "$(sed -n '/^debootstrap_rootfs()/,$p' "$PKG/lib.sh")" |
  sha256sum | cut -c1-16)
have=$(podman image inspect --format '{{ index .Labels "sceau.base.recipe" }}' "$BASE" 2>/dev/null || true)
if [ "${1:-}" = --rebuild-base ] || [ "$have" != "$recipe" ]; then
  say "making the base image $BASE with debootstrap (Debian $SUITE, $BASE_PACKAGES)"
  rootfs="$BUILD/base-rootfs"
  debootstrap_rootfs "$rootfs" "$BASE_PACKAGES"
  slim_rootfs "$rootfs"
  tar -C "$rootfs" --numeric-owner -cf - . |
    podman import --quiet --change 'CMD ["/bin/bash"]' --change "LABEL sceau.base.recipe=$recipe" \
      --message "Debian $SUITE minbase + $BASE_PACKAGES (debootstrap)" - "$BASE" >/dev/null
  rm -rf "$rootfs"
else
  say "reusing the base image $BASE (recipe $recipe; --rebuild-base to remake it)"
fi

say "building localhost/sceau:$VERSION (offline: --network none, from the wheelhouse)"
context="$BUILD/image-context"
rm -rf "$context" && mkdir -p "$context"
cp -a "$WH" "$context/wheelhouse"
cp "$PKG/container/healthcheck.py" "$context/"
podman build --quiet --layers=false --format docker --network=none --pull=never --build-arg BASE="$BASE" \
  --label "org.opencontainers.image.version=$VERSION" \
  -f "$PKG/Containerfile" -t "localhost/sceau:$VERSION" -t localhost/sceau:latest "$context" >/dev/null
# Only our own superseded images (dangling, with our label), never anyone else's.
podman image prune -f --filter label=org.opencontainers.image.title=sceau >/dev/null 2>&1 || true
say "image localhost/sceau:$VERSION: $(podman image inspect --format '{{ .Size }}' "localhost/sceau:$VERSION" |
  awk '{ printf "%.0f MB", $1 / 1e6 }')"
