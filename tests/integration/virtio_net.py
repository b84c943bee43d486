#!/usr/bin/env python3
"""Boots the default guest with --net user and uses the network from both ends.

Usage: virtio_net.py VIREO
The guest's eth0 (virtio-net) gets 10.0.2.15 from slirp's DHCP server with
busybox udhcpc, fetches a random file from an HTTP server this test runs on
the host's 127.0.0.1 (reached as 10.0.2.2) with wget, checksum equal; then a
host client reaches a server in the guest through hostfwd and data crosses
both ways. poweroff must end vireo with status 0.
"""
import functools
import hashlib
import http.server
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def exchange(port, data, deadline):
    """Sends `data` to 127.0.0.1:port, half-closes and returns what comes back.
    slirp accepts a forwarded connection before the guest does, so a guest
    server that is not listening yet shows up as a reset or an empty reply:
    retried until `deadline`."""
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return got
                    got += chunk
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def main():
    vireo = sys.argv[1]
    kernel, initrd = default_guest()
    if kernel is None:
        return 1

    root = tempfile.mkdtemp(prefix="vireo-net-")
    payload = os.urandom(384 * 1024 + 123)
    with open(os.path.join(root, "file.bin"), "wb") as f:
        f.write(payload)
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=root))
    http_port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    fwd_port = free_port()
    argv = [vireo, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", "console=ttyS0",
            "--memory", "256M", "--net", f"user,hostfwd=tcp::{fwd_port}-:7000"]
    print("running:", " ".join(argv))
    g = Guest(argv, timeout=900)
    try:
        t0 = time.monotonic()
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        out = g.run("cat /sys/bus/virtio/devices/*/device")
        assert "0x0001" in out, f"no virtio network device (ID 1) on the virtio bus: {out!r}"
        out = g.run("cat /sys/class/net/eth0/address")
        assert out.strip() == "52:54:00:12:34:56", f"eth0's MAC is {out!r}"

        out = g.run("udhcpc -i eth0 -n -q -t 5", timeout=180)
        assert "lease of 10.0.2.15 obtained from 10.0.2.2" in out, f"no DHCP lease: {out!r}"
        out = g.run("ip -4 addr show eth0; cat /sys/class/net/eth0/operstate")
        assert "inet 10.0.2.15/24" in out, f"eth0 has no 10.0.2.15/24: {out!r}"
        assert "up" in out.split()[-1], f"eth0 is not up: {out!r}"

        # Guest -> host: wget from the host's 127.0.0.1 through 10.0.2.2.
        t1 = time.monotonic()
        out = g.run(f"wget -q -O - http://10.0.2.2:{http_port}/file.bin | sha256sum", timeout=600)
        seconds = time.monotonic() - t1
        want = hashlib.sha256(payload).hexdigest()
        assert want in out, f"checksum of the fetched file: {out!r}, expected {want}"
        print(f"wget: {len(payload)} bytes in {seconds:.2f}s "
              f"({len(payload) / seconds / 1e6:.2f} MB/s)")

        # Host -> guest through hostfwd: the guest echoes what it reads back
        # (busybox nc -e cat), then the host sends a second stream one way.
        g.send("nc -l -p 7000 -e cat &\n")
        deadline = time.monotonic() + 60
        message = os.urandom(48 * 1024)
        got = b""
        while not got and time.monotonic() < deadline:
            got = exchange(fwd_port, message, deadline)
        assert got == message, f"hostfwd echo returned {len(got)} bytes, sent {len(message)}"

        # stdin from /dev/null: nc sends nothing and exits at the host's EOF.
        g.run("nc -l -p 7000 < /dev/null > /tmp/recv & sleep 1")
        blob = os.urandom(200 * 1024)
        with socket.create_connection(("127.0.0.1", fwd_port), timeout=60) as s:
            s.sendall(blob)
        out = g.run("wait; sha256sum /tmp/recv", timeout=120)
        assert hashlib.sha256(blob).hexdigest() in out, f"hostfwd upload: {out!r}"

        out = g.run("cat /sys/class/net/eth0/statistics/rx_errors "
                    "/sys/class/net/eth0/statistics/tx_errors")
        assert out.split() == ["0", "0"], f"eth0 errors: {out!r}"

        g.send("poweroff\n")
        code = g.wait_exit(timeout=120)
        assert code == 0, f"vireo exited with {code} after poweroff"
        stderr = g.proc.stderr.read().decode(errors="replace")
        assert "needs a reset" not in stderr, f"the device failed:\n{stderr}"
        print(f"ok: DHCP, wget through 10.0.2.2, hostfwd both ways; total "
              f"{time.monotonic() - t0:.1f}s")
        return 0
    except (GuestError, AssertionError, OSError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(g.output[-3000:].decode(errors="replace"), file=sys.stderr)
        return 1
    finally:
        g.kill()
        httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main())
