#include "machines/x86_microvm.hpp"
#include "machines/virtio_slots.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "boot/elf.hpp"
#include "boot/x86/acpi.hpp"
#include "boot/x86/bzimage.hpp"
#include "boot/x86/multiboot.hpp"
#include "boot/x86/pvh.hpp"
#include "core/log.hpp"
#include "cpu/kvm/irqfd_lines.hpp"
#include "cpu/kvm/kvm.hpp"
#include "cpu/kvm/vcpu.hpp"
#include "cpu/kvm/vm.hpp"
#include "devices/legacy/debug_exit.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/legacy/uart16550.hpp"
#include "devices/power/acpi_power.hpp"
#include "devices/rtc/cmos_rtc.hpp"
#include "devices/virtio/transport_mmio.hpp"

namespace vireo {
namespace {

using boot::x86::E820Type;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kEbdaStart = 0x9fc00;
constexpr uint64_t kBiosAreaStart = 0xe0000;
constexpr uint64_t kHighRamStart = 0x100000;
constexpr uint32_t kIoapicId = 0xfe;  // clear of every vCPU APIC ID (at most 64)

uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

}  // namespace

X86Microvm::X86Microvm(const X86MicrovmConfig& config, EventLoop& loop, OutputFn output,
                       StopFn on_stop)
    : config_(config), loop_(loop), output_(std::move(output)), on_stop_(std::move(on_stop)) {}

X86Microvm::~X86Microvm() { stop_and_join(); }

Result<std::unique_ptr<X86Microvm>> X86Microvm::create(const X86MicrovmConfig& config,
                                                       EventLoop& loop, OutputFn output,
                                                       StopFn on_stop) {
  std::unique_ptr<X86Microvm> board(
      new X86Microvm(config, loop, std::move(output), std::move(on_stop)));
  if (auto r = board->build(); !r) return std::unexpected(r.error());
  return board;
}

Result<void> X86Microvm::build() {
  if (config_.cpus == 0 || config_.cpus > kMaxCpus) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("--cpus {}: the x86_64 microVM takes 1..{}", config_.cpus, kMaxCpus));
  }
  auto kvm = kvm::Kvm::open(config_.kvm_path.c_str());
  if (!kvm) {
    return make_error(kvm.error().code, "x86_64 guests run on KVM: " + kvm.error().message);
  }
  kvm_ = std::make_unique<kvm::Kvm>(std::move(*kvm));
  if (auto r = build_memory(); !r) return r;
  auto vm = kvm::Vm::create(*kvm_, memory_);
  if (!vm) return std::unexpected(vm.error());
  vm_ = std::move(*vm);
  if (auto r = build_devices(); !r) return r;
  if (auto r = build_acpi(); !r) return r;
  if (auto r = kvm::write_boot_tables(memory_); !r) return r;
  for (uint32_t i = 0; i < config_.cpus; ++i) {
    auto vcpu = kvm::Vcpu::create(*vm_, i, config_.cpus, mmio_, pio_);
    if (!vcpu) return std::unexpected(vcpu.error());
    vcpus_.push_back(std::move(*vcpu));
  }
  return load_kernel();
}

Result<void> X86Microvm::build_memory() {
  const uint64_t mem = config_.memory_bytes;
  if (mem < kMinMemory || mem > kMaxMemory) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--memory {} MiB: the x86_64 microVM takes {} MiB to {} GiB",
                                  mem >> 20, kMinMemory >> 20, kMaxMemory >> 30));
  }
  const uint64_t low = std::min(mem, kLowMemoryEnd);
  if (auto r = memory_.add_ram(GuestAddr(0), low); !r) return r;
  if (mem > low) {
    if (auto r = memory_.add_ram(GuestAddr(kHighMemoryBase), mem - low); !r) return r;
  }
  // What the guest is told: the PC's holes for the EBDA and the BIOS area
  // (the ACPI tables live there) inside the low RAM.
  auto add = [this](uint64_t a, uint64_t s, E820Type t) { return e820_.add(a, s, t); };
  if (auto r = add(0, kEbdaStart, E820Type::kRam); !r) return r;
  if (auto r = add(kEbdaStart, 0xa0000 - kEbdaStart, E820Type::kReserved); !r) return r;
  if (auto r = add(kBiosAreaStart, kHighRamStart - kBiosAreaStart, E820Type::kReserved); !r) {
    return r;
  }
  if (auto r = add(kHighRamStart, low - kHighRamStart, E820Type::kRam); !r) return r;
  if (mem > low) {
    if (auto r = add(kHighMemoryBase, mem - low, E820Type::kRam); !r) return r;
  }
  return {};
}

Result<void> X86Microvm::build_devices() {
  auto power = [this](PowerEvent e, int code) { on_power_event(e, code); };
  uart_ = std::make_unique<Uart16550>(IrqLine(vm_.get(), kUartIrq),
                                      [this](uint8_t byte) { output_(std::span(&byte, 1)); });
  i8042_ = std::make_unique<I8042>(power);
  rtc_ = std::make_unique<CmosRtc>();
  acpi_power_ = std::make_unique<AcpiPower>(boot::x86::kSleepTypeS5, power);
  if (auto r = pio_.add(GuestAddr(kUartPort), Uart16550::kSize, uart_.get(), "com1"); !r) return r;
  if (auto r = pio_.add(GuestAddr(I8042::kBase), I8042::kSize, i8042_.get(), "i8042"); !r) {
    return r;
  }
  if (auto r = pio_.add(GuestAddr(CmosRtc::kBase), CmosRtc::kSize, rtc_.get(), "cmos"); !r) {
    return r;
  }
  if (auto r =
          pio_.add(GuestAddr(AcpiPower::kBase), AcpiPower::kSize, acpi_power_.get(), "acpi-power");
      !r) {
    return r;
  }
  if (config_.debug_exit) {
    debug_exit_ = std::make_unique<DebugExit>(power);
    if (auto r = pio_.add(GuestAddr(DebugExit::kPort), DebugExit::kSize, debug_exit_.get(),
                          "isa-debug-exit");
        !r) {
      return r;
    }
  }
  // Virtio interrupts as irqfds: a device completing work on the I/O thread
  // interrupts the guest with an eventfd write, no ioctl.
  std::vector<uint32_t> gsis;
  for (uint32_t i = 0; i < std::min<size_t>(config_.virtio_devices.size(), kVirtioSlots); ++i) {
    gsis.push_back(kVirtioGsiBase + i);
  }
  IrqSink* virtio_sink = vm_.get();
  if (!gsis.empty()) {
    auto irqfds = kvm::IrqfdLines::create(*vm_, loop_, gsis);
    if (irqfds) {
      virtio_irqfds_ = std::move(*irqfds);
      virtio_sink = virtio_irqfds_.get();
    } else if (irqfds.error().code == ErrorCode::kUnsupported) {
      log::info("virtio interrupts go through KVM_IRQ_LINE: {}", irqfds.error().message);
    } else {
      return std::unexpected(irqfds.error());
    }
  }
  auto transports = build_virtio_slots(
      {kVirtioBase, kVirtioSlotSize, kVirtioSlots, "the x86_64 microVM"}, config_.virtio_devices,
      memory_, loop_, mmio_, [&](uint32_t i) { return IrqLine(virtio_sink, kVirtioGsiBase + i); });
  if (!transports) return std::unexpected(transports.error());
  virtio_ = std::move(*transports);
  // QueueNotify writes signal the transports' eventfds in KVM, without a
  // vCPU exit: the I/O thread serves the queues directly.
  for (uint32_t i = 0; i < virtio_.size(); ++i) {
    auto fds = virtio_[i]->create_queue_notify_fds();
    if (!fds) return std::unexpected(fds.error());
    const uint64_t notify = kVirtioBase + i * kVirtioSlotSize + virtio::MmioTransport::kQueueNotify;
    for (uint32_t q = 0; q < fds->size(); ++q) {
      if (auto r = vm_->add_ioeventfd(notify, 4, false, (*fds)[q], q); !r) return r;
    }
  }
  return {};
}

Result<void> X86Microvm::build_acpi() {
  boot::x86::AcpiConfig acpi;
  acpi.cpus = config_.cpus;
  acpi.ioapic_id = static_cast<uint8_t>(kIoapicId);
  acpi.uart_port = kUartPort;
  acpi.uart_irq = kUartIrq;
  for (uint32_t i = 0; i < virtio_.size(); ++i) {
    acpi.virtio_mmio.push_back({static_cast<uint32_t>(kVirtioBase + i * kVirtioSlotSize),
                                static_cast<uint32_t>(kVirtioSlotSize), kVirtioGsiBase + i});
  }
  acpi.sleep_control_port = AcpiPower::kBase + AcpiPower::kSleepControl;
  acpi.sleep_status_port = AcpiPower::kBase + AcpiPower::kSleepStatus;
  acpi.reset_port = AcpiPower::kBase + AcpiPower::kReset;
  acpi.reset_value = AcpiPower::kResetValue;
  auto tables = boot::x86::build_acpi_tables(acpi, kAcpiAddr);
  if (!tables) return std::unexpected(tables.error());
  if (tables->bytes.size() > kHighRamStart - kAcpiAddr) {
    return make_error(ErrorCode::kInternal, "ACPI tables overflow the BIOS area");
  }
  rsdp_addr_ = tables->rsdp_addr;
  return memory_.write(GuestAddr(kAcpiAddr), tables->bytes);
}

Result<void> X86Microvm::write_cmdline() {
  if (config_.cmdline.size() + 1 > kCmdlineMax) {
    return make_error(
        ErrorCode::kInvalidArgument,
        fmt::format("--cmdline is {} bytes; at most {}", config_.cmdline.size(), kCmdlineMax - 1));
  }
  std::vector<uint8_t> bytes(config_.cmdline.begin(), config_.cmdline.end());
  bytes.push_back(0);
  return memory_.write(GuestAddr(kCmdlineAddr), bytes);
}

// The initrd goes as high as it can below `limit` (page-aligned), above
// everything loaded before (`lowest`), as QEMU and the boot protocol advise.
Result<uint64_t> X86Microvm::place_initrd(std::span<const uint8_t> initrd, uint64_t lowest,
                                          uint64_t limit) {
  const uint64_t top = std::min(limit, std::min(config_.memory_bytes, kLowMemoryEnd));
  if (initrd.size() > top || align_down(top - initrd.size(), kPage) < align_up(lowest, kPage)) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("the initrd ({} MiB) does not fit in low memory above the "
                                  "kernel: give the guest more --memory",
                                  (initrd.size() + kMiB - 1) / kMiB));
  }
  const uint64_t at = align_down(top - initrd.size(), kPage);
  if (auto r = memory_.write(GuestAddr(at), initrd); !r) return std::unexpected(r.error());
  return at;
}

Result<void> X86Microvm::load_kernel() {
  auto kernel = boot::read_file(config_.kernel_path, "kernel");
  if (!kernel) return std::unexpected(kernel.error());
  std::vector<uint8_t> initrd;
  if (!config_.initrd_path.empty()) {
    auto r = boot::read_file(config_.initrd_path, "initrd");
    if (!r) return std::unexpected(r.error());
    initrd = std::move(*r);
  }
  if (auto r = write_cmdline(); !r) return r;
  if (boot::x86::is_bzimage(*kernel)) return load_bzimage(*kernel, initrd);
  if (boot::is_elf(*kernel)) {
    auto elf = boot::parse_elf(*kernel);
    if (!elf) return std::unexpected(elf.error());
    auto pvh = boot::x86::find_pvh_entry(*kernel, *elf);
    if (!pvh) return std::unexpected(pvh.error());
    if (pvh->has_value()) return load_pvh(*kernel, initrd);
  }
  auto mb = boot::x86::find_multiboot_header(*kernel);
  if (!mb) return std::unexpected(mb.error());
  if (mb->has_value()) return load_multiboot(*kernel, initrd);
  return make_error(ErrorCode::kBadFormat,
                    fmt::format("kernel '{}' is not an x86 bzImage, a PVH ELF (no "
                                "XEN_ELFNOTE_PHYS32_ENTRY note) or a Multiboot kernel",
                                config_.kernel_path));
}

Result<void> X86Microvm::load_bzimage(std::span<const uint8_t> file,
                                      std::span<const uint8_t> initrd) {
  protocol_ = BootProtocol::kBzImage;
  auto info = boot::x86::parse_bzimage(file);
  if (!info) return std::unexpected(info.error());
  auto load = boot::x86::choose_load_address(*info, e820_);
  if (!load) return std::unexpected(load.error());
  if (auto r = memory_.write(GuestAddr(*load), file.subspan(info->kernel_offset)); !r) return r;

  boot::x86::ZeroPageParams params;
  params.cmdline_addr = kCmdlineAddr;
  params.cmdline_len = static_cast<uint32_t>(config_.cmdline.size());
  params.acpi_rsdp_addr = rsdp_addr_;
  if (!initrd.empty()) {
    auto at = place_initrd(initrd, *load + info->init_size, uint64_t{info->initrd_addr_max} + 1);
    if (!at) return std::unexpected(at.error());
    params.initrd_addr = *at;
    params.initrd_size = initrd.size();
  }
  std::array<uint8_t, boot::x86::kZeroPageSize> page{};
  if (auto r = boot::x86::build_zero_page(page, file, *info, params, e820_); !r) return r;
  if (auto r = memory_.write(GuestAddr(kZeroPageAddr), page); !r) return r;

  kvm::EntryRegs regs;
  regs.rip = *load + 0x200;  // the 64-bit entry point
  regs.rsi = kZeroPageAddr;
  return vcpus_[0]->enter_long_mode(regs);
}

Result<void> X86Microvm::load_pvh(std::span<const uint8_t> file, std::span<const uint8_t> initrd) {
  protocol_ = BootProtocol::kPvh;
  auto elf = boot::parse_elf(file);
  if (!elf) return std::unexpected(elf.error());
  auto entry = boot::x86::find_pvh_entry(file, *elf);
  if (!entry || !entry->has_value()) return make_error(ErrorCode::kBadFormat, "no PVH entry");
  if (auto r = boot::load_elf(file, *elf, memory_); !r) {
    return make_error(r.error().code,
                      fmt::format("kernel '{}': {}", config_.kernel_path, r.error().message));
  }
  boot::x86::PvhParams params;
  params.cmdline_addr = kCmdlineAddr;
  params.rsdp_addr = rsdp_addr_;
  const uint64_t start_info = kBootInfoAddr;
  params.modlist_addr = start_info + 0x100;
  params.memmap_addr = start_info + 0x200;
  if (!initrd.empty()) {
    auto at = place_initrd(initrd, elf->highest, kLowMemoryEnd);
    if (!at) return std::unexpected(at.error());
    params.initrd_addr = *at;
    params.initrd_size = initrd.size();
  }
  const auto blobs = boot::x86::build_pvh_start_info(params, e820_);
  if (auto r = memory_.write(GuestAddr(start_info), blobs.start_info); !r) return r;
  if (auto r = memory_.write(GuestAddr(params.modlist_addr), blobs.modlist); !r) return r;
  if (auto r = memory_.write(GuestAddr(params.memmap_addr), blobs.memmap); !r) return r;

  kvm::EntryRegs regs;
  regs.rip = **entry;
  regs.rbx = start_info;
  return vcpus_[0]->enter_protected_mode(regs);
}

Result<void> X86Microvm::load_multiboot(std::span<const uint8_t> file,
                                        std::span<const uint8_t> initrd) {
  protocol_ = BootProtocol::kMultiboot;
  auto header = boot::x86::find_multiboot_header(file);
  if (!header || !header->has_value()) return make_error(ErrorCode::kBadFormat, "no Multiboot");
  uint64_t entry = 0, image_end = 0;
  if ((*header)->has_addresses) {
    auto img = boot::x86::multiboot_image(file, **header);
    if (!img) return std::unexpected(img.error());
    if (!memory_.contains(GuestAddr(img->load_addr), img->mem_bytes)) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("the Multiboot kernel loads at {:#x}+{:#x}, outside RAM",
                                    img->load_addr, img->mem_bytes));
    }
    if (auto r = memory_.write(GuestAddr(img->load_addr),
                               file.subspan(img->file_offset, img->file_bytes));
        !r) {
      return r;
    }
    std::vector<uint8_t> bss(img->mem_bytes - img->file_bytes, 0);
    if (auto r = memory_.write(GuestAddr(img->load_addr + img->file_bytes), bss); !r) return r;
    entry = img->entry;
    image_end = img->load_addr + img->mem_bytes;
  } else {
    auto elf = boot::parse_elf(file);
    if (!elf) {
      return make_error(ErrorCode::kBadFormat,
                        "a Multiboot kernel without address fields must be an ELF file");
    }
    if (auto r = boot::load_elf(file, *elf, memory_); !r) return r;
    if (elf->entry > UINT32_MAX) {
      return make_error(ErrorCode::kBadFormat, "Multiboot ELF entry above 4 GiB");
    }
    entry = elf->entry;
    image_end = elf->highest;
  }
  static constexpr char kLoaderName[] = "vireo";
  boot::x86::MultibootParams params;
  params.info_addr = static_cast<uint32_t>(kBootInfoAddr);
  params.cmdline_addr = static_cast<uint32_t>(kCmdlineAddr);
  params.loader_name_addr = static_cast<uint32_t>(kBootInfoAddr + 0x100);
  params.mods_addr = static_cast<uint32_t>(kBootInfoAddr + 0x200);
  params.mmap_addr = static_cast<uint32_t>(kBootInfoAddr + 0x300);
  params.initrd_cmdline_addr = static_cast<uint32_t>(kBootInfoAddr + 0x280);
  if (!initrd.empty()) {
    auto at = place_initrd(initrd, image_end, kLowMemoryEnd);
    if (!at) return std::unexpected(at.error());
    params.initrd_addr = static_cast<uint32_t>(*at);
    params.initrd_size = static_cast<uint32_t>(initrd.size());
  }
  const auto blobs = boot::x86::build_multiboot_info(params, e820_);
  const std::span<const uint8_t> name(reinterpret_cast<const uint8_t*>(kLoaderName),
                                      sizeof(kLoaderName));
  const std::string module_name = config_.initrd_path;
  std::vector<uint8_t> module_cmdline(module_name.begin(), module_name.end());
  module_cmdline.resize(std::min<size_t>(module_cmdline.size(), 0x7f));
  module_cmdline.push_back(0);
  for (auto [addr, bytes] :
       {std::pair{params.info_addr, std::span<const uint8_t>(blobs.info)},
        std::pair{params.loader_name_addr, name},
        std::pair{params.mods_addr, std::span<const uint8_t>(blobs.mods)},
        std::pair{params.initrd_cmdline_addr, std::span<const uint8_t>(module_cmdline)},
        std::pair{params.mmap_addr, std::span<const uint8_t>(blobs.mmap)}}) {
    if (auto r = memory_.write(GuestAddr(addr), bytes); !r) return r;
  }
  kvm::EntryRegs regs;
  regs.rip = entry;
  regs.rax = boot::x86::kMultibootBootloaderMagic;
  regs.rbx = params.info_addr;
  return vcpus_[0]->enter_protected_mode(regs);
}

void X86Microvm::vcpu_loop(kvm::Vcpu& vcpu) {
  while (!stop_.load(std::memory_order_acquire)) {
    auto e = vcpu.run();
    if (!e) {
      stop_with(1, fmt::format("vCPU {}: {}", vcpu.index(), e.error().message));
      return;
    }
    switch (*e) {
      case kvm::VcpuExit::kInterrupted:
        park();
        break;
      case kvm::VcpuExit::kPoweroff:
        stop_with(0, "");
        return;
      case kvm::VcpuExit::kReset:
        stop_with(0, "guest requested a reboot; vireo stops the VM");
        return;
      case kvm::VcpuExit::kShutdown:
        stop_with(1, fmt::format("the guest triple-faulted on vCPU {}", vcpu.index()));
        return;
      case kvm::VcpuExit::kHalt:
      case kvm::VcpuExit::kInternalError:
      case kvm::VcpuExit::kFailEntry:
        stop_with(1, fmt::format("vCPU {} stopped: {}", vcpu.index(), kvm::vcpu_exit_name(*e)));
        return;
    }
  }
}

void X86Microvm::start() {
  {
    std::lock_guard lock(state_mutex_);
    started_ = true;
  }
  for (auto& v : vcpus_) threads_.emplace_back([this, vcpu = v.get()] { vcpu_loop(*vcpu); });
}

void X86Microvm::park() {
  std::unique_lock lock(state_mutex_);
  if (!pause_requested_) return;
  ++parked_;
  state_cv_.notify_all();
  state_cv_.wait(lock, [&] { return !pause_requested_ || stop_.load(std::memory_order_acquire); });
  --parked_;
}

void X86Microvm::pause() {
  std::unique_lock lock(state_mutex_);
  if (!started_ || pause_requested_) return;
  pause_requested_ = true;
  for (auto& v : vcpus_) v->kick();
  state_cv_.wait(lock,
                 [&] { return parked_ == vcpus_.size() || stop_.load(std::memory_order_acquire); });
}

void X86Microvm::resume() {
  std::lock_guard lock(state_mutex_);
  pause_requested_ = false;
  state_cv_.notify_all();
}

X86Microvm::RunState X86Microvm::run_state() const {
  std::lock_guard lock(state_mutex_);
  if (stop_.load(std::memory_order_acquire)) return RunState::kStopped;
  if (!started_) return RunState::kCreated;
  return pause_requested_ && parked_ == vcpus_.size() ? RunState::kPaused : RunState::kRunning;
}

void X86Microvm::stop_and_join() {
  stop_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(state_mutex_);  // wakes parked vCPUs and a waiting pause()
    state_cv_.notify_all();
  }
  for (auto& v : vcpus_) v->kick();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void X86Microvm::on_power_event(PowerEvent event, int code) {
  switch (event) {
    case PowerEvent::kPoweroff:
      stop_with(0, "");
      break;
    case PowerEvent::kReboot:
      stop_with(0, "guest requested a reboot; vireo stops the VM");
      break;
    case PowerEvent::kFailure:
      stop_with(code, "");
      break;
  }
}

void X86Microvm::stop_with(int code, std::string message) {
  {
    std::lock_guard lock(exit_mutex_);
    if (stop_.load()) return;  // the first reason wins
    exit_ = ExitStatus{code, std::move(message)};
    stop_.store(true, std::memory_order_release);
  }
  {
    std::lock_guard lock(state_mutex_);
    state_cv_.notify_all();
  }
  for (auto& v : vcpus_) v->kick();
  if (on_stop_) on_stop_();
}

ExitStatus X86Microvm::exit_status() const {
  std::lock_guard lock(exit_mutex_);
  return exit_;
}

const virtio::MmioTransport& X86Microvm::virtio_transport(size_t i) const { return *virtio_.at(i); }

size_t X86Microvm::console_input(std::span<const uint8_t> bytes) { return uart_->receive(bytes); }

}  // namespace vireo
