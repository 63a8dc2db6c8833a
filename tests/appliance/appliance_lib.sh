# Shared checks of the appliance tests; sourced, not run. Every check exits
# the test with "FAIL: ..." on the first thing that is wrong.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A file or directory that must exist in an installed tree.
need() {
  local root=$1 kind=$2 path=$3
  case $kind in
    file) [[ -f $root$path ]] || fail "$path missing (in $root)" ;;
    exec) [[ -f $root$path && -x $root$path ]] || fail "$path missing or not executable (in $root)" ;;
    dir) [[ -d $root$path ]] || fail "directory $path missing (in $root)" ;;
  esac
}

# The programs answer --help and --version. $1: vnumad, $2: vnumactl.
check_help() {
  local vnumad=$1 vnumactl=$2 out
  out=$("$vnumad" --help) || fail "vnumad --help exited $?"
  [[ $out == *"Usage: vnumad"* && $out == *"--config-dir"* ]] || fail "vnumad --help: unexpected output: $out"
  out=$("$vnumad" --version) || fail "vnumad --version exited $?"
  [[ $out =~ ^vnumad\ [0-9]+\.[0-9]+ ]] || fail "vnumad --version: $out"
  out=$("$vnumactl" --help) || fail "vnumactl --help exited $?"
  [[ $out == *"Commands:"* && $out == *expand* && $out == *setvcpus* ]] || fail "vnumactl --help: unexpected output: $out"
  out=$("$vnumactl" expand --help) || fail "vnumactl expand --help exited $?"
  [[ $out == *"--topology"* ]] || fail "vnumactl expand --help: $out"
  local rc=0
  "$vnumactl" no-such-command >/dev/null 2>&1 || rc=$?
  [[ $rc == 2 ]] || fail "vnumactl no-such-command: exit $rc, expected 2"
  echo "ok: --help and --version"
}

# `vnumactl expand` of the seed guest on the seed host: the expanded XML of
# vnuma-spec section 4, valid for libvirt's schema. $1: vnumactl, $2: shared
# dir, $3: scratch dir.
check_expand() {
  local vnumactl=$1 shared=$2 tmp=$3
  local host=$shared/fixtures/hosts/seed-e7-8895v2-4s.xml
  local domain=$shared/fixtures/domains/seed-vnuma-host.xml
  "$vnumactl" expand --topology "$host" "$domain" > "$tmp/expanded.xml" 2> "$tmp/expand.err" \
    || fail "vnumactl expand exited $?: $(cat "$tmp/expand.err")"
  local x
  x=$(tr -d '\n' < "$tmp/expanded.xml")
  [[ $x == *"<domain"*"</domain>"* ]] || fail "expand: no <domain> document: $x"
  [[ $x != *"<vnuma"* ]] || fail "expand: <vnuma> is still there"
  [[ $x =~ \<topology[^\>]*sockets=.4.[^\>]*cores=.2.[^\>]*threads=.2. ]] || fail "expand: not sockets=4 cores=2 threads=2"
  local cells
  cells=$(grep -o '<cell ' "$tmp/expanded.xml" | wc -l)
  [[ $cells == 4 ]] || fail "expand: $cells <cell>s, expected 4"
  local cpus
  for cpus in 0-14,60-74 15-29,75-89 30-44,90-104 45-59,105-119; do
    [[ $(grep -c "cpuset=.$cpus." "$tmp/expanded.xml") == 4 ]] || fail "expand: expected 4 <vcpupin cpuset='$cpus'>"
  done
  [[ $(grep -c '<memnode ' "$tmp/expanded.xml") == 4 ]] || fail "expand: expected 4 <memnode>"
  if command -v virt-xml-validate >/dev/null; then
    virt-xml-validate "$tmp/expanded.xml" domain > "$tmp/validate.log" 2>&1 \
      || fail "expand: virt-xml-validate rejects the output: $(cat "$tmp/validate.log")"
  else
    fail "virt-xml-validate missing (scripts/install-deps.sh installs libvirt-clients)"
  fi
  echo "ok: vnumactl expand of the seed guest"
}

# Starts vnumad with the given vnumad.conf and temporary paths, waits for its
# socket, lists (empty), reloads, looks up a missing guest, stops it with
# SIGTERM and expects exit 0. $1: vnumad, $2: vnumactl, $3: vnumad.conf,
# $4: scratch dir.
check_daemon_cycle() {
  local vnumad=$1 vnumactl=$2 conf=$3 tmp=$4
  local sock=$tmp/control.sock
  mkdir -p "$tmp/domains"
  "$vnumad" --config "$conf" --config-dir "$tmp/domains" --state-dir "$tmp/state" --socket "$sock" \
    --log-dir "$tmp/log" 2> "$tmp/daemon.log" &
  local pid=$!
  local i
  for ((i = 0; i < 300; i++)); do
    [[ -S $sock ]] && break
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; fail "vnumad died at start-up: $(cat "$tmp/daemon.log")"; }
    sleep 0.1
  done
  [[ -S $sock ]] || { kill -KILL "$pid"; fail "no control socket after 30 s: $(cat "$tmp/daemon.log")"; }

  local out rc=0
  out=$("$vnumactl" list --socket "$sock") || rc=$?
  [[ $rc == 0 ]] || { kill -KILL "$pid"; fail "vnumactl list exited $rc: $out"; }
  [[ $(head -n1 <<< "$out") =~ ^\ *Id\ +Name\ +State\ *$ ]] || { kill -KILL "$pid"; fail "vnumactl list header: $out"; }
  [[ $(wc -l <<< "$out") == 2 ]] || { kill -KILL "$pid"; fail "vnumactl list: expected no guests: $out"; }
  out=$("$vnumactl" list --json --socket "$sock") || { kill -KILL "$pid"; fail "vnumactl list --json"; }
  [[ $out == "[]" ]] || { kill -KILL "$pid"; fail "vnumactl list --json: $out"; }
  out=$("$vnumactl" reload --socket "$sock") || { kill -KILL "$pid"; fail "vnumactl reload: $out"; }
  rc=0
  "$vnumactl" dominfo no-such-guest --socket "$sock" > /dev/null 2> "$tmp/dominfo.err" || rc=$?
  [[ $rc == 2 ]] || { kill -KILL "$pid"; fail "dominfo of a missing guest: exit $rc, expected 2"; }
  grep -q "no-such-guest" "$tmp/dominfo.err" || { kill -KILL "$pid"; fail "dominfo error does not name the guest"; }

  kill -HUP "$pid"
  sleep 0.3
  kill -0 "$pid" 2>/dev/null || fail "vnumad exited on SIGHUP: $(cat "$tmp/daemon.log")"
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [[ $rc == 0 ]] || fail "vnumad exited $rc after SIGTERM: $(cat "$tmp/daemon.log")"
  echo "ok: daemon start, list, reload, SIGHUP, SIGTERM -> exit 0"
}

# systemd-analyze verify of the unit installed under ROOT: ExecStart must name
# /usr/sbin/vnumad, which must exist under ROOT (verify runs on a copy that
# points there, since --root would also need all of systemd inside ROOT), and
# the man: pages of Documentation= must be found among ROOT's man pages.
# $1: ROOT, $2: scratch dir.
verify_installed_unit() {
  local root=$1 tmp=$2
  local unit=$root/usr/lib/systemd/system/vnumad.service
  grep -qx 'ExecStart=/usr/sbin/vnumad' "$unit" || fail "installed unit: $(grep ExecStart "$unit")"
  mkdir -p "$tmp/verify"
  sed "s|^ExecStart=/usr/sbin/vnumad\$|ExecStart=$root/usr/sbin/vnumad|" "$unit" > "$tmp/verify/vnumad.service"
  MANPATH=$root/usr/share/man systemd-analyze verify "$tmp/verify/vnumad.service" > "$tmp/verify.log" 2>&1 \
    || fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
  [[ ! -s $tmp/verify.log ]] || fail "systemd-analyze verify warns: $(cat "$tmp/verify.log")"
  echo "ok: systemd-analyze verify of the installed unit (with its man pages)"
}
