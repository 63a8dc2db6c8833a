#!/usr/bin/env bash
# The daemon's log under journald, end to end. No systemd runs here, so the
# journal is the nearest real thing: in a private mount namespace a datagram
# socket sits at journald's own path (/run/systemd/journal/socket), read by
# journal_receiver.py, and vnumad's stderr is a file named by JOURNAL_STREAM
# (as systemd sets it for a unit). The config dir holds a malformed file and
# a guest that cannot be placed (more memory than the host has), so no QEMU
# starts. The entries must carry PRIORITY=, GUEST= and CODE=; nothing may
# fall back to stderr. Run alone, without JOURNAL_STREAM, the same events are
# "LEVEL: " lines on stderr.
# Usage: journal_test.sh VNUMAD
set -euo pipefail
vnumad=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/appliance_lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/domains"
echo '<domain type="qemu"><name>broken' > "$tmp/domains/broken.xml"
cat > "$tmp/domains/big.xml" <<XML
<domain type='qemu'>
  <name>big</name>
  <memory unit='TiB'>64</memory>
  <vcpu placement='static'>2</vcpu>
  <vnuma mode='node' distribution='contiguous'>
    <partition nodeset='0' cells='1'/>
  </vnuma>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
: > "$tmp/vnumad.conf"

# Runs vnumad until its "ready" event, then stops it. $1: stderr file,
# $2: "journal" to set JOURNAL_STREAM to that file.
run_daemon() {
  local err=$1 mode=$2
  local sock=$tmp/vnumad-$mode.sock
  (
    exec 2> "$err"
    if [[ $mode == journal ]]; then export JOURNAL_STREAM=$(stat -c %d:%i "$err"); else unset JOURNAL_STREAM; fi
    exec "$vnumad" --config "$tmp/vnumad.conf" --config-dir "$tmp/domains" --state-dir "$tmp/state-$mode" \
      --socket "$sock" --log-dir "$tmp/log"
  ) &
  local pid=$! i
  for ((i = 0; i < 300; i++)); do
    [[ -S $sock ]] && break
    kill -0 "$pid" 2>/dev/null || fail "vnumad died: $(cat "$err")"
    sleep 0.1
  done
  [[ -S $sock ]] || { kill -KILL "$pid"; fail "no control socket: $(cat "$err")"; }
  sleep 1  # the guests of the first scan are started (and refused) after ready
  kill -TERM "$pid"
  wait "$pid" || fail "vnumad exited $? after SIGTERM: $(cat "$err")"
}

export -f run_daemon fail
export tmp vnumad
unshare --mount --propagation private bash -euo pipefail -c '
  mount -t tmpfs -o mode=0755 tmpfs /run/systemd
  mkdir /run/systemd/journal
  python3 "'"$here"'/journal_receiver.py" /run/systemd/journal/socket "$tmp/entries.jsonl" &
  receiver=$!
  for ((i = 0; i < 100; i++)); do [[ -S /run/systemd/journal/socket ]] && break; sleep 0.05; done
  [[ -S /run/systemd/journal/socket ]] || fail "journal receiver did not bind"
  run_daemon "$tmp/stderr-journal.log" journal
  sleep 0.3
  kill "$receiver"
' || fail "the journal run failed"

[[ -s $tmp/entries.jsonl ]] || fail "no journal entries; stderr was: $(cat "$tmp/stderr-journal.log")"
[[ ! -s $tmp/stderr-journal.log ]] || fail "under the journal, lines still went to stderr: $(cat "$tmp/stderr-journal.log")"
python3 - "$tmp/entries.jsonl" <<'PY' || fail "journal entries: $(cat "$tmp/entries.jsonl")"
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
def find(**want):
    hits = [e for e in entries if all(e.get(k) == v for k, v in want.items())]
    assert hits, "no entry with %r" % want
    return hits[0]
assert all(e.get("SYSLOG_IDENTIFIER") == "vnumad" and e.get("PRIORITY") in "3467" for e in entries), entries
ready = [e for e in entries if e["MESSAGE"].startswith("ready: ")]
assert ready and ready[0]["PRIORITY"] == "6" and "GUEST" not in ready[0], ready
bad = find(CODE="xml_malformed", PRIORITY="3")
assert "broken.xml" in bad["MESSAGE"] and "GUEST" not in bad, bad
big = find(GUEST="big", CODE="insufficient_memory", PRIORITY="3")
assert big["MESSAGE"].startswith("guest 'big': start failed: "), big
print("ok: %d entries; %s | %s" % (len(entries), bad["MESSAGE"], big["MESSAGE"]))
PY

run_daemon "$tmp/stderr-plain.log" plain
grep -q "^ERROR: guest 'big': start failed: " "$tmp/stderr-plain.log" || fail "stderr run: $(cat "$tmp/stderr-plain.log")"
grep -q "^INFO: ready: " "$tmp/stderr-plain.log" || fail "stderr run: $(cat "$tmp/stderr-plain.log")"
echo "ok: without JOURNAL_STREAM the same events are LEVEL: lines on stderr"
