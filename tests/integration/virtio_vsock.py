#!/usr/bin/env python3
"""Boots the default guest with --vsock and moves data both ways over AF_VSOCK.

Usage: virtio_vsock.py VIREO
Host -> guest: the guest listens on vsock port 5000 (vsockcat -l); a host
client connects to the Unix socket, sends "CONNECT 5000", gets "OK <port>",
and both sides send a few hundred KB (more than the credit either side gives)
and compare checksums. Guest -> host: the host listens on SOCKET_6000 and the
guest connects to CID 2 port 6000 the same way. A guest connection to a port
nobody serves is refused. The socket file is gone after poweroff.
"""
import hashlib
import os
import random
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402

SIZE = 300_000


def exchange(sock, payload, result):
    """Sends `payload` then shuts down writing, while receiving until EOF."""
    def sender():
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            result["send_error"] = repr(e)
    t = threading.Thread(target=sender)
    t.start()
    chunks = []
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                break
            chunks.append(b)
    except OSError as e:
        result["recv_error"] = repr(e)
    t.join()
    result["received"] = b"".join(chunks)


def guest_md5(g, path):
    out = g.run(f"md5sum {path}")
    m = re.search(r"\b([0-9a-f]{32})\b", out)
    assert m, f"md5sum {path}: {out!r}"
    return m.group(1)


def main():
    vireo = sys.argv[1]
    kernel, initrd = default_guest()
    if kernel is None:
        return 1
    tmp = tempfile.mkdtemp(prefix="vireo-vsock-")
    path = os.path.join(tmp, "v.sock")
    argv = [vireo, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", "console=ttyS0",
            "--memory", "256M", "--vsock", f"cid=3,socket={path}"]
    print("running:", " ".join(argv))
    g = Guest(argv, timeout=900)
    rnd = random.Random(1234)
    try:
        t0 = time.monotonic()
        g.expect(rb"VIREO-INIT-OK")
        g.expect(rb"# ")
        assert os.path.exists(path), f"vireo does not listen on {path}"
        out = g.run("cat /sys/bus/virtio/devices/*/device")
        assert "0x0013" in out, f"no virtio vsock device (ID 19) on the virtio bus: {out!r}"
        g.run(f"head -c {SIZE} /dev/urandom > /tmp/out; head -c {SIZE} /dev/urandom > /tmp/out2")
        out_md5, out2_md5 = guest_md5(g, "/tmp/out"), guest_md5(g, "/tmp/out2")

        # ---- host -> guest
        g.run("(vsockcat -l 5000 < /tmp/out > /tmp/in; echo listener-done $?) & true")
        host_data = rnd.randbytes(SIZE)
        sock = None
        for _ in range(50):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(120)
            s.connect(path)
            s.sendall(b"CONNECT 5000\n")
            line = b""
            while not line.endswith(b"\n"):
                b = s.recv(1)
                if not b:
                    break
                line += b
            if re.fullmatch(rb"OK \d+\n", line):
                sock = s
                break
            s.close()  # refused: the listener is not up yet
            time.sleep(0.2)
        assert sock is not None, "CONNECT 5000 never got OK"
        result = {}
        exchange(sock, host_data, result)
        sock.close()
        assert "send_error" not in result and "recv_error" not in result, result
        got = hashlib.md5(result["received"]).hexdigest()
        assert len(result["received"]) == SIZE and got == out_md5, \
            f"host got {len(result['received'])} bytes md5 {got}, guest sent md5 {out_md5}"
        g.expect(rb"listener-done 0", timeout=60)
        in_md5 = guest_md5(g, "/tmp/in")
        assert in_md5 == hashlib.md5(host_data).hexdigest(), "guest received different bytes"
        print(f"ok: host->guest connection, {SIZE} bytes each way")

        # ---- guest -> host
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path + "_6000")
        listener.listen(1)
        listener.settimeout(120)
        host_data2 = rnd.randbytes(SIZE)
        result2 = {}

        def serve():
            try:
                conn, _ = listener.accept()
            except OSError as e:
                result2["accept_error"] = repr(e)
                return
            conn.settimeout(120)
            exchange(conn, host_data2, result2)
            conn.close()
        server = threading.Thread(target=serve)
        server.start()
        out = g.run("vsockcat 2 6000 < /tmp/out2 > /tmp/in2; echo status=$?", timeout=300)
        server.join(timeout=120)
        assert "status=0" in out, f"guest vsockcat 2 6000: {out!r}"
        assert not [k for k in result2 if k.endswith("error")], result2
        got = hashlib.md5(result2["received"]).hexdigest()
        assert len(result2["received"]) == SIZE and got == out2_md5, \
            f"host got {len(result2['received'])} bytes md5 {got}, guest sent md5 {out2_md5}"
        assert guest_md5(g, "/tmp/in2") == hashlib.md5(host_data2).hexdigest(), \
            "guest received different bytes"
        listener.close()
        print(f"ok: guest->host connection, {SIZE} bytes each way")

        # ---- refused, both ways
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(path)
        s.sendall(b"CONNECT 5999\n")
        reply = s.recv(100)
        s.close()
        assert reply == b"", f"CONNECT to a port nobody listens on got {reply!r}, not a close"
        print("ok: host connection to an unserved guest port closed")
        out = g.run("vsockcat 2 6001 < /dev/null; echo status=$?", timeout=60)
        assert "status=0" not in out, f"a connection to an unserved port succeeded: {out!r}"
        print("ok: guest connection to an unserved host port refused")

        g.send("poweroff\n")
        code = g.wait_exit(timeout=120)
        assert code == 0, f"vireo exited with {code} after poweroff"
        stderr = g.proc.stderr.read().decode(errors="replace")
        assert "needs a reset" not in stderr, f"the device failed:\n{stderr}"
        assert not os.path.exists(path), f"{path} is still there after exit"
        print(f"ok: virtio-vsock, total {time.monotonic() - t0:.1f}s")
        return 0
    except (GuestError, AssertionError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        print(g.output[-3000:].decode(errors="replace"), file=sys.stderr)
        return 1
    finally:
        g.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
