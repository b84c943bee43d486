#include "cpu/kvm/vm.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/log.hpp"
#include "cpu/kvm/kvm_abi.hpp"

namespace vireo::kvm {
namespace {

Error ioctl_error(const char* what) {
  return Error{ErrorCode::kUnsupported, fmt::format("{} failed: {}", what, std::strerror(errno))};
}

// KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is large enough.
// Returns the kvm_cpuid_entry2 records, without the header.
Result<std::vector<uint8_t>> get_supported_cpuid(int kvm_fd) {
  for (uint32_t n = 64; n <= 4096; n *= 2) {
    std::vector<uint8_t> buf(sizeof(abi::CpuidHeader) + n * sizeof(kvm_cpuid_entry2));
    auto* header = reinterpret_cast<abi::CpuidHeader*>(buf.data());
    header->nent = n;
    if (ioctl(kvm_fd, abi::kGetSupportedCpuid, buf.data()) == 0) {
      const size_t bytes = std::min(header->nent, n) * sizeof(kvm_cpuid_entry2);
      return std::vector<uint8_t>(buf.begin() + sizeof(abi::CpuidHeader),
                                  buf.begin() + sizeof(abi::CpuidHeader) + bytes);
    }
    if (errno != E2BIG) return std::unexpected(ioctl_error("KVM_GET_SUPPORTED_CPUID"));
  }
  return make_error(ErrorCode::kUnsupported, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

}  // namespace

Result<std::unique_ptr<Vm>> Vm::create(const Kvm& kvm, const GuestMemory& memory) {
  const int fd = ioctl(kvm.fd(), KVM_CREATE_VM, 0);
  if (fd < 0) return std::unexpected(ioctl_error("KVM_CREATE_VM"));
  std::unique_ptr<Vm> vm(new Vm(kvm, fd));

  if (ioctl(fd, KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddr)) < 0) {
    return std::unexpected(ioctl_error("KVM_SET_TSS_ADDR"));
  }
  uint64_t identity = kIdentityMapAddr;
  if (ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
    return std::unexpected(ioctl_error("KVM_SET_IDENTITY_MAP_ADDR"));
  }

  uint32_t slot = 0;
  for (const MemoryRegion& r : memory.regions()) {
    kvm_userspace_memory_region region{};
    region.slot = slot++;
    region.guest_phys_addr = r.base.value;
    region.memory_size = r.size;
    region.userspace_addr = reinterpret_cast<uint64_t>(r.host);
    if (ioctl(fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
      return std::unexpected(ioctl_error("KVM_SET_USER_MEMORY_REGION"));
    }
  }

  if (ioctl(fd, KVM_CREATE_IRQCHIP, 0) < 0)
    return std::unexpected(ioctl_error("KVM_CREATE_IRQCHIP"));
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  if (ioctl(fd, KVM_CREATE_PIT2, &pit) < 0) return std::unexpected(ioctl_error("KVM_CREATE_PIT2"));

  auto cpuid = get_supported_cpuid(kvm.fd());
  if (!cpuid) return std::unexpected(cpuid.error());
  vm->supported_cpuid_ = std::move(*cpuid);
  return vm;
}

Vm::~Vm() { ::close(fd_); }

void Vm::set_irq_level(uint32_t line, bool level) {
  kvm_irq_level irq{};
  irq.irq = line;
  irq.level = level ? 1 : 0;
  if (ioctl(fd_, KVM_IRQ_LINE, &irq) < 0) {
    VIREO_LOG_RATELIMITED(log::error, "KVM_IRQ_LINE {} failed: {}", line, std::strerror(errno));
  }
}

Result<void> Vm::add_ioeventfd(uint64_t addr, unsigned len, bool pio, int eventfd,
                               std::optional<uint64_t> match) {
  kvm_ioeventfd e{};
  e.addr = addr;
  e.len = len;
  e.fd = eventfd;
  if (pio) e.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (match) {
    e.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    e.datamatch = *match;
  }
  if (ioctl(fd_, KVM_IOEVENTFD, &e) < 0) return std::unexpected(ioctl_error("KVM_IOEVENTFD"));
  return {};
}

Result<void> Vm::add_irqfd(int eventfd, uint32_t gsi, std::optional<int> resample_fd) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  if (resample_fd) {
    irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
    irqfd.resamplefd = static_cast<uint32_t>(*resample_fd);
  }
  if (ioctl(fd_, KVM_IRQFD, &irqfd) < 0) return std::unexpected(ioctl_error("KVM_IRQFD"));
  return {};
}

Result<void> Vm::remove_irqfd(int eventfd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
  if (ioctl(fd_, KVM_IRQFD, &irqfd) < 0) {
    return std::unexpected(ioctl_error("KVM_IRQFD (deassign)"));
  }
  return {};
}

}  // namespace vireo::kvm
