#!/usr/bin/env bash
# Builds and runs vnumad's benchmarks (bench/*.cpp), printing their figures.
# See --help; the figures and how they were taken: docs/performance.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/bench.sh [options] [BENCH...]

Builds vnumad, vnumactl and the benchmark programs, then runs the named
benchmarks (default: all, in this order) and prints their figures:

  placement  partitioner decision time on the host fixtures        (< 1 ms)
  argv       expand + QEMU argv for the seed guest                 (< 1 ms)
  e2e        start latency vs bare QEMU, destroy, setvcpus 4->8    (overhead <= 20 ms)
  footprint  daemon RSS and CPU with 1/10/50 paused guests, idle   (<= 10 MB, 0 idle CPU)
  control    dominfo p50/p99 with 100 clients while guests churn   (p99 <= 10 ms)
  boot_storm 20 guests in the config dir at daemon start: READY=1 and all
             running, start_concurrency 1 (serial), 4 and 20

placement and argv are pure computation. e2e, footprint and control run the
real vnumad with real QEMU (TCG) and need root (cgroups) and
qemu-system-x86_64; each uses its own temp dirs under /tmp/vnumad-bench-*
and removes them, its guests and their cgroups when it ends (Ctrl-C too).
e2e's setvcpus part boots the test guest image; it is built into
BUILD_DIR/guest with scripts/make-test-guest.sh when missing (downloads
Debian's kernel once; --no-guest skips setvcpus instead).

Options:
  -B, --build-dir DIR   build directory (default: build-bench); configured
                        with -DCMAKE_BUILD_TYPE=RelWithDebInfo when new
  -j N                  parallel build jobs (default: 2)
  --no-build            run what is already built
  --no-guest            do not build the guest image; e2e skips setvcpus
  --runs N              e2e start/destroy repetitions (default 10)
  --setvcpus-runs N     e2e setvcpus repetitions, each a fresh boot (default 3)
  --seconds N           control: duration of the run (default 10)
  --think-ms N          control: mean think time between a client's calls
                        (default 10; 0 = closed loop)
  -h, --help            this text

Each benchmark exits non-zero when a figure misses its target; this script
runs them all anyway and exits non-zero if any did. Record the load with the
figures (each live benchmark prints /proc/loadavg): the machine's other work
shows up in every timing.

Examples:
  scripts/bench.sh                      everything
  scripts/bench.sh placement argv       the pure ones, no QEMU
  scripts/bench.sh --runs 20 e2e
  scripts/bench.sh --no-build control --think-ms 0
EOF
}

cd "$(dirname "$0")/.."
build=build-bench
jobs=2
do_build=1
guest=1
e2e_args=()
control_args=()
benches=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    -B|--build-dir) build=$2; shift 2 ;;
    -j) jobs=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --no-guest) guest=0; shift ;;
    --runs) e2e_args+=(--runs "$2"); shift 2 ;;
    --setvcpus-runs) e2e_args+=(--setvcpus-runs "$2"); shift 2 ;;
    --seconds) control_args+=(--seconds "$2"); shift 2 ;;
    --think-ms) control_args+=(--think-ms "$2"); shift 2 ;;
    placement|argv|e2e|footprint|control|boot_storm) benches+=("$1"); shift ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#benches[@]} -gt 0 ]] || benches=(placement argv e2e footprint control boot_storm)

if [[ $do_build == 1 ]]; then
  [[ -f $build/CMakeCache.txt ]] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  targets=(vnumad vnumactl)
  for b in "${benches[@]}"; do targets+=("bench_$b"); done
  cmake --build "$build" -j"$jobs" --target "${targets[@]}"
fi

if [[ " ${benches[*]} " == *" e2e "* ]]; then
  if [[ $guest == 1 && ! -f $build/guest/vmlinuz ]]; then
    scripts/make-test-guest.sh "$build/guest"
  elif [[ $guest == 0 ]]; then
    e2e_args+=(--setvcpus-runs 0)
  fi
fi

echo "== machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ {print $2}') GiB," \
     "kernel $(uname -r), $(qemu-system-x86_64 --version | head -n1)"
failed=()
for b in "${benches[@]}"; do
  echo
  echo "== bench_$b ($(date -u +%FT%TZ), loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  args=()
  case $b in
    e2e) args=("${e2e_args[@]}") ;;
    control) args=("${control_args[@]}") ;;
  esac
  "$build/bench_$b" "${args[@]}" || failed+=("$b")
done
echo
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "== over target or failed: ${failed[*]}"
  exit 1
fi
echo "== every benchmark met its target"
