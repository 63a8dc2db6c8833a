#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian 12, as root), builds,
# makes the test guest image, and runs every test through ctest. Each phase
# prints how long it took, so a slow CI run shows where its time went.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() { echo "test.sh: $1 took $((SECONDS - started)) s"; started=$SECONDS; }
started=$SECONDS
scripts/install-deps.sh --backports
phase "installing dependencies"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
phase "the build"
cd build
status=0
ctest --output-on-failure -j"$(nproc)" "$@" || status=$?
phase "the tests"
exit "$status"
