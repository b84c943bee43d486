// One KVM virtual machine: its memory slots (from GuestMemory), the in-kernel
// interrupt controllers (LAPIC/IOAPIC/PIC) and PIT, and the eventfd plumbing
// that lets devices be notified (ioeventfd) and interrupt (irqfd) without a
// trip through a vCPU thread. As an IrqSink it drives IOAPIC/PIC inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "cpu/kvm/kvm.hpp"

namespace vireo::kvm {

// x86 addresses KVM needs for real-mode emulation support, just below 4 GiB
// (where the board keeps no RAM): three pages of TSS and the identity-map page.
inline constexpr uint64_t kTssAddr = 0xfffbd000;
inline constexpr uint64_t kIdentityMapAddr = 0xfffbc000;

class Vm : public IrqSink {
 public:
  // Creates the VM, registers every RAM region of `memory` as a memory slot,
  // and creates the in-kernel irqchip and PIT.
  static Result<std::unique_ptr<Vm>> create(const Kvm& kvm, const GuestMemory& memory);
  ~Vm() override;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  int fd() const { return fd_; }
  const Kvm& kvm() const { return kvm_; }

  // Level of IOAPIC/PIC input `line` (KVM_IRQ_LINE). Any thread.
  void set_irq_level(uint32_t line, bool level) override;

  // A guest write of `len` bytes at `addr` (MMIO, or a port when `pio`)
  // signals `eventfd` instead of exiting; with `match`, only that value does.
  Result<void> add_ioeventfd(uint64_t addr, unsigned len, bool pio, int eventfd,
                             std::optional<uint64_t> match = std::nullopt);
  // Signalling `eventfd` raises interrupt `gsi`: an edge; or, with
  // `resample_fd`, a level that KVM holds until the guest's EOI, then lowers
  // and signals `resample_fd` (KVM_IRQFD_FLAG_RESAMPLE).
  Result<void> add_irqfd(int eventfd, uint32_t gsi, std::optional<int> resample_fd = std::nullopt);
  // Undoes add_irqfd.
  Result<void> remove_irqfd(int eventfd, uint32_t gsi);

  // The CPUID leaves KVM can back (KVM_GET_SUPPORTED_CPUID), as raw
  // kvm_cpuid_entry2 records, for the vCPUs to filter.
  const std::vector<uint8_t>& supported_cpuid() const { return supported_cpuid_; }

 private:
  Vm(const Kvm& kvm, int fd) : kvm_(kvm), fd_(fd) {}
  const Kvm& kvm_;
  int fd_;
  std::vector<uint8_t> supported_cpuid_;
};

}  // namespace vireo::kvm
