#!/usr/bin/env python3
"""Checks of running vnumad guests from /proc, cgroupfs and sysfs, run inside
the NUMA test host by matrix.sh.

What vnumad reports is used only to name things: which pid is the guest
(dominfo), which thread is vCPU k (vcpuinfo), which host node each cell was
given and how much memory a cell has (domxml). Every placement fact is read
from the kernel, and every expectation comes from the vNUMA partitioning
rules (docs/numa-test-host.md) and the host's own topology in sysfs:

  memory     every cell's pages are on its node (>= 99 %), RAM, huge pages
             and hot-added dimms alike, and none on the memory-only node
  vCPUs      each vCPU thread's Cpus_allowed_list is its pin: every CPU of
             its cell's node except those other guests hold dedicated
             (shared), or one thread of a core whose sibling is the next
             vCPU (siblings); its Mems_allowed_list is the guest's whole
             nodeset; it sits in vnumad/NAME/vcpuK with those cpus and mems
  emulator   the reserved CPUs of the guest's nodes, in vnumad/NAME/emulator
  dedicated  no other guest's thread may run on a siblings guest's threads

Usage: check.py --vnumactl PATH --socket PATH --cgroup v2|v1|none|scope
                --reserved CPUSET [--dedicated G,G] GUEST=SPEC...
  SPEC: the cells' host nodes in cell order ("1,2"), or "any"; then
  optional ":extra=NODE/KIB" (hot-added memory on NODE) and ":huge".
Prints "ok - ..." / "not ok - ..." lines and, last, "checks: P passed, F failed".
"""

import argparse
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

results = {"passed": 0, "failed": 0}


def expect(ok, what, detail=""):
    if ok:
        results["passed"] += 1
        print(f"ok - {what}")
    else:
        results["failed"] += 1
        print(f"not ok - {what}: {detail}")
    sys.stdout.flush()
    return ok


def parse_set(text):
    out = set()
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        if part.startswith("^"):
            out.discard(int(part[1:]))
        elif "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return out


def fmt(s):
    return ",".join(str(x) for x in sorted(s)) or "(none)"


def read(path):
    with open(path) as f:
        return f.read()


def status_field(task, key):
    for line in read(f"{task}/status").splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def node_cpus(node):
    return parse_set(read(f"/sys/devices/system/node/node{node}/cpulist"))


def online_nodes():
    return parse_set(read("/sys/devices/system/node/online"))


def thread_siblings(cpu):
    return parse_set(read(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"))


class Vnumactl:
    def __init__(self, binary, socket):
        self.binary, self.socket = binary, socket

    def run(self, *args):
        return subprocess.run([self.binary, "--socket", self.socket, *args], check=True,
                              capture_output=True, text=True).stdout

    def json(self, *args):
        return json.loads(self.run(*args, "--json"))


def bound_pages_kib(pid):
    """node -> [total KiB bound to exactly that node, KiB of it on that node,
    KiB of it in huge pages], over anonymous and huge-page mappings (a file
    mapping such as a shared library shows the task's policy but its pages
    are the page cache, wherever another process first read them)."""
    out = {}
    off_node_4 = 0
    for line in read(f"/proc/{pid}/numa_maps").splitlines():
        words = line.split()
        if len(words) < 2:
            continue
        huge = "huge" in words
        if any(w.startswith("file=") for w in words) and not huge:
            continue
        pagesize = 4
        for w in words:
            if w.startswith("kernelpagesize_kB="):
                pagesize = int(w.split("=")[1])
        per_node = {}
        for w in words:
            m = re.fullmatch(r"N(\d+)=(\d+)", w)
            if m:
                per_node[int(m.group(1))] = int(m.group(2)) * pagesize
        off_node_4 += per_node.get(4, 0)
        m = re.fullmatch(r"bind:(\d+)", words[1])
        if not m:
            continue
        node = int(m.group(1))
        acc = out.setdefault(node, [0, 0, 0])
        acc[0] += sum(per_node.values())
        acc[1] += per_node.get(node, 0)
        if huge:
            acc[2] += per_node.get(node, 0)
    return out, off_node_4


def cgroup_of(task, mode):
    for line in read(f"{task}/cgroup").splitlines():
        hid, controllers, path = line.split(":", 2)
        if mode in ("v2", "scope") and hid == "0":
            return path, "/sys/fs/cgroup"
        if mode == "v1" and "cpuset" in controllers.split(","):
            return path, "/sys/fs/cgroup/cpuset"
    return None, None


def guest_base(name, mode):
    """The guest group: vnumad's own tree, or (mode scope, under systemd) the
    vnumad/ child of its machine scope, whose unit name systemd escapes."""
    if mode != "scope":
        return f"vnumad/{name}"
    escaped = "".join(c if c.isalnum() or c in "_." else "\\x%02x" % ord(c) for c in name)
    return f"machine.slice/machine-{escaped}.scope/vnumad"


def check_cgroup(what, task, group, cpus, mems, mode):
    if mode == "none":
        return
    path, root = cgroup_of(task, mode)
    if not expect(path == "/" + group, f"{what} in cgroup /{group}", f"it is in {path}"):
        return
    got_cpus = parse_set(read(f"{root}/{group}/cpuset.cpus"))
    got_mems = parse_set(read(f"{root}/{group}/cpuset.mems"))
    expect(got_cpus == cpus and got_mems == mems, f"{what}: {root}/{group} has cpus {fmt(cpus)}, mems {fmt(mems)}",
           f"cpus {fmt(got_cpus)}, mems {fmt(got_mems)}")


class Guest:
    def __init__(self, ctl, name):
        self.name = name
        info = ctl.json("dominfo", name)
        self.pid = info.get("pid")
        self.xml = ET.fromstring(ctl.run("domxml", name))
        self.vcpus = {v["vcpu"]: v["thread_id"] for v in ctl.json("vcpuinfo", name)["vcpus"] if v.get("online")}
        self.cell_node = {int(m.get("cellid")): parse_set(m.get("nodeset"))
                          for m in self.xml.findall("./numatune/memnode")}
        self.cells = {}  # cell -> (vcpus, KiB)
        for c in self.xml.findall("./cpu/numa/cell"):
            unit = c.get("unit", "KiB")
            kib = int(c.get("memory")) * {"KiB": 1, "MiB": 1024, "GiB": 1 << 20, "b": 1 / 1024, "bytes": 1 / 1024}[unit]
            self.cells[int(c.get("id"))] = (parse_set(c.get("cpus")), int(kib))
        self.pins = {int(p.get("vcpu")): parse_set(p.get("cpuset")) for p in self.xml.findall("./cputune/vcpupin")}
        self.siblings = False  # distribution='siblings': the test says which guests (--dedicated)

    def nodes(self):
        out = set()
        for n in self.cell_node.values():
            out |= n
        return out

    def cell_of(self, vcpu):
        for cell, (vcpus, _) in self.cells.items():
            if vcpu in vcpus:
                return cell
        return None

    def vcpu_affinity(self):
        out = set()
        for tid in self.vcpus.values():
            out |= parse_set(status_field(f"/proc/{self.pid}/task/{tid}", "Cpus_allowed_list"))
        return out


def check_guest(g, spec, args, dedicated_by_others):
    name = g.name
    if not expect(g.pid and os.path.isdir(f"/proc/{g.pid}"), f"{name}: running with a pid", f"pid {g.pid}"):
        return
    cmdline = read(f"/proc/{g.pid}/cmdline")
    expect(f"guest={name}" in cmdline, f"{name}: pid {g.pid} is the QEMU of guest={name}")
    want, extra, huge = spec
    got = [fmt(g.cell_node[c]) for c in sorted(g.cell_node)]
    if want != "any":
        expect(got == want, f"{name}: cells on host nodes {','.join(want)}", f"they are on {','.join(got)}")
    nodes = g.nodes()
    expect(4 not in nodes, f"{name}: no cell on the memory-only node 4", f"cells on {fmt(nodes)}")

    # Memory, per node: what its cells (and dimms) hold is there, on it.
    want_kib = {}
    for cell, (_, kib) in g.cells.items():
        for n in g.cell_node[cell]:
            want_kib[n] = want_kib.get(n, 0) + kib // len(g.cell_node[cell])
    for node, kib in extra:
        want_kib[node] = want_kib.get(node, 0) + kib
    bound, on_node_4 = bound_pages_kib(g.pid)
    for node, kib in sorted(want_kib.items()):
        total, on, in_huge = bound.get(node, [0, 0, 0])
        pct = 100.0 * on / total if total else 0.0
        print(f"# {name}: node {node}: {total} KiB bound, {on} KiB on it ({pct:.2f} %), {in_huge} KiB huge; "
              f"cells hold {kib} KiB")
        expect(total >= kib * 0.99 and on >= total * 0.99,
               f"{name}: memory bound to node {node} is there and on it ({pct:.2f} %)",
               f"{total} KiB bound, {on} KiB on node {node}, expected >= {kib} KiB")
        if huge:
            expect(in_huge >= kib * 0.99, f"{name}: node {node}'s cell memory is in huge pages on it",
                   f"{in_huge} KiB of {kib} KiB")
    expect(on_node_4 == 0, f"{name}: no page on the memory-only node 4", f"{on_node_4} KiB there")

    # Threads.
    mems = nodes if args.cgroup != "none" else online_nodes()
    if not expect(len(g.vcpus) > 0, f"{name}: vCPU threads known ({len(g.vcpus)})"):
        return
    for vcpu, tid in sorted(g.vcpus.items()):
        task = f"/proc/{g.pid}/task/{tid}"
        comm = read(f"{task}/comm").strip()
        expect(re.match(r"CPU \d+/", comm), f"{name}: thread {tid} is a vCPU thread ({comm})")
        cell = g.cell_of(vcpu)
        node_set = g.cell_node.get(cell, set())
        cell_cpus = set()
        for n in node_set:
            cell_cpus |= node_cpus(n)
        if g.siblings:
            pin = g.pins.get(vcpu, set())
            expect(len(pin) == 1 and pin <= cell_cpus and not pin & args.reserved,
                   f"{name}: vCPU {vcpu} has one unreserved thread of node {fmt(node_set)}", f"pin {fmt(pin)}")
        else:
            pin = cell_cpus - dedicated_by_others
        allowed = parse_set(status_field(task, "Cpus_allowed_list"))
        expect(allowed == pin, f"{name}: vCPU {vcpu} (cell {cell}, node {fmt(node_set)}) runs on {fmt(pin)}",
               f"Cpus_allowed_list {fmt(allowed)}")
        got_mems = parse_set(status_field(task, "Mems_allowed_list"))
        expect(got_mems == mems, f"{name}: vCPU {vcpu} may allocate on nodes {fmt(mems)}",
               f"Mems_allowed_list {fmt(got_mems)}")
        check_cgroup(f"{name}: vCPU {vcpu}", task, f"{guest_base(name, args.cgroup)}/vcpu{vcpu}", pin, mems, args.cgroup)
    if g.siblings:
        for vcpu in sorted(g.vcpus):
            if vcpu % 2 == 0 and vcpu + 1 in g.vcpus:
                pair = g.pins.get(vcpu, set()) | g.pins.get(vcpu + 1, set())
                first = min(pair) if pair else 0
                expect(len(pair) == 2 and thread_siblings(first) == pair,
                       f"{name}: vCPUs {vcpu},{vcpu + 1} are the two threads of one host core ({fmt(pair)})",
                       f"thread siblings of {first}: {fmt(thread_siblings(first))}")

    # Emulator: the reserved CPUs of the guest's nodes.
    guest_cpus = set()
    for n in nodes:
        guest_cpus |= node_cpus(n)
    emulator = (args.reserved & guest_cpus) or guest_cpus
    task = f"/proc/{g.pid}/task/{g.pid}"
    allowed = parse_set(status_field(task, "Cpus_allowed_list"))
    expect(allowed == emulator, f"{name}: emulator on the reserved CPUs of its nodes ({fmt(emulator)})",
           f"Cpus_allowed_list {fmt(allowed)}")
    got_mems = parse_set(status_field(task, "Mems_allowed_list"))
    expect(got_mems == mems, f"{name}: emulator may allocate on nodes {fmt(mems)}", f"Mems_allowed_list {fmt(got_mems)}")
    check_cgroup(f"{name}: emulator", task, f"{guest_base(name, args.cgroup)}/emulator", emulator, mems, args.cgroup)
    if args.cgroup != "none":
        outside = []
        for tid in os.listdir(f"/proc/{g.pid}/task"):
            path, _ = cgroup_of(f"/proc/{g.pid}/task/{tid}", args.cgroup)
            if not (path or "").startswith(f"/{guest_base(name, args.cgroup)}/"):
                outside.append(f"{tid} in {path}")
        expect(not outside, f"{name}: every QEMU thread is in one of the guest's cgroups", "; ".join(outside))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vnumactl", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--cgroup", required=True, choices=["v2", "v1", "none", "scope"])
    ap.add_argument("--reserved", required=True, type=parse_set)
    ap.add_argument("--dedicated", default="", help="guests holding threads dedicated (siblings)")
    ap.add_argument("--others", default="", help="more running guests, to check the dedicated ones against")
    ap.add_argument("guests", nargs="+")
    args = ap.parse_args()
    ctl = Vnumactl(args.vnumactl, args.socket)

    specs = {}
    for item in args.guests:
        name, spec = item.split("=", 1)
        parts = spec.split(":")
        want = "any" if parts[0] == "any" else parts[0].split(",")
        extra, huge = [], False
        for p in parts[1:]:
            if p.startswith("extra="):
                node, kib = p[len("extra="):].split("/")
                extra.append((int(node), int(kib)))
            elif p == "huge":
                huge = True
        specs[name] = (want, extra, huge)

    names = list(specs) + [n for n in args.others.split(",") if n and n not in specs]
    guests = {}
    for n in names:
        try:
            guests[n] = Guest(ctl, n)
        except (subprocess.CalledProcessError, ET.ParseError, KeyError, ValueError) as e:
            expect(False, f"{n}: vnumactl describes it", str(e))
    dedicated = [n for n in args.dedicated.split(",") if n in guests]
    for n in dedicated:
        guests[n].siblings = True
    held = {n: guests[n].vcpu_affinity() for n in dedicated}
    for n, spec in specs.items():
        if n not in guests:
            continue
        others = set()
        for d, cpus in held.items():
            if d != n:
                others |= cpus
        check_guest(guests[n], spec, args, others)
    # No other guest's thread on a dedicated thread.
    for d in dedicated:
        for n, g in guests.items():
            if n == d or not g.pid:
                continue
            theirs = set()
            for tid in os.listdir(f"/proc/{g.pid}/task"):
                theirs |= parse_set(status_field(f"/proc/{g.pid}/task/{tid}", "Cpus_allowed_list"))
            expect(not (held[d] & theirs), f"{d}: its dedicated threads {fmt(held[d])} are not {n}'s",
                   f"{n} may run on {fmt(held[d] & theirs)}")
    print(f"checks: {results['passed']} passed, {results['failed']} failed")
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
