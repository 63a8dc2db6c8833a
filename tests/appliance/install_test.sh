#!/usr/bin/env bash
# `cmake --install` of the build tree into a DESTDIR with prefix /usr (the
# package layout): every file in its place, the systemd unit verified by
# systemd-analyze (ExecStart and the man pages of
# Documentation= must exist there), the tmpfiles.d entry applied to a scratch
# root, and the installed programs run from the DESTDIR, including a short
# daemon life with the installed vnumad.conf. Then a /opt prefix: the unit and
# vnumad.conf are rewritten to point at /opt/vnumad/etc.
# Usage: install_test.sh BUILD_DIR SHARED_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
shared=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/appliance_lib.sh"

tmp=$(mktemp -d)
trap 'jobs -p | xargs -r kill -KILL 2>/dev/null; rm -rf "$tmp"' EXIT
root=$tmp/root

DESTDIR=$root cmake --install "$build" --prefix /usr > "$tmp/install.log" 2>&1 \
  || fail "cmake --install failed: $(cat "$tmp/install.log")"

need "$root" exec /usr/sbin/vnumad
need "$root" exec /usr/bin/vnumactl
need "$root" file /etc/vnumad/vnumad.conf
need "$root" dir /etc/vnumad/domains.d
need "$root" file /usr/lib/systemd/system/vnumad.service
need "$root" file /usr/lib/systemd/system/vnumad-guests.service
grep -qx 'ExecStop=/usr/bin/vnumactl host-shutdown' "$root/usr/lib/systemd/system/vnumad-guests.service" \
  || fail "vnumad-guests.service: $(grep ExecStop "$root/usr/lib/systemd/system/vnumad-guests.service")"
need "$root" file /usr/lib/tmpfiles.d/vnumad.conf
need "$root" file /usr/share/man/man1/vnumactl.1.gz
need "$root" file /usr/share/man/man5/vnumad.conf.5.gz
need "$root" file /usr/share/man/man5/vnumad-domain.5.gz
need "$root" file /usr/share/man/man8/vnumad.8.gz
need "$root" file /usr/share/bash-completion/completions/vnumactl
need "$root" file /usr/share/doc/vnumad/examples/demo.xml
need "$root" file /usr/share/doc/vnumad/control-protocol.md
# An install must not define a guest: domains.d stays empty.
[[ -z $(ls -A "$root/etc/vnumad/domains.d") ]] || fail "domains.d is not empty: $(ls -A "$root/etc/vnumad/domains.d")"
# Nothing outside /etc and /usr.
extra=$(cd "$root" && ls -A | grep -vxE 'etc|usr' || true)
[[ -z $extra ]] || fail "unexpected top-level entries in the install: $extra"
[[ $(stat -c %a "$root/etc/vnumad/vnumad.conf") == 644 ]] || fail "vnumad.conf mode $(stat -c %a "$root/etc/vnumad/vnumad.conf")"
echo "ok: installed layout"

verify_installed_unit "$root" "$tmp"

systemd-tmpfiles --create --root="$tmp/tmpfiles-root" "$root/usr/lib/tmpfiles.d/vnumad.conf" \
  || fail "systemd-tmpfiles --create failed"
[[ -d $tmp/tmpfiles-root/var/lib/vnumad/images ]] || fail "tmpfiles: /var/lib/vnumad/images not created"
[[ $(stat -c %a "$tmp/tmpfiles-root/var/log/vnumad") == 750 ]] || fail "tmpfiles: /var/log/vnumad mode"
echo "ok: tmpfiles.d entry"

check_help "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl"
check_expand "$root/usr/bin/vnumactl" "$shared" "$tmp"
check_daemon_cycle "$root/usr/sbin/vnumad" "$root/usr/bin/vnumactl" "$root/etc/vnumad/vnumad.conf" "$tmp/run"

# Another prefix: configuration under PREFIX/etc, and the unit and the
# configuration say so.
opt=$tmp/opt
DESTDIR=$opt cmake --install "$build" --prefix /opt/vnumad > "$tmp/install-opt.log" 2>&1 \
  || fail "cmake --install --prefix /opt/vnumad failed: $(cat "$tmp/install-opt.log")"
need "$opt" exec /opt/vnumad/sbin/vnumad
need "$opt" file /opt/vnumad/etc/vnumad/vnumad.conf
need "$opt" dir /opt/vnumad/etc/vnumad/domains.d
[[ ! -e $opt/etc ]] || fail "prefix /opt/vnumad installed into /etc"
grep -qx 'ExecStart=/opt/vnumad/sbin/vnumad --config /opt/vnumad/etc/vnumad/vnumad.conf' \
  "$opt/opt/vnumad/lib/systemd/system/vnumad.service" \
  || fail "unit for /opt: $(grep ExecStart "$opt/opt/vnumad/lib/systemd/system/vnumad.service")"
grep -qx 'ExecStop=/opt/vnumad/bin/vnumactl host-shutdown' "$opt/opt/vnumad/lib/systemd/system/vnumad-guests.service" \
  || fail "vnumad-guests.service for /opt: $(grep ExecStop "$opt/opt/vnumad/lib/systemd/system/vnumad-guests.service")"
grep -qx 'config_dir = /opt/vnumad/etc/vnumad/domains.d' "$opt/opt/vnumad/etc/vnumad/vnumad.conf" \
  || fail "vnumad.conf for /opt does not point at /opt/vnumad/etc/vnumad/domains.d"
# The rewritten file is still valid: with an unreadable topology, vnumad gets
# past its configuration (exit 2 would mean invalid) and fails at start-up (1).
rc=0
"$opt/opt/vnumad/sbin/vnumad" --config "$opt/opt/vnumad/etc/vnumad/vnumad.conf" --topology "$tmp/none.xml" \
  --state-dir "$tmp/opt-state" --socket "$tmp/opt.sock" 2> "$tmp/opt.log" || rc=$?
[[ $rc == 1 ]] || fail "vnumad with the /opt vnumad.conf: exit $rc, expected 1: $(cat "$tmp/opt.log")"
echo "ok: prefix /opt/vnumad"
echo "all install checks passed"
