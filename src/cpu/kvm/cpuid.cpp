#include "cpu/kvm/cpuid.hpp"

#include <algorithm>
#include <bit>

namespace vireo::kvm {

using namespace cpuid_bits;

std::vector<kvm_cpuid_entry2> shape_cpuid(std::vector<kvm_cpuid_entry2> entries,
                                          const CpuidOptions& o) {
  const uint32_t count = std::max(o.count, 1u);
  const uint32_t core_bits = count > 1 ? std::bit_width(count - 1) : 0;
  for (kvm_cpuid_entry2& e : entries) {
    switch (e.function) {
      case 0x1:
        e.ebx = (e.ebx & 0x0000ffff) | (o.index << 24) | (std::min(count, 255u) << 16);
        e.ecx |= kEcxHypervisor;
        e.ecx &= ~(kEcxVmx | kEcxMonitor);
        e.ecx = o.tsc_deadline ? e.ecx | kEcxTscDeadline : e.ecx & ~kEcxTscDeadline;
        if (count > 1) e.edx |= kEdxHtt;  // the logical-count field is valid
        break;
      case 0x4:
        // Cores per package minus one; each cache shared by one thread.
        e.eax = (e.eax & 0x03ffffff) | ((std::min(count, 64u) - 1) << 26);
        e.eax &= ~(0xfffu << 14);
        break;
      case 0xb:
      case 0x1f:
        // x2APIC topology: level 0 SMT (1 thread), level 1 core (count).
        e.edx = o.index;
        if (e.index == 0) {
          e.eax = 0;
          e.ebx = 1;
          e.ecx = (1u << 8) | 0;
        } else if (e.index == 1) {
          e.eax = core_bits;
          e.ebx = count;
          e.ecx = (2u << 8) | 1;
        } else {
          e.eax = e.ebx = 0;
          e.ecx = e.index;
        }
        break;
      case 0x40000001:
        e.eax &= ~kKvmFeatureMsiExtDestId;
        e.edx &= ~kKvmHintsRealtime;
        break;
      case 0x80000001:
        e.ecx &= ~kExtEcxSvm;
        break;
      case 0x8000000a:  // SVM's own leaf: describes a feature the guest no longer has
        e.eax = e.ebx = e.ecx = e.edx = 0;
        break;
      case 0x8000001e:
        e.eax = o.index;  // extended APIC ID
        e.ebx = o.index;  // compute unit ID, one core per unit
        e.ecx = 0;        // node 0
        break;
      default:
        break;
    }
  }
  return entries;
}

}  // namespace vireo::kvm
