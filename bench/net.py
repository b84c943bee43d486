#!/usr/bin/env python3
"""Guest<->host TCP throughput over user networking: Vireo vs QEMU.

Both VMMs boot the default guest (same kernel and initramfs) with a
virtio-net device on user networking (Vireo: --net user; QEMU: -netdev user
with virtio-net-device), the guest takes 10.0.2.15 by DHCP, then:
  guest->host: dd if=/dev/zero bs=64k count=N | nc 10.0.2.2 PORT into a host
               sink on 127.0.0.1 (timed on the host from accept to the last byte);
  host->guest: nc 10.0.2.2 PORT | dd of=/dev/null bs=64k from a host source
               on 127.0.0.1 (timed from accept to the guest's nc exiting at
               EOF; dd's byte count is checked).
Each direction runs --runs times per VMM, each time in a fresh VM; medians
are printed with Vireo/QEMU ratios (> 1 means Vireo is faster) and the VMM
process's host CPU seconds per GiB moved (utime + stime from /proc/PID/stat,
all threads; and without its busiest thread, which is the vCPU: roughly the
device and network stack's own cost).

Usage: bench/net.py [--vireo build/vireo] [--runs 3] [--mib 32]
"""
import argparse
import os
import re
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from guest import Guest  # noqa: E402

CACHE = os.environ.get("VIREO_CACHE") or os.path.expanduser("~/.cache/vireo")
KERNEL = os.path.join(CACHE, "riscv64", "Image")
INITRD = os.path.join(CACHE, "riscv64", "initramfs.cpio.gz")
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
TICK = os.sysconf("SC_CLK_TCK")


def vireo_cmd(vireo):
    return [vireo, "run", "--kernel", KERNEL, "--initrd", INITRD, "--cmdline", "console=ttyS0",
            "--memory", "256M", "--net", "user"]


def qemu_cmd():
    return ["qemu-system-riscv64", "-M", "virt", "-m", "256M", "-smp", "1", "-nographic",
            "-bios", OPENSBI, "-kernel", KERNEL, "-initrd", INITRD, "-append", "console=ttyS0",
            "-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"]


def thread_cpu(pid):
    """CPU seconds (utime + stime) of each thread of `pid`."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / TICK)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def cpu_snapshot(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / TICK
    return total, thread_cpu(pid)


def guest_to_host(g, nbytes):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    result = {}

    def sink():
        conn, _ = srv.accept()
        t0 = time.monotonic()
        got = 0
        while got < nbytes:
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            got += len(chunk)
        result["seconds"] = time.monotonic() - t0
        result["bytes"] = got
        conn.close()

    th = threading.Thread(target=sink, daemon=True)
    th.start()
    g.run(f"dd if=/dev/zero bs=65536 count={nbytes // 65536} 2>/dev/null | nc 10.0.2.2 {port}",
          timeout=1800)
    th.join(60)
    srv.close()
    if result.get("bytes") != nbytes:
        raise RuntimeError(f"guest->host moved {result.get('bytes')} of {nbytes} bytes")
    return result["seconds"]


def host_to_guest(g, nbytes):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    started = {}

    def source():
        conn, _ = srv.accept()
        started["t0"] = time.monotonic()
        block = b"\0" * (1 << 20)
        left = nbytes
        while left > 0:
            n = min(left, len(block))
            conn.sendall(block[:n])
            left -= n
        conn.close()

    th = threading.Thread(target=source, daemon=True)
    th.start()
    # stdin from /dev/null: busybox nc exits at the network EOF only once stdin
    # is done. dd counts the bytes: busybox `wc -c` reads a byte at a time, and
    # at ~45 guest instructions per byte it, not the network, set the pace.
    out = g.run(f"nc 10.0.2.2 {port} < /dev/null | dd of=/dev/null bs=65536 2>&1",
                timeout=1800)
    end = time.monotonic()
    th.join(60)
    srv.close()
    m = re.search(r"^(\d+) bytes .*copied", out, re.M)
    if not m or int(m.group(1)) != nbytes:
        raise RuntimeError(f"host->guest: the guest counted {out!r}, expected {nbytes}")
    return end - started["t0"]


def one_run(argv, nbytes):
    """Boots, takes a DHCP lease, measures both directions; returns
    {direction: (MB/s, cpu s/GiB total, cpu s/GiB without the busiest thread)}."""
    g = Guest(argv, timeout=900)
    try:
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        out = g.run("udhcpc -i eth0 -n -q -t 10", timeout=300)
        if "10.0.2.15" not in out:
            raise RuntimeError(f"no DHCP lease: {out!r}")
        results = {}
        for name, fn in (("guest->host", guest_to_host), ("host->guest", host_to_guest)):
            total0, threads0 = cpu_snapshot(g.proc.pid)
            seconds = fn(g, nbytes)
            total1, threads1 = cpu_snapshot(g.proc.pid)
            gib = nbytes / (1 << 30)
            cpu = total1 - total0
            # Per-thread deltas (threads keep their order in /proc between snapshots
            # unless one starts or ends; then the per-thread figure is skipped).
            rest = float("nan")
            if len(threads0) == len(threads1):
                deltas = sorted(b - a for a, b in zip(threads0, threads1))
                rest = sum(deltas[:-1])
            results[name] = (nbytes / seconds / 1e6, cpu / gib, rest / gib)
        return results
    finally:
        g.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vireo", default=os.path.join(HERE, "..", "build", "vireo"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mib", type=int, default=32, help="MiB moved per direction per run")
    args = ap.parse_args()
    for f in (KERNEL, INITRD, OPENSBI):
        if not os.path.exists(f):
            sys.exit(f"missing {f}: run ./dev guest (and ./dev build)")
    nbytes = args.mib << 20
    contenders = {"vireo": vireo_cmd(args.vireo), "qemu": qemu_cmd()}
    samples = {c: {} for c in contenders}
    for i in range(args.runs):
        for name, argv in contenders.items():
            for direction, values in one_run(argv, nbytes).items():
                samples[name].setdefault(direction, []).append(values)
            print(f"run {i + 1}/{args.runs} {name}: " + ", ".join(
                f"{d} {v[-1][0]:.2f} MB/s" for d, v in samples[name].items()), file=sys.stderr)

    def med(name, direction, k):
        return statistics.median(v[k] for v in samples[name][direction])

    print(f"\nvirtio-net, user networking, {args.mib} MiB per direction, medians of {args.runs} "
          "runs")
    print(f"{'':8}{'direction':14}{'MB/s':>10}{'CPU s/GiB':>12}{'w/o vCPU':>12}")
    for name in contenders:
        for direction in samples[name]:
            print(f"{name:8}{direction:14}{med(name, direction, 0):10.2f}"
                  f"{med(name, direction, 1):12.2f}{med(name, direction, 2):12.2f}")
    for direction in samples["vireo"]:
        speed = med("vireo", direction, 0) / med("qemu", direction, 0)
        cpu = med("vireo", direction, 1) / med("qemu", direction, 1)
        rest = med("vireo", direction, 2) / med("qemu", direction, 2)
        print(f"{direction}: vireo throughput {speed:.2f}x qemu's; host CPU per GiB {cpu:.2f}x "
              f"qemu's (without the vCPU thread {rest:.2f}x)")


if __name__ == "__main__":
    main()
