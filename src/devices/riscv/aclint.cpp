#include "devices/riscv/aclint.hpp"

#include <algorithm>
#include <cassert>

#include "core/log.hpp"

namespace vireo {
namespace {

// Replaces the 32-bit half of `old` that a 4-byte access at `byte_in_reg` (0 or 4) targets.
uint64_t deposit_half(uint64_t old, uint64_t byte_in_reg, uint64_t value) {
  const unsigned shift = byte_in_reg == 0 ? 0 : 32;
  const uint64_t mask = uint64_t{0xffffffff} << shift;
  return (old & ~mask) | ((value & 0xffffffff) << shift);
}

// A 64-bit register accepts aligned 8-byte accesses and 4-byte accesses to either half.
bool valid_u64_access(uint64_t byte_in_reg, unsigned size) {
  return (size == 8 && byte_in_reg == 0) || (size == 4 && (byte_in_reg == 0 || byte_in_reg == 4));
}

uint64_t extract(uint64_t reg, uint64_t byte_in_reg, unsigned size) {
  if (size == 8) return reg;
  return byte_in_reg == 0 ? reg & 0xffffffff : reg >> 32;
}

}  // namespace

Aclint::Aclint(GuestClock& clock, uint32_t num_harts, std::vector<IrqLine> msip_lines,
               MtimecmpCallback on_mtimecmp)
    : clock_(clock),
      num_harts_(std::min(num_harts, kMaxHarts)),
      msip_lines_(std::move(msip_lines)),
      on_mtimecmp_(std::move(on_mtimecmp)),
      msip_(num_harts_, 0),
      mtimecmp_(num_harts_, kMtimecmpReset) {
  assert(msip_lines_.size() >= num_harts_);
}

uint64_t Aclint::read(uint64_t offset, unsigned size) {
  if (offset < kMtimecmpBase) {
    const uint64_t hart = offset / 4;
    if (size == 4 && offset % 4 == 0 && hart < num_harts_) {
      std::lock_guard lock(mutex_);
      return msip_[hart];
    }
  } else if (offset >= kMtime) {
    const uint64_t byte_in_reg = offset - kMtime;
    if (valid_u64_access(byte_in_reg, size)) return extract(clock_.ticks(), byte_in_reg, size);
  } else {
    const uint64_t hart = (offset - kMtimecmpBase) / 8;
    const uint64_t byte_in_reg = (offset - kMtimecmpBase) % 8;
    if (hart < num_harts_ && valid_u64_access(byte_in_reg, size)) {
      std::lock_guard lock(mutex_);
      return extract(mtimecmp_[hart], byte_in_reg, size);
    }
  }
  VIREO_LOG_RATELIMITED(log::warn, "aclint: ignored {}-byte read at {:#x}", size, offset);
  return 0;
}

void Aclint::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset < kMtimecmpBase) {
    const uint64_t hart = offset / 4;
    if (size == 4 && offset % 4 == 0 && hart < num_harts_) {
      std::lock_guard lock(mutex_);
      set_msip_locked(static_cast<uint32_t>(hart), (value & 1) != 0);
      return;
    }
  } else if (offset >= kMtime) {
    if (valid_u64_access(offset - kMtime, size)) {
      VIREO_LOG_RATELIMITED(log::debug, "aclint: mtime is read-only, write ignored");
      return;
    }
  } else {
    const uint64_t hart = (offset - kMtimecmpBase) / 8;
    const uint64_t byte_in_reg = (offset - kMtimecmpBase) % 8;
    if (hart < num_harts_ && valid_u64_access(byte_in_reg, size)) {
      std::lock_guard lock(mutex_);
      const uint64_t old = mtimecmp_[hart];
      set_mtimecmp_locked(static_cast<uint32_t>(hart),
                          size == 8 ? value : deposit_half(old, byte_in_reg, value));
      return;
    }
  }
  VIREO_LOG_RATELIMITED(log::warn, "aclint: ignored {}-byte write at {:#x}", size, offset);
}

void Aclint::reset() {
  std::lock_guard lock(mutex_);
  for (uint32_t hart = 0; hart < num_harts_; ++hart) {
    set_msip_locked(hart, false);
    set_mtimecmp_locked(hart, kMtimecmpReset);
  }
}

uint64_t Aclint::mtimecmp(uint32_t hart) const {
  std::lock_guard lock(mutex_);
  return hart < num_harts_ ? mtimecmp_[hart] : 0;
}

bool Aclint::msip(uint32_t hart) const {
  std::lock_guard lock(mutex_);
  return hart < num_harts_ && msip_[hart] != 0;
}

void Aclint::set_msip_locked(uint32_t hart, bool level) {
  msip_[hart] = level ? 1 : 0;
  // Re-driving an unchanged level is harmless and keeps a sink that was reset
  // behind our back in sync.
  if (hart < msip_lines_.size()) msip_lines_[hart].set_level(level);
}

void Aclint::set_mtimecmp_locked(uint32_t hart, uint64_t value) {
  mtimecmp_[hart] = value;
  // Every write is reported, even an unchanged value: the hart re-evaluates
  // MTIP against the current time on each one.
  if (on_mtimecmp_) on_mtimecmp_(hart, value);
}

}  // namespace vireo
