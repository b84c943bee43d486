#!/usr/bin/env python3
"""Boots the default guest with virtio-blk disks and checks what Linux does with them.

Usage: virtio_blk.py VIREO CASE
CASE is one of:
  pattern     the guest writes a pseudo-random pattern with dd, syncs, reads it
              back (page cache dropped) and compares checksums; the host image
              holds the same bytes
  readonly    two disks (vda read-write, vdb readonly=on): the guest sees vdb
              read-only, writes to it fail, the file is unchanged; serials
  ext2        mke2fs in the guest, mount, copy files, umount, poweroff; the
              host's e2fsck -fn finds it clean and debugfs reads the files back
  durability  after the guest's sync returns, kill -9 vireo; the image holds
              the data
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from guest import Guest, GuestError, default_guest  # noqa: E402

MiB = 1 << 20


def sha(data):
    return hashlib.sha256(data).hexdigest()


def guest_sha(out):
    m = re.search(r"\b([0-9a-f]{64})\b", out)
    assert m, f"no sha256 in {out!r}"
    return m.group(1)


def boot(vireo, disks, extra=()):
    kernel, initrd = default_guest()
    if kernel is None:
        raise GuestError("the default guest is not built")
    argv = [vireo, "run", "--kernel", kernel, "--initrd", initrd, "--cmdline", "console=ttyS0",
            "--memory", "256M", *extra]
    for d in disks:
        argv += ["--disk", d]
    print("running:", " ".join(argv))
    g = Guest(argv, timeout=900)
    g.expect(rb"VIREO-INIT-OK")
    g.expect(rb"# ")
    return g


def poweroff(g):
    g.send("poweroff\n")
    code = g.wait_exit(timeout=120)
    assert code == 0, f"vireo exited with {code} after poweroff"
    stderr = g.proc.stderr.read().decode(errors="replace")
    assert "needs a reset" not in stderr, f"a device failed:\n{stderr}"


def write_pattern(g, blocks, seek):
    """Writes `blocks` 64 KiB blocks of random data at 64 KiB block `seek`; returns its sha256."""
    g.run(f"dd if=/dev/urandom of=/tmp/pat bs=65536 count={blocks} 2>/dev/null")
    want = guest_sha(g.run("sha256sum /tmp/pat"))
    out = g.run(f"dd if=/tmp/pat of=/dev/vda bs=65536 seek={seek} 2>&1; echo rc=$?", timeout=300)
    assert "rc=0" in out, f"dd to /dev/vda failed: {out!r}"
    out = g.run("sync; echo rc=$?", timeout=300)
    assert "rc=0" in out, f"sync failed: {out!r}"
    return want


def case_pattern(vireo, tmp):
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(64 * MiB)
    g = boot(vireo, [f"path={img}"])
    try:
        assert g.run("cat /sys/block/vda/size").strip() == str(64 * MiB // 512)
        assert g.run("cat /sys/block/vda/ro").strip() == "0"
        blocks, seek = 64, 100  # 4 MiB at 6.25 MiB
        want = write_pattern(g, blocks, seek)
        g.run("echo 3 > /proc/sys/vm/drop_caches")
        got = guest_sha(g.run(f"dd if=/dev/vda bs=65536 skip={seek} count={blocks} 2>/dev/null"
                              " | sha256sum", timeout=300))
        assert got == want, f"read back {got}, wrote {want}"
        # Many requests in flight: parallel readers over the whole pattern.
        out = g.run(" ".join(f"(dd if=/dev/vda bs=4096 skip={seek * 16 + i * 256} count=256 "
                             f"iflag=direct 2>/dev/null | sha256sum > /tmp/r{i}) &"
                             for i in range(8)) + " wait; cat /tmp/r*", timeout=300)
        poweroff(g)
        with open(img, "rb") as f:
            f.seek(seek * 65536)
            data = f.read(blocks * 65536)
        assert sha(data) == want, "the host image does not hold what the guest wrote"
        parts = [sha(data[i * MiB:(i + 1) * MiB]) for i in range(4)]
        for i in range(4):
            assert parts[i] in out, f"parallel reader {i} read wrong data: {out!r}"
        with open(img, "rb") as f:
            assert f.read(seek * 65536) == bytes(seek * 65536), "bytes before the pattern changed"
        print("ok: pattern written by the guest is on the host, read back intact")
    finally:
        g.kill()


def case_readonly(vireo, tmp):
    rw = os.path.join(tmp, "rw.img")
    ro = os.path.join(tmp, "ro.img")
    with open(rw, "wb") as f:
        f.truncate(8 * MiB)
    content = os.urandom(4 * MiB)
    with open(ro, "wb") as f:
        f.write(content)
    os.chmod(ro, 0o444)  # readonly=on opens O_RDONLY: a read-only file is enough
    before = os.stat(ro)
    g = boot(vireo, [f"path={rw},serial=rw-disk-1", f"path={ro},readonly=on"])
    try:
        assert g.run("cat /sys/block/vda/ro").strip() == "0"
        assert g.run("cat /sys/block/vdb/ro").strip() == "1", "vdb is not read-only"
        assert g.run("cat /sys/block/vda/serial").strip() == "rw-disk-1"
        serial = g.run("cat /sys/block/vdb/serial").strip()
        assert re.fullmatch(r"vireo-[0-9a-f]{14}", serial), f"default serial {serial!r}"
        got = guest_sha(g.run("dd if=/dev/vdb bs=65536 2>/dev/null | sha256sum", timeout=300))
        assert got == sha(content), "vdb does not read back the image"
        out = g.run("dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct 2>&1; echo rc=$?")
        assert "rc=0" not in out, f"a write to the read-only disk succeeded: {out!r}"
        out = g.run("sync; echo 3 > /proc/sys/vm/drop_caches; "
                    "dd if=/dev/vdb bs=65536 2>/dev/null | sha256sum", timeout=300)
        assert guest_sha(out) == sha(content)
        poweroff(g)
        with open(ro, "rb") as f:
            assert f.read() == content, "the read-only image changed"
        assert os.stat(ro).st_mtime_ns == before.st_mtime_ns, "the read-only image was written"
        print("ok: readonly=on disk refuses writes, file unchanged; serials as given")
    finally:
        g.kill()


def case_ext2(vireo, tmp):
    img = os.path.join(tmp, "fs.img")
    with open(img, "wb") as f:
        f.truncate(64 * MiB)
    g = boot(vireo, [f"path={img}"])
    try:
        out = g.run("mke2fs -q -F /dev/vda 2>&1; echo rc=$?", timeout=300)
        assert "rc=0" in out, f"mke2fs failed: {out!r}"
        out = g.run("mkdir -p /mnt && mount -t ext2 /dev/vda /mnt 2>&1; echo rc=$?")
        assert "rc=0" in out, f"mount failed: {out!r}"
        g.run("dd if=/dev/urandom of=/mnt/random.bin bs=65536 count=48 2>/dev/null; "
              "cp /bin/busybox /mnt/busybox; mkdir /mnt/dir; echo hello vireo > /mnt/dir/hello.txt")
        sums = g.run("cd /mnt && sha256sum random.bin busybox dir/hello.txt; cd /", timeout=300)
        out = g.run("umount /mnt 2>&1; echo rc=$?", timeout=300)
        assert "rc=0" in out, f"umount failed: {out!r}"
        poweroff(g)
        p = subprocess.run(["e2fsck", "-fn", img], capture_output=True, text=True)
        assert p.returncode == 0, f"e2fsck -fn: {p.returncode}\n{p.stdout}{p.stderr}"
        for name in ("random.bin", "busybox", "dir/hello.txt"):
            m = re.search(rf"([0-9a-f]{{64}})\s+{re.escape(name)}", sums)
            assert m, f"no guest checksum for {name}: {sums!r}"
            data = subprocess.run(["debugfs", "-R", f"cat /{name}", img],
                                  capture_output=True).stdout
            assert sha(data) == m.group(1), f"debugfs reads {name} differently"
        print("ok: ext2 made in the guest is clean for e2fsck, files intact via debugfs")
    finally:
        g.kill()


def case_durability(vireo, tmp):
    img = os.path.join(tmp, "dur.img")
    with open(img, "wb") as f:
        f.truncate(32 * MiB)
    g = boot(vireo, [f"path={img}"])
    try:
        want = write_pattern(g, 32, 16)  # 2 MiB at 1 MiB
        # sync has returned: the VMM dies without any chance to flush.
        os.kill(g.proc.pid, signal.SIGKILL)
        g.proc.wait()
        with open(img, "rb") as f:
            f.seek(16 * 65536)
            data = f.read(32 * 65536)
        assert sha(data) == want, "data the guest synced is not in the image after kill -9"
        print("ok: synced data survives kill -9 of the VMM")
    finally:
        g.kill()


CASES = {"pattern": case_pattern, "readonly": case_readonly, "ext2": case_ext2,
         "durability": case_durability}


def main():
    vireo, case = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix=f"vireo-blk-{case}-")
    t0 = time.monotonic()
    try:
        CASES[case](vireo, tmp)
        print(f"total {time.monotonic() - t0:.1f}s")
        return 0
    except (GuestError, AssertionError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
