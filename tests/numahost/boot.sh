#!/usr/bin/env bash
# Boots the NUMA test host (README.md beside this file): a TCG VM whose own
# topology is a 4-socket NUMA host -- 4 nodes x 2 cores x 2 threads, 3 GiB
# each, plus a 512 MiB memory-only node 4; distances 10 local, 21 remote, 40
# to node 4 -- running this machine's own root (read-only, tmpfs overlay), so
# the build tree, QEMU and every library are the same files as here.
#
# Usage: boot.sh BOOT_DIR OUT_DIR SCRIPT [KEY=VALUE ...]
#   BOOT_DIR  vmlinuz and initrd.gz from scripts/make-numa-host.sh
#   OUT_DIR   shared writable with the VM (mounted at /mnt/out inside)
#   SCRIPT    run by bash as PID 1 inside (plain mode); it ends by writing
#             OUT_DIR/rc and powering off
#   KEY=VALUE extra kernel command line words (e.g. vnumad.cgroup=v1)
# Exits with the script's rc; 124 when the VM did not finish within
# NUMAHOST_TIMEOUT seconds (default 420). The VM's console is OUT_DIR/console.log.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 BOOT_DIR OUT_DIR SCRIPT [KEY=VALUE ...]" >&2; exit 2; }
boot=$1 out=$2 script=$(readlink -f "$3")
shift 3
timeout=${NUMAHOST_TIMEOUT:-560}
qemu=${NUMAHOST_QEMU:-/usr/bin/qemu-system-x86_64}
mkdir -p "$out"
rm -f "$out/rc" "$out/console.log"

numa=()
for n in 0 1 2 3; do
  numa+=(-object "memory-backend-ram,id=m$n,size=3G" -numa "node,nodeid=$n,cpus=$((n * 4))-$((n * 4 + 3)),memdev=m$n")
done
numa+=(-object memory-backend-ram,id=m4,size=512M -numa node,nodeid=4,memdev=m4)
for s in 0 1 2 3 4; do
  for d in 0 1 2 3 4; do
    ((s < d)) || continue
    val=21
    ((s == 4 || d == 4)) && val=40
    numa+=(-numa "dist,src=$s,dst=$d,val=$val")
  done
done

# vendor=GenuineIntel: an AMD machine's TCG shows no SMT otherwise.
timeout --kill-after=10 "$timeout" "$qemu" \
  -accel tcg,thread=multi -machine q35 -cpu max,vendor=GenuineIntel \
  -m 12800M -smp 16,sockets=4,cores=2,threads=2 "${numa[@]}" \
  -kernel "$boot/vmlinuz" -initrd "$boot/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1 vnumad.run=$script $*" \
  -display none -serial "file:$out/console.log" -no-reboot -nodefaults \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=out,security_model=none" &
vm=$!
wait "$vm" && status=0 || status=$?
if [[ $status == 124 || $status == 137 ]]; then
  echo "numahost: the VM did not finish within ${timeout}s; console tail:" >&2
  tail -n 30 "$out/console.log" >&2 || true
  exit 124
fi
if [[ ! -f $out/rc ]]; then
  echo "numahost: the VM stopped (QEMU status $status) without a result; console tail:" >&2
  tail -n 30 "$out/console.log" >&2 || true
  exit 1
fi
exit "$(cat "$out/rc")"
