// Access to the host's KVM: the /dev/kvm system fd, the capability checks made
// before a VM is built, and what backs it (hardware virtualization, or PVM,
// which runs non-PVM guest code through the host's instruction emulator).
// Nothing outside cpu/kvm includes <linux/kvm.h>.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace vireo::kvm {

enum class Backing {
  kHardware,  // vmx or svm: guests run at native speed
  kPvm,       // kvm_pvm: correct but emulated, ~1.6 M guest instructions per second
  kUnknown,
};
// What backs /dev/kvm on this host (reads /proc/cpuinfo and /sys/module).
Backing detect_backing();
std::string_view backing_name(Backing b);

class Kvm {
 public:
  // Opens /dev/kvm and checks the API version and the capabilities Vireo
  // needs. Errors name the problem and the fix: no /dev/kvm, no permission,
  // an old or partial KVM.
  static Result<Kvm> open(const char* path = "/dev/kvm");
  Kvm(Kvm&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Kvm& operator=(Kvm&&) = delete;
  ~Kvm();

  int fd() const { return fd_; }
  // KVM_CHECK_EXTENSION on the system fd (> 0 means present; some return a count).
  int check_extension(unsigned cap) const;
  // Size of the mmap'ed kvm_run area of a vCPU.
  Result<size_t> vcpu_mmap_size() const;

 private:
  explicit Kvm(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace vireo::kvm
