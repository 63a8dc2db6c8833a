# Shared by make-test-guest.sh and make-numa-host.sh (sourced): the checks,
# the cache stamp and the busybox initramfs that both images are built from.

# A static busybox: the dynamic busybox package would not run inside an
# initramfs, which has no libc.
require_static_busybox() {
  if ! [[ -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
    echo "$1: a static /bin/busybox is needed (package busybox-static)" >&2
    exit 1
  fi
}

# up_to_date NAME OUT STAMP: true when OUT was built from the same inputs.
up_to_date() {
  [[ -f $2/stamp && $(cat "$2/stamp") == "$3" && -f $2/vmlinuz && -f $2/initrd.gz ]] || return 1
  echo "$1: $2 is up to date"
}

# busybox_root ROOT: busybox and a link per applet in ROOT/bin, and a console
# node for the moment before devtmpfs is mounted.
busybox_root() {
  mkdir -p "$1"/{bin,proc,sys,dev}
  cp /bin/busybox "$1/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$1/bin/$applet"
  done
  mknod -m 600 "$1/dev/console" c 5 1 2>/dev/null || true
}

# pack_initramfs ROOT FILE: a gzipped newc cpio of ROOT.
pack_initramfs() {
  (cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -6 > "$2"
}
