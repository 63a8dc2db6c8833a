#!/usr/bin/env bash
# The man pages: they format without a single groff warning, man-db can index
# them, and they say what the programs do. Commands and options are taken
# from the programs' own --help, configuration keys from vnumad's own list of
# valid keys, and the worked examples of vnumad-domain(5) are recomputed with
# vnumactl on the seed host.
# Usage: man_test.sh SOURCE_DIR VNUMAD VNUMACTL SHARED_DIR
set -euo pipefail
src=$1
vnumad=$2
vnumactl=$3
shared=$4
here=$(cd "$(dirname "$0")" && pwd)
source "$here/appliance_lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pages=(vnumad.8 vnumactl.1 vnumad.conf.5 vnumad-domain.5)
for page in "${pages[@]}"; do
  file=$src/man/$page
  [[ -f $file ]] || fail "man/$page missing"
  groff -man -t -ww -z "$file" > "$tmp/groff.log" 2>&1 || fail "groff failed on $page: $(cat "$tmp/groff.log")"
  [[ ! -s $tmp/groff.log ]] || fail "groff warns on $page: $(cat "$tmp/groff.log")"
  man -l --warnings -E UTF-8 "$file" > /dev/null 2> "$tmp/man.log" || fail "man -l $page failed: $(cat "$tmp/man.log")"
  [[ ! -s $tmp/man.log ]] || fail "man warns on $page: $(cat "$tmp/man.log")"
  lexgrog "$file" > /dev/null || fail "lexgrog cannot parse the NAME section of $page"
  # Plain text for the checks below.
  MANWIDTH=200 man -l -E UTF-8 "$file" 2>/dev/null > "$tmp/$page.txt"  # plain text when piped
  [[ -s $tmp/$page.txt ]] || fail "$page renders empty"
done
echo "ok: ${pages[*]} format without warnings"

# vnumactl(1): every command of `vnumactl --help` has an entry, every option
# of `vnumactl CMD --help` is mentioned.
commands=$("$vnumactl" --help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}')
[[ $(wc -w <<< "$commands") -ge 15 ]] || fail "could not read the commands of vnumactl --help: $commands"
for cmd in $commands; do
  grep -qE "^ +$cmd( |$)" "$tmp/vnumactl.1.txt" || fail "vnumactl.1 has no entry for '$cmd'"
  for opt in $("$vnumactl" "$cmd" --help | grep -oE '^ +(-[a-z], )?--[a-z-]+' | sed 's/.*--/--/'); do
    grep -qE -- "(^|[^a-z-])$opt([^a-z-]|$)" "$tmp/vnumactl.1.txt" || fail "vnumactl.1 does not mention $opt of '$cmd'"
  done
done
echo "ok: vnumactl.1 covers $(wc -w <<< "$commands") commands and their options"

# vnumad(8): every option of `vnumad --help`.
for opt in $("$vnumad" --help | grep -oE '^ +(-[a-z] \[ )?--[a-z-]+' | sed 's/.*--/--/'); do
  grep -qE -- "(^|[^a-z-])$opt([^a-z-]|$)" "$tmp/vnumad.8.txt" || fail "vnumad.8 does not mention $opt"
done
echo "ok: vnumad.8 covers the options of vnumad --help"

# vnumad.conf(5): vnumad's valid keys (from its error for an unknown key) each
# have an entry, and the shipped etc/vnumad.conf uses only valid keys.
printf 'no_such_key_for_the_test = 1\n' > "$tmp/bad.conf"
rc=0
"$vnumad" --config "$tmp/bad.conf" 2> "$tmp/keys.err" || rc=$?
[[ $rc == 2 ]] || fail "vnumad with an unknown key: exit $rc, expected 2"
keys=$(sed -n 's/.*valid keys: \([^)]*\)).*/\1/p' "$tmp/keys.err" | tr -d ',')
[[ $(wc -w <<< "$keys") -ge 10 ]] || fail "could not read vnumad's valid keys: $(cat "$tmp/keys.err")"
for key in $keys; do
  grep -qE "^ +$key = " "$tmp/vnumad.conf.5.txt" || fail "vnumad.conf.5 has no entry for '$key'"
done
for key in $(sed -nE 's/^#? *([a-z_]+) *=.*/\1/p' "$src/etc/vnumad.conf"); do
  grep -qw -- "$key" <<< "$keys" || fail "etc/vnumad.conf uses '$key', which vnumad rejects (valid: $keys)"
done
echo "ok: vnumad.conf.5 covers the keys: $keys"

# vnumad-domain(5): its worked examples, recomputed.
host=$shared/fixtures/hosts/seed-e7-8895v2-4s.xml
domains=$shared/fixtures/domains
page=$src/man/vnumad-domain.5
unroff() { sed -e 's/\\&//g' -e "s/\\\\(aq/'/g" -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/^[[:space:]]*//; s/[[:space:]]*$//'; }
block() { sed -n "/^\\.\\\\\" begin $1\$/,/^\\.\\\\\" end $1\$/p" "$page" | sed '1d;$d' | grep -v '^\.' | unroff; }

"$vnumactl" expand --topology "$host" "$domains/seed-vnuma-host.xml" | unroff > "$tmp/host.xml"
excerpt=$(block "expand excerpt")
[[ $(wc -l <<< "$excerpt") -ge 5 ]] || fail "vnumad-domain.5: no expand excerpt block"
while IFS= read -r line; do
  [[ -z $line || $line == "..." ]] && continue
  grep -qF -- "$line" "$tmp/host.xml" || fail "vnumad-domain.5 shows '$line', which vnumactl expand does not print"
done <<< "$excerpt"
echo "ok: vnumad-domain.5 expand excerpt matches vnumactl expand"

rc=0
"$vnumactl" expand --topology "$host" "$domains/seed-vnuma-six-cells-bad.xml" > /dev/null 2> "$tmp/six.err" || rc=$?
[[ $rc == 2 ]] || fail "six cells: exit $rc, expected 2"
want=$(block "six cells message" | tr -s ' \n' ' ' | sed 's/ $//')
got=$(unroff < "$tmp/six.err" | tr -s ' \n' ' ' | sed 's/ $//')
[[ -n $want && $got == "$want" ]] || fail "vnumad-domain.5 shows [$want], vnumactl prints [$got]"
echo "ok: vnumad-domain.5 six-cells message matches"

# The siblings table: "vCPU<TAB>a<TAB>b ..." rows followed by "host CPU<TAB>x<TAB>y ...".
"$vnumactl" expand --topology "$host" "$domains/seed-vnuma-siblings.xml" > "$tmp/siblings.xml"
pairs=$(awk -F'\t' '/^vCPU\t/ {n = split($0, v, "\t")} /^host CPU\t/ {split($0, h, "\t"); for (i = 2; i <= n; i++) print v[i] "=" h[i]}' "$page")
[[ $(wc -l <<< "$pairs") == 16 ]] || fail "vnumad-domain.5: siblings table has $(wc -l <<< "$pairs") entries, expected 16"
for pair in $pairs; do
  vcpu=${pair%=*} cpu=${pair#*=}
  grep -qE "<vcpupin vcpu=.$vcpu. cpuset=.$cpu./>" "$tmp/siblings.xml" \
    || fail "vnumad-domain.5 pins vCPU $vcpu to $cpu; vnumactl expand: $(grep -oE "<vcpupin vcpu=.$vcpu. [^>]*>" "$tmp/siblings.xml")"
done
echo "ok: vnumad-domain.5 siblings table matches"

# The hotplug example: 8 of 16 online is what <vcpu current='8'> boots with.
sed "s|<vcpu placement='static'>16</vcpu>|<vcpu placement='static' current='8'>16</vcpu>|" \
  "$domains/seed-vnuma-host.xml" > "$tmp/current8.xml"
grep -q "current='8'" "$tmp/current8.xml" || fail "could not make the current='8' domain"
"$vnumactl" expand --topology "$host" "$tmp/current8.xml" > "$tmp/current8.out"
online=$(grep -oE "<vcpu id=.[0-9]+. enabled=.yes." "$tmp/current8.out" | grep -oE '[0-9]+' | paste -sd, -)
stated=$(grep -A2 'vnumactl setvcpus web 8' "$page" | grep -oE '[0-9]+(,[0-9]+){7}' | head -n1)
[[ -n $stated && $online == "$stated" ]] || fail "vnumad-domain.5 says $stated stay online, vnumactl expand enables $online"
echo "ok: vnumad-domain.5 hotplug example matches"
echo "all man page checks passed"
