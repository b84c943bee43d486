#include "cpu/kvm/kvm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace vireo::kvm {
namespace {

struct Capability {
  unsigned cap;
  const char* name;
};
// What the x86 machine relies on: in-kernel LAPIC/IOAPIC/PIC and PIT, eventfd
// notifications both ways, memory slots, the TSS/identity-map setup, and the
// extended CPUID interface.
constexpr Capability kRequired[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
};

bool cpuinfo_has_flag(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    while (words >> w) {
      if (w == flag) return true;
    }
    return false;  // the first CPU's flags are enough
  }
  return false;
}

}  // namespace

Backing detect_backing() {
  if (access("/sys/module/kvm_pvm", F_OK) == 0) return Backing::kPvm;
  if (cpuinfo_has_flag("vmx") || cpuinfo_has_flag("svm")) return Backing::kHardware;
  return Backing::kUnknown;
}

std::string_view backing_name(Backing b) {
  switch (b) {
    case Backing::kHardware:
      return "hardware virtualization";
    case Backing::kPvm:
      return "PVM (guest code is emulated by the host)";
    case Backing::kUnknown:
      break;
  }
  return "unknown";
}

Result<Kvm> Kvm::open(const char* path) {
  const int fd = ::open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) {
      return make_error(ErrorCode::kUnsupported,
                        fmt::format("{} does not exist: load the kvm module (modprobe kvm_intel "
                                    "or kvm_amd) or enable virtualization in the firmware",
                                    path));
    }
    if (e == EACCES || e == EPERM) {
      return make_error(ErrorCode::kPermission,
                        fmt::format("no permission to open {}: run as root or add the user to "
                                    "the kvm group",
                                    path));
    }
    return make_error(ErrorCode::kUnsupported,
                      fmt::format("cannot open {}: {}", path, std::strerror(e)));
  }
  Kvm kvm(fd);
  const int version = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return make_error(ErrorCode::kUnsupported,
                      fmt::format("{} speaks KVM API version {}, Vireo needs {}", path, version,
                                  KVM_API_VERSION));
  }
  for (const Capability& c : kRequired) {
    if (kvm.check_extension(c.cap) <= 0) {
      return make_error(ErrorCode::kUnsupported,
                        fmt::format("the host's KVM lacks {}: a newer kernel is needed", c.name));
    }
  }
  return kvm;
}

Kvm::~Kvm() {
  if (fd_ >= 0) ::close(fd_);
}

int Kvm::check_extension(unsigned cap) const {
  return ioctl(fd_, KVM_CHECK_EXTENSION, static_cast<unsigned long>(cap));
}

Result<size_t> Kvm::vcpu_mmap_size() const {
  const int size = ioctl(fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size <= 0) {
    return make_error(ErrorCode::kUnsupported,
                      fmt::format("KVM_GET_VCPU_MMAP_SIZE failed: {}", std::strerror(errno)));
  }
  return static_cast<size_t>(size);
}

}  // namespace vireo::kvm
