#!/usr/bin/env python3
"""Boots the default guest with --console virtio and works through hvc0.

Usage: virtio_console.py VIREO
The guest console is virtio-console port 0, on the kernel command line that
vireo picks for the default guest (console=hvc0): the prompt
appears, commands typed on vireo's stdin reach the guest and their output comes
back, a burst of output larger than the device's buffers arrives intact, and
poweroff ends vireo with status 0.
"""
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402


def main():
    vireo = sys.argv[1]
    kernel, initrd = default_guest()
    if kernel is None:
        return 1
    # No --kernel/--cmdline: the default guest, whose command line follows --console.
    argv = [vireo, "run", "--memory", "256M", "--console", "virtio"]
    print("running:", " ".join(argv))
    g = Guest(argv, timeout=900)
    try:
        t0 = time.monotonic()
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        # Warnings and below off the console: on a loaded host the kernel may
        # report, say, a slow timer interrupt in the middle of the output this
        # test compares line by line. Errors (an interrupt nobody cared for)
        # still show.
        g.run("dmesg -n 4")
        out = g.run("cat /proc/cmdline")
        assert "console=hvc0" in out, f"kernel command line is {out!r}"
        out = g.run("cat /sys/class/tty/console/active")
        assert out.strip() == "hvc0", f"active consoles: {out!r}"
        out = g.run("cat /sys/bus/virtio/devices/*/device")
        assert "0x0003" in out, f"no virtio console (ID 3) on the virtio bus: {out!r}"
        out = g.run("tty")
        assert "/dev/hvc0" in out or "/dev/console" in out, f"the shell's tty is {out!r}"
        out = g.run("echo $((6*7))")
        assert out.strip() == "42", f"echo $((6*7)) gave {out!r}"

        # 200 KB of output: many transmit buffers, more than the host-side buffer.
        out = g.run("i=0; while [ $i -lt 2000 ]; do "
                    "echo line-$i-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ; "
                    "i=$((i+1)); done | md5sum", timeout=300)
        expect = hashlib.md5("".join(
            f"line-{i}-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
            for i in range(2000)).encode()).hexdigest()
        assert expect in out, f"md5 of generated lines {out!r}, expected {expect}"
        out = g.run("i=0; while [ $i -lt 2000 ]; do echo row-$i-0123456789abcdef0123456789abcdef; "
                    "i=$((i+1)); done", timeout=300)
        rows = [l for l in out.splitlines() if l.startswith("row-")]
        want = [f"row-{i}-0123456789abcdef0123456789abcdef" for i in range(2000)]
        assert rows == want, f"output burst: {len(rows)} rows, first difference at " \
            f"{next((i for i, (a, b) in enumerate(zip(rows, want)) if a != b), len(rows))}"

        # The host stops reading vireo's output for a while, with the guest printing
        # more than every buffer on the way holds: the guest's writer waits, the
        # guest itself (a background counter) keeps running, and nothing is lost.
        g.run("rm -f /tmp/cnt; (while true; do echo x >> /tmp/cnt; sleep 0.1; done) & "
              "echo $! > /tmp/counter.pid")
        since = len(g.output)
        g.send("seq 1 100000; echo seq-$((40+2))-done\n")
        time.sleep(6)
        g.expect(rb"seq-42-done\r?\n", timeout=300, since=since)
        text = g.output[since:].decode(errors="replace").replace("\r", "")
        nums = [l for l in text.splitlines() if l.isdigit()]
        want = [str(i) for i in range(1, 100001)]
        if nums != want:
            first = next((i for i, (a, b) in enumerate(zip(nums, want)) if a != b), len(nums))
            lines = text.splitlines()
            raise AssertionError(f"seq output through a stalled host: {len(nums)} lines, first "
                                 f"difference at {first}: {nums[first - 2:first + 2]!r}; "
                                 f"first lines {lines[:3]!r}; around: "
                                 f"{text[text.find(chr(10) + want[first - 1] + chr(10)) - 20:][:80]!r}")
        out = g.run("wc -l < /tmp/cnt; kill $(cat /tmp/counter.pid)")
        ticks = int(out.split()[0])
        assert ticks >= 20, f"the guest ran only {ticks} counter ticks while its output waited"

        # A long input line (hundreds of bytes in one burst) arrives intact.
        payload = "".join(f"{i:04d}" for i in range(200))  # busybox edits lines of up to 1024
        out = g.run(f"x={payload}; echo ${{#x}} $(echo $x | md5sum)")
        want = hashlib.md5((payload + "\n").encode()).hexdigest()
        assert out.split()[:2] == ["800", want], f"long input line: {out!r}"

        assert b"nobody cared" not in g.output, "the guest kernel disabled the console's interrupt"
        g.send("poweroff\n")
        code = g.wait_exit(timeout=120)
        assert code == 0, f"vireo exited with {code} after poweroff"
        stderr = g.proc.stderr.read().decode(errors="replace")
        assert "needs a reset" not in stderr, f"the device failed:\n{stderr}"
        print(f"ok: the guest console ran on virtio-console (hvc0), total "
              f"{time.monotonic() - t0:.1f}s")
        return 0
    except (GuestError, AssertionError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(g.output[-3000:].decode(errors="replace"), file=sys.stderr)
        return 1
    finally:
        g.kill()


if __name__ == "__main__":
    sys.exit(main())
