#!/bin/sh
# /init of the vnumad test guest (busybox sh, PID 1). It prints the guest's
# NUMA view to the console (ttyS0) as "VNUMA key=value ..." lines, then every
# second onlines whatever was hot-added (a Linux guest does not online a
# hot-added vCPU by itself) and prints a "tick" line. After VNUMA READY, ttyS0
# also runs each line typed on it as a command (vnumactl console; no prompt,
# so that no tick line is split). The format is parsed by
# src/qemu/guest_log.cpp and documented in tests/guest/README.md: keep them in
# step.
export PATH=/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

sysfs_cpu=/sys/devices/system/cpu
sysfs_node=/sys/devices/system/node
sysfs_mem=/sys/devices/system/memory

# Prints the MemTotal of one node in kB.
node_memtotal() {
  awk '/MemTotal/ { print $4 }' "$1/meminfo"
}

node_ids() {
  for n in "$sysfs_node"/node[0-9]*; do
    [ -d "$n" ] && echo "${n##*/node}"
  done | sort -n
}

print_view() {
  echo "VNUMA kernel=$(uname -r) nodes=$(cat $sysfs_node/online) possible=$(cat $sysfs_cpu/possible) present=$(cat $sysfs_cpu/present) online=$(cat $sysfs_cpu/online)"
  for id in $(node_ids); do
    n="$sysfs_node/node$id"
    echo "VNUMA node=$id cpus=$(cat $n/cpulist) memtotal_kb=$(node_memtotal $n) distance=$(tr ' ' ',' < $n/distance)"
  done
  for c in "$sysfs_cpu"/cpu[0-9]*; do
    t="$c/topology"
    [ -d "$t" ] || continue
    node=$(ls -d "$c"/node[0-9]* 2>/dev/null | head -n1)
    echo "VNUMA cpu=${c##*/cpu} node=${node##*/node} package=$(cat $t/physical_package_id) die=$(cat $t/die_id 2>/dev/null || echo 0) core=$(cat $t/core_id) siblings=$(cat $t/thread_siblings_list)"
  done
}

# Onlines hot-added CPUs and memory blocks; failures are left for the next tick.
online_hotplugged() {
  for f in "$sysfs_cpu"/cpu[0-9]*/online; do
    [ -f "$f" ] && [ "$(cat $f)" = 0 ] && echo 1 > "$f" 2>/dev/null
  done
  for s in "$sysfs_mem"/memory[0-9]*/state; do
    [ -f "$s" ] && [ "$(cat $s)" = offline ] && echo online > "$s" 2>/dev/null
  done
}

print_tick() {
  line="VNUMA tick=$1 online=$(cat $sysfs_cpu/online)"
  for id in $(node_ids); do
    line="$line node$id.cpus=$(cat $sysfs_node/node$id/cpulist)"
  done
  for id in $(node_ids); do
    line="$line node$id.memtotal_kb=$(node_memtotal $sysfs_node/node$id)"
  done
  echo "$line"
}

# ACPI power button (QMP system_powerdown) powers the guest off, so that
# graceful shutdown can be tested. The modules are optional extras.
for m in /lib/modules/*.ko; do
  [ -f "$m" ] && insmod "$m" 2>/dev/null
done
if [ -d /etc/acpi ]; then
  # acpid dies silently (after daemonizing) when it cannot open its log and pid files.
  mkdir -p /var/log /var/run
  acpid -c /etc/acpi
fi

# Every line typed on the serial console runs in its own sh (an error or an
# exit never ends the loop); the tty echoes the line and the output follows.
console_shell() {
  while true; do
    while IFS= read -r line; do
      sh -c "$line"
    done </dev/ttyS0 >/dev/ttyS0 2>&1
    sleep 1
  done
}

online_hotplugged
print_view
echo "VNUMA READY"
console_shell &

tick=0
while true; do
  sleep 1
  tick=$((tick + 1))
  online_hotplugged
  print_tick $tick
done
