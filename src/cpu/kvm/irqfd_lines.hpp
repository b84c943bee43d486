// Level-triggered interrupt lines delivered through KVM irqfds, so a device
// interrupts the guest from whatever thread completes its work (the I/O
// thread, io_uring completions) with one eventfd write: no ioctl, no vCPU
// thread involved.
//
// An irqfd alone injects edges. A level line (virtio-mmio's, described as
// level-triggered in the DSDT) uses KVM's resampling irqfd: signalling the
// trigger eventfd asserts the IOAPIC input and KVM keeps it asserted until
// the guest's EOI, then de-asserts it and signals the resample eventfd. On
// that signal we look at the device's current level and re-assert if it is
// still high (the device raised again while the guest was handling it), as
// QEMU and cloud-hypervisor do for INTx.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/irq.hpp"
#include "cpu/kvm/vm.hpp"

namespace vireo::kvm {

class IrqfdLines final : public IrqSink {
 public:
  // One resampling irqfd per GSI in `gsis`; resample events are served on
  // `loop`. Fails if KVM lacks KVM_CAP_IRQFD_RESAMPLE.
  static Result<std::unique_ptr<IrqfdLines>> create(Vm& vm, EventLoop& loop,
                                                    std::span<const uint32_t> gsis);
  ~IrqfdLines() override;
  IrqfdLines(const IrqfdLines&) = delete;
  IrqfdLines& operator=(const IrqfdLines&) = delete;

  // Any thread. A rise signals the trigger eventfd; a fall is only recorded
  // (KVM lowers the input at the guest's EOI and asks us through resample).
  // `gsi` must be one of those given to create().
  void set_irq_level(uint32_t gsi, bool level) override;

  // How many times a line was re-asserted at resample (for tests).
  uint64_t reasserts() const { return reasserts_.load(std::memory_order_relaxed); }

 private:
  struct Line {
    uint32_t gsi = 0;
    int trigger_fd = -1;
    int resample_fd = -1;
    std::atomic<bool> level{false};
  };
  IrqfdLines(Vm& vm, EventLoop& loop) : vm_(vm), loop_(loop) {}
  Line* find(uint32_t gsi);
  void on_resample(Line& line);

  Vm& vm_;
  EventLoop& loop_;
  std::vector<std::unique_ptr<Line>> lines_;
  std::atomic<uint64_t> reasserts_{0};
};

}  // namespace vireo::kvm
