// The built-in SBI: what OpenSBI would do for an S-mode payload, done by the
// emulator directly (no M-mode code runs).
#include "cpu/riscv/sbi.hpp"

#include <sched.h>

#include <array>
#include <utility>

#include "cpu/riscv/hart.hpp"

namespace vireo::riscv {

using namespace sbi;

namespace {

constexpr uint64_t kAllHarts = UINT64_MAX;  // hart_mask_base = -1

// SBI passes 32-bit parameters (reset types, suspend types) in XLEN registers.
constexpr bool fits_u32(uint64_t v) { return v <= UINT32_MAX; }

}  // namespace

void Sbi::handle_ecall(Hart& h) {
  const uint64_t eid = h.x[17];
  const uint64_t fid = h.x[16];
  if (eid <= ext::kLegacyShutdown && legacy(h, eid)) return;
  Ret r{err::kNotSupported, 0};
  switch (eid) {
    case ext::kBase:
      r = base(h, fid);
      break;
    case ext::kTime:
      r = time(h, fid);
      break;
    case ext::kIpi:
      r = ipi(h, fid);
      break;
    case ext::kRfence:
      r = rfence(h, fid);
      break;
    case ext::kHsm:
      r = hsm(h, fid);
      break;
    case ext::kSrst:
      r = srst(h, fid);
      break;
    case ext::kDbcn:
      r = dbcn(h, fid);
      break;
    default:
      break;
  }
  h.x[10] = static_cast<uint64_t>(r.error);
  h.x[11] = r.value;
}

bool Sbi::probe(uint64_t eid) {
  switch (eid) {
    case ext::kBase:
    case ext::kTime:
    case ext::kIpi:
    case ext::kRfence:
    case ext::kHsm:
    case ext::kSrst:
    case ext::kDbcn:
      return true;
    default:
      return eid <= ext::kLegacyShutdown;
  }
}

Sbi::Ret Sbi::base(Hart& h, uint64_t fid) {
  switch (fid) {
    case 0:
      return {err::kSuccess, kSpecVersion};
    case 1:
      return {err::kSuccess, kImplId};
    case 2:
      return {err::kSuccess, kImplVersion};
    case 3:
      return {err::kSuccess, probe(h.x[10]) ? 1u : 0u};
    case 4:  // mvendorid, marchid, mimpid: the values of those CSRs (all 0)
    case 5:
    case 6:
      return {err::kSuccess, 0};
    default:
      return {err::kNotSupported, 0};
  }
}

// ---- TIME ----

void Sbi::set_timer(Hart& h, uint64_t stime) {
  // The built-in SBI keeps menvcfg.STCE set, so the SBI timer and Sstc's
  // stimecmp are one register: STIP = time >= stimecmp, and writing a future
  // value clears it.
  h.stimecmp_ = stime;
  h.update_timer_ip();
  h.invalidate_fetch();
}

Sbi::Ret Sbi::time(Hart& h, uint64_t fid) {
  if (fid != 0) return {err::kNotSupported, 0};
  set_timer(h, h.x[10]);
  return {err::kSuccess, 0};
}

// ---- IPI and RFENCE ----

template <class Fn>
int64_t Sbi::for_each_hart(Hart& h, uint64_t mask, uint64_t base, Fn fn) {
  const uint32_t count = h.host_.hart_count();
  if (base == kAllHarts) {
    for (uint32_t id = 0; id < count; ++id) {
      if (Hart* t = h.host_.hart(id)) fn(*t);
    }
    return err::kSuccess;
  }
  // Validate the whole mask before acting on any hart.
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!((mask >> bit) & 1)) continue;
    uint64_t id;
    if (__builtin_add_overflow(base, bit, &id) || id >= count) return err::kInvalidParam;
  }
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!((mask >> bit) & 1)) continue;
    if (Hart* t = h.host_.hart(static_cast<uint32_t>(base + bit))) fn(*t);
  }
  return err::kSuccess;
}

int64_t Sbi::send_ipi(Hart& h, uint64_t mask, uint64_t base) {
  return for_each_hart(h, mask, base, [&h](Hart& t) {
    t.set_interrupt_pending(irq::kSSI, true);
    if (&t == &h) h.invalidate_fetch();  // a self-IPI is taken right after the ECALL
  });
}

int64_t Sbi::remote_flush(Hart& h, uint64_t mask, uint64_t base, uint32_t what) {
  // Like OpenSBI, the call returns once every target has flushed: Linux
  // relies on it (e.g. after patching kernel text). Targets that are not
  // executing (asleep, stopped) count as done: they flush before their next
  // instruction. Waiting is done in batches to keep the tickets on the stack.
  std::array<std::pair<Hart*, uint64_t>, 64> batch;
  size_t used = 0;
  auto wait_batch = [&] {
    for (size_t i = 0; i < used; ++i) {
      while (!batch[i].first->flush_completed(batch[i].second)) {
        // Serve requests aimed at us meanwhile, or two harts fencing each
        // other would wait forever.
        h.service_flush_requests();
        if (h.host_.stop_requested()) return;
        sched_yield();
      }
    }
    used = 0;
  };
  const int64_t status = for_each_hart(h, mask, base, [&](Hart& t) {
    if (&t == &h) {
      if (what & Hart::kFlushTlb) h.flush_translations();
      if (what & Hart::kFlushIcache) h.flush_icache();
      return;
    }
    batch[used++] = {&t, t.post_flush(what)};
    if (used == batch.size()) wait_batch();
  });
  wait_batch();
  return status;
}

Sbi::Ret Sbi::ipi(Hart& h, uint64_t fid) {
  if (fid != 0) return {err::kNotSupported, 0};
  return {send_ipi(h, h.x[10], h.x[11]), 0};
}

Sbi::Ret Sbi::rfence(Hart& h, uint64_t fid) {
  switch (fid) {
    case 0:  // remote_fence_i
      return {remote_flush(h, h.x[10], h.x[11], Hart::kFlushIcache), 0};
    case 1:  // remote_sfence_vma(start, size): flushes everything
    case 2:  // remote_sfence_vma_asid: no ASIDs, same
      return {remote_flush(h, h.x[10], h.x[11], Hart::kFlushTlb), 0};
    default:  // the hypervisor fences: no H extension
      return {err::kNotSupported, 0};
  }
}

// ---- HSM ----

Sbi::Ret Sbi::hsm(Hart& h, uint64_t fid) {
  switch (fid) {
    case 0: {  // hart_start(hartid, start_addr, opaque)
      Hart* t = h.x[10] <= UINT32_MAX ? h.host_.hart(static_cast<uint32_t>(h.x[10])) : nullptr;
      if (t == nullptr) return {err::kInvalidParam, 0};
      if (h.ram_range(h.x[11], 2) == nullptr) return {err::kInvalidAddress, 0};
      uint32_t expected = static_cast<uint32_t>(HsmState::kStopped);
      if (!t->hsm_state_.compare_exchange_strong(expected,
                                                 static_cast<uint32_t>(HsmState::kStartPending))) {
        return {err::kAlreadyAvailable, 0};
      }
      // We own the START_PENDING transition: publish the entry point.
      t->hsm_start_addr_.store(h.x[11], std::memory_order_relaxed);
      t->hsm_start_opaque_.store(h.x[12], std::memory_order_relaxed);
      t->hsm_start_published_.store(true, std::memory_order_release);
      t->kick();
      return {err::kSuccess, 0};
    }
    case 1:  // hart_stop(): does not return
      h.hsm_state_.store(static_cast<uint32_t>(HsmState::kStopped));
      h.wfi_ = false;
      h.invalidate_fetch();
      return {err::kSuccess, 0};
    case 2: {  // hart_get_status(hartid)
      Hart* t = h.x[10] <= UINT32_MAX ? h.host_.hart(static_cast<uint32_t>(h.x[10])) : nullptr;
      if (t == nullptr) return {err::kInvalidParam, 0};
      return {err::kSuccess, t->hsm_state_.load()};
    }
    case 3: {  // hart_suspend(type, resume_addr, opaque)
      const uint64_t type = h.x[10];
      if (type == kSuspendRetentive) {
        // Like WFI: returns success once an interrupt is pending.
        h.hsm_suspend_nonretentive_ = false;
      } else if (type == kSuspendNonRetentive) {
        if (h.ram_range(h.x[11], 2) == nullptr) return {err::kInvalidAddress, 0};
        h.hsm_suspend_nonretentive_ = true;
        h.hsm_resume_addr_ = h.x[11];
        h.hsm_resume_opaque_ = h.x[12];
      } else {
        return {err::kInvalidParam, 0};  // reserved or platform-specific types
      }
      h.hsm_state_.store(static_cast<uint32_t>(HsmState::kSuspended));
      h.invalidate_fetch();
      return {err::kSuccess, 0};
    }
    default:
      return {err::kNotSupported, 0};
  }
}

// ---- SRST ----

int64_t Sbi::system_reset(Hart& h, uint64_t type, uint64_t reason) {
  if (!fits_u32(type) || !fits_u32(reason)) return err::kInvalidParam;
  if (type > kResetWarmReboot) {
    return type >= 0xF0000000 ? err::kNotSupported : err::kInvalidParam;
  }
  // Reasons 2..0xEFFFFFFF are reserved; SBI-implementation and vendor
  // reasons (0xE0000000 and up) are accepted as "no reason".
  if (reason > kReasonSystemFailure && reason < 0xE0000000) return err::kInvalidParam;
  if (type == kResetShutdown) {
    if (reason == kReasonSystemFailure) {
      h.host_.request_stop(StopKind::kFailure, 1);
    } else {
      h.host_.request_stop(StopKind::kPoweroff, 0);
    }
  } else {
    h.host_.request_stop(StopKind::kReboot, 0);
  }
  // The call does not return: this hart stops now, the others at their next
  // chunk boundary (woken if asleep).
  h.hsm_state_.store(static_cast<uint32_t>(HsmState::kStopped));
  h.invalidate_fetch();
  for (uint32_t id = 0; id < h.host_.hart_count(); ++id) {
    if (Hart* t = h.host_.hart(id)) t->kick();
  }
  return err::kSuccess;
}

Sbi::Ret Sbi::srst(Hart& h, uint64_t fid) {
  if (fid != 0) return {err::kNotSupported, 0};
  return {system_reset(h, h.x[10], h.x[11]), 0};
}

// ---- DBCN ----

Sbi::Ret Sbi::dbcn(Hart& h, uint64_t fid) {
  switch (fid) {
    case 0:    // console_write(num_bytes, base_addr_lo, base_addr_hi)
    case 1: {  // console_read(num_bytes, base_addr_lo, base_addr_hi)
      const uint64_t num = std::min(h.x[10], kMaxConsoleChunk);
      const uint64_t addr = h.x[11];
      if (h.x[12] != 0) return {err::kInvalidParam, 0};  // beyond 64-bit physical space
      if (num == 0) return {err::kSuccess, 0};
      uint8_t* buf = h.ram_range(addr, num);
      if (buf == nullptr) return {err::kInvalidParam, 0};
      if (fid == 0) {
        h.host_.sbi_console_write(std::span<const uint8_t>(buf, num));
        return {err::kSuccess, num};
      }
      uint64_t got = 0;
      while (got < num) {
        const int c = h.host_.sbi_console_read();
        if (c < 0) break;
        buf[got++] = static_cast<uint8_t>(c);
      }
      if (got != 0) {
        // We wrote guest RAM: keep decoded code coherent.
        h.note_ram_store(addr);
        h.note_ram_store(addr + got - 1);
      }
      return {err::kSuccess, got};
    }
    case 2: {  // console_write_byte(byte)
      const uint8_t byte = static_cast<uint8_t>(h.x[10]);
      h.host_.sbi_console_write(std::span<const uint8_t>(&byte, 1));
      return {err::kSuccess, 0};
    }
    default:
      return {err::kNotSupported, 0};
  }
}

// ---- Legacy extensions (v0.1): a0 only, a1 preserved ----

bool Sbi::read_legacy_mask(Hart& h, uint64_t vaddr, uint64_t& mask, uint64_t& base) {
  if (vaddr == 0) {  // NULL: all harts
    mask = 0;
    base = kAllHarts;
    return true;
  }
  if (vaddr & 7) return false;
  const std::optional<uint64_t> paddr = h.translate_debug(vaddr, Access::kLoad);
  if (!paddr) return false;
  const uint8_t* p = h.ram_range(*paddr, 8);
  if (p == nullptr) return false;
  std::memcpy(&mask, p, 8);
  base = 0;
  return true;
}

bool Sbi::legacy(Hart& h, uint64_t eid) {
  const uint64_t a0 = h.x[10];
  int64_t result = err::kSuccess;
  uint64_t mask, base;
  switch (eid) {
    case ext::kLegacySetTimer:
      set_timer(h, a0);
      break;
    case ext::kLegacyConsolePutchar: {
      const uint8_t byte = static_cast<uint8_t>(a0);
      h.host_.sbi_console_write(std::span<const uint8_t>(&byte, 1));
      break;
    }
    case ext::kLegacyConsoleGetchar:
      result = h.host_.sbi_console_read();  // the byte, or -1
      break;
    case ext::kLegacyClearIpi:
      h.mip_async_.fetch_and(~csr::ip::kSSIP);
      break;
    case ext::kLegacySendIpi:
      result = read_legacy_mask(h, a0, mask, base) ? send_ipi(h, mask, base) : err::kInvalidAddress;
      break;
    case ext::kLegacyRemoteFenceI:
      result = read_legacy_mask(h, a0, mask, base) ? remote_flush(h, mask, base, Hart::kFlushIcache)
                                                   : err::kInvalidAddress;
      break;
    case ext::kLegacyRemoteSfenceVma:
    case ext::kLegacyRemoteSfenceVmaAsid:
      result = read_legacy_mask(h, a0, mask, base) ? remote_flush(h, mask, base, Hart::kFlushTlb)
                                                   : err::kInvalidAddress;
      break;
    case ext::kLegacyShutdown:
      result = system_reset(h, kResetShutdown, kReasonNone);
      break;
    default:
      return false;
  }
  h.x[10] = static_cast<uint64_t>(result);
  return true;
}

}  // namespace vireo::riscv
