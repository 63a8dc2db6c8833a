#!/usr/bin/env python3
"""vnumactl console on a terminal (a pty), against a stand-in daemon that
answers the console request and then echoes the stream back: the terminal is
raw while attached (Ctrl-C reaches the guest as a byte), Ctrl-] ends the
session with exit status 0, --escape changes the key, and the terminal's mode
is restored after the escape key and after SIGTERM alike.
Usage: console_tty_test.py VNUMACTL"""
import os, pty, select, signal, socket, sys, tempfile, termios, threading, time

vnumactl = sys.argv[1]
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "s.sock")
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(4)


def serve():
    while True:
        c, _ = srv.accept()
        buf = b""
        while b"\n" not in buf:
            buf += c.recv(100)
        c.sendall(b'{"id":1,"ok":true,"result":{"name":"g","console":"serial0"}}\n')

        def echo(c=c):
            while True:
                d = c.recv(100)
                if not d:
                    return
                c.sendall(b"<" + d + b">")
        threading.Thread(target=echo, daemon=True).start()


threading.Thread(target=serve, daemon=True).start()
failures = 0


def check(ok, what):
    global failures
    print(("ok:   " if ok else "FAIL: ") + what)
    failures += 0 if ok else 1


def session(end, extra=()):
    pid, master = pty.fork()
    if pid == 0:
        os.execv(vnumactl, [vnumactl, "console", "g", "--socket", path, *extra])
    before = termios.tcgetattr(master)
    out = b""

    def read_until(text, seconds=5):
        nonlocal out
        deadline = time.time() + seconds
        while text not in out and time.time() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    out += os.read(master, 1000)
                except OSError:
                    return
    read_until(b"Escape character")
    # The banner comes before raw mode: wait for it, or a ^C typed too early
    # is the terminal's SIGINT (a race seen on a loaded machine).
    deadline = time.time() + 5
    raw = termios.tcgetattr(master)
    while raw[3] & termios.ICANON and time.time() < deadline:
        time.sleep(0.02)
        raw = termios.tcgetattr(master)
    os.write(master, b"ab\x03c")
    read_until(b"<ab\x03c>")
    if isinstance(end, bytes):
        os.write(master, end)
    else:
        os.kill(pid, end)
    _, status = os.waitpid(pid, 0)
    after = termios.tcgetattr(master)
    os.close(master)
    return status, (raw[3] & termios.ICANON) == 0, after == before, out


status, raw, restored, out = session(b"\x1d")
check(b"Connected to domain g" in out, "banner on the terminal")
check(raw, "raw mode while attached")
check(b"<ab\x03c>" in out, "Ctrl-C passed to the guest as a byte")
check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "Ctrl-] ends the session with status 0")
check(restored, "terminal restored after the escape key")

status, raw, restored, out = session(b"\x01", ["--escape", "^A"])
check(b"Escape character is ^A" in out and os.WIFEXITED(status), "--escape ^A ends the session")
check(restored, "terminal restored after --escape")

status, raw, restored, out = session(signal.SIGTERM)
check(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, "SIGTERM ends it as SIGTERM (status %#x)" % status)
check(restored, "terminal restored after SIGTERM")

os.unlink(path)
os.rmdir(tmp)
sys.exit(1 if failures else 0)
