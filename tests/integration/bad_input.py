#!/usr/bin/env python3
"""Bad user input gets one line naming the problem, exit status 2, no core dump.

Usage: bad_input.py VIREO
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile


def fake_image(path, size, image_size=0):
    """A file with a valid RISC-V Image header (text_offset 2 MiB)."""
    # code0, code1, text_offset, image_size, flags, version, res1, res2,
    # magic "RISCV\0\0\0", magic2 "RSC\x05", res3
    header = struct.pack("<IIQQQIIQQ", 0, 0, 0x200000, image_size, 0, 2, 0, 0,
                         0x5643534952) + b"RSC\x05" + b"\0" * 4
    assert len(header) == 64
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(size)


def main():
    vireo = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="vireo-bad-")
    image = os.path.join(tmp, "Image")
    fake_image(image, 4096)
    big = os.path.join(tmp, "BigImage")
    fake_image(big, 4096, image_size=64 << 20)
    text = os.path.join(tmp, "notes.txt")
    with open(text, "w") as f:
        f.write("this is not a kernel\n" * 10)
    unreadable = os.path.join(tmp, "secret")
    fake_image(unreadable, 4096)
    os.chmod(unreadable, 0)

    live = os.path.join(tmp, "live.sock")
    live_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live_listener.bind(live)
    live_listener.listen(1)
    vsock_ok = os.path.join(tmp, "v.sock")

    run = [vireo, "run", "--serial", "null"]
    cases = [
        ("missing kernel", run + ["--kernel", os.path.join(tmp, "nope")], "does not exist"),
        ("text file as kernel", run + ["--kernel", text], "not a kernel"),
        ("memory 0", run + ["--kernel", image, "--memory", "0"], "--memory"),
        ("memory 1P", run + ["--kernel", image, "--memory", "1P"], "--memory"),
        ("memory abc", run + ["--kernel", image, "--memory", "abc"], "--memory"),
        ("cpus 0", run + ["--kernel", image, "--cpus", "0"], "--cpus"),
        ("cpus 1000", run + ["--kernel", image, "--cpus", "1000"], "--cpus"),
        ("cpus abc", run + ["--kernel", image, "--cpus", "abc"], "--cpus"),
        ("missing firmware", run + ["--kernel", image, "--firmware", os.path.join(tmp, "fw.bin")],
         "firmware"),
        ("kernel larger than RAM", run + ["--kernel", big, "--memory", "16M"], "--memory"),
        ("missing initrd", run + ["--kernel", image, "--initrd", os.path.join(tmp, "nope.cpio")],
         "initrd"),
        ("bad serial", [vireo, "run", "--kernel", image, "--serial", "tcp:1234"], "stdio, null or file=PATH"),
        ("bad console", run + ["--kernel", image, "--console", "hvc"], "use uart or virtio"),
        ("vsock cid 2", run + ["--kernel", image, "--vsock", f"cid=2,socket={vsock_ok}"],
         "cid=N,socket=PATH"),
        ("vsock cid abc", run + ["--kernel", image, "--vsock", f"cid=abc,socket={vsock_ok}"],
         "cid=N,socket=PATH"),
        ("vsock without socket", run + ["--kernel", image, "--vsock", "cid=3"], "no socket"),
        ("vsock missing directory",
         run + ["--kernel", image, "--vsock", f"cid=3,socket={tmp}/nodir/v.sock"],
         "does not exist"),
        ("vsock socket in use", run + ["--kernel", image, "--vsock", f"cid=3,socket={live}"],
         "in use"),
        ("vsock path not a socket", run + ["--kernel", image, "--vsock", f"cid=3,socket={text}"],
         "not a socket"),
        ("bad arch", run + ["--kernel", image, "--arch", "mips"], "--arch"),
        ("unknown option", [vireo, "run", "--frobnicate"], "frobnicate"),
    ]
    if os.getuid() != 0:
        cases.append(("unreadable kernel", run + ["--kernel", unreadable], "not readable"))
    failures = 0
    for name, argv, needle in cases:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        err = p.stderr.decode(errors="replace")
        lines = [l for l in err.splitlines() if l.strip()]
        problems = []
        if p.returncode != 2:
            problems.append(f"exit status {p.returncode}, expected 2")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines on stderr, expected 1")
        if needle not in err:
            problems.append(f"message does not mention {needle!r}")
        if "Traceback" in err or "terminate called" in err or "core dumped" in err:
            problems.append("crash output")
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print(f"{name:28} {status}\n    {err.strip()}")
        failures += bool(problems)
    print(f"{len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
