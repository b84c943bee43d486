#!/usr/bin/env python3
"""Bad user input gets one line naming the problem, exit status 2, no core dump.

Usage: bad_input.py VIREO
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time


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


def locked_disk_cases(vireo, tmp, disk):
    """A second vireo on an image the first holds read-write gets one line and exit 2."""
    cache = os.environ.get("VIREO_CACHE") or os.path.expanduser("~/.cache/vireo")
    if not os.path.exists(os.path.join(cache, "riscv64", "Image")):
        print("locked disk                  skipped: the default guest is not built")
        return 0
    first = subprocess.Popen([vireo, "run", "--serial", "null", "--disk", f"path={disk}"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    failures = 0
    try:
        time.sleep(2)  # the board (and its disks) is built well before the guest boots
        if first.poll() is not None:
            print(f"locked disk                  FAIL: the first vireo exited ({first.returncode})")
            return 1
        for name, spec in (("locked disk", f"path={disk}"),
                           ("locked disk, readonly", f"path={disk},readonly=on")):
            p = subprocess.run([vireo, "run", "--serial", "null", "--disk", spec],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            err = p.stderr.decode(errors="replace")
            lines = [l for l in err.splitlines() if l.strip()]
            ok = p.returncode == 2 and len(lines) == 1 and "locked" in err
            print(f"{name:28} {'ok' if ok else f'FAIL: exit {p.returncode}'}\n    {err.strip()}")
            failures += not ok
    finally:
        first.kill()
        first.wait()
    return failures


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
    x86_elf = os.path.join(tmp, "vmlinux-x86")
    with open(x86_elf, "wb") as f:  # an ELF64 header for x86-64: enough to pick the arch
        f.write(b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HH", 2, 62) + b"\0" * 44)
    unreadable = os.path.join(tmp, "secret")
    fake_image(unreadable, 4096)
    os.chmod(unreadable, 0)

    # A port some other program holds, for the hostfwd case.
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = busy.getsockname()[1]
    live = os.path.join(tmp, "live.sock")
    live_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live_listener.bind(live)
    live_listener.listen(1)
    vsock_ok = os.path.join(tmp, "v.sock")

    run = [vireo, "run", "--serial", "null"]
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    tiny = os.path.join(tmp, "tiny.img")
    with open(tiny, "wb") as f:
        f.write(b"x" * 100)
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
        ("bad jit", run + ["--kernel", image, "--jit", "fast"], "use on or off"),
        ("jitdump missing directory",
         run + ["--kernel", image, "--jitdump", os.path.join(tmp, "nodir")], "--jitdump"),
        ("jitdump without jit", run + ["--kernel", image, "--jitdump", tmp, "--jit", "off"],
         "drop --jit off"),
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
        ("x86 kernel without KVM", run + ["--kernel", x86_elf], "KVM",
         {"VIREO_KVM_DEVICE": os.path.join(tmp, "no-kvm")}),
        ("x86 kernel with --firmware", run + ["--kernel", x86_elf, "--firmware", text], "--firmware"),
        ("--debug-exit on riscv64", run + ["--kernel", image, "--debug-exit"], "--debug-exit"),
        ("missing disk", run + ["--kernel", image, "--disk", "path=" + os.path.join(tmp, "no.img")],
         "does not exist"),
        ("disk is a directory", run + ["--kernel", image, "--disk", "path=" + tmp], "directory"),
        ("disk is a device", run + ["--kernel", image, "--disk", "path=/dev/null"],
         "not a regular file"),
        ("disk under a sector", run + ["--kernel", image, "--disk", "path=" + tiny], "512-byte"),
        ("disk without path", run + ["--kernel", image, "--disk", "readonly=on"], "path="),
        ("disk readonly=maybe", run + ["--kernel", image, "--disk", f"path={disk},readonly=maybe"],
         "use on or off"),
        ("disk serial too long",
         run + ["--kernel", image, "--disk", f"path={disk},serial=" + "s" * 21], "at most 20"),
        ("disk unknown key", run + ["--kernel", image, "--disk", f"path={disk},cache=none"],
         "unknown option 'cache'"),
        ("net bad backend", run + ["--kernel", image, "--net", "bridge"], "--net user"),
        ("net bad hostfwd", run + ["--kernel", image, "--net", "user,hostfwd=tcp:8022:22"],
         "hostfwd=tcp::8022-:22"),
        ("net hostfwd port", run + ["--kernel", image, "--net", "user,hostfwd=tcp::99999-:22"],
         "host port"),
        ("net bad mac", run + ["--kernel", image, "--net", "user,mac=52:54:00:zz:00:01"],
         "mac=52:54:00:12:34:56"),
        ("net multicast mac", run + ["--kernel", image, "--net", "user,mac=01:00:5e:00:00:01"],
         "multicast"),
        ("net unknown setting", run + ["--kernel", image, "--net", "user,speed=fast"],
         "unknown setting"),
        ("net hostfwd on tap", run + ["--kernel", image, "--net", "tap=tap0,hostfwd=tcp::1-:2"],
         "user networking only"),
        ("net hostfwd port in use", run + ["--kernel", image, "--net",
                                           f"user,hostfwd=tcp::{busy_port}-:22"], "HOSTPORT"),
    ]
    if not os.path.exists("/dev/net/tun"):
        cases.append(("tap without /dev/net/tun", run + ["--kernel", image, "--net", "tap=vireo0"],
                      "/dev/net/tun"))
    elif os.getuid() != 0:
        cases.append(("tap without CAP_NET_ADMIN", run + ["--kernel", image, "--net",
                                                           "tap=vireo0"], "CAP_NET_ADMIN"))
    elif shutil.which("setpriv"):
        # Root without CAP_NET_ADMIN (dropped from the bounding set).
        cases.append(("tap without CAP_NET_ADMIN",
                      ["setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin"] +
                      run + ["--kernel", image, "--net", "tap=vireo0"], "CAP_NET_ADMIN"))
    if os.getuid() != 0:
        cases.append(("unreadable kernel", run + ["--kernel", unreadable], "not readable"))
        cases.append(("unwritable disk", run + ["--kernel", image, "--disk", "path=" + unreadable],
                      "permissions"))
    failures = 0
    for name, argv, needle, *extra_env in cases:
        env = dict(os.environ, **(extra_env[0] if extra_env else {}))
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=env)
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
    failures += locked_disk_cases(vireo, tmp, disk)
    print(f"{len(cases) + 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
