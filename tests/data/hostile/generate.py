# Generates tests/data/hostile/*.xml and EXPECTED.tsv (kept beside the files so
# the corpus is reviewable as plain files; this script is not part of the build).
import os
out = os.path.dirname(os.path.abspath(__file__))

def domain(name='hostile', memory="<memory unit='GiB'>32</memory>", vnuma="<vnuma mode='host'/>",
           vcpu="<vcpu placement='static'>16</vcpu>", extra='', devices='', dtype='kvm'):
    name_el = '' if name is None else f'  <name>{name}</name>\n'
    return (f"<domain type='{dtype}'>\n{name_el}  {memory}\n  {vnuma}\n  {vcpu}\n{extra}"
            "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n    <boot dev='hd'/>\n  </os>\n"
            "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
            "  <cpu mode='host-passthrough' check='none'/>\n"
            "  <on_poweroff>destroy</on_poweroff>\n"
            "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
            f"{devices}    <memballoon model='none'/>\n  </devices>\n</domain>\n")

def no_vnuma(**kw):
    kw.setdefault('vnuma', '<!-- no vnuma -->')
    return domain(**kw)

cells4 = ("  <cpu mode='host-passthrough'>\n    <numa>\n" +
          "".join(f"      <cell id='{i}' cpus='{4*i}-{4*i+3}' memory='8' unit='GiB'/>\n" for i in range(4)) +
          "    </numa>\n  </cpu>\n")

rows = []  # (file, stage, errc, fragment, text)
def add(f, stage, errc, frag, text):
    rows.append((f, stage, errc, frag, text))

seed = domain(name='OL8-vnuma')
# --- malformed documents
add('malformed-unclosed-tag.xml', 'parse', 'xml_malformed', 'malformed XML', seed.replace('</vcpu>', '</vcpu', 1))
add('not-xml.xml', 'parse', 'xml_malformed', 'malformed XML', 'name = OL8-vnuma\nvcpus = 16\nmemory = 32G\n')
add('truncated.xml', 'parse', 'xml_malformed', 'malformed XML', seed[: len(seed) // 2])
add('empty-file.xml', 'parse', 'xml_malformed', 'malformed XML', '')
add('mismatched-tags.xml', 'parse', 'xml_malformed', 'malformed XML', seed.replace('</os>', '</oss>'))
add('two-roots.xml', 'parse', 'xml_malformed', 'malformed XML', seed + seed)
add('wrong-root.xml', 'parse', 'missing_element', 'expected <domain>', "<network><name>x</name></network>\n")
add('binary-garbage.xml', 'parse', 'xml_malformed', 'NUL byte', '\x00\x01\x02<\xff\xfe>\x00')
# --- memory sizes
add('memory-abc.xml', 'parse', 'invalid_value', "'abc' is not a non-negative whole number",
    domain(memory="<memory unit='GiB'>abc</memory>"))
add('memory-negative.xml', 'parse', 'invalid_value', "'-1' is not a non-negative whole number",
    domain(memory="<memory unit='GiB'>-1</memory>"))
add('memory-huge.xml', 'parse', 'invalid_value', 'too large',
    domain(memory="<memory unit='KiB'>999999999999999999999999</memory>"))
add('memory-overflow.xml', 'parse', 'invalid_value', 'overflows 64 bits',
    domain(memory="<memory unit='EiB'>4096</memory>"))
add('unit-furlongs.xml', 'parse', 'invalid_unit', "unknown unit 'furlongs'",
    domain(memory="<memory unit='furlongs'>32</memory>"))
add('vnuma-memory-bad-unit.xml', 'parse', 'invalid_unit', "unknown unit 'parsecs'",
    domain(vnuma="<vnuma mode='host'><memory unit='parsecs'>4</memory></vnuma>"))
add('memory-zero.xml', 'parse', 'invalid_value', 'guest memory must be positive',
    domain(memory="<memory unit='GiB'>0</memory>"))
# --- vCPU counts
add('vcpu-zero.xml', 'parse', 'invalid_value', '1..4096', domain(vcpu='<vcpu>0</vcpu>'))
add('vcpu-100000.xml', 'parse', 'invalid_value', '1..4096', domain(vcpu='<vcpu>100000</vcpu>'))
add('vcpu-negative.xml', 'parse', 'invalid_value', "'-4' is not a non-negative whole number",
    domain(vcpu='<vcpu>-4</vcpu>'))
add('vcpu-huge.xml', 'parse', 'invalid_value', 'too large', domain(vcpu='<vcpu>99999999999999</vcpu>'))
add('vcpu-current-gt-max.xml', 'parse', 'invalid_value', 'current 20 is larger than the 16 vCPUs',
    domain(vcpu="<vcpu current='20'>16</vcpu>"))
add('vcpu-current-zero.xml', 'parse', 'invalid_value', 'at least 1 vCPU must be online',
    domain(vcpu="<vcpu current='0'>16</vcpu>"))
# --- cpusets
add('cpuset-reversed.xml', 'parse', 'invalid_cpuset', 'runs backwards',
    no_vnuma(vcpu="<vcpu cpuset='3-1'>16</vcpu>"))
add('cpuset-lone-caret.xml', 'parse', 'invalid_cpuset', "'^' must be followed by an id",
    no_vnuma(extra="  <cputune>\n    <vcpupin vcpu='0' cpuset='^'/>\n  </cputune>\n"))
add('cpuset-huge-id.xml', 'parse', 'invalid_cpuset', 'above the limit',
    no_vnuma(extra="  <cputune>\n    <emulatorpin cpuset='0-4294967295'/>\n  </cputune>\n"))
add('partition-nodeset-reversed.xml', 'parse', 'invalid_cpuset', 'runs backwards',
    domain(vnuma="<vnuma mode='node'><partition nodeset='3-1'/></vnuma>"))
add('partition-nodeset-all-excluded.xml', 'parse', 'invalid_cpuset', 'empty after exclusions',
    domain(vnuma="<vnuma mode='node'><partition nodeset='1,^1'/></vnuma>"))
# --- <vnuma> rules
add('cells-gt-vcpus.xml', 'parse', 'invalid_value', '32 cells is more than the 16 vCPUs',
    domain(vnuma="<vnuma mode='node'><partition cells='32'/></vnuma>"))
add('partition-cells-zero.xml', 'parse', 'invalid_value', 'at least 1 cell',
    domain(vnuma="<vnuma mode='node'><partition cells='0'/></vnuma>"))
add('vnuma-plus-numa.xml', 'parse', 'conflicting_element', '<cpu><numa>',
    domain(extra=cells4).replace("  <cpu mode='host-passthrough' check='none'/>\n", ''))
add('vnuma-plus-topology.xml', 'parse', 'conflicting_element', '<cpu><topology>',
    domain().replace("<cpu mode='host-passthrough' check='none'/>",
                     "<cpu mode='host-passthrough'><topology sockets='4' cores='2' threads='2'/></cpu>"))
add('vnuma-plus-vcpupin.xml', 'parse', 'conflicting_element', '<cputune><vcpupin>',
    domain(extra="  <cputune>\n    <vcpupin vcpu='0' cpuset='1'/>\n  </cputune>\n"))
add('vnuma-plus-emulatorpin.xml', 'parse', 'conflicting_element', '<cputune><emulatorpin>',
    domain(extra="  <cputune>\n    <emulatorpin cpuset='0'/>\n  </cputune>\n"))
add('vnuma-plus-numatune.xml', 'parse', 'conflicting_element', '<numatune>',
    domain(extra="  <numatune>\n    <memory mode='strict' nodeset='0'/>\n  </numatune>\n"))
add('vnuma-plus-vcpus.xml', 'parse', 'conflicting_element', '<vcpus>',
    domain(vcpu="<vcpu>2</vcpu>", extra="  <vcpus>\n    <vcpu id='0' enabled='yes' hotpluggable='no'/>\n"
           "    <vcpu id='1' enabled='yes' hotpluggable='yes'/>\n  </vcpus>\n"))
add('two-vnuma.xml', 'parse', 'duplicate_element', '<vnuma> appears more than once',
    domain(vnuma="<vnuma mode='host'/>\n  <vnuma mode='node'/>"))
add('partition-mode-host.xml', 'parse', 'conflicting_element', "only valid with mode='node'",
    domain(vnuma="<vnuma mode='host'><partition nodeset='0-1'/></vnuma>"))
add('unknown-distribution.xml', 'parse', 'invalid_value', "'random' is not valid",
    domain(vnuma="<vnuma mode='host' distribution='random'/>"))
add('unknown-mode.xml', 'parse', 'invalid_value', "'cluster' is not valid (valid: host, node)",
    domain(vnuma="<vnuma mode='cluster'/>"))
add('vnuma-missing-mode.xml', 'parse', 'missing_element', 'no mode attribute', domain(vnuma="<vnuma/>"))
add('vnuma-unknown-child.xml', 'parse', 'invalid_value', 'unknown element',
    domain(vnuma="<vnuma mode='host'><cells>4</cells></vnuma>"))
# --- names
add('name-empty.xml', 'parse', 'invalid_name', 'the name is empty', domain(name=''))
add('name-dotdot.xml', 'parse', 'invalid_name', "starts with '.'", domain(name='../x'))
add('name-subdir.xml', 'parse', 'invalid_name', "contains '/'", domain(name='a/../../etc'))
add('name-slash.xml', 'parse', 'invalid_name', "contains '/'", domain(name='/'))
add('name-space.xml', 'parse', 'invalid_name', 'contains a space', domain(name='my guest'))
add('name-dot-leading.xml', 'parse', 'invalid_name', "starts with '.'", domain(name='.hidden'))
add('name-too-long.xml', 'parse', 'invalid_name', 'the name has 65 characters', domain(name='x' * 65))
add('name-shell.xml', 'parse', 'invalid_name', "contains '$'", domain(name='$(reboot)'))
add('name-missing.xml', 'parse', 'missing_element', 'has no <name>', domain(name=None))
add('two-names.xml', 'parse', 'duplicate_element', '<name> appears more than once',
    domain(name='a</name>\n  <name>b'))
# --- libvirt-level rules without <vnuma>
add('duplicate-cell-ids.xml', 'parse', 'duplicate_element', "<cell id='1'> appears twice",
    no_vnuma(extra=cells4.replace("cell id='2'", "cell id='1'")).replace("  <cpu mode='host-passthrough' check='none'/>\n", ''))
add('topology-mismatch.xml', 'parse', 'invalid_value', 'gives 8 vCPUs but <vcpu> has 16',
    no_vnuma().replace("<cpu mode='host-passthrough' check='none'/>",
                       "<cpu mode='host-passthrough'><topology sockets='2' cores='2' threads='2'/></cpu>"))
add('cell-cpus-out-of-range.xml', 'parse', 'invalid_value', 'vCPU 16 does not exist',
    no_vnuma(extra=cells4.replace("cpus='12-15'", "cpus='12-16'")).replace("  <cpu mode='host-passthrough' check='none'/>\n", ''))
add('distance-too-small.xml', 'parse', 'invalid_value', 'a NUMA distance is 10..255',
    no_vnuma(extra=cells4.replace("<cell id='0' cpus='0-3' memory='8' unit='GiB'/>",
                                  "<cell id='0' cpus='0-3' memory='8' unit='GiB'><distances><sibling id='0' value='10'/>"
                                  "<sibling id='1' value='5'/></distances></cell>")).replace("  <cpu mode='host-passthrough' check='none'/>\n", ''))
add('memnode-without-cells.xml', 'parse', 'invalid_value', 'invalid without any guest NUMA cells',
    no_vnuma(extra="  <numatune>\n    <memnode cellid='0' mode='strict' nodeset='0'/>\n  </numatune>\n"))
add('domain-type-xen.xml', 'parse', 'unsupported', "<domain type='xen'>", domain(dtype='xen'))
add('bad-uuid.xml', 'parse', 'invalid_value', 'not a UUID',
    domain(name="OL8-vnuma</name>\n  <uuid>not-a-uuid</uuid>\n  <name-placeholder").replace("\n  <name-placeholder</name>", ""))
# rapidxml does not expand DTD entities: the reference stays literal text and
# the name check refuses it, so nothing grows.
add('entity-expansion.xml', 'parse', 'invalid_name', "contains '&'",
    "<?xml version='1.0'?>\n<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]>\n" +
    seed.replace('<name>OL8-vnuma</name>', '<name>&lol2;</name>'))

# --- valid XML that only the host rejects (seed host: 4 nodes 0-3, 15 cores x 2 threads, 128 GiB each,
# 1 GiB of it the default reserved_memory)
add('host-missing-node.xml', 'host', 'node_unavailable', "<partition nodeset='7'>: NUMA node 7 does not exist on this host",
    domain(name='missing-node', vnuma="<vnuma mode='node'><partition nodeset='7'/></vnuma>"))
add('host-missing-nodes-range.xml', 'host', 'node_unavailable', "<partition nodeset='2-5'>: NUMA node 4 does not exist on this host",
    domain(name='missing-nodes', vnuma="<vnuma mode='node'><partition nodeset='2-5' cells='4'/></vnuma>"))
add('host-six-cells.xml', 'host', 'vcpus_not_divisible_by_cells', '16 vCPUs cannot be split evenly into 6 cells: use 12 or 18 vCPUs, or 1, 2, 4, 8 or 16 cells',
    domain(name='six-cells', vnuma="<vnuma mode='node' distribution='contiguous'><partition nodeset='0-3,^2' cells='6'/></vnuma>"))
add('host-vcpus-not-divisible.xml', 'host', 'vcpus_not_divisible_by_cells', '17 vCPUs cannot be split evenly into 4 cells: use 16 or 20 vCPUs, or 1 or 17 cells',
    domain(name='seventeen', vcpu="<vcpu placement='static'>17</vcpu>"))
add('host-too-much-memory.xml', 'host', 'insufficient_memory', "node 0 has 127 GiB free, guest 'huge-mem' needs 1024 GiB for cell 0",
    domain(name='huge-mem', memory="<memory unit='TiB'>4</memory>"))
add('host-siblings-too-many-vcpus.xml', 'host', 'insufficient_cpus', "node 1 has 28 free threads for dedicated pinning (reserved CPUs and cores held by other guests skipped), guest 'greedy' needs 64 for cell 0",
    domain(name='greedy', vcpu="<vcpu placement='static'>64</vcpu>",
           vnuma="<vnuma mode='node' distribution='siblings'><partition nodeset='1' cells='1'/></vnuma>"))
add('host-shared-too-many-vcpus.xml', 'host', 'insufficient_cpus', "node 0 has 30 CPUs not dedicated to other guests, guest 'crowded' needs 64 for cell 0",
    domain(name='crowded', vcpu="<vcpu placement='static'>64</vcpu>",
           vnuma="<vnuma mode='node'><partition nodeset='0' cells='1'/></vnuma>"))

for f in os.listdir(out):
    if f.endswith('.xml'):
        os.remove(os.path.join(out, f))
with open(os.path.join(out, 'EXPECTED.tsv'), 'w') as tsv:
    tsv.write('# file\tstage\terrc\tmessage fragment\n')
    for f, stage, errc, frag, text in rows:
        with open(os.path.join(out, f), 'w', encoding='utf-8', errors='surrogateescape', newline='') as x:
            x.write(text)
        tsv.write(f'{f}\t{stage}\t{errc}\t{frag}\n')
print(len(rows), 'files')
