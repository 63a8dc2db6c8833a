#!/usr/bin/env bash
# Creates the system user QEMU runs as (vnumad.conf `runas`, default
# vnumad-qemu) with its own group, no shell, home /var/lib/vnumad (not
# created here), and adds it to the
# kvm group when that exists (for /dev/kvm). Idempotent. The .deb does the same
# in its postinst; this is for running from the build tree and for the tests.
# Usage: scripts/make-qemu-user.sh [USER]
set -euo pipefail
user=${1:-vnumad-qemu}
if ! getent passwd "$user" >/dev/null; then
  if command -v adduser >/dev/null; then
    adduser --system --group --no-create-home --home /var/lib/vnumad --shell /usr/sbin/nologin \
      --gecos "vnumad QEMU" "$user" >/dev/null
  else
    groupadd --system "$user" 2>/dev/null || true
    useradd --system --gid "$user" --no-create-home --home-dir /var/lib/vnumad --shell /usr/sbin/nologin \
      --comment "vnumad QEMU" "$user"
  fi
  echo "make-qemu-user: created system user $user"
fi
if getent group kvm >/dev/null && ! id -nG "$user" | tr ' ' '\n' | grep -qx kvm; then
  usermod -a -G kvm "$user"
fi
