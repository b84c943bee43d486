#!/usr/bin/env python3
"""Boots Debian's stock x86-64 kernel on the KVM engine (1 and 2 vCPUs): the
shell over the serial console, nproc, a virtio-blk write/read checked against
the image on the host, and poweroff -> exit status 0.

Runs only where KVM is hardware-backed: on PVM-backed or absent KVM it exits
77 (ctest: skipped) and prints why. The fixture comes from
scripts/build-guest-x86.sh (Debian's linux-image-amd64 and busybox-static).

Usage: boot_x86_linux.py VIREO
"""
import hashlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402

SKIP = 77


def kvm_backing():
    if not os.path.exists("/dev/kvm"):
        return None, "no /dev/kvm on this host"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return None, "no permission to open /dev/kvm"
    if os.path.exists("/sys/module/kvm_pvm"):
        return None, ("KVM here is backed by PVM (no vmx/svm): a stock kernel runs through the "
                      "host's instruction emulator and cannot boot in useful time")
    with open("/proc/cpuinfo") as f:
        flags = next((l for l in f if l.startswith("flags")), "").split()
    if "vmx" not in flags and "svm" not in flags:
        return None, "the CPU shows no vmx/svm: KVM is not hardware-backed here"
    return "hardware", ""


def boot(vireo, kernel, initrd, cpus, tmp):
    image = os.path.join(tmp, f"disk{cpus}.img")
    with open(image, "wb") as f:
        f.truncate(16 << 20)
    argv = [vireo, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline",
            "console=ttyS0 panic=-1", "--cpus", str(cpus), "--memory", "512M",
            "--disk", f"path={image}"]
    print("running:", " ".join(argv))
    g = Guest(argv, timeout=300)
    try:
        t0 = time.monotonic()
        g.expect(rb"VIREO-INIT-OK")
        t_init = time.monotonic() - t0
        g.expect(rb"# ")
        out = g.run("nproc")
        assert out.strip() == str(cpus), f"nproc said {out!r}, expected {cpus}"
        out = g.run("dd if=/dev/urandom of=/dev/vda bs=4096 count=64 2>/dev/null && sync && "
                    "dd if=/dev/vda bs=4096 count=64 2>/dev/null | sha256sum")
        guest_sum = out.split()[0]
        g.send("poweroff\n")
        code = g.wait_exit(timeout=120)
        assert code == 0, f"vireo exited with {code} after poweroff"
        with open(image, "rb") as f:
            host_sum = hashlib.sha256(f.read(64 * 4096)).hexdigest()
        assert guest_sum == host_sum, f"guest read {guest_sum}, the image holds {host_sum}"
        print(f"ok: {cpus} vCPUs, init marker after {t_init:.1f}s")
        return True
    except (GuestError, AssertionError, IndexError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(g.output[-3000:].decode(errors="replace"), file=sys.stderr)
        return False
    finally:
        g.kill()


def main():
    vireo = sys.argv[1]
    backing, why = kvm_backing()
    if backing is None:
        print(f"skipped: {why}")
        return SKIP
    kernel, initrd = default_guest("x86_64", "vmlinuz", "scripts/build-guest-x86.sh")
    if kernel is None:
        return 1
    tmp = tempfile.mkdtemp(prefix="vireo-x86-")
    ok = all(boot(vireo, kernel, initrd, cpus, tmp) for cpus in (1, 2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
