#!/usr/bin/env python3
"""Boots the default guest (kernel + busybox initramfs) and checks the shell.

Usage: boot_default_guest.py VIREO CPUS FIRMWARE [VIREO-ARG...]   (FIRMWARE: none | PATH)
"""
import datetime
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402


def main():
    vireo, cpus, firmware, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    kernel, initrd = default_guest()
    if kernel is None:
        return 1
    argv = [vireo, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", "console=ttyS0",
            "--cpus", str(cpus), "--memory", "256M", "--firmware", firmware] + extra
    print("running:", " ".join(argv))
    g = Guest(argv, timeout=900)
    try:
        t0 = time.monotonic()
        g.expect(rb"VIREO-INIT-OK")
        t_init = time.monotonic() - t0
        g.expect(rb"# ")
        # Kernel messages off the console: on a loaded host the kernel may
        # report, say, a slow timer interrupt in the middle of a command's output.
        g.run("dmesg -n 1")
        out = g.run("nproc")
        assert out.strip() == str(cpus), f"nproc said {out!r}, expected {cpus}"
        out = g.run("echo $((6*7))")
        assert out.strip() == "42", f"arithmetic said {out!r}"
        # Enough work for hot code to be translated (with the JIT): busybox's
        # seq and md5sum must agree with the host.
        out = g.run("seq 1 30000 | md5sum", timeout=300)
        want = hashlib.md5("".join(f"{i}\n" for i in range(1, 30001)).encode()).hexdigest()
        assert out.split()[:1] == [want], f"md5sum said {out!r}, expected {want}"
        out = g.run("date +%Y")
        year = str(datetime.datetime.now(datetime.timezone.utc).year)
        assert out.strip() == year, f"guest year {out!r}, host year {year}"
        out = g.run("grep isa /proc/cpuinfo")
        lines = [l for l in out.splitlines() if l.startswith("isa")]
        assert len(lines) == cpus and all("rv64imafdc" in l for l in lines), f"cpuinfo: {out!r}"
        g.send("poweroff\n")
        code = g.wait_exit(timeout=120)
        assert code == 0, f"vireo exited with {code} after poweroff"
        print(f"ok: init marker after {t_init:.1f}s, total {time.monotonic() - t0:.1f}s")
        return 0
    except (GuestError, AssertionError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(g.output[-3000:].decode(errors="replace"), file=sys.stderr)
        return 1
    finally:
        g.kill()


if __name__ == "__main__":
    sys.exit(main())
