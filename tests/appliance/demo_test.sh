#!/usr/bin/env bash
# The main job, scripts/demo.sh, run as the README shows it (on an already
# built tree): the daemon starts on etc/vnumad.conf, the demo guest boots, the
# guest's own NUMA view (4 nodes, its sysfs) is printed beside vnumactl
# vcpuinfo on the same lines, the hints name real commands, and Ctrl-C (here
# SIGTERM: a background job ignores SIGINT) destroys the guest, stops the
# daemon and removes the temporary dir, with exit status 0.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
out=$(mktemp /tmp/vnumad-demo-test.XXXXXX)
# On a failure the demo is stopped as an operator would (its own clean-up
# destroys the guest and stops the daemon), then killed if it hangs.
cleanup() {
  if [[ -n ${demo:-} ]] && kill -0 "$demo" 2>/dev/null; then
    kill -TERM "$demo" 2>/dev/null
    for _ in $(seq 40); do kill -0 "$demo" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$demo" 2>/dev/null || true
  fi
  rm -f "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- demo output:"; cat "$out"; exit 1; }

(cd "$src" && VNUMAD_BUILD_DIR=$build exec scripts/demo.sh) > "$out" 2>&1 &
demo=$!
for _ in $(seq 240); do
  grep -q '^Ctrl-C stops' "$out" && break
  kill -0 "$demo" 2>/dev/null || break
  sleep 1
done
grep -q '^Ctrl-C stops' "$out" || fail "the demo did not reach its prompt within 240 s"
work=$(sed -n 's|^== vnumad on .*, config dir \(/tmp/vnumad-demo\.[^/]*\)/domains.d$|\1|p' "$out")
[[ -d $work ]] || fail "no temporary dir in the output"
qemu=$(awk '$1 == "PID:" { print $2 }' "$out")
[[ -n $qemu && -d /proc/$qemu ]] || fail "dominfo's QEMU pid '$qemu' is not a running process"
grep -q '^State: *running$' "$out" || fail "dominfo does not say running"

# The table: each guest node's line carries a vcpuinfo row after '|', and no
# row of either side sits on a line of its own before the guest's lines end.
for n in 0 1 2 3; do
  grep -Eq "^node $n: cpus $((2 * n))-$((2 * n + 1)) +[0-9]+ MiB  dist ([0-9]+,){3}[0-9]+ +\| +[A-Z0-9]" "$out" \
    || fail "guest node $n's line is not beside a vcpuinfo row"
done
[[ $(grep -c '^node [0-3]: ' "$out") == 4 ]] || fail "the guest does not show exactly 4 nodes"
! grep -q $'\r' "$out" || fail "a carriage return in the output"
grep -Eq '^node 0: .*dist 10,11,11,11 ' "$out" || fail "node 0's distances are not 10,11,11,11 (4 cells on one host node)"
[[ $(grep -Ec '^[^|]*\| [0-7] +[0-3] +online ' "$out") == 8 ]] || fail "vcpuinfo does not list 8 online vCPUs"
grep -qx "  $build/vnumactl --socket $work/vnumad.sock list" "$out" || fail "the hint for list is not a real command"
"$build/vnumactl" --socket "$work/vnumad.sock" list | awk '$2 == "demo" { found = 1 } END { exit !found }' || fail "the hinted list command does not list demo"
echo "ok: the demo guest booted and its view is beside vcpuinfo (QEMU pid $qemu)"

kill -TERM "$demo"
status=0
for _ in $(seq 60); do kill -0 "$demo" 2>/dev/null || break; sleep 0.5; done
kill -0 "$demo" 2>/dev/null && fail "the demo did not end within 30 s of SIGTERM"
wait "$demo" || status=$?
((status == 0)) || fail "the demo exited $status after SIGTERM"
for _ in $(seq 20); do [[ -d /proc/$qemu ]] || break; sleep 0.5; done
[[ ! -d /proc/$qemu ]] || fail "QEMU $qemu outlived the demo"
[[ ! -e $work ]] || fail "$work is left behind"
grep -q '^== stopping: destroying the demo guest, then the daemon' "$out" || fail "no stopping line"
echo "ok: SIGTERM destroyed the guest, stopped the daemon and removed $work (exit 0)"
