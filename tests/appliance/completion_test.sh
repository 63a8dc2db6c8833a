#!/usr/bin/env bash
# The bash completion of vnumactl, in a clean `bash --norc`: commands, options
# per command, guest names from a fake vnumactl on PATH (with the --socket of
# the line passed on), *.xml files, option values. With the real vnumactl it
# also checks that the completion offers exactly the commands and options the
# program's --help lists.
# Usage: completion_test.sh SOURCE_DIR [VNUMACTL]
set -euo pipefail
src=$1
real_vnumactl=${2:-}
script=$src/completion/vnumactl.bash
[[ -f $script ]] || { echo "FAIL: $script missing"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/files/sub"
touch "$tmp/files/web.xml" "$tmp/files/db.xml" "$tmp/files/notes.txt" "$tmp/files/host-seed.xml"

# A fake vnumactl: logs its arguments, answers `list` like the real one.
cat > "$tmp/bin/vnumactl" <<'EOF'
#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = list ]; then
  printf ' %-9s%-24s%s\n' Id Name State
  echo '-----------------------------------------------'
  printf ' %-9s%-24s%s\n' 4242 web running
  printf ' %-9s%-24s%s\n' 4243 db paused
  printf ' %-9s%-24s%s\n' - spare 'shut off'
fi
EOF
chmod +x "$tmp/bin/vnumactl"
export FAKE_LOG=$tmp/fake.log
: > "$FAKE_LOG"

# Completes LINE (words split at single spaces; a trailing space starts an
# empty word) and prints COMPREPLY, sorted, one per line.
complete_line() {
  PATH="$tmp/bin:$PATH" bash --norc --noprofile -c '
    source "$1" || exit 3
    line=$2
    read -r -a COMP_WORDS <<< "$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE=$line
    COMP_POINT=${#line}
    _vnumactl vnumactl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort
  ' _ "$script" "$1"
}

failures=0
expect() {  # LINE EXPECTED-SORTED-WORDS...
  local line=$1; shift
  local got want
  got=$(complete_line "$line" | tr '\n' ' ' | sed 's/ *$//')
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ *$//')
  if [[ $got == "$want" ]]; then
    echo "ok:   '$line' -> [$got]"
  else
    echo "FAIL: '$line' -> [$got], expected [$want]"
    failures=$((failures + 1))
  fi
}

all_verbs=(list dominfo domxml vcpuinfo numastat vcpupin setvcpus attach-memory detach-memory start shutdown destroy
           suspend resume reboot restart reload host-shutdown events console expand argv plan capabilities)

expect "vnumactl " "${all_verbs[@]}"
expect "vnumactl se" setvcpus
expect "vnumactl nu" numastat
expect "vnumactl de" destroy detach-memory
expect "vnumactl --" --connect --help --readonly --socket --version
expect "vnumactl setvcpus --t" --timeout-ms
expect "vnumactl shutdown --t" --timeout
expect "vnumactl attach-memory --" --cell --connect --help --json --readonly --size --socket
expect "vnumactl argv --" --allow-overcommit --config --help --qmp --reserved-cpus --reserved-memory --topology
expect "vnumactl capabilities --reserved-cpus " auto none
expect "vnumactl setvcpus --timeout-ms " 
: > "$FAKE_LOG"
expect "vnumactl dominfo " db spare web
grep -qx "list" "$FAKE_LOG" || { echo "FAIL: guest names not asked with 'vnumactl list' (log: $(cat "$FAKE_LOG"))"; failures=$((failures + 1)); }
expect "vnumactl start " spare
expect "vnumactl resume " db
expect "vnumactl su" suspend
expect "vnumactl ho" host-shutdown
expect "vnumactl host-shutdown " 
expect "vnumactl host-shutdown --" --connect --help --json --readonly --socket
expect "vnumactl shutdown " db web
expect "vnumactl shutdown w" web
expect "vnumactl console " db web
expect "vnumactl console --" --connect --escape --force --help --readonly --socket
expect "vnumactl console web --escape " "^A" "^]" none
expect "vnumactl co" console
expect "vnumactl dominfo web " 
: > "$FAKE_LOG"
expect "vnumactl dominfo --socket /tmp/other.sock " db spare web
grep -qx -- "list --socket /tmp/other.sock" "$FAKE_LOG" \
  || { echo "FAIL: --socket of the line not passed to list (log: $(cat "$FAKE_LOG"))"; failures=$((failures + 1)); }
: > "$FAKE_LOG"
expect "vnumactl vcpupin --socket=/tmp/eq.sock w" web
grep -qx -- "list --socket /tmp/eq.sock" "$FAKE_LOG" \
  || { echo "FAIL: --socket=PATH not passed to list (log: $(cat "$FAKE_LOG"))"; failures=$((failures + 1)); }
# bash splits "--opt=value" at '=' (COMP_WORDBREAKS): --opt, =, value.
: > "$FAKE_LOG"
expect "vnumactl vcpupin --socket = /tmp/split.sock w" web
grep -qx -- "list --socket /tmp/split.sock" "$FAKE_LOG" \
  || { echo "FAIL: split --socket = PATH not passed to list (log: $(cat "$FAKE_LOG"))"; failures=$((failures + 1)); }
expect "vnumactl plan --topology = $tmp/files/h" "$tmp/files/host-seed.xml"
expect "vnumactl capabilities --reserved-cpus = " auto none
expect "vnumactl capabilities --reserved-cpus =" auto none
expect "vnumactl expand --topology = $tmp/files/host-seed.xml $tmp/files/w" "$tmp/files/web.xml"
expect "vnumactl expand $tmp/files/" "$tmp/files/db.xml" "$tmp/files/host-seed.xml" "$tmp/files/sub" "$tmp/files/web.xml"
expect "vnumactl expand $tmp/files/w" "$tmp/files/web.xml"
expect "vnumactl expand $tmp/files/web.xml $tmp/files/" 
expect "vnumactl plan $tmp/files/web.xml $tmp/files/d" "$tmp/files/db.xml"
expect "vnumactl plan --topology $tmp/files/h" "$tmp/files/host-seed.xml"
expect "vnumactl argv --topology $tmp/files/host-seed.xml $tmp/files/w" "$tmp/files/web.xml"

# Global options before the command word (issue 14): their values are not
# taken for the command, and the socket they name is the one asked.
expect "vnumactl --socket /tmp/s.sock li" list
expect "vnumactl -c /tmp/s.sock -r se" setvcpus
expect "vnumactl --connect=/tmp/s.sock de" destroy detach-memory
: > "$FAKE_LOG"
expect "vnumactl -c /tmp/before.sock dominfo " db spare web
grep -qx -- "list --socket /tmp/before.sock" "$FAKE_LOG" \
  || { echo "FAIL: -c before the command not passed to list (log: $(cat "$FAKE_LOG"))"; failures=$((failures + 1)); }
: > "$FAKE_LOG"
expect "vnumactl -r events " db spare web
grep -qx -- "list -r" "$FAKE_LOG" || { echo "FAIL: -r not passed to list (log: $(cat "$FAKE_LOG"))"; failures=$((failures + 1)); }
expect "vnumactl events --domain w" web
expect "vnumactl events --d" --domain

# Registered for the command name.
registered=$(bash --norc --noprofile -c 'source "$1"; complete -p vnumactl' _ "$script")
[[ $registered == *"-F _vnumactl"*vnumactl ]] || { echo "FAIL: not registered: $registered"; failures=$((failures + 1)); }

# In step with the program: the commands of `vnumactl --help` and the options
# of each `vnumactl CMD --help`, which lists only options a user types (no
# positional words such as --name, no --help: the completion adds that).
if [[ -n $real_vnumactl ]]; then
  help_verbs=$("$real_vnumactl" --help | awk '/^Commands:/ {on = 1; next} on && /^$/ {exit} on {print $1}' | sort)
  comp_verbs=$(printf '%s\n' "${all_verbs[@]}" | sort)
  if [[ -z $help_verbs || $help_verbs != "$comp_verbs" ]]; then
    echo "FAIL: vnumactl --help lists [$(echo $help_verbs)], the completion [$(echo $comp_verbs)]"
    failures=$((failures + 1))
  fi
  for verb in "${all_verbs[@]}"; do
    want=$({ "$real_vnumactl" "$verb" --help | grep -oE '^ +(-[a-z], )?--[a-z-]+' | sed 's/.*--/--/'; echo --help; } \
           | sort | tr '\n' ' ')
    got=$(complete_line "vnumactl $verb --" | tr '\n' ' ')
    if [[ -z $want || $want != "$got" ]]; then
      echo "FAIL: vnumactl $verb --help has options [$want], the completion offers [$got]"
      failures=$((failures + 1))
    else
      echo "ok:   $verb options match --help"
    fi
  done
fi

if ((failures)); then
  echo "$failures completion check(s) failed"
  exit 1
fi
echo "all completion checks passed"
