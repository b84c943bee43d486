// Hart state, reset, traps, interrupts and cross-thread signalling.
#include "cpu/riscv/hart.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "core/log.hpp"

namespace vireo::riscv {

using namespace csr;

Hart::Hart(const HartConfig& config, GuestMemory& memory, const Bus& bus, GuestClock& clock,
           HartHost& host, HartShared& shared)
    : config_(config),
      memory_(memory),
      bus_(bus),
      clock_(clock),
      host_(host),
      shared_(shared),
      data_tlb_(&tlb_[static_cast<unsigned>(TlbContext::kMachine)]),
      fetch_tlb_(&tlb_[static_cast<unsigned>(TlbContext::kMachine)]) {
  code_epoch_seen_ = shared_.code_epoch();
  if (config_.jit && !config_.trace) {
    jit_ =
        std::make_unique<Jit>(*this, DecodeCache::kPages, config_.jit_code_bytes, config_.jitdump);
    if (!jit_->usable()) jit_.reset();
  }
  reset(0, Priv::kMachine, 0, 0, 0);
}

Hart::~Hart() = default;

void Hart::reset(uint64_t start_pc, Priv start_priv, uint64_t a0, uint64_t a1, uint64_t a2) {
  std::fill(std::begin(x), std::end(x), 0);
  std::fill(std::begin(f), std::end(f), 0);
  fflags = 0;
  frm = 0;
  reservation_valid = false;

  mstatus_ = 0;
  medeleg_ = mideleg_ = mie_ = 0;
  mtvec_ = stvec_ = 0;
  mscratch_ = sscratch_ = 0;
  mepc_ = sepc_ = mcause_ = scause_ = mtval_ = stval_ = 0;
  satp_ = 0;
  menvcfg_ = senvcfg_ = 0;
  stimecmp_ = UINT64_MAX;
  mcounteren_ = scounteren_ = mcountinhibit_ = 0;
  cycle_delta_ = instret_delta_ = 0;
  cycle_frozen_ = instret_frozen_ = 0;
  std::fill(std::begin(pmpcfg_), std::end(pmpcfg_), 0);
  std::fill(std::begin(pmpaddr_), std::end(pmpaddr_), 0);
  mip_sw_ = 0;
  // External lines (MEIP, SEIP, MSIP) mirror device state and survive a
  // reset; SSIP is software state.
  mip_async_.fetch_and(~ip::kSSIP);

  if (config_.builtin_sbi) {
    // What OpenSBI leaves for the payload, except that every delegatable
    // exception goes to S-mode: there is no M-mode software to handle (or
    // emulate) anything.
    medeleg_ = kMedelegWritable & ~(1ull << exc::kEcallFromS);
    mideleg_ = ip::kSupervisor;
    menvcfg_ = envcfg::kSTCE;
    mcounteren_ = 0xffffffff;
    scounteren_ = 0x7;             // OpenSBI lets U-mode read cycle/time/instret (vDSO rdtime)
    pmpaddr_[0] = pmp::kAddrMask;  // NAPOT over the whole physical address space
    pmpcfg_[0] = pmp::kR | pmp::kW | pmp::kX | (pmp::kNapot << pmp::kAShift);
    mstatus_ = static_cast<uint64_t>(Priv::kSupervisor) << mstatus::kMPPShift;
  }
  recompute_pmp_ranges();

  wfi_ = false;
  hsm_suspend_nonretentive_ = false;
  hsm_state_.store(static_cast<uint32_t>(HsmState::kStarted));

  x[10] = a0;
  x[11] = a1;
  x[12] = a2;
  pc = start_pc;
  priv = start_priv;
  flush_tlb();
  flush_icache();
  on_context_change();
  update_timer_ip();
}

void Hart::set_hsm_stopped() { hsm_state_.store(static_cast<uint32_t>(HsmState::kStopped)); }

void Hart::set_priv(Priv p) {
  priv = p;
  on_context_change();
}

Priv Hart::data_priv() const {
  if (priv == Priv::kMachine && (mstatus_ & mstatus::kMPRV)) {
    return static_cast<Priv>((mstatus_ & mstatus::kMPP) >> mstatus::kMPPShift);
  }
  return priv;
}

static TlbContext context_of(Priv p, bool sum) {
  switch (p) {
    case Priv::kUser:
      return TlbContext::kUser;
    case Priv::kSupervisor:
      return sum ? TlbContext::kSupervisorSum : TlbContext::kSupervisor;
    default:
      return TlbContext::kMachine;
  }
}

void Hart::on_context_change() {
  fetch_tlb_ = &tlb_set(context_of(priv, false));
  if (jit_) jit_->set_fetch_context(static_cast<unsigned>(context_of(priv, false)));
  data_tlb_ = &tlb_set(context_of(data_priv(), mstatus_ & mstatus::kSUM));
  invalidate_fetch();
}

void Hart::flush_tlb() {
  if (jit_) jit_->forget_jumps();
  for (TlbSet& set : tlb_) set.flush();
  invalidate_fetch();
}

void Hart::flush_translations() {
  if (jit_) jit_->forget_jumps();
  for (TlbContext c : {TlbContext::kUser, TlbContext::kSupervisor, TlbContext::kSupervisorSum}) {
    tlb_set(c).flush();
  }
  invalidate_fetch();
}

void Hart::flush_translations(uint64_t vaddr) {
  if (jit_) jit_->forget_jumps();
  for (TlbContext c : {TlbContext::kUser, TlbContext::kSupervisor, TlbContext::kSupervisorSum}) {
    tlb_set(c).flush_address(vaddr);
  }
  invalidate_fetch();
}

void Hart::flush_store_tlbs() {
  for (TlbSet& set : tlb_) set.flush(Access::kStore);
}

void Hart::flush_icache() {
  if (jit_) jit_->forget_jumps();
  dcache_.invalidate_all();
  invalidate_fetch();
}

// ---- Traps ----

void Hart::raise_exception(uint64_t cause, uint64_t tval) { take_trap(cause, tval); }

void Hart::take_trap(uint64_t cause, uint64_t tval) {
  const bool interrupt = (cause & kInterruptBit) != 0;
  const unsigned code = static_cast<unsigned>(cause & 63);
  const uint64_t deleg = interrupt ? mideleg_ : medeleg_;
  reservation_valid = false;

  if (priv != Priv::kMachine && ((deleg >> code) & 1)) {
    scause_ = cause;
    sepc_ = pc;
    stval_ = tval;
    uint64_t s = mstatus_ & ~(mstatus::kSPIE | mstatus::kSIE | mstatus::kSPP);
    if (mstatus_ & mstatus::kSIE) s |= mstatus::kSPIE;
    if (priv == Priv::kSupervisor) s |= mstatus::kSPP;
    mstatus_ = s;
    pc = (stvec_ & ~3ull) + ((interrupt && (stvec_ & 1)) ? 4ull * code : 0);
    priv = Priv::kSupervisor;
  } else {
    if (config_.builtin_sbi) {
      // With the built-in SBI nothing runs in M-mode, and every delegatable
      // trap is delegated: reaching here means the guest is beyond repair.
      VIREO_LOG_RATELIMITED(log::error,
                            "hart {}: trap cause {:#x} tval {:#x} at pc {:#x} would enter M-mode, "
                            "which the built-in SBI does not run; stopping",
                            hart_id(), cause, tval, pc);
      host_.request_stop(StopKind::kFailure, 1);
      hsm_state_.store(static_cast<uint32_t>(HsmState::kStopped));
      invalidate_fetch();
      return;
    }
    mcause_ = cause;
    mepc_ = pc;
    mtval_ = tval;
    uint64_t s = mstatus_ & ~(mstatus::kMPIE | mstatus::kMIE | mstatus::kMPP);
    if (mstatus_ & mstatus::kMIE) s |= mstatus::kMPIE;
    s |= static_cast<uint64_t>(priv) << mstatus::kMPPShift;
    mstatus_ = s;
    pc = (mtvec_ & ~3ull) + ((interrupt && (mtvec_ & 1)) ? 4ull * code : 0);
    priv = Priv::kMachine;
  }
  on_context_change();
}

bool Hart::take_pending_interrupt() {
  const uint64_t pending = effective_mip() & mie_;
  if (pending == 0) [[likely]] {
    return false;
  }
  // M-level interrupts are enabled below M, or in M with MIE; S-level
  // (delegated) ones below S, or in S with SIE, and never in M.
  const bool m_enabled = priv != Priv::kMachine || (mstatus_ & mstatus::kMIE);
  const bool s_enabled =
      priv == Priv::kUser || (priv == Priv::kSupervisor && (mstatus_ & mstatus::kSIE));
  uint64_t candidates = m_enabled ? (pending & ~mideleg_) : 0;
  if (candidates == 0 && s_enabled) candidates = pending & mideleg_;
  if (candidates == 0) return false;
  static constexpr unsigned kPriority[] = {irq::kMEI, irq::kMSI, irq::kMTI,
                                           irq::kSEI, irq::kSSI, irq::kSTI};
  for (unsigned bit : kPriority) {
    if (candidates & (1ull << bit)) {
      take_trap(kInterruptBit | bit, 0);
      return true;
    }
  }
  return false;
}

// ---- Timers and asynchronous events ----

void Hart::update_timer_ip() {
  const uint64_t now = clock_.ticks();
  uint64_t bits = 0;
  if (now >= mtimecmp_.load(std::memory_order_relaxed)) bits |= ip::kMTIP;
  if ((menvcfg_ & envcfg::kSTCE) && now >= stimecmp_) bits |= ip::kSTIP;
  timer_ip_ = bits;
}

uint64_t Hart::next_timer_deadline() const {
  uint64_t deadline = UINT64_MAX;
  if (mie_ & ip::kMTIP) deadline = mtimecmp_.load(std::memory_order_relaxed);
  if ((mie_ & ip::kSTIP) && (menvcfg_ & envcfg::kSTCE)) deadline = std::min(deadline, stimecmp_);
  return deadline;
}

void Hart::set_mtimecmp(uint64_t value) {
  mtimecmp_.store(value, std::memory_order_relaxed);
  attention_.store(1, std::memory_order_release);
  kick();
}

void Hart::set_interrupt_pending(unsigned irq_bit, bool level) {
  const uint64_t mask = 1ull << irq_bit;
  if ((mask & (ip::kMEIP | ip::kSEIP | ip::kMSIP | ip::kSSIP)) == 0) return;
  if (level) {
    mip_async_.fetch_or(mask);
  } else {
    mip_async_.fetch_and(~mask);
  }
  attention_.store(1, std::memory_order_release);
  kick();
}

void Hart::kick() {
  wake_seq_.fetch_add(1);  // seq_cst, paired with the sleeper's sleeping_ store
  if (sleeping_.load()) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&wake_seq_), FUTEX_WAKE_PRIVATE, INT_MAX,
            nullptr, nullptr, 0);
  }
}

void Hart::service_attention() {
  attention_.store(0, std::memory_order_relaxed);
  service_flush_requests();
  update_timer_ip();
  const uint64_t epoch = shared_.code_epoch();
  if (epoch != code_epoch_seen_) {
    code_epoch_seen_ = epoch;
    flush_store_tlbs();
  }
}

uint64_t Hart::post_flush(uint32_t what) {
  flush_req_.fetch_or(what);
  const uint64_t ticket = flush_req_seq_.fetch_add(1) + 1;
  attention_.store(1, std::memory_order_release);
  return ticket;
}

bool Hart::flush_completed(uint64_t ticket) const {
  return flush_done_seq_.load(std::memory_order_acquire) >= ticket || idle_.load();
}

void Hart::service_flush_requests() {
  // Read the sequence first: every request numbered up to it has already set
  // its bits, so the exchange below collects them all.
  const uint64_t seq = flush_req_seq_.load(std::memory_order_acquire);
  if (seq == flush_done_seq_.load(std::memory_order_relaxed)) return;
  const uint32_t what = flush_req_.exchange(0, std::memory_order_acq_rel);
  if (what & kFlushTlb) flush_translations();
  if (what & kFlushIcache) flush_icache();
  flush_done_seq_.store(seq, std::memory_order_release);
}

}  // namespace vireo::riscv
