# Shared by the packaging scripts (sourced, POSIX sh). Sets:
#   REPO   the repository root          PKG    packaging/
#   BUILD  packaging/build (gitignored: every output goes there)
# and defines say, die, need (install missing Debian packages), sceau_version.
REPO=$(cd "$(dirname "$0")" && git rev-parse --show-toplevel 2>/dev/null || (cd "$(dirname "$0")/.." && pwd))
PKG="$REPO/packaging"
BUILD=${SCEAU_BUILD:-$PKG/build}
# Debian's archive; the same mirror apt uses on these machines.
MIRROR=${SCEAU_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit "${2:-1}"; }

need() {
  # $@: Debian packages; installs those missing (as root: these scripts build images).
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing Debian packages:$missing; run: sudo apt-get install$missing" 3
  say "installing Debian packages:$missing"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

need_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root (debootstrap, chroot, rootful podman): run it with sudo" 3
}

sceau_version() {
  /usr/bin/python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
    "$REPO/pyproject.toml"
}

# pip installs from the wheelhouse alone: no index, no machine-wide pip configuration.
offline_pip() {
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
    PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
}

debootstrap_rootfs() {
  # $1: target folder; $2: extra packages, comma-separated. Debian bookworm (minbase)
  # with the point-release and security updates applied and apt's lists dropped. The
  # downloaded .debs stay in $BUILD/debcache, so a rebuild downloads only what changed.
  need debootstrap
  target=$1
  rm -rf "$target" && mkdir -p "$BUILD/debcache"
  debootstrap --variant=minbase --cache-dir="$BUILD/debcache" --include="$2" \
    "$SUITE" "$target" "$MIRROR" >"$target.log" 2>&1 ||
    { tail -n 20 "$target.log" >&2; die "debootstrap failed (log: $target.log)"; }
  cat >"$target/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${SCEAU_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $SUITE-security main
SOURCES
  in_chroot "$target" sh -c 'apt-get update -qq && apt-get -y -qq upgrade && apt-get clean' \
    >>"$target.log" 2>&1 || { tail -n 20 "$target.log" >&2; die "apt upgrade in $target failed"; }
  rm -rf "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/*.bin "$target"/var/log/*.log \
    "$target"/var/log/apt/*
}

in_chroot() {
  # $1: root folder; then the command. /proc, /sys and /dev/pts are mounted for its time.
  root=$1 && shift
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true
  rc=0
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 chroot "$root" "$@" || rc=$?
  umount "$root/dev/pts" 2>/dev/null || true
  umount "$root/sys" "$root/proc"
  return $rc
}

slim_rootfs() {
  # Drops documentation and manuals (the copyright files stay), now and for every
  # package installed later, as Debian's slim container images do.
  root=$1
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/sceau-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
SLIM
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$root/usr/share/man"/* "$root/usr/share/info"/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
}

podman_env() {
  # podman/buildah as they work here: runc, explicit ulimits (packaging/containers.conf).
  need podman runc
  CONTAINERS_CONF=${CONTAINERS_CONF:-$PKG/containers.conf}
  export CONTAINERS_CONF
}
