// The RISC-V `virt` board: QEMU virt's memory map (RAM at 0x8000_0000, CLINT,
// PLIC, 16550A UART, SiFive test/syscon, goldfish RTC, virtio-mmio slots),
// its device tree, and the boot paths: Linux Image with the built-in SBI,
// OpenSBI (fw_dynamic / fw_jump) then Linux, and bare-metal ELF programs.
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

#include "core/bus.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/guest_memory.hpp"
#include "core/irq.hpp"
#include "cpu/riscv/hart.hpp"
#include "cpu/riscv/jit/jitdump.hpp"
#include "devices/virtio/device.hpp"
#include "machines/machine.hpp"

namespace vireo {

class Uart16550;
class Plic;
class Aclint;
class SifiveTest;
class GoldfishRtc;
class Htif;
namespace virtio {
class MmioTransport;
}

struct RiscvVirtConfig {
  uint32_t cpus = 1;
  uint64_t memory_bytes = 512ull << 20;
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  std::string firmware_path;  // empty: --firmware none (built-in SBI, or bare-metal ELF)
  bool trace = false;
  bool jit = true;          // translate hot guest code (cpu/riscv/jit/); false: interpret only
  std::string jitdump_dir;  // non-empty: write perf's jitdump of the JIT's blocks there
  // Virtio devices, built in this order: device i gets virtio-mmio slot i
  // (kVirtioBase + i * kVirtioSlotSize, PLIC IRQ kVirtioIrqBase + i) and a
  // device-tree node. At most kVirtioSlots.
  std::vector<virtio::DeviceFactory> virtio_devices;
};

class RiscvVirt final : public riscv::HartHost, public Machine {
 public:
  static constexpr uint64_t kRamBase = 0x8000'0000;
  static constexpr uint64_t kMinMemory = 16ull << 20;
  static constexpr uint64_t kMaxMemory = 256ull << 30;  // what the address map holds
  static constexpr uint32_t kMaxCpus = 64;
  static constexpr uint64_t kClintBase = 0x0200'0000;
  static constexpr uint64_t kPlicBase = 0x0c00'0000;
  static constexpr uint64_t kPlicSize = 0x0400'0000;
  static constexpr uint64_t kUartBase = 0x1000'0000;
  static constexpr uint32_t kUartIrq = 10;
  static constexpr uint64_t kTestBase = 0x0010'0000;
  static constexpr uint64_t kRtcBase = 0x0010'1000;
  static constexpr uint32_t kRtcIrq = 11;
  static constexpr uint64_t kVirtioBase = 0x1000'1000;  // 8 slots of 0x1000, IRQs 1..8
  static constexpr uint64_t kVirtioSlotSize = 0x1000;
  static constexpr uint32_t kVirtioSlots = 8;
  static constexpr uint32_t kVirtioIrqBase = 1;
  static constexpr uint32_t kPlicSources = 96;
  static constexpr uint64_t kTimebaseHz = 10'000'000;

  using OutputFn = std::function<void(std::span<const uint8_t>)>;
  using StopFn = std::function<void()>;

  // Builds memory, devices, the device tree, loads the boot images. `output`
  // receives the UART's (and SBI console's) bytes; `on_stop` is called once
  // when the guest ends the run.
  static Result<std::unique_ptr<RiscvVirt>> create(const RiscvVirtConfig& config, EventLoop& loop,
                                                   OutputFn output, StopFn on_stop);
  ~RiscvVirt() override;

  // Machine
  void start() override;
  void stop_and_join() override;
  ExitStatus exit_status() const override;
  size_t console_input(std::span<const uint8_t> bytes) override;
  uint64_t instret_total() const override;
  uint64_t jit_blocks_total() const override;
  uint64_t jit_flushes_total() const override;

  GuestMemory& memory() { return memory_; }
  const Bus& bus() const { return bus_; }
  const std::vector<uint8_t>& device_tree() const { return dtb_; }
  uint64_t device_tree_addr() const { return dtb_addr_; }

  // riscv::HartHost
  uint32_t hart_count() const override { return static_cast<uint32_t>(harts_.size()); }
  riscv::Hart* hart(uint32_t id) override;
  void request_stop(riscv::StopKind kind, int exit_code) override;
  bool stop_requested() const override { return stop_.load(std::memory_order_acquire); }
  void sbi_console_write(std::span<const uint8_t> bytes) override { output_(bytes); }
  int sbi_console_read() override;

 private:
  RiscvVirt(const RiscvVirtConfig& config, EventLoop& loop, OutputFn output, StopFn on_stop);
  Result<void> build();
  Result<void> build_devices();
  Result<void> build_virtio_devices();
  Result<void> load_images();
  Result<std::vector<uint8_t>> build_device_tree(uint64_t initrd_start, uint64_t initrd_end);
  void stop_with(riscv::StopKind kind, int code, std::string message);

  // Wires PLIC context outputs and ACLINT MSIP lines to hart interrupt bits.
  class HartIrqSink final : public IrqSink {
   public:
    HartIrqSink(RiscvVirt& board, unsigned irq_bit) : board_(board), bit_(irq_bit) {}
    // `line` is the hart id for MSIP; for the PLIC it is the context number.
    void set_irq_level(uint32_t line, bool level) override;
    bool plic_contexts = false;

   private:
    RiscvVirt& board_;
    unsigned bit_;
  };

  RiscvVirtConfig config_;
  EventLoop& loop_;
  OutputFn output_;
  StopFn on_stop_;

  GuestMemory memory_;
  Bus bus_{"riscv-virt mmio"};
  GuestClock clock_{kTimebaseHz};
  std::unique_ptr<riscv::JitDump> jitdump_;  // outlives the harts that write to it
  std::unique_ptr<riscv::HartShared> hart_shared_;
  std::vector<std::unique_ptr<riscv::Hart>> harts_;
  std::vector<std::thread> threads_;

  HartIrqSink msip_sink_{*this, riscv::irq::kMSI};
  HartIrqSink plic_out_sink_{*this, 0};
  std::unique_ptr<Uart16550> uart_;
  std::unique_ptr<Plic> plic_;
  std::unique_ptr<Aclint> aclint_;
  std::unique_ptr<SifiveTest> test_;
  std::unique_ptr<GoldfishRtc> rtc_;
  std::unique_ptr<Htif> htif_;
  // Destroyed before the PLIC their interrupt lines lead to.
  std::vector<std::unique_ptr<virtio::MmioTransport>> virtio_;
  std::vector<std::unique_ptr<BusDevice>> extra_devices_;
  std::vector<std::pair<uint64_t, uint64_t>> bus_ranges_in_ram_;

  // Boot state computed by load_images().
  std::vector<uint8_t> dtb_;
  uint64_t dtb_addr_ = 0;
  uint64_t entry_ = 0;
  uint64_t fw_dynamic_info_ = 0;
  enum class BootMode {
    kLinuxBuiltinSbi,
    kFirmware,
    kBareMetal
  } boot_mode_ = BootMode::kLinuxBuiltinSbi;

  std::atomic<bool> stop_{false};
  mutable std::mutex exit_mutex_;
  ExitStatus exit_;
};

}  // namespace vireo
