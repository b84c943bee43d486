#!/usr/bin/env python3
"""Vireo vs QEMU TCG on the same RISC-V kernel and initramfs.

Measures, over N runs each (medians):
  - boot: wall time from process start to the guest's init marker, and to
    process exit after an immediate poweroff (vireo.run=true);
  - cpubench: the integer and floating-point kernels, timed inside the guest;
  - guest MIPS for Vireo (instructions retired per second, from --stats).
Prints Vireo/QEMU ratios (for times: < 1 means Vireo is faster).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

CACHE = os.environ.get("VIREO_CACHE") or os.path.expanduser("~/.cache/vireo")
KERNEL = os.path.join(CACHE, "riscv64", "Image")
INITRD = os.path.join(CACHE, "riscv64", "initramfs.cpio.gz")
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"


def vireo_cmd(vireo, append, firmware="none", cpus=1):
    return [vireo, "run", "--kernel", KERNEL, "--initrd", INITRD, "--cmdline", append,
            "--memory", "256M", "--cpus", str(cpus), "--firmware", firmware, "--stats"]


def qemu_cmd(append, cpus=1):
    return ["qemu-system-riscv64", "-M", "virt", "-m", "256M", "-smp", str(cpus), "-nographic",
            "-bios", OPENSBI, "-kernel", KERNEL, "-initrd", INITRD, "-append", append]


def timed_run(argv, marker=b"VIREO-INIT-OK", timeout=900):
    """Returns (seconds to marker, seconds to exit, stdout bytes, stderr text)."""
    start = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = b""
    t_marker = None
    os.set_blocking(p.stdout.fileno(), False)
    import select
    while True:
        ready, _, _ = select.select([p.stdout], [], [], 1.0)
        if ready:
            chunk = p.stdout.read()
            if chunk:
                out += chunk
                if t_marker is None and marker in out:
                    t_marker = time.monotonic() - start
                continue
        if p.poll() is not None:
            break
        if time.monotonic() - start > timeout:
            p.kill()
            raise RuntimeError(f"timeout: {' '.join(argv)}")
    t_exit = time.monotonic() - start
    rest = p.stdout.read()
    if rest:
        out += rest
    err = p.stderr.read().decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {' '.join(argv)}\n{err}\n{out[-2000:]!r}")
    return t_marker, t_exit, out, err


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vireo", default=os.path.join(os.path.dirname(__file__), "..", "build", "vireo"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    for f in (KERNEL, INITRD, OPENSBI):
        if not os.path.exists(f):
            sys.exit(f"missing {f}: run ./dev guest (and ./dev build)")

    contenders = {
        "vireo (built-in SBI)": lambda a: vireo_cmd(args.vireo, a),
        "vireo (OpenSBI)": lambda a: vireo_cmd(args.vireo, a, OPENSBI),
        "qemu TCG (OpenSBI)": lambda a: qemu_cmd(a),
    }
    results = {name: {"init": [], "exit": [], "int": [], "fp": [], "mips": []} for name in contenders}
    for i in range(args.runs):
        for name, make in contenders.items():
            t_init, t_exit, _, err = timed_run(make("console=ttyS0 vireo.run=true"))
            results[name]["init"].append(t_init)
            results[name]["exit"].append(t_exit)
            _, _, out, err = timed_run(make("console=ttyS0 vireo.run=cpubench"))
            text = out.decode(errors="replace")
            for kind in ("int", "fp"):
                m = re.search(rf"cpubench {kind} (\d+) ms", text)
                if not m:
                    raise RuntimeError(f"{name}: no cpubench {kind} line:\n{text[-2000:]}")
                results[name][kind].append(int(m.group(1)) / 1000.0)
            m = re.search(r"mips=([\d.]+)", err)
            if m:
                results[name]["mips"].append(float(m.group(1)))
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr)

    q = results["qemu TCG (OpenSBI)"]
    print(f"\nmedians over {args.runs} runs (seconds; ratio = vireo/qemu, lower is better "
          "for times)")
    print(f"{'':24}{'init':>10}{'exit':>10}{'cpu int':>10}{'cpu fp':>10}{'MIPS':>10}")
    for name, r in results.items():
        print(f"{name:24}{median(r['init']):10.2f}{median(r['exit']):10.2f}"
              f"{median(r['int']):10.2f}{median(r['fp']):10.2f}{median(r['mips']):10.1f}")
    for name, r in results.items():
        if r is q:
            continue
        ratio = lambda k: median(r[k]) / median(q[k])
        # CPU-bound speed ratio is the inverse of the time ratio.
        print(f"{name}: boot-to-init {ratio('init'):.2f}x qemu's time, exit {ratio('exit'):.2f}x, "
              f"cpu speed int {1 / ratio('int'):.2f}x qemu's, fp {1 / ratio('fp'):.2f}x")


if __name__ == "__main__":
    main()
