#!/usr/bin/env bash
# Builds the boot files of the NUMA test host (tests/numahost/README.md) into
# OUT_DIR, from the kernel package that scripts/make-test-guest.sh cached in
# GUEST_DIR:
#   OUT_DIR/vmlinuz     the same Debian kernel as the test guest
#   OUT_DIR/initrd.gz   busybox-static, the virtio/9p/overlay modules, and an
#                       /init that mounts this machine's own root read-only
#                       over 9p, puts a tmpfs overlay on it and switch_roots
#                       into the command named on the kernel command line
# Idempotent and cached like make-test-guest.sh; needs no network once the
# test guest is built. Usage: scripts/make-numa-host.sh GUEST_DIR OUT_DIR
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 GUEST_DIR OUT_DIR" >&2
  exit 2
fi
guest=$(cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
src=$(cd "$(dirname "$0")/../tests/numahost" && pwd)

for tool in dpkg-deb depmod modprobe cpio gzip; do
  command -v "$tool" >/dev/null || { echo "make-numa-host: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
source "$(dirname "$0")/initramfs-lib.sh"
require_static_busybox make-numa-host

kver=$(cat "$guest/kernel-version")
kdeb=$(ls "$guest"/cache/linux-image-"$kver"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
[[ -n $kdeb ]] || { echo "make-numa-host: no linux-image-$kver package in $guest/cache (run scripts/make-test-guest.sh $guest)" >&2; exit 1; }

stamp="$(basename "$kdeb") $(cat "$src/init.sh" "$0" "$(dirname "$0")/initramfs-lib.sh" | sha256sum | cut -d' ' -f1)"
up_to_date make-numa-host "$out" "$stamp" && exit 0

work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$kdeb" "$work/kernel"

root="$work/root"
busybox_root "$root"
mkdir -p "$root"/{lower,upper,newroot,modules}
install -m 0755 "$src/init.sh" "$root/init"

# The modules' load order comes from the kernel's own dependency data, which
# changes between kernel builds: ask modprobe, then insmod in that order.
depmod -b "$work/kernel" "$kver"
: > "$root/modules/order"
builtin=" "
while read -r verb path _; do
  # A kernel that builds one of them in says "builtin NAME": nothing to load.
  [[ $verb == builtin ]] && builtin+="$path "
  [[ $verb == insmod ]] || continue
  name=$(basename "$path")
  grep -qx "$name" "$root/modules/order" && continue
  cp "$path" "$root/modules/$name"
  echo "$name" >> "$root/modules/order"
done < <(modprobe -d "$work/kernel" -S "$kver" --show-depends -a virtio_pci 9pnet_virtio 9p overlay)
for m in virtio_pci 9p overlay; do
  [[ -f $root/modules/$m.ko || $builtin == *" $m "* ]] || { echo "make-numa-host: module $m not found in $kdeb" >&2; exit 1; }
done

pack_initramfs "$root" "$work/initrd.gz"
cp "$(ls "$work"/kernel/boot/vmlinuz-* | head -n1)" "$out/vmlinuz"
mv -f "$work/initrd.gz" "$out/initrd.gz"
echo "$stamp" > "$out/stamp"
echo "make-numa-host: built $out (kernel $kver, modules $(tr '\n' ' ' < "$root/modules/order"))"
