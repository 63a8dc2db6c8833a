#!/usr/bin/env python3
"""A stand-in for journald's native socket: binds a datagram socket at PATH
and writes each entry it receives as one JSON object a line to OUT, parsing
the native journal protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL): fields
"KEY=value\\n", or "KEY\\n" + 64-bit little-endian size + value + "\\n".
Entries passed as a memfd (SCM_RIGHTS, for large ones) are read too.
Usage: journal_receiver.py PATH OUT"""
import array
import json
import os
import socket
import struct
import sys


def parse(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            (size,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            key, value = line, data[nl + 9:nl + 9 + size]
            if data[nl + 9 + size:nl + 10 + size] != b"\n":
                raise ValueError("binary field %r not terminated" % key)
            i = nl + 10 + size
        fields[key.decode()] = value.decode(errors="replace")
    return fields


def main():
    path, out = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    with open(out, "a", buffering=1) as f:
        while True:
            fds = array.array("i")
            data, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_LEN(fds.itemsize))
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                data = os.pread(fd, os.fstat(fd).st_size, 0)
                os.close(fd)
            f.write(json.dumps(parse(data)) + "\n")


if __name__ == "__main__":
    main()
