#!/usr/bin/env bash
# Installs the Debian packages Vireo needs to build, test and prepare guests.
# Idempotent: does nothing (fast) when everything is installed. Run as root.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # fuzzing: clang 16 with libc++ 16 (has <expected>) and its libFuzzer runtime
  clang-16 libclang-rt-16-dev libc++-16-dev libc++abi-16-dev
  libfdt-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  liburing-dev libslirp-dev libseccomp-dev libxbyak-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libunicorn-dev device-tree-compiler
  gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf
  qemu-system-misc qemu-system-x86 opensbi hyperfine time e2fsprogs python3 acpica-tools
  # guest fixture: kernel and busybox cross-builds
  gcc-riscv64-linux-gnu libc6-dev-riscv64-cross linux-source-6.1 bc bison flex libssl-dev libelf-dev cpio xz-utils
  dpkg-dev rsync kmod
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run this as root (sudo ./dev ...)" >&2
  exit 2
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
