#include "cpu/kvm/vcpu.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "core/log.hpp"
#include "cpu/kvm/cpuid.hpp"
#include "cpu/kvm/kvm_abi.hpp"

namespace vireo::kvm {
namespace {

Error ioctl_error(const char* what) {
  return Error{ErrorCode::kUnsupported, fmt::format("{} failed: {}", what, std::strerror(errno))};
}

// ---- Boot tables ----

constexpr uint64_t kGdtEntries[] = {
    0,                      // null
    0x00af9b000000ffffull,  // 0x08: 64-bit code, DPL 0
    0x00cf93000000ffffull,  // 0x10: flat data, 4 GiB
    0x00cf9b000000ffffull,  // 0x18: 32-bit flat code, 4 GiB
};
constexpr uint16_t kCode64 = 0x08, kData = 0x10, kCode32 = 0x18;

constexpr uint64_t kPresent = 1, kWritable = 2, kHuge = 1 << 7;
constexpr uint64_t kCr0Pe = 1, kCr0Et = 1 << 4, kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1 << 5;
constexpr uint64_t kEferLme = 1 << 8, kEferLma = 1 << 10;

kvm_segment flat_segment(uint16_t selector, bool code, bool long_mode) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = code ? 0xb : 0x3;  // execute/read accessed; read/write accessed
  s.present = 1;
  s.dpl = 0;
  s.db = long_mode && code ? 0 : 1;
  s.s = 1;
  s.l = long_mode && code ? 1 : 0;
  s.g = 1;
  return s;
}

// An empty handler: its only job is to make KVM_RUN return EINTR.
void kick_handler(int) {}
int kick_signal() {
  static std::once_flag once;
  const int sig = SIGRTMIN;
  std::call_once(once, [sig] {
    struct sigaction sa {};
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return
    sigaction(sig, &sa, nullptr);
  });
  return sig;
}

}  // namespace

const char* vcpu_exit_name(VcpuExit e) {
  switch (e) {
    case VcpuExit::kHalt:
      return "halt";
    case VcpuExit::kShutdown:
      return "shutdown (triple fault)";
    case VcpuExit::kPoweroff:
      return "poweroff";
    case VcpuExit::kReset:
      return "reset";
    case VcpuExit::kInterrupted:
      return "interrupted";
    case VcpuExit::kInternalError:
      return "KVM internal error";
    case VcpuExit::kFailEntry:
      return "entry failed";
  }
  return "?";
}

Result<void> write_boot_tables(const GuestMemory& memory) {
  for (size_t i = 0; i < std::size(kGdtEntries); ++i) {
    if (auto r = memory.write_obj(GuestAddr(kBootGdtAddr + 8 * i), kGdtEntries[i]); !r) return r;
  }
  // PML4[0] -> PDPT; PDPT[0..3] -> four PDs of 512 2 MiB pages: 0..4 GiB.
  const uint64_t pdpt = kBootPml4Addr + 0x1000;
  const uint64_t pd = kBootPml4Addr + 0x2000;
  if (auto r = memory.write_obj(GuestAddr(kBootPml4Addr), pdpt | kPresent | kWritable); !r) {
    return r;
  }
  for (uint64_t i = 0; i < 4; ++i) {
    const uint64_t table = pd + i * 0x1000;
    if (auto r = memory.write_obj(GuestAddr(pdpt + 8 * i), table | kPresent | kWritable); !r) {
      return r;
    }
    for (uint64_t j = 0; j < 512; ++j) {
      const uint64_t page = (i << 30) | (j << 21);
      if (auto r = memory.write_obj(GuestAddr(table + 8 * j), page | kPresent | kWritable | kHuge);
          !r) {
        return r;
      }
    }
  }
  return {};
}

Result<std::unique_ptr<Vcpu>> Vcpu::create(Vm& vm, uint32_t index, uint32_t count, const Bus& mmio,
                                           const Bus& pio) {
  auto run_size = vm.kvm().vcpu_mmap_size();
  if (!run_size) return std::unexpected(run_size.error());
  const int fd = ioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(index));
  if (fd < 0) return std::unexpected(ioctl_error("KVM_CREATE_VCPU"));
  void* run = mmap(nullptr, *run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (run == MAP_FAILED) {
    const Error e = ioctl_error("mmap of kvm_run");
    ::close(fd);
    return std::unexpected(e);
  }
  std::unique_ptr<Vcpu> vcpu(
      new Vcpu(vm, index, fd, static_cast<kvm_run*>(run), *run_size, mmio, pio));
  if (auto r = vcpu->set_cpuid(count); !r) return std::unexpected(r.error());
  if (auto r = vcpu->set_boot_msrs(); !r) return std::unexpected(r.error());
  kick_signal();
  return vcpu;
}

Vcpu::~Vcpu() {
  munmap(run_, run_size_);
  ::close(fd_);
}

// KVM's supported leaves, shaped for this board (cpuid.hpp).
Result<void> Vcpu::set_cpuid(uint32_t count) {
  const auto& raw = vm_.supported_cpuid();
  std::vector<kvm_cpuid_entry2> supported(raw.size() / sizeof(kvm_cpuid_entry2));
  std::memcpy(supported.data(), raw.data(), supported.size() * sizeof(kvm_cpuid_entry2));
  CpuidOptions options;
  options.index = index_;
  options.count = count;
  options.tsc_deadline = vm_.kvm().check_extension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  const std::vector<kvm_cpuid_entry2> entries = shape_cpuid(std::move(supported), options);
  const size_t n = entries.size();
  std::vector<uint8_t> buf(sizeof(abi::CpuidHeader) + n * sizeof(kvm_cpuid_entry2));
  reinterpret_cast<abi::CpuidHeader*>(buf.data())->nent = static_cast<uint32_t>(n);
  std::memcpy(buf.data() + sizeof(abi::CpuidHeader), entries.data(), n * sizeof(kvm_cpuid_entry2));
  if (ioctl(fd_, abi::kSetCpuid2, buf.data()) < 0) {
    return std::unexpected(ioctl_error("KVM_SET_CPUID2"));
  }
  return {};
}

// The MSRs a firmware leaves set when it hands over to a kernel: syscall
// entry points cleared, the TSC at 0, fast string operations enabled, and
// MTRRs enabled with write-back as the default memory type.
Result<void> Vcpu::set_boot_msrs() {
  struct Msr {
    uint32_t index;
    uint64_t value;
  };
  static constexpr Msr kBootMsrs[] = {
      {0x174, 0},                 // IA32_SYSENTER_CS
      {0x175, 0},                 // IA32_SYSENTER_ESP
      {0x176, 0},                 // IA32_SYSENTER_EIP
      {0xc0000081, 0},            // STAR
      {0xc0000082, 0},            // LSTAR
      {0xc0000083, 0},            // CSTAR
      {0xc0000084, 0},            // SYSCALL_MASK
      {0xc0000102, 0},            // KERNEL_GS_BASE
      {0x10, 0},                  // IA32_TSC
      {0x1a0, 1},                 // IA32_MISC_ENABLE: fast strings
      {0x2ff, (1u << 11) | 0x6},  // IA32_MTRR_DEF_TYPE: enabled, write-back
  };
  std::vector<uint8_t> buf(sizeof(abi::MsrsHeader) + std::size(kBootMsrs) * sizeof(kvm_msr_entry));
  reinterpret_cast<abi::MsrsHeader*>(buf.data())->nmsrs = std::size(kBootMsrs);
  for (size_t i = 0; i < std::size(kBootMsrs); ++i) {
    kvm_msr_entry e{};
    e.index = kBootMsrs[i].index;
    e.data = kBootMsrs[i].value;
    std::memcpy(buf.data() + sizeof(abi::MsrsHeader) + i * sizeof(e), &e, sizeof(e));
  }
  const int set = ioctl(fd_, abi::kSetMsrs, buf.data());
  if (set < 0) return std::unexpected(ioctl_error("KVM_SET_MSRS"));
  if (static_cast<size_t>(set) != std::size(kBootMsrs)) {
    return make_error(ErrorCode::kUnsupported,
                      fmt::format("KVM refused MSR {:#x} (set {} of {} boot MSRs)",
                                  kBootMsrs[set].index, set, std::size(kBootMsrs)));
  }
  return {};
}

// Flat segments from the boot GDT; long mode adds paging through the boot
// page tables, protected mode runs with paging off.
Result<void> Vcpu::enter_flat(const EntryRegs& r, bool long_mode) {
  kvm_sregs sregs{};
  if (ioctl(fd_, KVM_GET_SREGS, &sregs) < 0) return std::unexpected(ioctl_error("KVM_GET_SREGS"));
  sregs.gdt.base = kBootGdtAddr;
  sregs.gdt.limit = sizeof(kGdtEntries) - 1;
  sregs.idt.base = 0;
  sregs.idt.limit = 0;
  sregs.cs = flat_segment(long_mode ? kCode64 : kCode32, true, long_mode);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(kData, false, long_mode);
  sregs.cr0 = kCr0Pe | kCr0Et | (long_mode ? kCr0Pg : 0);
  sregs.cr3 = long_mode ? kBootPml4Addr : 0;
  sregs.cr4 = long_mode ? kCr4Pae : 0;
  sregs.efer = long_mode ? kEferLme | kEferLma : 0;
  if (ioctl(fd_, KVM_SET_SREGS, &sregs) < 0) return std::unexpected(ioctl_error("KVM_SET_SREGS"));
  kvm_regs regs{};
  regs.rflags = 0x2;
  regs.rip = r.rip;
  regs.rax = r.rax;
  regs.rbx = r.rbx;
  regs.rsi = r.rsi;
  regs.rsp = r.rsp;
  if (ioctl(fd_, KVM_SET_REGS, &regs) < 0) return std::unexpected(ioctl_error("KVM_SET_REGS"));
  return {};
}

Result<void> Vcpu::enter_long_mode(const EntryRegs& regs) { return enter_flat(regs, true); }

Result<void> Vcpu::enter_protected_mode(const EntryRegs& regs) { return enter_flat(regs, false); }

Result<void> Vcpu::make_runnable() {
  kvm_mp_state state{};
  state.mp_state = KVM_MP_STATE_RUNNABLE;
  if (ioctl(fd_, KVM_SET_MP_STATE, &state) < 0) {
    return std::unexpected(ioctl_error("KVM_SET_MP_STATE"));
  }
  return {};
}

Result<EntryRegs> Vcpu::regs() const {
  kvm_regs regs{};
  if (ioctl(fd_, KVM_GET_REGS, &regs) < 0) return std::unexpected(ioctl_error("KVM_GET_REGS"));
  return EntryRegs{regs.rip, regs.rax, regs.rbx, regs.rsi, regs.rsp};
}

void Vcpu::kick() {
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  const pthread_t t = thread_.load();
  if (t != pthread_t{}) pthread_kill(t, kick_signal());
}

// Port I/O: `count` items of `size` bytes at data_offset in kvm_run.
void Vcpu::handle_io() {
  auto& io = run_->io;
  uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
  for (uint32_t i = 0; i < io.count; ++i, data += io.size) {
    if (io.direction == KVM_EXIT_IO_OUT) {
      uint64_t v = 0;
      std::memcpy(&v, data, io.size);
      if (!pio_.write(io.port, io.size, v)) {
        VIREO_LOG_RATELIMITED(log::debug, "vcpu {}: write of {:#x} to unclaimed port {:#x}", index_,
                              v, io.port);
      }
    } else {
      uint64_t v;
      if (!pio_.read(io.port, io.size, v)) v = ~uint64_t{0};  // nothing there: all ones
      std::memcpy(data, &v, io.size);
    }
  }
}

void Vcpu::handle_mmio() {
  auto& mmio = run_->mmio;
  const unsigned len = mmio.len;
  if (len == 0 || len > 8) {
    VIREO_LOG_RATELIMITED(log::warn, "vcpu {}: MMIO access of {} bytes at {:#x}", index_, len,
                          mmio.phys_addr);
    return;
  }
  if (mmio.is_write) {
    uint64_t v = 0;
    std::memcpy(&v, mmio.data, len);
    if (!mmio_.write(mmio.phys_addr, len, v)) {
      VIREO_LOG_RATELIMITED(log::debug, "vcpu {}: write to unclaimed MMIO {:#x}", index_,
                            mmio.phys_addr);
    }
  } else {
    uint64_t v;
    if (!mmio_.read(mmio.phys_addr, len, v)) v = ~uint64_t{0};
    std::memcpy(mmio.data, &v, len);
  }
}

void Vcpu::log_internal_error() const {
  kvm_regs regs{};
  const bool have_regs = ioctl(fd_, KVM_GET_REGS, &regs) == 0;
  std::string data;
  const uint32_t n = std::min<uint32_t>(run_->internal.ndata, std::size(run_->internal.data));
  for (uint32_t i = 0; i < n; ++i) data += fmt::format(" {:#x}", run_->internal.data[i]);
  log::error(
      "vcpu {}: KVM internal error, suberror {}{} at rip {}{}{}", index_, run_->internal.suberror,
      run_->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation)" : "",
      have_regs ? fmt::format("{:#x}", regs.rip) : "?", data.empty() ? "" : ", data", data);
}

Result<VcpuExit> Vcpu::run() {
  thread_.store(pthread_self());
  for (;;) {
    const int rc = ioctl(fd_, KVM_RUN, 0);
    if (rc < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
        return VcpuExit::kInterrupted;
      }
      return std::unexpected(ioctl_error("KVM_RUN"));
    }
    switch (run_->exit_reason) {
      case KVM_EXIT_IO:
        handle_io();
        break;
      case KVM_EXIT_MMIO:
        handle_mmio();
        break;
      case KVM_EXIT_HLT:
        return VcpuExit::kHalt;
      case KVM_EXIT_SHUTDOWN:
        return VcpuExit::kShutdown;
      case KVM_EXIT_SYSTEM_EVENT:
        if (run_->system_event.type == KVM_SYSTEM_EVENT_RESET) return VcpuExit::kReset;
        return VcpuExit::kPoweroff;
      case KVM_EXIT_INTR:
        __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
        return VcpuExit::kInterrupted;
      case KVM_EXIT_FAIL_ENTRY:
        log::error("vcpu {}: entry failed, hardware reason {:#x}", index_,
                   run_->fail_entry.hardware_entry_failure_reason);
        return VcpuExit::kFailEntry;
      case KVM_EXIT_INTERNAL_ERROR:
        log_internal_error();
        return VcpuExit::kInternalError;
      default:
        log::error("vcpu {}: unexpected exit reason {}", index_, run_->exit_reason);
        return VcpuExit::kInternalError;
    }
  }
}

}  // namespace vireo::kvm
