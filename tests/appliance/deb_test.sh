#!/usr/bin/env bash
# `cpack -G DEB` of the build tree: the package's control data (name,
# section, maintainer, Depends computed by dpkg-shlibdeps plus QEMU, the
# conffile, maintainer scripts), its file list, and the programs run from the
# unpacked package (dpkg-deb -x into a scratch root), daemon included.
# Usage: deb_test.sh BUILD_DIR SHARED_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
shared=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/appliance_lib.sh"

tmp=$(mktemp -d)
trap 'jobs -p | xargs -r kill -KILL 2>/dev/null; rm -rf "$tmp"' EXIT

[[ -f $build/CPackConfig.cmake ]] || fail "$build/CPackConfig.cmake missing (include(CPack) in CMakeLists.txt)"
(cd "$build" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/pkg") > "$tmp/cpack.log" 2>&1 \
  || fail "cpack -G DEB failed: $(cat "$tmp/cpack.log")"
debs=("$tmp"/pkg/*.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || fail "expected one .deb, got: ${debs[*]}"
deb=${debs[0]}
[[ $(basename "$deb") =~ ^vnumad_[0-9.]+_[a-z0-9]+\.deb$ ]] || fail "package file name $(basename "$deb")"

field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == vnumad ]] || fail "Package: $(field Package)"
[[ $(field Section) == admin ]] || fail "Section: $(field Section)"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || fail "Architecture: $(field Architecture)"
[[ $(field Maintainer) =~ .+\<.+@.+\> ]] || fail "Maintainer: $(field Maintainer)"
[[ -n $(field Description) ]] || fail "no Description"
depends=$(field Depends)
for dep in qemu-system-x86 libhwloc libnuma libc6 libstdc++6 libsystemd0 libboost-json; do
  [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
echo "ok: control fields (Depends: $depends)"

dpkg-deb -e "$deb" "$tmp/control"
[[ $(cat "$tmp/control/conffiles") == /etc/vnumad/vnumad.conf ]] || fail "conffiles: $(cat "$tmp/control/conffiles")"
for script in postinst prerm postrm; do
  [[ -x $tmp/control/$script ]] || fail "maintainer script $script missing or not executable"
  sh -n "$tmp/control/$script" || fail "$script: syntax error"
done
echo "ok: conffiles and maintainer scripts"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | sort > "$tmp/files"
for path in /usr/sbin/vnumad /usr/bin/vnumactl /etc/vnumad/vnumad.conf /etc/vnumad/domains.d \
            /usr/lib/systemd/system/vnumad.service /usr/lib/tmpfiles.d/vnumad.conf \
            /usr/share/man/man1/vnumactl.1 /usr/share/man/man5/vnumad.conf.5 /usr/share/man/man5/vnumad-domain.5 \
            /usr/share/man/man8/vnumad.8 /usr/share/bash-completion/completions/vnumactl \
            /usr/share/doc/vnumad/examples/demo.xml; do
  grep -qx -- "$path" "$tmp/files" || fail "$path not in the package"
done
! grep -q '^/etc/vnumad/domains.d/.' "$tmp/files" || fail "the package defines guests: $(grep '^/etc/vnumad/domains.d/.' "$tmp/files")"
! grep -qE '^/(usr/local|home|root|tmp|work)(/|$)' "$tmp/files" || fail "stray paths in the package"
! grep -qE '/test_|/tests?/' "$tmp/files" || fail "test files in the package"
echo "ok: file list"

root=$tmp/root
dpkg-deb -x "$deb" "$root"
verify_installed_unit "$root" "$tmp"
! file "$root/usr/sbin/vnumad" | grep -q 'not stripped' || fail "vnumad in the package: $(file "$root/usr/sbin/vnumad")"
check_help "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl"
check_expand "$root/usr/bin/vnumactl" "$shared" "$tmp"
check_daemon_cycle "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl" "$root/etc/vnumad/vnumad.conf" "$tmp/run"
echo "all package checks passed"
