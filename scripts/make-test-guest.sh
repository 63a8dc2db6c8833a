#!/usr/bin/env bash
# Builds the test guest image for the live tests into OUT_DIR:
#   OUT_DIR/vmlinuz     the kernel of Debian's linux-image-amd64 (unpacked, never installed)
#   OUT_DIR/initrd.gz   busybox-static initramfs whose /init is tests/guest/init.sh
#   OUT_DIR/kernel-version, OUT_DIR/stamp
# Idempotent and cached: a second run with the same inputs does nothing; the
# downloaded .deb files stay in the cache dir (VNUMAD_GUEST_CACHE, default
# OUT_DIR/cache) so a rebuild after editing init.sh needs no network.
# Usage: scripts/make-test-guest.sh OUT_DIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
out=$(mkdir -p "$1" && cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../tests/guest" && pwd)
cache=${VNUMAD_GUEST_CACHE:-$out/cache}
mkdir -p "$cache"

for tool in apt-get dpkg-deb cpio gzip; do
  command -v "$tool" >/dev/null || { echo "make-test-guest: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
source "$(dirname "$0")/initramfs-lib.sh"
require_static_busybox make-test-guest

# apt-get download writes into the current directory. "apt-get update" only
# when the package lists are too old to know the current version.
download() {
  (cd "$cache" && apt-get download "$1" >&2) ||
    { apt-get update -qq && (cd "$cache" && apt-get download "$1" >&2); }
}

# linux-image-amd64 is a metapackage: its Depends names the real kernel package.
meta=$(ls "$cache"/linux-image-amd64_*.deb 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $meta ]]; then
  download linux-image-amd64
  meta=$(ls "$cache"/linux-image-amd64_*.deb | sort -V | tail -n1)
fi
kpkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
[[ -n $kpkg ]] || { echo "make-test-guest: cannot find the kernel package in the Depends of $meta" >&2; exit 1; }
kdeb=$(ls "$cache/${kpkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
if [[ -z $kdeb ]]; then
  download "$kpkg"
  kdeb=$(ls "$cache/${kpkg}"_*.deb | sort -V | tail -n1)
fi

stamp="$(basename "$kdeb") $(cat "$src/init.sh" "$src/power-button.sh" "$0" "$(dirname "$0")/initramfs-lib.sh" | sha256sum | cut -d' ' -f1)"
up_to_date make-test-guest "$out" "$stamp" && exit 0

work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Unpack, never install: only the kernel and two modules are needed.
dpkg-deb -x "$kdeb" "$work/kernel"
vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* | head -n1)
kver=${vmlinuz##*/vmlinuz-}

root="$work/root"
busybox_root "$root"
mkdir -p "$root"/{lib/modules,etc/acpi/PWRF}
install -m 0755 "$src/init.sh" "$root/init"
install -m 0755 "$src/power-button.sh" "$root/etc/acpi/PWRF/00000080"
# The ACPI button and evdev drivers are modules in Debian's kernel; with them
# busybox acpid turns QMP system_powerdown into a poweroff. Serial 8250, ACPI
# CPU/memory hotplug, NUMA and devtmpfs are built in.
for m in drivers/input/evdev.ko drivers/acpi/button.ko; do
  f="$work/kernel/lib/modules/$kver/kernel/$m"
  [[ -f $f ]] && cp "$f" "$root/lib/modules/"
done
pack_initramfs "$root" "$work/initrd.gz"
cp "$vmlinuz" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.gz" "$out/initrd.gz"
echo "$kver" > "$out/kernel-version"
echo "$stamp" > "$out/stamp"
echo "make-test-guest: built $out (kernel $kver)"
