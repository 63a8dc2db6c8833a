#!/usr/bin/env bash
# etc/systemd/vnumad.service as written: the settings guests depend on (a
# stop or restart of the service must never kill a guest or lose its state),
# no hardening that would break QEMU, and `systemd-analyze verify` clean with
# ExecStart pointed at the built vnumad. etc/tmpfiles.d/vnumad.conf applied to
# a scratch root.
# Usage: unit_test.sh SOURCE_DIR VNUMAD
set -euo pipefail
src=$1
vnumad=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/appliance_lib.sh"
unit=$src/etc/systemd/vnumad.service
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The value systemd would use: the last assignment in [Service].
value() {
  awk -F= -v key="$1" '/^\[/ {section = $0} section == "[Service]" && $1 == key {v = substr($0, length(key) + 2)} END {print v}' "$unit"
}
expect() {
  local got
  got=$(value "$1")
  [[ $got == "$2" ]] || fail "$1=$got, expected $1=$2"
}
expect Type notify
expect ExecStart /usr/sbin/vnumad
expect ExecReload '/bin/kill -HUP $MAINPID'
expect KillMode process
expect Delegate yes
expect RuntimeDirectory vnumad
expect RuntimeDirectoryPreserve yes
expect LogsDirectory vnumad
expect Restart on-failure
expect LimitMEMLOCK infinity
expect TasksMax infinity
expect ProtectSystem full
expect ProtectHome yes
expect PrivateTmp yes
[[ $(value WatchdogSec) =~ ^[0-9]+s?$ ]] || fail "WatchdogSec=$(value WatchdogSec)"
# These would take /dev/kvm, cgroupfs writes or TCG's generated code from QEMU.
for setting in PrivateDevices ProtectControlGroups ProtectKernelTunables MemoryDenyWriteExecute ProtectClock \
               SystemCallFilter DevicePolicy; do
  [[ -z $(value $setting) || $(value $setting) == no ]] || fail "$setting=$(value $setting) breaks QEMU guests"
done
grep -q '^WantedBy=multi-user.target$' "$unit" || fail "no WantedBy=multi-user.target"
echo "ok: unit settings"

# systemd-analyze verify needs ExecStart to exist: a copy pointing at the
# built daemon. --man=no: the man pages are checked by the install test.
sed "s|^ExecStart=/usr/sbin/vnumad\$|ExecStart=$vnumad|" "$unit" > "$tmp/vnumad.service"
grep -qx "ExecStart=$vnumad" "$tmp/vnumad.service" || fail "could not point ExecStart at $vnumad"
systemd-analyze verify --man=no "$tmp/vnumad.service" > "$tmp/verify.log" 2>&1 \
  || fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
[[ ! -s $tmp/verify.log ]] || fail "systemd-analyze verify warns: $(cat "$tmp/verify.log")"
# And it does fail on a broken unit (so the check above means something).
sed 's/^KillMode=process$/KillMode=bogus/' "$tmp/vnumad.service" > "$tmp/broken.service"
systemd-analyze verify --man=no "$tmp/broken.service" > "$tmp/broken.log" 2>&1 || true
grep -qi "kill mode" "$tmp/broken.log" || fail "systemd-analyze verify did not notice KillMode=bogus"
echo "ok: systemd-analyze verify"

systemd-tmpfiles --create --root="$tmp/root" "$src/etc/tmpfiles.d/vnumad.conf" || fail "systemd-tmpfiles --create"
for d in /var/lib/vnumad /var/lib/vnumad/images /var/log/vnumad; do
  [[ -d $tmp/root$d ]] || fail "tmpfiles did not create $d"
done
[[ $(stat -c %a "$tmp/root/var/log/vnumad") == 750 ]] || fail "/var/log/vnumad mode $(stat -c %a "$tmp/root/var/log/vnumad")"
[[ ! -e $tmp/root/run/vnumad ]] || fail "tmpfiles must leave /run/vnumad to RuntimeDirectory="
echo "ok: tmpfiles.d"
echo "all unit checks passed"
