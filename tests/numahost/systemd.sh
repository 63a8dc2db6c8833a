#!/bin/bash
# The operator cycle under a real systemd, run inside the NUMA test host by
# systemd itself (systemd.run=, see run.sh's systemd mode): the .deb built
# from the tree is installed with dpkg, `systemctl enable --now vnumad`, a
# locked firmware-only vNUMA guest is dropped into /etc/vnumad/domains.d, and
# then: machinectl lists it, its QEMU is in machine.slice/machine-NAME.scope,
# the placement checks (check.py) hold in the scope, restart/stop/start of the
# service keep QEMU's pid and re-attach, the journal has the daemon's lines,
# destroy ends the scope and `dpkg --purge` uninstalls. Prints "ok - ..." /
# "not ok - ..." lines and "numahost: N passed, N failed" into
# /mnt/out/test.log, writes the exit status to /mnt/out/rc; systemd powers off
# when this unit ends.
set -u
exec > >(tee /mnt/out/test.log > /dev/console) 2>&1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(dirname "$(readlink -f "$0")")
t0=$SECONDS
# Should a step hang, the journal so far still comes out before the VM's
# time is up.
(while sleep 20; do journalctl -b --no-pager -o short-monotonic > /mnt/out/journal.txt 2>&1; done) &
passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
expect() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$what"; else fail "$what: $out"; fi
}
phase() { echo "numahost: $* after $((SECONDS - t0)) s (uptime $(cut -d' ' -f1 /proc/uptime) s)"; }
finish() {
  kill %1 2>/dev/null
  journalctl -b --no-pager -o short-monotonic > /mnt/out/journal.txt 2>&1
  systemd-analyze blame --no-pager > /mnt/out/blame.txt 2>&1
  cp /var/log/vnumad/*.log /mnt/out/ 2>/dev/null
  phase "done"
  echo "numahost: $passed passed, $failed failed"
  local rc=1
  ((failed == 0 && passed > 0)) && rc=0
  echo "$rc" > /mnt/out/rc
  sync
  exit "$rc"
}

guest=web-1 nodes=1,2
unit='machine-web\x2d1.scope'
scope_dir="/sys/fs/cgroup/machine.slice/$unit"
sock=/run/vnumad/vnumad.sock
vctl() { vnumactl --socket "$sock" "$@"; }
pid_of() { vctl list --json 2>/dev/null | jq -r --arg g "$1" '.[] | select(.name == $g and .state == "running") | .pid // empty'; }
wait_running() {
  local deadline=$((SECONDS + 240)) pid
  while ((SECONDS < deadline)); do
    pid=$(pid_of "$guest")
    [[ -n $pid ]] && { echo "$pid"; return 0; }
    journalctl -u vnumad --no-pager -o cat | grep -q "guest '$guest': start failed" && return 1
    sleep 1
  done
  return 1
}
reattached_since() { journalctl -u vnumad --since "@$1" --no-pager -o cat | grep -q "guest '$guest': re-attached to QEMU pid $2"; }

phase "systemd $(systemctl --version | head -1 | cut -d' ' -f2) is PID 1 ($(cat /proc/1/comm)), $(nproc) CPUs, nodes $(cat /sys/devices/system/node/online)"
expect "PID 1 is systemd" test "$(cat /proc/1/comm)" = systemd
expect "cgroup v2 at /sys/fs/cgroup" test "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs

# systemd.run= runs right after sysinit.target, before sockets.target: the
# system bus (which vnumad needs for machined) is not listening yet.
expect "the system bus is up" systemctl start dbus.socket
deb=$(ls /mnt/out/pkg/vnumad_*.deb 2>/dev/null | head -1)
[[ -n $deb ]] || { fail "a .deb in /mnt/out/pkg"; finish; }
# man-db's trigger would rebuild the whole man index under TCG (minutes).
rm -f /var/lib/man-db/auto-update
phase "installing $(basename "$deb")"
expect "dpkg -i $(basename "$deb")" timeout 120 dpkg -i "$deb"
# TCG inside TCG: QEMU needs longer than the default to open its QMP socket.
sed -i 's/^qmp_timeout = .*/qmp_timeout = 180/' /etc/vnumad/vnumad.conf
expect "systemctl enable --now vnumad" timeout 120 systemctl enable --now vnumad
expect "vnumad.service is active" systemctl is-active vnumad
phase "vnumad running"
expect "the daemon logs machine scopes" bash -c "journalctl -u vnumad --no-pager -o cat | grep -q 'cgroups: systemd machine scopes'"

# A locked firmware-only vNUMA guest, the shape whose cells a late move into
# its cpuset swapped (nodeset 1-2, 2 cells); a name with a dash, which systemd
# escapes in the unit name.
cat > "/etc/vnumad/domains.d/.$guest.xml" <<XML
<domain type='qemu'>
  <name>$guest</name>
  <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu placement='static'>4</vcpu>
  <vnuma mode='node' distribution='contiguous'><partition nodeset='1-2' cells='2'/></vnuma>
  <memoryBacking><locked/></memoryBacking>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/><apic/><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>
  <cpu mode='maximum'/>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
mv "/etc/vnumad/domains.d/.$guest.xml" "/etc/vnumad/domains.d/$guest.xml"
if ! pid=$(wait_running); then
  fail "$guest running within 240 s: $(journalctl -u vnumad --no-pager -o cat | tail -8)"
  finish
fi
pass "$guest running, QEMU pid $pid"
phase "$guest running"

# ---- the machine scope
machines=$(machinectl list --no-legend 2>&1)
expect "machinectl list shows $guest as a vm" grep -Eq "^$guest +vm +vnumad" <<<"$machines"
echo "numahost: machinectl list: $machines"
expect "machinectl: its unit is $unit" test "$(machinectl show "$guest" -p Unit --value)" = "$unit"
expect "machinectl: its leader is QEMU pid $pid" test "$(machinectl show "$guest" -p Leader --value)" = "$pid"
expect "machinectl: its id is the domain's uuid" test "$(machinectl show "$guest" -p Id --value)" = c7a5fdbdcdaf9455926ad65c16db1809
expect "$unit is active" systemctl is-active "$unit"
expect "$unit: Delegate=yes" test "$(systemctl show "$unit" -p Delegate --value)" = yes
expect "$unit: After=vnumad.service" bash -c "systemctl show '$unit' -p After --value | grep -qw vnumad.service"
expect "$unit is in machine.slice" test "$(systemctl show "$unit" -p Slice --value)" = machine.slice
cg=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
expect "/proc/$pid/cgroup: QEMU's main thread is in $unit/vnumad/emulator ($cg)" test "$cg" = "/machine.slice/$unit/vnumad/emulator"
expect "the scope holds no process itself" test -z "$(cat "$scope_dir/cgroup.procs")"
expect "the scope delegates cpuset to vnumad's groups" grep -qw cpuset "$scope_dir/cgroup.subtree_control"
expect "$scope_dir/vnumad has the guest's mems" test "$(cat "$scope_dir/vnumad/cpuset.mems")" = 1-2
expect "systemd-cgls shows QEMU under $unit" bash -c "systemd-cgls --no-pager /machine.slice | grep -A20 -F '$unit' | grep -q qemu-system"
expect "no cgroup of vnumad's own tree" test ! -e /sys/fs/cgroup/vnumad
expect "vnumad wrote nothing into the root's subtree_control (no cpuset there unless systemd put it)" \
  bash -c "! journalctl -u vnumad --no-pager -o cat | grep -q 'subtree_control'"
reserved=0,1,4,5,8,9,12,13
check() {
  local out p f
  out=$(python3 "$here/check.py" --vnumactl /usr/bin/vnumactl --socket "$sock" --cgroup scope \
    --reserved "$reserved" "$guest=$nodes" 2>&1)
  grep -v '^checks:' <<<"$out" | sed "s/^\(not \)\?ok - /&$1: /"
  read -r p f < <(sed -n 's/^checks: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<<"$out")
  [[ -n ${p:-} ]] || { fail "check.py ran: $(tail -3 <<<"$out")"; return; }
  passed=$((passed + p)) failed=$((failed + f))
}
check "in the scope"
phase "scope checked"

# ---- the service restarts, stops and starts: QEMU and its scope stay
since=$(date +%s)
expect "systemctl restart vnumad" systemctl restart vnumad
expect "restart: the guest runs with QEMU pid $pid" test "$(wait_running)" = "$pid"
expect "restart: the daemon re-attached to pid $pid" reattached_since "$since" "$pid"
check "after restart"
phase "restarted"
expect "systemctl stop vnumad" systemctl stop vnumad
expect "stop: QEMU pid $pid still runs" kill -0 "$pid"
expect "stop: $unit is still active" systemctl is-active "$unit"
expect "stop: machinectl still lists $guest" bash -c "machinectl list --no-legend | grep -q '^$guest '"
since=$(date +%s)
expect "systemctl start vnumad" systemctl start vnumad
expect "start: the guest runs with QEMU pid $pid" test "$(wait_running)" = "$pid"
expect "start: the daemon re-attached to pid $pid" reattached_since "$since" "$pid"
expect "start: /proc/$pid/cgroup is still $unit/vnumad/emulator" \
  test "$(sed -n 's/^0:://p' "/proc/$pid/cgroup")" = "/machine.slice/$unit/vnumad/emulator"
phase "stopped and started"
journal=$(journalctl -u vnumad --no-pager -o cat)
expect "journal: the daemon's start line" grep -q "vnumad .*starting\|host: .* NUMA node" <<<"$journal"
expect "journal: QEMU started, pid $pid" grep -q "guest '$guest': QEMU started, pid $pid" <<<"$journal"
expect "journal: the scope it entered" grep -qF "guest '$guest': in machine scope $unit" <<<"$journal"

# ---- destroy ends the scope, leaving no cgroup behind
expect "vnumactl destroy $guest" vctl destroy "$guest"
gone=1
for _ in $(seq 100); do
  if ! kill -0 "$pid" 2>/dev/null && [[ ! -e $scope_dir ]] && ! machinectl show "$guest" >/dev/null 2>&1; then gone=0; break; fi
  sleep 0.1
done
expect "destroy: QEMU pid $pid is gone" bash -c "! kill -0 $pid 2>/dev/null"
expect "destroy: $scope_dir is gone" test ! -e "$scope_dir"
expect "destroy: machinectl no longer lists $guest" bash -c "! machinectl list --no-legend | grep -q '^$guest '"
expect "destroy: everything went within 10 s" test "$gone" = 0
expect "destroy: $unit is not active" bash -c "! systemctl is-active --quiet '$unit'"
phase "destroyed"

# ---- uninstall
rm -f "/etc/vnumad/domains.d/$guest.xml"
expect "dpkg --purge vnumad" dpkg --purge vnumad
expect "purge: /usr/sbin/vnumad is gone" test ! -e /usr/sbin/vnumad
expect "purge: no vnumad process" bash -c "! pgrep -x vnumad"
expect "purge: vnumad.service is not active" bash -c "! systemctl is-active --quiet vnumad"
expect "purge: no machine left" test -z "$(machinectl list --no-legend)"
finish
