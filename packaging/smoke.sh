#!/bin/sh
# Proves the images build and boot on this machine, and times each step:
#   tools      install what is missing (podman, runc, debootstrap, systemd-container…)
#   wheelhouse packaging/wheelhouse.sh              (the only step that needs PyPI)
#   units      packaging/systemd/verify.sh          (verify silent; security scores)
#   image      packaging/image.sh                   (container image, offline)
#   deb        packaging/deb.sh                     (Debian package)
#   rootfs     packaging/vm/build-rootfs.sh         (debootstrap + the .deb)
#   nspawn     boot the rootfs with systemd-nspawn: the units wait for init; after
#              `hub init`, sceau-hub.service is active and /healthz answers over TLS;
#              the purge runs; the system is `running`
#   podman     the image under podman (runc, read-only root, no capabilities): a hub,
#              /healthz over TLS, the image's HEALTHCHECK healthy, a clean stop
#   enroll     a hub in the image (podman), and two gateways that enroll with it over
#              mTLS and serve /healthz: one in the rootfs (its unit as shipped), one in
#              the container image
#   compose    (only when named) packaging/compose.yaml under podman-compose: a hub
#              and two gateways that enroll by themselves
#   qemu       (only when named; minutes) vm/build-image.sh --hub-smoke, then boots the
#              disk under qemu (-accel tcg: KVM fails here) until the hub's /healthz
#              answers through qemu's user network
#
#   packaging/smoke.sh              every step
#   packaging/smoke.sh nspawn podman   only these (they reuse what earlier runs built)
#   SCEAU_SMOKE_FAST=1 packaging/smoke.sh   the rootfs step only upgrades the package in
#                                           the last rootfs built (when there is one)
#
# Needs root (debootstrap, chroot, nspawn, rootful podman). Every service listens on
# loopback, on ports the system picks. Exit 0 only if every step that ran passed.
set -eu
. "$(dirname "$0")/lib.sh"
need_root "packaging/smoke.sh"
ALL="tools wheelhouse units image deb rootfs nspawn podman enroll"
if [ $# -gt 0 ]; then STEPS="$*"; else STEPS=$ALL; fi
for s in $STEPS; do case " $ALL compose qemu " in *" $s "*) ;; *) die "unknown step $s (steps: $ALL)" 2 ;; esac; done

LOG="$BUILD/smoke"
rm -rf "$LOG" && mkdir -p "$LOG"
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
  # $1: URL; $2: seconds; then curl options. Prints the answer, fails when none came.
  url=$1 && secs=$2 && shift 2
  end=$(($(date +%s) + secs))
  while [ "$(date +%s)" -lt "$end" ]; do
    curl -fsS --max-time 2 "$@" "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "no answer from $url within $secs s" >&2
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
step_rootfs() { "$PKG/vm/build-rootfs.sh" ${SCEAU_SMOKE_FAST:+--update}; }

nspawn_leader() {
  # The container's systemd: nspawn forks once more inside its namespaces.
  inner=$(pgrep -P "$NSPAWN_PID" | head -n 1)
  leader=$(pgrep -P "$inner" 2>/dev/null | head -n 1)
  echo "${leader:-$inner}"
}
in_nspawn() {
  nsenter -t "$(nspawn_leader)" -m -u -i -n -p \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"
}
as_sceau() { in_nspawn runuser -u sceau -- "$@"; }
stop_nspawn() {
  kill -TERM "$NSPAWN_PID" 2>/dev/null || true
  i=0
  while kill -0 "$NSPAWN_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=""
}

boot_rootfs() {
  # $1: the hub's port. Boots the rootfs on the host's network, with a throwaway
  # overlay (the rootfs stays as built), and waits until the boot is finished.
  [ -x "$ROOTFS/opt/sceau/bin/sceau" ] || die "no rootfs: run the rootfs step first"
  printf 'SCEAU_HUB_OPTS="--host 127.0.0.1 --port %s"\n' "$1" >"$LOG/hub.env"
  t_boot=$(now)
  rm -f "$LOG/state"
  systemd-nspawn -q -b --register=no --keep-unit --volatile=overlay \
    --bind-ro="$LOG/hub.env:/etc/sceau/hub.env" -D "$ROOTFS" >"$LOG/nspawn.console" 2>&1 &
  NSPAWN_PID=$!
  i=0
  until [ -n "$(nspawn_leader)" ] && in_nspawn systemctl is-system-running --wait >"$LOG/state" 2>/dev/null ||
    [ "$(cat "$LOG/state" 2>/dev/null)" = degraded ]; do
    kill -0 "$NSPAWN_PID" 2>/dev/null || die "systemd-nspawn stopped: $(tail -n 5 "$LOG/nspawn.console")"
    i=$((i + 1)) && [ $i -lt 300 ] || die "the rootfs did not finish booting in 60 s"
    sleep 0.2
  done
  state=$(cat "$LOG/state")
  [ "$state" = running ] || { in_nspawn systemctl --failed --no-pager || true; die "the booted system is $state"; }
  echo "booted to 'running' in $(since "$t_boot") s"
}

hub_in_rootfs() {
  # $1: port. `hub init` as sceau, then the unit as shipped; the CA lands in $LOG.
  as_sceau sceau hub init --data /var/lib/sceau/hub >/dev/null
  in_nspawn systemctl start sceau-hub.service
  in_nspawn cat /var/lib/sceau/hub/keys/ca.pem >"$LOG/rootfs-hub-ca.pem"
  wait_healthz "https://127.0.0.1:$1/healthz" 30 --cacert "$LOG/rootfs-hub-ca.pem"
  echo
  state=$(in_nspawn systemctl is-active sceau-hub.service || true)
  [ "$state" = active ] || { in_nspawn systemctl status --no-pager sceau-hub.service || true; die "sceau-hub.service is $state"; }
}

step_nspawn() {
  port=$(free_port)
  boot_rootfs "$port"
  in_nspawn systemctl show -p ConditionResult sceau-hub.service sceau-gateway.service |
    grep -c '=no' | grep -qx 2 || die "the units did not wait for hub init / gateway enrollment"
  t0=$(now)
  hub_in_rootfs "$port"
  echo "hub init + start to /healthz over TLS: $(since "$t0") s"
  in_nspawn systemctl start sceau-hub-purge.service
  in_nspawn systemctl is-failed -q sceau-hub-purge.service && die "sceau-hub-purge.service failed"
  state=$(in_nspawn systemctl is-system-running || true)
  [ "$state" = running ] || { in_nspawn systemctl --failed --no-pager || true; die "the system is $state"; }
  echo "units waited for init; sceau-hub.service active over TLS; purge ran; system running"
  stop_nspawn
}

podman_hub() {
  # $1: name (container and volume); $2: host port; $3: the one name in its TLS
  # certificate (default: hub init's localhost, 127.0.0.1, ::1). A hub from the image,
  # initialised by a one-shot container, served read-only; its CA lands in $LOG/$1-ca.pem.
  CONTAINERS="$CONTAINERS $1"
  VOLUMES="$VOLUMES $1"
  podman volume create "$1" >/dev/null
  podman run --rm --no-healthcheck -v "$1:/var/lib/sceau" "$IMAGE" hub init --data /var/lib/sceau \
    ${3:+--host "$3"} >/dev/null
  # --health-interval=disable: no systemd timer here; the check is run by hand below.
  podman run -d --name "$1" --read-only --cap-drop=all --security-opt=no-new-privileges \
    --health-interval=disable -v "$1:/var/lib/sceau" -p "127.0.0.1:$2:8443" "$IMAGE" >/dev/null 2>&1
  podman run --rm --no-healthcheck -v "$1:/var/lib/sceau" --entrypoint cat "$IMAGE" \
    /var/lib/sceau/keys/ca.pem >"$LOG/$1-ca.pem"
  # (POSIX sh has no local variables: names here must not clash with the callers'.)
  tls_name=${3:-127.0.0.1}
  wait_healthz "https://$tls_name:$2/healthz" 30 --cacert "$LOG/$1-ca.pem" --resolve "$tls_name:$2:127.0.0.1" ||
    { podman logs "$1" >&2; return 1; }
  echo
}

step_podman() {
  podman_env
  port=$(free_port)
  name=sceau-smoke-hub-$$
  t0=$(now)
  # A name other than 127.0.0.1, as in production: the image's health check asks
  # 127.0.0.1 and must still pass.
  podman_hub "$name" "$port" hub.smoke.test
  echo "hub init + start to /healthz over TLS: $(since "$t0") s"
  podman healthcheck run "$name" 2>/dev/null
  podman exec "$name" sh -c 'touch /opt/sceau/x 2>/dev/null && echo "root filesystem writable!" && exit 1; id -un' |
    grep -qx sceau || die "the container does not run as sceau on a read-only root"
  podman stop -t 10 "$name" >/dev/null 2>&1
  code=$(podman inspect --format '{{ .State.ExitCode }}' "$name")
  [ "$code" = 0 ] || die "the hub exited $code on SIGTERM"
  echo "healthy as user sceau on a read-only root; stopped cleanly"
}

step_enroll() {
  # A hub outside (the image, under podman) and two gateways inside images: one in the
  # rootfs (the .deb, its unit as shipped), one in the container image.
  podman_env
  hub_port=$(free_port)
  hub=sceau-smoke-enroll-hub-$$
  podman_hub "$hub" "$hub_port"
  H="podman exec $hub sceau"
  $H hub org add --data /var/lib/sceau --type SI --siret 21930066200016 --branch 93066 --name "Commune"
  $H hub org add --data /var/lib/sceau --type SI --siret 22930008201453 --branch 93 --name "Departement"
  token_a=$($H hub enrollment-token 21930066200016/93066 --data /var/lib/sceau 2>/dev/null)
  token_b=$($H hub enrollment-token 22930008201453/93 --data /var/lib/sceau 2>/dev/null)
  hub_url="https://127.0.0.1:$hub_port"

  t0=$(now)
  gw_a=$(free_port)
  boot_rootfs "$(free_port)"
  in_nspawn sh -c 'cat >/run/hub-ca.pem' <"$LOG/$hub-ca.pem"
  as_sceau sceau gateway init --org 21930066200016/93066 --data /var/lib/sceau/gateway \
    --listen "127.0.0.1:$gw_a"
  as_sceau sceau gateway enroll --data /var/lib/sceau/gateway --hub "$hub_url" --token "$token_a" \
    --hub-ca /run/hub-ca.pem
  in_nspawn systemctl start sceau-gateway.service
  wait_healthz "http://127.0.0.1:$gw_a/healthz" 30 || { in_nspawn journalctl -u sceau-gateway --no-pager | tail -n 20; return 1; }
  echo
  state=$(in_nspawn systemctl is-active sceau-gateway.service || true)
  [ "$state" = active ] || die "sceau-gateway.service is $state"
  echo "gateway in the rootfs: enrolled and serving in $(since "$t0") s"
  # Its new certificate opens the link API (mutual TLS), as its own calls will.
  (umask 077 && in_nspawn cat /var/lib/sceau/gateway/keys/tls.key >"$LOG/gw-tls.key")
  in_nspawn cat /var/lib/sceau/gateway/certs/tls.pem >"$LOG/gw-tls.pem"
  curl -fsS --max-time 10 --cacert "$LOG/$hub-ca.pem" --cert "$LOG/gw-tls.pem" --key "$LOG/gw-tls.key" \
    "$hub_url/link/v1/notifications?after=0&wait=0" || die "the gateway's certificate does not open the link API"
  rm -f "$LOG/gw-tls.key"
  echo
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$LOG/$hub-ca.pem" \
    "$hub_url/link/v1/notifications?after=0&wait=0")
  [ "$code" = 401 ] || [ "$code" = 403 ] || die "the link API answered $code without a client certificate"
  echo "link API: 200 with the gateway's certificate, $code without one"

  t0=$(now)
  gw_b=$(free_port)
  gw=sceau-smoke-enroll-gw-$$
  CONTAINERS="$CONTAINERS $gw"
  VOLUMES="$VOLUMES $gw"
  podman volume create "$gw" >/dev/null
  G="podman run --rm --no-healthcheck --network host -v $gw:/var/lib/sceau -v $LOG/$hub-ca.pem:/run/hub-ca.pem:ro $IMAGE"
  $G gateway init --org 22930008201453/93 --data /var/lib/sceau --listen "127.0.0.1:$gw_b"
  $G gateway enroll --data /var/lib/sceau --hub "$hub_url" --token "$token_b" --hub-ca /run/hub-ca.pem
  podman run -d --name "$gw" --read-only --cap-drop=all --security-opt=no-new-privileges \
    --health-interval=disable --network host -v "$gw:/var/lib/sceau" "$IMAGE" \
    gateway run --data /var/lib/sceau >/dev/null 2>&1
  wait_healthz "http://127.0.0.1:$gw_b/healthz" 30 || { podman logs "$gw" >&2; return 1; }
  echo
  podman healthcheck run "$gw" 2>/dev/null
  echo "gateway in the container image: enrolled and serving in $(since "$t0") s"

  $H hub gateway list --data /var/lib/sceau | tee "$LOG/gateways"
  [ "$(grep -c -e 21930066200016 -e 22930008201453 "$LOG/gateways")" = 2 ] ||
    die "the hub does not list both gateways"
  stop_nspawn
  echo "two gateways (rootfs + image) enrolled with the hub (image) over mTLS"
}

step_compose() {
  need podman-compose
  podman_env
  SCEAU_HUB_PORT=$(free_port) SCEAU_COMMUNE_PORT=$(free_port) SCEAU_DEPARTEMENT_PORT=$(free_port)
  export SCEAU_HUB_PORT SCEAU_COMMUNE_PORT SCEAU_DEPARTEMENT_PORT
  project=sceau-smoke-$$
  compose="podman-compose -f $PKG/compose.yaml -p $project"
  trap '$compose down -v >/dev/null 2>&1; podman network rm -f ${project}_default >/dev/null 2>&1' EXIT
  $compose up -d >"$LOG/compose-up.log" 2>&1
  i=0
  until podman exec "${project}_hub_1" cat /var/lib/sceau/keys/ca.pem >"$LOG/compose-ca.pem" 2>/dev/null; do
    i=$((i + 1)) && [ $i -lt 150 ] || die "the hub never made its CA"
    sleep 0.2
  done
  wait_healthz "https://127.0.0.1:$SCEAU_HUB_PORT/healthz" 60 --cacert "$LOG/compose-ca.pem" && echo
  wait_healthz "http://127.0.0.1:$SCEAU_COMMUNE_PORT/healthz" 60 && echo
  wait_healthz "http://127.0.0.1:$SCEAU_DEPARTEMENT_PORT/healthz" 60 && echo
  podman exec "${project}_hub_1" sceau hub gateway list --data /var/lib/sceau | tee "$LOG/compose-gateways"
  [ "$(grep -c ' active ' "$LOG/compose-gateways")" = 2 ] || die "the hub does not list two active gateways"
  echo "compose: hub and two gateways up and enrolled"
}

step_qemu() {
  need qemu-system-x86
  "$PKG/vm/build-image.sh" --hub-smoke
  port=$(free_port)
  t0=$(now)
  vm="$BUILD/vm"
  # snapshot=on: the disk stays as built. One vCPU: the machine has two, shared.
  qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
    -kernel "$vm/vmlinuz" -initrd "$vm/initrd.img" -append "root=/dev/vda rw console=ttyS0 quiet" \
    -drive "file=$vm/smoke.raw,format=raw,if=virtio,snapshot=on" \
    -nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:8443" \
    </dev/null >"$LOG/qemu.console" 2>&1 &
  qemu=$!
  trap 'kill $qemu 2>/dev/null || true' EXIT
  wait_healthz "https://127.0.0.1:$port/healthz" 600 --cacert "$vm/smoke-hub-ca.pem"
  echo
  echo "qemu (tcg): booted to the hub's /healthz over TLS in $(since "$t0") s"
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
