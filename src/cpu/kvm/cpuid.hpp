// The CPUID a vCPU sees: KVM's supported leaves (KVM_GET_SUPPORTED_CPUID:
// only what this host's KVM can back, so nothing the hardware lacks gets
// through), then shaped for this board, as QEMU's and Firecracker's CPUID
// normalisation do:
//   - topology: APIC ID = vCPU index, one thread per core, every core in one
//     package (leaves 0x1, 0x4, 0xb, 0x1f, 0x8000001e);
//   - the hypervisor bit (0x1 ECX[31]); KVM's own leaves (0x40000000..) stay,
//     so the guest uses kvm-clock and the paravirtual features;
//   - TSC-deadline timer mode (0x1 ECX[24]) where KVM emulates it (KVM
//     reports it as a capability, not in the supported leaves);
//   - filtered out: nested virtualisation (VMX 0x1 ECX[5], SVM 0x80000001
//     ECX[2]): this VMM saves no nested state and offers no nested guest;
//     MONITOR/MWAIT (0x1 ECX[3]): KVM exits on them; KVM_HINTS_REALTIME
//     (0x40000001 EDX[0]): vCPUs are not pinned to dedicated host CPUs;
//     KVM_FEATURE_MSI_EXT_DEST_ID: the board has no MSI.
// Pure functions, so they are tested without /dev/kvm.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vireo::kvm {

struct CpuidOptions {
  uint32_t index = 0;         // this vCPU
  uint32_t count = 1;         // vCPUs in the VM
  bool tsc_deadline = false;  // KVM_CAP_TSC_DEADLINE_TIMER
};

std::vector<kvm_cpuid_entry2> shape_cpuid(std::vector<kvm_cpuid_entry2> supported,
                                          const CpuidOptions& options);

// Bits named above, for tests and callers.
namespace cpuid_bits {
inline constexpr uint32_t kEcxMonitor = 1u << 3;
inline constexpr uint32_t kEcxVmx = 1u << 5;
inline constexpr uint32_t kEcxTscDeadline = 1u << 24;
inline constexpr uint32_t kEcxHypervisor = 1u << 31;
inline constexpr uint32_t kEdxHtt = 1u << 28;
inline constexpr uint32_t kExtEcxSvm = 1u << 2;
inline constexpr uint32_t kKvmHintsRealtime = 1u << 0;
inline constexpr uint32_t kKvmFeatureMsiExtDestId = 1u << 15;
}  // namespace cpuid_bits

}  // namespace vireo::kvm
