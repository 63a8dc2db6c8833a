#!/bin/bash
# The guest-shape matrix, run inside the NUMA test host by pid1.sh: vnumad on
# a 4-node host (2 cores x 2 threads per node) with a memory-only node 4,
# firmware-only TCG guests (a vNUMA guest's memory is locked, so QEMU faults
# all of it in at start and numa_maps shows where it is at once), checked
# from /proc, cgroupfs and sysfs by check.py. NUMAHOST_CGROUP is v2, v1 or
# none (sched_setaffinity only). The kernel command line gives vnumad.build=
# (vnumad and vnumactl) and vnumad.shapes=all|core (core: the first batch).
# Prints "ok - ..." / "not ok - ..." lines and "numahost: N passed, N failed";
# exits 0 only when every check passed.
set -u
here=$(dirname "$(readlink -f "$0")")
build= shapes=all
for word in $(cat /proc/cmdline); do
  case $word in
    vnumad.build=*) build=${word#vnumad.build=} ;;
    vnumad.shapes=*) shapes=${word#vnumad.shapes=} ;;
  esac
done
vnumad=$build/vnumad vnumactl=$build/vnumactl
work=/run/numahost domains=/run/numahost/domains.d sock=/run/vnumad/vnumad.sock
mkdir -p "$domains" /run/vnumad "$work/log"
# reserved_cpus=auto is every thread of the first core of each node that has
# two cores; this host numbers SMT siblings adjacently.
reserved=0,1,4,5,8,9,12,13
reserve_mib=1024  # vnumad's default, written out: the capacity check computes with it
# QEMU runs as vnumad's default user (runas = vnumad-qemu); here root may
# raise RLIMIT_MEMLOCK for the locked vNUMA guests.
"$here/../../scripts/make-qemu-user.sh" >/dev/null 2>&1
cat > "$work/vnumad.conf" <<CONF
config_dir = $domains
state_dir = /run/vnumad
socket = $sock
log_dir = $work/log
reserved_cpus = auto
reserved_memory = ${reserve_mib}MiB
qmp_timeout = 120
CONF

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
expect() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$what"; else fail "$what: $out"; fi
}
vctl() { "$vnumactl" --socket "$sock" "$@"; }
# "NAME STATE PID" for every guest, in one request.
list_guests() { vctl list --json 2>/dev/null | jq -r '.[] | "\(.name) \(.state) \(.pid // "-")"'; }
pid_of() { list_guests | awk -v g="$1" '$1 == g { print $3 }'; }
# check GUEST=SPEC ...: check.py's lines, its counts added to ours.
dedicated=
check() {
  local out
  out=$(python3 "$here/check.py" --vnumactl "$vnumactl" --socket "$sock" --cgroup "$NUMAHOST_CGROUP" \
    --reserved "$reserved" --dedicated "$dedicated" --others "$others" "$@" 2>&1)
  grep -v '^checks:' <<<"$out"
  local p f
  read -r p f < <(sed -n 's/^checks: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<<"$out")
  [[ -n ${p:-} ]] || { fail "check.py ran: $(tail -3 <<<"$out")"; return; }
  passed=$((passed + p)) failed=$((failed + f))
}

daemon_pid=
start_daemon() {
  "$vnumad" --config "$work/vnumad.conf" >> "$work/vnumad.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 150); do
    vctl list >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  tail -20 "$work/vnumad.log"
  return 1
}

# guest NAME VCPUS MEM_MIB VNUMA_XML [EXTRA_DOMAIN_XML] [CURRENT_VCPUS]
running=
guest() {
  local name=$1 vcpus=$2 mem=$3 vnuma=$4 extra=${5:-} current=${6:-$2}
  cat > "$domains/.$name.xml.tmp" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  <vcpu placement='static' current='$current'>$vcpus</vcpu>
  $vnuma
  $extra
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/><apic/><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>
  <cpu mode='maximum'/>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
  mv "$domains/.$name.xml.tmp" "$domains/$name.xml"
}
node_vnuma() { echo "<vnuma mode='node' distribution='$1'><partition nodeset='$2' cells='$3'/></vnuma>"; }

wait_running() {
  local g deadline=$((SECONDS + 180)) pending
  while :; do
    pending= listing=$(list_guests)
    for g in "$@"; do grep -qx "$g running [0-9]*" <<<"$listing" || pending+=" $g"; done
    [[ -z $pending ]] && break
    for g in $pending; do
      if grep -q "guest '$g': start failed" "$work/vnumad.log"; then
        fail "$g: start failed: $(grep "guest '$g': start failed" "$work/vnumad.log" | tail -1)"
        return 1
      fi
    done
    if ((SECONDS > deadline)); then
      fail "running within 180 s:$pending"
      grep -E "$(tr ' ' '|' <<<"${pending# }")" "$work/vnumad.log" | tail -10
      return 1
    fi
    sleep 1
  done
  for g in "$@"; do [[ " $running " == *" $g "* ]] || running+=" $g"; done
  running=${running# }
}

finish() {
  for g in $running; do vctl destroy "$g" >/dev/null 2>&1; done
  kill "$daemon_pid" 2>/dev/null
  cp "$work/vnumad.log" /mnt/out/vnumad.log 2>/dev/null
  echo "numahost: matrix took $((SECONDS - t0)) s"
  echo "numahost: $passed passed, $failed failed"
  ((failed == 0 && passed > 0))
  exit
}

no_qemu() { ! pgrep -f "^/usr/bin/qemu-system-x86_64 .*guest=$1,"; }
phase() { echo "numahost: $* after $((SECONDS - t0)) s"; }

# ---- the core shapes: nodesets that do not start at 0, are not contiguous
# or are one node other than 0; siblings guests holding threads next to
# shared guests; huge pages on chosen nodes.
core_shapes() {
  guest c12 4 128 "$(node_vnuma contiguous 1-2 2)" # the shape whose cells were swapped
  guest single3 2 64 "$(node_vnuma contiguous 3 1)"
  guest noncontig 4 128 "$(node_vnuma round-robin 0,2 2)"
  guest sib2 4 128 "$(node_vnuma siblings 1,3 2)"
  guest huge 2 64 "$(node_vnuma contiguous 2-3 2)" "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>"
  core="c12 single3 noncontig sib2 huge"
  core_checks="c12=1,2 single3=3 noncontig=0,2 sib2=1,3 huge=2,3:huge"
}
# ---- and the rest: every distribution, host mode, a node excluded, two
# cells on one node, a node left to vnumad's choice, one more siblings guest,
# hotplug, and the memory-only node named in a nodeset.
more_shapes() {
  guest excl 3 192 "$(node_vnuma interleave '0-3,^1' 3)"
  guest host 4 256 "<vnuma mode='host' distribution='contiguous'/>"
  guest sib 2 64 "$(node_vnuma siblings 2 1)"
  guest hostrr 8 256 "<vnuma mode='host' distribution='round-robin'/>" "" 4
  guest hostil 4 256 "<vnuma mode='host' distribution='interleave'/>"
  guest plug 8 768 "$(node_vnuma contiguous 0 2)" "" 4
  guest auto 2 64 "<vnuma mode='node' distribution='contiguous'><partition cells='1'/></vnuma>"
  guest dimm 2 128 "$(node_vnuma contiguous 1,3 2)" "<maxMemory slots='4' unit='MiB'>1024</maxMemory>"
  guest memonly 2 64 "$(node_vnuma contiguous 4 1)"
  more="excl host sib hostrr hostil plug auto dimm"
  more_checks="excl=0,2,3 host=0,1,2,3 sib=2 hostrr=0,1,2,3 hostil=0,1,2,3 plug=0,0 auto=any dimm=1,3:extra=3/131072"
}

echo "numahost: $(nproc) CPUs, nodes $(cat /sys/devices/system/node/online), cgroup $NUMAHOST_CGROUP, shapes $shapes"
# Huge pages on nodes 2 and 3 only: 32 x 2 MiB each.
for n in 2 3; do echo 32 > /sys/devices/system/node/node$n/hugepages/hugepages-2048kB/nr_hugepages; done
t0=$SECONDS
start_daemon || { fail "vnumad starts"; finish; }

core_shapes
dedicated=sib2 more= more_checks=
[[ $shapes == all ]] && { more_shapes; dedicated=sib,sib2; }
wait_running $core $more
phase "$(wc -w <<<"$core $more") guests running"
if [[ $shapes == all ]]; then
  # setvcpus: the plugged vCPUs are pinned like the boot ones. attach-memory
  # to cell 1 (node 3): the dimm's pages are on node 3.
  expect "setvcpus plug 8" vctl setvcpus plug 8
  expect "plug: 8 vCPUs online" test "$(vctl vcpuinfo plug --json | jq '[.vcpus[] | select(.online)] | length')" -eq 8
  expect "attach-memory dimm --cell 1 --size 128MiB" vctl attach-memory dimm --cell 1 --size 128MiB
  expect "memonly: refused, naming node 4" grep -q "guest 'memonly'.*node 4 has no CPUs" "$work/vnumad.log"
  expect "memonly: no QEMU started" no_qemu memonly
  rm -f "$domains/memonly.xml"
fi
others=${running// /,} check $core_checks $more_checks
# vnumactl numastat must tell the operator what the kernel says: every cell
# on its bound node (the numbers checked above from numa_maps directly).
for g in c12 huge; do
  stat=$(vctl numastat "$g" --json)
  expect "numastat $g: 100% on bound nodes" test "$(jq -r .on_bound_nodes_percent <<<"$stat")" == 100
  expect "dominfo $g: memory placement line" bash -c "'$vnumactl' --socket '$sock' dominfo $g | grep -q 'placement:.*100% on bound nodes'"
done
stat=$(vctl numastat c12 --json)
for cell in 0 1; do
  node=$((cell + 1))
  bytes=$(jq -r --argjson c $cell --argjson n $node '[.cells[] | select(.cells == [$c]) | .nodes[] | select(.node == $n) | .bytes] | add // 0' <<<"$stat")
  expect "numastat c12: cell $cell has its 64 MiB on node $node ($bytes bytes)" test "$bytes" -ge $((64 << 20))
done
for n in 2 3; do
  expect "node $n: 16 of its 32 huge pages in use (sysfs)" \
    test "$(cat /sys/devices/system/node/node$n/hugepages/hugepages-2048kB/free_hugepages)" -eq 16
done
phase "checks done"

if [[ $NUMAHOST_CGROUP != none ]]; then
  # ---- kill -9 and restart: every QEMU keeps its pid, the pins still
  # hold, and capacity is accounting, not what live free memory says.
  before=$(list_guests)
  kill -9 "$daemon_pid"
  wait "$daemon_pid" 2>/dev/null
  start_daemon || { fail "vnumad restarts"; finish; }
  wait_running $running
  phase "restarted"
  after=$(list_guests)
  for g in $running; do
    pid=$(awk -v g="$g" '$1 == g { print $3 }' <<<"$before")
    expect "restart: $g keeps QEMU pid $pid" grep -qx "$g running $pid" <<<"$after"
  done
  after_restart="c12=1,2 sib2=1,3 huge=2,3:huge"
  if [[ $shapes == all ]]; then
    # Node 0's capacity by accounting: MemTotal minus the reserve minus the
    # cells bound to it (noncontig, excl, host, hostrr, hostil: 64 MiB each;
    # plug: 768 MiB). What a daemon that took live free memory as capacity
    # would offer: MemFree minus those cells again (their locked pages are
    # already gone from MemFree). A guest halfway between must start on the
    # restarted daemon, and must really fit in MemFree.
    total0=$(awk '/MemTotal/ { print $4 }' /sys/devices/system/node/node0/meminfo)
    free0=$(awk '/MemFree/ { print $4 }' /sys/devices/system/node/node0/meminfo)
    held0=$(((5 * 64 + 768) * 1024))
    cap_mib=$(((total0 - reserve_mib * 1024 - held0) / 1024))
    snapshot_mib=$(((free0 - held0) / 1024))
    size=$(((cap_mib + snapshot_mib) / 2))
    echo "numahost: node 0: MemTotal $total0 KiB, cells $held0 KiB, reserve $reserve_mib MiB: capacity $cap_mib MiB;" \
      "MemFree $free0 KiB: a snapshot would say $snapshot_mib MiB; a $size MiB guest must fit"
    expect "node 0: accounting offers more than a snapshot would ($cap_mib > $snapshot_mib MiB)" test "$cap_mib" -gt "$((snapshot_mib + 64))"
    expect "node 0: a $size MiB guest fits in MemFree" test "$(((size + 200) * 1024))" -lt "$free0"
    guest capacity 2 "$size" "$(node_vnuma contiguous 0 1)"
    if wait_running capacity; then
      pass "restart: a $size MiB guest fits node 0's accounted capacity"
      after_restart+=" capacity=0"
      # The ledger now holds it: 256 MiB more does not fit.
      guest capacity2 2 256 "$(node_vnuma contiguous 0 1)"
    fi
  fi
  others=$dedicated check $after_restart
  if [[ $shapes == all && " $running " == *" capacity "* ]]; then
    expect "capacity2: refused, node 0 is full" grep -q "guest 'capacity2'.*node 0 has" "$work/vnumad.log"
    expect "capacity2: no QEMU started" no_qemu capacity2
  fi
fi

if [[ ${NUMAHOST_THEN_NONE:-} == 1 ]]; then
  # ---- the same core shapes with no cgroup hierarchy at all: pinning by
  # sched_setaffinity, placement by the backends' binding alone.
  for g in $running; do vctl destroy "$g" >/dev/null 2>&1; done
  kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null
  rm -f "$domains"/*.xml
  running=
  umount /sys/fs/cgroup/cpuset && umount /sys/fs/cgroup || fail "unmounting the cpuset hierarchy"
  NUMAHOST_CGROUP=none NUMAHOST_THEN_NONE=
  echo "numahost: no cgroups from here on"
  start_daemon || { fail "vnumad starts without cgroups"; finish; }
  core_shapes
  wait_running $core
  others= check $core_checks
fi
finish
