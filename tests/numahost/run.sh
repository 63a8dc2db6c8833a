#!/usr/bin/env bash
# One ctest case of the NUMA test host: boots it (boot.sh) over this
# machine's root with the given cgroup mode and shape set, runs matrix.sh
# inside, and prints what it printed. Usage:
#   run.sh BUILD_DIR v2|v1|none all|core
#   run.sh BUILD_DIR systemd
# BUILD_DIR holds vnumad, vnumactl and numahost/ (scripts/make-numa-host.sh).
# systemd: the .deb is built from BUILD_DIR (cpack) into the out share, and
# the VM boots systemd as PID 1, which runs systemd.sh (the operator cycle).
set -euo pipefail
build=$(cd "$1" && pwd) mode=$2 shapes=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
out=$build/numahost-out/$mode
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS
status=0
if [[ $mode == systemd ]]; then
  (cd "$build" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out/pkg") > "$out/cpack.log" 2>&1 \
    || { echo "numahost: cpack -G DEB failed:"; tail -20 "$out/cpack.log"; exit 1; }
  echo "numahost: built $(basename "$out"/pkg/*.deb) in $((SECONDS - start)) s"
  # systemd runs systemd.run= as a unit and powers off when it ends. What the
  # machine's root has enabled (a database, timers, gettys) stays masked.
  masks=()
  for u in postgresql.service e2scrub_reap.service systemd-pstore.service systemd-timesyncd.service \
           getty@tty1.service serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer \
           dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer; do
    masks+=("systemd.mask=$u")
  done
  # Inside ctest's 600 s, so that a VM that hangs still shows its console.
  NUMAHOST_TIMEOUT=${NUMAHOST_TIMEOUT:-560} "$here/boot.sh" "$build/numahost" "$out" "$here/systemd.sh" vnumad.init=systemd \
    "systemd.run=$here/systemd.sh" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff \
    systemd.show_status=false "${masks[@]}" || status=$?
else
  "$here/boot.sh" "$build/numahost" "$out" "$here/pid1.sh" \
    "vnumad.cgroup=$mode" "vnumad.build=$build" "vnumad.shapes=$shapes" || status=$?
fi
if [[ -s $out/test.log ]]; then
  cat "$out/test.log"
else
  echo "numahost: no test output; console:"
  tail -n 40 "$out/console.log" 2>/dev/null || true
fi
echo "numahost: the VM ran $((SECONDS - start)) s, exit $status"
exit "$status"
