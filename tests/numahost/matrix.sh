#!/bin/bash
# The guest-shape matrix, run inside the NUMA test host (pid1.sh runs it):
# vnumad on a 4-node, 2-core x 2-thread-per-node host with a memory-only node
# 4, firmware-only TCG guests (their locked memory is faulted in at start, so
# numa_maps shows where it is at once), and checks from /proc and cgroupfs
# (checks.sh). NUMAHOST_CGROUP is v2, v1 or none (sched_setaffinity only).
# Prints "ok - ..." / "not ok - ..." lines and "numahost: N passed, N failed";
# exits 0 only when every check passed.
set -u
here=$(dirname "$(readlink -f "$0")")
build=
shapes=all
for word in $(cat /proc/cmdline); do
  case $word in
    vnumad.build=*) build=${word#vnumad.build=} ;;
    vnumad.shapes=*) shapes=${word#vnumad.shapes=} ;;
  esac
done
vnumad=$build/vnumad vnumactl=$build/vnumactl
source "$here/checks.sh"

work=/run/numahost
domains=$work/domains.d state=/run/vnumad sock=/run/vnumad/vnumad.sock
mkdir -p "$domains" "$state" "$work/log"
# reserved_cpus=auto: every thread of the first core of each node with two
# cores: 0-1, 4-5, 8-9, 12-13 (this host numbers SMT siblings adjacently).
reserved=0,1,4,5,8,9,12,13
reserve_mib=768
cat > "$work/vnumad.conf" <<CONF
config_dir = $domains
state_dir = $state
socket = $sock
log_dir = $work/log
reserved_cpus = auto
reserved_memory = ${reserve_mib}MiB
qmp_timeout = 120
CONF

echo "numahost: $(nproc) CPUs, nodes $(cat /sys/devices/system/node/online), cgroup $NUMAHOST_CGROUP, shapes $shapes"
# Huge pages on nodes 2 and 3 only (64 x 2 MiB each).
for n in 2 3; do echo 64 > /sys/devices/system/node/node$n/hugepages/hugepages-2048kB/nr_hugepages; done

daemon_pid=
start_daemon() {
  "$vnumad" --config "$work/vnumad.conf" >> "$work/vnumad.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do
    vctl list >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "vnumad did not come up:"; tail -20 "$work/vnumad.log"
  return 1
}

# guest NAME VCPUS MEM_MIB VNUMA_XML [EXTRA_DOMAIN_XML] [CURRENT_VCPUS]
guest() {
  local name=$1 vcpus=$2 mem=$3 vnuma=$4 extra=${5:-} current=${6:-$2}
  cat > "$domains/.$name.xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu placement='static' current='$current'>$vcpus</vcpu>
  $vnuma
  $extra
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/><apic/><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
  mv "$domains/.$name.xml" "$domains/$name.xml"
}
node_vnuma() { echo "<vnuma mode='node' distribution='$1'><partition nodeset='$2' cells='$3'/></vnuma>"; }

wait_running() {
  local g deadline=$((SECONDS + 240)) pending
  while :; do
    pending=
    for g in "$@"; do
      [[ $(vctl dominfo "$g" --json 2>/dev/null | jq -r .state) == running ]] || pending+=" $g"
    done
    [[ -z $pending ]] && return 0
    if ((SECONDS > deadline)); then
      fail "guests running:$pending did not reach running"
      tail -30 "$work/vnumad.log"
      return 1
    fi
    sleep 1
  done
}

start_daemon || { fail "vnumad starts"; echo "numahost: $passed passed, $failed failed"; exit 1; }
t0=$SECONDS

# ---- batch 1: every distribution, both modes, nodesets that do not start at
# 0, are not contiguous, exclude a node, or are one node other than 0;
# siblings guests taking threads next to shared guests; huge pages.
guest c12 4 256 "$(node_vnuma contiguous 1-2 2)"            # the shape whose cells were swapped
guest single3 2 128 "$(node_vnuma contiguous 3 1)"
guest noncontig 4 256 "$(node_vnuma round-robin 0,2 2)"
guest excl 6 384 "$(node_vnuma interleave '0-3,^1' 3)"
guest host 8 512 "<vnuma mode='host' distribution='contiguous'/>"
guest sib 2 128 "$(node_vnuma siblings 2 1)"
guest sib2 4 256 "$(node_vnuma siblings 1,3 2)"
guest huge 2 128 "$(node_vnuma contiguous 2-3 2)" "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>"
batch1="c12 single3 noncontig excl host sib sib2 huge"
if [[ $shapes == all ]]; then
  # ---- batch 2: the rest of the distributions in host mode, two cells on
  # one node, node choice left to vnumad, hotplug.
  guest hostrr 8 512 "<vnuma mode='host' distribution='round-robin'/>"
  guest hostil 4 256 "<vnuma mode='host' distribution='interleave'/>"
  guest plug 8 256 "$(node_vnuma contiguous 0 2)" "" 4
  guest auto 2 128 "<vnuma mode='node' distribution='contiguous'/>"
  guest dimm 2 256 "$(node_vnuma contiguous 1,3 2)" "<maxMemory slots='4' unit='MiB'>1024</maxMemory>"
  batch2="hostrr hostil plug auto dimm"
else
  batch2=
fi
wait_running $batch1 $batch2
echo "numahost: $(wc -w <<<"$batch1 $batch2") guests running after $((SECONDS - t0)) s"

check_guest c12 "1 2"
check_guest single3 "3"
check_guest noncontig "0 2"
check_guest excl "0 2 3"
check_guest host "0 1 2 3"
check_guest sib "2"
check_guest sib2 "1 3"
check_guest huge "2 3"
for n in 2 3; do
  pid=$(guest_pid huge)
  expect "huge: 64 MiB of 2 MiB huge pages bound to node $n and on it" test "$(bound_huge_kib "$pid" $n)" -ge 65536
  expect "node $n: 32 of its 64 huge pages in use (sysfs)" test "$(cat /sys/devices/system/node/node$n/hugepages/hugepages-2048kB/free_hugepages)" -eq 32
done

# Siblings: one host core per guest core, both of its threads, and no other
# guest on them.
for g in sib sib2; do
  xml=$(guest_xml $g)
  while read -r v pin; do
    ((v % 2 == 0)) || continue
    pair=$(vcpu_pins "$xml" | awk -v v=$((v + 1)) '$1 == v { print $2 }')
    expect "$g: vCPUs $v,$((v + 1)) on the two threads of one core ($pin,$pair)" \
      test "$(cat /sys/devices/system/cpu/cpu$pin/topology/thread_siblings_list)" == "$(expand_set "$pin,$pair" | tr ' ' ',' | sed 's/,/-/')"
  done < <(vcpu_pins "$xml")
  mine=$(guest_vcpu_cpus $g)
  for other in $batch1 $batch2; do
    [[ $other == "$g" ]] && continue
    theirs=$(guest_vcpu_cpus "$other"),$(status_field "/proc/$(guest_pid "$other")" Cpus_allowed_list)
    expect "$g: dedicated threads $mine not used by $other ($theirs)" disjoint "$mine" "$theirs"
  done
done

if [[ $shapes == all ]]; then
  check_guest hostrr "0 1 2 3"
  check_guest hostil "0 1 2 3"
  check_guest plug "0 0"
  check_guest auto any
  check_guest dimm "1 3"

  # setvcpus: the hot-plugged vCPUs are pinned like the boot ones.
  expect "setvcpus plug 8" vctl setvcpus plug 8
  expect "plug: 8 vCPUs online" test "$(vctl vcpuinfo plug --json | jq '[.vcpus[] | select(.online)] | length')" -eq 8
  check_guest plug "0 0"

  # attach-memory to cell 1 (node 3): the dimm's pages on node 3.
  expect "attach-memory dimm --cell 1 --size 128MiB" vctl attach-memory dimm --cell 1 --size 128MiB
  sleep 2
  check_guest dimm "1 3" "3:131072"

  # A nodeset naming the memory-only node is refused, naming it.
  guest memonly 2 128 "$(node_vnuma contiguous 4 1)"
  sleep 3
  expect "memonly: refused, naming node 4" grep -q "memonly.*node 4" "$work/vnumad.log"
  expect "memonly: no QEMU" bash -c "! pgrep -f guest=memonly"
  rm -f "$domains/memonly.xml"
fi

# ---- kill -9 and restart: every QEMU keeps its pid, the pins hold, and the
# capacity is what accounting says, not what the live free memory says.
all_guests="$batch1 $batch2"
declare -A pid_before
for g in $all_guests; do pid_before[$g]=$(guest_pid "$g"); done
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null
start_daemon || fail "vnumad restarts"
wait_running $all_guests
for g in $all_guests; do
  expect "restart: $g keeps QEMU pid ${pid_before[$g]}" test "$(guest_pid "$g")" == "${pid_before[$g]}"
done
check_guest c12 "1 2"
check_guest sib2 "1 3"
# Node 0's capacity by accounting: its MemTotal, minus the reserve, minus the
# memory of the cells bound to it (the test's own shapes). A guest just under
# that must start after the restart; a daemon that took live free memory as
# capacity would refuse it, since the running guests' locked pages are no
# longer free.
held0=0
for g in $all_guests; do
  while read -r cell node; do
    [[ $node == 0 ]] || continue
    kib=$(cell_defs "$(guest_xml "$g")" | awk -v c="$cell" '$1 == c { print $3 }')
    held0=$((held0 + kib))
  done < <(cell_nodes "$(guest_xml "$g")")
done
total0=$(awk '/MemTotal/ { print $4 }' /sys/devices/system/node/node0/meminfo)
cap_mib=$(((total0 - reserve_mib * 1024 - held0) / 1024))
size_mib=$((cap_mib - 64))
echo "numahost: node 0: MemTotal ${total0} KiB, held ${held0} KiB, reserve ${reserve_mib} MiB -> capacity ${cap_mib} MiB; live MemFree $(awk '/MemFree/ { print $4 }' /sys/devices/system/node/node0/meminfo) KiB; starting a ${size_mib} MiB guest"
guest capacity 2 "$size_mib" "$(node_vnuma contiguous 0 1)"
if wait_running capacity; then
  pass "restart: a ${size_mib} MiB guest fits node 0's accounted capacity"
  check_guest capacity "0"
else
  fail "restart: a ${size_mib} MiB guest on node 0 was refused: $(grep capacity "$work/vnumad.log" | tail -2)"
fi
# One more: the ledger now holds it, so a second one must be refused.
guest capacity2 2 256 "$(node_vnuma contiguous 0 1)"
sleep 3
expect "a guest beyond node 0's capacity is refused" bash -c "! pgrep -f guest=capacity2"

echo "numahost: matrix took $((SECONDS - t0)) s"
# Leave nothing running: destroy every guest, then stop the daemon.
for g in $all_guests capacity; do vctl destroy "$g" >/dev/null 2>&1; done
kill "$daemon_pid" 2>/dev/null
cp "$work/vnumad.log" /mnt/out/vnumad.log 2>/dev/null
echo "numahost: $passed passed, $failed failed"
((failed == 0 && passed > 0))
