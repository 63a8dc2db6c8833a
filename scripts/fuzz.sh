#!/usr/bin/env bash
# Runs the libFuzzer harnesses of fuzz/ under ASan+UBSan, one after the other.
# See --help and docs/reliability.md ("Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."

all_harnesses=(domain_xml sets qmp control)

usage() {
  cat <<USAGE
Usage: scripts/fuzz.sh [SECONDS_EACH] [HARNESS...]

Builds the libFuzzer targets (clang-14, ASan+UBSan, -DVNUMAD_FUZZ=ON) in
build-fuzz/ and runs each HARNESS for SECONDS_EACH seconds (default 600), one
at a time, single process. Harnesses: ${all_harnesses[*]} (default: all).

  domain_xml  domain XML parse, validate, write, place/expand on fixed hosts
  sets        cpuset/nodeset syntax, memory sizes and units, names
  qmp         QMP line framing and message/reply decoding
  control     control-protocol request parsing and round trips

Each harness fuzzes a working corpus, build-fuzz/fuzz-work/HARNESS/corpus,
seeded from fuzz/corpus/HARNESS and fuzz/regressions/HARNESS and kept between
runs; it uses the dictionary fuzz/dict/*.dict. A crash, leak, UB report,
timeout or out-of-memory input is saved in build-fuzz/fuzz-work/HARNESS/findings/
and the script exits with status 1 after printing the summary table. To turn a
finding into a regression test, fix the code and copy the input into
fuzz/regressions/HARNESS/ (tests/fuzz/corpus_replay_test replays it).

Environment: BUILD_DIR (default build-fuzz), JOBS (build parallelism,
default 2), FUZZ_ARGS (extra libFuzzer flags).

Examples:
  scripts/fuzz.sh                 # every harness, 10 minutes each
  scripts/fuzz.sh 60 qmp control  # a quick look at two harnesses
  build-fuzz/fuzz/fuzz_qmp CRASH  # replay one input under the sanitizers
USAGE
}

seconds=600
harnesses=()
for arg in "$@"; do
  case $arg in
    -h|--help) usage; exit 0 ;;
    *[!0-9]*)
      [[ " ${all_harnesses[*]} " == *" $arg "* ]] || { echo "fuzz.sh: unknown harness '$arg' (valid: ${all_harnesses[*]})" >&2; exit 2; }
      harnesses+=("$arg") ;;
    *) seconds=$arg ;;
  esac
done
((${#harnesses[@]})) || harnesses=("${all_harnesses[@]}")
build=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-2}

# ---- toolchain: the project's dependencies plus clang and its runtimes --------
scripts/install-deps.sh
clang_packages=(clang-14 libclang-rt-14-dev)
missing=()
for p in "${clang_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- build ----------------------------------------------------------------------
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVNUMAD_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
cmake --build "$build" "${targets[@]}" -j"$jobs"

# ---- run ------------------------------------------------------------------------
declare -A max_len=([domain_xml]=16384 [sets]=256 [qmp]=8192 [control]=4096)
declare -A dict=([domain_xml]=domain_xml [sets]=sets [qmp]=json [control]=json)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

work_root=$build/fuzz-work
mkdir -p "$work_root"
summary=$work_root/summary.txt
printf '%-11s %6s %12s %8s %8s %8s %16s %8s\n' harness seconds runs exec/s cov ft "corpus(start>end)" findings >"$summary"
status=0
for h in "${harnesses[@]}"; do
  work=$work_root/$h
  mkdir -p "$work/corpus" "$work/findings"
  cp -n fuzz/corpus/"$h"/* "$work/corpus/" 2>/dev/null || true
  if [[ -d fuzz/regressions/$h ]]; then cp -n fuzz/regressions/"$h"/* "$work/corpus/" 2>/dev/null || true; fi
  touch "$work/.started"
  echo "fuzz.sh: $h for ${seconds}s (log: $work/fuzz.log)"
  rc=0
  # One process, no -jobs/-workers: the fuzzer runs in this process group, on
  # one core, and its final statistics land in fuzz.log.
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  "$build/fuzz/fuzz_$h" "$work/corpus" -max_total_time="$seconds" -print_final_stats=1 \
    -dict="fuzz/dict/${dict[$h]}.dict" -max_len="${max_len[$h]}" -timeout=25 -rss_limit_mb=2048 \
    -artifact_prefix="$work/findings/" ${FUZZ_ARGS:-} >"$work/fuzz.log" 2>&1 || rc=$?
  # libFuzzer's active corpus: at start (seeds loaded) and at the end.
  before=$( (grep 'INITED' "$work/fuzz.log" || true) | grep -o 'corp: [0-9]*' | tail -n1 | cut -d' ' -f2)
  after=$( (grep -o 'corp: [0-9]*' "$work/fuzz.log" || true) | tail -n1 | cut -d' ' -f2)
  findings=$(find "$work/findings" -type f -newer "$work/.started" | wc -l)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -n1)
  cov=$( (grep -o 'cov: [0-9]*' "$work/fuzz.log" || true) | tail -n1 | cut -d' ' -f2)
  ft=$( (grep -o 'ft: [0-9]*' "$work/fuzz.log" || true) | tail -n1 | cut -d' ' -f2)
  if ((rc != 0 && findings == 0)); then findings=1; fi  # died without an artifact: still a finding
  printf '%-11s %6s %12s %8s %8s %8s %16s %8s\n' "$h" "$seconds" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" \
    "${before:-?}>${after:-?}" "$findings" >>"$summary"
  if ((findings)); then
    status=1
    echo "fuzz.sh: $h FOUND A PROBLEM (exit $rc); inputs in $work/findings/:" >&2
    find "$work/findings" -type f -newer "$work/.started" -printf '  %p\n' >&2 || true
    grep -m3 -E 'ERROR: |runtime error|invariant broken|SUMMARY' "$work/fuzz.log" >&2 || true
  fi
done
echo
cat "$summary"
exit "$status"
