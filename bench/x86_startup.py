#!/usr/bin/env python3
"""x86-64 on KVM: VMM start-up cost and memory overhead, Vireo vs QEMU microvm.

Both boot the same tiny PVH guest whose first instruction writes port 0xf4
(isa-debug-exit), so the time from process start to exit is the VMM's own
start-up and tear-down. Reports, over N runs each (medians): wall time, and
peak RSS (the guest touches only a few pages, so this is the VMM's memory
overhead, an upper bound). Prints Vireo/QEMU ratios.

The guest is assembled here with the host's GNU as. QEMU runs with its
default CPU model (`-cpu host` fails on PVM-backed KVM: MSR 0x10a).

Usage: bench/x86_startup.py [--vireo build/vireo] [--runs 20]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

GUEST = r"""
        .section .note.pvh, "a", @note
        .balign 4
        .long 4, 4, 18
        .asciz "Xen"
        .long _start
        .text
        .code32
        .globl _start
_start:
        mov $0, %al
        out %al, $0xf4
        hlt
"""
LINK = "SECTIONS {\n . = 0x100000;\n .text : { *(.text) }\n .note : { *(.note*) }\n}\n"


def build_guest(tmp):
    with open(os.path.join(tmp, "g.S"), "w") as f:
        f.write(GUEST)
    with open(os.path.join(tmp, "link.ld"), "w") as f:
        f.write(LINK)
    subprocess.run(["as", "--32", "-o", "g.o", "g.S"], cwd=tmp, check=True)
    subprocess.run(["ld", "-m", "elf_i386", "-T", "link.ld", "--build-id=none", "-o", "g.elf",
                    "g.o"], cwd=tmp, check=True)
    return os.path.join(tmp, "g.elf")


def measure(argv, expect_status, rss_file):
    """Wall seconds and peak RSS (KiB) of one run. The RSS comes from GNU
    time (a small parent), not from this Python process's fork, whose
    pre-exec image would count in the child's maximum."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file] + argv,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if proc.returncode != expect_status:
        err = proc.stderr.decode(errors="replace")
        sys.exit(f"{argv[0]} exited with {proc.returncode}, expected {expect_status}: "
                 f"{err.strip()}")
    with open(rss_file) as f:
        return wall, int(f.read().split()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vireo", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "vireo"))
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        sys.exit("qemu-system-x86_64 is missing: run scripts/setup.sh")
    if not os.access("/usr/bin/time", os.X_OK):
        sys.exit("/usr/bin/time (GNU time) is missing: run scripts/setup.sh")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        sys.exit("/dev/kvm is not usable here: this benchmark needs KVM")
    tmp = tempfile.mkdtemp(prefix="vireo-x86bench-")
    guest = build_guest(tmp)
    mem = "128M"
    vmms = {
        "vireo": [args.vireo, "run", "--kernel", guest, "--memory", mem, "--debug-exit",
                  "--serial", "null"],
        "qemu microvm": [qemu, "-M", "microvm,x-option-roms=off,rtc=off", "-enable-kvm", "-m",
                         mem, "-no-reboot", "-nodefaults", "-nographic", "-serial", "none",
                         "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", guest],
    }
    results = {name: [] for name in vmms}
    rss_file = os.path.join(tmp, "rss")
    for name, argv in vmms.items():  # warm the page cache
        measure(argv, 1, rss_file)
    for i in range(args.runs):
        for name, argv in vmms.items():  # interleaved, so drift hits both
            results[name].append(measure(argv, 1, rss_file))
    print(f"medians over {args.runs} runs (tiny PVH guest exiting at its first instruction)")
    print(f"{'':16}{'start-to-exit':>16}{'peak RSS':>12}")
    med = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        med[name] = (wall, rss)
        print(f"{name:16}{wall * 1000:13.1f} ms{rss / 1024:9.1f} MiB")
    v, q = med["vireo"], med["qemu microvm"]
    print(f"vireo/qemu: start-to-exit {v[0] / q[0]:.2f}x (target <= 0.25x), "
          f"peak RSS {v[1] / q[1]:.2f}x; vireo overhead {v[1] / 1024:.1f} MiB (target <= 5 MiB)")
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
