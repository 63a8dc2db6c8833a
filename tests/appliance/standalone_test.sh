#!/usr/bin/env bash
# The repository stands alone: a copy of it, with nothing beside it (no
# ../shared), configures, builds a test that reads the reference data
# (tests/data/fixtures, tests/data/conformance) and passes it.
# Usage: standalone_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d /tmp/vnumad-standalone.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/repo"
# What a clone has: the tracked files (and, in a working tree, the new ones
# not ignored), never a build directory.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tmp/repo" 2>/dev/null) ||
    (cd "$src" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [[ -e $f ]] && cp --parents -- "$f" "$tmp/repo"; done)
else
  (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -C "$tmp/repo" -xf -
fi
[[ ! -e $tmp/shared ]] || { echo "FAIL: $tmp/shared exists"; exit 1; }

# What is checked is where the build finds its data, not the code the
# compiler makes: an unoptimised build without debug information compiles
# about 2.5 times faster than RelWithDebInfo.
cmake -S "$tmp/repo" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g0" \
  -DVNUMAD_HARDENING=OFF >/dev/null
reference=$(sed -n 's/^VNUMAD_REFERENCE_DIR:PATH=//p' "$tmp/build/CMakeCache.txt")
case $reference in
  "$tmp/repo"/*) echo "ok:   the reference data is inside the copy ($reference)" ;;
  *) echo "FAIL: VNUMAD_REFERENCE_DIR is $reference, outside the copy"; exit 1 ;;
esac
cmake --build "$tmp/build" -j"$(nproc)" --target test_config_domain_xml_test >/dev/null
"$tmp/build/tests/test_config_domain_xml_test" --log_level=error
echo "ok:   config/domain_xml_test (libvirt conformance inputs, seed domains) passes from the copy"
