#!/usr/bin/env bash
# Every benchmark against its QEMU peer, one after the other (./dev bench).
# Arguments go to the CPU/boot benchmark (run.py), e.g. --runs 5.
set -euo pipefail
here=$(dirname "$0")
echo "== RISC-V engine: boot and CPU (bench/run.py)"
python3 "$here/run.py" "$@"
echo "== virtio-blk (bench/blk.py)"
python3 "$here/blk.py"
echo "== virtio-net over user networking (bench/net.py)"
python3 "$here/net.py"
if [ -w /dev/kvm ]; then
  echo "== x86-64 on KVM: start-up and memory (bench/x86_startup.py)"
  python3 "$here/x86_startup.py"
else
  echo "== x86-64 on KVM: skipped, /dev/kvm is not usable here"
fi
