// One KVM vCPU: its CPUID, its entry state for each boot protocol, and the
// run loop that turns exits into Bus accesses. run() returns a small neutral
// reason when the vCPU stops; MMIO and port I/O never leave this file.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/bus.hpp"
#include "core/error.hpp"
#include "core/guest_memory.hpp"
#include "cpu/kvm/vm.hpp"

struct kvm_run;

namespace vireo::kvm {

enum class VcpuExit {
  kHalt,           // HLT with interrupts that will never come (no in-kernel LAPIC wakeup)
  kShutdown,       // triple fault
  kPoweroff,       // KVM_SYSTEM_EVENT_SHUTDOWN (e.g. PSCI-like, not used on x86 yet)
  kReset,          // KVM_SYSTEM_EVENT_RESET
  kInterrupted,    // kick() or a signal: look at the VM's state and call run() again
  kInternalError,  // KVM could not emulate something; details in the log
  kFailEntry,      // the hardware refused the state
};
const char* vcpu_exit_name(VcpuExit e);

// The general-purpose registers and flags a boot protocol sets.
struct EntryRegs {
  uint64_t rip = 0;
  uint64_t rax = 0, rbx = 0, rsi = 0, rsp = 0;
};

// Where the boot code tables go in guest RAM (below 1 MiB, as the boards keep
// that area free of kernel and firmware).
inline constexpr uint64_t kBootGdtAddr = 0x500;
inline constexpr uint64_t kBootPml4Addr = 0x9000;  // PML4, PDPT and 4 PDs: 0x9000..0xefff

// Writes the flat GDT (null, 64-bit code 0x08, data 0x10, 32-bit code 0x18)
// and identity page tables for the first 4 GiB (2 MiB pages) into RAM.
Result<void> write_boot_tables(const GuestMemory& memory);

class Vcpu {
 public:
  static Result<std::unique_ptr<Vcpu>> create(Vm& vm, uint32_t index, uint32_t count,
                                              const Bus& mmio, const Bus& pio);
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  uint32_t index() const { return index_; }

  // Long mode with paging (the Linux 64-bit boot protocol): CS=0x08 64-bit,
  // CR3 = kBootPml4Addr. Needs write_boot_tables().
  Result<void> enter_long_mode(const EntryRegs& regs);
  // 32-bit protected mode, paging off (PVH, Multiboot): CS=0x18.
  Result<void> enter_protected_mode(const EntryRegs& regs);

  // vCPUs other than 0 start waiting for INIT/SIPI from the guest (the
  // in-kernel LAPIC implements it): this makes one runnable at once instead.
  Result<void> make_runnable();

  // Runs until an exit that needs the VM's attention.
  Result<VcpuExit> run();
  // Makes a running (or the next) run() return kInterrupted soon. Any thread.
  void kick();

  // For tests and debugging.
  Result<EntryRegs> regs() const;

 private:
  Vcpu(Vm& vm, uint32_t index, int fd, kvm_run* run, size_t run_size, const Bus& mmio,
       const Bus& pio)
      : vm_(vm), index_(index), fd_(fd), run_(run), run_size_(run_size), mmio_(mmio), pio_(pio) {}
  Result<void> set_cpuid(uint32_t count);
  Result<void> set_boot_msrs();
  Result<void> enter_flat(const EntryRegs& regs, bool long_mode);
  void handle_io();
  void handle_mmio();
  void log_internal_error() const;

  Vm& vm_;
  uint32_t index_;
  int fd_;
  kvm_run* run_;
  size_t run_size_;
  const Bus& mmio_;
  const Bus& pio_;
  std::atomic<pthread_t> thread_{};  // the thread inside run(), for kick()
};

}  // namespace vireo::kvm
