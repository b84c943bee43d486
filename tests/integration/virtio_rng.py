#!/usr/bin/env python3
"""Boots the default guest with --rng and reads the virtio entropy device.

Usage: virtio_rng.py VIREO
Linux's virtio-rng driver must bind to the virtio-mmio device from the device
tree and become the current hw_random source, /dev/hwrng must give random
bytes, and poweroff must end vireo with status 0.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402


def main():
    vireo = sys.argv[1]
    kernel, initrd = default_guest()
    if kernel is None:
        return 1
    argv = [vireo, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", "console=ttyS0",
            "--memory", "256M", "--rng"]
    print("running:", " ".join(argv))
    g = Guest(argv, timeout=900)
    try:
        t0 = time.monotonic()
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        out = g.run("cat /sys/bus/virtio/devices/*/device")
        assert "0x0004" in out, f"no virtio entropy device (ID 4) on the virtio bus: {out!r}"
        out = g.run("cat /sys/class/misc/hw_random/rng_current")
        assert out.strip().startswith("virtio_rng"), f"rng_current is {out!r}"

        dumps = []
        for _ in range(2):
            out = g.run("head -c 64 /dev/hwrng | od -An -tx1")
            data = bytes(int(b, 16) for b in re.findall(r"\b[0-9a-f]{2}\b", out))
            assert len(data) == 64, f"expected 64 bytes from /dev/hwrng, got {len(data)}: {out!r}"
            assert len(set(data)) > 8, f"64 bytes from /dev/hwrng look constant: {data.hex()}"
            dumps.append(data)
        assert dumps[0] != dumps[1], "two reads of /dev/hwrng returned the same bytes"

        g.send("poweroff\n")
        code = g.wait_exit(timeout=120)
        assert code == 0, f"vireo exited with {code} after poweroff"
        stderr = g.proc.stderr.read().decode(errors="replace")
        assert "needs a reset" not in stderr, f"the device failed:\n{stderr}"
        print(f"ok: virtio-rng served /dev/hwrng, total {time.monotonic() - t0:.1f}s")
        return 0
    except (GuestError, AssertionError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(g.output[-3000:].decode(errors="replace"), file=sys.stderr)
        return 1
    finally:
        g.kill()


if __name__ == "__main__":
    sys.exit(main())
