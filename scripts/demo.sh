#!/usr/bin/env bash
# The main job: vnumad on the bundled example config (etc/vnumad.conf), booting
# the demo vNUMA guest (etc/domains.d/demo.xml: 8 vCPUs in 4 cells, TCG) with
# a temporary config dir, state dir and socket. Prints the guest's own NUMA
# view next to `vnumactl vcpuinfo`, then keeps running until Ctrl-C, when it
# destroys the guest and stops the daemon. Debian 12, as root.
set -euo pipefail
cd "$(dirname "$0")/.."

# VNUMAD_BUILD_DIR: a tree that is already built (the test of this script
# passes its own); then nothing is installed or built here.
build=${VNUMAD_BUILD_DIR:-build}
if [[ -z ${VNUMAD_BUILD_DIR:-} ]]; then
  scripts/install-deps.sh --backports
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target vnumad vnumactl
fi
scripts/make-test-guest.sh "$build/guest"

work=$(mktemp -d /tmp/vnumad-demo.XXXXXX)
# QEMU runs as vnumad-qemu (runas): it must reach its state dir below.
chmod 0711 "$work"
mkdir -p "$work/domains.d" "$work/log"
sock="$work/vnumad.sock"
vnumactl() { "$build/vnumactl" "$@"; }

# The example domain, pointed at the test guest image and the temp log dir.
sed -e "s|/var/lib/vnumad/images|$(cd "$build" && pwd)/guest|g" -e "s|/var/log/vnumad|$work/log|g" \
  etc/domains.d/demo.xml > "$work/domain.xml"

# A vNUMA guest's memory is locked. QEMU runs as runas = vnumad-qemu, for
# which vnumad raises RLIMIT_MEMLOCK; in a container whose root lacks
# CAP_SYS_RESOURCE it cannot, and there QEMU runs as root (which locks memory
# with CAP_IPC_LOCK) for the demo. The bundled file itself is not changed.
conf=etc/vnumad.conf
if ! (ulimit -l unlimited) 2>/dev/null; then
  conf=$work/vnumad.conf
  sed 's/^runas *=.*/runas = root/' etc/vnumad.conf > "$conf"
  grep -qx 'runas = root' "$conf" || echo "runas = root" >> "$conf"
  echo "== RLIMIT_MEMLOCK cannot be raised here (no CAP_SYS_RESOURCE): the demo adds runas = root"
fi

echo "== vnumad on etc/vnumad.conf, config dir $work/domains.d"
# Its own session, so that Ctrl-C reaches this script (which then destroys the
# guest through the daemon) and not the daemon first.
setsid "$build/vnumad" --config "$conf" --config-dir "$work/domains.d" --state-dir "$work/state" \
  --socket "$sock" --log-dir "$work/log" &
daemon=$!

# Ctrl-C is how the demo ends: exit 0 then; a failure keeps its status.
stop() {
  local status=$?
  [[ ${1:-} == interrupted ]] && status=0
  trap - INT TERM EXIT
  echo
  echo "== stopping: destroying the demo guest, then the daemon"
  vnumactl destroy demo --socket "$sock" >/dev/null 2>&1 || true
  kill -TERM "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
  # Should the daemon have gone first, QEMU outlives it by design: end it here.
  if [ -f "$work/state/demo/record.json" ]; then
    qemu=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$work/state/demo/record.json")
    [ -n "$qemu" ] && kill -KILL "$qemu" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap 'stop interrupted' INT TERM
trap stop EXIT

for _ in $(seq 100); do [ -S "$sock" ] && break; kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
[ -S "$sock" ] || { echo "vnumad did not start"; exit 1; }
echo "== dropping demo.xml into the config dir (what vnumad derives: vnumactl expand)"
cp "$work/domain.xml" "$work/domains.d/demo.xml"

serial="$work/log/demo.serial"
for _ in $(seq 240); do
  grep -q 'VNUMA READY' "$serial" 2>/dev/null && break
  sleep 0.5
done
grep -q 'VNUMA READY' "$serial" 2>/dev/null || { echo "the demo guest did not boot; QEMU log:"; cat "$work/log/demo.log"; exit 1; }

echo
vnumactl dominfo demo --socket "$sock"
echo
# The guest's own view (its kernel's sysfs, printed on the serial console)
# beside the host's view of the same vCPUs.
# The serial log has the console's CRLF line ends: the CR goes, or it would
# return the cursor to column 0 in the middle of the table.
guest_view=$(tr -d '\r' < "$serial" | awk '/VNUMA node=/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    printf "node %s: cpus %-5s %4d MiB  dist %s\n", f["node"], f["cpus"], f["memtotal_kb"] / 1024, f["distance"] }')
host_view=$(vnumactl vcpuinfo demo --socket "$sock")
printf '%-52s| %s\n' "guest's NUMA view (guest sysfs)" "vnumactl vcpuinfo demo"
printf '%-52s+%s\n' "$(printf -- '-%.0s' $(seq 52))" "$(printf -- '-%.0s' $(seq 50))"
paste -d'|' <(printf '%s\n' "$guest_view" | awk '{ printf "%-52s\n", $0 }') <(printf '%s\n' "$host_view" | sed 's/^/ /') |
  awk -F'|' '{ printf "%-52s|%s\n", $1, $2 }'
echo
echo "vnumad is running (pid $daemon). Try, in another shell:"
# Paths as the operator typed them: from the clone's top folder.
echo "  $build/vnumactl --help"
echo "  $build/vnumactl --socket $sock list"
echo "  $build/vnumactl --socket $sock vcpuinfo demo"
echo "Ctrl-C stops the guest and the daemon."
wait "$daemon"
