#!/bin/sh
# Builds the wheelhouse every image installs from offline:
#   packaging/build/wheelhouse/  the sceau wheel and a wheel for every runtime dependency,
#                                 requirements.txt (what is there, pinned) and SHA256SUMS.
# The direct dependencies are pinned in pyproject.toml, the transitive ones in
# packaging/constraints.txt. Images then install with
#   pip install --no-index --find-links WHEELHOUSE -r WHEELHOUSE/requirements.txt
#
#   packaging/wheelhouse.sh           build it (the only step that needs PyPI)
#   packaging/wheelhouse.sh --relock  re-resolve and rewrite packaging/constraints.txt first
#
# The sceau wheel is built from the work tree as it is (tracked and untracked files that
# git does not ignore), copied aside, so no stale build/ folder can leak into it.
# Wheels are for CPython 3.11 on x86_64 glibc: Debian bookworm's python3, which every
# image uses.
set -eu
. "$(dirname "$0")/lib.sh"
WH="$BUILD/wheelhouse"
SRC="$BUILD/src"
PY=/usr/bin/python3
[ -x "$PY" ] || need python3
case "$($PY -c 'import sys; print("%d.%d" % sys.version_info[:2])')" in
  3.11) ;;
  *) die "$PY is not Python 3.11: the images run Debian bookworm's Python 3.11" 3 ;;
esac
$PY -c 'import ensurepip' 2>/dev/null || need python3-venv

# A throwaway pip for the build, so the host's own Python stays untouched.
TOOLS="$BUILD/tools"
if [ ! -x "$TOOLS/bin/pip" ]; then
  $PY -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q --upgrade pip
fi
PIP="$TOOLS/bin/pip"

say "copying the source tree to $SRC"
rm -rf "$SRC" && mkdir -p "$SRC"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$REPO" && xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done; :' _) |
  (cd "$REPO" && tar --null -T - -cf -) | tar -C "$SRC" -xf -

if [ "${1:-}" = --relock ]; then
  say "resolving the dependency closure (rewrites packaging/constraints.txt)"
  "$PIP" install -q --dry-run --ignore-installed --report "$BUILD/resolve.json" "$SRC"
  "$PY" - "$BUILD/resolve.json" "$REPO/pyproject.toml" >"$PKG/constraints.txt" <<'EOF'
import json, re, sys, tomllib

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

direct = {norm(re.split(r"[=<>!~ \[;]", d, maxsplit=1)[0])
          for d in tomllib.load(open(sys.argv[2], "rb"))["project"]["dependencies"]}
pins = sorted(
    (norm(i["metadata"]["name"]), i["metadata"]["version"])
    for i in json.load(open(sys.argv[1]))["install"]
    if norm(i["metadata"]["name"]) not in direct | {"sceau"}
)
print("# Transitive runtime dependencies, pinned so that every image ships the same set.")
print("# Direct dependencies are pinned in pyproject.toml. Regenerate with:")
print("#   packaging/wheelhouse.sh --relock")
for name, version in pins:
    print(f"{name}=={version}")
EOF
fi

say "building the wheelhouse in $WH"
rm -rf "$WH" && mkdir -p "$WH"
"$PIP" wheel --wheel-dir "$WH" --constraint "$PKG/constraints.txt" "$SRC" >"$BUILD/wheelhouse.log" 2>&1 ||
  { tail -n 30 "$BUILD/wheelhouse.log" >&2; die "pip wheel failed (log: $BUILD/wheelhouse.log)"; }
# Fail now, not at image build time, if a wheel does not fit Debian's Python 3.11 and
# glibc 2.36 (pip does not widen a manylinux platform to older ones: list them all).
platforms="--platform linux_x86_64"
for tag in manylinux1 manylinux2010 manylinux2014 $(seq -f 'manylinux_2_%g' 5 36); do
  platforms="$platforms --platform ${tag}_x86_64"
done
offline_pip "$PIP" download -q --no-index --find-links "$WH" --dest "$BUILD/check" \
  --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
  $platforms sceau
rm -rf "$BUILD/check"

(cd "$WH" && for w in *.whl; do
  "$PY" -c 'import sys; n, v = sys.argv[1].split("-")[:2]; print(f"{n}=={v}")' "$w"
done) | sort >"$WH/requirements.txt"
(cd "$WH" && sha256sum ./*.whl requirements.txt >SHA256SUMS)
# Every wheel but sceau's should be pinned, in pyproject.toml or constraints.txt.
"$PY" - "$WH/requirements.txt" "$REPO/pyproject.toml" "$PKG/constraints.txt" <<'EOF2'
import re, sys, tomllib

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

pinned = {norm(d.split("==")[0]) for d in tomllib.load(open(sys.argv[2], "rb"))["project"]["dependencies"]}
pinned |= {norm(line.split("==")[0]) for line in open(sys.argv[3]) if "==" in line}
loose = [line.split("==")[0] for line in open(sys.argv[1]) if norm(line.split("==")[0]) not in pinned | {"sceau"}]
if loose:
    print(f"warning: not pinned: {', '.join(loose)}; run packaging/wheelhouse.sh --relock", file=sys.stderr)
EOF2
say "wheelhouse: $(ls "$WH"/*.whl | wc -l) wheels, $(du -sh "$WH" | cut -f1)"
