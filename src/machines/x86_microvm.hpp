// The x86-64 microVM on KVM: RAM from 0 (with the PC's holes) and above
// 4 GiB, the in-kernel LAPIC/IOAPIC/PIC and PIT, COM1 (the same 16550A class
// the RISC-V board uses), i8042 for the reset path, the CMOS RTC, the ACPI
// sleep/reset registers, optional isa-debug-exit, virtio-mmio slots
// described in the DSDT, and the boot paths: bzImage (64-bit boot
// protocol), PVH ELF and Multiboot.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "boot/x86/e820.hpp"
#include "core/bus.hpp"
#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/guest_memory.hpp"
#include "devices/power/power_event.hpp"
#include "devices/virtio/device.hpp"
#include "machines/machine.hpp"

namespace vireo {

class Uart16550;
class I8042;
class CmosRtc;
class AcpiPower;
class DebugExit;
namespace virtio {
class MmioTransport;
}
namespace kvm {
class Kvm;
class IrqfdLines;
class Vm;
class Vcpu;
}  // namespace kvm

struct X86MicrovmConfig {
  uint32_t cpus = 1;
  uint64_t memory_bytes = 512ull << 20;
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  bool debug_exit = false;  // isa-debug-exit on port 0xf4
  std::vector<virtio::DeviceFactory> virtio_devices;
  std::string kvm_path = "/dev/kvm";
};

class X86Microvm final : public Machine {
 public:
  static constexpr uint64_t kMinMemory = 16ull << 20;
  static constexpr uint64_t kMaxMemory = 1ull << 40;
  static constexpr uint32_t kMaxCpus = 64;
  static constexpr uint64_t kLowMemoryEnd = 0xc000'0000;  // 3 GiB; MMIO above, RAM resumes at 4 GiB
  static constexpr uint64_t kHighMemoryBase = 1ull << 32;
  static constexpr uint64_t kVirtioBase = 0xd000'0000;
  static constexpr uint64_t kVirtioSlotSize = 0x1000;
  static constexpr uint32_t kVirtioSlots = 8;
  static constexpr uint32_t kVirtioGsiBase = 16;  // IOAPIC pins 16..23, clear of ISA IRQs
  static constexpr uint16_t kUartPort = 0x3f8;
  static constexpr uint32_t kUartIrq = 4;
  // Boot data below 1 MiB.
  static constexpr uint64_t kZeroPageAddr = 0x7000;
  static constexpr uint64_t kCmdlineAddr = 0x20000;
  static constexpr uint64_t kCmdlineMax = 0x10000;
  static constexpr uint64_t kBootInfoAddr = 0x30000;  // PVH start_info / Multiboot info and tables
  static constexpr uint64_t kAcpiAddr = 0xe0000;

  using OutputFn = std::function<void(std::span<const uint8_t>)>;
  using StopFn = std::function<void()>;

  static Result<std::unique_ptr<X86Microvm>> create(const X86MicrovmConfig& config, EventLoop& loop,
                                                    OutputFn output, StopFn on_stop);
  ~X86Microvm() override;

  // Machine
  void start() override;
  void stop_and_join() override;
  ExitStatus exit_status() const override;
  size_t console_input(std::span<const uint8_t> bytes) override;

  // vCPU threads run an explicit state machine: running -> paused (every
  // vCPU out of KVM_RUN, parked) -> running, and stopped (threads end).
  // pause() returns once all vCPUs are parked (or the VM has stopped);
  // device I/O threads keep running. Any thread but a vCPU's.
  enum class RunState { kCreated, kRunning, kPaused, kStopped };
  void pause();
  void resume();
  RunState run_state() const;

  GuestMemory& memory() { return memory_; }
  const boot::x86::E820Map& memory_map() const { return e820_; }

  // The transport of virtio slot i (for tests and diagnostics).
  const virtio::MmioTransport& virtio_transport(size_t i) const;
  // The irqfds the virtio lines use, or null if they use KVM_IRQ_LINE.
  const kvm::IrqfdLines* virtio_irqfds() const { return virtio_irqfds_.get(); }

  enum class BootProtocol { kBzImage, kPvh, kMultiboot };
  BootProtocol boot_protocol() const { return protocol_; }

 private:
  X86Microvm(const X86MicrovmConfig& config, EventLoop& loop, OutputFn output, StopFn on_stop);
  Result<void> build();
  Result<void> build_memory();
  Result<void> build_devices();
  Result<void> build_acpi();
  Result<void> load_kernel();
  Result<void> load_bzimage(std::span<const uint8_t> file, std::span<const uint8_t> initrd);
  Result<void> load_pvh(std::span<const uint8_t> file, std::span<const uint8_t> initrd);
  Result<void> load_multiboot(std::span<const uint8_t> file, std::span<const uint8_t> initrd);
  Result<uint64_t> place_initrd(std::span<const uint8_t> initrd, uint64_t lowest, uint64_t limit);
  Result<void> write_cmdline();
  void on_power_event(PowerEvent event, int code);
  void stop_with(int code, std::string message);
  void vcpu_loop(kvm::Vcpu& vcpu);

  X86MicrovmConfig config_;
  EventLoop& loop_;
  OutputFn output_;
  StopFn on_stop_;

  GuestMemory memory_;
  boot::x86::E820Map e820_;
  Bus mmio_{"x86 mmio"};
  Bus pio_{"x86 pio"};
  std::unique_ptr<kvm::Kvm> kvm_;
  std::unique_ptr<kvm::Vm> vm_;
  std::vector<std::unique_ptr<kvm::Vcpu>> vcpus_;
  std::vector<std::thread> threads_;

  std::unique_ptr<Uart16550> uart_;
  std::unique_ptr<I8042> i8042_;
  std::unique_ptr<CmosRtc> rtc_;
  std::unique_ptr<AcpiPower> acpi_power_;
  std::unique_ptr<DebugExit> debug_exit_;
  // The virtio lines as resampling irqfds (null where KVM cannot: they then
  // go through vm_'s KVM_IRQ_LINE). Outlives the transports that drive it.
  std::unique_ptr<kvm::IrqfdLines> virtio_irqfds_;
  std::vector<std::unique_ptr<virtio::MmioTransport>> virtio_;

  BootProtocol protocol_ = BootProtocol::kBzImage;
  uint64_t rsdp_addr_ = 0;

  std::atomic<bool> stop_{false};
  mutable std::mutex state_mutex_;  // guards the three below
  std::condition_variable state_cv_;
  bool pause_requested_ = false;
  uint32_t parked_ = 0;  // vCPU threads waiting in park()
  bool started_ = false;
  void park();  // a vCPU thread: wait while a pause is requested
  mutable std::mutex exit_mutex_;
  ExitStatus exit_;
};

}  // namespace vireo
