#!/usr/bin/env bash
# etc/systemd/vnumad.service as written: the settings guests depend on (a
# stop or restart of the service must never kill a guest or lose its state),
# no hardening that would break QEMU, and `systemd-analyze verify` clean with
# ExecStart pointed at the built vnumad. etc/tmpfiles.d/vnumad.conf applied to
# a scratch root.
# etc/systemd/vnumad-guests.service: ordered after vnumad (so stopped
# before it at shutdown), never stopped along with a plain stop or restart of
# vnumad, its ExecStop= the host-shutdown verb, a stop timeout above
# host_shutdown_timeout.
# Usage: unit_test.sh SOURCE_DIR VNUMAD VNUMACTL
set -euo pipefail
src=$1
vnumad=$2
vnumactl=$3
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

# The companion unit.
unit=$src/etc/systemd/vnumad-guests.service
expect Type oneshot
expect RemainAfterExit yes
expect ExecStop '/usr/bin/vnumactl host-shutdown'
unit_key() { awk -F= -v key="$1" '/^\[/ {section = $0} section == "[Unit]" && $1 == key {print substr($0, length(key) + 2)}' "$unit"; }
[[ " $(unit_key After | tr '\n' ' ') " == *" vnumad.service "* ]] || fail "vnumad-guests.service: no After=vnumad.service"
for dep in Requires BindsTo PartOf Requisite; do
  # Any of these would stop the guests on `systemctl stop|restart vnumad`.
  [[ -z $(unit_key $dep) ]] || fail "vnumad-guests.service: $dep=$(unit_key $dep) would shut guests down with vnumad"
done
grep -q '^WantedBy=multi-user.target$' "$unit" || fail "vnumad-guests.service: no WantedBy=multi-user.target"
# TimeoutStopSec in minutes or seconds, above the default host_shutdown_timeout
# plus vnumad's 25 s to end a QEMU that ignores the button.
stop=$(value TimeoutStopSec)
case $stop in
  *min) stop_s=$((${stop%min} * 60)) ;;
  *s) stop_s=${stop%s} ;;
  *) stop_s=$stop ;;
esac
default_timeout=$(awk -F' = ' '$1 == "# host_shutdown_timeout" || $1 == "host_shutdown_timeout" {print $2}' "$src/etc/vnumad.conf")
[[ -n $default_timeout ]] || fail "etc/vnumad.conf does not show host_shutdown_timeout"
((stop_s > default_timeout + 25)) || fail "TimeoutStopSec=$stop does not cover host_shutdown_timeout = $default_timeout"
sed -e "s|^ExecStop=/usr/bin/vnumactl |ExecStop=$vnumactl |" "$unit" > "$tmp/vnumad-guests.service"
systemd-analyze verify --man=no "$tmp/vnumad.service" "$tmp/vnumad-guests.service" > "$tmp/verify-guests.log" 2>&1 \
  || fail "systemd-analyze verify vnumad-guests.service: $(cat "$tmp/verify-guests.log")"
[[ ! -s $tmp/verify-guests.log ]] || fail "systemd-analyze verify warns: $(cat "$tmp/verify-guests.log")"
echo "ok: vnumad-guests.service"

systemd-tmpfiles --create --root="$tmp/root" "$src/etc/tmpfiles.d/vnumad.conf" || fail "systemd-tmpfiles --create"
for d in /var/lib/vnumad /var/lib/vnumad/images /var/log/vnumad; do
  [[ -d $tmp/root$d ]] || fail "tmpfiles did not create $d"
done
[[ $(stat -c %a "$tmp/root/var/log/vnumad") == 750 ]] || fail "/var/log/vnumad mode $(stat -c %a "$tmp/root/var/log/vnumad")"
[[ ! -e $tmp/root/run/vnumad ]] || fail "tmpfiles must leave /run/vnumad to RuntimeDirectory="
echo "ok: tmpfiles.d"
echo "all unit checks passed"
