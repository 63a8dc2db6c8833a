#!/usr/bin/env python3
"""Regenerates the seed corpora fuzz/corpus/<harness>/ from the fixtures.

Sources: tests/data/fixtures/domains, tests/data/conformance (vnuma-rfc, and the
smaller libvirt cases), tests/data/hostile, etc/domains.d (domain_xml);
cpuset/nodeset/memory values found in those files plus hand-picked edge cases
(sets); the recorded QEMU replies and events of tests/data/qmp as wire streams
(qmp); the requests of docs/control-protocol.md (control). File names are the
SHA-1 of the content, as libFuzzer names its corpus files, so re-running is
idempotent. Usage: fuzz/make-corpus.py [REFERENCE_DIR] (default tests/data)
"""
import glob
import hashlib
import json
import os
import re
import shutil
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data")
max_domain_bytes = 12 * 1024  # keeps the corpus small; the fuzzer grows it


def write_corpus(name, inputs):
    out = os.path.join(here, "corpus", name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for data in inputs:
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
    print(f"{name}: {len(set(inputs))} files")


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- domain_xml ---------------------------------------------------------------
domain_files = (sorted(glob.glob(os.path.join(shared, "fixtures/domains/*.xml")))
                + sorted(glob.glob(os.path.join(shared, "conformance/vnuma-rfc/*.xml")))
                + sorted(glob.glob(os.path.join(shared, "conformance/libvirt/*.xml")))
                + sorted(glob.glob(os.path.join(root, "tests/data/hostile/*.xml")))
                + [os.path.join(root, "etc/domains.d/demo.xml")])
domains = [read(p) for p in domain_files if os.path.getsize(p) <= max_domain_bytes]
# The nesting limit (src/config/xml_limits.hpp, 64 levels): at and over it, and
# markup that hides '<' or '</' from a naive count (the depth scan must read
# comments, CDATA, PIs, attribute values and a DOCTYPE as rapidxml does).
def nested(levels, middle=""):
    return "<domain type='qemu'>" + "<a>" * (levels - 1) + middle + "</a>" * (levels - 1) + "</domain>"
limit_seeds = [
    nested(64), nested(65), nested(63, "<b/>"), "<domain type='qemu'>" + "<a>" * 200,
    nested(60, "<!-- </a></a></a></a></a></a> --><b><c><d><e><f/></e></d></c></b>"),
    nested(60, "<![CDATA[</a></a></a></a></a>]]><b><c><d><e><f/></e></d></c></b>"),
    nested(60, "<?pi </a></a></a></a></a> ?><b><c><d><e><f/></e></d></c></b>"),
    nested(60, "<b x='</a></a></a></a></a>'><c><d><e><f/></e></d></c></b>"),
    "<!DOCTYPE d [<!ENTITY x '</a></a></a>'>]>" + nested(66),
    nested(60, "<!x </a></a> ><b><c><d><e><f/></e></d></c></b>"),
]
domains += [s.encode() for s in limit_seeds]
write_corpus("domain_xml", domains)

# ---- sets -----------------------------------------------------------------------
values = set()
for d in domains:
    for m in re.finditer(rb'(?:cpuset|nodeset|cpus|nodes)="([^"]{1,64})"', d):
        values.add(m.group(1))
    for m in re.finditer(rb"<(?:memory|currentMemory|maxMemory|size)(?: [^>]*unit='([^']*)'| [^>]*unit=\"([^\"]*)\")?[^>]*>([^<]{1,32})<", d):
        unit = m.group(1) or m.group(2) or b""
        values.add(m.group(3) + b"\n" + unit)
values.update(s.encode() for s in [
    "0", "0-3,8,^2", "0-14,60-74", "^", "^3", "3-1", "1-1", "0-16383", "16383", "16384", "4294967296",
    "0,,1", ",0", "0-", "-3", " 1", "1 ", "0-3,^0-3", "auto", "none", "0-7,^4-5",
    "1024\nMiB", "8\nG", "1\nGB", "7\nb", "1\nE", "16\nEiB", "18446744073709551615\nKiB", "-1\nKiB",
    "256MiB", "1G", "512", "0x10", "1e3", "8 GiB", "99999999999999999999", "12\nfurlongs", "\nKiB",
    "demo", "web-01.example", ".hidden", "a/b", "..", "x" * 64, "x" * 65, "name with space",
])
write_corpus("sets", sorted(values))

# ---- qmp ------------------------------------------------------------------------
def json_lines(path):
    v = json.loads(read(path))
    return [json.dumps(x, separators=(",", ":")) for x in (v if isinstance(v, list) else [v])]


qmp_dir = os.path.join(root, "tests/data/qmp")
greeting = json_lines(os.path.join(qmp_dir, "greeting.json"))[0]
capabilities = json_lines(os.path.join(qmp_dir, "qmp_capabilities.json"))[0]
streams = []
for i, path in enumerate(sorted(glob.glob(os.path.join(qmp_dir, "*.json")))):
    lines = json_lines(path)
    piece = bytes([i % 17])  # first byte: the read size of the harness
    streams.append(piece + ("\r\n".join(lines) + "\r\n").encode())
    streams.append(bytes([0]) + ("\n".join([greeting, capabilities] + lines) + "\n").encode())
streams += [b"\x05" + s.encode() for s in [
    '{"event":"DEVICE_DELETED","data":{"path":"/machine/peripheral/vcpu5/lapic"},"timestamp":{"seconds":1,"microseconds":2}}\r\n',
    '{"event":"DEVICE_DELETED","data":{"device":"dimm0","path":"/machine/peripheral/dimm0"},"timestamp":{"seconds":1,"microseconds":2}}\r\n',
    '{"error":{"class":"GenericError","desc":"nope"},"id":7}\r\n',
    '{"return":{},"id":"x"}\n\n\r\n{"return":[]}\n',
    '{"return":{"status":"running","running":true,"singlestep":false},"id":3}\n',
    '{"QMP":{"version":{"qemu":{"major":10,"minor":0,"micro":2},"package":""},"capabilities":["oob"]}}\r\n',
    "x" * 4097 + "\n",
]]
write_corpus("qmp", streams)

# ---- control --------------------------------------------------------------------
requests = [
    '{"id":1,"op":"list"}',
    '{"op":"list","args":{}}',
    '{"id":"abc","op":"dominfo","args":{"name":"demo"}}',
    '{"id":null,"op":"domxml","args":{"name":"demo"}}',
    '{"id":[1,2],"op":"vcpuinfo","args":{"name":"demo"}}',
    '{"id":3,"op":"vcpupin","args":{"name":"demo","vcpu":2,"cpuset":"0-3"}}',
    '{"id":4,"op":"setvcpus","args":{"name":"demo","count":8,"timeout_ms":5000}}',
    '{"id":5,"op":"attach-memory","args":{"name":"demo","cell":1,"size":"256MiB"}}',
    '{"id":6,"op":"detach-memory","args":{"name":"demo","dimm":"dimm0"}}',
    '{"id":7,"op":"shutdown","args":{"name":"demo","timeout":30}}',
    '{"id":8,"op":"reload"}\n{"id":9,"op":"capabilities"}\n{"id":10,"op":"events"}',
    '{"id":1.5e300,"op":"start","args":{"name":"demo","vcpu":-1}}',
    '{"id":{"nested":true},"op":"restart","args":{"name":"x","vcpu":18446744073709551615}}',
    '{"op":""}', '{"op":3}', '[1,2]', '{"id":1,"op":"list","extra":0}', '{"id":2,"op":"list","args":[]}',
    '{"id":1,"op":"list"', 'not json', '',
    # Strictness (issue 12): repeated keys, numbers past their type, unknown arguments.
    '{"op":"list","op":"destroy"}',
    '{"id":1,"op":"vcpupin","args":{"name":"g","vcpu":1,"vcpu":2,"cpuset":"0"}}',
    '{"op":"list","\\u006fp":"destroy","args":{"a":{"b":1,"b":2}}}',
    '{"id":2,"op":"vcpupin","args":{"name":"g1","vcpu":4294967297,"cpuset":"0-1"}}',
    '{"id":3,"op":"setvcpus","args":{"name":"g1","count":4294967297,"timeout_ms":86400001}}',
    '{"id":4,"op":"shutdown","args":{"name":"g1","timeout":9223372036854775808}}',
    '{"id":5,"op":"attach-memory","args":{"name":"g1","cell":4294967295,"size":"1G"}}',
    '{"id":6,"op":"setvcpus","args":{"name":"g1","cout":2}}',
    '{"id":7,"op":"destroy","args":{"name":"g1","force":true}}',
]
write_corpus("control", requests)
