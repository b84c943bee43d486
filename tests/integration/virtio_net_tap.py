#!/usr/bin/env python3
"""Boots the default guest with --net tap=NAME and moves data host<->guest.

Usage: virtio_net_tap.py VIREO
Needs /dev/net/tun and CAP_NET_ADMIN (to create the tap with `ip tuntap`);
without them the test is skipped (exit status 77) and says why. The test
creates a tap interface with 192.168.231.1/24 on the host side, the guest
takes 192.168.231.2; the guest pings the host, fetches a random file from an
HTTP server on 192.168.231.1 (host->guest, with the offloads the guest
accepted: checksum and TSO), and sends one back with nc (guest->host);
checksums equal. The tap is deleted at the end.
"""
import functools
import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402

SKIP = 77
HOST_IP, GUEST_IP = "192.168.231.1", "192.168.231.2"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def has_cap_net_admin():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 12))
    return False


def ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True)


def main():
    vireo = sys.argv[1]
    if not os.path.exists("/dev/net/tun"):
        print("SKIP: /dev/net/tun does not exist on this host (modprobe tun)")
        return SKIP
    if not has_cap_net_admin():
        print("SKIP: no CAP_NET_ADMIN to create a tap interface (run as root)")
        return SKIP
    if shutil.which("ip") is None:
        print("SKIP: the ip command (iproute2) is not installed")
        return SKIP
    kernel, initrd = default_guest()
    if kernel is None:
        return 1

    tap = f"vireot{os.getpid() % 100000}"
    r = ip("tuntap", "add", tap, "mode", "tap")
    if r.returncode != 0:
        print(f"SKIP: cannot create a tap interface: {r.stderr.strip()}")
        return SKIP
    httpd = None
    g = None
    try:
        for args in (("addr", "add", f"{HOST_IP}/24", "dev", tap), ("link", "set", tap, "up")):
            r = ip(*args)
            assert r.returncode == 0, f"ip {' '.join(args)}: {r.stderr}"

        root = tempfile.mkdtemp(prefix="vireo-tap-")
        payload = os.urandom(1024 * 1024 + 77)
        with open(os.path.join(root, "file.bin"), "wb") as f:
            f.write(payload)
        httpd = http.server.ThreadingHTTPServer(
            (HOST_IP, 0), functools.partial(QuietHandler, directory=root))
        http_port = httpd.server_address[1]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()

        sink = socket.socket()
        sink.bind((HOST_IP, 0))
        sink.listen(1)
        sink_port = sink.getsockname()[1]
        received = {}

        def receive(expected):
            conn, _ = sink.accept()
            data = b""
            while len(data) < expected:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
            conn.close()
            received["data"] = data

        argv = [vireo, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline",
                "console=ttyS0", "--memory", "256M", "--net", f"tap={tap}"]
        print("running:", " ".join(argv))
        g = Guest(argv, timeout=900)
        t0 = time.monotonic()
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        g.run(f"ip addr add {GUEST_IP}/24 dev eth0; ip link set eth0 up")
        # The negotiated features (one character per bit): the offloads were taken.
        out = g.run("cat /sys/class/net/eth0/device/features")
        bits = re.search(r"[01]{32,}", out)
        assert bits, f"no feature bits: {out!r}"
        for bit, name in ((0, "CSUM"), (1, "GUEST_CSUM"), (7, "GUEST_TSO4"), (11, "HOST_TSO4"),
                          (15, "MRG_RXBUF")):
            assert bits.group(0)[bit] == "1", f"{name} not negotiated: {bits.group(0)}"
        out = g.run(f"ping -c 3 -W 5 {HOST_IP}", timeout=60)
        assert "3 packets received" in out, f"ping to the host: {out!r}"

        t1 = time.monotonic()
        out = g.run(f"wget -q -O - http://{HOST_IP}:{http_port}/file.bin | sha256sum", timeout=600)
        seconds = time.monotonic() - t1
        assert hashlib.sha256(payload).hexdigest() in out, f"host->guest checksum: {out!r}"
        print(f"host->guest: {len(payload)} bytes in {seconds:.2f}s")

        size = 768 * 1024
        out = g.run(f"dd if=/dev/urandom of=/tmp/up bs=1024 count={size // 1024} 2>/dev/null; "
                    "sha256sum /tmp/up")
        m = re.search(r"\b([0-9a-f]{64})\s+/tmp/up", out)
        assert m, f"no checksum from the guest: {out!r}"
        want = m.group(1)
        th = threading.Thread(target=receive, args=(size,), daemon=True)
        th.start()
        t1 = time.monotonic()
        g.run(f"nc {HOST_IP} {sink_port} < /tmp/up", timeout=600)
        th.join(60)
        seconds = time.monotonic() - t1
        data = received.get("data", b"")
        assert len(data) == size, f"guest->host: {len(data)} bytes of {size}"
        got_sum = hashlib.sha256(data).hexdigest()
        assert got_sum == want, f"guest->host checksum {got_sum}, the guest says {out!r}"
        print(f"guest->host: {size} bytes in {seconds:.2f}s")

        out = g.run("cat /sys/class/net/eth0/statistics/rx_errors "
                    "/sys/class/net/eth0/statistics/tx_errors")
        assert out.split() == ["0", "0"], f"eth0 errors: {out!r}"
        g.send("poweroff\n")
        code = g.wait_exit(timeout=120)
        assert code == 0, f"vireo exited with {code} after poweroff"
        stderr = g.proc.stderr.read().decode(errors="replace")
        assert "needs a reset" not in stderr, f"the device failed:\n{stderr}"
        print(f"ok: tap {tap}: ping, wget host->guest, nc guest->host; total "
              f"{time.monotonic() - t0:.1f}s")
        return 0
    except (GuestError, AssertionError, OSError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        if g is not None:
            print(g.output[-3000:].decode(errors="replace"), file=sys.stderr)
        return 1
    finally:
        if g is not None:
            g.kill()
        if httpd is not None:
            httpd.shutdown()
        ip("link", "del", tap)


if __name__ == "__main__":
    sys.exit(main())
