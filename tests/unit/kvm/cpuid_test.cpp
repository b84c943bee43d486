// CPUID shaping (cpu/kvm/cpuid.hpp), on made-up "supported" tables: no KVM.
#include "cpu/kvm/cpuid.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace vireo::kvm {
namespace {

using namespace cpuid_bits;

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
                      uint32_t edx) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// What an Intel host with nested virtualisation might report (values are
// plausible, not from one CPU).
std::vector<kvm_cpuid_entry2> host() {
  return {
      leaf(0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69),
      leaf(0x1, 0, 0x000806f8, 0x00ff0800, kEcxVmx | kEcxMonitor | 0x7ffa3203, 0x078bfbff),
      leaf(0x4, 0, 0xfc004121, 0x01c0003f, 0x3f, 0),
      leaf(0x7, 0, 0, 0x219c07ab, 0x18400124, 0xac000400),
      leaf(0xb, 0, 1, 2, 0x100, 7),
      leaf(0xb, 1, 6, 64, 0x201, 7),
      leaf(0xb, 2, 0, 0, 2, 7),
      leaf(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),
      leaf(0x40000001, 0, 0x01007afb | kKvmFeatureMsiExtDestId, 0, 0, kKvmHintsRealtime),
      leaf(0x80000001, 0, 0, 0, 0x121 | kExtEcxSvm, 0x2c100800),
      leaf(0x8000000a, 0, 1, 0x8000, 0, 0x1ff),
      leaf(0x8000001e, 0, 9, 0x100, 0x300, 0),
  };
}

const kvm_cpuid_entry2& find(const std::vector<kvm_cpuid_entry2>& t, uint32_t function,
                             uint32_t index = 0) {
  auto it = std::find_if(t.begin(), t.end(), [&](const kvm_cpuid_entry2& e) {
    return e.function == function && e.index == index;
  });
  EXPECT_NE(it, t.end()) << std::hex << function;
  static const kvm_cpuid_entry2 none{};
  return it == t.end() ? none : *it;
}

TEST(Cpuid, TopologyFollowsTheVcpuIndexAndCount) {
  const auto t = shape_cpuid(host(), {.index = 2, .count = 3});
  const auto& l1 = find(t, 0x1);
  EXPECT_EQ(l1.ebx >> 24, 2u);           // initial APIC ID
  EXPECT_EQ((l1.ebx >> 16) & 0xff, 3u);  // logical processors
  EXPECT_EQ(l1.ebx & 0xffff, 0x0800u);   // CLFLUSH size etc. kept
  EXPECT_NE(l1.edx & kEdxHtt, 0u);
  EXPECT_EQ(find(t, 0x4).eax >> 26, 2u);  // cores per package - 1
  EXPECT_EQ((find(t, 0x4).eax >> 14) & 0xfff, 0u);
  EXPECT_EQ(find(t, 0xb, 0).ebx, 1u);  // one thread per core
  EXPECT_EQ(find(t, 0xb, 1).ebx, 3u);  // three cores
  EXPECT_EQ(find(t, 0xb, 1).eax, 2u);  // APIC ID bits for 3 cores
  EXPECT_EQ(find(t, 0xb, 1).edx, 2u);  // x2APIC ID
  EXPECT_EQ(find(t, 0xb, 2).ebx, 0u);  // no further level
  EXPECT_EQ(find(t, 0x8000001e).eax, 2u);
}

TEST(Cpuid, OneVcpuHasNoHtt) {
  const auto t = shape_cpuid(host(), {.index = 0, .count = 1});
  EXPECT_EQ(find(t, 0x1).edx & kEdxHtt, host()[1].edx & kEdxHtt);
  EXPECT_EQ(find(t, 0xb, 1).eax, 0u);
}

TEST(Cpuid, HypervisorBitAndKvmLeavesAreThere) {
  const auto t = shape_cpuid(host(), {});
  EXPECT_NE(find(t, 0x1).ecx & kEcxHypervisor, 0u);
  EXPECT_EQ(find(t, 0x40000000).ebx, 0x4b4d564bu);               // "KVMK"
  EXPECT_EQ(find(t, 0x40000001).eax & 0x01007afb, 0x01007afbu);  // kvm-clock & co. kept
}

TEST(Cpuid, NestedVirtualisationMwaitAndHintsAreFilteredOut) {
  const auto t = shape_cpuid(host(), {});
  EXPECT_EQ(find(t, 0x1).ecx & (kEcxVmx | kEcxMonitor), 0u);
  EXPECT_EQ(find(t, 0x80000001).ecx & kExtEcxSvm, 0u);
  EXPECT_EQ(find(t, 0x80000001).ecx, 0x121u);  // the rest kept
  const auto& svm = find(t, 0x8000000a);
  EXPECT_EQ(svm.eax | svm.ebx | svm.ecx | svm.edx, 0u);
  EXPECT_EQ(find(t, 0x40000001).edx & kKvmHintsRealtime, 0u);
  EXPECT_EQ(find(t, 0x40000001).eax & kKvmFeatureMsiExtDestId, 0u);
}

TEST(Cpuid, TscDeadlineOnlyWhereKvmEmulatesIt) {
  EXPECT_EQ(find(shape_cpuid(host(), {}), 0x1).ecx & kEcxTscDeadline, 0u);
  EXPECT_NE(find(shape_cpuid(host(), {.tsc_deadline = true}), 0x1).ecx & kEcxTscDeadline, 0u);
}

TEST(Cpuid, NothingIsAddedThatKvmDidNotReport) {
  // A host table without leaves 0xb or 0x8000001e gets none.
  std::vector<kvm_cpuid_entry2> small = {leaf(0x0, 0, 1, 0, 0, 0), leaf(0x1, 0, 0, 0, 0, 0)};
  const auto t = shape_cpuid(small, {.index = 1, .count = 2});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].function, 0u);
  EXPECT_EQ(t[1].function, 1u);
}

}  // namespace
}  // namespace vireo::kvm
