#!/usr/bin/env bash
# One ctest case of the NUMA test host: boots it (boot.sh) over this
# machine's root with the given cgroup mode and shape set, runs matrix.sh
# inside, and prints what it printed. Usage:
#   run.sh BUILD_DIR v2|v1|none all|core
# BUILD_DIR holds vnumad, vnumactl and numahost/ (scripts/make-numa-host.sh).
set -euo pipefail
build=$(cd "$1" && pwd) mode=$2 shapes=$3
here=$(cd "$(dirname "$0")" && pwd)
out=$build/numahost-out/$mode
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS
status=0
"$here/boot.sh" "$build/numahost" "$out" "$here/pid1.sh" \
  "vnumad.cgroup=$mode" "vnumad.build=$build" "vnumad.shapes=$shapes" || status=$?
if [[ -s $out/test.log ]]; then
  cat "$out/test.log"
else
  echo "numahost: no test output; console:"
  tail -n 40 "$out/console.log" 2>/dev/null || true
fi
echo "numahost: the VM ran $((SECONDS - start)) s, exit $status"
exit "$status"
