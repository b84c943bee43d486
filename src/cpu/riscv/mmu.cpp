// The slow paths behind the inline TLB lookups: Sv39/Sv48/Sv57 page walks
// with hardware A/D updates, PMP, RAM vs. bus dispatch, page-crossing
// accesses, TLB fills, and code-page tracking on stores.
#include <atomic>

#include "cpu/riscv/hart.hpp"

namespace vireo::riscv {

using namespace csr;

namespace {

uint64_t fault_cause(Access access, Fault fault) {
  switch (access) {
    case Access::kFetch:
      return fault == Fault::kPage ? exc::kInsnPageFault : exc::kInsnAccessFault;
    case Access::kLoad:
      return fault == Fault::kPage ? exc::kLoadPageFault : exc::kLoadAccessFault;
    default:
      return fault == Fault::kPage ? exc::kStorePageFault : exc::kStoreAccessFault;
  }
}

bool is_power_of_two(unsigned n) { return n != 0 && (n & (n - 1)) == 0; }

}  // namespace

// GuestMemory::host_range builds an error string on a miss, which MMIO
// accesses must not pay for.
uint8_t* Hart::ram_range(uint64_t paddr, uint64_t len) const {
  for (const MemoryRegion& r : memory_.regions()) {
    if (paddr < r.base.value) continue;
    const uint64_t off = paddr - r.base.value;
    if (off >= r.size) continue;
    if (len > r.size - off) return nullptr;
    return r.host + off;
  }
  return nullptr;
}

void Hart::raise_fault(Access access, Fault fault, uint64_t tval) {
  raise_exception(fault_cause(access, fault), tval);
}

// ---- PMP ----

bool Hart::pmp_allows(uint64_t paddr, uint64_t size, Access access, Priv eff) const {
  // No active entry: M-mode is allowed, S/U are not (entries are implemented).
  if (!pmp_any_active_) return eff == Priv::kMachine;
  uint64_t end;
  if (__builtin_add_overflow(paddr, size, &end)) return false;
  for (unsigned i = 0; i < pmp::kEntries; ++i) {
    const uint64_t lo = pmp_lo_[i], hi = pmp_hi_[i];
    if (end <= lo || paddr >= hi) continue;  // no byte matches
    // The lowest-numbered entry matching any byte decides; it must match all.
    if (paddr < lo || end > hi) return false;
    const uint8_t cfg = pmpcfg_[i];
    if (eff == Priv::kMachine && !(cfg & pmp::kL)) return true;
    switch (access) {
      case Access::kFetch:
        return cfg & pmp::kX;
      case Access::kLoad:
        return cfg & pmp::kR;
      default:
        return cfg & pmp::kW;
    }
  }
  return eff == Priv::kMachine;
}

bool Hart::pmp_allows_page(uint64_t ppage, Access access, Priv eff) const {
  // Granting the whole page is the same decision for every byte of it: only
  // then may a TLB entry skip the per-access check.
  return pmp_allows(ppage, kPageSize, access, eff);
}

// ---- Page walk ----

Fault Hart::walk(uint64_t vaddr, Access access, Priv eff, bool update_ad, Translation& out) {
  const unsigned levels = static_cast<unsigned>(satp_ >> satp::kModeShift) - 5;  // 3, 4, 5
  const unsigned va_bits = 12 + 9 * levels;
  // The upper bits must be a sign extension of the top VA bit.
  const int64_t canonical = static_cast<int64_t>(vaddr << (64 - va_bits)) >> (64 - va_bits);
  if (static_cast<uint64_t>(canonical) != vaddr) return Fault::kPage;

  const bool sum = mstatus_ & mstatus::kSUM;
  const bool mxr = mstatus_ & mstatus::kMXR;

  // A/D updates race with other harts and with the guest editing its tables:
  // when the compare-exchange loses, walk again. A guest that keeps changing
  // the PTE under us gets a page fault instead of a livelock.
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t table = (satp_ & satp::kPpnMask) * kPageSize;
    for (int level = static_cast<int>(levels) - 1; level >= 0; --level) {
      const uint64_t vpn = (vaddr >> (12 + 9 * level)) & 0x1ff;
      const uint64_t pte_addr = table + vpn * 8;
      // Implicit page-table reads are checked by PMP as S-mode loads.
      if (!pmp_allows(pte_addr, 8, Access::kLoad, Priv::kSupervisor)) return Fault::kAccess;
      uint8_t* host = is_bus_routed(pte_addr, 8) ? nullptr : ram_range(pte_addr, 8);
      if (host == nullptr) return Fault::kAccess;
      // __atomic builtins rather than std::atomic_ref: libc++ 16 (fuzz builds) lacks it.
      uint64_t* pte_ptr = reinterpret_cast<uint64_t*>(host);
      uint64_t pte = __atomic_load_n(pte_ptr, __ATOMIC_ACQUIRE);

      if (!(pte & pte::kV) || ((pte & pte::kW) && !(pte & pte::kR))) return Fault::kPage;
      if (pte & pte::kHighBits) return Fault::kPage;
      const uint64_t ppn = (pte >> pte::kPpnShift) & pte::kPpnMask;

      if (!(pte & (pte::kR | pte::kX))) {
        // Pointer to the next level. D, A and U are reserved in non-leaf PTEs.
        if (pte & (pte::kD | pte::kA | pte::kU)) return Fault::kPage;
        if (level == 0) return Fault::kPage;
        table = ppn * kPageSize;
        continue;
      }

      // Leaf: privilege, then permission for the access type.
      if (pte & pte::kU) {
        if (eff == Priv::kSupervisor && (access == Access::kFetch || !sum)) return Fault::kPage;
      } else if (eff == Priv::kUser) {
        return Fault::kPage;
      }
      switch (access) {
        case Access::kFetch:
          if (!(pte & pte::kX)) return Fault::kPage;
          break;
        case Access::kLoad:
          if (!(pte & pte::kR) && !(mxr && (pte & pte::kX))) return Fault::kPage;
          break;
        case Access::kStore:
          if (!(pte & pte::kW)) return Fault::kPage;
          break;
      }
      // A superpage's PPN must be aligned to its size.
      const uint64_t low_ppn_mask = (1ull << (9 * level)) - 1;
      if (ppn & low_ppn_mask) return Fault::kPage;

      const uint64_t need = pte::kA | (access == Access::kStore ? pte::kD : 0);
      if ((pte & need) != need && update_ad) {
        // The PTE must be writable memory for the hardware update.
        if (!pmp_allows(pte_addr, 8, Access::kStore, Priv::kSupervisor)) return Fault::kAccess;
        if (!__atomic_compare_exchange_n(pte_ptr, &pte, pte | need, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
          goto restart;
        }
        // A store like any other: a page holding both page tables and
        // decoded code must drop the code.
        note_ram_store(pte_addr);
      }
      const uint64_t offset_mask = (1ull << (12 + 9 * level)) - 1;
      out.paddr = (ppn * kPageSize & ~offset_mask) | (vaddr & offset_mask);
      out.leaf_mask = ~offset_mask;
      return Fault::kNone;
    }
    return Fault::kPage;  // unreachable: level 0 pointers fault above
  restart:;
  }
  return Fault::kPage;
}

Fault Hart::translate(uint64_t vaddr, unsigned size, Access access, bool update_ad,
                      Translation& out) {
  const Priv eff = access == Access::kFetch ? priv : data_priv();
  if (eff == Priv::kMachine || (satp_ >> satp::kModeShift) == satp::kModeBare) {
    out.paddr = vaddr;
    out.leaf_mask = ~kPageOffsetMask;
  } else {
    const Fault f = walk(vaddr, access, eff, update_ad, out);
    if (f != Fault::kNone) return f;
  }
  if (!pmp_allows(out.paddr, size, access, eff)) return Fault::kAccess;
  out.cacheable = pmp_allows_page(out.paddr & ~kPageOffsetMask, access, eff);
  return Fault::kNone;
}

std::optional<uint64_t> Hart::translate_debug(uint64_t vaddr, Access access) {
  Translation t;
  if (translate(vaddr, 1, access, false, t) != Fault::kNone) return std::nullopt;
  return t.paddr;
}

// ---- Physical accesses ----

bool Hart::is_bus_routed(uint64_t paddr, uint64_t size) const {
  for (const auto& [base, len] : config_.bus_ranges_in_ram) {
    if (paddr < base + len && base < paddr + size) return true;
  }
  return false;
}

uint8_t* Hart::ram_for_fast_path(uint64_t ppage) const {
  if (is_bus_routed(ppage, kPageSize)) return nullptr;
  return ram_range(ppage, kPageSize);
}

bool Hart::physical_read(uint64_t paddr, unsigned size, uint64_t& out) {
  out = 0;
  if (!is_bus_routed(paddr, size)) {
    if (const uint8_t* host = ram_range(paddr, size)) {
      std::memcpy(&out, host, size);
      return true;
    }
  }
  if (is_power_of_two(size) && (paddr & (size - 1)) == 0) return bus_.read(paddr, size, out);
  // Devices see only naturally aligned accesses: split the rest into bytes.
  for (unsigned i = 0; i < size; ++i) {
    uint64_t byte;
    if (!bus_.read(paddr + i, 1, byte)) return false;
    out |= (byte & 0xff) << (8 * i);
  }
  return true;
}

bool Hart::physical_write(uint64_t paddr, unsigned size, uint64_t value) {
  if (!is_bus_routed(paddr, size)) {
    if (uint8_t* host = ram_range(paddr, size)) {
      std::memcpy(host, &value, size);
      note_ram_store(paddr);
      return true;
    }
  }
  bool ok = true;
  if (is_power_of_two(size) && (paddr & (size - 1)) == 0) {
    ok = bus_.write(paddr, size, value);
  } else {
    for (unsigned i = 0; i < size && ok; ++i)
      ok = bus_.write(paddr + i, 1, (value >> (8 * i)) & 0xff);
  }
  // A device write may have changed this hart's interrupt or timer state
  // (PLIC, ACLINT): re-evaluate before the next instruction.
  attention_.store(1, std::memory_order_relaxed);
  invalidate_fetch();
  return ok;
}

void Hart::note_ram_store(uint64_t paddr) {
  std::atomic<uint32_t>* state = shared_.code_state(paddr);
  if (state != nullptr && HartShared::invalidate_on_store(*state)) {
    // Possibly the page being executed: look it up again before the next instruction.
    invalidate_fetch();
    if (jit_) jit_->forget_jumps();
  }
}

// ---- Load/store slow paths ----

// A page-crossing access: translates both parts before touching anything, and
// raises the fault at the first byte of the part that faulted.
bool Hart::translate_split(uint64_t vaddr, unsigned size, Access access, SplitTranslation& out) {
  out.first = static_cast<unsigned>(kPageSize - (vaddr & kPageOffsetMask));
  out.vaddr2 = vaddr + out.first;
  Fault f = translate(vaddr, out.first, access, true, out.lo);
  if (f != Fault::kNone) {
    raise_fault(access, f, vaddr);
    return false;
  }
  f = translate(out.vaddr2, size - out.first, access, true, out.hi);
  if (f != Fault::kNone) {
    raise_fault(access, f, out.vaddr2);
    return false;
  }
  return true;
}

bool Hart::load_slow(uint64_t vaddr, unsigned size, uint64_t& out) {
  const uint64_t offset = vaddr & kPageOffsetMask;
  Translation t;
  if (offset + size > kPageSize) {
    SplitTranslation s;
    if (!translate_split(vaddr, size, Access::kLoad, s)) return false;
    uint64_t lo, hi;
    if (!physical_read(s.lo.paddr, s.first, lo)) {
      raise_fault(Access::kLoad, Fault::kAccess, vaddr);
      return false;
    }
    if (!physical_read(s.hi.paddr, size - s.first, hi)) {
      raise_fault(Access::kLoad, Fault::kAccess, s.vaddr2);
      return false;
    }
    out = lo | (hi << (8 * s.first));
    return true;
  }

  const Fault f = translate(vaddr, size, Access::kLoad, true, t);
  if (f != Fault::kNone) {
    raise_fault(Access::kLoad, f, vaddr);
    return false;
  }
  const uint64_t ppage = t.paddr & ~kPageOffsetMask;
  if (t.cacheable) {
    if (uint8_t* host = ram_for_fast_path(ppage)) {
      data_tlb_->fill(Access::kLoad, vaddr, reinterpret_cast<uintptr_t>(host), ppage, t.leaf_mask);
      out = 0;
      std::memcpy(&out, host + offset, size);
      return true;
    }
  }
  if (!physical_read(t.paddr, size, out)) {
    raise_fault(Access::kLoad, Fault::kAccess, vaddr);
    return false;
  }
  return true;
}

bool Hart::store_slow(uint64_t vaddr, unsigned size, uint64_t value) {
  const uint64_t offset = vaddr & kPageOffsetMask;
  Translation t;
  if (offset + size > kPageSize) {
    SplitTranslation s;
    if (!translate_split(vaddr, size, Access::kStore, s)) return false;
    if (!physical_write(s.lo.paddr, s.first, value)) {
      raise_fault(Access::kStore, Fault::kAccess, vaddr);
      return false;
    }
    if (!physical_write(s.hi.paddr, size - s.first, value >> (8 * s.first))) {
      raise_fault(Access::kStore, Fault::kAccess, s.vaddr2);
      return false;
    }
    return true;
  }

  const Fault f = translate(vaddr, size, Access::kStore, true, t);
  if (f != Fault::kNone) {
    raise_fault(Access::kStore, f, vaddr);
    return false;
  }
  const uint64_t ppage = t.paddr & ~kPageOffsetMask;
  if (t.cacheable) {
    if (uint8_t* host = ram_for_fast_path(ppage)) {
      std::memcpy(host + offset, &value, size);
      note_ram_store(ppage);
      // The page holds no cached code now: later stores may take the fast
      // path until some hart decodes code from it again (which flushes the
      // store TLBs of every hart through the code epoch).
      data_tlb_->fill(Access::kStore, vaddr, reinterpret_cast<uintptr_t>(host), ppage, t.leaf_mask);
      return true;
    }
  }
  if (!physical_write(t.paddr, size, value)) {
    raise_fault(Access::kStore, Fault::kAccess, vaddr);
    return false;
  }
  return true;
}

uint8_t* Hart::atomic_ptr_slow(uint64_t vaddr, unsigned size, bool for_lr) {
  const Access access = for_lr ? Access::kLoad : Access::kStore;
  if (vaddr & (size - 1)) {
    raise_exception(for_lr ? exc::kLoadMisaligned : exc::kStoreMisaligned, vaddr);
    return nullptr;
  }
  Translation t;
  const Fault f = translate(vaddr, size, access, true, t);
  if (f != Fault::kNone) {
    raise_fault(access, f, vaddr);
    return nullptr;
  }
  // Atomics need host memory: MMIO (and HTIF ranges) cannot do them.
  uint8_t* host = is_bus_routed(t.paddr, size) ? nullptr : ram_range(t.paddr, size);
  if (host == nullptr) {
    raise_fault(access, Fault::kAccess, vaddr);
    return nullptr;
  }
  const uint64_t ppage = t.paddr & ~kPageOffsetMask;
  if (!for_lr) {
    // The caller writes after we return; invalidating first is the best we
    // can do (cross-modifying code needs FENCE.I anyway).
    note_ram_store(ppage);
  }
  if (t.cacheable) {
    if (uint8_t* host_page = ram_for_fast_path(ppage)) {
      data_tlb_->fill(access, vaddr, reinterpret_cast<uintptr_t>(host_page), ppage, t.leaf_mask);
    }
  }
  return host;
}

}  // namespace vireo::riscv
