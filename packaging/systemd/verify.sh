#!/bin/sh
# Checks the systemd units: `systemd-analyze verify` must print nothing at all, and
# `systemd-analyze security --offline=true` gives each service's exposure score.
#
#   packaging/systemd/verify.sh              against a scratch root: this host's systemd
#                                            units plus a stand-in /usr/bin/sceau
#   packaging/systemd/verify.sh --root DIR   against an installed system (the VM rootfs,
#                                            with the .deb in it)
#
# Prints "unit score" lines on stdout (packaging/README.md records them); exits 1 if
# verify printed anything, or if a deliberately broken unit went unnoticed (so a
# silent verify really means clean units).
set -eu
. "$(dirname "$0")/../lib.sh"
command -v systemd-analyze >/dev/null || need systemd
UNITS="sceau-hub.service sceau-gateway.service sceau-hub-purge.service sceau-hub-purge.timer"
SERVICES="sceau-hub.service sceau-gateway.service sceau-hub-purge.service"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if [ "${1:-}" = --root ]; then
  ROOT=$(cd "$2" && pwd)
  UNITDIR="$ROOT/usr/lib/systemd/system"
else
  ROOT="$scratch/root"
  UNITDIR="$ROOT/etc/systemd/system"
  mkdir -p "$ROOT/usr/bin" "$ROOT/usr/lib/systemd" "$UNITDIR"
  cp -a /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
  printf '#!/bin/sh\nexit 0\n' >"$ROOT/usr/bin/sceau" && chmod 755 "$ROOT/usr/bin/sceau"
  for u in $UNITS; do cp "$PKG/systemd/$u" "$UNITDIR/"; done
fi

for u in $UNITS; do [ -f "$UNITDIR/$u" ] || die "$UNITDIR/$u is missing"; done
(cd "$UNITDIR" && systemd-analyze verify --root="$ROOT" $(for u in $UNITS; do printf './%s ' "$u"; done)) \
  >"$scratch/out" 2>"$scratch/err" || true
if [ -s "$scratch/err" ] || [ -s "$scratch/out" ]; then
  cat "$scratch/out" "$scratch/err" >&2
  die "systemd-analyze verify printed the above: fix the units"
fi

# The canary: the same check must notice a misspelt key.
canary="$scratch/canary"
mkdir -p "$canary/usr/lib/systemd" "$canary/usr/bin"
cp -a /usr/lib/systemd/system "$canary/usr/lib/systemd/"
cp "$ROOT/usr/bin/sceau" "$canary/usr/bin/sceau" 2>/dev/null || printf '#!/bin/sh\n' >"$canary/usr/bin/sceau"
chmod 755 "$canary/usr/bin/sceau"
sed 's/^ProtectSystem=/ProtectSystm=/' "$UNITDIR/sceau-hub.service" >"$canary/sceau-hub.service"
(cd "$canary" && systemd-analyze verify --root="$canary" ./sceau-hub.service) 2>"$scratch/canary.err" || true
[ -s "$scratch/canary.err" ] || die "systemd-analyze verify missed a misspelt key: this check proves nothing here"

for s in $SERVICES; do
  score=$(systemd-analyze security --offline=true --root="$ROOT" "$UNITDIR/$s" 2>/dev/null |
    sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
  [ -n "$score" ] || die "no exposure score for $s"
  echo "$s $score"
done
say "units verified: systemd-analyze verify printed nothing ($(systemd --version | head -n 1))"
