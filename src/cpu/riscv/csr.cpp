// Zicsr access to the hart's CSRs: privilege checks from the CSR number,
// WARL legalisation, and the side effects of writes (TLB context, interrupt
// re-evaluation, timers).
#include <bit>

#include "cpu/riscv/hart.hpp"

namespace vireo::riscv {

using namespace csr;

namespace {

constexpr unsigned required_priv(uint16_t csr) { return (csr >> 8) & 3; }
constexpr bool is_read_only(uint16_t csr) { return ((csr >> 10) & 3) == 3; }

// xtvec: MODE 0 (direct) or 1 (vectored); the reserved modes 2 and 3 fold to 0 and 1.
constexpr uint64_t legalize_tvec(uint64_t v) { return v & ~2ull; }

constexpr uint64_t kCounterCY = 1, kCounterIR = 4;

}  // namespace

uint64_t Hart::read_mstatus() const {
  uint64_t v = mstatus_ | mstatus::kXLen64;
  if ((v & mstatus::kFS) == mstatus::kFSDirty) v |= mstatus::kSD;
  return v;
}

void Hart::write_mstatus(uint64_t value, uint64_t writable) {
  uint64_t next = (mstatus_ & ~writable) | (value & writable);
  // MPP is WARL over {U, S, M}: the reserved value 2 keeps the previous mode.
  if (((next & mstatus::kMPP) >> mstatus::kMPPShift) == 2) {
    next = (next & ~mstatus::kMPP) | (mstatus_ & mstatus::kMPP);
  }
  const uint64_t changed = next ^ mstatus_;
  mstatus_ = next;
  // Clearing MXR withdraws read permission from execute-only pages that load
  // TLB entries may have cached.
  if ((changed & mstatus::kMXR) && !(next & mstatus::kMXR)) {
    for (TlbSet& set : tlb_) set.flush(Access::kLoad);
  }
  // MPRV/MPP/SUM select the TLB context; MIE/SIE may unmask a pending
  // interrupt: both are handled before the next instruction.
  on_context_change();
}

bool Hart::counter_accessible(uint16_t csr) const {
  const unsigned bit = csr & 31;
  if (priv != Priv::kMachine && !((mcounteren_ >> bit) & 1)) return false;
  if (priv == Priv::kUser && !((scounteren_ >> bit) & 1)) return false;
  return true;
}

// cycle has no timing model of its own: it counts like instret.
uint64_t Hart::read_counter(bool cycle) const {
  const uint64_t inhibit = cycle ? kCounterCY : kCounterIR;
  if (mcountinhibit_ & inhibit) return cycle ? cycle_frozen_ : instret_frozen_;
  return retired() + (cycle ? cycle_delta_ : instret_delta_);
}

void Hart::write_counter(bool cycle, uint64_t value) {
  const uint64_t inhibit = cycle ? kCounterCY : kCounterIR;
  uint64_t& frozen = cycle ? cycle_frozen_ : instret_frozen_;
  uint64_t& delta = cycle ? cycle_delta_ : instret_delta_;
  if (mcountinhibit_ & inhibit) {
    frozen = value;
  } else {
    // The writing instruction itself retires after the write: compensate so
    // that the next read sees `value` plus the instructions since.
    delta = value - retired() - 1;
  }
}

void Hart::write_pmpcfg(unsigned index, uint8_t cfg) {
  if (pmpcfg_[index] & pmp::kL) return;
  cfg &= pmp::kL | pmp::kA | pmp::kX | pmp::kW | pmp::kR;
  // R=0, W=1 is reserved.
  if ((cfg & pmp::kW) && !(cfg & pmp::kR)) cfg &= static_cast<uint8_t>(~pmp::kW);
  pmpcfg_[index] = cfg;
}

void Hart::write_pmpaddr(unsigned index, uint64_t value) {
  if (pmpcfg_[index] & pmp::kL) return;
  // A locked TOR entry also locks the address register below it (its base).
  if (index + 1 < pmp::kEntries && (pmpcfg_[index + 1] & pmp::kL) &&
      ((pmpcfg_[index + 1] & pmp::kA) >> pmp::kAShift) == pmp::kTor) {
    return;
  }
  pmpaddr_[index] = value & pmp::kAddrMask;
}

void Hart::recompute_pmp_ranges() {
  pmp_any_active_ = false;
  for (unsigned i = 0; i < pmp::kEntries; ++i) {
    const uint64_t a = pmpaddr_[i];
    uint64_t lo = 0, hi = 0;
    switch ((pmpcfg_[i] & pmp::kA) >> pmp::kAShift) {
      case pmp::kTor:
        lo = i == 0 ? 0 : pmpaddr_[i - 1] << 2;
        hi = a << 2;
        break;
      case pmp::kNa4:
        lo = a << 2;
        hi = lo + 4;
        break;
      case pmp::kNapot: {
        // pmpaddr = base/4 | (size/8 - 1): t trailing ones encode 2^(t+3) bytes.
        const unsigned t = static_cast<unsigned>(std::countr_one(a));
        if (t >= 54) {
          lo = 0;
          hi = 1ull << 57;
        } else {
          lo = (a & ~((1ull << t) - 1)) << 2;
          hi = lo + (1ull << (t + 3));
        }
        break;
      }
      default:
        break;
    }
    if (lo >= hi) lo = hi = 0;  // OFF, or an empty TOR range: matches nothing
    pmp_lo_[i] = lo;
    pmp_hi_[i] = hi;
    pmp_any_active_ |= hi != 0;
  }
}

bool Hart::csr_read(uint16_t csr, uint64_t& v) {
  if (static_cast<unsigned>(priv) < required_priv(csr)) return false;
  switch (csr) {
    case kFflags:
    case kFrm:
    case kFcsr:
      if ((mstatus_ & mstatus::kFS) == 0) return false;
      v = csr == kFflags ? fflags : csr == kFrm ? frm : (frm << 5) | fflags;
      return true;

    case kCycle:
    case kTime:
    case kInstret:
      if (!counter_accessible(csr)) return false;
      v = csr == kTime ? clock_.ticks() : read_counter(csr == kCycle);
      return true;

    case kSstatus:
      v = read_mstatus() & mstatus::kSstatusView;
      return true;
    case kSie:
      v = mie_ & mideleg_;
      return true;
    case kStvec:
      v = stvec_;
      return true;
    case kScounteren:
      v = scounteren_;
      return true;
    case kSenvcfg:
      v = senvcfg_;
      return true;
    case kSscratch:
      v = sscratch_;
      return true;
    case kSepc:
      v = sepc_;
      return true;
    case kScause:
      v = scause_;
      return true;
    case kStval:
      v = stval_;
      return true;
    case kSip:
      update_timer_ip();  // reflect the time now, not at the last chunk boundary
      v = effective_mip() & mideleg_;
      return true;
    case kStimecmp:
      if (priv != Priv::kMachine && (!(menvcfg_ & envcfg::kSTCE) || !(mcounteren_ & 2))) {
        return false;
      }
      v = stimecmp_;
      return true;
    case kSatp:
      if (priv == Priv::kSupervisor && (mstatus_ & mstatus::kTVM)) return false;
      v = satp_;
      return true;

    case kMvendorid:
    case kMarchid:
    case kMimpid:
    case kMconfigptr:
      v = 0;
      return true;
    case kMhartid:
      v = hart_id();
      return true;
    case kMstatus:
      v = read_mstatus();
      return true;
    case kMisa:
      v = kMisaValue;
      return true;
    case kMedeleg:
      v = medeleg_;
      return true;
    case kMideleg:
      v = mideleg_;
      return true;
    case kMie:
      v = mie_;
      return true;
    case kMtvec:
      v = mtvec_;
      return true;
    case kMcounteren:
      v = mcounteren_;
      return true;
    case kMenvcfg:
      v = menvcfg_;
      return true;
    case kMcountinhibit:
      v = mcountinhibit_;
      return true;
    case kMscratch:
      v = mscratch_;
      return true;
    case kMepc:
      v = mepc_;
      return true;
    case kMcause:
      v = mcause_;
      return true;
    case kMtval:
      v = mtval_;
      return true;
    case kMip:
      update_timer_ip();
      v = effective_mip();
      return true;
    case kMcycle:
    case kMinstret:
      v = read_counter(csr == kMcycle);
      return true;

    // Debug triggers: tselect accepts nothing and tdata1 reads 0 (type 0, "no
    // trigger"), so firmware probing for triggers finds none.
    case kTselect:
    case kTdata1:
    case kTdata2:
    case kTdata3:
      v = 0;
      return true;
    case kTinfo:
      v = 1;  // only type 0: no triggers
      return true;

    default:
      break;
  }
  if (csr >= kHpmcounter3 && csr <= kHpmcounter31) {
    if (!counter_accessible(csr)) return false;
    v = 0;
    return true;
  }
  if ((csr >= kMhpmcounter3 && csr <= kMhpmcounter31) ||
      (csr >= kMhpmevent3 && csr <= kMhpmevent31)) {
    v = 0;
    return true;
  }
  if (csr >= kPmpcfg0 && csr <= kPmpcfg15) {
    const unsigned n = csr - kPmpcfg0;
    if (n & 1) return false;  // RV64 has only the even pmpcfg registers
    v = 0;
    if (n * 4 < pmp::kEntries) {
      for (unsigned i = 0; i < 8; ++i) v |= static_cast<uint64_t>(pmpcfg_[n * 4 + i]) << (8 * i);
    }
    return true;
  }
  if (csr >= kPmpaddr0 && csr <= kPmpaddr63) {
    const unsigned n = csr - kPmpaddr0;
    v = n < pmp::kEntries ? pmpaddr_[n] : 0;
    return true;
  }
  return false;
}

bool Hart::csr_write(uint16_t csr, uint64_t v) {
  if (is_read_only(csr)) return false;
  if (static_cast<unsigned>(priv) < required_priv(csr)) return false;
  switch (csr) {
    case kFflags:
    case kFrm:
    case kFcsr:
      if ((mstatus_ & mstatus::kFS) == 0) return false;
      if (csr == kFflags) {
        fflags = v & 0x1f;
      } else if (csr == kFrm) {
        frm = v & 7;
      } else {
        fflags = v & 0x1f;
        frm = (v >> 5) & 7;
      }
      fp_dirty();
      return true;

    case kSstatus:
      write_mstatus(v, mstatus::kSstatusWritable);
      return true;
    case kSie:
      mie_ = (mie_ & ~mideleg_) | (v & mideleg_);
      invalidate_fetch();  // may unmask a pending interrupt
      return true;
    case kStvec:
      stvec_ = legalize_tvec(v);
      return true;
    case kScounteren:
      scounteren_ = static_cast<uint32_t>(v);
      return true;
    case kSenvcfg:
      senvcfg_ = 0;  // FIOM, CBIE, CBCFE, CBZE: none of their extensions exist
      return true;
    case kSscratch:
      sscratch_ = v;
      return true;
    case kSepc:
      sepc_ = v & ~1ull;
      return true;
    case kScause:
      scause_ = v;
      return true;
    case kStval:
      stval_ = v;
      return true;
    case kSip:
      // Only SSIP is writable from S-mode, and only when delegated.
      if (mideleg_ & ip::kSSIP) {
        if (v & ip::kSSIP) {
          mip_async_.fetch_or(ip::kSSIP);
        } else {
          mip_async_.fetch_and(~ip::kSSIP);
        }
      }
      invalidate_fetch();
      return true;
    case kStimecmp:
      if (priv != Priv::kMachine && (!(menvcfg_ & envcfg::kSTCE) || !(mcounteren_ & 2))) {
        return false;
      }
      stimecmp_ = v;
      update_timer_ip();
      invalidate_fetch();
      return true;
    case kSatp: {
      if (priv == Priv::kSupervisor && (mstatus_ & mstatus::kTVM)) return false;
      const uint64_t mode = v >> satp::kModeShift;
      // WARL: a write with an unsupported MODE has no effect at all. ASIDLEN
      // is 0: the ASID field reads as zero (software then flushes on switch).
      if (mode != satp::kModeBare && mode != satp::kModeSv39 && mode != satp::kModeSv48 &&
          mode != satp::kModeSv57) {
        return true;
      }
      const uint64_t next = (mode << satp::kModeShift) | (v & satp::kPpnMask);
      if (next != satp_) {
        satp_ = next;
        flush_translations();
      }
      return true;
    }

    case kMstatus:
      write_mstatus(v, mstatus::kWritable);
      return true;
    case kMisa:
      return true;  // fixed
    case kMedeleg:
      medeleg_ = v & kMedelegWritable;
      return true;
    case kMideleg:
      mideleg_ = v & ip::kSupervisor;
      invalidate_fetch();
      return true;
    case kMie:
      mie_ = v & ip::kAll;
      invalidate_fetch();
      return true;
    case kMtvec:
      mtvec_ = legalize_tvec(v);
      return true;
    case kMcounteren:
      mcounteren_ = static_cast<uint32_t>(v);
      return true;
    case kMenvcfg:
      menvcfg_ = v & envcfg::kSTCE;
      // With Sstc, STIP is read-only and reflects stimecmp alone.
      if (menvcfg_ & envcfg::kSTCE) mip_sw_ &= ~ip::kSTIP;
      update_timer_ip();
      invalidate_fetch();
      return true;
    case kMcountinhibit: {
      // CY and IR freeze their counters; TM (bit 1) does not exist. HPM bits
      // are accepted (their counters read 0 anyway).
      const uint32_t next = static_cast<uint32_t>(v) & ~2u;
      const uint32_t started = mcountinhibit_ & ~next;
      const uint32_t stopped = next & ~mcountinhibit_;
      if (stopped & kCounterCY) cycle_frozen_ = read_counter(true);
      if (stopped & kCounterIR) instret_frozen_ = read_counter(false);
      mcountinhibit_ = next;
      if (started & kCounterCY) cycle_delta_ = cycle_frozen_ - retired();
      if (started & kCounterIR) instret_delta_ = instret_frozen_ - retired();
      return true;
    }
    case kMscratch:
      mscratch_ = v;
      return true;
    case kMepc:
      mepc_ = v & ~1ull;
      return true;
    case kMcause:
      mcause_ = v;
      return true;
    case kMtval:
      mtval_ = v;
      return true;
    case kMip: {
      // M-mode may write SSIP, SEIP (ORed with the external line) and, without
      // Sstc, STIP.
      if (v & ip::kSSIP) {
        mip_async_.fetch_or(ip::kSSIP);
      } else {
        mip_async_.fetch_and(~ip::kSSIP);
      }
      uint64_t sw_mask = ip::kSEIP;
      if (!(menvcfg_ & envcfg::kSTCE)) sw_mask |= ip::kSTIP;
      mip_sw_ = (mip_sw_ & ~sw_mask) | (v & sw_mask);
      invalidate_fetch();
      return true;
    }
    case kMcycle:
    case kMinstret:
      write_counter(csr == kMcycle, v);
      return true;

    case kTselect:
    case kTdata1:
    case kTdata2:
    case kTdata3:
    case kTinfo:
      return true;  // no triggers: writes are ignored

    default:
      break;
  }
  if ((csr >= kMhpmcounter3 && csr <= kMhpmcounter31) ||
      (csr >= kMhpmevent3 && csr <= kMhpmevent31)) {
    return true;  // no HPM counters: read-only zero
  }
  if (csr >= kPmpcfg0 && csr <= kPmpcfg15) {
    const unsigned n = csr - kPmpcfg0;
    if (n & 1) return false;
    if (n * 4 < pmp::kEntries) {
      for (unsigned i = 0; i < 8; ++i) {
        write_pmpcfg(n * 4 + i, static_cast<uint8_t>(v >> (8 * i)));
      }
      recompute_pmp_ranges();
      flush_tlb();
    }
    return true;
  }
  if (csr >= kPmpaddr0 && csr <= kPmpaddr63) {
    const unsigned n = csr - kPmpaddr0;
    if (n < pmp::kEntries) {
      write_pmpaddr(n, v);
      recompute_pmp_ranges();
      flush_tlb();
    }
    return true;
  }
  return false;
}

}  // namespace vireo::riscv
