#!/usr/bin/env python3
"""virtio-blk: Vireo vs QEMU TCG, same kernel, initramfs and raw image.

Inside the guest (busybox dd, O_DIRECT so the guest's page cache is out of the way):
  - sequential read MB/s:  dd if=/dev/vda of=/dev/null bs=1M iflag=direct
  - sequential write MB/s: dd if=/dev/zero of=/dev/vda bs=1M oflag=direct
  - 4 KiB read IOPS: dd bs=4096 iflag=direct, at queue depth 1 (one dd) and
    4 (four dd over disjoint quarters). busybox has no random-offset reader
    (no fio in the guest), so the offsets are sequential; with O_DIRECT each
    4 KiB read is still one virtio request round trip.
On the host, CPU seconds of the VMM process per GiB moved, from
/proc/PID/task/*/stat around each phase: all threads, and all threads but
the vCPU one (the device side: Vireo's I/O loop and io_uring workers,
QEMU's main loop and thread pool; QEMU TCG handles a virtio-mmio notify on
the vCPU thread, so part of its device cost is hidden there). Both VMMs use the host page cache (QEMU's default
cache=writeback; Vireo's buffered I/O), and the image is read once before
the runs so both start warm.

Usage: bench/blk.py [--vireo build/vireo] [--runs 3] [--size-mib 256]
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from guest import Guest  # noqa: E402

CACHE = os.environ.get("VIREO_CACHE") or os.path.expanduser("~/.cache/vireo")
KERNEL = os.path.join(CACHE, "riscv64", "Image")
INITRD = os.path.join(CACHE, "riscv64", "initramfs.cpio.gz")
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")
GiB = 1 << 30


def vireo_cmd(vireo, image):
    return [vireo, "run", "--kernel", KERNEL, "--initrd", INITRD, "--cmdline", "console=ttyS0",
            "--memory", "256M", "--disk", f"path={image}"]


def qemu_cmd(image):
    return ["qemu-system-riscv64", "-M", "virt", "-m", "256M", "-smp", "1", "-nographic",
            "-bios", OPENSBI, "-kernel", KERNEL, "-initrd", INITRD, "-append", "console=ttyS0",
            "-drive", f"file={image},format=raw,if=none,id=d",
            "-device", "virtio-blk-device,drive=d"]


def cpu_sample(pid):
    """(process CPU seconds, {tid: (name, CPU seconds)}). The process total
    keeps the time of threads that have exited (short-lived io_uring workers)."""
    def parse(path):
        with open(path) as f:
            stat = f.read()
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        return name, (int(fields[11]) + int(fields[12])) / CLK_TCK
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            threads[tid] = parse(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            continue
    return parse(f"/proc/{pid}/stat")[1], threads


def cpu_split(before, after):
    """(all threads, all but the vCPU thread) CPU seconds between two samples.
    QEMU names its vCPU thread "CPU 0/TCG"; Vireo's threads are unnamed, and
    its one vCPU thread is the busiest one (the guest runs dd on it)."""
    total = after[0] - before[0]
    deltas = {tid: (name, t - before[1].get(tid, (name, 0.0))[1])
              for tid, (name, t) in after[1].items()}
    named = [d for name, d in deltas.values() if "/TCG" in name]
    vcpu = sum(named) if named else max(d for _, d in deltas.values())
    return total, total - vcpu


def dd_rate(out):
    m = re.search(r"(\d+) bytes .* copied, ([0-9.]+) seconds", out)
    if not m:
        raise RuntimeError(f"no dd summary in {out!r}")
    return int(m.group(1)), float(m.group(2))


def one_run(argv, size_mib):
    g = Guest(argv, timeout=900)
    try:
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        pid = g.proc.pid
        res = {}
        phases = [
            ("read", f"dd if=/dev/vda of=/dev/null bs=1M count={size_mib} iflag=direct 2>&1",
             size_mib << 20),
            ("write", f"dd if=/dev/zero of=/dev/vda bs=1M count={size_mib} oflag=direct 2>&1",
             size_mib << 20),
            ("iops1", "dd if=/dev/vda of=/dev/null bs=4096 count=8192 iflag=direct 2>&1",
             8192 * 4096),
        ]
        for name, cmd, nbytes in phases:
            before = cpu_sample(pid)
            out = g.run(cmd, timeout=900)
            total, device = cpu_split(before, cpu_sample(pid))
            moved, secs = dd_rate(out)
            assert moved == nbytes, f"{name}: moved {moved}, expected {nbytes}"
            res[name] = (moved, secs, total, device)
        # Queue depth 4: four readers over disjoint quarters, timed by the guest.
        quarter = size_mib * 256 // 4
        cmd = ("read S _ < /proc/uptime; " + " ".join(
            f"dd if=/dev/vda of=/dev/null bs=4096 count=4096 skip={i * quarter} iflag=direct "
            f"2>/dev/null &" for i in range(4)) + " wait; read E _ < /proc/uptime; echo T=$S,$E")
        before = cpu_sample(pid)
        out = g.run(cmd, timeout=900)
        total, device = cpu_split(before, cpu_sample(pid))
        m = re.search(r"T=([0-9.]+),([0-9.]+)", out)  # guest uptime, 10 ms resolution
        res["iops4"] = (4 * 4096 * 4096, float(m.group(2)) - float(m.group(1)), total, device)
        g.send("poweroff\n")
        g.wait_exit(timeout=120)
        return res
    finally:
        g.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vireo", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "vireo"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=256)
    args = ap.parse_args()
    for f in (KERNEL, INITRD, OPENSBI):
        if not os.path.exists(f):
            sys.exit(f"missing {f}: run ./dev guest (and ./dev build)")

    tmp = tempfile.mkdtemp(prefix="vireo-bench-blk-")
    image = os.path.join(tmp, "bench.img")
    with open(image, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(args.size_mib):
            f.write(chunk)
    with open(image, "rb") as f:  # warm the host page cache for both
        while f.read(1 << 24):
            pass

    vmms = {"vireo": vireo_cmd(args.vireo, image), "qemu": qemu_cmd(image)}
    results = {name: [] for name in vmms}
    try:
        for run in range(args.runs):
            for name, argv in vmms.items():
                r = one_run(argv, args.size_mib)
                results[name].append(r)
                print(f"run {run + 1} {name:5}: " + ", ".join(
                    f"{k} {v[0] / v[1] / 1e6:.1f} MB/s" if not k.startswith("iops") else
                    f"{k} {v[0] / 4096 / v[1]:.0f} IOPS" for k, v in r.items()), flush=True)
    finally:
        os.unlink(image)
        os.rmdir(tmp)

    def med(name, phase, fn):
        return statistics.median(fn(r[phase]) for r in results[name])

    print(f"\nmedians over {args.runs} runs, {args.size_mib} MiB image "
          "(ratio = vireo/qemu; > 1 is better for rates, < 1 is better for CPU)")
    print(f"{'':24}{'vireo':>12}{'qemu':>12}{'ratio':>8}")
    rows = [
        ("seq read MB/s", "read", lambda v: v[0] / v[1] / 1e6),
        ("seq write MB/s", "write", lambda v: v[0] / v[1] / 1e6),
        ("4K read IOPS QD1", "iops1", lambda v: v[0] / 4096 / v[1]),
        ("4K read IOPS QD4", "iops4", lambda v: v[0] / 4096 / v[1]),
    ]
    for label, phase, fn in rows:
        a, b = med("vireo", phase, fn), med("qemu", phase, fn)
        print(f"{label:24}{a:12.1f}{b:12.1f}{a / b:8.2f}")
    print("host CPU s per GiB moved (all threads / without vCPU threads):")
    for label, phase in (("seq read", "read"), ("seq write", "write"), ("4K QD1", "iops1"),
                         ("4K QD4", "iops4")):
        cells = []
        for idx in (2, 3):
            a = med("vireo", phase, lambda v: v[idx] / (v[0] / GiB))
            b = med("qemu", phase, lambda v: v[idx] / (v[0] / GiB))
            cells.append(f"{a:7.2f} vs {b:7.2f} ({a / b if b else float('nan'):.2f}x)")
        print(f"  {label:10} all: {cells[0]}   device side: {cells[1]}")


if __name__ == "__main__":
    main()
