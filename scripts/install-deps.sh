#!/usr/bin/env bash
# Installs what vnumad needs to build, test and run, from Debian 12 packages.
# Idempotent: packages already present are skipped, and apt is not touched at all
# when nothing is missing. Usage: scripts/install-deps.sh [--backports]
#   --backports  also install QEMU from bookworm-backports (10.0), which the
#                live-operations tests need (QEMU 10 behaviour they rely on: vnumad(8)).
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev
  libboost-program-options1.81-dev
  libhwloc-dev libnuma-dev libsystemd-dev
  libvirt-clients            # virt-xml-validate for the expansion tests
  qemu-system-x86 busybox-static cpio kmod  # real guests in the integration tests
  python3 jq procps          # the NUMA test host's checks (tests/numahost)
  hwloc                      # lstopo, to export host topologies
  systemd man-db bash-completion
  systemd-container          # systemd-machined: guests in machine scopes (tests/numahost systemd mode)
  groff-base                 # man pages: groff -ww checks in tests/appliance
  dpkg-dev file              # cpack -G DEB: dpkg-shlibdeps computes Depends
  lintian logrotate          # the package test: lintian of the .deb, logrotate -d of its file
)

missing=()
for p in "${packages[@]}"; do
  [[ $p == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

updated=0
apt_update() { if [[ $updated == 0 ]]; then apt-get update -qq; updated=1; fi; }

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ${1:-} == --backports ]]; then
  # QEMU 10.0 lives in the backports suite of the same Debian archive that this
  # machine already uses; derive the mirror from the existing sources instead of
  # naming one.
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$(grep -rhs -m1 '^URIs:.*debian$\|^URIs:.*debian/$' /etc/apt/sources.list.d/ | awk '{print $2}' | head -n1)
    [[ -n $mirror ]] || mirror=$(grep -hs '^deb .*bookworm main' /etc/apt/sources.list | awk '{print $2}' | head -n1)
    [[ -n $mirror ]] || { echo "install-deps: cannot find the Debian mirror in apt sources" >&2; exit 1; }
    cat > /etc/apt/sources.list.d/vnumad-backports.sources <<SRC
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    updated=0
  fi
  version=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
  if [[ $version != *bpo* ]]; then
    echo "install-deps: installing QEMU from bookworm-backports"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -t bookworm-backports qemu-system-x86 >/dev/null
  fi
fi

# The unprivileged user QEMU runs as (vnumad.conf runas, default vnumad-qemu).
"$(dirname "$0")/make-qemu-user.sh"
