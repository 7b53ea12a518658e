"""Client creation per language: how long creating a client takes (the first HTTPS client of a
process, and each one after it), and how many files creating one opens.

The files are counted with inotify (IN_OPEN), not estimated: each language's program runs with
SSL_CERT_DIR set to a directory of copies of the system's CA certificates (SSL_CERT_FILE unset),
so that every certificate file read is an open in that directory. The program prints `start`,
`first` and `later` around its first client and the N after it, and waits for a line on stdin each
time; the opens queued in between are the ones that step made. Prints one JSON line per language.

Usage: clients.py N RUST_BENCH C_BENCH PYTHON NODE_BINDING_DIR
"""

import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile

N, RUST, C, PYTHON, NODE_BINDING = int(sys.argv[1]), *sys.argv[2:6]
IN_OPEN, IN_ISDIR = 0x20, 0x40000000

PY = f"""
import json, sys, time, dajisaas
def step(name):
    print(name, flush=True); sys.stdin.readline()
new = lambda: dajisaas.Client("bench-key", "bench-secret", base_url="https://openapi.dajisaas.com")
step("start")
t = time.perf_counter(); first = new(); first_us = (time.perf_counter() - t) * 1e6
step("first")
t = time.perf_counter(); later = [new() for _ in range({N})]; later_us = (time.perf_counter() - t) * 1e6 / {N}
step("later")
print(json.dumps({{"first_us": first_us, "later_us": later_us}}))
"""

JS = f"""
const fs = require('fs')
const {{ Client }} = require({json.dumps(NODE_BINDING)})
const step = (name) => {{ process.stdout.write(name + '\\n'); const b = Buffer.alloc(64); fs.readSync(0, b) }}
const make = () => new Client({{ appKey: 'bench-key', appSecret: 'bench-secret', baseUrl: 'https://openapi.dajisaas.com' }})
step('start')
let t = process.hrtime.bigint(); const first = make(); const firstUs = Number(process.hrtime.bigint() - t) / 1e3
step('first')
t = process.hrtime.bigint(); const later = Array.from({{ length: {N} }}, make); const laterUs = Number(process.hrtime.bigint() - t) / 1e3 / {N}
step('later')
console.log(JSON.stringify({{ first_us: firstUs, later_us: laterUs }}))
"""


def certificate_dir():
    """Copies of the system's CA certificates as regular files (opening a symlink would be
    reported in the directory of its target)."""
    out = tempfile.mkdtemp(prefix="dajisaas-bench-certs-")
    source = "/etc/ssl/certs"
    count = 0
    for name in sorted(os.listdir(source)) if os.path.isdir(source) else []:
        path = os.path.join(source, name)
        try:
            with open(path, "rb") as f:
                pem = f.read()
        except OSError:
            continue
        if pem.startswith(b"-----BEGIN CERTIFICATE-----") and pem.count(b"BEGIN CERTIFICATE") == 1:
            shutil.copyfile(path, os.path.join(out, f"ca-{count}.pem"))
            count += 1
    return out, count


class Opens:
    def __init__(self, directory):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, directory.encode(), IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), "inotify")

    def files_opened(self):
        count = 0
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return count
            at = 0
            while at < len(data):
                # struct inotify_event: int wd; uint32 mask, cookie, len; char name[len]
                mask = int.from_bytes(data[at + 4:at + 8], sys.byteorder)
                length = int.from_bytes(data[at + 12:at + 16], sys.byteorder)
                if not mask & IN_ISDIR:
                    count += 1
                at += 16 + length


def measure(language, command, directory, opens):
    env = {**os.environ, "SSL_CERT_DIR": directory}
    env.pop("SSL_CERT_FILE", None)
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    counts = {}
    for expected in ("start", "first", "later"):
        line = child.stdout.readline().strip()
        if line != expected:
            raise SystemExit(f"{language}: expected {expected!r}, got {line!r}")
        counts[expected] = opens.files_opened()
        child.stdin.write("\n")
        child.stdin.flush()
    times = json.loads(child.stdout.readline())
    child.wait()
    print(json.dumps({
        "figure": f"{language}_client_new_us", "value": times["later_us"],
        "unit": f"µs per client after the first (mean of {N})",
        "first_client_us": times["first_us"], "first_client_files": counts["first"],
        "later_client_files": counts["later"],
    }), flush=True)


def main():
    directory, certificates = certificate_dir()
    try:
        opens = Opens(directory)
        print(json.dumps({"figure": "system_ca_files", "value": certificates, "unit": "files"}), flush=True)
        measure("rust", [RUST, "--clients", str(N)], directory, opens)
        measure("c", [C, "--clients", str(N)], directory, opens)
        measure("python", [PYTHON, "-c", PY], directory, opens)
        measure("node", ["node", "-e", JS], directory, opens)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


main()
