#!/bin/bash
# PID 1 of the NUMA test host in plain mode (no init system): mounts what a
# host has, sets up the cgroup hierarchy the kernel command line asks for
# (vnumad.cgroup=v2, the default: cgroup2 with cpuset; v1: the legacy cpuset
# hierarchy, memory_migrate off), runs vnumad.test=SCRIPT (default
# matrix.sh beside this file; none: no cgroup mounted) with its output in /mnt/out/test.log and on the
# console, writes its exit status to /mnt/out/rc and powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(dirname "$(readlink -f "$0")")
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -sf /proc/self/fd /dev/fd; ln -sf fd/0 /dev/stdin; ln -sf fd/1 /dev/stdout; ln -sf fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm /dev/hugepages
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t hugetlbfs hugetlbfs /dev/hugepages

cgroup=v2 test=$here/matrix.sh
for word in $(cat /proc/cmdline); do
  case $word in
    vnumad.cgroup=*) cgroup=${word#vnumad.cgroup=} ;;
    vnumad.test=*) test=${word#vnumad.test=} ;;
  esac
done
# v1+none: v1 first, then matrix.sh unmounts it and runs the core shapes again
# with no cgroups (one boot for both).
if [[ $cgroup == v1+none ]]; then
  cgroup=v1
  export NUMAHOST_THEN_NONE=1
fi
if [[ $cgroup == none ]]; then
  :  # no cgroup hierarchy at all: vnumad pins with sched_setaffinity only
elif [[ $cgroup == v1 ]]; then
  mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
  mkdir -p /sys/fs/cgroup/cpuset
  mount -t cgroup -o cpuset cpuset /sys/fs/cgroup/cpuset
else
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
fi
export NUMAHOST_CGROUP=$cgroup

status=1
if [[ -x $test || -f $test ]]; then
  bash "$test" > >(tee /mnt/out/test.log > /dev/console) 2>&1
  status=$?
else
  echo "numahost: no test script $test" > /dev/console
fi
sleep 1  # let tee drain
echo "$status" > /mnt/out/rc
sync
echo o > /proc/sysrq-trigger
sleep 30
