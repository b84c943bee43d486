#!/usr/bin/env python3
"""The serial console on a real terminal: raw mode, Ctrl-A escapes, and the
terminal restored on exit (Ctrl-A x) and on SIGTERM.

Usage: console_pty.py VIREO [virtio]
With "virtio", the guest console is virtio-console (--console virtio,
console=hvc0) instead of the UART.
"""
import os
import pty
import select
import signal
import sys
import termios
import time

CACHE = os.environ.get("VIREO_CACHE") or os.path.expanduser("~/.cache/vireo")
KERNEL = os.path.join(CACHE, "riscv64", "Image")
INITRD = os.path.join(CACHE, "riscv64", "initramfs.cpio.gz")


CONSOLE_ARGS = ["--cmdline", "console=ttyS0"]


def spawn(vireo):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(vireo, [vireo, "run", "--kernel", KERNEL, "--initrd", INITRD,
                         "--memory", "256M"] + CONSOLE_ARGS)
    return pid, fd


def expect(fd, needle, buf, timeout=300):
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timeout waiting for {needle!r}; got {buf[-500:]!r}")
        r, _, _ = select.select([fd], [], [], min(left, 1))
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                raise AssertionError(f"pty closed before {needle!r}; got {buf[-500:]!r}")
    return buf


def wait_exit(pid, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("vireo did not exit")


def cooked(fd):
    lflag = termios.tcgetattr(fd)[3]
    return bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)


def main():
    global CONSOLE_ARGS
    vireo = sys.argv[1]
    if sys.argv[2:] == ["virtio"]:
        CONSOLE_ARGS = ["--console", "virtio", "--cmdline", "console=hvc0"]
    for f in (KERNEL, INITRD):
        if not os.path.exists(f):
            print(f"missing fixture {f}: run scripts/build-guest.sh", file=sys.stderr)
            return 1

    # 1. Raw mode, Ctrl-A Ctrl-A reaches the guest, Ctrl-A x quits with status 0.
    pid, fd = spawn(vireo)
    buf = expect(fd, b"VIREO-INIT-OK", b"")
    buf = expect(fd, b"# ", buf)
    assert not cooked(fd), "terminal not in raw mode while the guest runs"
    # busybox line editing: Ctrl-A moves to the start of the line.
    os.write(fd, b"cho ctrl-a-$((40+2))")
    time.sleep(0.5)
    os.write(fd, b"\x01\x01e\r")
    buf = expect(fd, b"ctrl-a-42\r", buf)
    os.write(fd, b"\x01x")
    status = wait_exit(pid)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"Ctrl-A x: status {status}"
    assert cooked(fd), "terminal not restored after Ctrl-A x"
    os.close(fd)
    print("ok: raw mode, Ctrl-A Ctrl-A, Ctrl-A x, terminal restored")

    # 2. SIGTERM: the terminal is restored too.
    pid, fd = spawn(vireo)
    buf = expect(fd, b"# ", b"")
    os.kill(pid, signal.SIGTERM)
    status = wait_exit(pid)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, f"status {status}"
    assert cooked(fd), "terminal not restored after SIGTERM"
    os.close(fd)
    print("ok: SIGTERM restores the terminal")
    print("2 passed, 0 failed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
