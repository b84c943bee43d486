#!/usr/bin/env python3
"""virtio-blk: Vireo vs QEMU TCG, same kernel, initramfs and raw image.

Inside the guest, fio 3.33 (Debian's source package, static; built into the
cache by scripts/build-guest.sh) on /dev/vda, always with O_DIRECT
(--direct=1) so the guest's page cache is out of the way, psync engine:
  - sequential read MB/s:  --rw=read  --bs=1M
  - sequential write MB/s: --rw=write --bs=1M (of zeros: --zero_buffers)
  - 4 KiB random-read IOPS: --rw=randread --bs=4k, uniform random offsets
    (--norandommap), at queue depth 1 (one job: one pread in flight) and 4
    (--numjobs=4: four threads, up to four requests in flight). The guest
    kernel has no io_uring and there is no libaio, so parallel jobs are how
    the queue depth is raised.
Each phase runs for --runtime seconds over the whole image (wrapping
around). The sequential phases use fio too (they used busybox dd, one pass
over the image): one tool and one parser for every phase, fio's own timing,
and phases long enough for the host CPU accounting below (clock ticks of 10
ms) to mean something.
fio is not in the default initramfs (it would slow every test boot): the
benchmark appends a small cpio holding /bin/fio to it, and boots both VMMs
with that initrd.
On the host, CPU seconds of the VMM process per GiB moved, from
/proc/PID/task/*/stat around each phase: all threads, and all threads but
the vCPU one (the device side: Vireo's I/O loop and io_uring workers,
QEMU's main loop and thread pool; QEMU TCG handles a virtio-mmio notify on
the vCPU thread, so part of its device cost is hidden there). Both VMMs use the host page cache (QEMU's default
cache=writeback; Vireo's buffered I/O), and the image is read once before
the runs so both start warm.

Usage: bench/blk.py [--vireo build/vireo] [--runs 3] [--size-mib 256] [--runtime 5]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from guest import Guest  # noqa: E402

CACHE = os.environ.get("VIREO_CACHE") or os.path.expanduser("~/.cache/vireo")
KERNEL = os.path.join(CACHE, "riscv64", "Image")
INITRD = os.path.join(CACHE, "riscv64", "initramfs.cpio.gz")
FIO = os.path.join(CACHE, "riscv64", "fio")
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")
GiB = 1 << 30


def vireo_cmd(vireo, initrd, image):
    return [vireo, "run", "--kernel", KERNEL, "--initrd", initrd, "--cmdline", "console=ttyS0",
            "--memory", "256M", "--disk", f"path={image}"]


def qemu_cmd(initrd, image):
    return ["qemu-system-riscv64", "-M", "virt", "-m", "256M", "-smp", "1", "-nographic",
            "-bios", OPENSBI, "-kernel", KERNEL, "-initrd", initrd, "-append", "console=ttyS0",
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
    its one vCPU thread is the busiest one (the guest runs fio on it)."""
    total = after[0] - before[0]
    deltas = {tid: (name, t - before[1].get(tid, (name, 0.0))[1])
              for tid, (name, t) in after[1].items()}
    named = [d for name, d in deltas.values() if "/TCG" in name]
    vcpu = sum(named) if named else max(d for _, d in deltas.values())
    return total, total - vcpu


def compose_initrd(tmp):
    """The default initramfs followed by a newc cpio holding /bin/fio. The
    kernel unpacks concatenated archives in order; an uncompressed one must
    start at a 4-byte aligned offset, hence the zero padding."""
    stage = os.path.join(tmp, "fio-root")
    os.makedirs(os.path.join(stage, "bin"))
    shutil.copy(FIO, os.path.join(stage, "bin", "fio"))
    path = os.path.join(tmp, "initrd")
    with open(path, "wb") as out:
        with open(INITRD, "rb") as f:
            shutil.copyfileobj(f, out)
        out.write(b"\0" * (-out.tell() % 4))
        out.flush()
        subprocess.run(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], input=b"bin/fio\n",
                       cwd=stage, stdout=out, check=True)
    shutil.rmtree(stage)
    return path


FIO_CMD = "fio --name=blk --filename=/dev/vda --direct=1 --ioengine=psync --output-format=json"


def fio_result(out, ddir):
    """(bytes moved, seconds) of the `ddir` ("read"/"write") side of fio's
    JSON report; with --group_reporting, jobs[0] sums all jobs."""
    m = re.search(r"^\{", out, re.M)
    if not m:
        raise RuntimeError(f"no fio JSON report in {out!r}")
    job = json.JSONDecoder().raw_decode(out[m.start():])[0]["jobs"][0]
    if job["error"]:
        raise RuntimeError(f"fio error {job['error']}: {out!r}")
    return job[ddir]["io_bytes"], job[ddir]["runtime"] / 1000


def one_run(argv, runtime):
    g = Guest(argv, timeout=900)
    try:
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        g.run("dmesg -n 1")  # no kernel messages on the console in the middle of a report
        pid = g.proc.pid
        res = {}
        rand = "--rw=randread --bs=4k --norandommap"
        phases = [
            ("read", "read", "--rw=read --bs=1M"),
            ("write", "write", "--rw=write --bs=1M --zero_buffers"),
            ("iops1", "read", rand),
            ("iops4", "read", f"{rand} --numjobs=4 --group_reporting"),
        ]
        for name, ddir, opts in phases:
            before = cpu_sample(pid)
            out = g.run(f"{FIO_CMD} --time_based --runtime={runtime} {opts} 2>&1",
                        timeout=runtime + 600)
            total, device = cpu_split(before, cpu_sample(pid))
            res[name] = (*fio_result(out, ddir), total, device)
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
    ap.add_argument("--runtime", type=int, default=5, help="seconds per fio phase")
    args = ap.parse_args()
    for f in (KERNEL, INITRD, OPENSBI):
        if not os.path.exists(f):
            sys.exit(f"missing {f}: run ./dev guest (and ./dev build)")
    if not os.path.exists(FIO):
        sys.exit(f"missing the guest's fio ({FIO}): run scripts/build-guest.sh")
    if not shutil.which("cpio"):
        sys.exit("missing cpio (to add fio to the initrd): run scripts/setup.sh")

    tmp = tempfile.mkdtemp(prefix="vireo-bench-blk-")
    try:
        initrd = compose_initrd(tmp)
        image = os.path.join(tmp, "bench.img")
        with open(image, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(args.size_mib):
                f.write(chunk)
        with open(image, "rb") as f:  # warm the host page cache for both
            while f.read(1 << 24):
                pass

        vmms = {"vireo": vireo_cmd(args.vireo, initrd, image), "qemu": qemu_cmd(initrd, image)}
        results = {name: [] for name in vmms}
        for run in range(args.runs):
            for name, argv in vmms.items():
                r = one_run(argv, args.runtime)
                results[name].append(r)
                print(f"run {run + 1} {name:5}: " + ", ".join(
                    f"{k} {v[0] / v[1] / 1e6:.1f} MB/s" if not k.startswith("iops") else
                    f"{k} {v[0] / 4096 / v[1]:.0f} IOPS" for k, v in r.items()), flush=True)
    finally:
        shutil.rmtree(tmp)

    def med(name, phase, fn):
        return statistics.median(fn(r[phase]) for r in results[name])

    print(f"\nmedians over {args.runs} runs, {args.size_mib} MiB image, {args.runtime} s per "
          "phase (ratio = vireo/qemu; > 1 is better for rates, < 1 is better for CPU)")
    print(f"{'':24}{'vireo':>12}{'qemu':>12}{'ratio':>8}")
    rows = [
        ("seq read MB/s", "read", lambda v: v[0] / v[1] / 1e6),
        ("seq write MB/s", "write", lambda v: v[0] / v[1] / 1e6),
        ("4K randread IOPS QD1", "iops1", lambda v: v[0] / 4096 / v[1]),
        ("4K randread IOPS QD4", "iops4", lambda v: v[0] / 4096 / v[1]),
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
            cells.append(f"{a:7.2f} vs {b:7.2f} ({a / b if b > 0 else float('nan'):.2f}x)")
        print(f"  {label:10} all: {cells[0]}   device side: {cells[1]}")


if __name__ == "__main__":
    main()
