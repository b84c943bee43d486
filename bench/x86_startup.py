#!/usr/bin/env python3
"""x86-64 on KVM: VMM start-up cost and memory overhead, Vireo vs QEMU microvm.

Both boot the same tiny PVH guest whose first instruction writes port 0xf4
(isa-debug-exit), so the time from process start to exit is the VMM's own
start-up and tear-down. Reports, over N runs each (medians): wall time, and
peak RSS (the guest touches only a few pages, so this is the VMM's memory
overhead, an upper bound). Prints Vireo/QEMU ratios.

A third program gives KVM's own share: a few lines of C that make the same
KVM objects as both VMMs (VM, 128 MiB slot, in-kernel irqchip and PIT, one
vCPU), run a real-mode copy of the guest's first instruction and exit. On a
PVM host its time is bimodal, about 8 or about 24 ms: destroying a VM waits
for SRCU grace periods, quantised to the kernel's tick, and which one a run
gets depends on timing no VMM controls. So each line shows the quartiles as
well as the median.

Wall time is measured with this script as the direct parent. Peak RSS comes
from separate runs under GNU time: with GNU time as the parent, even the bare
KVM program's time moves from about 8 to about 24 ms on a PVM host, so timing
through it would measure the wrapper, not the VMM.

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


BARE_KVM = r"""
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fail(const char* what) { perror(what); return 2; }

int main(void) {
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) return fail("/dev/kvm");
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  if (vm < 0) return fail("KVM_CREATE_VM");
  if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0) return fail("KVM_SET_TSS_ADDR");
  size_t size = 128 << 20;
  unsigned char* mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return fail("mmap");
  struct kvm_userspace_memory_region slot = {0, 0, 0, size, (unsigned long)mem};
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0) return fail("KVM_SET_USER_MEMORY_REGION");
  if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) return fail("KVM_CREATE_IRQCHIP");
  struct kvm_pit_config pit;
  memset(&pit, 0, sizeof pit);
  if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0) return fail("KVM_CREATE_PIT2");
  int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  if (cpu < 0) return fail("KVM_CREATE_VCPU");
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run* run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
  if (run == MAP_FAILED) return fail("mmap kvm_run");
  static const unsigned char code[] = {0xb0, 0x00, 0xe6, 0xf4};  /* mov $0,%al; out %al,$0xf4 */
  memcpy(mem + 0x1000, code, sizeof code);
  struct kvm_sregs sregs;
  if (ioctl(cpu, KVM_GET_SREGS, &sregs) < 0) return fail("KVM_GET_SREGS");
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (ioctl(cpu, KVM_SET_SREGS, &sregs) < 0) return fail("KVM_SET_SREGS");
  struct kvm_regs regs;
  memset(&regs, 0, sizeof regs);
  regs.rip = 0x1000;
  regs.rflags = 2;
  if (ioctl(cpu, KVM_SET_REGS, &regs) < 0) return fail("KVM_SET_REGS");
  for (;;) {
    if (ioctl(cpu, KVM_RUN, 0) < 0) return fail("KVM_RUN");
    if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xf4) break;
    if (run->exit_reason != KVM_EXIT_IO) {
      fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
      return 2;
    }
  }
  close(cpu);
  close(vm);
  return 1;  /* as isa-debug-exit reports a write of 0 */
}
"""


def build_bare_kvm(tmp):
    src = os.path.join(tmp, "bare_kvm.c")
    with open(src, "w") as f:
        f.write(BARE_KVM)
    exe = os.path.join(tmp, "bare-kvm")
    subprocess.run(["gcc", "-O2", "-o", exe, src], check=True)
    return exe


def run_checked(argv, expect_status):
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    if proc.returncode != expect_status:
        err = proc.stderr.decode(errors="replace")
        sys.exit(f"{argv[0]} exited with {proc.returncode}, expected {expect_status}: "
                 f"{err.strip()}")


def wall_time(argv, expect_status):
    """Wall seconds of one run, this script being the direct parent."""
    start = time.perf_counter()
    run_checked(argv, expect_status)
    return time.perf_counter() - start


def peak_rss(argv, expect_status, rss_file):
    """Peak RSS (KiB) of one run, from GNU time (a small parent), not from this
    Python process's fork, whose pre-exec image would count in the child's
    maximum."""
    run_checked(["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file] + argv, expect_status)
    with open(rss_file) as f:
        return int(f.read().split()[-1])


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
    programs = dict(vmms)
    programs["bare KVM (C)"] = [build_bare_kvm(tmp)]
    walls = {name: [] for name in programs}
    rss = {name: [] for name in programs}
    rss_file = os.path.join(tmp, "rss")
    for argv in programs.values():  # warm the page cache
        wall_time(argv, 1)
    for i in range(args.runs):
        for name, argv in programs.items():  # interleaved, so drift hits all
            walls[name].append(wall_time(argv, 1))
    for i in range(max(3, args.runs // 4)):
        for name, argv in programs.items():
            rss[name].append(peak_rss(argv, 1, rss_file))
    print(f"medians over {args.runs} runs (tiny PVH guest exiting at its first instruction)")
    print(f"{'':16}{'start-to-exit':>16}{'quartiles':>18}{'peak RSS':>12}")
    wall = {name: statistics.median(w) for name, w in walls.items()}
    peak = {name: statistics.median(r) for name, r in rss.items()}
    for name in programs:
        q1, _, q3 = statistics.quantiles(walls[name], n=4)
        spread = f"{q1 * 1000:.1f}..{q3 * 1000:.1f} ms"
        print(f"{name:16}{wall[name] * 1000:13.1f} ms{spread:>18}{peak[name] / 1024:9.1f} MiB")
    v, q = "vireo", "qemu microvm"
    print(f"vireo/qemu: start-to-exit {wall[v] / wall[q]:.2f}x (target <= 0.25x); peak RSS "
          f"{peak[v] / peak[q]:.2f}x; vireo overhead {peak[v] / 1024:.1f} MiB (target <= 5 MiB)")
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
