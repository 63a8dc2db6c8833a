#!/usr/bin/env bash
# The package's life on a host, as dpkg runs it: install, reinstall, upgrade
# to a newer version, remove, purge. It runs on a copy-on-write overlay of
# this machine's own root in a private mount namespace (started by
# deb_test.sh through unshare), so the real dpkg database, /etc/passwd and
# /var stay untouched and dpkg's lock is not taken from other work. Checks
# read the overlay from outside; commands run in it with chroot.
# Usage (inside `unshare --mount`): deb_cycle.sh DEB SCRATCH_DIR
set -euo pipefail
deb=$1
tmp=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/appliance_lib.sh"

r=$tmp/overlay/merged
mkdir -p "$tmp/overlay/upper" "$tmp/overlay/work" "$r"
mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/overlay/upper,workdir=$tmp/overlay/work" "$r"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
# A stale vnumad from elsewhere must not be mistaken for this one.
if chroot "$r" dpkg-query -W vnumad >/dev/null 2>&1; then
  chroot "$r" dpkg --purge vnumad >/dev/null 2>&1 || true
fi
rm -rf "$r/var/log/vnumad" "$r/var/lib/vnumad" "$r/etc/vnumad"
for a in vnumad-qemu; do chroot "$r" deluser --quiet --system "$a" >/dev/null 2>&1 || true; done
chroot "$r" delgroup --quiet --system vnumad >/dev/null 2>&1 || true
# /dev/kvm's group, as udev makes it on a KVM host (this one has no KVM):
# the package must put vnumad-qemu in it.
chroot "$r" getent group kvm >/dev/null || chroot "$r" addgroup --quiet --system kvm
# No systemd runs here; without this directory the maintainer scripts skip
# their systemctl and deb-systemd-invoke calls, with it they run them
# (systemctl then reports that it runs in a chroot).
rmdir "$r/run/systemd/system" 2>/dev/null || true

mkdir -p "$r/tmp/vnumad-pkg"
cp "$deb" "$r/tmp/vnumad-pkg/vnumad.deb"
dpkg_in() { DEBIAN_FRONTEND=noninteractive chroot "$r" dpkg "$@" > "$tmp/dpkg.log" 2>&1 || fail "dpkg $*: $(cat "$tmp/dpkg.log")"; }
status() { chroot "$r" dpkg-query -W -f='${db:Status-Abbrev}${Version}' vnumad 2>/dev/null || true; }
wants=/etc/systemd/system/multi-user.target.wants/vnumad.service
version=$(dpkg-deb -f "$deb" Version)

# --- install -----------------------------------------------------------------
dpkg_in -i /tmp/vnumad-pkg/vnumad.deb
[[ $(status) == "ii $version" ]] || fail "after install: $(status)"
IFS=: read -r _ _ quid qgid _ qhome qshell < <(chroot "$r" getent passwd vnumad-qemu) || fail "no user vnumad-qemu"
((quid < 1000)) || fail "vnumad-qemu is not a system user (uid $quid)"
[[ $qhome == /var/lib/vnumad && $qshell == /usr/sbin/nologin ]] || fail "vnumad-qemu: home $qhome, shell $qshell"
[[ $(chroot "$r" getent group "$qgid" | cut -d: -f1) == vnumad-qemu ]] || fail "vnumad-qemu's primary group"
sgid=$(chroot "$r" getent group vnumad | cut -d: -f3) || fail "no group vnumad"
((sgid < 1000)) || fail "group vnumad is not a system group ($sgid)"
chroot "$r" id -nG vnumad-qemu | tr ' ' '\n' | grep -qx kvm || fail "vnumad-qemu not in group kvm: $(chroot "$r" id -nG vnumad-qemu)"
for d in /var/lib/vnumad /var/lib/vnumad/images /var/log/vnumad; do [[ -d $r$d ]] || fail "$d not created"; done
[[ $(stat -c %a "$r/var/log/vnumad") == 750 ]] || fail "/var/log/vnumad mode $(stat -c %a "$r/var/log/vnumad")"
[[ ! -e $r$wants ]] || fail "the first install enabled the service"
chroot "$r" dpkg-query -W -f='${Conffiles}\n' vnumad | awk 'NF {print $1}' | sort > "$tmp/conffiles.db"
[[ $(cat "$tmp/conffiles.db") == $'/etc/logrotate.d/vnumad\n/etc/vnumad/vnumad.conf' ]] \
  || fail "dpkg's conffiles: $(cat "$tmp/conffiles.db")"
echo "ok: install: accounts (vnumad-qemu uid $quid in group kvm, group vnumad gid $sgid), directories, not enabled, conffiles"

# --- the operator at work: enables the unit, edits vnumad.conf, adds a guest --
chroot "$r" systemctl enable vnumad.service > "$tmp/enable.log" 2>&1 || fail "systemctl enable: $(cat "$tmp/enable.log")"
[[ -L $r$wants ]] || fail "systemctl enable made no $wants"
echo "socket_group = vnumad" >> "$r/etc/vnumad/vnumad.conf"
echo "<domain type='qemu'><name>kept</name></domain>" > "$r/etc/vnumad/domains.d/kept.xml"
echo "disk" > "$r/var/lib/vnumad/images/kept.img"
echo "QEMU said" > "$r/var/log/vnumad/kept.log"

# --- reinstall of the same version, then an upgrade to a newer one, with the
# systemd branches of the scripts taken ------------------------------------
mkdir -p "$r/run/systemd/system"
dpkg_in -i /tmp/vnumad-pkg/vnumad.deb
[[ $(status) == "ii $version" ]] || fail "after reinstall: $(status)"
newer=${version%-*}-$((${version##*-} + 1))
dpkg-deb -R "$deb" "$tmp/newer"
sed -i "s/^Version: .*/Version: $newer/" "$tmp/newer/DEBIAN/control"
dpkg-deb -b "$tmp/newer" "$r/tmp/vnumad-pkg/newer.deb" > /dev/null
dpkg_in -i /tmp/vnumad-pkg/newer.deb
[[ $(status) == "ii $newer" ]] || fail "after upgrade: $(status)"
rmdir "$r/run/systemd/system"
IFS=: read -r _ _ quid2 _ < <(chroot "$r" getent passwd vnumad-qemu)
[[ $quid2 == "$quid" ]] || fail "the upgrade made vnumad-qemu anew (uid $quid -> $quid2)"
[[ $(chroot "$r" getent group vnumad | cut -d: -f3) == "$sgid" ]] || fail "the upgrade made group vnumad anew"
grep -qx "socket_group = vnumad" "$r/etc/vnumad/vnumad.conf" || fail "the upgrade lost the operator's vnumad.conf edit"
[[ -L $r$wants ]] || fail "the upgrade lost the operator's enablement"
echo "ok: reinstall and upgrade $version -> $newer: same accounts, conffile edit and enablement kept"

# --- remove --------------------------------------------------------------------
dpkg_in -r vnumad
[[ $(status) == "rc $newer" ]] || fail "after remove: $(status)"
[[ ! -e $r/usr/sbin/vnumad && ! -e $r/usr/lib/systemd/system/vnumad.service ]] || fail "remove left the programs"
[[ -f $r/etc/vnumad/vnumad.conf && -f $r/etc/logrotate.d/vnumad ]] || fail "remove took the conffiles"
[[ -f $r/var/log/vnumad/kept.log ]] || fail "remove took the logs"
# The enablement symlink stays for a reinstall; a mask keeps it from
# starting a unit whose file is gone.
[[ -L $r$wants ]] || fail "remove dropped the enablement (purge does that)"
[[ $(readlink "$r/etc/systemd/system/vnumad.service") == /dev/null ]] || fail "remove did not mask the unit"
echo "ok: remove: programs gone, unit masked; conffiles, enablement and logs stay"

# --- reinstall after remove: the mask goes, the enablement is back ------------
dpkg_in -i /tmp/vnumad-pkg/newer.deb
[[ $(status) == "ii $newer" ]] || fail "after reinstall: $(status)"
[[ ! -L $r/etc/systemd/system/vnumad.service ]] || fail "reinstall left the unit masked"
[[ -L $r$wants ]] || fail "reinstall lost the enablement"
dpkg_in -r vnumad
echo "ok: reinstall after remove: unit unmasked, still enabled"

# --- purge ---------------------------------------------------------------------
dpkg_in -P vnumad
[[ -z $(status) || $(status) == "un "* ]] || fail "after purge: $(status)"
[[ ! -e $r/var/log/vnumad ]] || fail "purge left /var/log/vnumad"
[[ ! -e $r/etc/vnumad/vnumad.conf && ! -e $r/etc/logrotate.d/vnumad ]] || fail "purge left conffiles"
[[ ! -e $r$wants && ! -L $r$wants ]] || fail "purge left $wants"
[[ ! -e $r/etc/systemd/system/vnumad.service && ! -L $r/etc/systemd/system/vnumad.service ]] || fail "purge left the mask"
[[ $(cat "$r/var/lib/vnumad/images/kept.img") == disk ]] || fail "purge took the guest image"
[[ -f $r/etc/vnumad/domains.d/kept.xml ]] || fail "purge took the operator's domain file"
chroot "$r" getent passwd vnumad-qemu > /dev/null || fail "purge removed user vnumad-qemu (kept by design)"
chroot "$r" getent group vnumad > /dev/null || fail "purge removed group vnumad (kept by design)"
echo "ok: purge: logs, conffiles, enablement gone; guest image, domain file and accounts kept"
