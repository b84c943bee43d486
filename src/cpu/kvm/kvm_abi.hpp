// Corrections to <linux/kvm.h> for C++. Debian 12's UAPI headers declare
// flexible arrays with __DECLARE_FLEX_ARRAY, whose empty struct member has
// size 1 in C++ (0 in C): sizeof(kvm_cpuid2) is 12 instead of 8, so the
// ioctl numbers derived from it and the offset of `entries` are wrong. These
// use the kernel's (C) layout: an 8-byte header, then the entries.
// Private to cpu/kvm.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

namespace vireo::kvm::abi {

struct CpuidHeader {
  uint32_t nent;
  uint32_t padding;
};
static_assert(sizeof(CpuidHeader) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);

// kvm_msrs: the same story (an 8-byte header, then kvm_msr_entry records).
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
static_assert(sizeof(MsrsHeader) == 8);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);

}  // namespace vireo::kvm::abi
