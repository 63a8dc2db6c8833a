# Checks of one running guest from /proc and cgroupfs, sourced by matrix.sh.
# What vnumad reports is used only to name things (which pid is the guest,
# which thread is vCPU k, which host node a cell was given); every placement
# fact is read from the kernel: numa_maps, the threads' status, cgroupfs, and
# the host topology in sysfs. The expectations are the test's own (the
# shapes in matrix.sh), not vnumad's.

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
# expect DESCRIPTION COMMAND...: passes when the command succeeds; the
# command's output is the failure detail.
expect() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$what"; else fail "$what: $out"; fi
}

# "0-2,5" -> "0 1 2 5" (sorted, unique), so sets compare as strings.
expand_set() {
  local part out=()
  local IFS=,
  for part in $1; do
    [[ -z $part ]] && continue
    if [[ $part == *-* ]]; then out+=($(seq "${part%-*}" "${part#*-}")); else out+=("$part"); fi
  done
  unset IFS
  printf '%s\n' "${out[@]}" | sort -n | uniq | tr '\n' ' ' | sed 's/ $//'
}
# Is every element of set $1 in set $2?
subset_of() {
  local a b
  a=$(expand_set "$1")
  b=" $(expand_set "$2") "
  for x in $a; do [[ $b == *" $x "* ]] || return 1; done
}
disjoint() {
  local b=" $(expand_set "$2") "
  for x in $(expand_set "$1"); do [[ $b == *" $x "* ]] && return 1; done
  return 0
}
node_cpus() { cat "/sys/devices/system/node/node$1/cpulist"; }

vctl() { "$vnumactl" --socket "$sock" "$@"; }
guest_pid() { vctl dominfo "$1" --json | jq -r '.pid // empty'; }
guest_xml() { vctl domxml "$1"; }
# cell -> host node, from the running domain's <numatune><memnode>
cell_nodes() { xmllint --xpath '//numatune/memnode' - <<<"$1" 2>/dev/null | grep -o "cellid=\"[0-9]*\"[^/]*nodeset=\"[0-9,-]*\"" | sed 's/cellid="\([0-9]*\)".*nodeset="\(.*\)"/\1 \2/'; }
# cell -> memory KiB and vCPUs, from <cpu><numa><cell>
cell_defs() {
  xmllint --xpath '//cpu/numa/cell' - <<<"$1" 2>/dev/null | tr '>' '\n' | grep '<cell' |
    while read -r line; do
      local id cpus mem unit
      id=$(grep -o ' id="[0-9]*"' <<<"$line" | grep -o '[0-9]*')
      cpus=$(grep -o ' cpus="[^"]*"' <<<"$line" | cut -d'"' -f2)
      mem=$(grep -o ' memory="[0-9]*"' <<<"$line" | grep -o '[0-9]*')
      unit=$(grep -o ' unit="[^"]*"' <<<"$line" | cut -d'"' -f2)
      case ${unit:-KiB} in KiB) ;; MiB) mem=$((mem * 1024)) ;; GiB) mem=$((mem * 1048576)) ;; b|bytes) mem=$((mem / 1024)) ;; esac
      echo "$id $cpus $mem"
    done
}
vcpu_pins() { xmllint --xpath '//cputune/vcpupin' - <<<"$1" 2>/dev/null | grep -o 'vcpu="[0-9]*" cpuset="[^"]*"' | sed 's/vcpu="\([0-9]*\)" cpuset="\(.*\)"/\1 \2/'; }
emulator_pin() { xmllint --xpath 'string(//cputune/emulatorpin/@cpuset)' - <<<"$1" 2>/dev/null; }

# KiB of the guest's memory-policy-bound pages per node, for VMAs whose
# policy binds them to node $2 alone: "total on_node" (huge pages counted at
# their size).
bound_kib() {
  awk -v node="$2" '
    $2 == "bind:" node {
      ps = 4
      for (i = 3; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, kv, "="); ps = kv[2] }
      for (i = 3; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
        split(substr($i, 2), kv, "="); total += kv[2] * ps; if (kv[1] == node) on += kv[2] * ps
      }
    }
    END { printf "%d %d\n", total, on }' "/proc/$1/numa_maps"
}
# KiB of huge pages bound to node $2
bound_huge_kib() {
  awk -v node="$2" '
    $2 == "bind:" node && / huge / {
      ps = 4
      for (i = 3; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, kv, "="); ps = kv[2] }
      for (i = 3; i <= NF; i++) if ($i ~ /^N[0-9]+=/) { split(substr($i, 2), kv, "="); if (kv[1] == node) on += kv[2] * ps }
    }
    END { printf "%d\n", on }' "/proc/$1/numa_maps"
}

# Pages bound to one node, at least $3 KiB of them, >= 99% on that node.
check_cell_memory() {
  local pid=$1 node=$2 want=$3 total on
  read -r total on < <(bound_kib "$pid" "$node")
  echo "bound to node $node: ${total} KiB, ${on} KiB on it (want >= ${want} KiB, >= 99% on it)"
  ((total >= want * 99 / 100)) && ((on * 100 >= total * 99))
}

status_field() { awk -v k="$2:" '$1 == k { print $2 }' "$1/status"; }

# Threads' Cpus_allowed_list and Mems_allowed_list and cgroup, for one vCPU.
check_vcpu_thread() {
  local pid=$1 tid=$2 pin=$3 nodes=$4 guest=$5 vcpu=$6
  local task=/proc/$pid/task/$tid cpus mems cg
  # Without cgroups nothing restricts a thread's mems: the backends' own
  # binding is what places memory.
  [[ $NUMAHOST_CGROUP == none ]] && nodes=$(cat /sys/devices/system/node/online)
  cpus=$(status_field "$task" Cpus_allowed_list)
  mems=$(status_field "$task" Mems_allowed_list)
  [[ $(expand_set "$cpus") == $(expand_set "$pin") ]] || { echo "Cpus_allowed_list $cpus, pin $pin"; return 1; }
  [[ $(expand_set "$mems") == $(expand_set "$nodes") ]] || { echo "Mems_allowed_list $mems, guest nodes $nodes"; return 1; }
  check_thread_cgroup "$task" "vnumad/$guest/vcpu$vcpu" "$pin" "$nodes"
}

# The thread's cgroup (v1 cpuset or v2) and that group's cpus and mems.
check_thread_cgroup() {
  local task=$1 group=$2 pin=$3 nodes=$4 path dir
  case $NUMAHOST_CGROUP in
    none) return 0 ;;
    v1) path=$(awk -F: '$2 == "cpuset" { print $3 }' "$task/cgroup"); dir=/sys/fs/cgroup/cpuset ;;
    *) path=$(awk -F: '$1 == "0" { print $3 }' "$task/cgroup"); dir=/sys/fs/cgroup ;;
  esac
  [[ $path == "/$group" ]] || { echo "$task is in cgroup $path, expected /$group"; return 1; }
  [[ $(expand_set "$(cat "$dir/$group/cpuset.cpus")") == $(expand_set "$pin") ]] ||
    { echo "$dir/$group/cpuset.cpus is $(cat "$dir/$group/cpuset.cpus"), pin $pin"; return 1; }
  [[ $(expand_set "$(cat "$dir/$group/cpuset.mems")") == $(expand_set "$nodes") ]] ||
    { echo "$dir/$group/cpuset.mems is $(cat "$dir/$group/cpuset.mems"), guest nodes $nodes"; return 1; }
}

# Everything about one running guest. $2: the host nodes its cells must
# have, in cell order ("1 2"), or "any". $3: extra KiB bound per node,
# "node:KiB ..." (hot-added dimms).
check_guest() {
  local g=$1 want_nodes=$2 extra=${3:-} pid xml nodes="" cell node line
  pid=$(guest_pid "$g")
  [[ -n $pid && -d /proc/$pid ]] || { fail "$g: running with a pid"; return; }
  expect "$g: pid $pid is a QEMU for guest=$g" grep -qa "guest=$g" "/proc/$pid/cmdline"
  xml=$(guest_xml "$g")
  declare -A node_of=() kib_on=()
  while read -r cell node; do node_of[$cell]=$node; done < <(cell_nodes "$xml")
  local got=""
  for cell in $(printf '%s\n' "${!node_of[@]}" | sort -n); do got+="${node_of[$cell]} "; done
  got=${got% }
  if [[ $want_nodes != any ]]; then
    expect "$g: cells on host nodes '$want_nodes'" test "$got" == "$want_nodes"
  fi
  expect "$g: no cell on the memory-only node 4 (cells on '$got')" disjoint "${got// /,}" 4
  nodes=$(expand_set "${got// /,}")
  nodes=${nodes// /,}
  # Memory: every cell's pages on its node.
  while read -r cell cpus kib; do
    node=${node_of[$cell]}
    kib_on[$node]=$((${kib_on[$node]:-0} + kib))
    # The cell's vCPUs on its node's CPUs (sysfs), whatever the distribution.
    local v pin
    while read -r v pin; do
      subset_of "$v" "$cpus" || continue
      [[ -n $pin ]] && expect "$g: vCPU $v (cell $cell) pinned within node $node's CPUs ($pin in $(node_cpus "$node"))" subset_of "$pin" "$(node_cpus "$node")"
    done < <(vcpu_pins "$xml")
  done < <(cell_defs "$xml")
  for item in $extra; do kib_on[${item%%:*}]=$((${kib_on[${item%%:*}]:-0} + ${item#*:})); done
  for node in "${!kib_on[@]}"; do
    expect "$g: memory bound to node $node is there" check_cell_memory "$pid" "$node" "${kib_on[$node]}"
  done
  expect "$g: no page on the memory-only node 4" bash -c "! grep -q ' N4=' /proc/$pid/numa_maps"
  # vCPU threads: affinity, mems, cgroup.
  local threads
  threads=$(vctl vcpuinfo "$g" --json | jq -r '.vcpus[] | select(.online) | "\(.vcpu) \(.thread_id)"')
  local count=0
  while read -r v tid; do
    [[ -z $v ]] && continue
    count=$((count + 1))
    pin=$(vcpu_pins "$xml" | awk -v v="$v" '$1 == v { print $2 }')
    [[ -n $pin ]] || pin=$(cat /sys/devices/system/cpu/online)
    expect "$g: thread $tid is a vCPU thread ($(cat /proc/$pid/task/$tid/comm 2>/dev/null))" grep -q '^CPU [0-9]*/' "/proc/$pid/task/$tid/comm"
    expect "$g: vCPU $v thread $tid on $pin, mems $nodes, in its cgroup" check_vcpu_thread "$pid" "$tid" "$pin" "$nodes" "$g" "$v"
  done <<<"$threads"
  expect "$g: every online vCPU has a thread ($count)" test "$count" -gt 0
  # Emulator: the main thread on the reserved CPUs, mems = the guest's nodes.
  local epin cpus mems
  epin=$(emulator_pin "$xml")
  cpus=$(status_field "/proc/$pid" Cpus_allowed_list)
  mems=$(status_field "/proc/$pid" Mems_allowed_list)
  expect "$g: emulator on $epin (Cpus_allowed_list $cpus)" test "$(expand_set "$cpus")" == "$(expand_set "$epin")"
  expect "$g: emulator on reserved CPUs ($cpus in $reserved)" subset_of "$cpus" "$reserved"
  local emems=$nodes
  [[ $NUMAHOST_CGROUP == none ]] && emems=$(cat /sys/devices/system/node/online)
  expect "$g: emulator mems are $emems ($mems)" test "$(expand_set "$mems")" == "$(expand_set "$emems")"
  expect "$g: emulator in its cgroup" check_thread_cgroup "/proc/$pid/task/$pid" "vnumad/$g/emulator" "$epin" "$nodes"
}

# The host CPUs that a guest's vCPU threads may run on (their union).
guest_vcpu_cpus() {
  local pid tid all=""
  pid=$(guest_pid "$1")
  for tid in $(vctl vcpuinfo "$1" --json | jq -r '.vcpus[] | select(.online) | .thread_id'); do
    all+="$(status_field "/proc/$pid/task/$tid" Cpus_allowed_list),"
  done
  echo "${all%,}"
}
