// A virtual machine's lifecycle: owns the I/O event loop and its thread, the
// console and the board; runs the guest until it stops and reports how.
#pragma once

#include "core/error.hpp"
#include "machines/riscv_virt.hpp"
#include "machines/x86_microvm.hpp"
#include "vmm/console.hpp"

namespace vireo {

enum class Arch { kRiscv64, kX86_64 };

struct VmConfig {
  Arch arch = Arch::kRiscv64;
  // The board settings. The fields both boards share (CPUs, memory, kernel,
  // initrd, command line, virtio devices) are set here for either; an x86_64
  // VM takes them from here and its own options from `x86`.
  RiscvVirtConfig board;
  X86MicrovmConfig x86;
  SerialConfig serial;
  // The guest console's device: the UART (ttyS0), or virtio-console port 0
  // (hvc0), which then gets the host console's input.
  enum class ConsoleDevice { kUart, kVirtio } console_device = ConsoleDevice::kUart;
};

// Boots the guest and blocks until it ends. Returns the exit status for the
// process, or an error for a configuration problem found before the guest ran.
Result<ExitStatus> run_vm(const VmConfig& config);

}  // namespace vireo
