#!/usr/bin/env bash
# `cpack -G DEB` of the build tree: the package's control data (name,
# section, maintainer, Depends computed by dpkg-shlibdeps plus QEMU and
# adduser, the conffiles, maintainer scripts), its file list, Debian's
# copyright and changelog, the hardening of its programs (readelf), its
# logrotate file (logrotate -d, and a real copytruncate rotation), lintian
# (no errors), the programs run from the unpacked package (dpkg-deb -x into a
# scratch root), daemon included, and its install, reinstall, upgrade,
# remove and purge on an overlay of this machine's root (deb_cycle.sh).
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
[[ $(basename "$deb") =~ ^vnumad_[0-9.]+-[0-9]+_[a-z0-9]+\.deb$ ]] || fail "package file name $(basename "$deb")"

field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == vnumad ]] || fail "Package: $(field Package)"
[[ $(field Section) == admin ]] || fail "Section: $(field Section)"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || fail "Architecture: $(field Architecture)"
[[ $(field Maintainer) =~ .+\<.+@.+\> ]] || fail "Maintainer: $(field Maintainer)"
[[ -n $(field Description) ]] || fail "no Description"
depends=$(field Depends)
for dep in qemu-system-x86 adduser systemd-container libhwloc libnuma libc6 libstdc++6 libsystemd0 libboost-json; do
  [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
echo "ok: control fields (Depends: $depends)"

dpkg-deb -e "$deb" "$tmp/control"
[[ $(sort "$tmp/control/conffiles") == $'/etc/logrotate.d/vnumad\n/etc/vnumad/vnumad.conf' ]] \
  || fail "conffiles: $(cat "$tmp/control/conffiles")"
for script in postinst prerm postrm; do
  [[ -x $tmp/control/$script ]] || fail "maintainer script $script missing or not executable"
  sh -n "$tmp/control/$script" || fail "$script: syntax error"
  # Services are driven through init-system-helpers, as debhelper's snippets
  # do; only `systemctl daemon-reload` is called directly (as they do too).
  ! grep -E '^[^#]*systemctl' "$tmp/control/$script" | grep -vq 'systemctl --system daemon-reload' \
    || fail "$script calls systemctl for more than daemon-reload: $(grep -n systemctl "$tmp/control/$script")"
  "$tmp/control/$script" no-such-action > /dev/null 2>&1 && fail "$script accepts an unknown action"
done
grep -q 'deb-systemd-invoke try-restart' "$tmp/control/postinst" || fail "postinst does not try-restart on upgrade"
grep -q 'deb-systemd-invoke stop' "$tmp/control/prerm" || fail "prerm does not stop on remove"
grep -q 'deb-systemd-helper enable "$guests_unit"' "$tmp/control/postinst" || fail "postinst does not enable vnumad-guests.service"
! grep -Eq 'deb-systemd-invoke (stop|restart|try-restart) .*guests' "$tmp/control/postinst" "$tmp/control/prerm" \
  || fail "a maintainer script stops or restarts vnumad-guests.service (that powers every guest off)"
echo "ok: conffiles and maintainer scripts"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | sort > "$tmp/files"
for path in /usr/sbin/vnumad /usr/bin/vnumactl /etc/vnumad/vnumad.conf /etc/vnumad/domains.d \
            /usr/lib/systemd/system/vnumad.service /usr/lib/systemd/system/vnumad-guests.service /usr/lib/tmpfiles.d/vnumad.conf \
            /usr/share/man/man1/vnumactl.1.gz /usr/share/man/man5/vnumad.conf.5.gz \
            /usr/share/man/man5/vnumad-domain.5.gz /usr/share/man/man8/vnumad.8.gz /usr/share/bash-completion/completions/vnumactl \
            /usr/share/doc/vnumad/examples/demo.xml /usr/share/doc/vnumad/copyright \
            /usr/share/doc/vnumad/changelog.Debian.gz /usr/share/lintian/overrides/vnumad \
            /etc/logrotate.d/vnumad; do
  grep -qx -- "$path" "$tmp/files" || fail "$path not in the package"
done
! grep -q '^/etc/vnumad/domains.d/.' "$tmp/files" || fail "the package defines guests: $(grep '^/etc/vnumad/domains.d/.' "$tmp/files")"
! grep -qE '^/(usr/local|home|root|tmp|work)(/|$)' "$tmp/files" || fail "stray paths in the package"
! grep -qE '/test_|/tests?/' "$tmp/files" || fail "test files in the package"
echo "ok: file list"

root=$tmp/root
dpkg-deb -x "$deb" "$root"
verify_installed_unit "$root" "$tmp"
grep -qx 'KillMode=process' "$root/usr/lib/systemd/system/vnumad.service" \
  || fail "the unit lacks KillMode=process: stopping or upgrading vnumad would kill the guests"

# Debian's package documentation.
doc=$root/usr/share/doc/vnumad
[[ $(head -n1 "$doc/copyright") == "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" ]] \
  || fail "copyright is not machine-readable (DEP-5): $(head -n1 "$doc/copyright")"
grep -q '^Files: \*$' "$doc/copyright" && grep -q '^License: ' "$doc/copyright" || fail "copyright lacks Files: * / License:"
gzip -t "$doc/changelog.Debian.gz" || fail "changelog.Debian.gz is not gzip"
[[ $(gzip -dc "$doc/changelog.Debian.gz" | dpkg-parsechangelog -l - -S Version) == $(field Version) ]] \
  || fail "changelog's version $(gzip -dc "$doc/changelog.Debian.gz" | dpkg-parsechangelog -l - -S Version) is not the package's $(field Version)"
[[ -n $(gzip -dc "$doc/changelog.Debian.gz" | dpkg-parsechangelog -l - -S Changes | grep '^  \* ') ]] \
  || fail "changelog's entry lists no change"
echo "ok: copyright (DEP-5), changelog.Debian.gz ($(field Version))"

# Hardening of both programs, from their ELF headers: PIE, full RELRO
# (GNU_RELRO and BIND_NOW), stack protector and fortified libc calls.
for prog in "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl"; do
  # Whole outputs first: grep -q on a pipe would end readelf with SIGPIPE.
  header=$(readelf -h "$prog") dynamic=$(readelf -d "$prog") segments=$(readelf -lW "$prog")
  syms=$(readelf --dyn-syms -W "$prog")
  grep -q 'Type: *DYN' <<< "$header" || fail "$prog is not PIE: $(grep Type <<< "$header")"
  grep -q 'FLAGS_1.*PIE' <<< "$dynamic" || fail "$prog: no PIE flag"
  grep -Eq '\(FLAGS\).*BIND_NOW|FLAGS_1.*NOW' <<< "$dynamic" || fail "$prog: no BIND_NOW: $(grep FLAGS <<< "$dynamic")"
  grep -q GNU_RELRO <<< "$segments" || fail "$prog: no GNU_RELRO segment"
  grep -q '__stack_chk_fail' <<< "$syms" || fail "$prog: no stack protector"
  grep -Eq '__[a-z0-9_]+_chk\b' <<< "$syms" || fail "$prog: no fortified libc call"
done
if command -v hardening-check >/dev/null; then
  hardening-check "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl" || fail "hardening-check"
fi
chk=$(readelf --dyn-syms -W "$root/usr/sbin/vnumad" | grep -Eo '__[a-z0-9_]+_chk\b' | grep -v __stack_chk | sort -u | tr '\n' ' ')
echo "ok: hardening: PIE, RELRO + BIND_NOW, stack protector, fortify (vnumad calls $chk)"

# logrotate: the file parses, and a forced rotation with it (pointed at a
# scratch dir) copies and truncates a log that a writer keeps open with
# O_APPEND, as vnumad opens QEMU's, whose next write lands at offset 0.
command -v logrotate >/dev/null || fail "logrotate missing (scripts/install-deps.sh installs it)"
logrotate -d -s "$tmp/logrotate.state" "$root/etc/logrotate.d/vnumad" > "$tmp/logrotate-d.log" 2>&1 \
  || fail "logrotate -d: $(cat "$tmp/logrotate-d.log")"
! grep -qi 'error' "$tmp/logrotate-d.log" || fail "logrotate -d: $(cat "$tmp/logrotate-d.log")"
mkdir -m 0750 "$tmp/logs"
sed "s|^/var/log/vnumad/|$tmp/logs/|" "$root/etc/logrotate.d/vnumad" > "$tmp/logrotate.conf"
grep -q "^$tmp/logs/\*.log {" "$tmp/logrotate.conf" || fail "logrotate file does not name /var/log/vnumad/*.log"
exec {qemu_log}>>"$tmp/logs/web.log"
printf 'before rotation\n' >&$qemu_log
logrotate -f -s "$tmp/logrotate.state" "$tmp/logrotate.conf" > "$tmp/logrotate.log" 2>&1 \
  || fail "logrotate -f: $(cat "$tmp/logrotate.log")"
printf 'after\n' >&$qemu_log
exec {qemu_log}>&-
[[ $(gzip -dc "$tmp/logs/web.log.1.gz") == "before rotation" ]] || fail "rotated log: $(ls "$tmp/logs")"
[[ $(cat "$tmp/logs/web.log") == after && $(stat -c %s "$tmp/logs/web.log") == 6 ]] \
  || fail "the open log after copytruncate: $(stat -c %s "$tmp/logs/web.log") bytes"
echo "ok: logrotate file parses; copytruncate rotates a log held open"

# lintian: no errors. Its warnings and infos are shown; the ones that are
# overridden are listed, with reasons, in packaging/deb/lintian-overrides.
command -v lintian >/dev/null || fail "lintian missing (scripts/install-deps.sh installs it)"
rc=0
lintian --fail-on error --display-info --show-overrides "$deb" > "$tmp/lintian.log" 2>&1 || rc=$?
sed 's/^/  lintian: /' "$tmp/lintian.log"
((rc == 0)) && ! grep -q '^E: ' "$tmp/lintian.log" || fail "lintian reports errors (exit $rc)"
echo "ok: lintian: $(grep -c '^W: ' "$tmp/lintian.log" || true) warning(s), no error"
! file "$root/usr/sbin/vnumad" | grep -q 'not stripped' || fail "vnumad in the package: $(file "$root/usr/sbin/vnumad")"
check_help "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl"
check_expand "$root/usr/bin/vnumactl" "$shared" "$tmp"
check_daemon_cycle "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl" "$root/etc/vnumad/vnumad.conf" "$tmp/run"

unshare --mount "$here/deb_cycle.sh" "$deb" "$tmp/cycle" || fail "package life cycle"
echo "all package checks passed"
