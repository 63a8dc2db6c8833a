#!/bin/sh
# /init of the NUMA test host's initramfs (busybox sh, PID 1). It loads the
# virtio, 9p and overlay modules (in the order scripts/make-numa-host.sh took
# from the kernel's dependencies), mounts the machine's own root read-only
# over 9p (tag hostroot) under a tmpfs overlay, mounts the writable 9p share
# (tag out) at /mnt/out, and switch_roots into the command that the kernel
# command line names: vnumad.run=PATH (run by bash as PID 1).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

die() {
  echo "numahost-init: $*"
  echo o > /proc/sysrq-trigger
  sleep 60
}

for m in $(cat /modules/order); do
  insmod "/modules/$m" || die "insmod $m failed"
done

run= init=
for word in $(cat /proc/cmdline); do
  case $word in
    vnumad.run=*) run=${word#vnumad.run=} ;;
    vnumad.init=*) init=${word#vnumad.init=} ;;
  esac
done
[ -n "$run" ] || die "no vnumad.run= on the kernel command line"

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /lower || die "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot || die "cannot mount the overlay"
# A container marker in the machine's root would make systemd ignore the
# kernel command line.
rm -f /newroot/.dockerenv
mkdir -p /newroot/mnt/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 out /newroot/mnt/out || die "cannot mount the out share"
umount /proc /sys /dev 2>/dev/null
[ "$init" = systemd ] && exec switch_root /newroot /lib/systemd/systemd
exec switch_root /newroot /bin/bash "$run"
