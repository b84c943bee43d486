#include "machines/riscv_virt.hpp"
#include "machines/virtio_slots.hpp"

#include <fmt/format.h>

#include "boot/elf.hpp"
#include "boot/fdt_writer.hpp"
#include "boot/riscv_image.hpp"
#include "core/log.hpp"
#include "devices/legacy/uart16550.hpp"
#include "devices/power/sifive_test.hpp"
#include "devices/riscv/aclint.hpp"
#include "devices/riscv/htif.hpp"
#include "devices/riscv/plic.hpp"
#include "devices/rtc/goldfish_rtc.hpp"
#include "devices/virtio/transport_mmio.hpp"

namespace vireo {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kFdtMaxSize = 1 * kMiB;        // the top 2 MiB block holds the DTB and fw info
constexpr uint64_t kFwDynamicMagic = 0x4942534f;  // "OSBI"
constexpr uint64_t kFwDynamicVersion = 2;
constexpr uint64_t kFwNextModeS = 1;

uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

std::string isa_string() { return "rv64imafdc_zicntr_zicsr_zifencei_zba_zbb_zbs_sstc"; }

}  // namespace

void RiscvVirt::HartIrqSink::set_irq_level(uint32_t line, bool level) {
  uint32_t hart_id = line;
  unsigned bit = bit_;
  if (plic_contexts) {
    // PLIC context 2h is hart h's M-mode external interrupt, 2h+1 its S-mode one.
    hart_id = line / 2;
    bit = (line % 2) ? riscv::irq::kSEI : riscv::irq::kMEI;
  }
  if (riscv::Hart* h = board_.hart(hart_id)) h->set_interrupt_pending(bit, level);
}

RiscvVirt::RiscvVirt(const RiscvVirtConfig& config, EventLoop& loop, OutputFn output,
                     StopFn on_stop)
    : config_(config), loop_(loop), output_(std::move(output)), on_stop_(std::move(on_stop)) {
  plic_out_sink_.plic_contexts = true;
}

RiscvVirt::~RiscvVirt() { stop_and_join(); }

Result<std::unique_ptr<RiscvVirt>> RiscvVirt::create(const RiscvVirtConfig& config, EventLoop& loop,
                                                     OutputFn output, StopFn on_stop) {
  if (config.cpus < 1 || config.cpus > kMaxCpus) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("--cpus {} is out of range: the riscv64 virt machine takes 1 to {}",
                    config.cpus, kMaxCpus));
  }
  if (config.memory_bytes < kMinMemory || config.memory_bytes > kMaxMemory) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--memory must be between {} MiB and {} GiB for the riscv64 virt "
                                  "machine",
                                  kMinMemory >> 20, kMaxMemory >> 30));
  }
  std::unique_ptr<RiscvVirt> board(
      new RiscvVirt(config, loop, std::move(output), std::move(on_stop)));
  if (auto r = board->build(); !r) return std::unexpected(r.error());
  return board;
}

Result<void> RiscvVirt::build() {
  if (auto r = memory_.add_ram(GuestAddr(kRamBase), config_.memory_bytes); !r) return r;
  // Images are loaded before harts exist: HTIF ranges found in the ELF must be
  // known when the harts are configured.
  if (auto r = build_devices(); !r) return r;
  if (auto r = load_images(); !r) return r;

  if (!config_.jitdump_dir.empty()) {
    auto dump = riscv::JitDump::create(config_.jitdump_dir);
    if (!dump) return std::unexpected(dump.error());
    jitdump_ = std::move(*dump);
  }
  hart_shared_ = std::make_unique<riscv::HartShared>(memory_);
  for (uint32_t i = 0; i < config_.cpus; ++i) {
    riscv::HartConfig hc;
    hc.hart_id = i;
    hc.builtin_sbi = boot_mode_ == BootMode::kLinuxBuiltinSbi;
    hc.trace = config_.trace;
    hc.jit = config_.jit;
    hc.jitdump = jitdump_.get();
    hc.bus_ranges_in_ram = bus_ranges_in_ram_;
    harts_.push_back(
        std::make_unique<riscv::Hart>(hc, memory_, bus_, clock_, *this, *hart_shared_));
  }
  for (uint32_t i = 0; i < config_.cpus; ++i) {
    riscv::Hart& h = *harts_[i];
    switch (boot_mode_) {
      case BootMode::kLinuxBuiltinSbi:
        // Like OpenSBI: the boot hart enters the kernel in S-mode, the others
        // wait for SBI HSM hart_start.
        h.reset(entry_, riscv::Priv::kSupervisor, i, dtb_addr_, 0);
        if (i != 0) h.set_hsm_stopped();
        break;
      case BootMode::kFirmware:
        h.reset(entry_, riscv::Priv::kMachine, i, dtb_addr_, fw_dynamic_info_);
        break;
      case BootMode::kBareMetal:
        h.reset(entry_, riscv::Priv::kMachine, i, dtb_addr_, 0);
        break;
    }
  }
  aclint_->reset();  // reports the reset mtimecmp to every hart
  return {};
}

Result<void> RiscvVirt::build_devices() {
  const uint32_t harts = config_.cpus;
  std::vector<IrqLine> msip;
  for (uint32_t h = 0; h < harts; ++h) msip.emplace_back(&msip_sink_, h);
  aclint_ = std::make_unique<Aclint>(clock_, harts, std::move(msip),
                                     [this](uint32_t hart_id, uint64_t cmp) {
                                       if (riscv::Hart* h = hart(hart_id)) h->set_mtimecmp(cmp);
                                     });
  std::vector<IrqLine> contexts;
  for (uint32_t c = 0; c < 2 * harts; ++c) contexts.emplace_back(&plic_out_sink_, c);
  plic_ = std::make_unique<Plic>(kPlicSources, 2 * harts, std::move(contexts));
  uart_ = std::make_unique<Uart16550>(IrqLine(plic_.get(), kUartIrq),
                                      [this](uint8_t byte) { output_(std::span(&byte, 1)); });
  test_ = std::make_unique<SifiveTest>([this](PowerEvent event, int code) {
    switch (event) {
      case PowerEvent::kPoweroff:
        stop_with(riscv::StopKind::kPoweroff, 0, "");
        break;
      case PowerEvent::kReboot:
        stop_with(riscv::StopKind::kReboot, 0, "guest requested a reboot; vireo stops the VM");
        break;
      case PowerEvent::kFailure:
        stop_with(riscv::StopKind::kFailure, code,
                  fmt::format("guest reported failure {} through the test device", code));
        break;
    }
  });
  rtc_ = std::make_unique<GoldfishRtc>(&loop_, IrqLine(plic_.get(), kRtcIrq));

  struct Placement {
    uint64_t base, size;
    BusDevice* dev;
    const char* name;
  };
  const Placement placements[] = {
      {kTestBase, SifiveTest::kSize, test_.get(), "sifive-test"},
      {kRtcBase, 0x1000, rtc_.get(), "goldfish-rtc"},
      {kClintBase, Aclint::kSize, aclint_.get(), "clint"},
      {kPlicBase, kPlicSize, plic_.get(), "plic"},
      {kUartBase, 0x100, uart_.get(), "uart"},
  };
  for (const auto& p : placements) {
    if (auto r = bus_.add(GuestAddr(p.base), p.size, p.dev, p.name); !r) return r;
  }
  return build_virtio_devices();
}

Result<void> RiscvVirt::build_virtio_devices() {
  auto transports =
      build_virtio_slots({kVirtioBase, kVirtioSlotSize, kVirtioSlots, "the riscv64 virt machine"},
                         config_.virtio_devices, memory_, loop_, bus_,
                         [this](uint32_t i) { return IrqLine(plic_.get(), kVirtioIrqBase + i); });
  if (!transports) return std::unexpected(transports.error());
  virtio_ = std::move(*transports);
  return {};
}

Result<void> RiscvVirt::load_images() {
  auto kernel = boot::read_file(config_.kernel_path, "kernel");
  if (!kernel) return std::unexpected(kernel.error());
  const uint64_t ram_end = kRamBase + config_.memory_bytes;

  // Top of usable low memory: the DTB and fw_dynamic_info live in the last
  // 2 MiB block below min(RAM end, 3 GiB), as QEMU places them.
  const uint64_t limit = std::min<uint64_t>(ram_end, 0xC000'0000);
  const uint64_t top_block = align_down(limit - 2 * kMiB, 2 * kMiB);
  dtb_addr_ = top_block;
  fw_dynamic_info_ = top_block + kFdtMaxSize;
  uint64_t image_end = kRamBase;  // first free byte after everything loaded low

  const bool is_elf = boot::is_elf(*kernel);
  if (!is_elf && !boot::is_riscv_image(*kernel)) {
    return make_error(ErrorCode::kBadFormat,
                      fmt::format("kernel '{}' is neither a RISC-V Linux Image nor an ELF file: "
                                  "pass arch/riscv/boot/Image or a RISC-V ELF program",
                                  config_.kernel_path));
  }

  uint64_t kernel_base = kRamBase;
  if (!config_.firmware_path.empty()) {
    boot_mode_ = BootMode::kFirmware;
    auto fw = boot::read_file(config_.firmware_path, "firmware");
    if (!fw) return std::unexpected(fw.error());
    uint64_t fw_end = kRamBase + fw->size();
    if (boot::is_elf(*fw)) {
      auto info = boot::parse_elf(*fw);
      if (!info) return std::unexpected(info.error());
      if (info->machine != static_cast<uint16_t>(boot::ElfMachine::kRiscv) || !info->is64) {
        return make_error(
            ErrorCode::kBadFormat,
            fmt::format("firmware '{}' is not a 64-bit RISC-V ELF", config_.firmware_path));
      }
      if (info->lowest < kRamBase || info->highest > dtb_addr_) {
        return make_error(
            ErrorCode::kOutOfRange,
            fmt::format("firmware '{}' loads at {:#x}..{:#x}, outside usable RAM "
                        "{:#x}..{:#x}: give more --memory",
                        config_.firmware_path, info->lowest, info->highest, kRamBase, dtb_addr_));
      }
      if (auto r = boot::load_elf(*fw, *info, memory_); !r) return r;
      entry_ = info->entry;
      fw_end = info->highest;
    } else {
      if (fw->size() > config_.memory_bytes / 2) {
        return make_error(
            ErrorCode::kInvalidArgument,
            fmt::format("firmware '{}' is larger than half of guest RAM", config_.firmware_path));
      }
      if (auto r = memory_.write(GuestAddr(kRamBase), *fw); !r) return r;
      entry_ = kRamBase;
    }
    // OpenSBI's generic platform expects the next stage 2 MiB above itself.
    kernel_base = align_up(std::max(fw_end, kRamBase + 2 * kMiB), 2 * kMiB);
  }

  uint64_t kernel_entry = 0;
  if (is_elf) {
    auto info = boot::parse_elf(*kernel);
    if (!info) return std::unexpected(info.error());
    if (info->machine != static_cast<uint16_t>(boot::ElfMachine::kRiscv) || !info->is64) {
      return make_error(ErrorCode::kBadFormat,
                        fmt::format("kernel '{}' is an ELF file, but not a 64-bit RISC-V one: "
                                    "use --arch x86_64 for x86 kernels",
                                    config_.kernel_path));
    }
    // With firmware, the kernel must stay clear of it (from kernel_base up).
    const uint64_t lowest_allowed = config_.firmware_path.empty() ? kRamBase : kernel_base;
    if (info->lowest < lowest_allowed || info->highest > dtb_addr_) {
      return make_error(
          ErrorCode::kOutOfRange,
          fmt::format("ELF '{}' loads at {:#x}..{:#x}, outside usable RAM "
                      "{:#x}..{:#x}: link it above the firmware and inside RAM, or "
                      "give more --memory",
                      config_.kernel_path, info->lowest, info->highest, lowest_allowed, dtb_addr_));
    }
    if (auto r = boot::load_elf(*kernel, *info, memory_); !r) return r;
    kernel_entry = info->entry;
    image_end = info->highest;
    if (config_.firmware_path.empty()) {
      boot_mode_ = BootMode::kBareMetal;
      entry_ = kernel_entry;
      // HTIF: route tohost/fromhost to the Htif device instead of RAM.
      auto tohost = boot::find_elf_symbol(*kernel, "tohost");
      auto fromhost = boot::find_elf_symbol(*kernel, "fromhost");
      if (tohost) {
        htif_ = std::make_unique<Htif>(
            memory_, [this](std::span<const uint8_t> b) { output_(b); },
            [this](int code) {
              stop_with(
                  code == 0 ? riscv::StopKind::kPoweroff : riscv::StopKind::kFailure, code,
                  code == 0 ? "" : fmt::format("guest reported failure {} through HTIF", code));
            });
        auto to_win = std::make_unique<Htif::Window>(*htif_, Htif::Reg::kToHost);
        if (auto r = bus_.add(GuestAddr(*tohost), 8, to_win.get(), "htif-tohost"); !r) return r;
        bus_ranges_in_ram_.push_back({*tohost, 8});
        extra_devices_.push_back(std::move(to_win));
        if (fromhost) {
          auto from_win = std::make_unique<Htif::Window>(*htif_, Htif::Reg::kFromHost);
          if (auto r = bus_.add(GuestAddr(*fromhost), 8, from_win.get(), "htif-fromhost"); !r) {
            return r;
          }
          bus_ranges_in_ram_.push_back({*fromhost, 8});
          extra_devices_.push_back(std::move(from_win));
        }
      }
    }
  } else {
    auto image = boot::parse_riscv_image(*kernel);
    if (!image) return std::unexpected(image.error());
    // Alone, the kernel goes text_offset above the start of RAM. Behind
    // firmware it goes at the first 2 MiB boundary above the firmware, as
    // QEMU does: fw_jump jumps to that fixed address (0x80200000).
    const uint64_t load =
        config_.firmware_path.empty() ? kRamBase + image->text_offset : kernel_base;
    if (load + image->image_size > dtb_addr_) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("kernel '{}' ({} MiB) does not fit in guest RAM: give more "
                                    "--memory",
                                    config_.kernel_path, (image->image_size + kMiB - 1) >> 20));
    }
    if (auto r = memory_.write(GuestAddr(load), *kernel); !r) return r;
    kernel_entry = load;
    image_end = load + image->image_size;
    if (config_.firmware_path.empty()) entry_ = kernel_entry;
  }

  uint64_t initrd_start = 0, initrd_end = 0;
  if (!config_.initrd_path.empty()) {
    auto initrd = boot::read_file(config_.initrd_path, "initrd");
    if (!initrd) return std::unexpected(initrd.error());
    const uint64_t size = initrd->size();
    if (size == 0 || size > dtb_addr_ - kRamBase ||
        align_down(dtb_addr_ - size, 4096) < align_up(image_end, 4096)) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("kernel and initrd '{}' do not fit in guest RAM: give more "
                                    "--memory",
                                    config_.initrd_path));
    }
    initrd_start = align_down(dtb_addr_ - size, 4096);
    initrd_end = initrd_start + size;
    if (auto r = memory_.write(GuestAddr(initrd_start), *initrd); !r) return r;
  }

  auto dtb = build_device_tree(initrd_start, initrd_end);
  if (!dtb) return std::unexpected(dtb.error());
  dtb_ = std::move(*dtb);
  if (dtb_.size() > kFdtMaxSize) {
    return make_error(ErrorCode::kInternal, "device tree larger than its reserved space");
  }
  if (auto r = memory_.write(GuestAddr(dtb_addr_), dtb_); !r) return r;

  if (boot_mode_ == BootMode::kFirmware) {
    // OpenSBI fw_dynamic: a2 points here. fw_jump ignores it.
    const uint64_t info[6] = {kFwDynamicMagic,
                              kFwDynamicVersion,
                              kernel_entry,
                              kFwNextModeS,
                              0,
                              ~0ull /* boot hart: lottery */};
    if (auto r = memory_.write(GuestAddr(fw_dynamic_info_),
                               std::span(reinterpret_cast<const uint8_t*>(info), sizeof(info)));
        !r) {
      return r;
    }
  }
  return {};
}

Result<std::vector<uint8_t>> RiscvVirt::build_device_tree(uint64_t initrd_start,
                                                          uint64_t initrd_end) {
  boot::FdtWriter fdt;
  const uint32_t harts = config_.cpus;
  std::vector<uint32_t> intc(harts);
  for (auto& p : intc) p = fdt.alloc_phandle();
  const uint32_t plic_phandle = fdt.alloc_phandle();
  const uint32_t test_phandle = fdt.alloc_phandle();

  fdt.begin_node("");
  fdt.prop_u32("#address-cells", 2);
  fdt.prop_u32("#size-cells", 2);
  fdt.prop_string("compatible", "riscv-virtio");
  fdt.prop_string("model", "vireo,riscv-virt");

  fdt.begin_node("chosen");
  fdt.prop_string("bootargs", config_.cmdline);
  fdt.prop_string("stdout-path", fmt::format("/soc/serial@{:x}", kUartBase));
  if (initrd_end > initrd_start) {
    fdt.prop_u64("linux,initrd-start", initrd_start);
    fdt.prop_u64("linux,initrd-end", initrd_end);
  }
  fdt.end_node();

  fdt.begin_node(fmt::format("memory@{:x}", kRamBase));
  fdt.prop_string("device_type", "memory");
  fdt.prop_reg64("reg", kRamBase, config_.memory_bytes);
  fdt.end_node();

  fdt.begin_node("cpus");
  fdt.prop_u32("#address-cells", 1);
  fdt.prop_u32("#size-cells", 0);
  fdt.prop_u32("timebase-frequency", kTimebaseHz);
  for (uint32_t h = 0; h < harts; ++h) {
    fdt.begin_node(fmt::format("cpu@{}", h));
    fdt.prop_string("device_type", "cpu");
    fdt.prop_u32("reg", h);
    fdt.prop_string("status", "okay");
    fdt.prop_string("compatible", "riscv");
    fdt.prop_string("riscv,isa", isa_string());
    fdt.prop_string("riscv,isa-base", "rv64i");
    fdt.prop_strings("riscv,isa-extensions", {"i", "m", "a", "f", "d", "c", "zicntr", "zicsr",
                                              "zifencei", "zba", "zbb", "zbs", "sstc"});
    fdt.prop_string("mmu-type", "riscv,sv57");
    fdt.begin_node("interrupt-controller");
    fdt.prop_u32("#interrupt-cells", 1);
    fdt.prop_empty("interrupt-controller");
    fdt.prop_string("compatible", "riscv,cpu-intc");
    fdt.prop_u32("phandle", intc[h]);
    fdt.end_node();
    fdt.end_node();
  }
  fdt.end_node();  // cpus

  fdt.begin_node("soc");
  fdt.prop_u32("#address-cells", 2);
  fdt.prop_u32("#size-cells", 2);
  fdt.prop_string("compatible", "simple-bus");
  fdt.prop_empty("ranges");

  std::vector<uint32_t> clint_irqs, plic_irqs;
  for (uint32_t h = 0; h < harts; ++h) {
    clint_irqs.insert(clint_irqs.end(), {intc[h], riscv::irq::kMSI, intc[h], riscv::irq::kMTI});
    plic_irqs.insert(plic_irqs.end(), {intc[h], riscv::irq::kMEI, intc[h], riscv::irq::kSEI});
  }
  fdt.begin_node(fmt::format("clint@{:x}", kClintBase));
  fdt.prop_strings("compatible", {"sifive,clint0", "riscv,clint0"});
  fdt.prop_reg64("reg", kClintBase, Aclint::kSize);
  fdt.prop_cells("interrupts-extended", clint_irqs);
  fdt.end_node();

  fdt.begin_node(fmt::format("plic@{:x}", kPlicBase));
  fdt.prop_strings("compatible", {"sifive,plic-1.0.0", "riscv,plic0"});
  fdt.prop_reg64("reg", kPlicBase, kPlicSize);
  fdt.prop_u32("#address-cells", 0);
  fdt.prop_u32("#interrupt-cells", 1);
  fdt.prop_empty("interrupt-controller");
  fdt.prop_u32("riscv,ndev", kPlicSources - 1);
  fdt.prop_cells("interrupts-extended", plic_irqs);
  fdt.prop_u32("phandle", plic_phandle);
  fdt.end_node();

  fdt.begin_node(fmt::format("serial@{:x}", kUartBase));
  fdt.prop_string("compatible", "ns16550a");
  fdt.prop_reg64("reg", kUartBase, 0x100);
  fdt.prop_u32("clock-frequency", 3686400);
  fdt.prop_u32("interrupt-parent", plic_phandle);
  fdt.prop_u32("interrupts", kUartIrq);
  fdt.end_node();

  fdt.begin_node(fmt::format("test@{:x}", kTestBase));
  fdt.prop_strings("compatible", {"sifive,test1", "sifive,test0", "syscon"});
  fdt.prop_reg64("reg", kTestBase, SifiveTest::kSize);
  fdt.prop_u32("phandle", test_phandle);
  fdt.end_node();

  fdt.begin_node("poweroff");
  fdt.prop_string("compatible", "syscon-poweroff");
  fdt.prop_u32("regmap", test_phandle);
  fdt.prop_u32("offset", 0);
  fdt.prop_u32("value", SifiveTest::kPass);
  fdt.end_node();

  fdt.begin_node("reboot");
  fdt.prop_string("compatible", "syscon-reboot");
  fdt.prop_u32("regmap", test_phandle);
  fdt.prop_u32("offset", 0);
  fdt.prop_u32("value", SifiveTest::kReset);
  fdt.end_node();

  fdt.begin_node(fmt::format("rtc@{:x}", kRtcBase));
  fdt.prop_string("compatible", "google,goldfish-rtc");
  fdt.prop_reg64("reg", kRtcBase, 0x1000);
  fdt.prop_u32("interrupt-parent", plic_phandle);
  fdt.prop_u32("interrupts", kRtcIrq);
  fdt.end_node();

  // Virtio slots in use, in slot order: Linux probes them in this order, so
  // the first --disk is vda.
  for (uint32_t i = 0; i < virtio_.size(); ++i) {
    const uint64_t base = kVirtioBase + i * kVirtioSlotSize;
    fdt.begin_node(fmt::format("virtio_mmio@{:x}", base));
    fdt.prop_string("compatible", "virtio,mmio");
    fdt.prop_reg64("reg", base, kVirtioSlotSize);
    fdt.prop_u32("interrupt-parent", plic_phandle);
    fdt.prop_u32("interrupts", kVirtioIrqBase + i);
    fdt.prop_empty("dma-coherent");
    fdt.end_node();
  }

  fdt.end_node();  // soc
  fdt.end_node();  // root
  return fdt.finish();
}

void RiscvVirt::start() {
  for (auto& h : harts_) {
    threads_.emplace_back([hart = h.get()] { hart->run(); });
  }
}

void RiscvVirt::stop_and_join() {
  stop_.store(true, std::memory_order_release);
  for (auto& h : harts_) h->kick();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

riscv::Hart* RiscvVirt::hart(uint32_t id) {
  return id < harts_.size() ? harts_[id].get() : nullptr;
}

void RiscvVirt::request_stop(riscv::StopKind kind, int exit_code) {
  switch (kind) {
    case riscv::StopKind::kPoweroff:
      stop_with(kind, exit_code, "");
      break;
    case riscv::StopKind::kReboot:
      stop_with(kind, 0, "guest requested a reboot; vireo stops the VM");
      break;
    case riscv::StopKind::kFailure:
      stop_with(kind, exit_code == 0 ? 1 : exit_code,
                fmt::format("guest requested a system reset for a failure (code {})", exit_code));
      break;
  }
}

void RiscvVirt::stop_with(riscv::StopKind kind, int code, std::string message) {
  {
    std::lock_guard lock(exit_mutex_);
    if (stop_.load()) return;  // the first reason wins
    exit_ = ExitStatus{code, std::move(message)};
    stop_.store(true, std::memory_order_release);
  }
  for (auto& h : harts_) h->kick();
  if (on_stop_) on_stop_();
}

ExitStatus RiscvVirt::exit_status() const {
  std::lock_guard lock(exit_mutex_);
  return exit_;
}

size_t RiscvVirt::console_input(std::span<const uint8_t> bytes) { return uart_->receive(bytes); }

int RiscvVirt::sbi_console_read() { return -1; }

uint64_t RiscvVirt::instret_total() const {
  uint64_t total = 0;
  for (const auto& h : harts_) total += h->instret();
  return total;
}

uint64_t RiscvVirt::jit_blocks_total() const {
  uint64_t total = 0;
  for (const auto& h : harts_) total += h->jit_blocks_translated();
  return total;
}

uint64_t RiscvVirt::jit_flushes_total() const {
  uint64_t total = 0;
  for (const auto& h : harts_) total += h->jit_buffer_flushes();
  return total;
}

}  // namespace vireo
