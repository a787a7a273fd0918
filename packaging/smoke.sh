#!/bin/sh
# Proves the images build and boot on this machine, and times each step:
#   tools      install what is missing (podman, runc, debootstrap, systemd-container…)
#   wheelhouse packaging/wheelhouse.sh              (the only step that needs PyPI)
#   units      packaging/systemd/verify.sh          (verify silent; security scores)
#   image      packaging/image.sh                   (container image, offline)
#   deb        packaging/deb.sh                     (Debian package)
#   rootfs     packaging/vm/build-rootfs.sh         (debootstrap + the .deb)
#   nspawn     boot the rootfs with systemd-nspawn: sceau-hub.service active, /healthz 200
#   podman     the image under podman (runc, read-only root, a data volume): /healthz 200,
#              the image's HEALTHCHECK healthy, a clean stop
#   enroll     a gateway in the image enrolls with the hub booted from the rootfs
#              (skipped while the image has no `sceau gateway enroll`)
#
#   packaging/smoke.sh              every step
#   packaging/smoke.sh nspawn podman   only these (they reuse what earlier runs built)
#   SCEAU_SMOKE_FAST=1 packaging/smoke.sh   every step but rootfs (the slow one; nspawn
#                                           then boots the last rootfs built)
#
# Needs root (debootstrap, chroot, nspawn, rootful podman). Every service listens on
# loopback, on ports the system picks. Exit 0 only if every step that ran passed.
set -eu
. "$(dirname "$0")/lib.sh"
need_root "packaging/smoke.sh"
ALL="tools wheelhouse units image deb rootfs nspawn podman enroll"
if [ $# -gt 0 ]; then STEPS="$*"; else STEPS=$ALL; fi
[ -n "${SCEAU_SMOKE_FAST:-}" ] && [ $# -eq 0 ] && STEPS=$(echo "$ALL" | sed 's/ rootfs//')
for s in $STEPS; do case " $ALL " in *" $s "*) ;; *) die "unknown step $s (steps: $ALL)" 2 ;; esac; done

LOG="$BUILD/smoke"
mkdir -p "$LOG"
TABLE="$LOG/table"
: >"$TABLE"
IMAGE=localhost/sceau:latest
ROOTFS="$BUILD/vm/rootfs"
NSPAWN_PID=""
CONTAINERS=""
VOLUMES=""

cleanup() {
  for c in $CONTAINERS; do podman rm -f -t 5 "$c" >/dev/null 2>&1 || true; done
  for v in $VOLUMES; do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
  [ -n "$NSPAWN_PID" ] && stop_nspawn
  :
}
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_healthz() {
  # $1: URL; $2: seconds. Prints the answer, fails when it never came.
  end=$(($(date +%s) + $2))
  while [ "$(date +%s)" -lt "$end" ]; do
    curl -fsS --max-time 2 "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "no answer from $1 within $2 s" >&2
  return 1
}

# --- steps -----------------------------------------------------------------------

step_tools() {
  need podman runc uidmap slirp4netns debootstrap systemd-container dpkg-dev python3-venv curl
}
step_wheelhouse() { "$PKG/wheelhouse.sh"; }
step_units() { "$PKG/systemd/verify.sh" | tee "$LOG/scores"; }
step_image() { podman_env && "$PKG/image.sh"; }
step_deb() { "$PKG/deb.sh"; }
step_rootfs() { "$PKG/vm/build-rootfs.sh"; }

nspawn_leader() {
  # The container's systemd: nspawn forks once more inside its namespaces.
  inner=$(pgrep -P "$NSPAWN_PID" | head -n 1)
  leader=$(pgrep -P "$inner" 2>/dev/null | head -n 1)
  echo "${leader:-$inner}"
}
in_nspawn() { nsenter -t "$(nspawn_leader)" -m -u -i -n -p "$@"; }
stop_nspawn() {
  kill -TERM "$NSPAWN_PID" 2>/dev/null || true
  i=0
  while kill -0 "$NSPAWN_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=""
}

boot_rootfs() {
  # $1: the hub's port. Boots the rootfs on the host's network with a throwaway
  # overlay (the rootfs stays as built), with the hub enabled for this boot only.
  [ -x "$ROOTFS/opt/sceau/bin/sceau" ] || die "no rootfs: run the rootfs step first"
  printf 'SCEAU_HUB_OPTS="--host 127.0.0.1 --port %s"\n' "$1" >"$LOG/hub.env"
  systemd-nspawn -q -b --register=no --keep-unit --volatile=overlay \
    --bind-ro="$LOG/hub.env:/etc/sceau/hub.env" -D "$ROOTFS" \
    systemd.wants=sceau-hub.service >"$LOG/nspawn.console" 2>&1 &
  NSPAWN_PID=$!
}

step_nspawn() {
  port=$(free_port)
  t0=$(now)
  boot_rootfs "$port"
  wait_healthz "http://127.0.0.1:$port/healthz" 60
  echo " (boot to /healthz: $(since "$t0") s)"
  state=$(in_nspawn systemctl is-active sceau-hub.service || true)
  [ "$state" = active ] || { in_nspawn systemctl status --no-pager sceau-hub.service || true; die "sceau-hub.service is $state"; }
  system=$(in_nspawn systemctl is-system-running || true)
  [ "$system" = running ] || { in_nspawn systemctl --failed --no-pager || true; die "the booted system is $system"; }
  in_nspawn systemctl show -p ConditionResult sceau-gateway.service | grep -q '=no' ||
    die "sceau-gateway.service did not wait for an enrolled gateway"
  echo "sceau-hub.service active, system running, sceau-gateway.service waiting for enrollment"
  stop_nspawn
}

step_podman() {
  podman_env
  port=$(free_port)
  name=sceau-smoke-hub-$$
  CONTAINERS="$CONTAINERS $name"
  VOLUMES="$VOLUMES $name"
  podman volume create "$name" >/dev/null
  # --health-interval=disable: no systemd timer here; the check is run by hand below.
  podman run -d --name "$name" --read-only --cap-drop=all --security-opt=no-new-privileges \
    --health-interval=disable -v "$name:/var/lib/sceau" -p "127.0.0.1:$port:8080" "$IMAGE" >/dev/null 2>&1
  wait_healthz "http://127.0.0.1:$port/healthz" 30 || { podman logs "$name" >&2; return 1; }
  echo
  podman healthcheck run "$name" 2>/dev/null
  podman exec "$name" sh -c 'touch /opt/sceau/x 2>/dev/null && echo "root filesystem writable!" && exit 1; id -un' |
    grep -qx sceau || die "the container does not run as sceau on a read-only root"
  podman stop -t 10 "$name" >/dev/null 2>&1
  code=$(podman inspect --format '{{ .State.ExitCode }}' "$name")
  [ "$code" = 0 ] || die "the hub exited $code on SIGTERM"
  echo "healthy as user sceau on a read-only root; stopped cleanly"
}

step_enroll() {
  podman_env
  if ! podman run --rm --health-interval=disable "$IMAGE" gateway enroll --help >/dev/null 2>&1; then
    echo "SKIP: the image has no 'sceau gateway enroll' yet"
    return 3
  fi
  die "the enroll step is not written yet: sceau gateway enroll has landed, see packaging/README.md"
}

# --- the run ---------------------------------------------------------------------

failed=0
for s in $STEPS; do
  say "step $s"
  t0=$(now)
  rc=0
  # In its own subshell, run asynchronously so that `set -e` holds inside it (it is
  # ignored under `||`), with its own cleanup; `wait` gives its status.
  (trap cleanup EXIT && "step_$s") >"$LOG/$s.log" 2>&1 &
  wait $! || rc=$?
  secs=$(since "$t0")
  case $rc in
    0) result=ok ;;
    3) result=skipped ;;
    *) result=FAILED; failed=1 ;;
  esac
  printf '%-11s %-8s %8s s   %s\n' "$s" "$result" "$secs" "$(grep -v '^$' "$LOG/$s.log" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-70)" >>"$TABLE"
  if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
    tail -n 25 "$LOG/$s.log" >&2
    break
  fi
done

printf '\n%-11s %-8s %10s   %s\n' step result time "last line (logs: $LOG/STEP.log)"
cat "$TABLE"
exit $failed
