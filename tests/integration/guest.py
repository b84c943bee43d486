"""Drives a vireo guest over its serial console (stdin/stdout pipes)."""
import os
import re
import select
import subprocess
import sys
import time


class GuestError(AssertionError):
    pass


class Guest:
    def __init__(self, argv, timeout=600):
        self.argv = argv
        self.timeout = timeout
        self.output = b""
        self.start = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def _read_some(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        ready, _, _ = select.select([self.proc.stdout], [], [], min(remaining, 1.0))
        if ready:
            chunk = self.proc.stdout.read()
            if chunk:
                self.output += chunk
                return True
            if self.proc.poll() is not None:
                return False
        return self.proc.poll() is None or bool(ready)

    def expect(self, pattern, timeout=None, since=0):
        """Waits until `pattern` (bytes regex) appears in the output after offset `since`."""
        deadline = time.monotonic() + (timeout or self.timeout)
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.output, since)
            if m:
                return m
            if not self._read_some(deadline):
                if time.monotonic() >= deadline:
                    raise GuestError(f"timed out waiting for {pattern!r}\n--- output ---\n"
                                     f"{self.output[-4000:].decode(errors='replace')}")
                if self.proc.poll() is not None:
                    m = regex.search(self.output, since)
                    if m:
                        return m
                    raise GuestError(f"vireo exited ({self.proc.returncode}) before {pattern!r}"
                                     f"\n--- output ---\n{self.output[-4000:].decode(errors='replace')}"
                                     f"\n--- stderr ---\n{self.proc.stderr.read().decode(errors='replace')}")

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, command, timeout=120):
        """Runs a shell command and returns its output (between two unique markers)."""
        tag = f"M{int(time.monotonic() * 1000) % 1000000}"
        since = len(self.output)
        self.send(f"echo {tag}-B; {command}; echo {tag}-E\n")
        m = self.expect(rf"(?s){tag}-B\r?\n(.*?){tag}-E".encode(), timeout=timeout, since=since)
        return m.group(1).decode(errors="replace").replace("\r", "")

    def wait_exit(self, timeout=120):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise GuestError("vireo did not exit")
        self.output += self.proc.stdout.read() or b""
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def default_guest(arch="riscv64", kernel_name="Image", script="scripts/build-guest.sh"):
    """The cached guest fixture (kernel, initramfs) for `arch`, or (None, None)
    after saying which script builds it."""
    cache = os.environ.get("VIREO_CACHE") or os.path.expanduser("~/.cache/vireo")
    kernel = os.path.join(cache, arch, kernel_name)
    initrd = os.path.join(cache, arch, "initramfs.cpio.gz")
    for f in (kernel, initrd):
        if not os.path.exists(f):
            print(f"missing fixture {f}: run {script}", file=sys.stderr)
            return None, None
    return kernel, initrd
